//! Jinja tests, expectations from ansible-core 2.19.

use super::text;

fn check(cases: &[(&str, &str)]) {
    for (expr, want) in cases {
        assert_eq!(&text(expr), want, "{expr}");
    }
}

#[test]
fn result_tests() {
    check(&[(
        "{{ {'failed': true} is failed }} {{ {'changed': true} is changed }} {{ {'skipped': true} is skipped }} {{ {'rc': 0} is succeeded }} {{ {'results': [{'changed': true}]} is changed }} {{ {'results': [{'failed': true}]} is failed }}",
        "True True True True True False",
    )]);
    assert_eq!(
        super::render("{{ 'x' is failed }}").unwrap_err().message,
        "The 'failed' test expects a dictionary"
    );
    check(&[(
        "{{ {'unreachable': true} is reachable }} {{ {} is finished }} {{ {'finished': 0} is finished }}",
        "False True False",
    )]);
}

#[test]
fn collection_tests() {
    check(&[(
        "{{ [1,2] is subset([1,2,3]) }} {{ [1,2,3] is superset([1]) }} {{ [1,2] is contains(1) }} {{ [true,false] is any }} {{ [true,false] is all }} {{ 'yes' is truthy }} {{ '' is falsy }}",
        "True True True True False True True",
    )]);
}

#[test]
fn regex_and_path_tests() {
    check(&[
        (
            "{{ 'abc' is match('b') }} {{ 'abc' is search('b') }} {{ 'abc' is regex('^a') }}",
            "False True True",
        ),
        (
            "{{ '/tmp' is directory }} {{ '/tmp' is abs }} {{ '/nonexist' is exists }} {{ '/tmp' is file }}",
            "True True False False",
        ),
    ]);
}

#[test]
fn type_tests() {
    check(&[
        (
            "{{ 1 is integer }} {{ 1.0 is float }} {{ 'a' is string }} {{ true is boolean }} {{ 3 is divisibleby(3) }} {{ 'A' is upper }} {{ d is mapping }} {{ l is sequence }} {{ 'x' is iterable }}",
            "True True True True True True True True True",
        ),
        (
            "{{ none is none }} {{ 2 is even }} {{ 3 is odd }} {{ 1 is number }} {{ 1 in l }} {{ 1 is eq 1 }}",
            "True True True True True True",
        ),
    ]);
}

#[test]
fn version_tests() {
    check(&[(
        "{{ '1.2.10' is version('1.2.9', '>') }} {{ '2.0' is version('10.0', 'lt') }} {{ '1.0.0-rc1' is version('1.0.0', '<', version_type='semver') }} {{ '1.0' | version_compare('1.0', '==') }} {{ '1.0' is version_compare('2.0', '<') }}",
        "True True True True True",
    )]);
}
