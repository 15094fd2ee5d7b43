//! Compute and gateway nodes joining and leaving an installed cluster (issue 7, acceptance
//! 2), on five booted Debian hosts (127.0.1.205..209): `srplay playbooks/setup.yml`
//! installs m1, gw1 and c1; `srplay node add --role compute` installs c2
//! (`playbooks/addnode.yml`) and `node add --role gateway` gw2 (`playbooks/gateway.yml`),
//! each checked from outside (etcd through it, Prometheus scraping it, every node's
//! /etc/hosts naming it); then `srplay node remove` (`playbooks/delnode.yml`) of c2 and
//! of gw2 takes each out of the inventory, Prometheus's targets and the others' /etc/hosts
//! and stops its services, and setup.yml on the nodes left changes nothing. Each step's wall time is
//! printed (`--nocapture`), the compute node's as "time to healthy".
//!
//! Same gate and package source as `tests/installer.rs`.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::cluster::{
    ETCDCTL, Node, installer_repo, play, recap, srplay, timed, write_inventory,
};
use support::nspawn::{Hosts, skip_reason};

/// Installed by setup.yml. Clear of the installer's (241..) and the manage lifecycle's (211..218) hosts.
const CLUSTER: [Node; 3] = [
    Node::new("m1", 205, "manage"),
    Node::new("gw1", 206, "gateway"),
    Node::new("c1", 207, "compute"),
];
/// Booted with the cluster but left out of its inventory until `node add`.
const NEW_COMPUTE: Node = Node::new("c2", 208, "compute");
const NEW_GATEWAY: Node = Node::new("gw2", 209, "gateway");

const KEY: &str = "lifecycle-compute";
const VALUE: &str = "written-through-gw1";

#[test]
fn compute_and_gateway_nodes_join_and_leave() {
    if let Some(why) = skip_reason() {
        eprintln!("lifecycle_compute test skipped: {why} (SRPLAY_NSPAWN=1 forces it)");
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let repo = installer_repo(scratch.path());
    let hosts = timed("boot of 5 hosts", || {
        Hosts::start(5, CLUSTER[0].n, &[], scratch.path())
    });
    let inv = write_inventory(
        &scratch.path().join("inventory"),
        &hosts.state,
        &CLUSTER,
        &repo,
    );
    let cluster = Cluster {
        hosts: &hosts,
        inv: &inv,
    };

    let (rc, out) = timed("setup.yml on m1, gw1, c1", || {
        play("playbooks/setup.yml", &inv, scratch.path())
    });
    assert!(rc == 0, "setup.yml failed (rc {rc}):\n{out}");
    let (ok, put) = cluster.ssh(
        &CLUSTER[1],
        &format!("{ETCDCTL} --endpoints=https://127.0.1.206:2379 put {KEY} {VALUE}"),
    );
    assert!(ok && put == "OK", "put through gw1: {put}");

    // A compute node joins.
    let started = Instant::now();
    let (rc, out) = cluster.node_add(&NEW_COMPUTE, scratch.path());
    eprintln!(
        "cluster: time to healthy (node add --role compute, its checks included) {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(rc, 0, "node add --role compute failed:\n{out}");
    cluster.assert_installed(&NEW_COMPUTE);
    let (ok, got) = cluster.ssh(
        &NEW_COMPUTE,
        &format!("{ETCDCTL} --endpoints=https://127.0.1.208:2379 get --print-value-only {KEY}"),
    );
    assert!(ok && got == VALUE, "c2's proxy reads '{got}'");
    let mut nodes: Vec<Node> = CLUSTER.into();
    nodes.push(NEW_COMPUTE);
    cluster.assert_listed_everywhere(&nodes);

    // A gateway joins.
    let (rc, out) = timed("node add --role gateway", || {
        cluster.node_add(&NEW_GATEWAY, scratch.path())
    });
    assert_eq!(rc, 0, "node add --role gateway failed:\n{out}");
    cluster.assert_installed(&NEW_GATEWAY);
    let (ok, got) = cluster.ssh(
        &NEW_GATEWAY,
        &format!("{ETCDCTL} --endpoints=https://127.0.1.209:2379 get --print-value-only {KEY}"),
    );
    assert!(ok && got == VALUE, "etcd through gw2 reads '{got}'");
    let (ok, _) = cluster.ssh(
        &NEW_GATEWAY,
        "curl -sf http://127.0.1.209:9090/api/v1/targets?state=active",
    );
    assert!(ok, "Prometheus through gw2 did not answer");
    nodes.push(NEW_GATEWAY);
    cluster.assert_listed_everywhere(&nodes);

    // Both leave again; the gateway's removal costs a few seconds more and stops haproxy.
    for (leaving, service) in [(NEW_COMPUTE, "etcd-proxy"), (NEW_GATEWAY, "haproxy")] {
        let (rc, out) = timed(&format!("node remove {}", leaving.id), || {
            srplay(
                &["node", "remove", "-i", &inv.to_string_lossy(), leaving.id],
                scratch.path(),
            )
        });
        eprintln!(
            "node remove {} recap:\n  {}",
            leaving.id,
            recap(&out).join("\n  ")
        );
        assert_eq!(rc, 0, "node remove {} failed:\n{out}", leaving.id);
        assert_eq!(
            groups_of(&inv, leaving.id),
            Vec::<String>::new(),
            "{} is still in the inventory",
            leaving.id
        );
        // Deleted on the controller: a node added again under this id gets a new key and
        // certificate for its address.
        let pki = scratch.path().join("inventory/pki");
        assert!(
            !pki.join(format!("{}.crt", leaving.id)).exists()
                && !pki.join(format!("{}.key", leaving.id)).exists(),
            "{}'s certificate or key is still in {}",
            leaving.id,
            pki.display()
        );
        assert!(
            pki.join("ca.crt").exists(),
            "the CA went with {}",
            leaving.id
        );
        nodes.retain(|n| n.id != leaving.id);
        cluster.assert_listed_everywhere(&nodes);
        for unit in [service, "prometheus-node-exporter"] {
            let (_, state) = cluster.ssh(
                &leaving,
                &format!("systemctl is-active {unit}; systemctl is-enabled {unit}"),
            );
            assert_eq!(state, "inactive\ndisabled", "{unit} on {}", leaving.id);
        }
    }

    let (rc, out) = timed("setup.yml on the nodes left", || {
        play("playbooks/setup.yml", &inv, scratch.path())
    });
    let lines = recap(&out);
    eprintln!("setup.yml after the changes:\n  {}", lines.join("\n  "));
    assert!(
        rc == 0 && lines.len() == nodes.len() && lines.iter().all(|l| l.contains(" changed=0 ")),
        "setup.yml on the nodes left changed something (rc {rc}):\n{out}"
    );
}

/// The booted hosts and the cluster's inventory.
struct Cluster<'a> {
    hosts: &'a Hosts,
    inv: &'a Path,
}

impl Cluster<'_> {
    fn ssh(&self, node: &Node, command: &str) -> (bool, String) {
        self.hosts.ssh(&node.addr(), command)
    }

    /// `srplay node add` of `node`, from the repository root (its default playbook).
    fn node_add(&self, node: &Node, scratch: &Path) -> (i32, String) {
        let addr = node.addr();
        let (rc, out) = srplay(
            &[
                "node",
                "add",
                "-i",
                &self.inv.to_string_lossy(),
                "--role",
                node.role,
                "--id",
                node.id,
                "--address",
                &addr,
            ],
            scratch,
        );
        eprintln!(
            "node add {} recap:\n  {}",
            node.id,
            recap(&out).join("\n  ")
        );
        (rc, out)
    }

    /// `node` was moved from [new-ROLE] to [ROLE].
    fn assert_installed(&self, node: &Node) {
        assert_eq!(
            groups_of(self.inv, node.id),
            [node.role],
            "{}'s groups",
            node.id
        );
    }

    /// Every node of `nodes`, and no other, is in every one's /etc/hosts, and Prometheus on
    /// m1 scrapes exactly their exporters, each up (polled: a reloaded Prometheus scrapes a
    /// new target within its 15 s interval).
    fn assert_listed_everywhere(&self, nodes: &[Node]) {
        let mut want: Vec<String> = nodes
            .iter()
            .map(|n| format!("{} {}", n.addr(), n.id))
            .collect();
        want.sort();
        for node in nodes {
            let (ok, listed) = self.ssh(
                node,
                "sed -n '/# BEGIN srplay cluster nodes/,/# END srplay cluster nodes/p' /etc/hosts | grep -v '^#'",
            );
            let mut listed: Vec<String> = listed.lines().map(String::from).collect();
            listed.sort();
            assert!(
                ok && listed == want,
                "{}'s /etc/hosts lists {listed:?}",
                node.id
            );
        }
        let mut want: Vec<(String, String)> = nodes
            .iter()
            .map(|n| (n.id.to_string(), "up".to_string()))
            .collect();
        want.sort();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let targets = self.prometheus_targets();
            if targets == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus on m1 scrapes {targets:?}, not {want:?}"
            );
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    /// The exporters Prometheus on m1 scrapes: each one's `node` label and health, sorted.
    fn prometheus_targets(&self) -> Vec<(String, String)> {
        let (ok, targets) = self.ssh(
            &CLUSTER[0],
            "curl -sf http://127.0.1.205:9090/api/v1/targets?state=active",
        );
        if !ok {
            return Vec::new();
        }
        let targets: serde_json::Value = serde_json::from_str(&targets).unwrap();
        let mut found: Vec<(String, String)> = targets["data"]["activeTargets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
                (text(&t["labels"]["node"]), text(&t["health"]))
            })
            .collect();
        found.sort();
        found
    }
}

/// The inventory groups whose sections list `id`.
fn groups_of(inv: &Path, id: &str) -> Vec<String> {
    let text = std::fs::read_to_string(inv).unwrap();
    let mut section = String::new();
    let mut groups = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
        } else if line.split_whitespace().next() == Some(id) {
            groups.push(section.clone());
        }
    }
    groups
}
