//! The `hardware` collector on Linux (`facts/hardware/linux.py`): processors, memory,
//! mounts, uptime and DMI. Block devices (`devices`, `device_links`) and LVM are not
//! gathered.

use std::collections::HashMap;

use serde_json::json;

use super::sections::Sections;
use crate::value::{Map, Value};

pub fn collect(sec: &Sections, architecture: &str, out: &mut Map) {
    if let Some(cpuinfo) = sec.file("/proc/cpuinfo") {
        let xen = sec.exists("exists", "/proc/xen")
            || sec.file_value("/sys/hypervisor/type") == Some("xen");
        out.extend(cpu_facts(cpuinfo, architecture, xen));
        if let Ok(n) = sec.line("nproc", 0).parse::<i64>() {
            out.insert("processor_nproc".into(), Value::from(n));
        }
    }
    if let Some(meminfo) = sec.file("/proc/meminfo") {
        out.extend(memory_facts(meminfo));
    }
    let uptime = sec
        .file_value("/proc/uptime")
        .and_then(|up| up.split(' ').next()?.parse::<f64>().ok());
    if let Some(secs) = uptime {
        out.insert("uptime_seconds".into(), Value::from(secs as i64));
    }
    dmi(sec, out);
    out.insert(
        "mounts".into(),
        Value::Array(mounts(
            sec.get("mtab").unwrap_or_default(),
            sec.get("statvfs").unwrap_or_default(),
            sec.get("lsblk").unwrap_or_default(),
        )),
    );
}

/// `/proc/cpuinfo` as Ansible counts it.
pub fn cpu_facts(cpuinfo: &str, architecture: &str, xen: bool) -> Map {
    let mut f = Map::new();
    let mut processor = Vec::new();
    let (mut i, mut vendor_ids, mut model_names, mut processors) = (0i64, 0, 0, 0i64);
    let (mut zp, mut zmt) = (0i64, 0i64);
    let mut xen_paravirt = false;
    // Insertion-ordered like Python dicts: the first socket and core count.
    let mut sockets: Vec<(String, i64)> = Vec::new();
    let mut cores: Vec<(String, i64)> = Vec::new();
    let (mut physid, mut coreid) = (String::from("0"), String::from("0"));
    let set = |list: &mut Vec<(String, i64)>, key: &str, v: i64, only_new: bool| match list
        .iter_mut()
        .find(|(k, _)| k == key)
    {
        Some(entry) if !only_new => entry.1 = v,
        Some(_) => {}
        None => list.push((key.to_string(), v)),
    };
    for line in cpuinfo.lines() {
        let (key, val) = match line.split_once(':') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (line.trim(), ""),
        };
        if key == "flags" {
            if xen && !val.split_whitespace().any(|w| w == "vme") {
                xen_paravirt = true;
            }
            f.insert(
                "flags".into(),
                Value::Array(val.split_whitespace().map(|w| json!(w)).collect()),
            );
        }
        match key {
            "model name" | "Processor" | "vendor_id" | "cpu" | "Vendor" | "processor" => {
                processor.push(json!(val));
                match key {
                    "vendor_id" => vendor_ids += 1,
                    "model name" => model_names += 1,
                    "processor" => processors += 1,
                    _ => {}
                }
                i += 1;
            }
            "physical id" => {
                physid = val.to_string();
                set(&mut sockets, &physid, 1, true);
            }
            "core id" => {
                coreid = val.to_string();
                // Ansible checks the sockets map here, so a core id equal to a
                // physical id seen before is not added.
                if !sockets.iter().any(|(k, _)| *k == coreid) {
                    set(&mut cores, &coreid, 1, false);
                }
            }
            "cpu cores" => set(&mut sockets, &physid, val.parse().unwrap_or(0), false),
            "siblings" => set(&mut cores, &coreid, val.parse().unwrap_or(0), false),
            "# processors" => zp = val.parse().unwrap_or(0),
            "max thread id" => zmt = val.parse::<i64>().unwrap_or(0) + 1,
            "ncpus active" => i = val.parse().unwrap_or(i),
            _ => {}
        }
    }
    if vendor_ids > 0 && vendor_ids == model_names {
        i = vendor_ids;
    }
    if ["armv", "aarch", "ppc"]
        .iter()
        .any(|p| architecture.starts_with(p))
    {
        i = processors;
    }
    f.insert("processor".into(), Value::Array(processor));
    let mut put = |k: &str, v: i64| {
        f.insert(k.to_string(), Value::from(v));
    };
    if architecture == "s390x" {
        put("processor_count", 1);
        if zmt > 0 {
            put(
                "processor_cores",
                (zp as f64 / zmt as f64).round_ties_even() as i64,
            );
        }
        put("processor_threads_per_core", zmt);
        put("processor_vcpus", zp);
        put("processor_nproc", zp);
    } else if xen_paravirt {
        for k in [
            "processor_count",
            "processor_cores",
            "processor_vcpus",
            "processor_nproc",
        ] {
            put(k, i);
        }
        put("processor_threads_per_core", 1);
    } else {
        let count = if sockets.is_empty() {
            i
        } else {
            sockets.len() as i64
        };
        let cores_per_socket = sockets
            .first()
            .map(|s| s.1)
            .filter(|c| *c != 0)
            .unwrap_or(1);
        let threads = cores.first().map_or(1, |c| c.1) as f64 / cores_per_socket as f64;
        let threads = threads.round_ties_even() as i64;
        put("processor_count", count);
        put("processor_cores", cores_per_socket);
        put("processor_threads_per_core", threads);
        put("processor_vcpus", threads * count * cores_per_socket);
        put("processor_nproc", processors);
    }
    f
}

/// `/proc/meminfo` in MB (integer division), with Ansible's `memory_mb` summary.
pub fn memory_facts(meminfo: &str) -> Map {
    let mut mb: HashMap<&str, i64> = HashMap::new();
    let mut f = Map::new();
    for line in meminfo.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let Some(kb) = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<i64>().ok())
        else {
            continue;
        };
        if let Some(name) = match key {
            "MemTotal" => Some("memtotal_mb"),
            "MemFree" => Some("memfree_mb"),
            "SwapTotal" => Some("swaptotal_mb"),
            "SwapFree" => Some("swapfree_mb"),
            _ => None,
        } {
            f.insert(name.into(), Value::from(kb / 1024));
        }
        if matches!(
            key,
            "MemTotal" | "MemFree" | "SwapTotal" | "SwapFree" | "Buffers" | "Cached" | "SwapCached"
        ) {
            mb.insert(key, kb / 1024);
        }
    }
    let get = |k: &str| mb.get(k).copied();
    let sub = |a: Option<i64>, b: Option<i64>| Some(a? - b?);
    let nocache_free = (|| Some(get("Cached")? + get("MemFree")? + get("Buffers")?))();
    let v = |o: Option<i64>| o.map_or(Value::Null, Value::from);
    f.insert(
        "memory_mb".into(),
        json!({
            "real": {"total": v(get("MemTotal")), "used": v(sub(get("MemTotal"), get("MemFree"))),
                     "free": v(get("MemFree"))},
            "nocache": {"free": v(nocache_free), "used": v(sub(get("MemTotal"), nocache_free))},
            "swap": {"total": v(get("SwapTotal")), "free": v(get("SwapFree")),
                     "used": v(sub(get("SwapTotal"), get("SwapFree"))), "cached": v(get("SwapCached"))},
        }),
    );
    f
}

/// SMBIOS chassis types, by number (Ansible's `FORM_FACTOR`).
const FORM_FACTOR: &[&str] = &[
    "Unknown",
    "Other",
    "Unknown",
    "Desktop",
    "Low Profile Desktop",
    "Pizza Box",
    "Mini Tower",
    "Tower",
    "Portable",
    "Laptop",
    "Notebook",
    "Hand Held",
    "Docking Station",
    "All In One",
    "Sub Notebook",
    "Space-saving",
    "Lunch Box",
    "Main Server Chassis",
    "Expansion Chassis",
    "Sub Chassis",
    "Bus Expansion Chassis",
    "Peripheral Chassis",
    "RAID Chassis",
    "Rack Mount Chassis",
    "Sealed-case PC",
    "Multi-system",
    "CompactPCI",
    "AdvancedTCA",
    "Blade",
    "Blade Enclosure",
    "Tablet",
    "Convertible",
    "Detachable",
    "IoT Gateway",
    "Embedded PC",
    "Mini PC",
    "Stick PC",
];

/// (fact, file under /sys/devices/virtual/dmi/id).
const DMI: &[(&str, &str)] = &[
    ("bios_date", "bios_date"),
    ("bios_vendor", "bios_vendor"),
    ("bios_version", "bios_version"),
    ("board_asset_tag", "board_asset_tag"),
    ("board_name", "board_name"),
    ("board_serial", "board_serial"),
    ("board_vendor", "board_vendor"),
    ("board_version", "board_version"),
    ("chassis_asset_tag", "chassis_asset_tag"),
    ("chassis_serial", "chassis_serial"),
    ("chassis_vendor", "chassis_vendor"),
    ("chassis_version", "chassis_version"),
    ("form_factor", "chassis_type"),
    ("product_name", "product_name"),
    ("product_serial", "product_serial"),
    ("product_uuid", "product_uuid"),
    ("product_version", "product_version"),
    ("system_vendor", "sys_vendor"),
];

/// DMI from sysfs; "NA" for what cannot be read. (Ansible falls back to dmidecode
/// without sysfs; srplay reports "NA" then.)
fn dmi(sec: &Sections, out: &mut Map) {
    for (fact, file) in DMI {
        let value = sec.get(&format!("dmi {file}")).map(str::trim);
        let value = match (*fact, value) {
            (_, None) => "NA".to_string(),
            ("form_factor", Some(n)) => {
                match n.parse::<usize>().ok().and_then(|i| FORM_FACTOR.get(i)) {
                    Some(name) => name.to_string(),
                    None => format!("unknown ({n})"),
                }
            }
            (_, Some(v)) => v.to_string(),
        };
        out.insert(fact.to_string(), Value::String(value));
    }
}

/// Mount points with their statvfs numbers (`stat -f` lines: escaped mount point,
/// fragment size, block size, blocks, available, free, inodes, free inodes) and
/// lsblk's UUIDs. One entry per mount point, the last mtab line winning.
pub fn mounts(mtab: &str, statvfs: &str, lsblk: &str) -> Vec<Value> {
    let uuids: HashMap<&str, &str> = lsblk
        .lines()
        .filter_map(|l| {
            let mut parts = l.trim().rsplitn(2, char::is_whitespace);
            let uuid = parts.next()?;
            let name = parts.next()?.trim();
            Some((name, uuid))
        })
        .collect();
    let sizes: HashMap<&str, Vec<i64>> = statvfs
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let mount = words.next()?;
            let nums: Vec<i64> = words.filter_map(|w| w.parse().ok()).collect();
            (nums.len() == 7).then_some((mount, nums))
        })
        .collect();
    let mut by_mount: indexmap::IndexMap<String, Value> = indexmap::IndexMap::new();
    for line in mtab.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 6 {
            continue;
        }
        let (device, fstype) = (unescape(fields[0]), fields[2]);
        let remote = device.contains(":/");
        if (!device.starts_with('/') && !device.starts_with('\\') && !remote) || fstype == "none" {
            continue;
        }
        let mount = unescape(fields[1]);
        let mut m = Map::new();
        m.insert("mount".into(), json!(mount));
        m.insert("device".into(), json!(device));
        m.insert("fstype".into(), json!(fstype));
        m.insert("options".into(), json!(unescape(fields[3])));
        m.insert("dump".into(), json!(fields[4].parse::<i64>().unwrap_or(0)));
        m.insert(
            "passno".into(),
            json!(fields[5].parse::<i64>().unwrap_or(0)),
        );
        if let Some(n) = sizes.get(fields[1]) {
            let (frsize, bsize, blocks, bavail, _bfree, files, ffree) =
                (n[0], n[1], n[2], n[3], n[4], n[5], n[6]);
            m.insert("size_total".into(), json!(frsize * blocks));
            m.insert("size_available".into(), json!(frsize * bavail));
            m.insert("block_size".into(), json!(bsize));
            m.insert("block_total".into(), json!(blocks));
            m.insert("block_available".into(), json!(bavail));
            m.insert("block_used".into(), json!(blocks - bavail));
            m.insert("inode_total".into(), json!(files));
            m.insert("inode_available".into(), json!(ffree));
            m.insert("inode_used".into(), json!(files - ffree));
        }
        let uuid = uuids.get(device.as_str()).copied().unwrap_or("N/A");
        m.insert("uuid".into(), json!(uuid));
        by_mount.insert(mount, Value::Object(m));
    }
    by_mount.into_values().collect()
}

/// mtab's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPYC_2VCPU: &str = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel name\t: AMD EPYC\nphysical id\t: 0\nsiblings\t: 2\ncore id\t: 0\ncpu cores\t: 2\nflags\t\t: fpu vme de\n\nprocessor\t: 1\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nphysical id\t: 0\nsiblings\t: 2\ncore id\t: 1\ncpu cores\t: 2\nflags\t\t: fpu vme de\n";

    #[test]
    fn cpuinfo_of_one_socket_with_two_cores() {
        let f = cpu_facts(EPYC_2VCPU, "x86_64", false);
        assert_eq!(
            f["processor"],
            json!([
                "0",
                "AuthenticAMD",
                "AMD EPYC",
                "1",
                "AuthenticAMD",
                "AMD EPYC"
            ])
        );
        assert_eq!(f["processor_count"], json!(1));
        assert_eq!(f["processor_cores"], json!(2));
        assert_eq!(f["processor_threads_per_core"], json!(1));
        assert_eq!(f["processor_vcpus"], json!(2));
        assert_eq!(f["flags"], json!(["fpu", "vme", "de"]));
    }

    #[test]
    fn cpuinfo_of_an_arm_host_counts_processor_lines() {
        let arm = "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n\nprocessor\t: 1\nBogoMIPS\t: 50.00\n";
        let f = cpu_facts(arm, "aarch64", false);
        assert_eq!(f["processor"], json!(["0", "1"]));
        assert_eq!(f["processor_count"], json!(2));
        assert_eq!(f["processor_cores"], json!(1));
        assert_eq!(f["processor_vcpus"], json!(2));
    }

    #[test]
    fn meminfo_in_megabytes() {
        let m = "MemTotal:       24683940 kB\nMemFree:        11623636 kB\nMemAvailable:   23000000 kB\nBuffers:          100000 kB\nCached:         11000000 kB\nSwapCached:            0 kB\nSwapTotal:       2097148 kB\nSwapFree:        2097148 kB\n";
        let f = memory_facts(m);
        assert_eq!(f["memtotal_mb"], json!(24105));
        assert_eq!(f["memfree_mb"], json!(11351));
        assert_eq!(f["swaptotal_mb"], json!(2047));
        assert_eq!(
            f["memory_mb"]["real"],
            json!({"total": 24105, "used": 12754, "free": 11351})
        );
        assert_eq!(
            f["memory_mb"]["nocache"],
            json!({"free": 22190, "used": 1915})
        );
        assert_eq!(
            f["memory_mb"]["swap"],
            json!({"total": 2047, "free": 2047, "used": 0, "cached": 0})
        );
    }

    #[test]
    fn mounts_skip_pseudo_filesystems_and_unescape_paths() {
        let mtab = "proc /proc proc rw 0 0\n/dev/vda / ext4 rw,relatime 0 0\n/dev/vdb1 /srv/my\\040data xfs rw 0 2\nhost:/export /mnt/nfs nfs rw 0 0\n";
        let statvfs = "/ 4096 4096 1000 400 500 100 60\n/srv/my\\040data 512 4096 10 5 5 10 9\n";
        let lsblk = "/dev/vda\n/dev/vdb1 1234-abcd\n";
        let m = mounts(mtab, statvfs, lsblk);
        assert_eq!(m.len(), 3);
        assert_eq!(m[0]["mount"], json!("/"));
        assert_eq!(m[0]["size_total"], json!(4096000));
        assert_eq!(m[0]["block_used"], json!(600));
        assert_eq!(m[0]["inode_used"], json!(40));
        assert_eq!(m[0]["uuid"], json!("N/A"));
        assert_eq!(m[1]["mount"], json!("/srv/my data"));
        assert_eq!(m[1]["uuid"], json!("1234-abcd"));
        assert_eq!(m[1]["passno"], json!(2));
        assert_eq!(m[2]["device"], json!("host:/export"));
        assert!(m[2].get("size_total").is_none());
    }
}
