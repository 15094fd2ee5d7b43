//! Differential test of fact gathering: ansible-core's `setup` (run by
//! `ansible localhost -c local -m setup`) and srplay's `facts::gather` over a local
//! connection, on this machine. For every fact srplay promises, both must have it
//! with the same shape, and the same value where it does not change between two
//! runs. Disagreements are printed as one list.
//!
//! The same comparison runs once over SSH, on a rig host (`tests/support/rig.rs`):
//! Ansible's `setup` through its ssh connection, srplay's through `SshConnection`.
//!
//! Ansible is taken from `$SRPLAY_ANSIBLE_VENV` (default `/opt/ansible-venv`); without
//! it the test prints a note and passes. `cargo test --test facts_compat -- --ignored
//! --nocapture` also times both (median of 10).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use srplay::connection::ssh::SshTarget;
use srplay::connection::{Connection, LocalConnection, SshConnection};
use srplay::facts::{self, Request};

#[path = "support/rig.rs"]
mod rig;

/// How a fact is compared.
#[derive(Clone, Copy)]
enum Check {
    /// The same value.
    Equal,
    /// The same JSON type, and for objects the same keys (recursively).
    Shape,
    /// The same JSON type only.
    Kind,
    /// The same items in any order.
    Set,
    /// Numbers within this distance.
    Near(f64),
}

use Check::*;

/// The facts srplay promises, with how each is compared.
const FACTS: &[(&str, Check)] = &[
    ("distribution", Equal),
    ("distribution_version", Equal),
    ("distribution_major_version", Equal),
    ("distribution_minor_version", Equal),
    ("distribution_release", Equal),
    ("distribution_file_path", Equal),
    ("distribution_file_variety", Equal),
    ("distribution_file_parsed", Equal),
    ("os_family", Equal),
    ("hostname", Equal),
    ("fqdn", Equal),
    ("nodename", Equal),
    ("domain", Equal),
    ("kernel", Equal),
    ("kernel_version", Equal),
    ("architecture", Equal),
    ("machine", Equal),
    ("system", Equal),
    ("userspace_bits", Equal),
    ("userspace_architecture", Equal),
    ("machine_id", Equal),
    ("default_ipv4", Equal),
    ("default_ipv6", Equal),
    ("all_ipv4_addresses", Set),
    ("all_ipv6_addresses", Set),
    ("interfaces", Set),
    ("locally_reachable_ips", Equal),
    ("memtotal_mb", Equal),
    ("memfree_mb", Shape),
    ("swaptotal_mb", Equal),
    ("swapfree_mb", Shape),
    ("memory_mb", Shape),
    ("processor", Equal),
    ("processor_count", Equal),
    ("processor_cores", Equal),
    ("processor_threads_per_core", Equal),
    ("processor_vcpus", Equal),
    ("processor_nproc", Equal),
    ("flags", Equal),
    ("service_mgr", Equal),
    ("pkg_mgr", Equal),
    ("date_time", Shape),
    ("user_id", Equal),
    ("user_uid", Equal),
    ("user_gid", Equal),
    ("user_dir", Equal),
    ("user_shell", Equal),
    ("user_gecos", Equal),
    ("real_user_id", Equal),
    ("effective_user_id", Equal),
    ("real_group_id", Equal),
    ("effective_group_id", Equal),
    ("lsb", Equal),
    ("ansible_local", Equal),
    ("selinux", Equal),
    ("apparmor", Equal),
    ("virtualization_type", Equal),
    ("virtualization_role", Equal),
    ("virtualization_tech_guest", Set),
    ("virtualization_tech_host", Set),
    ("dns", Equal),
    ("uptime_seconds", Near(30.0)),
    ("loadavg", Shape),
    ("cmdline", Equal),
    ("proc_cmdline", Equal),
    ("fips", Equal),
    ("is_chroot", Equal),
    ("system_capabilities", Equal),
    ("system_capabilities_enforced", Equal),
    ("env", Kind),
    ("bios_date", Equal),
    ("bios_vendor", Equal),
    ("bios_version", Equal),
    ("board_name", Equal),
    ("board_vendor", Equal),
    ("chassis_vendor", Equal),
    ("form_factor", Equal),
    ("product_name", Equal),
    ("product_serial", Equal),
    ("product_uuid", Equal),
    ("product_version", Equal),
    ("system_vendor", Equal),
    ("ssh_host_key_rsa_public", Equal),
    ("ssh_host_key_ecdsa_public", Equal),
    ("ssh_host_key_ed25519_public", Equal),
    ("ssh_host_key_ed25519_public_keytype", Equal),
    ("gather_subset", Equal),
    ("module_setup", Equal),
];

/// Per-interface keys compared by value.
const INTERFACE_KEYS: &[&str] = &[
    "device",
    "ipv4",
    "ipv4_secondaries",
    "ipv6",
    "macaddress",
    "mtu",
    "active",
    "type",
    "promisc",
    "speed",
    "pciid",
    "module",
];

/// Mount keys that change while the machine runs.
const MOUNT_VOLATILE: &[&str] = &[
    "size_available",
    "block_available",
    "block_used",
    "inode_available",
    "inode_used",
];

/// date_time keys that stay the same between two runs.
const DATE_TIME_STABLE: &[&str] = &["tz", "tz_dst", "tz_offset"];

fn ansible_bin() -> Option<PathBuf> {
    let dir = std::env::var_os("SRPLAY_ANSIBLE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/ansible-venv"));
    let bin = dir.join("bin/ansible");
    bin.exists().then_some(bin)
}

/// Ansible's facts for localhost, without the `ansible_` prefix (as `ansible_facts`).
fn ansible_facts(bin: &PathBuf, subset: &str) -> Map<String, Value> {
    let target = ["localhost", "-c", "local", "-i", "localhost,"];
    ansible_facts_of(bin, &target, subset)
}

/// Ansible's facts for the host `target` names (a pattern and its `-i`/`-c` options).
fn ansible_facts_of(bin: &PathBuf, target: &[&str], subset: &str) -> Map<String, Value> {
    let venv = bin.parent().and_then(|p| p.parent()).expect("venv layout");
    let out = Command::new(bin)
        .args(target)
        .args(["-m", "setup"])
        .args(["-a", &format!("gather_subset={subset}")])
        .env(
            "ANSIBLE_PYTHON_INTERPRETER",
            venv.join("bin/python").display().to_string(),
        )
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("run ansible");
    let text = String::from_utf8_lossy(&out.stdout);
    let json = text
        .find('{')
        .map(|i| &text[i..])
        .unwrap_or_else(|| panic!("no JSON in ansible's output:\n{text}"));
    let result: Value = serde_json::from_str(json).expect("ansible's JSON");
    let facts = result["ansible_facts"]
        .as_object()
        .unwrap_or_else(|| panic!("no ansible_facts in:\n{text}"));
    facts
        .iter()
        .map(|(k, v)| {
            let k = if k == "ansible_local" {
                k.clone()
            } else {
                k.strip_prefix("ansible_").unwrap_or(k).to_string()
            };
            (k, v.clone())
        })
        .collect()
}

fn srplay_facts(subset: &[&str]) -> Map<String, Value> {
    srplay_facts_over(&mut LocalConnection::default(), subset)
}

fn srplay_facts_over(conn: &mut dyn Connection, subset: &[&str]) -> Map<String, Value> {
    let request = Request {
        subset: subset.iter().map(|s| s.to_string()).collect(),
        filter: Vec::new(),
    };
    facts::gather(conn, &request).expect("srplay gathers facts")
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Differences between two values of the same fact, as lines for the report.
fn compare(path: &str, ansible: &Value, srplay: &Value, check: Check, out: &mut Vec<String>) {
    match check {
        Equal if ansible != srplay => {
            out.push(format!("{path}: ansible {ansible} / srplay {srplay}"));
        }
        Shape => shape(path, ansible, srplay, out),
        Kind if kind(ansible) != kind(srplay) => {
            out.push(format!("{path}: ansible {ansible} / srplay {srplay}"));
        }
        Set => {
            let items = |v: &Value| -> BTreeSet<String> {
                v.as_array()
                    .map(|a| a.iter().map(Value::to_string).collect())
                    .unwrap_or_default()
            };
            if items(ansible) != items(srplay) {
                out.push(format!(
                    "{path}: ansible {ansible} / srplay {srplay} (as sets)"
                ));
            }
        }
        Near(d) => match (ansible.as_f64(), srplay.as_f64()) {
            (Some(a), Some(b)) if (a - b).abs() <= d => {}
            _ => out.push(format!(
                "{path}: ansible {ansible} / srplay {srplay} (±{d})"
            )),
        },
        Equal | Kind => {}
    }
}

fn shape(path: &str, ansible: &Value, srplay: &Value, out: &mut Vec<String>) {
    if kind(ansible) != kind(srplay) {
        out.push(format!(
            "{path}: ansible has a {} ({ansible}), srplay a {} ({srplay})",
            kind(ansible),
            kind(srplay)
        ));
        return;
    }
    if let (Value::Object(a), Value::Object(b)) = (ansible, srplay) {
        for (k, va) in a {
            match b.get(k) {
                Some(vb) => shape(&format!("{path}.{k}"), va, vb, out),
                None => out.push(format!("{path}.{k}: missing in srplay")),
            }
        }
        for k in b.keys().filter(|k| !a.contains_key(*k)) {
            out.push(format!("{path}.{k}: only in srplay"));
        }
    }
}

/// All differences between Ansible's facts and srplay's.
fn differences(ansible: &Map<String, Value>, srplay: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for (name, check) in FACTS {
        match (ansible.get(*name), srplay.get(*name)) {
            (None, None) => {}
            (Some(a), None) => out.push(format!("{name}: missing in srplay (ansible {a})")),
            (None, Some(s)) => out.push(format!("{name}: only in srplay ({s})")),
            (Some(a), Some(s)) => compare(name, a, s, *check, &mut out),
        }
    }
    if let (Some(a), Some(s)) = (ansible.get("date_time"), srplay.get("date_time")) {
        for k in DATE_TIME_STABLE {
            compare(&format!("date_time.{k}"), &a[k], &s[k], Equal, &mut out);
        }
    }
    // The rest of the environment is the controller's, which differs between the
    // two runs (Ansible adds its own variables).
    if let (Some(a), Some(s)) = (ansible.get("env"), srplay.get("env")) {
        for var in ["HOME", "USER", "LOGNAME", "SHELL", "PATH", "LANG"] {
            compare(&format!("env.{var}"), &a[var], &s[var], Equal, &mut out);
        }
    }
    let interfaces = ansible.get("interfaces").and_then(Value::as_array);
    for iface in interfaces.into_iter().flatten().filter_map(Value::as_str) {
        let (a, s) = (&ansible[iface], srplay.get(iface).unwrap_or(&Value::Null));
        if s.is_null() {
            out.push(format!("{iface}: missing in srplay"));
            continue;
        }
        for k in INTERFACE_KEYS {
            let (va, vs) = (&a[k], &s[k]);
            compare(&format!("{iface}.{k}"), va, vs, Equal, &mut out);
        }
    }
    let mounts = |f: &Map<String, Value>| -> Vec<Value> {
        f.get("mounts")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (am, sm) = (mounts(ansible), mounts(srplay));
    for a in &am {
        let mount = a["mount"].as_str().unwrap_or_default();
        let Some(s) = sm.iter().find(|s| s["mount"] == a["mount"]) else {
            out.push(format!("mounts[{mount}]: missing in srplay"));
            continue;
        };
        shape(&format!("mounts[{mount}]"), a, s, &mut out);
        for (k, va) in a.as_object().into_iter().flatten() {
            if !MOUNT_VOLATILE.contains(&k.as_str()) {
                compare(&format!("mounts[{mount}].{k}"), va, &s[k], Equal, &mut out);
            }
        }
    }
    for s in sm
        .iter()
        .filter(|s| !am.iter().any(|a| a["mount"] == s["mount"]))
    {
        out.push(format!("mounts[{}]: only in srplay", s["mount"]));
    }
    out
}

fn assert_same(subset: &str) {
    let Some(bin) = ansible_bin() else {
        eprintln!("note: ansible not found; facts_compat skipped");
        return;
    };
    let ansible = ansible_facts(&bin, subset);
    let srplay = srplay_facts(&subset.split(',').collect::<Vec<_>>());
    let diffs = differences(&ansible, &srplay);
    assert!(
        diffs.is_empty(),
        "facts differ for gather_subset={subset} ({} differences):\n  {}",
        diffs.len(),
        diffs.join("\n  ")
    );
}

#[test]
fn all_facts_match_ansible_over_ssh() {
    let Some(bin) = ansible_bin() else {
        eprintln!("note: ansible not found; facts_compat skipped");
        return;
    };
    let Some(rig) = rig::Rig::start_or_skip(1) else {
        return;
    };
    let host = rig.host_names()[0].clone();
    let inventory = rig.inventory_path().display().to_string();
    let ansible = ansible_facts_of(&bin, &[&host, "-i", &inventory], "all");
    let target = SshTarget {
        name: host.clone(),
        address: rig.addresses()[0].clone(),
        port: 22,
        user: "root".into(),
        private_key_file: Some(rig.key_path().display().to_string()),
        password: None,
        connect_timeout: Duration::from_secs(10),
        host_key_checking: true,
        known_hosts_files: vec![rig.known_hosts_path().display().to_string()],
    };
    let mut conn = SshConnection::new(target);
    let srplay = srplay_facts_over(&mut conn, &["all"]);
    // Over SSH the session's own variables differ by nature (ports, tty).
    let diffs: Vec<String> = differences(&ansible, &srplay)
        .into_iter()
        .filter(|d| !d.starts_with("env.SSH_"))
        .collect();
    assert!(
        diffs.is_empty(),
        "facts over SSH differ ({} differences):\n  {}",
        diffs.len(),
        diffs.join("\n  ")
    );
}

#[test]
fn all_facts_match_ansible() {
    assert_same("all");
}

#[test]
fn minimal_facts_match_ansible() {
    assert_same("!all");
}

#[test]
fn network_only_matches_ansible() {
    assert_same("!all,!min,network");
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// How long one gather takes: srplay's and Ansible's `setup`, median of 10.
#[test]
#[ignore = "timing, run by hand"]
fn gather_timing() {
    let time = |f: &dyn Fn()| {
        median(
            (0..10)
                .map(|_| {
                    let start = Instant::now();
                    f();
                    start.elapsed()
                })
                .collect(),
        )
    };
    let srplay = time(&|| drop(srplay_facts(&[])));
    println!("srplay facts::gather (all): median of 10 = {srplay:?}");
    if let Some(bin) = ansible_bin() {
        let ansible = time(&|| drop(ansible_facts(&bin, "all")));
        println!("ansible -m setup (all):     median of 10 = {ansible:?}");
    }
}
