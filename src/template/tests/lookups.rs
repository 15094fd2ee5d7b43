//! Lookups, expectations from ansible-core 2.19.

use std::path::PathBuf;

use serde_json::json;

use super::{MapVars, Scope, Templar, ok, text, vars};

#[test]
fn list_lookups() {
    assert_eq!(
        text("{{ lookup('sequence', 'start=1 end=5 format=n%02d') }}"),
        "n01,n02,n03,n04,n05"
    );
    assert_eq!(
        ok("{{ query('sequence', 'start=1 end=3') }}"),
        json!(["1", "2", "3"])
    );
    assert_eq!(
        text(
            "{{ lookup('sequence', 'start=0 end=10 stride=5') }} {{ lookup('sequence', 'count=3') }}"
        ),
        "0,5,10 1,2,3"
    );
    assert_eq!(ok("{{ q('sequence', '2-6/2') }}"), json!(["2", "4", "6"]));
    assert_eq!(ok("{{ lookup('items', [1,2]) }}"), json!([1, 2]));
    assert_eq!(ok("{{ query('items', [1,[2]]) }}"), json!([1, [2]]));
    assert_eq!(
        ok("{{ lookup('items', ['a','b'], wantlist=True) }}"),
        json!(["a", "b"])
    );
    assert_eq!(ok("{{ lookup('indexed_items', ['a']) }}"), json!([0, "a"]));
    assert_eq!(
        ok("{{ lookup('dict', {'a':1}) }}"),
        json!({"key": "a", "value": 1})
    );
    assert_eq!(
        ok("{{ query('nested', [1,2], ['a']) }}"),
        json!([[1, "a"], [2, "a"]])
    );
    assert_eq!(ok("{{ lookup('vars', 'l') }}"), json!([3, 1, 2]));
    assert_eq!(ok("{{ lookup('vars', 'greeting') }}"), json!("hello web"));
    assert_eq!(ok("{{ lookup('vars', 'nope', default='d') }}"), json!("d"));
    // ansible: msg="{{ lookup('vars', 'missing') }}"
    assert_eq!(
        super::render("{{ lookup('vars', 'missing') }}")
            .unwrap_err()
            .message,
        "The lookup plugin 'vars' failed: No variable named 'missing' was found."
    );
    assert_eq!(
        super::render("{{ lookup('nosuchlookup', 'x') }}")
            .unwrap_err()
            .message,
        "The lookup plugin 'nosuchlookup' was not found."
    );
}

#[test]
fn controller_lookups() {
    assert_eq!(text("{{ lookup('pipe', 'echo hi') }}"), "hi");
    assert_eq!(text("{{ lookup('lines', 'printf \"a\\nb\"') }}"), "a,b");
    assert_eq!(ok("{{ lookup('env', 'NOPE_SRPLAY_X') }}"), json!(""));
    assert_eq!(
        text("{{ lookup('env', 'NOPE_SRPLAY_X', default='z') }}"),
        "z"
    );
    assert_eq!(
        ok("{{ lookup('file', '/nonexist', errors='ignore') }}"),
        json!(null)
    );
    assert!(
        super::render("{{ lookup('file', '/nonexist') }}")
            .unwrap_err()
            .message
            .contains("could not locate file in lookup: /nonexist")
    );
    assert!(super::render("{{ lookup('pipe', 'exit 3') }}").is_err());
}

#[test]
fn file_lookups_search_paths() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("files")).unwrap();
    std::fs::create_dir_all(dir.path().join("templates")).unwrap();
    std::fs::write(dir.path().join("files/a.txt"), "content\n\n").unwrap();
    std::fs::write(dir.path().join("b.conf"), "x").unwrap();
    std::fs::write(
        dir.path().join("templates/t.j2"),
        "{% if true %}\nname={{ name }} {{ extra }}\n{% endif %}\n",
    )
    .unwrap();
    let v: MapVars = vars();
    let paths: Vec<PathBuf> = vec![dir.path().to_path_buf()];
    let scope = Scope {
        vars: &v,
        search_paths: &paths,
    };
    let t = Templar::new();
    let r = |s: &str| t.render_str(s, &scope).unwrap();
    assert_eq!(r("{{ lookup('file', 'a.txt') }}"), json!("content"));
    assert_eq!(
        r("{{ lookup('first_found', ['nope.txt', 'b.conf']) | basename }}"),
        json!("b.conf")
    );
    assert_eq!(
        r("{{ lookup('first_found', files=['nope', 'a.txt'], skip=True) | basename }}"),
        json!("a.txt")
    );
    assert_eq!(
        r("{{ lookup('first_found', ['nope'], skip=True) }}"),
        json!(null)
    );
    assert_eq!(
        r("{{ query('fileglob', '*.txt') | map('basename') | list }}"),
        json!(["a.txt"])
    );
    assert_eq!(
        r("{{ lookup('template', 't.j2', template_vars={'extra': 42}) }}"),
        json!("name=web 42\n")
    );
}

#[test]
fn password_lookup_creates_then_reuses() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("creds/db");
    let expr = format!(
        "{{{{ lookup('password', '{} length=12 chars=digits') }}}}",
        file.display()
    );
    let first = text(&expr);
    assert_eq!(first.len(), 12);
    assert!(first.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(text(&expr), first);
    assert_eq!(
        text("{{ lookup('password', '/dev/null length=8') }}").len(),
        8
    );
}
