//! Behaviour of the template layer as a whole, checked against ansible-core 2.19
//! (`ansible localhost -m debug -a "msg=..."`, or a small playbook, as noted).

use std::path::PathBuf;

use serde_json::json;

use super::*;

mod filters;
mod lookups;
mod test_plugins;

/// A plain map of variables.
pub(super) struct MapVars(crate::value::Map);

impl VarSource for MapVars {
    fn get(&self, name: &str) -> Option<Value> {
        self.0.get(name).cloned()
    }
    fn names(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
}

pub(super) fn vars() -> MapVars {
    let Value::Object(m) = json!({
        "d": {"a": 1, "b": [1, 2]},
        "l": [3, 1, 2],
        "name": "web",
        "flag": "False",
        "a": "{{ b }}",
        "b": "{{ a }}",
        "greeting": "hello {{ name }}",
        "count": "{{ l | length }}",
        "broken": "{{ missing_var }}",
        "nested": {"x": "{{ name }}", "y": ["{{ 1 + 1 }}"]},
        "users": [{"name": "a", "groups": ["x", "y"]}, {"name": "b", "groups": ["z"]}],
        "hostvars": {"h1": {"ip": "10.0.0.1"}, "h2": {"ip": "10.0.0.2"}},
        "empty": "",
    }) else {
        unreachable!()
    };
    MapVars(m)
}

pub(super) fn render(s: &str) -> Result<Value, TemplateError> {
    let v = vars();
    let scope = Scope {
        vars: &v,
        search_paths: &[],
    };
    Templar::new().render_str(s, &scope)
}

pub(super) fn ok(s: &str) -> Value {
    render(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

pub(super) fn text(s: &str) -> String {
    match ok(s) {
        Value::String(s) => s,
        other => crate::value::to_display_string(&other),
    }
}

fn cond(s: &str) -> Result<bool, TemplateError> {
    let v = vars();
    let scope = Scope {
        vars: &v,
        search_paths: &[],
    };
    Templar::new().condition(s, &scope)
}

#[test]
fn single_expression_is_native() {
    assert_eq!(ok("{{ l }}"), json!([3, 1, 2]));
    assert_eq!(ok("{{ d }}"), json!({"a": 1, "b": [1, 2]}));
    assert_eq!(ok("{{ 1 + 1 }}"), json!(2));
    assert_eq!(ok("{{ true }}"), json!(true));
    assert_eq!(ok("{{ none }}"), json!(null));
    assert_eq!(ok("{{- name -}}"), json!("web"));
    assert_eq!(ok("plain"), json!("plain"));
}

// ansible: msg="x {{ true }} {{ none }} {{ [1,'a'] }} {{ {'k':'v'} }} {{ 1.0 }} {{ 2.5 }}"
// → "x True  [1, 'a'] {'k': 'v'} 1.0 2.5"
#[test]
fn mixed_text_uses_python_display() {
    assert_eq!(
        text("x {{ true }} {{ none }} {{ [1,'a'] }} {{ {'k':'v'} }} {{ 1.0 }} {{ 2.5 }}"),
        "x True  [1, 'a'] {'k': 'v'} 1.0 2.5"
    );
    assert_eq!(text("{{ 1 }}{{ 2 }}"), "12");
    assert_eq!(text("  {{ 1 }}"), "  1");
    assert_eq!(text("a{{ 'x' if false }}b"), "ab");
}

#[test]
fn trim_blocks_on_for_strings() {
    assert_eq!(text("{% if true %}\nyes\n{% endif %}\nz"), "yes\nz");
}

#[test]
fn lazy_variables_render_on_access() {
    assert_eq!(ok("{{ greeting }}"), json!("hello web"));
    assert_eq!(ok("{{ count }}"), json!(3));
    assert_eq!(ok("{{ count + 1 }}"), json!(4));
    // ansible: msg="{{ nested }} {{ nested.y[0] + 1 }}" → "{'x': 'web', 'y': [2]} 3"
    assert_eq!(
        text("{{ nested }} {{ nested.y[0] + 1 }}"),
        "{'x': 'web', 'y': [2]} 3"
    );
    assert_eq!(ok("{{ nested }}"), json!({"x": "web", "y": [2]}));
}

#[test]
fn recursion_is_detected() {
    let e = render("{{ a }}").unwrap_err();
    assert_eq!(
        e.message,
        "Recursive loop detected in template: maximum recursion depth exceeded"
    );
}

#[test]
fn undefined_name_with_a_combining_mark_is_an_error_not_a_stack_overflow() {
    // Found by tests/fuzz.rs: `un\u{300}de` made the error wording evaluate the
    // whole name as its own "parent", recursing until the stack overflowed.
    let e = render("{{ un\u{300}de }}").unwrap_err();
    assert_eq!(e.message, "'un\u{300}de' is undefined");
    let e = render("{{ d.zz\u{300} }}").unwrap_err();
    assert_eq!(
        e.message,
        "object of type 'dict' has no attribute 'zz\u{300}'"
    );
}

#[test]
fn undefined_errors_name_the_variable() {
    let e = render("{{ foo }}").unwrap_err();
    assert_eq!(e.message, "'foo' is undefined");
    assert_eq!(e.undefined.as_deref(), Some("foo"));
    let e = render("x {{ foo.bar }}").unwrap_err();
    assert_eq!(e.message, "'foo' is undefined");
    let e = render("{{ d.zz }}").unwrap_err();
    assert_eq!(e.message, "object of type 'dict' has no attribute 'zz'");
    // ansible: msg="{{ l[10] }}" / "{{ d.a.b }}"
    assert_eq!(
        render("{{ l[10] }}").unwrap_err().message,
        "object of type 'list' has no attribute 10"
    );
    assert_eq!(
        render("{{ d.a.b }}").unwrap_err().message,
        "object of type 'int' has no attribute 'b'"
    );
    let e = render("{{ d['zz'] }}").unwrap_err();
    assert_eq!(e.message, "object of type 'dict' has no attribute 'zz'");
    // The cause inside a variable's own template is what gets reported.
    // Filters fail on undefined input, naming it.
    for expr in [
        "{{ foo | int }}",
        "{{ foo | bool }}",
        "{{ foo | to_json }}",
        "{{ foo | unique }}",
        "{{ foo | basename }}",
        "{{ foo | ternary(1, 2) }}",
    ] {
        assert_eq!(
            render(expr).unwrap_err().message,
            "'foo' is undefined",
            "{expr}"
        );
    }
    let e = render("{{ broken }}").unwrap_err();
    assert_eq!(e.message, "'missing_var' is undefined");
    assert_eq!(e.undefined.as_deref(), Some("missing_var"));
}

// ansible: a: "{{ missing }}" → "{{ a is defined }}" is False, "{{ a | default('dflt') }}" is dflt
#[test]
fn defined_and_default_tolerate_undefined() {
    assert_eq!(ok("{{ foo is defined }}"), json!(false));
    assert_eq!(ok("{{ foo is undefined }}"), json!(true));
    assert_eq!(ok("{{ foo | default('x') }}"), json!("x"));
    assert_eq!(ok("{{ foo | d('x') }}"), json!("x"));
    assert_eq!(ok("{{ d['missing'] | default('z') }}"), json!("z"));
    assert_eq!(ok("{{ d.zz is defined }}"), json!(false));
    // ansible: msg="{{ nope.bar is defined }}" → False
    assert_eq!(ok("{{ nope.bar is defined }}"), json!(false));
    assert_eq!(ok("{{ nope.bar | default(3) }}"), json!(3));
    assert_eq!(
        render("{{ nope.bar is defined }} {{ other }}")
            .unwrap_err()
            .message,
        "'nope' is undefined"
    );
    assert_eq!(ok("{{ broken is defined }}"), json!(false));
    assert_eq!(ok("{{ broken | default('dflt') }}"), json!("dflt"));
    assert_eq!(ok("{{ '' | default('x', true) }}"), json!("x"));
}

#[test]
fn syntax_errors_say_where() {
    let e = render("{{ 1 + }}").unwrap_err();
    assert!(
        e.message.starts_with("Syntax error in template:"),
        "{}",
        e.message
    );
    let e = render("a\n{% if %}").unwrap_err();
    assert!(e.message.contains("line 2"), "{}", e.message);
    let e = render("{{ 1 | nosuchfilter }}").unwrap_err();
    assert!(
        e.message.contains("No filter named 'nosuchfilter'"),
        "{}",
        e.message
    );
}

#[test]
fn malformed_input_never_panics() {
    for s in [
        "{{",
        "}}{{",
        "{% for %}",
        "{{ ''.join( }}",
        "{{ {1:2}[ }}",
        "{% endif %}",
        "{{ 1/0 }}",
        "{{ 'a' * 99999999999 }}",
        "{{ [1][5] }}",
        "{# x",
    ] {
        let _ = render(s);
    }
}

#[test]
fn conditions() {
    assert!(cond("name == 'web'").unwrap());
    assert!(!cond("l | length > 5").unwrap());
    assert!(!cond("empty").unwrap());
    assert!(cond("{{ name == 'web' }}").unwrap());
    assert!(!cond("{{ flag }}").unwrap());
    assert!(!cond("flag").unwrap());
    assert!(cond("foo is not defined").unwrap());
    assert!(cond("yes").unwrap() && cond("True").unwrap() && !cond("false").unwrap());
    assert!(cond("l").unwrap() && !cond("[]").unwrap() && !cond("{{ empty }}").unwrap());
    let e = cond("some_undefined").unwrap_err();
    assert_eq!(e.undefined.as_deref(), Some("some_undefined"));
}

#[test]
fn eval_and_render_value() {
    let v = vars();
    let scope = Scope {
        vars: &v,
        search_paths: &[],
    };
    let t = Templar::new();
    assert_eq!(t.eval("l | sort", &scope).unwrap(), json!([1, 2, 3]));
    assert_eq!(
        t.render_value(
            &json!({"k": "{{ name }}", "{{ name }}_key": ["{{ 2 * 2 }}", 5]}),
            &scope
        )
        .unwrap(),
        json!({"k": "web", "web_key": [4, 5]})
    );
    assert!(t.eval("1 +", &scope).is_err());
    assert!(t.eval("1 }} {{ 2", &scope).is_err());
}

#[test]
fn render_file_keeps_trailing_newline_and_header() {
    let v = vars();
    let scope = Scope {
        vars: &v,
        search_paths: &[],
    };
    let t = Templar::new();
    let opts = TemplateOptions::default();
    let out = t
        .render_file(
            "{% if true %}\nname={{ name }}\n{% endif %}\n",
            &PathBuf::from("/x.j2"),
            &opts,
            &scope,
        )
        .unwrap();
    assert_eq!(out, "name=web\n");
    let out = t
        .render_file(
            "#jinja2: trim_blocks: False\n{% if true %}\nx\n{% endif %}\n",
            &PathBuf::from("/y.j2"),
            &opts,
            &scope,
        )
        .unwrap();
    assert_eq!(out, "\nx\n\n");
}

#[test]
fn templar_is_send_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Templar>();
}

/// A variable chain: `v0: "{{ v1 }}"`, ..., `v{n}: "end"`.
fn chain(n: usize) -> MapVars {
    let mut m = crate::value::Map::new();
    for i in 0..n {
        m.insert(format!("v{i}"), json!(format!("{{{{ v{} }}}}", i + 1)));
    }
    m.insert(format!("v{n}"), json!("end"));
    MapVars(m)
}

#[test]
fn deep_variable_chains_resolve_or_fail_cleanly() {
    let t = Templar::new();
    let ok_chain = chain(20);
    let scope = Scope {
        vars: &ok_chain,
        search_paths: &[],
    };
    assert_eq!(t.render_str("{{ v0 }}", &scope).unwrap(), json!("end"));
    let long = chain(200);
    let scope = Scope {
        vars: &long,
        search_paths: &[],
    };
    let e = t.render_str("{{ v0 }}", &scope).unwrap_err();
    assert!(
        e.message.starts_with("Recursive loop detected"),
        "{}",
        e.message
    );
}

#[test]
fn deeply_nested_syntax_is_an_error_not_a_crash() {
    let deep = format!("{{{{ {}{} }}}}", "[".repeat(5000), "]".repeat(5000));
    assert!(render(&deep).is_err());
    let deep = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
    assert!(render(&deep).is_err());
}

#[test]
fn one_templar_serves_many_threads() {
    let t = std::sync::Arc::new(Templar::new());
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let t = t.clone();
            std::thread::spawn(move || {
                let mut m = crate::value::Map::new();
                m.insert("i".into(), json!(i));
                m.insert("msg".into(), json!("host {{ i }}"));
                let v = MapVars(m);
                let scope = Scope {
                    vars: &v,
                    search_paths: &[],
                };
                for _ in 0..200 {
                    assert_eq!(
                        t.render_str("{{ msg }}", &scope).unwrap(),
                        json!(format!("host {i}"))
                    );
                    assert!(t.condition("i is number and i >= 0", &scope).unwrap());
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

/// Random template-like input never panics (a taste of the fuzz test to come).
#[test]
fn random_input_never_panics() {
    let pieces = [
        "{{",
        "}}",
        "{%",
        "%}",
        "{#",
        "#}",
        "if",
        "for",
        "x",
        "in",
        "l",
        "d",
        "endif",
        "endfor",
        "|",
        "default",
        "int",
        "to_json",
        "(",
        ")",
        "[",
        "]",
        "'",
        "\"",
        ",",
        ".",
        "a",
        "1",
        "-",
        "+",
        "~",
        "*",
        "/",
        "is",
        "defined",
        "not",
        "none",
        "lookup",
        "'vars'",
        "regex_replace",
        "'(('",
        "combine",
        "from_yaml",
        "b64decode",
        "ipaddr",
        "version",
        "flatten",
        "{",
        "}",
        ":",
        "\n",
    ];
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..3000 {
        let n = rng.usize(1..16);
        let s: String = (0..n)
            .map(|_| pieces[rng.usize(0..pieces.len())])
            .collect::<Vec<_>>()
            .join(" ");
        let _ = render(&s);
        let v = vars();
        let scope = Scope {
            vars: &v,
            search_paths: &[],
        };
        let t = Templar::new();
        let _ = t.eval(&s, &scope);
        let _ = t.condition(&s, &scope);
    }
}

#[test]
fn python_methods_and_globals() {
    assert_eq!(ok("{{ [1,2].index(2) }}"), json!(1));
    assert_eq!(ok("{{ [1,2,2].count(2) }}"), json!(2));
    assert_eq!(ok("{{ 'a-b'.split('-') }}"), json!(["a", "b"]));
    assert_eq!(ok("{{ dict([['a', 1]], b=2) }}"), json!({"a": 1, "b": 2}));
    assert_eq!(ok("{{ dict(a=1) }}"), json!({"a": 1}));
    assert!(render("{{ [1].index(5) }}").is_err());
}

#[test]
fn render_file_includes_and_delimiters() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("part.j2"), "part {{ name }}\n").unwrap();
    let v = vars();
    let scope = Scope {
        vars: &v,
        search_paths: &[],
    };
    let t = Templar::new();
    let main = dir.path().join("main.j2");
    let out = t
        .render_file(
            "a\n{% include 'part.j2' %}b\n",
            &main,
            &TemplateOptions::default(),
            &scope,
        )
        .unwrap();
    assert_eq!(out, "a\npart web\nb\n");
    let opts = TemplateOptions {
        variable_start_string: Some("[[".into()),
        variable_end_string: Some("]]".into()),
        ..TemplateOptions::default()
    };
    assert_eq!(
        t.render_file("[[ name ]] {{ x }}", &main, &opts, &scope)
            .unwrap(),
        "web {{ x }}"
    );
    let crlf = TemplateOptions {
        newline_sequence: "\r\n".into(),
        ..TemplateOptions::default()
    };
    assert_eq!(
        t.render_file("a\nb\n", &main, &crlf, &scope).unwrap(),
        "a\r\nb\r\n"
    );
    let escaped = TemplateOptions {
        newline_sequence: "\\r\\n".into(),
        ..TemplateOptions::default()
    };
    assert_eq!(
        t.render_file("a\n", &main, &escaped, &scope).unwrap(),
        "a\r\n"
    );
    let err = t
        .render_file(
            "x\n{{ nope }}\n",
            &main,
            &TemplateOptions::default(),
            &scope,
        )
        .unwrap_err();
    assert_eq!(err.message, "'nope' is undefined");
}
