//! `gather_subset`: which of Ansible's fact collectors run, by its rules
//! (`module_utils/facts/collector.py::get_collector_names`).

use std::collections::BTreeSet;

/// Collectors that run even for `!all` (setup.py's `minimal_gather_subset`).
const MINIMAL: &[&str] = &[
    "apparmor",
    "caps",
    "cmdline",
    "date_time",
    "distribution",
    "dns",
    "env",
    "fips",
    "local",
    "lsb",
    "pkg_mgr",
    "platform",
    "python",
    "selinux",
    "service_mgr",
    "ssh_pub_keys",
    "user",
];

/// Every collector name.
const COLLECTORS: &[&str] = &[
    "apparmor",
    "caps",
    "chroot",
    "cmdline",
    "date_time",
    "distribution",
    "dns",
    "env",
    "facter",
    "fibre_channel_wwn",
    "fips",
    "hardware",
    "iscsi",
    "loadavg",
    "local",
    "lsb",
    "network",
    "nvme",
    "ohai",
    "pkg_mgr",
    "platform",
    "python",
    "selinux",
    "service_mgr",
    "ssh_pub_keys",
    "systemd",
    "user",
    "virtual",
];

/// Fact names Ansible also accepts as subsets, and the collector that gives them.
const FACT_ALIASES: &[(&str, &str)] = &[
    ("all_ipv4_addresses", "network"),
    ("all_ipv6_addresses", "network"),
    ("architecture", "platform"),
    ("default_ipv4", "network"),
    ("default_ipv6", "network"),
    ("devices", "hardware"),
    ("distribution_major_version", "distribution"),
    ("distribution_release", "distribution"),
    ("distribution_version", "distribution"),
    ("effective_group_ids", "user"),
    ("effective_user_id", "user"),
    ("interfaces", "network"),
    ("is_chroot", "chroot"),
    ("kernel", "platform"),
    ("kernel_version", "platform"),
    ("machine", "platform"),
    ("machine_id", "platform"),
    ("mounts", "hardware"),
    ("os_family", "distribution"),
    ("processor", "hardware"),
    ("processor_cores", "hardware"),
    ("processor_count", "hardware"),
    ("python_version", "python"),
    ("real_user_id", "user"),
    ("ssh_host_key_dsa_public", "ssh_pub_keys"),
    ("ssh_host_key_ecdsa_public", "ssh_pub_keys"),
    ("ssh_host_key_ed25519_public", "ssh_pub_keys"),
    ("ssh_host_key_rsa_public", "ssh_pub_keys"),
    ("ssh_host_pub_keys", "ssh_pub_keys"),
    ("system", "platform"),
    ("system_capabilities", "caps"),
    ("system_capabilities_enforced", "caps"),
    ("user_dir", "user"),
    ("user_gecos", "user"),
    ("user_gid", "user"),
    ("user_id", "user"),
    ("user_shell", "user"),
    ("user_uid", "user"),
    ("virtualization_role", "virtual"),
    ("virtualization_tech_guest", "virtual"),
    ("virtualization_tech_host", "virtual"),
    ("virtualization_type", "virtual"),
];

/// Collectors that need others' facts (`required_facts`); Ansible runs those too.
const REQUIRES: &[(&str, &[&str])] = &[
    ("network", &["distribution", "platform"]),
    ("hardware", &["platform"]),
    ("pkg_mgr", &["distribution"]),
    ("service_mgr", &["platform", "distribution"]),
];

/// The collectors to run for a `gather_subset` list (empty means `all`).
pub fn collectors(gather_subset: &[String]) -> Result<BTreeSet<&'static str>, String> {
    let all: BTreeSet<&'static str> = COLLECTORS.iter().copied().collect();
    let minimal: BTreeSet<&'static str> = MINIMAL.iter().copied().collect();
    let mut added = BTreeSet::new();
    let mut excluded = BTreeSet::new();
    let mut explicit = BTreeSet::new();
    let default = ["all".to_string()];
    let given = if gather_subset.is_empty() {
        &default[..]
    } else {
        gather_subset
    };
    // Ansible always starts from `min`.
    added.extend(minimal.iter().copied());
    for subset in given {
        match subset.as_str() {
            "min" => added.extend(minimal.iter().copied()),
            "all" => added.extend(all.iter().copied()),
            "!min" => excluded.extend(minimal.iter().copied()),
            "!all" => excluded.extend(all.difference(&minimal).copied()),
            other => {
                if let Some(name) = other.strip_prefix('!') {
                    // Excluding an unknown subset is no error in Ansible.
                    excluded.extend(resolve(name));
                } else {
                    let Some(name) = resolve(other) else {
                        return Err(bad_subset(other));
                    };
                    explicit.insert(name);
                    added.insert(name);
                }
            }
        }
    }
    let mut chosen: BTreeSet<&'static str> = added
        .into_iter()
        .filter(|c| !excluded.contains(c) || explicit.contains(c))
        .collect();
    for (collector, requires) in REQUIRES {
        if chosen.contains(collector) {
            chosen.extend(requires.iter().copied());
        }
    }
    Ok(chosen)
}

fn resolve(name: &str) -> Option<&'static str> {
    COLLECTORS
        .iter()
        .find(|c| **c == name)
        .or_else(|| {
            FACT_ALIASES
                .iter()
                .find(|(a, _)| *a == name)
                .map(|(_, c)| c)
        })
        .copied()
}

fn bad_subset(name: &str) -> String {
    let mut allowed: Vec<&str> = COLLECTORS
        .iter()
        .copied()
        .chain(FACT_ALIASES.iter().map(|(a, _)| *a))
        .collect();
    allowed.sort_unstable();
    format!(
        "Bad subset '{name}' given to Ansible. gather_subset options allowed: all, {}",
        allowed.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(spec: &[&str]) -> Vec<&'static str> {
        let spec: Vec<String> = spec.iter().map(|s| s.to_string()).collect();
        collectors(&spec).unwrap().into_iter().collect()
    }

    #[test]
    fn not_all_keeps_the_minimal_collectors() {
        assert_eq!(names(&["!all"]), {
            let mut m = MINIMAL.to_vec();
            m.sort_unstable();
            m
        });
    }

    #[test]
    fn explicit_subsets_beat_exclusions_and_aliases_pick_their_collector() {
        let n = names(&["!all", "network", "!min", "processor"]);
        assert_eq!(n, vec!["distribution", "hardware", "network", "platform"]);
        assert!(names(&["all", "!hardware"]).contains(&"virtual"));
        assert!(!names(&["all", "!hardware"]).contains(&"hardware"));
        assert!(!names(&["!all", "!facter"]).contains(&"network"));
    }

    #[test]
    fn unknown_subsets_are_an_error_unless_excluded() {
        let err = collectors(&["bogus".to_string()]).unwrap_err();
        assert!(err.starts_with("Bad subset 'bogus' given to Ansible."));
        assert!(err.contains("all, all_ipv4_addresses, all_ipv6_addresses, apparmor"));
        assert!(collectors(&["!bogus".to_string()]).is_ok());
    }
}
