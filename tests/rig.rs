//! The SSH test rig itself (`hack/rig/rig` through `tests/support/rig.rs`), checked with the
//! OpenSSH client and with `ansible-playbook` from `$SRPLAY_ANSIBLE_VENV` (default
//! `/opt/ansible-venv`). Without root or sshd (or ansible, for the ansible test) the tests
//! print `skipped: ...`, except under CI, where they fail.

#[path = "support/rig.rs"]
mod rig;

use rig::{Rig, skip_unless};
use std::path::PathBuf;
use std::process::{Command, Output};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run(mut cmd: Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

#[test]
fn ssh_reaches_each_host_on_its_own_address_with_strict_host_key_checking() {
    let Some(rig) = Rig::start_or_skip(3) else {
        return;
    };
    for (i, address) in rig.addresses().iter().enumerate() {
        let mut ssh = rig.ssh(i, "root");
        // SSH_CONNECTION is "client-ip client-port server-ip server-port".
        ssh.arg("echo $SSH_CONNECTION; id -u");
        let out = run(ssh);
        assert!(out.status.success(), "h{i}: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 2, "{stdout}");
        assert_eq!(
            lines[0].split(' ').nth(2),
            Some(address.as_str()),
            "{stdout}"
        );
        assert_eq!(lines[1], "0");
    }
}

#[test]
fn sudo_user_logs_in_with_the_key_or_its_password_and_sudo_wants_the_password() {
    let Some(rig) = Rig::start_or_skip(1) else {
        return;
    };
    let sudo = |password: &str| {
        let mut ssh = rig.ssh(0, rig.sudo_user());
        ssh.arg(format!("echo '{password}' | sudo -S -p '' id -u"));
        run(ssh)
    };
    let out = sudo(rig.sudo_password());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "0");
    let out = sudo("not-the-password");
    assert!(!out.status.success(), "sudo took a wrong password");
    assert_eq!(text(&out.stdout), "");

    // Password login (for the transport's password-auth test): ssh reads the password
    // from SSH_ASKPASS, as no terminal is there.
    let askpass = rig.state_dir().join("askpass");
    std::fs::write(
        &askpass,
        format!("#!/bin/sh\necho '{}'\n", rig.sudo_password()),
    )
    .unwrap();
    std::fs::set_permissions(
        &askpass,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let mut ssh = Command::new("ssh");
    ssh.args([
        "-o",
        "PubkeyAuthentication=no",
        "-o",
        "PreferredAuthentications=password",
    ])
    .args(["-o", "NumberOfPasswordPrompts=1"])
    .args(rig.ssh_options())
    .arg(rig.destination(0, rig.sudo_user()))
    .arg("id -un")
    .env("SSH_ASKPASS", &askpass)
    .env("SSH_ASKPASS_REQUIRE", "force");
    let out = run(ssh);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), rig.sudo_user());
}

#[test]
fn stopped_host_refuses_connections_and_a_rekeyed_host_is_refused() {
    let Some(rig) = Rig::start_or_skip(2) else {
        return;
    };
    let ssh_true = |i: usize| {
        let mut ssh = rig.ssh(i, "root");
        ssh.arg("true");
        run(ssh)
    };
    rig.stop_host(1);
    let out = ssh_true(1);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("Connection refused"),
        "{}",
        text(&out.stderr)
    );
    assert!(ssh_true(0).status.success(), "stopping h1 stopped h0 too");
    rig.start_host(1);
    let out = ssh_true(1);
    assert!(out.status.success(), "{}", text(&out.stderr));

    rig.rekey(0);
    let out = ssh_true(0);
    assert!(!out.status.success(), "ssh accepted a changed host key");
    assert!(
        text(&out.stderr).contains("Host key verification failed"),
        "{}",
        text(&out.stderr)
    );
}

fn ansible_playbook() -> Option<PathBuf> {
    let venv =
        std::env::var_os("SRPLAY_ANSIBLE_VENV").unwrap_or_else(|| "/opt/ansible-venv".into());
    let bin = PathBuf::from(venv).join("bin/ansible-playbook");
    let missing =
        (!bin.is_file()).then(|| format!("{} not found (set SRPLAY_ANSIBLE_VENV)", bin.display()));
    (!skip_unless(missing)).then_some(bin)
}

/// Each task checks itself, so a run's recap says it all: `ok=4` on every host that is up.
const PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - ping:
    - command: hostname
      changed_when: false
    - command: id -un
      register: user
      changed_when: false
      failed_when: user.stdout != ansible_user
    - command: id -u
      become: true
      register: uid
      changed_when: false
      failed_when: uid.stdout != "0"
"#;

/// Runs the playbook; returns the exit code and each host's recap line, whitespace collapsed.
fn ansible_run(ansible: &PathBuf, rig: &Rig, inventory: PathBuf) -> (i32, Vec<String>, String) {
    let dir = rig.state_dir().join("ansible");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("playbook.yml"), PLAYBOOK).unwrap();
    let mut cmd = Command::new(ansible);
    cmd.arg("-i")
        .arg(inventory)
        .arg(dir.join("playbook.yml"))
        .env("ANSIBLE_HOME", &dir)
        .env("ANSIBLE_LOCAL_TEMP", dir.join("tmp"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
        // No ControlPersist masters outliving the test.
        .env("ANSIBLE_SSH_ARGS", "-o ControlMaster=no");
    let out = run(cmd);
    let stdout = text(&out.stdout);
    let recap = stdout
        .lines()
        .skip_while(|l| !l.starts_with("PLAY RECAP"))
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().take(6).collect::<Vec<_>>().join(" "))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        recap,
        stdout + &text(&out.stderr),
    )
}

#[test]
fn ansible_playbook_runs_on_the_rig_as_root_and_with_become() {
    let Some(ansible) = ansible_playbook() else {
        return;
    };
    let Some(rig) = Rig::start_or_skip(3) else {
        return;
    };
    let names = rig.host_names();

    rig.stop_host(2);
    let (rc, recap, output) = ansible_run(&ansible, &rig, rig.inventory_path());
    assert_eq!(rc, 4, "{output}");
    let expected: Vec<String> = vec![
        format!("{} : ok=4 changed=0 unreachable=0 failed=0", names[0]),
        format!("{} : ok=4 changed=0 unreachable=0 failed=0", names[1]),
        format!("{} : ok=0 changed=0 unreachable=1 failed=0", names[2]),
    ];
    assert_eq!(recap, expected, "{output}");

    rig.start_host(2);
    let (rc, recap, output) = ansible_run(&ansible, &rig, rig.sudo_inventory_path());
    assert_eq!(rc, 0, "{output}");
    let expected: Vec<String> = names
        .iter()
        .map(|n| format!("{n} : ok=4 changed=0 unreachable=0 failed=0"))
        .collect();
    assert_eq!(recap, expected, "{output}");
}
