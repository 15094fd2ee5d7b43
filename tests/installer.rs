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
use std::time::{Duration, Instant};

use support::nspawn::{Hosts, cache_dir, hack, manifest_dir, skip_reason};

/// The nodes: id, last byte of the address, role. Clear of tests/nspawn.rs's 240.
const NODES: [(&str, u32, &str); 6] = [
    ("m1", 241, "manage"),
    ("m2", 242, "manage"),
    ("m3", 243, "manage"),
    ("gw1", 244, "gateway"),
    ("c1", 245, "compute"),
    ("c2", 246, "compute"),
];

/// The inventory as `srplay node` keeps it (see src/state/nodes.rs), with the rig's key.
fn inventory(state: &Path) -> String {
    let line = |(id, n, role): &(&str, u32, &str)| {
        format!("{id} ansible_host=127.0.1.{n} ip=127.0.1.{n} port=22 role={role}\n")
    };
    let group = |name: &str, role: &str| {
        let lines: String = NODES.iter().filter(|n| n.2 == role).map(line).collect();
        format!("[{name}]\n{lines}\n")
    };
    format!(
        "[all:vars]\nansible_user=root\nansible_ssh_private_key_file={key}\n\
         ansible_ssh_common_args='-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes'\n\n\
         {manage}[new-manage]\n\n{gateway}[new-gateway]\n\n{compute}[new-compute]\n\n{etcd}",
        key = state.join("id").display(),
        known = state.join("known_hosts").display(),
        manage = group("manage", "manage"),
        gateway = group("gateway", "gateway"),
        compute = group("compute", "compute"),
        etcd = group("etcd", "manage"),
    )
}

/// Run `srplay PLAYBOOK` from the repository root as a site engineer would; rc and stdout.
fn srplay(playbook: &str, inventory: &Path, repo: &Path, scratch: &Path) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_srplay"));
    cmd.current_dir(manifest_dir())
        .arg(playbook)
        .arg("-i")
        .arg(inventory)
        .arg("-e")
        .arg(format!("offline_repo_dir={}", repo.display()))
        // The hosts share this machine's kernel (/proc/sys is read-only in them) and its
        // loopback network, where a node's connections come from 127.0.0.1.
        .args(["-e", "sysctl_apply=false"])
        .args(["-e", r#"{"pki_extra_sans": ["IP:127.0.0.1"]}"#]);
    let (rc, out, err) = support::run_with_timeout(cmd, scratch, Duration::from_secs(1200));
    (rc, format!("{out}{err}"))
}

/// The PLAY RECAP lines, whitespace squeezed.
fn recap(out: &str) -> Vec<String> {
    out.lines()
        .skip_while(|l| !l.starts_with("PLAY RECAP"))
        .skip(1)
        .filter(|l| l.contains(" : ok="))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

fn timed<T>(phase: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let value = f();
    eprintln!(
        "installer: {phase} took {:.1}s",
        start.elapsed().as_secs_f64()
    );
    value
}

const ETCDCTL: &str = "ETCDCTL_API=3 etcdctl --cacert=/etc/srplay/pki/ca.crt \
    --cert=/etc/srplay/pki/node.crt --key=/etc/srplay/pki/node.key";

#[test]
fn setup_installs_the_cluster_and_converges() {
    if let Some(why) = skip_reason() {
        eprintln!("installer test skipped: {why} (SRPLAY_NSPAWN=1 forces it)");
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let repo = cache_dir().join("installer-repo");
    if !repo.join("Packages.gz").exists() {
        let dir = repo.to_string_lossy().into_owned();
        timed("package source build", || {
            hack(
                "offline/build-repo",
                &[&dir],
                scratch.path(),
                Duration::from_secs(900),
            )
        });
    }
    // No --repo: the playbooks give the hosts their only package source.
    let hosts = timed("boot of 6 hosts", || {
        Hosts::start(NODES.len() as u32, NODES[0].1, &[], scratch.path())
    });
    let inv_dir = scratch.path().join("inventory");
    std::fs::create_dir_all(&inv_dir).unwrap();
    let inv = inv_dir.join("hosts");
    std::fs::write(&inv, inventory(&hosts.state)).unwrap();

    let (rc, out) = timed("setup.yml, first run", || {
        srplay("playbooks/setup.yml", &inv, &repo, scratch.path())
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
    for (id, n, _) in NODES.iter().filter(|n| n.2 == "manage") {
        let (ok, got) = ssh(
            *n,
            &format!(
                "{ETCDCTL} --endpoints=https://127.0.1.{n}:2379 get --print-value-only installer-test"
            ),
        );
        assert!(ok && got == "written-through-gw1", "{id} reads '{got}'");
    }
    for (id, n, _) in NODES.iter().filter(|n| n.2 == "compute") {
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
    let mut ids: Vec<&str> = NODES.iter().map(|n| n.0).collect();
    ids.sort();
    assert_eq!(up, ids, "exporters Prometheus reports up");

    let (rc, out) = timed("setup.yml, second run", || {
        srplay("playbooks/setup.yml", &inv, &repo, scratch.path())
    });
    let second = recap(&out);
    eprintln!("second run recap:\n  {}", second.join("\n  "));
    assert!(
        rc == 0 && second.len() == NODES.len() && second.iter().all(|l| l.contains(" changed=0 ")),
        "the second run changed something (rc {rc}):\n{out}"
    );

    let (rc, out) = timed("90.check.yml alone", || {
        srplay("playbooks/90.check.yml", &inv, &repo, scratch.path())
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
    let inv = scratch.path().join("hosts");
    std::fs::write(&inv, inventory(Path::new("/nonexistent"))).unwrap();
    for tool in [
        venv.join("bin/ansible-playbook"),
        env!("CARGO_BIN_EXE_srplay").into(),
    ] {
        let mut cmd = Command::new(&tool);
        cmd.current_dir(manifest_dir())
            .env("ANSIBLE_PYTHON_INTERPRETER", venv.join("bin/python"))
            .args(["--syntax-check", "playbooks/setup.yml", "-i"])
            .arg(&inv);
        let (rc, out, err) =
            support::run_with_timeout(cmd, scratch.path(), Duration::from_secs(120));
        assert_eq!(rc, 0, "{} --syntax-check:\n{out}\n{err}", tool.display());
    }
}
