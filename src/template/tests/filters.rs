//! Filters, each expectation taken from ansible-core 2.19's output for the same
//! expression (`ansible localhost -m debug -a "msg=EXPR"`, with the test vars
//! `d: {a: 1, b: [1, 2]}`, `l: [3, 1, 2]` and `users` as in `vars()`).

use serde_json::json;

use super::{ok, render, text};

fn check(cases: &[(&str, &str)]) {
    for (expr, want) in cases {
        assert_eq!(&text(expr), want, "{expr}");
    }
}

#[test]
fn conversions() {
    check(&[
        (
            "{{ '12' | int }} {{ 'abc' | int }} {{ '0x1A' | int(base=16) }} {{ '3.7' | int }} {{ 3.7 | int }}",
            "12 0 26 3 3",
        ),
        ("{{ 'x' | float }} {{ '2.5' | float }}", "0.0 2.5"),
        ("{{ [1,'a'] | string }}", "[1, 'a']"),
        (
            "{{ 'yes' | bool }} {{ 'no' | bool }} {{ 'maybe' | bool }} {{ 'on' | bool }}",
            "True False False True",
        ),
        (
            "{{ true | ternary('a','b') }} {{ none | ternary('a','b','c') }}",
            "a c",
        ),
        (
            "{{ 1 | type_debug }} {{ 'x' | type_debug }} {{ d | type_debug }} {{ l | type_debug }} {{ none | type_debug }} {{ 1.5 | type_debug }}",
            "int str dict list NoneType float",
        ),
    ]);
    assert_eq!(ok("{{ '12' | int }}"), json!(12));
    assert_eq!(ok("{{ 'on' | bool }}"), json!(true));
}

#[test]
fn strings() {
    check(&[
        (
            "{{ 'a b' | quote }} {{ \"it's\" | quote }} {{ 'abc' | quote }} {{ '' | quote }}",
            "'a b' 'it'\"'\"'s' abc ''",
        ),
        ("{{ 'hello' | comment }}", "#\n# hello\n#"),
        ("{{ [1, true, 'a'] | join(',') }}", "1,True,a"),
        ("{{ 'ab' | center(6) }}", "  ab  "),
        ("{{ 'hello world foo' | wordcount }}", "3"),
        ("{{ 'Hello World' | truncate(8) }}", "Hello World"),
        (
            "{{ 'abc' | reverse }} {{ 'a,b' | split(',') }}",
            "cba ['a', 'b']",
        ),
        (
            "{{ 'x' | urlencode }} {{ {'a':'b c'} | urlencode }}",
            "x a=b+c",
        ),
        (
            "{{ 'hi' | upper }} {{ 'HI' | lower }} {{ 'hi there' | title }} {{ 'hi' | capitalize }} {{ ' x ' | trim }}",
            "HI hi Hi There Hi x",
        ),
        (
            "{{ 'a-b' | replace('-', '_') }} {{ 'ab' | length }} {{ l | count }}",
            "a_b 2 3",
        ),
    ]);
}

#[test]
fn numbers_and_sizes() {
    check(&[
        (
            "{{ 2.567 | round(1) }} {{ 2.5 | round(0, 'floor') }} {{ 2.1 | round(0, 'ceil') }} {{ 3 | round }}",
            "2.6 2.0 3.0 3",
        ),
        (
            "{{ 1048576 | human_readable }} {{ 1500 | human_readable(isbits=True) }} {{ 10 | human_readable }}",
            "1.00 MB 1.46 Kb 10.00 Bytes",
        ),
        (
            "{{ '1 MB' | human_to_bytes }} {{ '2K' | human_to_bytes }} {{ '1Mb' | human_to_bytes(isbits=True) }}",
            "1048576 2048 1048576",
        ),
        ("{{ '%Y' | strftime(0, utc=True) }}", "1970"),
        (
            "{{ 'example.com' | to_uuid }}",
            "ae780c3a-a3ab-53c2-bfb4-098da300b3fe",
        ),
        (
            "{{ -3 | abs }} {{ [3,1] | max }} {{ [3,1] | min }} {{ [1,2] | sum }}",
            "3 3 1 3",
        ),
    ]);
}

#[test]
fn set_theory_and_lists() {
    check(&[
        ("{{ ['a','A','b'] | unique }}", "['a', 'b']"),
        (
            "{{ [1,2] | union([2,3]) }} {{ [1,2,2] | difference([2]) }} {{ [1,2] | intersect([2,3]) }} {{ [1,2] | symmetric_difference([2,3]) }}",
            "[1, 2, 3] [1] [2] [1, 3]",
        ),
        (
            "{{ [1,[2,[3]]] | flatten }} {{ [1,[2,[3]]] | flatten(levels=1) }}",
            "[1, 2, 3] [1, 2, [3]]",
        ),
        (
            "{{ [1,2] | zip(['a','b']) | list }} {{ [1,2,3] | zip_longest(['a'], fillvalue='x') | list }}",
            "[[1, 'a'], [2, 'b']] [[1, 'a'], [2, 'x'], [3, 'x']]",
        ),
        (
            "{{ [1,2] | product(['a','b']) | list }}",
            "[[1, 'a'], [1, 'b'], [2, 'a'], [2, 'b']]",
        ),
        (
            "{{ [1,2,3] | permutations(2) | list }}",
            "[[1, 2], [1, 3], [2, 1], [2, 3], [3, 1], [3, 2]]",
        ),
        (
            "{{ [1,2,3] | combinations(2) | list }}",
            "[[1, 2], [1, 3], [2, 3]]",
        ),
        (
            "{{ [3,1] | sort }} {{ ['a','b'] | map('upper') | list }} {{ [1,2] | reverse | list }}",
            "[1, 3] ['A', 'B'] [2, 1]",
        ),
        ("{{ users | map(attribute='name') | list }}", "['a', 'b']"),
        (
            "{{ users | selectattr('name', 'equalto', 'a') | map(attribute='groups') | list }}",
            "[['x', 'y']]",
        ),
        (
            "{{ [1,2,3,4,5] | batch(2) | list }} {{ ['1','2'] | map('int') | sum }}",
            "[[1, 2], [3, 4], [5]] 3",
        ),
        (
            "{{ l | first }} {{ l | last }} {{ l | select('>', 1) | list }} {{ l | reject('>', 1) | list }}",
            "3 2 [3, 2] [1]",
        ),
    ]);
}

#[test]
fn dicts() {
    check(&[
        (
            "{{ {'a':1} | dict2items }} {{ [{'key':'a','value':1}] | items2dict }} {{ {'a':1} | dict2items(key_name='k', value_name='v') }}",
            "[{'key': 'a', 'value': 1}] {'a': 1} [{'k': 'a', 'v': 1}]",
        ),
        (
            "{{ {'a':{'x':1,'l':[1]}} | combine({'a':{'y':2,'l':[2]}}, recursive=True) }} {{ {'a':[1]} | combine({'a':[2]}, list_merge='append') }} {{ {'a':1} | combine({'b':2},{'c':3}) }}",
            "{'a': {'x': 1, 'l': [2], 'y': 2}} {'a': [1, 2]} {'a': 1, 'b': 2, 'c': 3}",
        ),
        ("{{ [{'a':1},{'b':2}] | combine }}", "{'a': 1, 'b': 2}"),
        (
            "{{ [['a', 1], ['b', 2]] | items2dict(key_name=0, value_name=1) }}",
            "{'a': 1, 'b': 2}",
        ),
        (
            "{{ {'b':1,'a':2} | dictsort }} {{ {'a':1} | items | list }}",
            "[['a', 2], ['b', 1]] [['a', 1]]",
        ),
        (
            "{{ ['a','b'] | map('extract', {'a':1,'b':2}) | list }}",
            "[1, 2]",
        ),
        (
            "{{ ['h1','h2'] | map('extract', hostvars, 'ip') | list }}",
            "['10.0.0.1', '10.0.0.2']",
        ),
    ]);
    assert_eq!(
        ok("{{ users | subelements('groups') | map('last') | list }}"),
        json!(["x", "y", "z"])
    );
    assert!(
        render("{{ 1 | dict2items }}")
            .unwrap_err()
            .message
            .contains("dict2items requires a dictionary")
    );
}

#[test]
fn json_and_yaml() {
    check(&[
        ("{{ d | to_json }}", "{\"a\": 1, \"b\": [1, 2]}"),
        (
            "{{ d | to_nice_json }}",
            "{\n    \"a\": 1,\n    \"b\": [\n        1,\n        2\n    ]\n}",
        ),
        ("{{ d | tojson }}", "{\"a\": 1, \"b\": [1, 2]}"),
        ("{{ d | to_yaml }}", "a: 1\nb: [1, 2]\n"),
        ("{{ d | to_nice_yaml }}", "a: 1\nb:\n- 1\n- 2\n"),
        ("{{ 'x' | to_yaml }}{{ [1,'a'] | to_yaml }}", "x\n[1, a]\n"),
    ]);
    assert_eq!(ok("{{ '{\"a\": [1]}' | from_json }}"), json!({"a": [1]}));
    assert_eq!(
        ok("{{ 'a: [1, yes]' | from_yaml }}"),
        json!({"a": [1, true]})
    );
    assert_eq!(
        ok("{{ 'a: 1\n---\nb: 2\n' | from_yaml_all | list }}"),
        json!([{"a": 1}, {"b": 2}])
    );
}

#[test]
fn regexes() {
    check(&[
        // As written in YAML "...'X\\1'..." (one backslash reaches the template): a
        // backreference, because string literals in expressions keep their backslashes.
        ("{{ 'abcabc' | regex_replace('b(c)', 'X\\1') }}", "aXcaXc"),
        (
            "{{ 'abc' | regex_search('b') }} {{ 'abc' | regex_search('(b)(c)', '\\1', '\\2') }}",
            "b ['b', 'c']",
        ),
        (
            "{{ 'a1b2' | regex_findall('\\d') }} {{ 'a.b' | regex_escape }}",
            "['1', '2'] a\\.b",
        ),
        (
            "{{ 'ABC' | regex_replace('b', 'x', ignorecase=True) }}",
            "AxC",
        ),
        (
            "{{ 'k=v' | regex_replace('(?P<k>\\w)=(?P<v>\\w)', '\\g<v>=\\g<k>') }}",
            "v=k",
        ),
    ]);
    assert_eq!(ok("{{ 'abc' | regex_search('z') }}"), json!(null));
}

#[test]
fn encodings_and_hashes() {
    check(&[
        ("{{ 'hi' | b64encode }} {{ 'aGk=' | b64decode }}", "aGk= hi"),
        (
            "{{ 'hi' | hash('sha1') }}",
            "c22b5f9178342609428d6f51b2c5af4c0bde6a42",
        ),
        (
            "{{ 'hi' | hash('md5') }} {{ 'hi' | md5 }}",
            "49f68a5c8493ec2c0bf489821c21fc3b 49f68a5c8493ec2c0bf489821c21fc3b",
        ),
        (
            "{{ 'hi' | checksum }} {{ 'hi' | sha1 }}",
            "c22b5f9178342609428d6f51b2c5af4c0bde6a42 c22b5f9178342609428d6f51b2c5af4c0bde6a42",
        ),
        (
            "{{ 'hi' | hash('sha256') }}",
            "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4",
        ),
    ]);
}

#[test]
fn paths() {
    check(&[(
        "{{ '/a/b.txt' | basename }} {{ '/a/b.txt' | dirname }} {{ 'a/b.tar.gz' | splitext }} {{ ['a','b','/c'] | path_join }} {{ '/a/b' | relpath('/a') }}",
        "b.txt /a ['a/b.tar', '.gz'] /c b",
    )]);
}

// ansible.utils.ipaddr semantics (netaddr): the value, a part of it, or False.
#[test]
fn ip_addresses() {
    check(&[
        (
            "{{ '192.168.1.5/24' | ipaddr }} {{ '192.168.1.5/24' | ipaddr('address') }} {{ '192.168.1.5/24' | ipaddr('network') }}",
            "192.168.1.5/24 192.168.1.5 192.168.1.0",
        ),
        (
            "{{ '192.168.1.5/24' | ipaddr('netmask') }} {{ '192.168.1.5/24' | ipaddr('prefix') }}",
            "255.255.255.0 24",
        ),
        (
            "{{ 'x' | ipaddr }} {{ '::1' | ipv4 }} {{ '::1' | ipv6 }} {{ ['1.1.1.1','x','::1'] | ipaddr }}",
            "False False ::1 ['1.1.1.1', '::1']",
        ),
        (
            "{{ '10.0.0.0/8' | ipaddr('net') }} {{ '10.1.2.3' | ipaddr('address') }}",
            "10.0.0.0/8 10.1.2.3",
        ),
    ]);
}

#[test]
fn mandatory_and_default() {
    assert_eq!(
        render("{{ foo | mandatory }}").unwrap_err().message,
        "The filter plugin 'ansible.builtin.mandatory' failed: Mandatory variable 'foo' not defined."
    );
    assert_eq!(
        render("{{ foo | mandatory('set foo') }}")
            .unwrap_err()
            .message,
        // ansible: msg="{{ foo | mandatory('set foo') }}"
        "The filter plugin 'ansible.builtin.mandatory' failed: set foo"
    );
    // ansible: msg="{{ 'x' | from_json }}" fails naming the filter
    assert!(
        render("{{ 'x' | from_json }}")
            .unwrap_err()
            .message
            .starts_with("The filter plugin 'ansible.builtin.from_json' failed: ")
    );
    check(&[("{{ none | default('x') }}|{{ foo | default('y') }}", "|y")]);
}

#[test]
fn random_is_repeatable_with_seed() {
    let a = text("{{ ['a','b','c','d'] | random(seed='x') }}{{ [1,2,3] | shuffle(seed='x') }}");
    let b = text("{{ ['a','b','c','d'] | random(seed='x') }}{{ [1,2,3] | shuffle(seed='x') }}");
    assert_eq!(a, b);
    let mac = text("{{ '52:54:00' | random_mac }}");
    assert!(mac.starts_with("52:54:00:") && mac.len() == 17, "{mac}");
    let n = ok("{{ 10 | random(start=5) }}");
    assert!((5..10).contains(&n.as_i64().unwrap()));
}

#[test]
fn permutations_of_a_long_string_fail_fast_instead_of_filling_memory() {
    // Found by tests/fuzz.rs: 40 characters have 40! permutations; the cap counted
    // only lists, so a million 40-item lists were built (seconds, gigabytes) first.
    let e = render("{{ ('x' * 40) | permutations | list }}").unwrap_err();
    assert!(e.message.contains("too many combinations"), "{}", e.message);
    let e = render("{{ range(40) | combinations(20) | list }}").unwrap_err();
    assert!(e.message.contains("too many combinations"), "{}", e.message);
}
