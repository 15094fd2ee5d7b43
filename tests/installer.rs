//! The reference installer (`roles/`, `playbooks/`) end to end on six booted Debian hosts
//! (3 manage, 1 gateway, 2 compute on 127.0.1.241..246): `srplay playbooks/setup.yml`
//! installs etcd, haproxy, Prometheus, the node exporters and the etcd proxies from the
//! offline package source only (the hosts have no other apt source) and its own
//! `90.check.yml` passes; then this test checks the cluster itself over ssh, and a second
//! run must change nothing. Each phase's wall time is printed (`--nocapture` shows it).
//!
//! Same gate as `tests/nspawn.rs` (root, systemd-nspawn, debootstrap, dpkg-dev;
//! `SRPLAY_NSPAWN=0|1`). The package source is built once by `hack/offline/build-repo`
//! into `~/.cache/srplay/installer-repo` (about 70 MiB, needs network the first time).

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::cluster::{ETCDCTL, Node, installer_repo, play, recap, timed, write_inventory};
use support::nspawn::{Hosts, manifest_dir, skip_reason};

/// Clear of tests/nspawn.rs's 240.
const NODES: [Node; 6] = [
    Node::new("m1", 241, "manage"),
    Node::new("m2", 242, "manage"),
    Node::new("m3", 243, "manage"),
    Node::new("gw1", 244, "gateway"),
    Node::new("c1", 245, "compute"),
    Node::new("c2", 246, "compute"),
];

#[test]
fn setup_installs_the_cluster_and_converges() {
    if let Some(why) = skip_reason() {
        eprintln!("installer test skipped: {why} (SRPLAY_NSPAWN=1 forces it)");
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let repo = installer_repo(scratch.path());
    // No --repo: the playbooks give the hosts their only package source.
    let hosts = timed("boot of 6 hosts", || {
        Hosts::start(NODES.len() as u32, NODES[0].n, &[], scratch.path())
    });
    let inv = write_inventory(
        &scratch.path().join("inventory"),
        &hosts.state,
        &NODES,
        &repo,
    );

    let (rc, out) = timed("setup.yml, first run", || {
        play("playbooks/setup.yml", &inv, scratch.path())
    });
    eprintln!("first run recap:\n  {}", recap(&out).join("\n  "));
    assert!(
        rc == 0 && recap(&out).len() == NODES.len(),
        "setup.yml failed (rc {rc}):\n{out}"
    );

    let ssh = |n: u32, command: &str| hosts.ssh(&format!("127.0.1.{n}"), command);
    let gateway = "https://127.0.1.244:2379";
    let (ok, health) = ssh(
        244,
        &format!("{ETCDCTL} --endpoints={gateway} endpoint health 2>&1"),
    );
    assert!(
        ok && health.contains("is healthy"),
        "etcd through the gateway: {health}"
    );
    let (ok, put) = ssh(
        244,
        &format!("{ETCDCTL} --endpoints={gateway} put installer-test written-through-gw1"),
    );
    assert!(ok && put == "OK", "put through the gateway: {put}");
    for Node { id, n, .. } in NODES.iter().filter(|n| n.role == "manage") {
        let (ok, got) = ssh(
            *n,
            &format!(
                "{ETCDCTL} --endpoints=https://127.0.1.{n}:2379 get --print-value-only installer-test"
            ),
        );
        assert!(ok && got == "written-through-gw1", "{id} reads '{got}'");
    }
    for Node { id, n, .. } in NODES.iter().filter(|n| n.role == "compute") {
        let (ok, got) = ssh(
            *n,
            &format!(
                "{ETCDCTL} --endpoints=https://127.0.1.{n}:2379 get --print-value-only installer-test"
            ),
        );
        assert!(
            ok && got == "written-through-gw1",
            "{id}'s proxy reads '{got}'"
        );
    }
    let (ok, targets) = ssh(
        244,
        "curl -sf http://127.0.1.244:9090/api/v1/targets?state=active",
    );
    assert!(ok, "Prometheus through the gateway did not answer");
    let targets: serde_json::Value = serde_json::from_str(&targets).unwrap();
    let mut up: Vec<&str> = targets["data"]["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["health"] == "up")
        .filter_map(|t| t["labels"]["node"].as_str())
        .collect();
    up.sort();
    let mut ids: Vec<&str> = NODES.iter().map(|n| n.id).collect();
    ids.sort();
    assert_eq!(up, ids, "exporters Prometheus reports up");

    let (rc, out) = timed("setup.yml, second run", || {
        play("playbooks/setup.yml", &inv, scratch.path())
    });
    let second = recap(&out);
    eprintln!("second run recap:\n  {}", second.join("\n  "));
    assert!(
        rc == 0 && second.len() == NODES.len() && second.iter().all(|l| l.contains(" changed=0 ")),
        "the second run changed something (rc {rc}):\n{out}"
    );

    let (rc, out) = timed("90.check.yml alone", || {
        play("playbooks/90.check.yml", &inv, scratch.path())
    });
    assert_eq!(rc, 0, "90.check.yml failed:\n{out}");
}

/// The playbooks stay valid Ansible: ansible-playbook 2.19 loads them all (roles
/// resolved through playbooks/roles, as from a bundle's root).
#[test]
fn playbooks_pass_ansible_syntax_check() {
    let Some(venv) = support::find_ansible() else {
        eprintln!(
            "installer: ansible-playbook not found (SRPLAY_ANSIBLE_VENV): syntax check skipped"
        );
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let inv = write_inventory(
        &scratch.path().join("inventory"),
        Path::new("/nonexistent"),
        &NODES,
        Path::new("/nonexistent"),
    );
    // The node playbooks name their node in the play patterns: node_id is required.
    let playbooks = [
        "playbooks/setup.yml",
        "playbooks/addmaster.yml",
        "playbooks/delmaster.yml",
    ];
    for tool in [
        venv.join("bin/ansible-playbook"),
        env!("CARGO_BIN_EXE_srplay").into(),
    ] {
        for playbook in playbooks {
            let mut cmd = Command::new(&tool);
            cmd.current_dir(manifest_dir())
                .env("ANSIBLE_PYTHON_INTERPRETER", venv.join("bin/python"))
                .args(["--syntax-check", playbook, "-e", "node_id=m1", "-i"])
                .arg(&inv);
            let (rc, out, err) =
                support::run_with_timeout(cmd, scratch.path(), Duration::from_secs(120));
            assert_eq!(
                rc,
                0,
                "{} --syntax-check {playbook}:\n{out}\n{err}",
                tool.display()
            );
        }
    }
}
