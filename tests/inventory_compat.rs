//! Differential tests: every inventory under `tests/fixtures/inventory/<case>/` is read by
//! the real Ansible and by srplay, and the results must be equal:
//!
//! - `ansible-inventory -i SOURCE --list [--playbook-dir CASE/playbook]` against
//!   `Inventory::to_list_json`;
//! - for each line of `<case>/patterns`, the hosts of a play `hosts: PATTERN` (printed by
//!   `ansible-playbook` as `ansible_play_hosts_all`, which keeps Ansible's order) against
//!   `Inventory::select(PATTERN)`.
//!
//! - `srplay inventory --list / --list --yaml / --graph [GROUP] / --host HOST` against
//!   `ansible-inventory` with the same arguments: the same bytes on stdout (YAML compared
//!   as data, since PyYAML writes anchors for values that Python shares between hosts).
//!
//! The sources of a case are the lines of its `sources` file (paths relative to the case),
//! or else its entry whose name starts with `inventory`. Ansible is taken
//! from `$SRPLAY_ANSIBLE_VENV` (default `/opt/ansible-venv`); without it the test prints a
//! note and passes.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use srplay::inventory::Inventory;

fn venv() -> Option<PathBuf> {
    let dir = std::env::var_os("SRPLAY_ANSIBLE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/ansible-venv"));
    dir.join("bin/ansible-inventory").exists().then_some(dir)
}

struct Case {
    name: String,
    dir: PathBuf,
    sources: Vec<String>,
}

impl Case {
    /// `-i S1 -i S2 ...` for Ansible.
    fn args(&self) -> Vec<String> {
        self.sources
            .iter()
            .flat_map(|s| ["-i".to_string(), s.clone()])
            .collect()
    }
}

fn cases() -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inventory");
    let mut cases: Vec<Case> = std::fs::read_dir(&root)
        .expect("fixtures directory")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|case| {
            let dir = case.path();
            let sources = match std::fs::read_to_string(dir.join("sources")) {
                Ok(list) => list
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| {
                        let p = dir.join(l.trim());
                        // A host list is passed as it is.
                        if p.exists() {
                            p.display().to_string()
                        } else {
                            l.trim().to_string()
                        }
                    })
                    .collect(),
                Err(_) => {
                    let source = std::fs::read_dir(&dir)
                        .ok()?
                        .filter_map(|e| e.ok())
                        .find(|e| e.file_name().to_string_lossy().starts_with("inventory"))?;
                    vec![source.path().display().to_string()]
                }
            };
            Some(Case {
                name: case.file_name().to_string_lossy().into_owned(),
                dir,
                sources,
            })
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(
        cases.len() >= 4,
        "fixture cases not found under {}",
        root.display()
    );
    cases
}

fn ansible(venv: &Path, tool: &str, args: &[&str], cwd: &Path) -> String {
    let out = Command::new(venv.join("bin").join(tool))
        .args(args)
        .current_dir(cwd)
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_DEPRECATION_WARNINGS", "0")
        .env("ANSIBLE_LOCALHOST_WARNING", "0")
        .output()
        .expect("run ansible");
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run `check` on every case, four at a time (each one waits on Ansible).
fn each_case(check: impl Fn(&Case) + Sync) {
    let cases = cases();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                while let Some(c) =
                    cases.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                {
                    check(c);
                }
            });
        }
    });
}

#[test]
fn list_json_matches_ansible_inventory() {
    let Some(venv) = venv() else {
        eprintln!("note: ansible-inventory not found (set SRPLAY_ANSIBLE_VENV); skipping");
        return;
    };
    let empty = tempfile::tempdir().unwrap();
    each_case(|c| {
        let case = &c.name;
        let mut args = c.args();
        args.push("--list".into());
        // A `playbook/` directory holds group_vars/host_vars "beside the playbook".
        let playbook_dir = c.dir.join("playbook");
        let playbook_dir = playbook_dir.is_dir().then_some(playbook_dir);
        if let Some(dir) = &playbook_dir {
            args.push("--playbook-dir".into());
            args.push(dir.display().to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let expected: Value =
            serde_json::from_str(&ansible(&venv, "ansible-inventory", &args, empty.path()))
                .unwrap_or_else(|e| panic!("{case}: ansible-inventory output: {e}"));
        let inv =
            Inventory::load(&c.sources, empty.path()).unwrap_or_else(|e| panic!("{case}: {e}"));
        let actual = inv.to_list_json(playbook_dir.as_deref()).unwrap();
        assert_eq!(
            actual,
            expected,
            "{case}: srplay\n{}\nansible\n{}",
            serde_json::to_string_pretty(&actual).unwrap(),
            serde_json::to_string_pretty(&expected).unwrap()
        );
    });
}

#[test]
fn patterns_match_ansible_play_hosts() {
    let Some(venv) = venv() else {
        eprintln!("note: ansible-playbook not found (set SRPLAY_ANSIBLE_VENV); skipping");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    each_case(|c| {
        let case = &c.name;
        let Ok(text) = std::fs::read_to_string(c.dir.join("patterns")) else {
            return;
        };
        let patterns: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        // One play per pattern; each prints its hosts once, tagged with its number.
        let mut playbook = String::new();
        for (i, p) in patterns.iter().enumerate() {
            playbook.push_str(&format!(
                "- hosts: {}\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"SRPLAY {i} {{{{ ansible_play_hosts_all | to_json }}}}\"\n      run_once: true\n",
                serde_json::to_string(p).unwrap()
            ));
        }
        let book = work.path().join(format!("{case}.yml"));
        std::fs::write(&book, playbook).unwrap();
        let mut args = c.args();
        args.push(book.display().to_string());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = ansible(&venv, "ansible-playbook", &args, work.path());
        let mut expected: Vec<Vec<String>> = vec![Vec::new(); patterns.len()];
        for line in out.lines() {
            let Some(quoted) = line.trim().strip_prefix("\"msg\": ") else {
                continue;
            };
            let msg: String = serde_json::from_str(quoted).unwrap();
            let Some(rest) = msg.strip_prefix("SRPLAY ") else {
                continue;
            };
            let (n, hosts) = rest.split_once(' ').unwrap();
            expected[n.parse::<usize>().unwrap()] = serde_json::from_str(hosts).unwrap();
        }
        let inv = Inventory::load(&c.sources, work.path()).unwrap();
        for (p, want) in patterns.iter().zip(expected) {
            let got = inv
                .select(p)
                .unwrap_or_else(|e| panic!("{case}: pattern {p:?}: {e}"));
            assert_eq!(got, want, "{case}: pattern {p:?}");
        }
    });
}

fn srplay(args: &[&str], cwd: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_srplay"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("ANSIBLE_CONFIG")
        .output()
        .expect("run srplay");
    assert!(
        out.status.success(),
        "srplay {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn inventory_command_prints_what_ansible_inventory_prints() {
    let Some(venv) = venv() else {
        eprintln!("note: ansible-inventory not found (set SRPLAY_ANSIBLE_VENV); skipping");
        return;
    };
    let empty = tempfile::tempdir().unwrap();
    // (case, srplay inventory arguments): every case's --list, --list --yaml and --graph,
    // and a few of its groups and hosts.
    let mut jobs: Vec<(String, Vec<String>)> = Vec::new();
    for c in cases() {
        let base = c.args();
        let list_args: Vec<&str> = base.iter().map(String::as_str).chain(["--list"]).collect();
        let list = ansible(&venv, "ansible-inventory", &list_args, empty.path());
        let parsed: Value = serde_json::from_str(&list).unwrap();
        let hosts = parsed["_meta"]["hostvars"]
            .as_object()
            .map(|m| m.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        let groups = parsed.as_object().unwrap().keys().filter(|k| *k != "_meta");
        let mut runs: Vec<Vec<String>> = vec![
            vec!["--list".into()],
            vec!["--list".into(), "--yaml".into()],
            vec!["--graph".into()],
        ];
        runs.extend(
            groups
                .skip(1)
                .take(1)
                .map(|g| vec!["--graph".into(), g.clone()]),
        );
        runs.extend(
            hosts
                .iter()
                .take(2)
                .map(|h| vec!["--host".into(), h.clone()]),
        );
        for extra in runs {
            jobs.push((c.name.clone(), base.iter().cloned().chain(extra).collect()));
        }
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((case, args)) = jobs.get(i) else {
                        break;
                    };
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    let expected = ansible(&venv, "ansible-inventory", &args, empty.path());
                    let actual = srplay(&[&["inventory"], args.as_slice()].concat(), empty.path());
                    if args.contains(&"--yaml") {
                        let load = |text: &str| {
                            srplay::yaml::load_str(text, Path::new("out.yml"))
                                .unwrap()
                                .map(|n| n.to_value())
                        };
                        assert_eq!(load(&actual), load(&expected), "{case}: {args:?}\n{actual}");
                    } else {
                        assert_eq!(actual, expected, "{case}: srplay inventory {args:?}");
                    }
                }
            });
        }
    });
    assert!(jobs.len() > 30, "only {} comparisons", jobs.len());
}
