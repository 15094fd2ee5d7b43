//! The reference installer (`roles/`, `playbooks/`) end to end on booted Debian hosts, as a
//! site engineer runs it: `srplay bundle create` packs it with its package source, the
//! bundle is extracted, and `./srplay setup.yml -i inventory/hosts` from its root installs
//! etcd, haproxy, Prometheus, the node exporters and the etcd proxies on six hosts (3 manage,
//! 1 gateway, 2 compute on 127.0.1.241..246) with the network unreachable (an nftables rule
//! rejects every packet that leaves for anything but loopback: neither the controller nor the
//! targets can reach a mirror); its own `90.check.yml` passes, this test checks the cluster
//! itself over ssh, and a second run changes nothing.
//!
//! Then ansible-playbook runs the same `setup.yml` from the same bundle on six fresh hosts
//! (127.0.1.221..226, given python3 and python3-apt first, as Ansible needs): it must give
//! the same recap counts per node and pass the same checks, and srplay run afterwards on
//! those hosts must find nothing to change, so both tools left the same cluster. Each
//! phase's wall time and the ratio of the two installs are printed (`--nocapture`).
//!
//! Same gate as `tests/nspawn.rs` (root, systemd-nspawn, debootstrap, dpkg-dev;
//! `SRPLAY_NSPAWN=0|1`), plus nft (nftables) and the Ansible venv. The package source is
//! built once (`support::cluster::installer_repo`, needs network the first time).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::cluster::{
    ETCDCTL, NetworkBlock, Node, installer_repo, recap, run_in, timed, write_inventory,
};
use support::nspawn::{Hosts, manifest_dir, python_repo, skip_reason};

/// Clear of tests/nspawn.rs's 240.
const NODES: [Node; 6] = [
    Node::new("m1", 241, "manage"),
    Node::new("m2", 242, "manage"),
    Node::new("m3", 243, "manage"),
    Node::new("gw1", 244, "gateway"),
    Node::new("c1", 245, "compute"),
    Node::new("c2", 246, "compute"),
];

/// The same cluster for ansible-playbook, on hosts of its own.
const ANSIBLE_NODES: [Node; 6] = [
    Node::new("m1", 221, "manage"),
    Node::new("m2", 222, "manage"),
    Node::new("m3", 223, "manage"),
    Node::new("gw1", 224, "gateway"),
    Node::new("c1", 225, "compute"),
    Node::new("c2", 226, "compute"),
];

#[test]
fn a_bundle_installs_the_cluster_offline_and_ansible_playbook_agrees() {
    if let Some(why) = skip_reason() {
        eprintln!("installer test skipped: {why} (SRPLAY_NSPAWN=1 forces it)");
        return;
    }
    let venv = support::find_ansible().expect("the Ansible venv (SRPLAY_ANSIBLE_VENV)");
    let scratch = tempfile::tempdir().unwrap();
    let repo = installer_repo(scratch.path());
    let python = python_repo(scratch.path());
    let site = unpacked_bundle(scratch.path(), &repo);

    // No --repo: the playbooks give the hosts their only package source. Ansible's hosts
    // get one holding python3 (what it needs on a target before its first task).
    let [a, b] = ["srplay-hosts", "ansible-hosts"].map(|d| {
        let dir = scratch.path().join(d);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    });
    let (hosts, ansible_hosts) = timed("boot of 12 hosts", || {
        let python_arg = python.to_string_lossy().into_owned();
        (
            Hosts::start(6, NODES[0].n, &[], &a),
            Hosts::start(6, ANSIBLE_NODES[0].n, &["--repo", &python_arg], &b),
        )
    });
    // Where a site engineer edits it: the bundle's inventory/hosts.
    write_inventory(
        &site.join("inventory"),
        &hosts.state,
        &NODES,
        &site.join("repo"),
    );
    let ansible_inv = write_inventory(
        &scratch.path().join("ansible-inventory"),
        &ansible_hosts.state,
        &ANSIBLE_NODES,
        &site.join("repo"),
    );
    std::thread::scope(|s| {
        for node in &ANSIBLE_NODES {
            let ansible_hosts = &ansible_hosts;
            s.spawn(move || {
                let (ok, out) = ansible_hosts.ssh(
                    &node.addr(),
                    "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -qq -y python3 python3-apt \
                     >/dev/null 2>&1; python3 -c 'import shutil, apt' && echo ready",
                );
                assert!(ok && out == "ready", "python3 on {}: {out}", node.id);
            });
        }
    });

    // Only srplay's install runs air-gapped: the block holds the whole machine.
    let offline = NetworkBlock::new();
    let (ok, out) = hosts.ssh(
        &NODES[0].addr(),
        "timeout 5 bash -c 'exec 3<>/dev/tcp/deb.debian.org/80' 2>&1 && echo reached",
    );
    assert!(
        !ok && !out.contains("reached"),
        "a mirror is reachable from the targets despite the block: {out}"
    );

    let srplay = env!("CARGO_BIN_EXE_srplay");
    let bundled = site.join("srplay").to_string_lossy().into_owned();
    let (rc, out, srplay_took) = timed_run("./srplay setup.yml, first run", || {
        run_in(
            &bundled,
            &["setup.yml", "-i", "inventory/hosts"],
            &site,
            scratch.path(),
        )
    });
    let first_recap = recap(&out);
    eprintln!("first run recap:\n  {}", first_recap.join("\n  "));
    assert!(
        rc == 0 && recap(&out).len() == NODES.len(),
        "setup.yml from the bundle failed (rc {rc}):\n{out}"
    );
    check_cluster(&hosts, &NODES);

    let (rc, out) = timed("./srplay setup.yml, second run", || {
        run_in(
            &bundled,
            &["setup.yml", "-i", "inventory/hosts"],
            &site,
            scratch.path(),
        )
    });
    assert_converged(rc, &out, "the second run");
    let (rc, out) = timed("90.check.yml alone", || {
        run_in(
            &bundled,
            &["90.check.yml", "-i", "inventory/hosts"],
            &site,
            scratch.path(),
        )
    });
    assert_eq!(rc, 0, "90.check.yml failed:\n{out}");
    drop(offline);

    let playbook = venv
        .join("bin/ansible-playbook")
        .to_string_lossy()
        .into_owned();
    let ansible_inv_arg = ansible_inv.to_string_lossy().into_owned();
    let (rc, out, ansible_took) = timed_run("ansible-playbook setup.yml", || {
        run_in(
            &playbook,
            &["setup.yml", "-i", &ansible_inv_arg],
            &site,
            scratch.path(),
        )
    });
    eprintln!("ansible-playbook recap:\n  {}", recap(&out).join("\n  "));
    assert!(
        rc == 0 && recap(&out).len() == ANSIBLE_NODES.len(),
        "ansible-playbook setup.yml failed (rc {rc}):\n{out}"
    );
    // The same nodes by id, so the same recap lines: each task ended alike on each node.
    assert_eq!(
        recap(&out),
        first_recap,
        "ansible-playbook's recap against srplay's"
    );
    check_cluster(&ansible_hosts, &ANSIBLE_NODES);
    let (rc, out) = timed(
        "srplay setup.yml on the hosts ansible-playbook installed",
        || {
            run_in(
                srplay,
                &["setup.yml", "-i", &ansible_inv_arg],
                &site,
                scratch.path(),
            )
        },
    );
    assert_converged(rc, &out, "srplay after ansible-playbook");
    eprintln!(
        "cluster: the install from the bundle took ansible-playbook {:.1}x srplay's wall time",
        ansible_took.as_secs_f64() / srplay_took.as_secs_f64()
    );
}

/// `srplay bundle create` of this repository with the package source `repo`, verified and
/// extracted into `scratch`: the extracted bundle's root.
fn unpacked_bundle(scratch: &Path, repo: &Path) -> PathBuf {
    let srplay = env!("CARGO_BIN_EXE_srplay");
    let bundle = scratch.join("bundle.tar.gz");
    let (bundle_arg, repo_arg) = (bundle.to_string_lossy(), repo.to_string_lossy());
    let root = manifest_dir().to_string_lossy().into_owned();
    let steps: [&[&str]; 3] = [
        &[
            "bundle",
            "create",
            "--root",
            &root,
            "--repo",
            &repo_arg,
            "-o",
            &bundle_arg,
        ],
        &["bundle", "verify", &bundle_arg],
        &[
            "bundle",
            "extract",
            &bundle_arg,
            "-C",
            &scratch.to_string_lossy(),
        ],
    ];
    timed("bundle create, verify and extract", || {
        for args in steps {
            let (rc, out) = run_in(srplay, args, scratch, scratch);
            assert_eq!(rc, 0, "srplay {args:?}:\n{out}");
        }
    });
    let version = env!("CARGO_PKG_VERSION");
    scratch.join(format!("srplay-bundle-{version}"))
}

/// What `timed` prints, and the wall time too.
fn timed_run(phase: &str, f: impl FnOnce() -> (i32, String)) -> (i32, String, Duration) {
    let start = Instant::now();
    let (rc, out) = timed(phase, f);
    (rc, out, start.elapsed())
}

fn assert_converged(rc: i32, out: &str, what: &str) {
    let lines = recap(out);
    eprintln!("{what} recap:\n  {}", lines.join("\n  "));
    assert!(
        rc == 0 && lines.len() == NODES.len() && lines.iter().all(|l| l.contains(" changed=0 ")),
        "{what} changed something (rc {rc}):\n{out}"
    );
}

/// The cluster on `nodes` works, seen from its nodes: etcd through the gateway (a write
/// read back on every member and through every compute proxy) and Prometheus through the
/// gateway reporting every node's exporter up.
fn check_cluster(hosts: &Hosts, nodes: &[Node]) {
    let ssh = |node: &Node, command: &str| hosts.ssh(&node.addr(), command);
    let gw = nodes.iter().find(|n| n.role == "gateway").unwrap();
    let gateway = format!("https://{}:2379", gw.addr());
    let (ok, health) = ssh(
        gw,
        &format!("{ETCDCTL} --endpoints={gateway} endpoint health 2>&1"),
    );
    assert!(
        ok && health.contains("is healthy"),
        "etcd through the gateway: {health}"
    );
    let (ok, put) = ssh(
        gw,
        &format!("{ETCDCTL} --endpoints={gateway} put installer-test written-through-gw1"),
    );
    assert!(ok && put == "OK", "put through the gateway: {put}");
    // A compute node's proxy listens on its own address, as a member does.
    for node in nodes.iter().filter(|n| n.role != "gateway") {
        let (ok, got) = ssh(
            node,
            &format!(
                "{ETCDCTL} --endpoints=https://{}:2379 get --print-value-only installer-test",
                node.addr()
            ),
        );
        assert!(
            ok && got == "written-through-gw1",
            "{} reads '{got}'",
            node.id
        );
    }
    let (ok, targets) = ssh(
        gw,
        &format!(
            "curl -sf http://{}:9090/api/v1/targets?state=active",
            gw.addr()
        ),
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
    let mut ids: Vec<&str> = nodes.iter().map(|n| n.id).collect();
    ids.sort();
    assert_eq!(up, ids, "exporters Prometheus reports up");
}

/// The playbooks stay valid Ansible: ansible-playbook 2.19 loads them all (roles
/// resolved through playbooks/roles, as from a bundle's root), with the variables
/// `srplay node` passes (ansible-playbook's syntax check renders templated `hosts:`, which
/// delnode.yml's name `node_id`).
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
    let playbooks = [
        "setup.yml",
        "addnode.yml",
        "gateway.yml",
        "delnode.yml",
        "nodelists.yml",
        "addmaster.yml",
        "delmaster.yml",
        "upgrade.yml",
    ];
    for tool in [
        venv.join("bin/ansible-playbook"),
        env!("CARGO_BIN_EXE_srplay").into(),
    ] {
        for playbook in playbooks {
            let mut cmd = Command::new(&tool);
            cmd.current_dir(manifest_dir())
                .env("ANSIBLE_PYTHON_INTERPRETER", venv.join("bin/python"))
                .args(["--syntax-check", &format!("playbooks/{playbook}")])
                .args(["-e", "noderule=compute", "-e", "node_id=c1", "-i"])
                .arg(&inv);
            let (rc, out, err) =
                support::run_with_timeout(cmd, scratch.path(), Duration::from_secs(120));
            assert_eq!(
                rc,
                0,
                "{} --syntax-check playbooks/{playbook}:\n{out}\n{err}",
                tool.display()
            );
        }
    }
}
