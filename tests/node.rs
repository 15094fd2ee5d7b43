//! `srplay node`: the cluster's node table kept in its INI inventory. Edits change only
//! their own lines, survive concurrency and SIGKILL, refuse bad input with clear
//! messages, run the role's playbook, and never put a password on a command line.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const FIXTURE: &str = include_str!("fixtures/node/hosts");
const MASTER: &str = "550e8400-e29b-41d4-a716-446655440000";

/// A cluster directory: `inventory/hosts` plus whatever playbooks a test writes.
struct Cluster {
    dir: tempfile::TempDir,
    /// Let `add`/`replace` check that the node answers over SSH (off by default).
    check_ssh: bool,
}

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Cluster {
    fn new(hosts: &str) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("inventory")).unwrap();
        std::fs::write(dir.path().join("inventory/hosts"), hosts).unwrap();
        Cluster {
            dir,
            check_ssh: false,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn hosts(&self) -> String {
        std::fs::read_to_string(self.path().join("inventory/hosts")).unwrap()
    }

    fn file(&self, name: &str, text: &str) -> &Cluster {
        std::fs::write(self.path().join(name), text).unwrap();
        self
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_srplay"));
        cmd.arg("node").args(args);
        // The nodes of these tests are made-up addresses: only the reachability
        // tests below ask for the SSH check.
        if matches!(args.first(), Some(&"add" | &"replace")) && !self.check_ssh {
            cmd.arg("--no-check");
        }
        cmd.current_dir(self.path())
            .env("NO_COLOR", "1")
            .env_remove("ANSIBLE_CONFIG")
            .env_remove("SRPLAY_NODE_PASSWORD")
            .env_remove("SRPLAY_TEST_EDIT_DELAY_MS");
        cmd
    }

    fn run(&self, args: &[&str]) -> Ran {
        let out: Output = self.command(args).output().expect("srplay runs");
        let ran = Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(!ran.stderr.contains("panicked"), "panic:\n{}", ran.stderr);
        ran
    }

    /// The inventory parses, as srplay's inventory reader (the same as a run's) sees it.
    fn assert_parses(&self) {
        srplay::inventory::Inventory::load(
            &[self.path().join("inventory/hosts").display().to_string()],
            self.path(),
        )
        .unwrap_or_else(|e| panic!("inventory does not parse: {e}\n{}", self.hosts()));
    }
}

impl Ran {
    fn ok(&self) -> &Ran {
        assert_eq!(
            self.code, 0,
            "--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    fn fails_with(&self, text: &str) -> &Ran {
        assert_ne!(self.code, 0, "expected a failure:\n{}", self.stdout);
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
        self
    }

    fn stderr_has(&self, text: &str) -> &Ran {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
        self
    }

    fn stdout_has(&self, text: &str) -> &Ran {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}:\n{}",
            self.stdout
        );
        self
    }
}

fn line(id: &str, addr: &str, roles: &str) -> String {
    format!("{id} ansible_host={addr} ip={addr} port=22 role={roles}\n")
}

// ---- format preservation -------------------------------------------------------------

#[test]
fn add_changes_only_its_own_lines() {
    let c = Cluster::new(FIXTURE);
    c.run(&[
        "add",
        "--id",
        "node-3",
        "--address",
        "10.0.0.3",
        "--role",
        "compute",
        "--no-run",
    ])
    .ok();
    let expected = FIXTURE.replace(
        "[new-compute]\n",
        &format!("[new-compute]\n{}", line("node-3", "10.0.0.3", "compute")),
    );
    assert_eq!(c.hosts(), expected);
    c.assert_parses();
}

#[test]
fn a_missing_group_is_appended_at_the_end() {
    let c = Cluster::new(FIXTURE);
    c.run(&[
        "add",
        "--id",
        "gw-1",
        "--address",
        "gw-1.example.com",
        "--role",
        "gateway",
        "--no-run",
    ])
    .ok();
    let expected = format!(
        "{FIXTURE}\n[new-gateway]\n{}",
        line("gw-1", "gw-1.example.com", "gateway")
    );
    assert_eq!(c.hosts(), expected);
    c.assert_parses();
}

#[test]
fn add_then_remove_restores_every_byte() {
    let c = Cluster::new(FIXTURE);
    for (id, addr, roles) in [
        ("n1", "10.0.0.11", "compute"),
        ("n2", "fd00::12", "gateway,compute"),
        (
            "9f0c2d1e-0000-4000-8000-000000000013",
            "10.0.0.13",
            "manage",
        ),
    ] {
        c.run(&[
            "add",
            "--id",
            id,
            "--address",
            addr,
            "--role",
            roles,
            "--no-run",
        ])
        .ok();
    }
    c.assert_parses();
    assert_ne!(c.hosts(), FIXTURE);
    for id in ["n2", "9f0c2d1e-0000-4000-8000-000000000013"] {
        c.run(&["remove", id]).ok();
    }
    // The new-gateway section srplay appended stays (an empty group); everything else is back.
    c.run(&["remove", "n1"]).ok();
    assert_eq!(c.hosts(), format!("{FIXTURE}\n[new-gateway]\n"));
}

#[test]
fn remove_drops_the_node_from_every_group_and_nothing_else() {
    let c = Cluster::new(FIXTURE);
    c.run(&["remove", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"])
        .ok()
        .stdout_has("(1 line)");
    assert_eq!(
        c.hosts(),
        FIXTURE.replace(
            "\t6ba7b810-9dad-11d1-80b4-00c04fd430c8 ansible_host=10.0.0.2 ip=10.0.0.2 port=22 role=compute\n",
            ""
        )
    );
}

#[test]
fn crlf_files_stay_crlf() {
    let crlf = FIXTURE.replace('\n', "\r\n");
    let c = Cluster::new(&crlf);
    c.run(&[
        "add",
        "--id",
        "n1",
        "--address",
        "10.0.0.11",
        "--role",
        "compute",
        "--no-run",
    ])
    .ok();
    assert!(!c.hosts().replace("\r\n", "").contains('\n'));
    c.run(&["remove", "n1"]).ok();
    assert_eq!(c.hosts(), crlf);
}

#[test]
fn each_edit_keeps_a_backup_and_the_state_file() {
    let c = Cluster::new(FIXTURE);
    c.run(&[
        "add",
        "--id",
        "n1",
        "--address",
        "10.0.0.11",
        "--role",
        "compute",
        "--no-run",
    ])
    .ok();
    let backups: Vec<PathBuf> = std::fs::read_dir(c.path().join("inventory/.srplay/backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(std::fs::read_to_string(&backups[0]).unwrap(), FIXTURE);
    let state =
        std::fs::read_to_string(c.path().join("inventory/.srplay/hosts.nodes.json")).unwrap();
    assert!(
        state.contains("\"n1\"") && state.contains("\"state\": \"new\""),
        "{state}"
    );
}

#[test]
fn records_of_nodes_removed_by_hand_are_dropped() {
    let c = Cluster::new(FIXTURE);
    c.run(&[
        "add",
        "--id",
        "n1",
        "--address",
        "10.0.0.11",
        "--role",
        "compute",
        "--no-run",
    ])
    .ok();
    let state = c.path().join("inventory/.srplay/hosts.nodes.json");
    assert!(std::fs::read_to_string(&state).unwrap().contains("\"n1\""));
    std::fs::write(c.path().join("inventory/hosts"), FIXTURE).unwrap();
    c.run(&[
        "add",
        "--id",
        "n2",
        "--address",
        "10.0.0.12",
        "--role",
        "compute",
        "--no-run",
    ])
    .ok();
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(
        !text.contains("\"n1\"") && text.contains("\"n2\""),
        "{text}"
    );
}

#[test]
fn list_and_show() {
    let c = Cluster::new(FIXTURE);
    c.run(&[
        "add",
        "--id",
        "n1",
        "--address",
        "10.0.0.11",
        "--role",
        "compute",
        "--no-run",
    ])
    .ok();
    let list = c.run(&["list"]);
    list.ok();
    let rows: Vec<Vec<&str>> = list
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["ID", "ADDRESS", "ROLES", "STATE"],
            vec![MASTER, "10.0.0.1", "manage,compute", "installed"],
            vec![
                "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
                "10.0.0.2",
                "compute",
                "installed"
            ],
            vec!["n1", "10.0.0.11", "compute", "new"],
        ]
    );
    c.run(&["show", "n1"])
        .ok()
        .stdout_has("state:    new")
        .stdout_has("hosts:22 [new-compute]");
    c.run(&["show", "n1x"])
        .fails_with("no node 'n1x'")
        .stderr_has("did you mean n1?");
}

// ---- bad input -----------------------------------------------------------------------

fn add_args<'a>(id: &'a str, addr: &'a str, roles: &'a str) -> Vec<&'a str> {
    vec![
        "add",
        "--id",
        id,
        "--address",
        addr,
        "--role",
        roles,
        "--no-run",
    ]
}

#[test]
fn duplicate_id_points_at_its_line() {
    let c = Cluster::new(FIXTURE);
    c.run(&add_args(MASTER, "10.0.0.50", "compute"))
        .fails_with(&format!(
            "a host named '{MASTER}' is already in the inventory"
        ))
        .stderr_has("hosts:9:1");
    c.run(&add_args("nfs-1", "10.0.0.50", "compute"))
        .fails_with("already in the inventory")
        .stderr_has("hosts:24:1");
    assert_eq!(c.hosts(), FIXTURE);
}

#[test]
fn duplicate_address_points_at_its_line() {
    let c = Cluster::new(FIXTURE);
    c.run(&add_args("n1", "10.0.0.2", "compute"))
        .fails_with(
            "address 10.0.0.2 is already used by host '6ba7b810-9dad-11d1-80b4-00c04fd430c8'",
        )
        .stderr_has("hosts:18:");
    assert_eq!(c.hosts(), FIXTURE);
}

#[test]
fn bad_addresses_and_ids() {
    let c = Cluster::new(FIXTURE);
    for (addr, why) in [
        ("10.0.0.256", "not a valid IPv4 address"),
        ("10.0.0", "not a valid IPv4 address"),
        ("fd00:::1", "not a valid IPv6 address"),
        ("-bad.example.com", "a label cannot start or end with '-'"),
        ("under_score.example.com", "only letters, digits"),
    ] {
        let address = format!("--address={addr}");
        c.run(&[
            "add", "--id", "n1", &address, "--role", "compute", "--no-run",
        ])
        .fails_with(&format!("invalid address '{addr}': "))
        .stderr_has(why);
    }
    c.run(&add_args("n 1", "10.0.0.9", "compute"))
        .fails_with("invalid node id 'n 1'");
    c.run(&add_args("compute", "10.0.0.9", "compute"))
        .fails_with("already a group name");
    assert_eq!(c.hosts(), FIXTURE);
}

#[test]
fn unknown_role_suggests_the_nearest() {
    let c = Cluster::new(FIXTURE);
    c.run(&add_args("n1", "10.0.0.9", "compute,gatway"))
        .fails_with("unknown role 'gatway'")
        .stderr_has("did you mean gateway?");
    c.run(&add_args("n1", "10.0.0.9", "etcd"))
        .fails_with("unknown role 'etcd'")
        .stderr_has("a role is one of: manage, gateway, compute");
    assert_eq!(c.hosts(), FIXTURE);
}

#[test]
fn removing_the_last_manage_node_is_refused() {
    let c = Cluster::new(FIXTURE);
    c.run(&["remove", MASTER])
        .fails_with(&format!("'{MASTER}' is the last manage node"));
    c.run(&["remove", MASTER, "--force"])
        .fails_with("is the last manage node");
    assert_eq!(c.hosts(), FIXTURE);
}

#[test]
fn removing_an_etcd_member_without_quorum_is_refused() {
    let two = FIXTURE
        .replace("[etcd]\n", "[etcd]\nm2\n")
        .replace("[manage]\n", "[manage]\nm2 ansible_host=10.0.0.20\n");
    let c = Cluster::new(&two);
    c.run(&["remove", "m2"])
        .fails_with("removing 'm2' would leave etcd with 1 member(s) out of 2")
        .stderr_has("--force");
    assert_eq!(c.hosts(), two);
    c.run(&["remove", "m2", "--force"]).ok();
}

#[test]
fn an_even_manage_count_is_warned_about() {
    let c = Cluster::new(FIXTURE);
    c.run(&add_args("m2", "10.0.0.20", "manage"))
        .ok()
        .stderr_has("[WARNING]: with this node there are 2 manage nodes: etcd wants an odd number");
    c.run(&add_args("m3", "10.0.0.21", "manage,compute")).ok();
    c.run(&["remove", "m3"])
        .ok()
        .stderr_has("there are 2 manage nodes");
}

#[test]
fn a_malformed_inventory_line_is_reported_with_its_location() {
    let broken = FIXTURE.replace("[k8s:vars]\n", "[k8s:vars]\nno equals sign here\n");
    let c = Cluster::new(&broken);
    c.run(&add_args("n1", "10.0.0.9", "compute"))
        .fails_with("Expected key=value")
        .stderr_has("hosts:31:1");
    c.run(&["list"]).fails_with("hosts:31:1");
    assert_eq!(c.hosts(), broken);
}

#[test]
fn yaml_inventories_and_directories_are_refused() {
    let c = Cluster::new(FIXTURE);
    c.file("inventory.yml", "all: {}\n");
    c.run(&["-i", "inventory.yml", "list"])
        .fails_with("srplay node edits INI inventories only");
    c.run(&["-i", "inventory", "list"])
        .fails_with("is not a file");
}

// ---- concurrency and crashes ----------------------------------------------------------

#[test]
fn two_concurrent_adds_both_land() {
    let c = Cluster::new(FIXTURE);
    for i in 0..20 {
        let spawn = |n: u32| -> Child {
            let id = format!("n{i}-{n}");
            let addr = format!("10.1.{i}.{n}");
            c.command(&add_args(&id, &addr, "compute"))
                .env("SRPLAY_TEST_EDIT_DELAY_MS", "2")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(1), spawn(2));
        for child in [a, b] {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let hosts = c.hosts();
        for n in [1, 2] {
            assert!(
                hosts.contains(&line(
                    &format!("n{i}-{n}"),
                    &format!("10.1.{i}.{n}"),
                    "compute"
                )),
                "iteration {i}: n{i}-{n} was lost:\n{hosts}"
            );
        }
    }
    c.assert_parses();
    assert_eq!(c.run(&["list"]).stdout.lines().count(), 1 + 2 + 40);
}

#[test]
fn sigkill_at_any_point_leaves_the_old_or_the_new_inventory() {
    // The inventory the add writes, from an undisturbed run.
    let reference = Cluster::new(FIXTURE);
    let args = add_args("n1", "10.0.0.11", "compute");
    reference.run(&args).ok();
    let new = reference.hosts();
    let c = Cluster::new(FIXTURE);
    let (mut saw_old, mut saw_new) = (0, 0);
    // Each edit step sleeps 20 ms; kill after 0, 4, 8… ms, until both outcomes were
    // seen (at least 50 kills; a loaded machine needs a longer window).
    for step in 0..500u64 {
        if step >= 50 && saw_old > 0 && saw_new > 0 {
            break;
        }
        let mut child = c
            .command(&args)
            .env("SRPLAY_TEST_EDIT_DELAY_MS", "20")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(step * 4));
        let _ = child.kill();
        let _ = child.wait();
        let now = c.hosts();
        if now == FIXTURE {
            saw_old += 1;
        } else if now == new {
            saw_new += 1;
        } else {
            panic!(
                "after a kill at {} ms the inventory is neither:\n{now}",
                step * 4
            );
        }
        c.assert_parses();
        // Whatever state the kill left, the next command works.
        c.run(&["list"]).ok();
        if now == new {
            c.run(&["remove", "n1", "--no-run"]).ok();
            assert_eq!(c.hosts(), FIXTURE);
        }
    }
    assert!(saw_old > 0 && saw_new > 0, "old {saw_old}, new {saw_new}");
    // The next edit sweeps the temporary files killed edits left behind.
    c.run(&args).ok();
    for dir in [
        "inventory",
        "inventory/.srplay",
        "inventory/.srplay/backups",
    ] {
        let temps: Vec<String> = std::fs::read_dir(c.path().join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(temps.is_empty(), "{dir}: {temps:?}");
    }
}

// ---- running the role's playbook -------------------------------------------------------

const ADDNODE: &str = "\
- hosts: new-compute:new-manage
  gather_facts: no
  tasks:
    - name: show the rule
      debug: msg=\"rule={{ noderule }} on {{ inventory_hostname }}\"
    - name: check the disk
      fail: msg=\"disk too small\"
      when: lookup('env', 'FAIL_NODE') == '1'
";

#[test]
fn add_runs_the_playbook_and_moves_the_node() {
    let c = Cluster::new(FIXTURE);
    c.file("addnode.yml", ADDNODE);
    c.file("addmaster.yml", ADDNODE);
    c.run(&[
        "add",
        "--id",
        "m2",
        "--address",
        "10.0.0.20",
        "--role",
        "manage,compute",
    ])
    .ok()
    .stdout_has("\"msg\": \"rule=manage,compute on m2\"")
    .stdout_has("node m2 installed: now in [manage] [compute]");
    let hosts = c.hosts();
    let m2 = line("m2", "10.0.0.20", "manage,compute");
    for group in ["[manage]\n", "[etcd]\n", "[compute]\n"] {
        let section = &hosts[hosts.find(group).unwrap()..];
        let section = &section[..section[1..].find("\n[").unwrap_or(section.len() - 1) + 1];
        assert!(section.contains(&m2), "{group} lacks m2:\n{hosts}");
    }
    assert!(!hosts.contains("[new-manage]\nm2"), "{hosts}");
    c.run(&["show", "m2"])
        .ok()
        .stdout_has("state:    installed");
}

#[test]
fn a_failed_install_is_recorded_and_resumed() {
    let c = Cluster::new(FIXTURE);
    c.file("addnode.yml", ADDNODE);
    let args = [
        "add",
        "--id",
        "n1",
        "--address",
        "10.0.0.11",
        "--role",
        "compute",
    ];
    let failed = c.command(&args).env("FAIL_NODE", "1").output().unwrap();
    assert!(!failed.status.success());
    assert!(
        String::from_utf8_lossy(&failed.stderr)
            .contains("node n1 failed to install at task 'check the disk': disk too small")
    );
    c.run(&["show", "n1"])
        .ok()
        .stdout_has("state:    failed")
        .stdout_has("failed task: check the disk")
        .stdout_has("run:      2");
    // The node's state came from its run's record, which `srplay runs` shows.
    let runs = Command::new(env!("CARGO_BIN_EXE_srplay"))
        .args(["runs", "show", "-i", "inventory/hosts"])
        .current_dir(c.path())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&runs.stdout);
    assert!(
        shown.contains("n1: failed at 'check the disk' (addnode.yml:"),
        "{shown}"
    );
    assert!(shown.contains("disk too small"), "{shown}");
    assert!(c.hosts().contains(&format!(
        "[new-compute]\n{}",
        line("n1", "10.0.0.11", "compute")
    )));
    c.run(&args)
        .ok()
        .stdout_has("resuming it")
        .stdout_has("node n1 installed");
    c.run(&["show", "n1"])
        .ok()
        .stdout_has("state:    installed");
}

#[test]
fn a_missing_playbook_is_refused_before_any_edit() {
    let c = Cluster::new(FIXTURE);
    c.run(&[
        "add",
        "--id",
        "n1",
        "--address",
        "10.0.0.11",
        "--role",
        "compute",
    ])
    .fails_with("addnode.yml not found")
    .stderr_has("--no-run");
    assert_eq!(c.hosts(), FIXTURE);
}

// ---- passwords ---------------------------------------------------------------------------

#[test]
fn the_password_never_reaches_a_command_line() {
    let c = Cluster::new(FIXTURE);
    let password = format!("pw-{}-not-on-argv", std::process::id());
    c.file("pw", &format!("{password}\n"));
    let mut child = c
        .command(&[
            "add",
            "--id",
            "n1",
            "--address",
            "10.0.0.11",
            "--role",
            "compute",
            "--no-run",
            "--password-file",
            "pw",
        ])
        .env("SRPLAY_TEST_EDIT_DELAY_MS", "150")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut scans = 0;
    while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(10) {
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
                assert!(
                    !String::from_utf8_lossy(&cmdline).contains(&password),
                    "the password is on the command line of {}",
                    entry.path().display()
                );
            }
        }
        scans += 1;
    }
    assert!(child.wait().unwrap().success());
    assert!(scans > 1, "srplay ended before /proc could be read");
    assert!(!c.hosts().contains(&password));
    let own = c.path().join("inventory/.srplay");
    for entry in walk(&own) {
        assert!(
            !std::fs::read_to_string(&entry)
                .unwrap_or_default()
                .contains(&password),
            "{} holds the password",
            entry.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn replace_installs_the_new_node_then_removes_the_old_one() {
    let c = Cluster::new(FIXTURE);
    c.file("addnode.yml", ADDNODE);
    c.file("addmaster.yml", ADDNODE);
    c.file(
        "delnode.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - debug: msg=\"bye {{ inventory_hostname }}\"\n",
    );
    c.run(&["replace", MASTER, "--id", "m2", "--address", "10.0.0.20"])
        .ok()
        .stdout_has("node m2 installed: now in [manage] [compute]")
        .stdout_has(&format!("\"msg\": \"bye {MASTER}\""))
        .stdout_has(&format!("removed node {MASTER}"));
    let hosts = c.hosts();
    assert!(!hosts.contains(MASTER), "{hosts}");
    assert!(
        hosts.contains(&format!(
            "[etcd]\n{}",
            line("m2", "10.0.0.20", "manage,compute")
        )),
        "{hosts}"
    );
    c.assert_parses();
}

#[test]
fn a_failed_replace_leaves_the_old_node() {
    let c = Cluster::new(FIXTURE);
    c.file("addnode.yml", ADDNODE);
    let old = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
    let out = c
        .command(&["replace", old, "--id", "n9", "--address", "10.0.0.9"])
        .env("FAIL_NODE", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(c.hosts().contains(old));
    c.run(&["show", "n9"]).ok().stdout_has("state:    failed");
    c.run(&["replace", old, "--id", "n9", "--address", "10.0.0.9"])
        .ok()
        .stdout_has("resuming it")
        .stdout_has(&format!("removed node {old}"));
    assert!(!c.hosts().contains(old));
}

#[test]
fn remove_runs_the_removal_playbook_first() {
    let c = Cluster::new(FIXTURE);
    c.file(
        "delnode.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - fail: msg=\"cannot drain\"\n      when: lookup('env', 'FAIL_NODE') == '1'\n",
    );
    let old = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
    let out = c
        .command(&["remove", old])
        .env("FAIL_NODE", "1")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("failed to remove at task 'fail': cannot drain")
    );
    assert!(c.hosts().contains(old));
    c.run(&["show", old]).ok().stdout_has("state:    removing");
    c.run(&["remove", old]).ok();
    assert!(!c.hosts().contains(old));
}

#[test]
fn add_refuses_a_node_that_does_not_answer_and_writes_nothing() {
    let mut c = Cluster::new("[manage]\nm1 ansible_host=10.0.0.1\n");
    c.check_ssh = true;
    let before = c.hosts();
    c.run(&[
        "add",
        "--id",
        "n1",
        "--address",
        "127.0.0.1",
        "--port",
        "1",
        "--role",
        "compute",
        "--no-run",
    ])
    .fails_with("does not answer over SSH")
    .stderr_has("Connection refused")
    .stderr_has("--no-check");
    assert_eq!(c.hosts(), before);
}

#[test]
fn add_checks_through_the_inventory_connection_settings() {
    // A group variable says how to reach the nodes: here the local connection.
    let mut c =
        Cluster::new("[all:vars]\nansible_connection=local\n[manage]\nm1 ansible_host=10.0.0.1\n");
    c.check_ssh = true;
    c.run(&[
        "add",
        "--id",
        "n1",
        "--address",
        "10.9.9.9",
        "--role",
        "compute",
        "--no-run",
    ])
    .ok();
    assert!(
        c.hosts().contains("n1 ansible_host=10.9.9.9"),
        "{}",
        c.hosts()
    );
}
