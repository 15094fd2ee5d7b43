//! The small collectors of `facts/system/*.py`: platform, user, date_time, env, dns,
//! cmdline, lsb, pkg_mgr, service_mgr, selinux, apparmor, caps, fips, chroot,
//! loadavg and ssh_pub_keys. Each reads the sections of `gather.sh` it needs.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::sections::Sections;
use crate::value::{Map, Value};

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

pub fn platform(sec: &Sections, out: &mut Map) {
    let system = sec.line("uname", 0);
    let machine = sec.line("uname", 3);
    let node = sec.line("uname", 4);
    out.insert("system".into(), s(system));
    out.insert("kernel".into(), s(sec.line("uname", 1)));
    out.insert("kernel_version".into(), s(sec.line("uname", 2)));
    out.insert("machine".into(), s(machine));
    let fqdn = fqdn(sec.line("fqdn", 0), node);
    out.insert(
        "domain".into(),
        s(fqdn.split_once('.').map_or("", |(_, d)| d)),
    );
    out.insert("fqdn".into(), s(&fqdn));
    out.insert(
        "hostname".into(),
        s(node.split('.').next().unwrap_or_default()),
    );
    out.insert("nodename".into(), s(node));
    let bits = sec.line("bits", 0);
    out.insert("userspace_bits".into(), s(bits));
    out.insert("architecture".into(), s(machine));
    if machine == "x86_64" {
        match bits {
            "64" => drop(out.insert("userspace_architecture".into(), s("x86_64"))),
            "32" => drop(out.insert("userspace_architecture".into(), s("i386"))),
            _ => {}
        }
    }
    let machine_id = sec
        .file_value("/var/lib/dbus/machine-id")
        .or(sec.file_value("/etc/machine-id"));
    if let Some(id) = machine_id.and_then(|m| m.lines().next()) {
        out.insert("machine_id".into(), s(id));
    }
}

/// Python's `socket.getfqdn()` from `getent hosts ADDRESS` ("addr name aliases…"):
/// the first of the names holding a dot, else the canonical name.
fn fqdn(hosts_line: &str, node: &str) -> String {
    let names: Vec<&str> = hosts_line.split_whitespace().skip(1).collect();
    match names.first() {
        None => node.to_string(),
        Some(canonical) => names
            .iter()
            .find(|n| n.contains('.'))
            .unwrap_or(canonical)
            .to_string(),
    }
}

pub fn user(sec: &Sections, out: &mut Map) {
    let int = |i: usize| Value::from(sec.line("user", i).parse::<i64>().unwrap_or(-1));
    out.insert("user_id".into(), s(sec.line("user", 0)));
    let pw: Vec<&str> = sec.line("passwd", 0).split(':').collect();
    if pw.len() >= 7 {
        let num = |v: &str| Value::from(v.parse::<i64>().unwrap_or(-1));
        out.insert("user_uid".into(), num(pw[2]));
        out.insert("user_gid".into(), num(pw[3]));
        out.insert("user_gecos".into(), s(pw[4]));
        out.insert("user_dir".into(), s(pw[5]));
        out.insert("user_shell".into(), s(pw[6]));
    }
    out.insert("real_user_id".into(), int(1));
    out.insert("effective_user_id".into(), int(2));
    out.insert("real_group_id".into(), int(3));
    // Ansible reports getgid() here too.
    out.insert("effective_group_id".into(), int(3));
}

/// `date '+%Y|%m|%A|%w|%W|%d|%H|%M|%S|%s|%N|%Z|%z'` and the zone's names in
/// January and July.
pub fn date_time(sec: &Sections, out: &mut Map) {
    let f: Vec<&str> = sec.line("date", 0).split('|').collect();
    if f.len() < 13 {
        return;
    }
    let (year, month, weekday, wday_num, week, day, hour, minute, second) =
        (f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]);
    let epoch = f[9];
    // `%N` is GNU date's; elsewhere it comes back as text, and the microseconds as 0.
    let nanos = if f[10].bytes().all(|b| b.is_ascii_digit()) {
        f[10]
    } else {
        ""
    };
    let micros = format!("{:0<6}", nanos.get(..6).unwrap_or(nanos));
    let utc = epoch
        .parse::<i64>()
        .ok()
        .and_then(|e| DateTime::<Utc>::from_timestamp(e, 0));
    let mut dt = Map::new();
    for (k, v) in [
        ("year", year),
        ("month", month),
        ("weekday", weekday),
        ("weekday_number", wday_num),
        ("weeknumber", week),
        ("day", day),
        ("hour", hour),
        ("minute", minute),
        ("second", second),
        ("epoch", epoch),
        ("epoch_int", epoch),
    ] {
        dt.insert(k.into(), s(v));
    }
    dt.insert("date".into(), s(&format!("{year}-{month}-{day}")));
    dt.insert("time".into(), s(&format!("{hour}:{minute}:{second}")));
    if let Some(utc) = utc {
        dt.insert(
            "iso8601_micro".into(),
            s(&format!("{}.{micros}Z", utc.format("%Y-%m-%dT%H:%M:%S"))),
        );
        dt.insert(
            "iso8601".into(),
            s(&utc.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        );
    }
    dt.insert(
        "iso8601_basic".into(),
        s(&format!(
            "{year}{month}{day}T{hour}{minute}{second}{micros}"
        )),
    );
    dt.insert(
        "iso8601_basic_short".into(),
        s(&format!("{year}{month}{day}T{hour}{minute}{second}")),
    );
    dt.insert("tz".into(), s(f[11]));
    dt.insert("tz_dst".into(), s(&dst_name(sec, f[11])));
    dt.insert("tz_offset".into(), s(f[12]));
    out.insert("date_time".into(), Value::Object(dt));
}

/// Python's `time.tzname[1]`: the zone's daylight saving name, its standard name
/// when it has none.
fn dst_name(sec: &Sections, current: &str) -> String {
    let zones: Vec<(&str, i32)> = sec
        .lines("tznames")
        .filter_map(|l| {
            let (name, offset) = l.split_once('|')?;
            Some((name, offset.parse().ok()?))
        })
        .collect();
    match zones.as_slice() {
        [jan, jul] => (if jul.1 > jan.1 { jul.0 } else { jan.0 }).to_string(),
        _ => current.to_string(),
    }
}

/// The environment of the shell that ran the script (`/proc/$$/environ`).
pub fn env(sec: &Sections, out: &mut Map) {
    let mut env = Map::new();
    for entry in sec.get("env").unwrap_or_default().split('\0') {
        if let Some((k, v)) = entry.split_once('=') {
            env.insert(k.to_string(), s(v));
        }
    }
    out.insert("env".into(), Value::Object(env));
}

pub fn dns(sec: &Sections, out: &mut Map) {
    let mut dns = Map::new();
    for line in sec.file("/etc/resolv.conf").unwrap_or_default().lines() {
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let Some((first, rest)) = tokens.split_first() else {
            continue;
        };
        let list = |items: &[&str]| Value::Array(items.iter().map(|t| s(t)).collect());
        match *first {
            "nameserver" => {
                let entry = dns
                    .entry("nameservers")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(a) = entry {
                    a.extend(rest.iter().map(|t| s(t)));
                }
            }
            "domain" => {
                if let Some(d) = rest.first() {
                    dns.insert("domain".into(), s(d));
                }
            }
            "search" => drop(dns.insert("search".into(), list(rest))),
            "sortlist" => drop(dns.insert("sortlist".into(), list(rest))),
            "options" => {
                let mut options = Map::new();
                for o in rest {
                    match o.split_once(':') {
                        Some((k, v)) if !v.is_empty() => options.insert(k.into(), s(v)),
                        Some((k, _)) => options.insert(k.into(), Value::Bool(true)),
                        None => options.insert(o.to_string(), Value::Bool(true)),
                    };
                }
                dns.insert("options".into(), Value::Object(options));
            }
            _ => {}
        }
    }
    out.insert("dns".into(), Value::Object(dns));
}

/// `cmdline` (last value of a repeated key wins) and `proc_cmdline` (repeated keys
/// collect their values in a list).
pub fn cmdline(sec: &Sections, out: &mut Map) {
    let Some(data) = sec.file_value("/proc/cmdline") else {
        return;
    };
    let mut last = Map::new();
    let mut all = Map::new();
    // Python's shlex.split(posix=False) keeps quotes; kernel command lines rarely
    // quote, so words split on whitespace.
    for piece in data.split_whitespace() {
        match piece.split_once('=') {
            None => {
                last.insert(piece.into(), Value::Bool(true));
                all.insert(piece.into(), Value::Bool(true));
            }
            Some((k, v)) => {
                last.insert(k.into(), s(v));
                match all.get_mut(k) {
                    Some(Value::Array(items)) => items.push(s(v)),
                    Some(prev @ Value::String(_)) => *prev = json!([prev.clone(), v]),
                    _ => drop(all.insert(k.into(), s(v))),
                }
            }
        }
    }
    out.insert("cmdline".into(), Value::Object(last));
    out.insert("proc_cmdline".into(), Value::Object(all));
}

/// `lsb_release -a`, else /etc/lsb-release; `{}` when neither exists.
pub fn lsb(sec: &Sections, out: &mut Map) {
    let mut lsb = Map::new();
    let strip = |v: &str| v.trim().trim_matches(['\'', '"', '\\']).to_string();
    let from_bin = [
        ("LSB Version:", "release"),
        ("Distributor ID:", "id"),
        ("Description:", "description"),
        ("Release:", "release"),
        ("Codename:", "codename"),
    ];
    for line in sec.lines("lsb_release") {
        let Some((_, value)) = line.split_once(':') else {
            continue;
        };
        if let Some((_, key)) = from_bin.iter().find(|(label, _)| line.contains(label)) {
            lsb.insert(key.to_string(), s(&strip(value)));
        }
    }
    if lsb.is_empty() {
        let from_file = [
            ("DISTRIB_ID", "id"),
            ("DISTRIB_RELEASE", "release"),
            ("DISTRIB_DESCRIPTION", "description"),
            ("DISTRIB_CODENAME", "codename"),
        ];
        for line in sec.file("/etc/lsb-release").unwrap_or_default().lines() {
            let Some((_, value)) = line.split_once('=') else {
                continue;
            };
            if let Some((_, key)) = from_file.iter().find(|(name, _)| line.contains(name)) {
                lsb.insert(key.to_string(), s(&strip(value)));
            }
        }
    }
    if let Some(major) = lsb
        .get("release")
        .and_then(Value::as_str)
        .map(|r| r.split('.').next().unwrap_or_default().to_string())
    {
        lsb.insert("major_release".into(), s(&major));
    }
    out.insert("lsb".into(), Value::Object(lsb));
}

/// Ansible's `PKG_MGRS`: the last existing path wins, then the family decides.
const PKG_MGRS: &[(&str, &str)] = &[
    ("/usr/bin/rpm-ostree", "atomic_container"),
    ("/usr/bin/yum", "dnf"),
    ("/usr/bin/dnf-3", "dnf"),
    ("/usr/bin/dnf5", "dnf5"),
    ("/usr/bin/apt-get", "apt"),
    ("/usr/bin/zypper", "zypper"),
    ("/usr/sbin/urpmi", "urpmi"),
    ("/usr/bin/pacman", "pacman"),
    ("/bin/opkg", "opkg"),
    ("/sbin/apk", "apk"),
    ("/usr/bin/emerge", "portage"),
    ("/usr/bin/xbps-install", "xbps"),
    ("/usr/bin/swupd", "swupd"),
];

pub fn pkg_mgr(sec: &Sections, os_family: &str, out: &mut Map) {
    let exists = |p: &str| sec.exists("exists", p);
    let mut name = PKG_MGRS
        .iter()
        .rev()
        .find(|(p, _)| exists(p))
        .map_or("unknown", |(_, n)| *n)
        .to_string();
    if os_family == "RedHat" {
        name = if exists("/run/ostree-booted") {
            "atomic_container".into()
        } else {
            ["/usr/bin/dnf", "/usr/bin/microdnf"]
                .iter()
                .find(|p| exists(p))
                .map_or("unknown".into(), |p| {
                    let target = sec
                        .lines("links")
                        .find_map(|l| l.strip_prefix(&format!("{p} ")));
                    if target == Some("/usr/bin/dnf5") {
                        "dnf5".into()
                    } else {
                        "dnf".into()
                    }
                })
        };
    } else if os_family == "Debian" {
        name = "apt".into();
    } else if os_family == "Altlinux" && name == "apt" {
        name = "apt_rpm".into();
    }
    // (Ansible turns apt into apt_rpm when rpm owns apt-get; srplay does not ask rpm.)
    out.insert("pkg_mgr".into(), s(&name));
}

pub fn service_mgr(sec: &Sections, out: &mut Map) {
    let exists = |p: &str| sec.exists("exists", p);
    let comm = sec
        .file_value("/proc/1/comm")
        .filter(|c| *c != "init" && !c.ends_with("sh"));
    let name = match comm {
        Some("procd") => "openwrt_init".to_string(),
        Some("runit-init") => "runit".to_string(),
        Some("svscan") => "svc".to_string(),
        Some("openrc-init") => "openrc".to_string(),
        Some(other) => other.to_string(),
        None if sec.line("uname", 0) != "Linux" => "service".to_string(),
        None => {
            let systemd = ["/run/systemd/system", "/dev/.run/systemd", "/dev/.systemd"]
                .iter()
                .any(|p| exists(p));
            let init_link_is_systemd = sec
                .lines("links")
                .filter_map(|l| l.strip_prefix("/sbin/init "))
                .any(|t| t.rsplit('/').next() == Some("systemd"));
            if systemd {
                "systemd".into()
            } else if exists("initctl") && exists("/etc/init") {
                "upstart".into()
            } else if exists("/sbin/openrc") {
                "openrc".into()
            } else if init_link_is_systemd {
                "systemd".into()
            } else if exists("/etc/init.d") {
                "sysvinit".into()
            } else if exists("/etc/dinit.d") {
                "dinit".into()
            } else {
                "service".into()
            }
        }
    };
    out.insert("service_mgr".into(), s(&name));
}

/// SELinux from /sys/fs/selinux and /etc/selinux/config, as libselinux reports it.
/// `selinux_python_present` is left out: srplay needs no Python library for this.
pub fn selinux(sec: &Sections, out: &mut Map) {
    let mut se = Map::new();
    if !sec.exists("exists", "/sys/fs/selinux") || sec.file("/sys/fs/selinux/enforce").is_none() {
        se.insert("status".into(), s("disabled"));
    } else {
        se.insert("status".into(), s("enabled"));
        let policyvers = sec
            .file_value("/sys/fs/selinux/policyvers")
            .and_then(|v| v.parse::<i64>().ok());
        se.insert(
            "policyvers".into(),
            policyvers.map_or_else(|| s("unknown"), Value::from),
        );
        let config = sec.file("/etc/selinux/config").unwrap_or_default();
        let setting = |key: &str| {
            config
                .lines()
                .find_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
                .map(|v| v.trim().trim_matches('"').to_string())
        };
        let config_mode = match setting("SELINUX").as_deref() {
            Some(m @ ("enforcing" | "permissive" | "disabled")) => m.to_string(),
            _ => "unknown".to_string(),
        };
        se.insert("config_mode".into(), s(&config_mode));
        let mode = match sec.file_value("/sys/fs/selinux/enforce") {
            Some("1") => "enforcing",
            Some("0") => "permissive",
            _ => "unknown",
        };
        se.insert("mode".into(), s(mode));
        se.insert(
            "type".into(),
            s(&setting("SELINUXTYPE").unwrap_or_else(|| "unknown".into())),
        );
    }
    out.insert("selinux".into(), Value::Object(se));
}

pub fn apparmor(sec: &Sections, out: &mut Map) {
    let status = if sec.exists("exists", "/sys/kernel/security/apparmor") {
        "enabled"
    } else {
        "disabled"
    };
    out.insert("apparmor".into(), json!({ "status": status }));
}

/// `capsh --print`'s `Current:` line.
pub fn caps(sec: &Sections, out: &mut Map) {
    let (mut enforced, mut caps) = (s("N/A"), s("N/A"));
    if sec.get("capsh").is_some_and(|t| !t.is_empty()) {
        enforced = s("NA");
        caps = Value::Array(Vec::new());
        for line in sec.lines("capsh") {
            if let Some(rest) = line.strip_prefix("Current:") {
                if rest.trim() == "=ep" {
                    enforced = s("False");
                } else {
                    enforced = s("True");
                    let list = line.split('=').nth(1).unwrap_or_default();
                    caps = Value::Array(list.split(',').map(|c| s(c.trim())).collect());
                }
            }
        }
    }
    out.insert("system_capabilities_enforced".into(), enforced);
    out.insert("system_capabilities".into(), caps);
}

pub fn fips(sec: &Sections, out: &mut Map) {
    let on = sec.file_value("/proc/sys/crypto/fips_enabled") == Some("1");
    out.insert("fips".into(), Value::Bool(on));
}

/// `is_chroot`: `debian_chroot` set, or / differing from pid 1's root; when pid 1's
/// root cannot be read, / not being its file system's root inode.
pub fn chroot(sec: &Sections, out: &mut Map) {
    let mine = sec.line("chroot", 1);
    let init = sec.line("chroot", 2);
    let value = if !sec.line("chroot", 0).is_empty() {
        true
    } else if !init.is_empty() {
        mine != init
    } else {
        let root_inode = match sec.line("chroot", 3) {
            t if t.contains("btrfs") => "256",
            t if t.contains("xfs") => "128",
            _ => "2",
        };
        mine.split_whitespace().nth(1) != Some(root_inode)
    };
    out.insert("is_chroot".into(), Value::Bool(value));
}

pub fn loadavg(sec: &Sections, out: &mut Map) {
    let Some(text) = sec.file_value("/proc/loadavg") else {
        return;
    };
    let mut load = Map::new();
    for (key, v) in ["1m", "5m", "15m"].iter().zip(text.split_whitespace()) {
        if let Ok(n) = v.parse::<f64>() {
            load.insert(key.to_string(), json!(n));
        }
    }
    out.insert("loadavg".into(), Value::Object(load));
}

/// `ssh_host_key_<algo>_public` and `_keytype` from the host's public keys.
pub fn ssh_pub_keys(sec: &Sections, out: &mut Map) {
    for (path, text) in sec.with_prefix("file ") {
        let Some(algo) = path
            .rsplit('/')
            .next()
            .and_then(|n| n.strip_prefix("ssh_host_")?.strip_suffix("_key.pub"))
        else {
            continue;
        };
        let mut words = text.split_whitespace();
        if let (Some(keytype), Some(key)) = (words.next(), words.next()) {
            out.insert(format!("ssh_host_key_{algo}_public"), s(key));
            out.insert(format!("ssh_host_key_{algo}_public_keytype"), s(keytype));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fqdn_prefers_a_dotted_name() {
        assert_eq!(fqdn("127.0.0.1 localhost vm", "vm"), "localhost");
        assert_eq!(
            fqdn("10.0.0.5 web1 web1.example.com", "web1"),
            "web1.example.com"
        );
        assert_eq!(fqdn("", "vm"), "vm");
    }

    #[test]
    fn repeated_kernel_arguments_are_listed_in_proc_cmdline() {
        let sec = Sections::parse("\n@@file /proc/cmdline\nro console=tty0 console=ttyS0 quiet\n");
        let mut out = Map::new();
        cmdline(&sec, &mut out);
        assert_eq!(out["cmdline"]["console"], json!("ttyS0"));
        assert_eq!(out["proc_cmdline"]["console"], json!(["tty0", "ttyS0"]));
        assert_eq!(out["proc_cmdline"]["ro"], json!(true));
    }

    #[test]
    fn resolv_conf() {
        let sec = Sections::parse(
            "\n@@file /etc/resolv.conf\n# x\nnameserver 1.1.1.1\nnameserver 8.8.8.8\nsearch a.example b.example\noptions ndots:2 rotate\n",
        );
        let mut out = Map::new();
        dns(&sec, &mut out);
        assert_eq!(
            out["dns"],
            json!({"nameservers": ["1.1.1.1", "8.8.8.8"], "search": ["a.example", "b.example"],
                   "options": {"ndots": "2", "rotate": true}})
        );
    }

    #[test]
    fn date_time_keys_from_one_date_call() {
        let sec = Sections::parse(
            "\n@@date\n2026|11|Monday|1|47|23|06|33|53|1795415633|923074123|UTC|+0000\n@@tznames\nUTC|+0000\nUTC|+0000\n",
        );
        let mut out = Map::new();
        date_time(&sec, &mut out);
        let dt = &out["date_time"];
        assert_eq!(dt["iso8601_micro"], json!("2026-11-23T06:33:53.923074Z"));
        assert_eq!(dt["iso8601_basic"], json!("20261123T063353923074"));
        assert_eq!(dt["date"], json!("2026-11-23"));
        assert_eq!(dt["tz_dst"], json!("UTC"));
        assert_eq!(dt["epoch_int"], json!("1795415633"));
    }
}
