//! Manage (etcd) node lifecycle on booted hosts (issue 7, acceptance 3): a cluster of 3 manage
//! nodes, a gateway and a compute node (127.0.1.211..215) installed with setup.yml grows to 5
//! members with `srplay node add --role manage` (addmaster.yml), shrinks back to 3 with
//! `srplay node remove` (delmaster.yml), and has one member replaced (`srplay node replace`),
//! while a client writes a key through the gateway every 200 ms. After each step the member
//! list is the inventory's [etcd] group, every member is healthy, the gateway's haproxy
//! backends and the compute proxy's endpoints list exactly the members, and no member that
//! stayed was restarted (a membership change touches only first-start settings) nor haproxy
//! (reloaded, never restarted). At the end no write failed (none is retried) and every key
//! written reads back, and setup.yml run again changes nothing. Each step's wall time is
//! printed (`--nocapture`).
//!
//! Same gate as `tests/installer.rs`. The removals run `srplay node remove`'s default,
//! delnode.yml, which imports delmaster.yml.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::thread::JoinHandle;

use support::cluster::{
    ETCDCTL, Node, installer_repo, play, recap, srplay, timed, write_inventory,
};
use support::nspawn::{Hosts, skip_reason};

/// Clear of the other lifecycle tests: 211..215 installed, 216..218 added later.
const INSTALLED: [Node; 5] = [
    Node::new("m1", 211, "manage"),
    Node::new("m2", 212, "manage"),
    Node::new("m3", 213, "manage"),
    Node::new("gw1", 214, "gateway"),
    Node::new("c1", 215, "compute"),
];
const GATEWAY: u32 = 214;
const COMPUTE: u32 = 215;
const SPARE: [Node; 3] = [
    Node::new("m4", 216, "manage"),
    Node::new("m5", 217, "manage"),
    Node::new("m6", 218, "manage"),
];

/// Where the client's loop on the gateway looks for its stop sign.
const STOP_FILE: &str = "/tmp/lifecycle-client-stop";

#[test]
fn manage_nodes_join_and_leave_while_a_client_writes() {
    if let Some(why) = skip_reason() {
        eprintln!("lifecycle_manage test skipped: {why} (SRPLAY_NSPAWN=1 forces it)");
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let repo = installer_repo(scratch.path());
    let count = (INSTALLED.len() + SPARE.len()) as u32;
    let hosts = timed("boot of 8 hosts", || {
        Hosts::start(count, INSTALLED[0].n, &[], scratch.path())
    });
    let inv = write_inventory(
        &scratch.path().join("inventory"),
        &hosts.state,
        &INSTALLED,
        &repo,
    );
    let inv_arg = inv.to_string_lossy().into_owned();

    let (rc, out) = timed("setup.yml", || {
        play("playbooks/setup.yml", &inv, scratch.path())
    });
    assert!(
        rc == 0 && recap(&out).len() == INSTALLED.len(),
        "setup.yml failed (rc {rc}):\n{out}"
    );
    let mut cluster = Cluster {
        hosts: &hosts,
        members: INSTALLED
            .iter()
            .filter(|n| n.role == "manage")
            .map(|n| (n.id.to_string(), n.n))
            .collect(),
    };
    cluster.check(&inv);

    let client = Client::start(&hosts);
    let node = |args: &[&str]| -> (i32, String) {
        let mut all = vec!["node"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-i", &inv_arg]);
        srplay(&all, scratch.path())
    };
    for spare in &SPARE[..2] {
        let addr = spare.addr();
        let step = format!("node add --role manage {}", spare.id);
        cluster.step(&step, &inv, Some((spare.id, spare.n)), None, || {
            node(&[
                "add",
                "--role",
                "manage",
                "--id",
                spare.id,
                "--address",
                &addr,
            ])
        });
    }
    for old in ["m1", "m2"] {
        let step = format!("node remove {old}");
        cluster.step(&step, &inv, None, Some(old), || node(&["remove", old]));
    }
    let new = SPARE[2];
    let addr = new.addr();
    cluster.step(
        "node replace m3 (by m6)",
        &inv,
        Some((new.id, new.n)),
        Some("m3"),
        || node(&["replace", "m3", "--id", new.id, "--address", &addr]),
    );

    let writes = client.stop(&hosts);
    let failed: Vec<String> = writes
        .iter()
        .filter(|w| !w.ok)
        .map(|w| format!("{}: {}", w.key, w.detail))
        .collect();
    eprintln!(
        "client: {} writes through the gateway, {} failed",
        writes.len(),
        failed.len()
    );
    assert!(writes.len() > 100, "the client hardly wrote");
    assert!(
        failed.is_empty(),
        "writes through the gateway failed:\n{}",
        failed.join("\n")
    );
    let (ok, keys) = hosts.ssh(
        &format!("127.0.1.{GATEWAY}"),
        &format!(
            "{ETCDCTL} --endpoints=https://127.0.1.{GATEWAY}:2379 get --prefix --keys-only lc-"
        ),
    );
    assert!(
        ok,
        "reading the keys back through the gateway failed: {keys}"
    );
    let keys: BTreeSet<&str> = keys.lines().filter(|l| !l.is_empty()).collect();
    let lost: Vec<&str> = writes
        .iter()
        .map(|w| w.key.as_str())
        .filter(|k| !keys.contains(k))
        .collect();
    assert!(lost.is_empty(), "keys written but not read back: {lost:?}");

    // The lifecycle playbooks left every node as a fresh install of the same inventory would.
    let (rc, out) = timed("setup.yml on the changed cluster", || {
        play("playbooks/setup.yml", &inv, scratch.path())
    });
    let again = recap(&out);
    eprintln!("setup.yml recap:\n  {}", again.join("\n  "));
    assert!(
        rc == 0
            && again.len() == INSTALLED.len()
            && again.iter().all(|l| l.contains(" changed=0 ")),
        "setup.yml after the changes changed something (rc {rc}):\n{out}"
    );
}

/// The members the test expects (id → last address byte) and the checks made after each step.
struct Cluster<'a> {
    hosts: &'a Hosts,
    members: BTreeMap<String, u32>,
}

impl Cluster<'_> {
    fn ssh(&self, n: u32, command: &str) -> String {
        let (ok, out) = self.hosts.ssh(&format!("127.0.1.{n}"), command);
        assert!(ok, "on 127.0.1.{n}: `{command}` failed: {out}");
        out
    }

    fn ids(&self) -> Vec<String> {
        self.members.keys().cloned().collect()
    }

    /// The main PID of `unit` on node `n`.
    fn main_pid(&self, n: u32, unit: &str) -> String {
        self.ssh(n, &format!("systemctl show -p MainPID --value {unit}"))
    }

    /// Run `f` (a `srplay node` command) as step `name`, timed; then the expected members
    /// gain `joining` and lose `leaving`, and every check runs. Members that stay keep their
    /// etcd process and the gateway its haproxy.
    fn step(
        &mut self,
        name: &str,
        inv: &Path,
        joining: Option<(&str, u32)>,
        leaving: Option<&str>,
        f: impl FnOnce() -> (i32, String),
    ) {
        let staying: Vec<(u32, String)> = self
            .members
            .iter()
            .filter(|(id, _)| Some(id.as_str()) != leaving)
            .map(|(_, &n)| (n, self.main_pid(n, "etcd")))
            .collect();
        let haproxy = self.main_pid(GATEWAY, "haproxy");
        let (rc, out) = timed(name, f);
        assert_eq!(rc, 0, "{name} failed:\n{out}");
        if let Some((id, n)) = joining {
            self.members.insert(id.to_string(), n);
        }
        if let Some(id) = leaving {
            self.members.remove(id);
            let n = leaving_address(id);
            let state = self.ssh(
                n,
                "systemctl is-active etcd; systemctl is-enabled etcd; true",
            );
            assert_eq!(state, "inactive\ndisabled", "etcd on the removed {id}");
            let (gone, _) = self
                .hosts
                .ssh(&format!("127.0.1.{n}"), "test ! -e /var/lib/etcd/srplay");
            assert!(gone, "{id}'s etcd data directory is still there");
        }
        for (n, pid) in staying {
            assert_eq!(
                self.main_pid(n, "etcd"),
                pid,
                "{name} restarted the etcd member on 127.0.1.{n}"
            );
        }
        assert_eq!(
            self.main_pid(GATEWAY, "haproxy"),
            haproxy,
            "{name} restarted haproxy instead of reloading it"
        );
        self.check(inv);
    }

    /// The inventory's [etcd] group, etcd's member list, every member's health, the gateway's
    /// backends, the proxy's endpoints and Prometheus's targets all name the expected members.
    fn check(&self, inv: &Path) {
        let ids = self.ids();
        assert_eq!(inventory_group(inv, "etcd"), ids, "the inventory's [etcd]");
        let first = *self.members.values().next().unwrap();
        let list = self.ssh(
            first,
            &format!("{ETCDCTL} --endpoints=https://127.0.1.{first}:2379 member list -w json"),
        );
        let list: serde_json::Value = serde_json::from_str(&list).unwrap();
        let mut names: Vec<String> = list["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap_or_default().to_string())
            .collect();
        names.sort();
        assert_eq!(names, ids, "etcd's member list");
        let urls: Vec<String> = self
            .members
            .values()
            .map(|n| format!("https://127.0.1.{n}:2379"))
            .collect();
        let health = self.ssh(
            first,
            &format!(
                "{ETCDCTL} --endpoints={} endpoint health 2>&1",
                urls.join(",")
            ),
        );
        assert_eq!(
            health.matches("is healthy").count(),
            ids.len(),
            "endpoint health: {health}"
        );
        // Server names in a backend section of haproxy.cfg.
        let backend = |name: &str| -> Vec<String> {
            let out = self.ssh(
                GATEWAY,
                &format!(
                    "sed -n '/^backend {name}$/,/^$/p' /etc/haproxy/haproxy.cfg | awk '$1 == \"server\" {{ print $2 }}'"
                ),
            );
            let mut names: Vec<String> = out.lines().map(String::from).collect();
            names.sort();
            names
        };
        assert_eq!(backend("etcd_members"), ids, "haproxy's etcd backends");
        assert_eq!(
            backend("prometheus_servers"),
            ids,
            "haproxy's Prometheus backends"
        );
        // The running proxy's command line, not only its unit file: a restart took it.
        let cmdline = self.ssh(
            COMPUTE,
            "tr '\\0' ' ' < /proc/$(systemctl show -p MainPID --value etcd-proxy)/cmdline",
        );
        let endpoints: BTreeSet<&str> = cmdline
            .split_whitespace()
            .find_map(|a| a.strip_prefix("--endpoints="))
            .unwrap_or_default()
            .split(',')
            .collect();
        let want: BTreeSet<&str> = urls.iter().map(String::as_str).collect();
        assert_eq!(endpoints, want, "the compute proxy's endpoints");
        let mut nodes: Vec<String> = ids
            .iter()
            .cloned()
            .chain(["gw1".to_string(), "c1".to_string()])
            .collect();
        nodes.sort();
        for (id, &n) in &self.members {
            let scraped = self.ssh(
                n,
                "sed -n 's/^ *node: \"\\(.*\\)\"$/\\1/p' /etc/prometheus/prometheus.yml | sort",
            );
            let scraped: Vec<&str> = scraped.lines().collect();
            assert_eq!(scraped, nodes, "Prometheus's targets on {id}");
        }
    }
}

/// The last address byte of a node of this test.
fn leaving_address(id: &str) -> u32 {
    INSTALLED
        .iter()
        .chain(&SPARE)
        .find(|n| n.id == id)
        .map(|n| n.n)
        .unwrap()
}

/// The host ids of `[group]` in the inventory file, sorted.
fn inventory_group(inv: &Path, group: &str) -> Vec<String> {
    let text = std::fs::read_to_string(inv).unwrap();
    let header = format!("[{group}]");
    let mut ids: Vec<String> = text
        .lines()
        .skip_while(|l| l.trim() != header)
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with('['))
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect();
    ids.sort();
    ids
}

/// One write of the client: its key and whether etcdctl reported success.
struct Write {
    key: String,
    ok: bool,
    detail: String,
}

/// The test client: one ssh session to the gateway node running a loop that puts `lc-N`
/// through the gateway every 200 ms (no retry: a failed put is reported as failed) until
/// the stop file appears, and prints one line per write, read here by a thread.
struct Client {
    ssh: Child,
    reader: JoinHandle<Vec<Write>>,
}

impl Client {
    fn start(hosts: &Hosts) -> Client {
        let script = format!(
            "rm -f {STOP_FILE}; i=0; while [ ! -e {STOP_FILE} ]; do i=$((i+1)); k=$(printf lc-%06d $i); \
             if out=$({ETCDCTL} --endpoints=https://127.0.1.{GATEWAY}:2379 put $k v$i 2>&1); \
             then echo \"ok $k\"; else echo \"fail $k $(date +%T.%N) $out\" | tr '\\n' ' '; echo; fi; \
             sleep 0.2; done"
        );
        let mut ssh = hosts
            .ssh_command(&format!("127.0.1.{GATEWAY}"), &script)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("ssh");
        let stdout = ssh.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|line| {
                    let mut words = line.splitn(3, ' ');
                    let (status, key) = (words.next()?, words.next()?);
                    Some(Write {
                        key: key.to_string(),
                        ok: status == "ok",
                        detail: words.next().unwrap_or_default().to_string(),
                    })
                })
                .collect()
        });
        Client { ssh, reader }
    }

    /// Put the stop file in place and collect every write.
    fn stop(mut self, hosts: &Hosts) -> Vec<Write> {
        let (ok, out) = hosts.ssh(&format!("127.0.1.{GATEWAY}"), &format!("touch {STOP_FILE}"));
        assert!(ok, "could not stop the client: {out}");
        let status = self.ssh.wait().expect("ssh");
        assert!(
            status.success(),
            "the client's ssh session ended with {status}"
        );
        self.reader.join().unwrap()
    }
}
