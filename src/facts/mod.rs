//! Native fact gathering: one shell command on the host prints what Ansible's `setup`
//! would collect, and the controller parses it into Ansible's names and shapes.

use crate::connection::{Connection, ExecRequest};
use crate::value::{Map, Value};

/// The script run on the host: sections separated by markers, POSIX sh only.
const SCRIPT: &str = r#"
echo '@@hostname'; hostname 2>/dev/null || cat /proc/sys/kernel/hostname
echo '@@fqdn'; hostname -f 2>/dev/null || hostname
echo '@@uname'; uname -s; uname -r; uname -v; uname -m
echo '@@os-release'; cat /etc/os-release 2>/dev/null
echo '@@id'; id -u; id -g; id -un; id -gn 2>/dev/null
echo '@@home'; echo "$HOME"
echo '@@nproc'; nproc 2>/dev/null || echo 1
echo '@@meminfo'; cat /proc/meminfo 2>/dev/null | head -5
echo '@@date'; date '+%Y %m %d %H %M %S %s %Z %z %A %B %j %u'
echo '@@pkg'; for p in apt-get dnf yum zypper apk pacman; do command -v $p >/dev/null 2>&1 && { echo $p; break; }; done
echo '@@init'; cat /proc/1/comm 2>/dev/null
echo '@@env'; env
"#;

/// Gather facts on the host behind `conn`. Keys are without the `ansible_` prefix,
/// as in `ansible_facts`.
pub fn gather(conn: &mut dyn Connection) -> Result<Map, String> {
    let out = conn
        .exec(&ExecRequest::shell(SCRIPT))
        .map_err(|e| e.message)?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut sections: indexmap::IndexMap<&str, Vec<&str>> = indexmap::IndexMap::new();
    let mut current = "";
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("@@") {
            current = name;
            sections.entry(name).or_default();
        } else if !current.is_empty() {
            sections.entry(current).or_default().push(line);
        }
    }
    let first = |name: &str, i: usize| {
        sections
            .get(name)
            .and_then(|l| l.get(i))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let mut f = Map::new();
    let hostname = first("hostname", 0);
    let short = hostname.split('.').next().unwrap_or_default().to_string();
    f.insert("hostname".into(), Value::String(short.clone()));
    f.insert("nodename".into(), Value::String(hostname.clone()));
    f.insert("fqdn".into(), Value::String(first("fqdn", 0)));
    f.insert("system".into(), Value::String(first("uname", 0)));
    f.insert("kernel".into(), Value::String(first("uname", 1)));
    f.insert("kernel_version".into(), Value::String(first("uname", 2)));
    let machine = first("uname", 3);
    f.insert("machine".into(), Value::String(machine.clone()));
    f.insert("architecture".into(), Value::String(machine));
    let mut os = Map::new();
    for line in sections.get("os-release").into_iter().flatten() {
        if let Some((k, v)) = line.split_once('=') {
            os.insert(
                k.to_string(),
                Value::String(v.trim_matches('"').to_string()),
            );
        }
    }
    let os_get = |k: &str| {
        os.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let distribution = distribution_name(&os_get("ID"), &os_get("NAME"));
    let version = os_get("VERSION_ID");
    f.insert("distribution".into(), Value::String(distribution.clone()));
    f.insert(
        "distribution_version".into(),
        Value::String(version.clone()),
    );
    f.insert(
        "distribution_major_version".into(),
        Value::String(version.split('.').next().unwrap_or_default().to_string()),
    );
    f.insert(
        "distribution_release".into(),
        Value::String(os_get("VERSION_CODENAME")),
    );
    f.insert(
        "os_family".into(),
        Value::String(os_family(&distribution).to_string()),
    );
    f.insert("user_id".into(), Value::String(first("id", 2)));
    f.insert(
        "user_uid".into(),
        Value::from(first("id", 0).parse::<i64>().unwrap_or(-1)),
    );
    f.insert(
        "user_gid".into(),
        Value::from(first("id", 1).parse::<i64>().unwrap_or(-1)),
    );
    f.insert("user_dir".into(), Value::String(first("home", 0)));
    let cpus: i64 = first("nproc", 0).parse().unwrap_or(1);
    f.insert("processor_vcpus".into(), Value::from(cpus));
    f.insert("processor_count".into(), Value::from(cpus));
    for line in sections.get("meminfo").into_iter().flatten() {
        let mut parts = line.split_whitespace();
        let (Some(key), Some(kb)) = (
            parts.next(),
            parts.next().and_then(|v| v.parse::<i64>().ok()),
        ) else {
            continue;
        };
        match key {
            "MemTotal:" => drop(f.insert("memtotal_mb".into(), Value::from(kb / 1024))),
            "MemFree:" => drop(f.insert("memfree_mb".into(), Value::from(kb / 1024))),
            _ => {}
        }
    }
    let pkg = first("pkg", 0);
    let pkg_mgr = match pkg.as_str() {
        "apt-get" => "apt",
        "" => "unknown",
        other => other,
    };
    f.insert("pkg_mgr".into(), Value::String(pkg_mgr.to_string()));
    let init = first("init", 0);
    f.insert(
        "service_mgr".into(),
        Value::String(if init == "systemd" {
            "systemd".into()
        } else if init.is_empty() {
            "unknown".into()
        } else {
            init
        }),
    );
    let date: Vec<String> = first("date", 0)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if date.len() >= 12 {
        let mut dt = Map::new();
        for (k, i) in [
            ("year", 0),
            ("month", 1),
            ("day", 2),
            ("hour", 3),
            ("minute", 4),
            ("second", 5),
            ("epoch", 6),
            ("tz", 7),
            ("tz_offset", 8),
            ("weekday", 9),
            ("month_name", 10),
            ("julian_day", 11),
        ] {
            dt.insert(k.into(), Value::String(date[i].clone()));
        }
        dt.insert(
            "date".into(),
            Value::String(format!("{}-{}-{}", date[0], date[1], date[2])),
        );
        dt.insert(
            "time".into(),
            Value::String(format!("{}:{}:{}", date[3], date[4], date[5])),
        );
        f.insert("date_time".into(), Value::Object(dt));
    }
    let mut env = Map::new();
    for line in sections.get("env").into_iter().flatten() {
        if let Some((k, v)) = line.split_once('=') {
            env.insert(k.to_string(), Value::String(v.to_string()));
        }
    }
    f.insert("env".into(), Value::Object(env));
    Ok(f)
}

/// Ansible's distribution name from os-release `ID`.
fn distribution_name(id: &str, name: &str) -> String {
    match id {
        "debian" => "Debian".into(),
        "ubuntu" => "Ubuntu".into(),
        "centos" => "CentOS".into(),
        "rhel" => "RedHat".into(),
        "fedora" => "Fedora".into(),
        "rocky" => "Rocky".into(),
        "almalinux" => "AlmaLinux".into(),
        "ol" => "OracleLinux".into(),
        "opensuse-leap" | "opensuse" | "opensuse-tumbleweed" => "openSUSE Leap".into(),
        "sles" => "SLES".into(),
        "alpine" => "Alpine".into(),
        "arch" => "Archlinux".into(),
        "amzn" => "Amazon".into(),
        "kylin" => "Kylin Linux Advanced Server".into(),
        "" => "NA".into(),
        _ => name.split_whitespace().next().unwrap_or(id).to_string(),
    }
}

/// Ansible's `OS_FAMILY` table for the distributions above.
fn os_family(distribution: &str) -> &'static str {
    match distribution {
        "Debian" | "Ubuntu" | "Kali" | "Linux Mint" | "Raspbian" | "Devuan" => "Debian",
        "RedHat"
        | "CentOS"
        | "Fedora"
        | "Rocky"
        | "AlmaLinux"
        | "OracleLinux"
        | "Amazon"
        | "Kylin Linux Advanced Server" => "RedHat",
        "SLES" | "openSUSE Leap" => "Suse",
        "Alpine" => "Alpine",
        "Archlinux" => "Archlinux",
        _ => "NA",
    }
}
