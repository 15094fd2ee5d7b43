//! Native fact gathering. One POSIX shell script (`gather.sh`) runs on the host over
//! the [`Connection`] and prints what it reads from /proc, /sys, /etc and `ip`; the
//! controller parses it into the names and shapes of ansible-core 2.19's `setup`,
//! collector by collector (one file per group of Ansible's collectors).
//!
//! Known gaps against Ansible: no `python*` facts (targets need no Python), no
//! block devices (`devices`, `device_links`), LVM, fibre channel, iSCSI, NVMe,
//! ethtool features, or custom facts from `fact_path` (`ansible_local` is `{}`).

mod distribution;
mod hardware;
mod network;
mod sections;
mod subset;
mod system;
mod virtual_;

use std::collections::BTreeSet;

use crate::connection::{Connection, ExecRequest};
use crate::value::{self, Map, Value};
use sections::Sections;

const SCRIPT: &str = include_str!("gather.sh");

/// What `setup` was asked for.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// `gather_subset`, as given (empty means `all`).
    pub subset: Vec<String>,
    /// `filter`: shell-style patterns on the `ansible_`-prefixed names.
    pub filter: Vec<String>,
}

impl Request {
    /// From `setup`'s arguments: `gather_subset` and `filter` as lists or
    /// comma-separated strings.
    pub fn from_args(args: &Map) -> Request {
        Request {
            subset: string_list(args.get("gather_subset")),
            filter: string_list(args.get("filter")),
        }
    }
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(value::to_display_string).collect(),
        Some(other) => value::to_display_string(other)
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    }
}

/// Gather facts on the host behind `conn`. Keys are without the `ansible_` prefix,
/// as in `ansible_facts`.
pub fn gather(conn: &mut dyn Connection, request: &Request) -> Result<Map, String> {
    let collectors = subset::collectors(&request.subset)?;
    let flag = |name: &str| u8::from(collectors.contains(name));
    let script = format!(
        "WANT_HARDWARE={} WANT_NETWORK={} WANT_VIRTUAL={}\n{SCRIPT}",
        flag("hardware"),
        flag("network"),
        flag("virtual")
    );
    let out = conn
        .exec(&ExecRequest::shell(script))
        .map_err(|e| e.message)?;
    if out.rc != 0 {
        return Err(format!(
            "fact gathering failed (rc {}): {}",
            out.rc,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let sections = Sections::parse(&String::from_utf8_lossy(&out.stdout));
    let mut facts = from_sections(&sections, &collectors);
    let subset = if request.subset.is_empty() {
        vec!["all".to_string()]
    } else {
        request.subset.clone()
    };
    facts.insert(
        "gather_subset".into(),
        Value::Array(subset.into_iter().map(Value::String).collect()),
    );
    facts.insert("module_setup".into(), Value::Bool(true));
    if request.filter.is_empty() {
        Ok(facts)
    } else {
        filtered(facts, &request.filter)
    }
}

/// A fact's name as `setup` returns it (and as it becomes a variable): with the
/// `ansible_` prefix, except for setup's own `gather_subset` and `module_setup`.
pub fn module_name(fact: &str) -> String {
    if fact.starts_with("ansible_") || fact == "gather_subset" || fact == "module_setup" {
        fact.to_string()
    } else {
        format!("ansible_{fact}")
    }
}

/// Run the chosen collectors over the script's output.
fn from_sections(sec: &Sections, collectors: &BTreeSet<&str>) -> Map {
    // Some collectors need others' facts (pkg_mgr the family, hardware the
    // architecture); those are computed either way and kept only when chosen.
    let mut platform = Map::new();
    system::platform(sec, &mut platform);
    let mut dist = Map::new();
    distribution::collect(sec, &mut dist);
    let os_family = dist["os_family"].as_str().unwrap_or_default().to_string();
    let architecture = platform["architecture"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let mut f = Map::new();
    for name in collectors {
        match *name {
            "platform" => f.extend(platform.clone()),
            "distribution" => f.extend(dist.clone()),
            "user" => system::user(sec, &mut f),
            "date_time" => system::date_time(sec, &mut f),
            "env" => system::env(sec, &mut f),
            "dns" => system::dns(sec, &mut f),
            "cmdline" => system::cmdline(sec, &mut f),
            "lsb" => system::lsb(sec, &mut f),
            "pkg_mgr" => system::pkg_mgr(sec, &os_family, &mut f),
            "service_mgr" => system::service_mgr(sec, &mut f),
            "selinux" => system::selinux(sec, &mut f),
            "apparmor" => system::apparmor(sec, &mut f),
            "caps" => system::caps(sec, &mut f),
            "fips" => system::fips(sec, &mut f),
            "chroot" => system::chroot(sec, &mut f),
            "loadavg" => system::loadavg(sec, &mut f),
            "ssh_pub_keys" => system::ssh_pub_keys(sec, &mut f),
            "local" => drop(f.insert("ansible_local".into(), Value::Object(Map::new()))),
            "hardware" => hardware::collect(sec, &architecture, &mut f),
            "network" => network::collect(sec, &mut f),
            "virtual" => virtual_::collect(sec, &mut f),
            // python, systemd, facter, ohai, fibre_channel_wwn, iscsi, nvme: see the
            // module documentation.
            _ => {}
        }
    }
    f
}

/// Keep the facts whose name as `setup` returns it matches one of the patterns.
fn filtered(facts: Map, patterns: &[String]) -> Result<Map, String> {
    let patterns = patterns
        .iter()
        .map(|p| glob::Pattern::new(p).map_err(|e| format!("invalid filter '{p}': {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(facts
        .into_iter()
        .filter(|(k, _)| patterns.iter().any(|p| p.matches(&module_name(k))))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arguments_take_lists_or_comma_strings() {
        let r = Request::from_args(
            json!({"gather_subset": "!all, network", "filter": ["ansible_eth*"]})
                .as_object()
                .unwrap(),
        );
        assert_eq!(r.subset, vec!["!all", "network"]);
        assert_eq!(r.filter, vec!["ansible_eth*"]);
    }

    #[test]
    fn filter_matches_prefixed_names() {
        let facts = json!({"eth0": {}, "lo": {}, "ansible_local": {}, "hostname": "h",
                           "module_setup": true});
        let kept = filtered(
            facts.as_object().unwrap().clone(),
            &[
                "ansible_eth*".into(),
                "ansible_local".into(),
                "module_*".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            kept.keys().collect::<Vec<_>>(),
            vec!["eth0", "ansible_local", "module_setup"]
        );
    }

    #[test]
    fn min_keeps_only_the_minimal_collectors_facts() {
        let sec = Sections::parse("\n@@uname\nLinux\n6.1\n#1 SMP\nx86_64\nvm\n");
        let collectors = subset::collectors(&["!all".into()]).unwrap();
        let f = from_sections(&sec, &collectors);
        assert_eq!(f["system"], json!("Linux"));
        assert!(f.contains_key("distribution"));
        assert!(!f.contains_key("memtotal_mb"));
        assert!(!f.contains_key("interfaces"));
        assert!(!f.contains_key("virtualization_type"));
    }
}
