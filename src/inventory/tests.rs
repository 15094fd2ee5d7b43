//! Unit tests of the inventory layer. Expectations were taken from ansible-core 2.19
//! (`/opt/ansible-venv`); the command that produced each is noted beside it.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::*;

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/inventory")
        .join(case)
}

/// Write `files` (path, content) under a fresh temp dir.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    dir
}

fn ini(text: &str) -> (tempfile::TempDir, Inventory) {
    let dir = tree(&[("hosts", text)]);
    let inv = Inventory::load(&["hosts".to_string()], dir.path()).unwrap();
    (dir, inv)
}

fn ini_err(text: &str) -> Error {
    let dir = tree(&[("hosts", text)]);
    Inventory::load(&["hosts".to_string()], dir.path()).unwrap_err()
}

fn vars(inv: &Inventory, host: &str) -> Value {
    Value::Object(inv.host_vars(host, None).unwrap())
}

// ---------------------------------------------------------------- INI parser

#[test]
fn ini_inline_host_vars_are_python_literals() {
    // ansible-inventory -i tests/fixtures/inventory/ini_features/inventory --host db-1
    let (_d, inv) = ini(
        "[web]\ndb-1:2200 x=True y=yes z=\"a b\" n=1.5 l=\"[1, 2]\" d=\"{'a': 1}\" s='\"q\"' o=0x10 neg=-3 zero=022 e= # c\n",
    );
    assert_eq!(
        vars(&inv, "db-1"),
        json!({"ansible_port": 2200, "x": true, "y": "yes", "z": "a b", "n": 1.5, "l": [1, 2],
               "d": {"a": 1}, "s": "q", "o": 16, "neg": -3, "zero": "022", "e": ""})
    );
}

#[test]
fn ini_group_vars_are_typed_the_same_way() {
    // [web:vars] http_port=80 → 80, flag=True → true, plain=yes → "yes", `k = v w` → "v w"
    let (_d, inv) =
        ini("[web]\nw1\n[web:vars]\nhttp_port=80\nflag=True\nplain=yes\nspaced = hello world\n");
    assert_eq!(
        vars(&inv, "w1"),
        json!({"http_port": 80, "flag": true, "plain": "yes", "spaced": "hello world"})
    );
}

#[test]
fn ini_ranges_expand_in_order() {
    let (_d, inv) = ini("[g]\nweb[01:03].example.com\nalpha[a:c]\nn[1:10:4]\n");
    assert_eq!(
        inv.host_names(),
        [
            "web01.example.com",
            "web02.example.com",
            "web03.example.com",
            "alphaa",
            "alphab",
            "alphac",
            "n1",
            "n5",
            "n9"
        ]
    );
}

#[test]
fn ini_children_may_be_declared_later() {
    // ansible-inventory -i ini_features/inventory --list: new-compute.children = [web, later]
    let (_d, inv) = ini("[web]\nw1\n[new-compute:children]\nweb\nlater\n[later]\nl1\n");
    let groups = inv.groups_map();
    assert_eq!(groups["new-compute"], ["w1", "l1"]);
    assert_eq!(
        groups.keys().collect::<Vec<_>>(),
        ["all", "ungrouped", "web", "new-compute", "later"]
    );
    assert_eq!(inv.group_names("l1"), ["later", "new-compute"]);
    // Hyphens are kept, with Ansible's warning.
    assert!(
        inv.warnings()
            .iter()
            .any(|w| w.contains("Invalid characters"))
    );
}

#[test]
fn ini_hosts_before_sections_and_all_only_hosts_are_ungrouped() {
    let (_d, inv) = ini("lonely\nalso ansible_host=10.0.0.9\n[g]\nalso\n");
    assert_eq!(inv.groups_map()["ungrouped"], ["lonely"]);
    // ansible -i hosts lonely -m debug -a var=group_names → ["ungrouped"]
    assert_eq!(inv.group_names("lonely"), ["ungrouped"]);
    assert_eq!(inv.group_names("also"), ["g"]);
}

#[test]
fn ini_uuid_hosts_ports_and_comments() {
    let (_d, inv) = ini(
        "# comment\n; other comment\n[g] # trailing\n550e8400-e29b-41d4-a716-446655440000 ansible_host=10.0.0.1\n10.0.0.2:2222\n[::1]:2200\n",
    );
    assert_eq!(
        inv.host_names(),
        ["550e8400-e29b-41d4-a716-446655440000", "10.0.0.2", "::1"]
    );
    assert_eq!(vars(&inv, "10.0.0.2")["ansible_port"], json!(2222));
    assert_eq!(vars(&inv, "::1")["ansible_port"], json!(2200));
}

#[test]
fn ini_errors_say_file_and_line() {
    // Messages as ansible-inventory prints them for the same files.
    let cases = [
        (
            "[g]\nh1\n\n[g:weird]\nx\n",
            4,
            "Section [g:weird] has unknown type: weird",
        ),
        (
            "[g:vars]\nx=1\n",
            1,
            "Section [g:vars] not valid for undefined group 'g'.",
        ),
        (
            "[p:children]\nnope\n",
            2,
            "Section [p:children] includes undefined group 'nope'.",
        ),
        (
            "[g]\nh1 novalue\n",
            2,
            "Expected key=value host variable assignment, got: novalue",
        ),
        ("[g]\nh1 x='open\n", 2, "No closing quotation"),
        ("[g]\nh[1:3:0]\n", 2, "step must not be zero"),
        (
            "[g:vars]\nnovalue\n[g]\n",
            2,
            "Expected key=value, got: novalue",
        ),
        ("[bad group]\n", 1, "Invalid section entry"),
        ("[g]\nhost:\n", 2, "ending in ':' is not allowed"),
    ];
    for (text, line, msg) in cases {
        let err = ini_err(text);
        let span = err.span.as_ref().expect("a span");
        assert_eq!(span.line, line, "{text:?}: {err}");
        assert!(span.file.ends_with("hosts"));
        assert!(err.message.contains(msg), "{text:?}: {}", err.message);
    }
}

#[test]
fn ini_non_utf8_is_tolerated_in_comments_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hosts"), b"# caf\xe9\n[g]\nh1\n").unwrap();
    let inv = Inventory::load(&["hosts".to_string()], dir.path()).unwrap();
    assert_eq!(inv.host_names(), ["h1"]);
    std::fs::write(dir.path().join("hosts"), b"[g]\nh1\nh\xe9\n").unwrap();
    let err = Inventory::load(&["hosts".to_string()], dir.path()).unwrap_err();
    assert_eq!(err.span.unwrap().line, 3);
}

#[test]
fn toml_inventories_are_refused_with_a_hint() {
    let dir = tree(&[("hosts.toml", "[g.hosts]\nh1 = {}\n")]);
    let err = Inventory::load(&["hosts.toml".to_string()], dir.path()).unwrap_err();
    assert!(err.message.contains("TOML"));
}

#[test]
fn unknown_section_types_suggest_the_nearest() {
    let err = ini_err("[g:child]\nx\n");
    assert_eq!(err.hint.as_deref(), Some("did you mean [g:children]?"));
}

#[test]
fn ini_vars_before_group_declaration_are_fine() {
    let (_d, inv) = ini("[g:vars]\nx=1\n[g]\nh1\n");
    assert_eq!(vars(&inv, "h1"), json!({"x": 1}));
}

#[test]
fn ini_group_loops_are_errors() {
    let err = ini_err("[a:children]\nb\n[b:children]\na\n");
    assert!(err.message.contains("recursive dependency loop"), "{err}");
}

// ---------------------------------------------------------------- other sources

#[test]
fn host_list_sources() {
    // ansible -i 'h1,h2:22' all -m debug -a 'msg={{inventory_file}} {{inventory_dir}} {{ansible_port}}'
    let inv = Inventory::load(&["h1,h2:22,".to_string()], Path::new("/")).unwrap();
    assert_eq!(inv.host_names(), ["h1", "h2"]);
    assert_eq!(inv.groups_map()["ungrouped"], ["h1", "h2"]);
    assert_eq!(vars(&inv, "h2"), json!({"ansible_port": 22}));
    assert_eq!(inv.inventory_file("h1"), Some(PathBuf::from("h1,h2:22,")));
    assert_eq!(inv.inventory_dir("h1"), None);
}

#[test]
fn yaml_inventory_groups_hosts_and_vars() {
    let src = fixture("yaml_basic").join("inventory.yml");
    let inv = Inventory::load(&[src.display().to_string()], Path::new("/")).unwrap();
    // ansible-inventory -i yaml_basic/inventory.yml --list
    assert_eq!(
        inv.groups_map()["prod"],
        ["web1", "web2", "web3", "db1", "db2"]
    );
    assert_eq!(vars(&inv, "10.0.0.5")["ansible_port"], json!(2222));
    assert_eq!(vars(&inv, "bastion")["yes_value"], json!(true));
    assert_eq!(vars(&inv, "db1")["role"], json!("db1_own"));
    assert_eq!(
        inv.inventory_dir("db1"),
        Some(fixture("yaml_basic").canonicalize().unwrap())
    );
}

#[test]
fn yaml_group_vars_apply_merge_keys() {
    // Was: `vars: {<<: *common, tier: back}` kept a literal "<<" variable.
    let dir = tree(&[(
        "inv.yml",
        "web:\n  hosts: {w1: }\n  vars: &common {tier: front, a: 1}\napi:\n  hosts: {a1: }\n  vars:\n    <<: *common\n    tier: back\n",
    )]);
    let inv = Inventory::load(&["inv.yml".to_string()], dir.path()).unwrap();
    // ansible-inventory --host a1
    assert_eq!(vars(&inv, "a1"), json!({"tier": "back", "a": 1}));
}

#[test]
fn yaml_merge_keys_in_groups_and_hosts_follow_python_order() {
    // Was: `<<` in a group was skipped as an unknown key, and in `hosts:` became a host.
    let dir = tree(&[(
        "inv.yml",
        "base: &b\n  hosts: {b1: }\n  vars: {x: 1}\nderived:\n  <<: *b\n  vars: {x: 2}\nhh:\n  hosts:\n    <<: {m1: {v: 1}, m2: }\n    h9:\n",
    )]);
    let inv = Inventory::load(&["inv.yml".to_string()], dir.path()).unwrap();
    // ansible-inventory -i inv.yml --list: merged hosts come first.
    assert_eq!(inv.groups_map()["derived"], ["b1"]);
    assert_eq!(inv.groups_map()["hh"], ["m1", "m2", "h9"]);
    assert_eq!(vars(&inv, "b1"), json!({"x": 2}));
}

#[test]
fn yaml_structure_errors_point_at_the_node() {
    let dir = tree(&[("inv.yml", "all:\n  hosts:\n    - web1\n")]);
    let err = Inventory::load(&["inv.yml".to_string()], dir.path()).unwrap_err();
    assert!(err.message.contains("requires a dictionary"), "{err}");
    assert_eq!(err.span.unwrap().line, 3);
    let dir = tree(&[("inv.yml", "all:\n  hosts:\n    1234:\n")]);
    let err = Inventory::load(&["inv.yml".to_string()], dir.path()).unwrap_err();
    assert!(err.message.contains("must be a string"), "{err}");
}

#[test]
fn yaml_syntax_errors_in_extensionless_files_are_reported_as_yaml() {
    let dir = tree(&[("hosts", "all:\n  hosts:\n    web1: {a: [1}\n")]);
    let err = Inventory::load(&["hosts".to_string()], dir.path()).unwrap_err();
    assert!(err.message.contains("YAML"), "{err}");
    assert_eq!(err.span.unwrap().line, 3);
}

#[test]
fn directory_sources_skip_ignored_files() {
    let src = fixture("dir_source").join("inventory");
    let inv = Inventory::load(&[src.display().to_string()], Path::new("/")).unwrap();
    assert_eq!(
        inv.host_names(),
        ["app1", "app2", "app3", "redis1", "redis2"]
    );
    assert!(inv.warnings().is_empty(), "{:?}", inv.warnings());
    assert_eq!(vars(&inv, "app3")["from_dir_group_vars"], json!(true));
}

#[test]
fn unparsable_files_in_a_directory_are_warnings() {
    let dir = tree(&[("inv/a.ini", "[g]\nh1\n"), ("inv/b", "[g:oops]\n")]);
    let inv = Inventory::load(&["inv".to_string()], dir.path()).unwrap();
    assert_eq!(inv.host_names(), ["h1"]);
    assert!(inv.warnings()[0].contains("Unable to parse"));
}

#[test]
fn missing_sources_are_errors() {
    let err = Inventory::load(&["nope.ini".to_string()], Path::new("/tmp")).unwrap_err();
    assert!(err.message.contains("does not exist"));
    assert!(err.hint.is_some());
}

#[cfg(unix)]
#[test]
fn script_sources_use_meta_hostvars() {
    let src = fixture("script").join("inventory.sh");
    let inv = Inventory::load(&[src.display().to_string()], Path::new("/")).unwrap();
    assert_eq!(inv.groups_map()["webservers"], ["w1", "w2", "e1"]);
    assert_eq!(
        vars(&inv, "w1"),
        json!({"http_port": 80, "ansible_host": "10.1.0.1", "nested": {"a": [1, 2]}})
    );
    assert_eq!(inv.groups_map()["legacy"], ["l1"]);
}

#[cfg(unix)]
#[test]
fn script_sources_without_meta_are_asked_per_host() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tree(&[(
        "inv.sh",
        "#!/bin/sh\nif [ \"$1\" = --list ]; then echo '{\"g\": {\"hosts\": [\"a\", \"b\"]}}';\n\
         else echo \"{\\\"who\\\": \\\"$2\\\"}\"; fi\n",
    )]);
    let script = dir.path().join("inv.sh");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let inv = Inventory::load(&["inv.sh".to_string()], dir.path()).unwrap();
    assert_eq!(vars(&inv, "b"), json!({"who": "b"}));
}

#[cfg(unix)]
#[test]
fn executable_ini_files_are_read_as_ini() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tree(&[("hosts", "[g]\nh1\n")]);
    let path = dir.path().join("hosts");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let inv = Inventory::load(&["hosts".to_string()], dir.path()).unwrap();
    assert_eq!(inv.host_names(), ["h1"]);
}

#[cfg(unix)]
#[test]
fn failing_scripts_report_their_stderr() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tree(&[("inv.sh", "#!/bin/sh\necho boom >&2\nexit 3\n")]);
    let script = dir.path().join("inv.sh");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = Inventory::load(&["inv.sh".to_string()], dir.path()).unwrap_err();
    assert!(err.message.contains("boom"), "{err}");
}

// ---------------------------------------------------------------- variable precedence

/// The tree behind the precedence tests: inventory file vars, group_vars/host_vars beside
/// the inventory and beside the playbook (`pb/`).
fn precedence_tree() -> tempfile::TempDir {
    tree(&[
        (
            "hosts",
            "[a]\nh1 v_host=file_host\n[b]\nh1\n[a:vars]\nv=a\nv_a=a\n[b:vars]\nv=b\n\
             [parent:children]\na\n[parent:vars]\nv=parent\nv_p=parent\n\
             [all:vars]\nv=all\nv_all=all\nv_host=all\n",
        ),
        (
            "group_vars/all.yml",
            "v_all: gv_all_inv\nv_gvall: inv\nv_order: inv_all\n",
        ),
        ("group_vars/a.yml", "v_a: gv_a_inv\nv_order: inv_a\n"),
        ("pb/group_vars/all.yml", "v_gvall: pb\nv_order: pb_all\n"),
        ("pb/group_vars/b.yml", "v_order: pb_b\nv_b_pb: yes\n"),
        ("host_vars/h1.yml", "v_host: inv_host_vars\nv_hv: inv\n"),
        ("pb/host_vars/h1.yml", "v_hv: pb\n"),
    ])
}

#[test]
fn host_vars_merge_in_ansible_order() {
    // ansible-inventory -i hosts --list --playbook-dir pb  (hostvars of h1)
    let dir = precedence_tree();
    let inv = Inventory::load(&["hosts".to_string()], dir.path()).unwrap();
    let got = inv.host_vars("h1", Some(&dir.path().join("pb"))).unwrap();
    assert_eq!(
        Value::Object(got),
        json!({"v": "a", "v_a": "gv_a_inv", "v_all": "gv_all_inv", "v_b_pb": true,
               "v_gvall": "pb", "v_host": "inv_host_vars", "v_hv": "pb", "v_order": "pb_b",
               "v_p": "parent"})
    );
}

#[test]
fn group_priority_beats_name_order_at_equal_depth() {
    // ansible-inventory -i prio --host h2: "c" with priority 2, "d" with 1 (default)
    let (_d, inv) =
        ini("[d]\nh2\n[c]\nh2\n[c:vars]\nv=c\nansible_group_priority=2\n[d:vars]\nv=d\n");
    assert_eq!(vars(&inv, "h2"), json!({"v": "c"}));
    let (_d, inv) = ini("[d]\nh2\n[c]\nh2\n[c:vars]\nv=c\n[d:vars]\nv=d\n");
    assert_eq!(vars(&inv, "h2"), json!({"v": "d"}));
}

#[test]
fn children_override_parents_whatever_the_names() {
    let (_d, inv) = ini("[zz:children]\naa\n[aa]\nh\n[aa:vars]\nv=child\n[zz:vars]\nv=parent\n");
    assert_eq!(vars(&inv, "h"), json!({"v": "child"}));
}

#[test]
fn group_vars_files_and_directories() {
    let dir = tree(&[
        ("hosts", "[g]\nh\n"),
        ("group_vars/g/10.yml", "a: 1\nb: 1\n"),
        ("group_vars/g/20/x.yaml", "b: 2\n"),
        ("group_vars/g/30.txt", "b: 3\n"),
        ("group_vars/g/.hidden.yml", "b: 4\n"),
        ("group_vars/g/40.yml~", "b: 5\n"),
        ("group_vars/g.yml", "shadowed: by the directory\n"),
        ("host_vars/h", "c: plain file\n"),
        ("host_vars/h.yml", "d: shadowed by the extensionless file\n"),
    ]);
    let inv = Inventory::load(&["hosts".to_string()], dir.path()).unwrap();
    assert_eq!(vars(&inv, "h"), json!({"a": 1, "b": 2, "c": "plain file"}));
}

#[test]
fn bad_group_vars_files_are_errors_with_location() {
    let dir = tree(&[("hosts", "[g]\nh\n"), ("group_vars/g.yml", "a: [1\n")]);
    let inv = Inventory::load(&["hosts".to_string()], dir.path()).unwrap();
    let err = inv.host_vars("h", None).unwrap_err();
    assert!(err.span.unwrap().file.ends_with("g.yml"));
    let dir = tree(&[("hosts", "[g]\nh\n"), ("group_vars/g.yml", "- a\n")]);
    let inv = Inventory::load(&["hosts".to_string()], dir.path()).unwrap();
    assert!(inv.host_vars("h", None).is_err());
}

#[test]
fn unknown_hosts_get_a_did_you_mean() {
    let (_d, inv) = ini("[g]\nweb01\n");
    let err = inv.host_vars("web1", None).unwrap_err();
    assert_eq!(err.hint.as_deref(), Some("did you mean web01?"));
}

// ---------------------------------------------------------------- implicit localhost

#[test]
fn empty_inventory_has_only_implicit_localhost() {
    let inv = Inventory::load(&[], Path::new("/")).unwrap();
    assert!(inv.warnings()[0].contains("provided hosts list is empty"));
    assert_eq!(inv.select("all").unwrap(), Vec::<String>::new());
    assert_eq!(inv.select("localhost").unwrap(), ["localhost"]);
    assert!(inv.has_host("localhost"));
    assert!(inv.groups_map()["all"].is_empty());
    assert_eq!(
        vars(&inv, "localhost"),
        json!({"ansible_connection": "local"})
    );
}

#[test]
fn implicit_localhost_keeps_the_first_name_asked() {
    // ansible-playbook with plays `hosts: localhost` then `hosts: 127.0.0.1`: both "localhost"
    let (_d, inv) = ini("[g]\nh\n[all:vars]\nx=1\n");
    assert_eq!(inv.select("127.0.0.1").unwrap(), ["127.0.0.1"]);
    assert_eq!(inv.select("localhost").unwrap(), ["127.0.0.1"]);
    assert_eq!(inv.select("all").unwrap(), ["h"]);
    assert_eq!(vars(&inv, "localhost")["x"], json!(1));
}

#[test]
fn implicit_localhost_lets_group_vars_all_win_over_inventory_all_vars() {
    // ansible-inventory -i ini_features/inventory --host localhost: top is 2 (group_vars/all),
    // not 1 ([all:vars]): the implicit localhost takes `all`'s vars at group level.
    let dir = tree(&[
        ("hosts", "[g]\nh\n[all:vars]\ntop=1\n"),
        ("group_vars/all.yml", "top: 2\n"),
    ]);
    let inv = Inventory::load(&["hosts".to_string()], dir.path()).unwrap();
    assert_eq!(vars(&inv, "localhost")["top"], json!(2));
    assert_eq!(vars(&inv, "h")["top"], json!(2));
}

#[test]
fn inventory_localhost_stands_in_for_the_implicit_one() {
    let (_d, inv) = ini("[g]\nlocalhost ansible_connection=local\n");
    assert_eq!(inv.select("127.0.0.1").unwrap(), ["localhost"]);
}

// ---------------------------------------------------------------- patterns

#[test]
fn patterns_match_ansible_list_hosts() {
    // Each row: ansible -i tests/fixtures/inventory/ini_features/inventory 'PATTERN' --list-hosts
    let rows: &[(&str, &[&str])] = &[
        (
            "all",
            &[
                "solo.example.com",
                "db-1",
                "db2",
                "db3",
                "web01.example.com",
                "web02.example.com",
                "web03.example.com",
                "ungrouped1",
                "550e8400-e29b-41d4-a716-446655440000",
                "alphaa",
                "alphab",
                "alphac",
                "n1",
                "n5",
                "n9",
            ],
        ),
        (
            "*",
            &[
                "solo.example.com",
                "db-1",
                "db2",
                "db3",
                "web01.example.com",
                "web02.example.com",
                "web03.example.com",
                "ungrouped1",
                "550e8400-e29b-41d4-a716-446655440000",
                "alphaa",
                "alphab",
                "alphac",
                "n1",
                "n5",
                "n9",
            ],
        ),
        (
            "web",
            &[
                "web01.example.com",
                "web02.example.com",
                "web03.example.com",
                "db-1",
                "ungrouped1",
            ],
        ),
        ("ungrouped", &["solo.example.com"]),
        ("web[0]", &["web01.example.com"]),
        ("web[-1]", &["ungrouped1"]),
        (
            "web[1:]",
            &[
                "web02.example.com",
                "web03.example.com",
                "db-1",
                "ungrouped1",
            ],
        ),
        ("web[0:1]", &["web01.example.com", "web02.example.com"]),
        ("web:&db", &["db-1"]),
        (
            "web:!db",
            &[
                "web01.example.com",
                "web02.example.com",
                "web03.example.com",
                "ungrouped1",
            ],
        ),
        (
            "web,!db-1",
            &[
                "web01.example.com",
                "web02.example.com",
                "web03.example.com",
                "ungrouped1",
            ],
        ),
        (
            "!web",
            &[
                "solo.example.com",
                "db2",
                "db3",
                "550e8400-e29b-41d4-a716-446655440000",
                "alphaa",
                "alphab",
                "alphac",
                "n1",
                "n5",
                "n9",
            ],
        ),
        ("&db,later", &[]),
        ("~^n\\d", &["n1", "n5", "n9"]),
        ("~(alpha|n)[ab1]", &["alphaa", "alphab", "n1"]),
        (
            "*.example.com",
            &[
                "solo.example.com",
                "web01.example.com",
                "web02.example.com",
                "web03.example.com",
            ],
        ),
        (
            "db-1,web",
            &[
                "db-1",
                "web01.example.com",
                "web02.example.com",
                "web03.example.com",
                "ungrouped1",
            ],
        ),
        ("later[1:2]:db[0]", &["alphaa", "alphab", "db-1"]),
        (
            "new-compute:!later:&web",
            &[
                "web01.example.com",
                "web02.example.com",
                "web03.example.com",
                "db-1",
                "ungrouped1",
            ],
        ),
        (
            "localhost,web",
            &[
                "localhost",
                "web01.example.com",
                "web02.example.com",
                "web03.example.com",
                "db-1",
                "ungrouped1",
            ],
        ),
        ("nothing", &[]),
        (
            "web:nothing",
            &[
                "web01.example.com",
                "web02.example.com",
                "web03.example.com",
                "db-1",
                "ungrouped1",
            ],
        ),
        ("db*", &["db-1", "db2", "db3"]),
        ("n?", &["n1", "n5", "n9"]),
        ("alpha[a-b]", &["alphaa", "alphab"]),
        ("solo.example.com:2200", &[]),
        ("ungrouped1,db-1", &["ungrouped1", "db-1"]),
    ];
    let src = fixture("ini_features").join("inventory");
    let inv = Inventory::load(&[src.display().to_string()], Path::new("/")).unwrap();
    for (pattern, want) in rows {
        assert_eq!(inv.select(pattern).unwrap(), *want, "pattern {pattern:?}");
    }
}

#[test]
fn invalid_patterns_are_errors_with_hints() {
    let (_d, inv) = ini("[g]\na\nb\n");
    // ansible-playbook: "No hosts matched the subscripted pattern 'g[5]'"
    let err = inv.select("g[5]").unwrap_err();
    assert!(err.message.contains("subscripted pattern 'g[5]'"));
    assert!(err.hint.unwrap().contains("matches 2 host(s)"));
    let err = inv.select("~a(").unwrap_err();
    assert!(err.message.contains("Invalid host list pattern"));
    assert!(err.hint.is_some());
}

#[test]
fn limit_files_hold_one_pattern_per_line() {
    let dir = tree(&[("hosts", "[g]\na\nb\nc\n"), ("retry", "c\n\na\n")]);
    let inv = Inventory::load(&["hosts".to_string()], dir.path()).unwrap();
    assert_eq!(inv.select("@retry").unwrap(), ["c", "a"]);
    // Only a whole term starting with `@` names a file, as in Ansible.
    assert_eq!(inv.select("g:!@retry").unwrap(), ["a", "b", "c"]);
    assert!(inv.select("@missing").is_err());
}

// ---------------------------------------------------------------- add_host

#[test]
fn add_host_creates_groups_and_merges_vars() {
    let (_d, mut inv) = ini("[g]\nh1 a=1\n");
    let mut v = Map::new();
    v.insert("b".into(), json!(2));
    inv.add_host("new", &["fresh".to_string()], v.clone());
    inv.add_host("h1", &["fresh".to_string()], v);
    assert_eq!(inv.groups_map()["fresh"], ["new", "h1"]);
    assert_eq!(vars(&inv, "h1"), json!({"a": 1, "b": 2}));
    assert_eq!(inv.group_names("new"), ["fresh"]);
    // Ansible adds the host to `all` directly: it comes first in `all`.
    assert_eq!(inv.select("all").unwrap(), ["new", "h1"]);
    inv.add_host("loner", &[], Map::new());
    assert_eq!(inv.groups_map()["ungrouped"], ["loner"]);
}

// ---------------------------------------------------------------- robustness

#[test]
fn garbage_never_panics() {
    let samples = [
        "[",
        "]",
        "[:]",
        "[a:]",
        "[]",
        "h[",
        "h[1:",
        "h[:]",
        "h[a:1]",
        "h[01:1]",
        "h[1:2:x]",
        "\u{0}",
        "h x=\"\\",
        "h x='",
        "h \\",
        "=",
        "[g:vars]\n=",
        "h[9999999999:99999999999]",
        "h[1:99999999999]",
        "---\nall:",
        "h x=[[[[[[",
        "[g:children]\n[g]",
        "all:\n  hosts: 5",
    ];
    for s in samples {
        for name in ["hosts", "hosts.yml"] {
            let dir = tree(&[(name, s)]);
            if let Ok(inv) = Inventory::load(&[name.to_string()], dir.path()) {
                for p in [
                    "all", "h[0]", "~(", "[", "!", "&", ":", ",", "h[-9]", "a[1:0]",
                ] {
                    let _ = inv.select(p);
                }
                let _ = inv.to_list_json(None);
            }
        }
    }
}

#[test]
fn inventory_is_shareable_across_threads() {
    fn assert_traits<T: Clone + Send + Sync>() {}
    assert_traits::<Inventory>();
}
