//! A rolling upgrade of an installed cluster with per-node rollback (issue 7, acceptance 6),
//! on five booted Debian hosts (127.0.1.231..235: m1..m3, gw1, c1): `srplay
//! playbooks/setup.yml` installs bundle N (the installer's package source), then, while a
//! client reads and writes etcd through the gateway every 200 ms,
//!
//! 1. `srplay playbooks/upgrade.yml` moves the cluster to "N+1": a package source where
//!    prometheus-node-exporter is a rebuilt, newer version (the old one is gone from it) and a
//!    changed site setting (Prometheus's retention). Every node ends on the new version and
//!    setting, one node at a time in the order manage, gateway, compute.
//! 2. The same playbook to a broken "N+2": an exporter whose program exits at once, and
//!    another retention. The first node (m1) fails its checks and is rolled back to N+1's
//!    exporter and configuration, the playbook fails naming m1 and the failed check, and no
//!    other node changed at all (package versions, rendered files, kept rollback state).
//!
//! Each time the cluster passes `90.check.yml` and the client has not failed once. Phases'
//! wall times are printed (`--nocapture`). Same gate and package source as
//! `tests/installer.rs`.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::cluster::{ETCDCTL, Node, installer_repo, play, recap, timed, write_inventory};
use support::nspawn::{Hosts, skip_reason};

/// Clear of the other installer tests' hosts (205.., 211.., 221.., 241..).
const NODES: [Node; 5] = [
    Node::new("m1", 231, "manage"),
    Node::new("m2", 232, "manage"),
    Node::new("m3", 233, "manage"),
    Node::new("gw1", 234, "gateway"),
    Node::new("c1", 235, "compute"),
];
const GATEWAY: Node = NODES[3];

/// The package each new bundle rebuilds with a higher version.
const PACKAGE: &str = "prometheus-node-exporter";

/// What the test reads on a node to tell whether it changed: every package's version, the
/// files the roles render for the exporter and Prometheus, and the package source's index.
const NODE_STATE: &str = "dpkg-query -W -f '${Package}=${Version}\\n'; \
    md5sum /etc/default/prometheus-node-exporter /opt/srplay/repo/Packages.gz; \
    md5sum /etc/default/prometheus /etc/prometheus/prometheus.yml 2>/dev/null; true";

#[test]
fn a_rolling_upgrade_moves_every_node_and_a_failed_one_is_rolled_back() {
    if let Some(why) = skip_reason() {
        eprintln!("upgrade test skipped: {why} (SRPLAY_NSPAWN=1 forces it)");
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let repo = installer_repo(scratch.path());
    let (next, next_version) = timed("package sources N+1 and N+2", || {
        rebuilt_source(&repo, &scratch.path().join("repo-n1"), "1", false)
    });
    let (broken, _) = rebuilt_source(&next, &scratch.path().join("repo-n2"), "2", true);
    let hosts = timed("boot of 5 hosts", || {
        Hosts::start(5, NODES[0].n, &[], scratch.path())
    });
    let inv = write_inventory(
        &scratch.path().join("inventory"),
        &hosts.state,
        &NODES,
        &repo,
    );
    let ssh = |node: &Node, command: &str| hosts.ssh(&node.addr(), command);
    let version_on =
        |node: &Node| ssh(node, &format!("dpkg-query -W -f '${{Version}}' {PACKAGE}")).1;

    let (rc, out) = timed("setup.yml (bundle N)", || {
        play("playbooks/setup.yml", &inv, scratch.path())
    });
    assert!(rc == 0, "setup.yml failed (rc {rc}):\n{out}");
    let old_version = version_on(&NODES[0]);
    let client = Client::start(&hosts);

    // N+1: a newer exporter and a longer retention on every node, one node at a time.
    site_settings(&inv, &next, "30d");
    let (rc, out) = timed("upgrade.yml to N+1", || {
        play("playbooks/upgrade.yml", &inv, scratch.path())
    });
    eprintln!("upgrade to N+1 recap:\n  {}", recap(&out).join("\n  "));
    assert!(
        rc == 0 && recap(&out).len() == NODES.len(),
        "the upgrade to N+1 failed (rc {rc}):\n{out}"
    );
    let mut kept_at = Vec::new();
    for node in &NODES {
        assert_eq!(version_on(node), next_version, "{PACKAGE} on {}", node.id);
        let (ok, _) = ssh(node, &format!("systemctl is-active --quiet {PACKAGE}"));
        assert!(ok, "{PACKAGE} is not running on {}", node.id);
        let (ok, kept) = ssh(node, "cat /var/lib/srplay/rollback/packages");
        assert!(
            ok && kept.contains(&format!("{PACKAGE}={old_version}")),
            "{}'s rollback state does not hold {PACKAGE} {old_version}",
            node.id
        );
        if node.role == "manage" {
            let (_, args) = ssh(node, "cat /etc/default/prometheus");
            assert!(args.contains("retention.time=30d"), "{}: {args}", node.id);
        }
        let (_, at) = ssh(node, "stat -c %.3Y /var/lib/srplay/rollback/packages");
        kept_at.push((at.parse::<f64>().unwrap(), node.id));
    }
    // serial: 1 in inventory order: manage nodes, then the gateway, then the compute node.
    let order: Vec<&str> = {
        let mut sorted = kept_at.clone();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        sorted.into_iter().map(|(_, id)| id).collect()
    };
    assert_eq!(
        order,
        ["m1", "m2", "m3", "gw1", "c1"],
        "order of the upgrade"
    );
    cluster_is_healthy(&inv, scratch.path());

    // N+2 is broken: m1, upgraded first, fails its checks and goes back to N+1.
    let before: Vec<String> = NODES.iter().map(|n| ssh(n, NODE_STATE).1).collect();
    let kept_before: Vec<String> = NODES
        .iter()
        .map(|n| ssh(n, "stat -c %.3Y /var/lib/srplay/rollback/packages").1)
        .collect();
    site_settings(&inv, &broken, "45d");
    let (rc, out) = timed("upgrade.yml to the broken N+2, with m1's rollback", || {
        play("playbooks/upgrade.yml", &inv, scratch.path())
    });
    eprintln!("upgrade to N+2 recap:\n  {}", recap(&out).join("\n  "));
    assert_ne!(rc, 0, "the upgrade to a broken N+2 succeeded:\n{out}");
    if let Some(line) = out.lines().find(|l| l.contains("The upgrade stopped at")) {
        eprintln!("upgrade to N+2 failed with: {line}");
    }
    assert!(
        out.contains("The upgrade stopped at m1: 'check | ")
            && out.contains("m1 is back on the packages and files it had"),
        "the failure does not say that m1 failed a check and was rolled back:\n{out}"
    );
    for (i, node) in NODES.iter().enumerate() {
        assert_eq!(
            ssh(node, NODE_STATE).1,
            before[i],
            "{} is not as it was before the upgrade to N+2",
            node.id
        );
        if i > 0 {
            let (_, at) = ssh(node, "stat -c %.3Y /var/lib/srplay/rollback/packages");
            assert_eq!(
                at, kept_before[i],
                "{}'s rollback state was rewritten",
                node.id
            );
        }
    }
    assert_eq!(version_on(&NODES[0]), next_version, "m1 after its rollback");
    // The site settings back as N+1 had them, so the checks expect what the nodes run.
    site_settings(&inv, &next, "30d");
    cluster_is_healthy(&inv, scratch.path());

    let (ops, failures) = client.stop(&hosts);
    eprintln!(
        "cluster: the client did {ops} writes and reads through gw1 during both upgrades, {} failed",
        failures.len()
    );
    assert!(ops > 0, "the client did nothing");
    assert!(
        failures.is_empty(),
        "the client failed through the upgrades:\n{}",
        failures.join("\n")
    );
}

/// A copy of the package source `from` in `to` (hard links: files are only ever added or
/// removed there, never written to) where `PACKAGE` is rebuilt with version
/// `<original>+upgrade<n>` (and, when `broken`, a program that exits at once) in place of the
/// one `from` had; its version.
fn rebuilt_source(from: &Path, to: &Path, n: &str, broken: bool) -> (PathBuf, String) {
    const SCRIPT: &str = r#"set -eu
cp -al "$1" "$2"
cd "$2"
rm Packages.gz
old=$(ls ./prometheus-node-exporter_*.deb)
work=$(mktemp -d)
dpkg-deb -R "$old" "$work"
version="$(sed -n 's/^Version: //p' "$work/DEBIAN/control" | sed 's/+upgrade.*//')+upgrade$3"
sed -i "s/^Version: .*/Version: $version/" "$work/DEBIAN/control"
if [ "$4" = broken ]; then
  test -f "$work/usr/bin/prometheus-node-exporter"
  printf '#!/bin/sh\necho "this build is broken" >&2\nexit 1\n' >"$work/usr/bin/prometheus-node-exporter"
fi
rm "$old"
dpkg-deb -b "$work" . >/dev/null
rm -rf "$work"
dpkg-scanpackages --multiversion . 2>/dev/null | gzip -9n >Packages.gz
echo "$version""#;
    let out = Command::new("sh")
        .args(["-c", SCRIPT, "sh"])
        .arg(from)
        .arg(to)
        .args([n, if broken { "broken" } else { "working" }])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rebuilding {PACKAGE}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (to.to_path_buf(), version)
}

/// The site's settings as a new bundle has them: its package source and Prometheus's
/// retention (written beside the test hosts' settings in group_vars/all.yml). The checks
/// get less patience than the default minute, so that the broken bundle fails sooner.
fn site_settings(inv: &Path, repo: &Path, retention: &str) {
    let path = inv.parent().unwrap().join("group_vars/all.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| {
            ![
                "offline_repo_dir:",
                "prometheus_retention:",
                "check_retries:",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .map(String::from)
        .collect();
    lines.push(format!("offline_repo_dir: {}", repo.display()));
    lines.push(format!("prometheus_retention: {retention}"));
    lines.push("check_retries: 15".into());
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
}

fn cluster_is_healthy(inv: &Path, scratch: &Path) {
    let (rc, out) = timed("90.check.yml", || {
        play("playbooks/90.check.yml", inv, scratch)
    });
    assert_eq!(rc, 0, "the cluster is not healthy:\n{out}");
}

/// A client of etcd through the gateway: a loop on gw1 that writes a counter and reads it
/// back every 200 ms, printing `ok N` or `FAIL N: what etcdctl said`, until told to stop.
struct Client {
    child: Child,
    reader: std::thread::JoinHandle<Vec<String>>,
}

const CLIENT_STOP: &str = "/tmp/upgrade-client.stop";

impl Client {
    fn start(hosts: &Hosts) -> Client {
        let etcd = format!("{ETCDCTL} --endpoints=https://{}:2379", GATEWAY.addr());
        let script = format!(
            "rm -f {CLIENT_STOP}; i=0; while [ ! -e {CLIENT_STOP} ]; do i=$((i+1)); \
             if out=$({etcd} put upgrade-client $i 2>&1) && out=$({etcd} get --print-value-only upgrade-client 2>&1) \
             && [ \"$out\" = $i ]; then echo ok $i; else echo \"FAIL $i: $out\" | tr '\\n' ' '; echo; fi; \
             sleep 0.2; done"
        );
        let mut child = hosts
            .ssh_command(&GATEWAY.addr(), &script)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("ssh");
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .collect()
        });
        Client { child, reader }
    }

    /// Stop the loop; how many rounds it did, and the failed ones.
    fn stop(mut self, hosts: &Hosts) -> (usize, Vec<String>) {
        let (ok, _) = hosts.ssh(&GATEWAY.addr(), &format!("touch {CLIENT_STOP}"));
        assert!(ok, "cannot stop the client");
        std::thread::sleep(Duration::from_secs(2));
        let _ = self.child.kill();
        let _ = self.child.wait();
        let lines = self.reader.join().unwrap();
        let failures: Vec<String> = lines
            .iter()
            .filter(|l| !l.starts_with("ok "))
            .cloned()
            .collect();
        (lines.len(), failures)
    }
}
