//! `distribution*` and `os_family`, as ansible-core's `facts/system/distribution.py`
//! computes them on Linux: a first guess from os-release / lsb_release (the bundled
//! `distro` library), then the first distribution file in `DIST_FILES` that parses
//! overrides it.

use std::collections::HashMap;

use regex::Regex;

use super::sections::Sections;
use crate::value::{Map, Value};

/// Ansible's `OSDIST_LIST`: (path, name, allow_empty), in its order.
const DIST_FILES: &[(&str, &str, bool)] = &[
    ("/etc/altlinux-release", "Altlinux", false),
    ("/etc/oracle-release", "OracleLinux", false),
    ("/etc/slackware-version", "Slackware", false),
    ("/etc/centos-release", "CentOS", false),
    ("/etc/redhat-release", "RedHat", false),
    ("/etc/vmware-release", "VMwareESX", true),
    ("/etc/openwrt_release", "OpenWrt", false),
    ("/etc/os-release", "Amazon", false),
    ("/etc/system-release", "Amazon", false),
    ("/etc/alpine-release", "Alpine", false),
    ("/etc/arch-release", "Archlinux", true),
    ("/etc/os-release", "Archlinux", false),
    ("/etc/os-release", "SUSE", false),
    ("/etc/SuSE-release", "SUSE", false),
    ("/etc/gentoo-release", "Gentoo", false),
    ("/etc/os-release", "Debian", false),
    ("/etc/lsb-release", "Debian", false),
    ("/etc/lsb-release", "Mandriva", false),
    ("/etc/sourcemage-release", "SMGL", false),
    ("/usr/lib/os-release", "ClearLinux", false),
    ("/etc/coreos/update.conf", "Coreos", false),
    ("/etc/os-release", "Flatcar", false),
    ("/etc/os-release", "NA", false),
];

/// Files whose name is only looked for in their content.
const SEARCH_STRING: &[(&str, &str)] = &[
    ("OracleLinux", "Oracle Linux"),
    ("RedHat", "Red Hat"),
    ("Altlinux", "ALT"),
    ("SMGL", "Source Mage GNU/Linux"),
];

/// Ansible's `OS_FAMILY_MAP`, family first.
const OS_FAMILY: &[(&str, &[&str])] = &[
    (
        "RedHat",
        &[
            "RedHat",
            "RHEL",
            "Fedora",
            "CentOS",
            "Scientific",
            "SLC",
            "Ascendos",
            "CloudLinux",
            "PSBM",
            "OracleLinux",
            "OVS",
            "OEL",
            "Amazon",
            "Amzn",
            "Virtuozzo",
            "XenServer",
            "Alibaba",
            "EulerOS",
            "openEuler",
            "AlmaLinux",
            "Rocky",
            "TencentOS",
            "EuroLinux",
            "Kylin Linux Advanced Server",
            "MIRACLE",
        ],
    ),
    (
        "Debian",
        &[
            "Debian",
            "Ubuntu",
            "Raspbian",
            "Neon",
            "KDE neon",
            "Linux Mint",
            "SteamOS",
            "Devuan",
            "Kali",
            "Cumulus Linux",
            "Pop!_OS",
            "Parrot",
            "Pardus GNU/Linux",
            "Uos",
            "Deepin",
            "OSMC",
            "Linux Mint Debian Edition",
        ],
    ),
    (
        "Suse",
        &[
            "SuSE",
            "SLES",
            "SLED",
            "openSUSE",
            "openSUSE Tumbleweed",
            "SLES_SAP",
            "SUSE_LINUX",
            "openSUSE Leap",
            "ALP-Dolomite",
            "SL-Micro",
            "openSUSE MicroOS",
        ],
    ),
    ("Archlinux", &["Archlinux", "Antergos", "Manjaro"]),
    ("Mandrake", &["Mandrake", "Mandriva"]),
    (
        "Solaris",
        &["Solaris", "Nexenta", "OmniOS", "OpenIndiana", "SmartOS"],
    ),
    ("Slackware", &["Slackware"]),
    ("Altlinux", &["Altlinux"]),
    ("SMGL", &["SMGL"]),
    ("Gentoo", &["Gentoo", "Funtoo"]),
    ("Alpine", &["Alpine"]),
    ("AIX", &["AIX"]),
    ("HP-UX", &["HPUX"]),
    ("Darwin", &["MacOSX"]),
    ("FreeBSD", &["FreeBSD", "TrueOS"]),
    ("ClearLinux", &["Clear Linux OS", "Clear Linux Mix"]),
    (
        "DragonFly",
        &[
            "DragonflyBSD",
            "DragonFlyBSD",
            "Gentoo/DragonflyBSD",
            "Gentoo/DragonFlyBSD",
        ],
    ),
    ("NetBSD", &["NetBSD"]),
];

/// The family of a distribution name; the name itself when Ansible has none.
pub fn os_family(distribution: &str) -> &str {
    OS_FAMILY
        .iter()
        .find(|(_, names)| names.contains(&distribution))
        .map(|(family, _)| *family)
        .unwrap_or(distribution)
}

/// os-release as the `distro` library reads it: lower-cased keys, shell-unquoted
/// values, and a `codename` taken from `VERSION` or the codename keys.
pub fn parse_os_release(text: &str) -> HashMap<String, String> {
    let mut props = HashMap::new();
    for token in text
        .lines()
        .flat_map(|l| shlex::split(l).unwrap_or_default())
    {
        if let Some((k, v)) = token.split_once('=') {
            props.insert(k.to_lowercase(), v.to_string());
        }
    }
    if let Some(version) = props.get("version") {
        let re = Regex::new(r"\((\D+)\)|,\s*(\D+)").expect("valid regex");
        if let Some(c) = re.captures(version) {
            let codename = c.get(1).or(c.get(2)).map_or("", |m| m.as_str()).to_string();
            props.insert("codename".into(), codename);
        }
    }
    if let Some(c) = props
        .get("version_codename")
        .or(props.get("ubuntu_codename"))
        .cloned()
    {
        props.insert("codename".into(), c);
    }
    props
}

/// `lsb_release -a` output as `distro` reads it: lower-cased keys with `_` for spaces.
pub fn parse_lsb_release(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| {
            (
                k.trim().to_lowercase().replace(' ', "_"),
                v.trim().to_string(),
            )
        })
        .collect()
}

/// A distro release file's first line ("CentOS release 6.10 (Final)"): name,
/// version and codename, found the way `distro` does (matching it reversed).
fn parse_release_line(line: &str) -> HashMap<&'static str, String> {
    let re = Regex::new(r"^(?:[^)]*\)(.*)\()? *(?:STL )?([\d.+\-a-z]*\d) *(?:esaeler *)?(.+)")
        .expect("valid regex");
    let reversed: String = line.trim().chars().rev().collect();
    let mut out = HashMap::new();
    if let Some(c) = re.captures(&reversed) {
        let rev = |i: usize| -> String {
            c.get(i)
                .map(|m| m.as_str().chars().rev().collect())
                .unwrap_or_default()
        };
        out.insert("name", rev(3));
        out.insert("version_id", rev(2));
        out.insert("codename", rev(1));
    } else if !line.trim().is_empty() {
        out.insert("name", line.trim().to_string());
    }
    out
}

/// The distro release files `distro` looks at when os-release is missing, with the
/// id each stands for.
const RELEASE_FILES: &[(&str, &str)] = &[
    ("/etc/SuSE-release", "suse"),
    ("/etc/altlinux-release", "altlinux"),
    ("/etc/arch-release", "arch"),
    ("/etc/centos-release", "centos"),
    ("/etc/gentoo-release", "gentoo"),
    ("/etc/oracle-release", "oracle"),
    ("/etc/redhat-release", "rhel"),
];

/// What the bundled `distro` library says: id, version (plain and "best") and codename.
struct DistroGuess {
    id: String,
    version: String,
    best_version: String,
    codename: Option<String>,
}

fn guess(s: &Sections) -> DistroGuess {
    let os = s
        .file("/etc/os-release")
        .or(s.file("/usr/lib/os-release"))
        .map(parse_os_release)
        .unwrap_or_default();
    let lsb = s
        .get("lsb_release")
        .map(parse_lsb_release)
        .unwrap_or_default();
    let release = RELEASE_FILES
        .iter()
        .find_map(|(path, id)| Some((*id, parse_release_line(s.file(path)?.lines().next()?))))
        .unwrap_or_default();
    let get = |m: &HashMap<String, String>, k: &str| m.get(k).cloned().unwrap_or_default();
    let normalize = |id: &str| id.to_lowercase().replace(' ', "_");
    let id = if let Some(id) = os.get("id").filter(|v| !v.is_empty()) {
        match normalize(id).as_str() {
            "ol" => "oracle".to_string(),
            "opensuse-leap" => "opensuse".to_string(),
            other => other.to_string(),
        }
    } else if let Some(id) = lsb.get("distributor_id").filter(|v| !v.is_empty()) {
        match normalize(id).as_str() {
            "enterpriseenterpriseas" | "enterpriseenterpriseserver" => "oracle".to_string(),
            "redhatenterpriseworkstation"
            | "redhatenterpriseserver"
            | "redhatenterprisecomputenode" => "rhel".to_string(),
            other => other.to_string(),
        }
    } else {
        release.0.to_string()
    };
    let release_attr = |k: &str| release.1.get(k).cloned().unwrap_or_default();
    let mut versions = vec![
        get(&os, "version_id"),
        get(&lsb, "release"),
        release_attr("version_id"),
        parse_release_line(&get(&os, "pretty_name"))
            .remove("version_id")
            .unwrap_or_default(),
        parse_release_line(&get(&lsb, "description"))
            .remove("version_id")
            .unwrap_or_default(),
    ];
    let like_debian = get(&os, "id_like")
        .split_whitespace()
        .any(|l| l == "debian");
    if id == "debian" || like_debian {
        versions.push(
            s.file("/etc/debian_version")
                .map(|v| v.trim().to_string())
                .unwrap_or_default(),
        );
    }
    let version = versions
        .iter()
        .find(|v| !v.is_empty())
        .cloned()
        .unwrap_or_default();
    let mut best_version = String::new();
    for v in &versions {
        if v.matches('.').count() > best_version.matches('.').count() || best_version.is_empty() {
            best_version = v.clone();
        }
    }
    // Ansible's get_distribution_codename.
    let codename = os
        .get("version_codename")
        .or(os.get("ubuntu_codename"))
        .cloned()
        .or_else(|| {
            (id == "ubuntu")
                .then(|| lsb.get("codename").cloned())
                .flatten()
        })
        .or_else(|| {
            let c = os
                .get("codename")
                .cloned()
                .or_else(|| lsb.get("codename").cloned().filter(|c| !c.is_empty()))
                .unwrap_or_else(|| release_attr("codename"));
            (!c.is_empty()).then_some(c)
        });
    DistroGuess {
        id,
        version,
        best_version,
        codename,
    }
}

/// Python's `str.capitalize`.
fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// The distribution facts of a Linux host.
pub fn collect(s: &Sections, out: &mut Map) {
    let g = guess(s);
    let distribution = match capitalize(&g.id).as_str() {
        "Amzn" => "Amazon".to_string(),
        "Rhel" => "Redhat".to_string(),
        "" => "OtherLinux".to_string(),
        other => other.to_string(),
    };
    let version = match g.id.as_str() {
        "centos" => g
            .best_version
            .split('.')
            .take(2)
            .collect::<Vec<_>>()
            .join("."),
        "debian" => g.best_version.clone(),
        _ => g.version.clone(),
    };
    let version = if version.is_empty() {
        "NA".to_string()
    } else {
        version
    };
    let major = version
        .split('.')
        .next()
        .filter(|m| !m.is_empty())
        .unwrap_or("NA");
    let mut facts = Map::new();
    put(&mut facts, "distribution", &distribution);
    put(&mut facts, "distribution_version", &version);
    put(
        &mut facts,
        "distribution_release",
        g.codename.as_deref().unwrap_or("NA"),
    );
    put(&mut facts, "distribution_major_version", major);
    for (path, name, allow_empty) in DIST_FILES {
        let Some(content) = s.file(path) else {
            continue;
        };
        if *allow_empty {
            put(&mut facts, "distribution", name);
            put(&mut facts, "distribution_file_path", path);
            put(&mut facts, "distribution_file_variety", name);
            break;
        }
        if content.trim().is_empty() {
            continue;
        }
        let Some(parsed) = parse_dist_file(s, name, content, path, &facts) else {
            continue;
        };
        put(&mut facts, "distribution", name);
        put(&mut facts, "distribution_file_path", path);
        put(&mut facts, "distribution_file_variety", name);
        facts.insert("distribution_file_parsed".into(), Value::Bool(true));
        facts.extend(parsed);
        break;
    }
    let family = os_family(facts["distribution"].as_str().unwrap_or_default()).to_string();
    facts.insert("os_family".into(), Value::String(family));
    out.extend(facts);
}

fn put(m: &mut Map, k: &str, v: &str) {
    m.insert(k.to_string(), Value::String(v.to_string()));
}

/// One distribution file's parser (`parse_distribution_file_<name>`); `None` when
/// the file does not describe this distribution. Parsers srplay does not have yet
/// (Slackware, OpenWrt, Mandriva, ClearLinux, Coreos, Flatcar) say `None`.
fn parse_dist_file(s: &Sections, name: &str, data: &str, path: &str, seen: &Map) -> Option<Map> {
    // Ansible reads the file stripped of whitespace, then of quotes.
    let data = data.trim().trim_matches(['\'', '"', '\\']);
    let mut f = Map::new();
    let mut set = |k: &str, v: &str| {
        f.insert(k.to_string(), Value::String(v.to_string()));
    };
    let capture = |re: &str, text: &str| -> Option<String> {
        let re = Regex::new(re).expect("valid regex");
        Some(re.captures(text)?.get(1)?.as_str().to_string())
    };
    if let Some((_, search)) = SEARCH_STRING.iter().find(|(n, _)| *n == name) {
        if data.contains(search) {
            set("distribution", name);
            set("distribution_file_search_string", search);
        } else {
            set(
                "distribution",
                data.split_whitespace().next().unwrap_or_default(),
            );
        }
        return Some(f);
    }
    match name {
        "Archlinux" => data.contains("Arch Linux").then(|| {
            set("distribution", name);
        })?,
        "Amazon" => {
            if !data.contains("Amazon") {
                return None;
            }
            set("distribution", "Amazon");
            if path == "/etc/os-release" {
                if let Some(v) = capture(r#"VERSION_ID="(.*)""#, data) {
                    let parts: Vec<&str> = v.split('.').collect();
                    set("distribution_version", &v);
                    set("distribution_major_version", parts[0]);
                    set(
                        "distribution_minor_version",
                        parts.get(1).copied().unwrap_or("NA"),
                    );
                }
            } else {
                let v = data
                    .split_whitespace()
                    .find(|w| w.chars().all(|c| c.is_ascii_digit()));
                set("distribution_version", v.unwrap_or("NA"));
            }
        }
        "Alpine" => {
            set("distribution", "Alpine");
            set("distribution_version", data);
        }
        "SUSE" => {
            if !data.to_lowercase().contains("suse") || path != "/etc/os-release" {
                return None;
            }
            let lower = data.to_lowercase();
            for line in data.lines() {
                if let Some(n) = line.strip_prefix("NAME=") {
                    set("distribution", n.trim_matches('"'));
                }
                if let Some(v) = capture(r#"^VERSION_ID="?([0-9]+\.?[0-9]*)"?"#, line) {
                    set(
                        "distribution_major_version",
                        v.split('.').next().unwrap_or_default(),
                    );
                    set("distribution_version", &v);
                }
                let minor = capture(r#"^VERSION_ID="?[0-9]+\.?([0-9]*)"?"#, line);
                if lower.contains("open") {
                    if let Some(r) = minor {
                        set("distribution_release", &r);
                    }
                } else if lower.contains("enterprise") && line.contains("VERSION_ID") {
                    let r = minor
                        .filter(|r| !r.is_empty())
                        .unwrap_or_else(|| "0".into());
                    set("distribution_release", &r);
                }
            }
            match capture(r#"(?m)^VARIANT_ID="?([^"\n]*)"?"#, data).as_deref() {
                Some("server-sap" | "sles-sap") => set("distribution", "SLES_SAP"),
                Some("transactional") => set("distribution", "SL-Micro"),
                _ => {}
            }
        }
        "Debian" => return parse_debian(s, data, path),
        "CentOS" => {
            if data.contains("CentOS Stream") {
                set("distribution_release", "Stream");
            } else if data.contains("TencentOS Server") {
                set("distribution", "TencentOS");
            } else {
                return None;
            }
        }
        "NA" => {
            let version_unknown =
                seen.get("distribution_version").and_then(Value::as_str) == Some("NA");
            for line in data.lines() {
                if let Some(n) = line.strip_prefix("NAME=") {
                    set("distribution", n.trim_matches('"'));
                }
                if let Some(v) = line.strip_prefix("VERSION=").filter(|_| version_unknown) {
                    set("distribution_version", v.trim_matches('"'));
                }
            }
        }
        _ => return None,
    }
    Some(f)
}

fn parse_debian(s: &Sections, data: &str, path: &str) -> Option<Map> {
    let mut f = Map::new();
    let mut set = |k: &str, v: &str| {
        f.insert(k.to_string(), Value::String(v.to_string()));
    };
    let capture = |re: &str| -> Option<String> {
        let re = Regex::new(re).expect("valid regex");
        Some(re.captures(data)?.get(1)?.as_str().to_string())
    };
    // Distributions whose os-release gives the version and codename in the same keys.
    let from_version_keys = |set: &mut dyn FnMut(&str, &str), name: &str| {
        set("distribution", name);
        if let Some(r) = capture(r#"VERSION_CODENAME="?([^"]+)"?"#) {
            set("distribution_release", &r);
        }
        if let Some(v) = capture(r#"VERSION_ID="(.*)""#) {
            set("distribution_version", &v);
            set(
                "distribution_major_version",
                v.split('.').next().unwrap_or_default(),
            );
        }
    };
    if data.contains("Debian") || data.contains("Raspbian") {
        set("distribution", "Debian");
        if let Some(r) = capture(r"PRETTY_NAME=[^(]+ \(?([^)]+?)\)") {
            set("distribution_release", &r);
        }
        let minor = s.file("/etc/debian_version").and_then(|v| {
            let re = Regex::new(r"(\d+)\.(\d+)").expect("valid regex");
            v.lines()
                .rev()
                .find_map(|l| Some(re.captures(l.trim())?.get(2)?.as_str().to_string()))
        });
        if let Some(m) = minor {
            set("distribution_minor_version", &m);
        }
        // (Ansible asks dpkg about tzdata when there is no release at all; srplay
        // keeps "NA" there.)
    } else if data.contains("Ubuntu") {
        set("distribution", "Ubuntu");
    } else if data.contains("SteamOS") {
        set("distribution", "SteamOS");
    } else if (path == "/etc/lsb-release" || path == "/etc/os-release")
        && (data.contains("Kali") || data.contains("Parrot"))
    {
        set(
            "distribution",
            if data.contains("Kali") {
                "Kali"
            } else {
                "Parrot"
            },
        );
        if let Some(r) = capture("DISTRIB_RELEASE=(.*)") {
            set("distribution_release", &r);
        }
    } else if data.contains("Devuan") {
        set("distribution", "Devuan");
        if let Some(r) = capture(r#"PRETTY_NAME="?[^("]+ \(?([^) "]+)\)?"#) {
            set("distribution_release", &r);
        }
        if let Some(v) = capture(r#"VERSION_ID="(.*)""#) {
            set("distribution_version", &v);
            set("distribution_major_version", &v);
        }
    } else if data.contains("Cumulus") {
        set("distribution", "Cumulus Linux");
        if let Some(v) = capture("VERSION_ID=(.*)") {
            set(
                "distribution_major_version",
                v.split('.').next().unwrap_or_default(),
            );
            set("distribution_version", &v);
        }
        if let Some(r) = capture(r#"VERSION="(.*)""#) {
            set("distribution_release", &r);
        }
    } else if data.contains("Mint") {
        set("distribution", "Linux Mint");
        if let Some(v) = capture(r#"VERSION_ID="(.*)""#) {
            set("distribution_version", &v);
            set(
                "distribution_major_version",
                v.split('.').next().unwrap_or_default(),
            );
        }
    } else if data.contains("UOS") || data.contains("Uos") || data.contains("uos") {
        from_version_keys(&mut set, "Uos");
    } else if data.contains("Deepin") || data.contains("deepin") {
        from_version_keys(&mut set, "Deepin");
    } else if data.contains("LMDE") {
        set("distribution", "Linux Mint Debian Edition");
    } else {
        return None;
    }
    Some(f)
}

#[cfg(test)]
mod tests;
