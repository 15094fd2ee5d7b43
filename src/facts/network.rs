//! The `network` collector on Linux (`facts/network/linux.py`): interfaces from
//! /sys/class/net, their addresses from `ip addr show`, the default routes from
//! `ip route get`. Without `ip` there are no network facts, as in Ansible.
//! (ethtool features and timestamping are not gathered.)

use std::collections::HashMap;
use std::net::Ipv4Addr;

use serde_json::json;

use super::sections::Sections;
use crate::value::{Map, Value};

/// sysfs `type` numbers Ansible names.
const INTERFACE_TYPE: &[(&str, &str)] = &[
    ("1", "ether"),
    ("32", "infiniband"),
    ("512", "ppp"),
    ("772", "loopback"),
    ("65534", "tunnel"),
];

pub fn collect(sec: &Sections, out: &mut Map) {
    if sec.get("route4").is_none() {
        return;
    }
    let mut default_v4 = default_route(sec.get("route4").unwrap_or_default(), "8.8.8.8");
    let mut default_v6 = default_route(
        sec.get("route6").unwrap_or_default(),
        "2404:6800:400a:800::1012",
    );
    let mut interfaces: indexmap::IndexMap<String, Map> = indexmap::IndexMap::new();
    for (name, text) in sec.with_prefix("iface ") {
        interfaces.insert(name.to_string(), sysfs_interface(name, text));
    }
    let primary = by_device(sec.get("addr_primary").unwrap_or_default());
    let secondary = by_device(sec.get("addr_secondary").unwrap_or_default());
    let mut ips = Addresses::default();
    let devices: Vec<String> = interfaces.keys().cloned().collect();
    for device in &devices {
        let mut ctx = Parse {
            device,
            interfaces: &mut interfaces,
            default_v4: &mut default_v4,
            default_v6: &mut default_v6,
            ips: &mut ips,
        };
        for line in primary.get(device.as_str()).into_iter().flatten() {
            ctx.line(line, false);
        }
        for line in secondary.get(device.as_str()).into_iter().flatten() {
            ctx.line(line, true);
        }
    }
    out.insert(
        "interfaces".into(),
        json!(
            interfaces
                .keys()
                .map(|k| k.replace(':', "_"))
                .collect::<Vec<_>>()
        ),
    );
    for (name, iface) in interfaces {
        out.insert(name.replace(':', "_"), Value::Object(iface));
    }
    out.insert("default_ipv4".into(), Value::Object(default_v4));
    out.insert("default_ipv6".into(), Value::Object(default_v6));
    out.insert("all_ipv4_addresses".into(), json!(ips.v4));
    out.insert("all_ipv6_addresses".into(), json!(ips.v6));
    out.insert(
        "locally_reachable_ips".into(),
        locally_reachable(
            sec.get("local4").unwrap_or_default(),
            sec.get("local6").unwrap_or_default(),
        ),
    );
}

/// `ip route get TARGET`: the interface, source address and gateway.
pub fn default_route(output: &str, target: &str) -> Map {
    let mut m = Map::new();
    let words: Vec<&str> = output
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    if words.first() != Some(&target) {
        return m;
    }
    for pair in words.windows(2) {
        match pair[0] {
            "dev" => drop(m.insert("interface".into(), json!(pair[1]))),
            "src" => drop(m.insert("address".into(), json!(pair[1]))),
            "via" if pair[1] != target => drop(m.insert("gateway".into(), json!(pair[1]))),
            _ => {}
        }
    }
    m
}

/// One /sys/class/net/NAME as `key=value` lines.
fn sysfs_interface(device: &str, text: &str) -> Map {
    let kv: HashMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let mut m = Map::new();
    m.insert("device".into(), json!(device));
    if let Some(mac) = kv
        .get("address")
        .filter(|m| !m.is_empty() && **m != "00:00:00:00:00:00")
    {
        m.insert("macaddress".into(), json!(mac));
    }
    if let Some(mtu) = kv.get("mtu").and_then(|v| v.parse::<i64>().ok()) {
        m.insert("mtu".into(), json!(mtu));
    }
    if let Some(state) = kv.get("operstate") {
        m.insert("active".into(), json!(*state != "down"));
    }
    if let Some(module) = kv.get("module") {
        m.insert("module".into(), json!(module));
    }
    if let Some(t) = kv.get("type") {
        let name = INTERFACE_TYPE
            .iter()
            .find(|(n, _)| n == t)
            .map_or("unknown", |(_, name)| *name);
        m.insert("type".into(), json!(name));
    }
    if let Some(ports) = kv.get("bridge") {
        m.insert("type".into(), json!("bridge"));
        m.insert(
            "interfaces".into(),
            json!(ports.split_whitespace().collect::<Vec<_>>()),
        );
        if let Some(id) = kv.get("bridge/bridge_id") {
            m.insert("id".into(), json!(id));
        }
        if let Some(stp) = kv.get("bridge/stp_state") {
            m.insert("stp".into(), json!(*stp == "1"));
        }
    }
    if kv.contains_key("bonding") {
        let first = |k: &str| {
            kv.get(k)
                .and_then(|v| v.split_whitespace().next())
                .unwrap_or_default()
        };
        m.insert("type".into(), json!("bonding"));
        let slaves = kv.get("bonding/slaves").copied().unwrap_or_default();
        m.insert(
            "slaves".into(),
            json!(slaves.split_whitespace().collect::<Vec<_>>()),
        );
        m.insert("mode".into(), json!(first("bonding/mode")));
        m.insert("miimon".into(), json!(first("bonding/miimon")));
        m.insert("lacp_rate".into(), json!(first("bonding/lacp_rate")));
        if let Some(primary) = kv.get("bonding/primary").filter(|p| !p.is_empty()) {
            m.insert("primary".into(), json!(primary));
            if let Some(all) = kv.get("bonding/all_slaves_active") {
                m.insert("all_slaves_active".into(), json!(*all == "1"));
            }
        }
    }
    if let Some(perm) = kv.get("bonding_slave/perm_hwaddr") {
        m.insert("perm_macaddress".into(), json!(perm));
    }
    if let Some(pciid) = kv.get("pciid") {
        m.insert("pciid".into(), json!(pciid));
    }
    if let Some(speed) = kv.get("speed").and_then(|v| v.parse::<i64>().ok()) {
        m.insert("speed".into(), json!(speed));
    }
    if let Some(flags) = kv
        .get("flags")
        .and_then(|f| i64::from_str_radix(f.trim_start_matches("0x"), 16).ok())
    {
        m.insert("promisc".into(), json!(flags & 0x100 != 0));
    }
    m
}

/// `ip addr show` output split by device ("4: eth0@if5: <…>" starts one).
fn by_device(output: &str) -> HashMap<&str, Vec<&str>> {
    let mut map: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut current = None;
    for line in output.lines() {
        if !line.starts_with(char::is_whitespace) {
            current = line
                .split_whitespace()
                .nth(1)
                .map(|name| name.trim_end_matches(':'))
                .map(|name| name.split('@').next().unwrap_or(name));
            continue;
        }
        if let Some(device) = current {
            map.entry(device).or_default().push(line);
        }
    }
    map
}

#[derive(Default)]
struct Addresses {
    v4: Vec<String>,
    v6: Vec<String>,
}

/// The state `parse_ip_output` in Ansible updates for one device's lines.
struct Parse<'a> {
    device: &'a str,
    interfaces: &'a mut indexmap::IndexMap<String, Map>,
    default_v4: &'a mut Map,
    default_v6: &'a mut Map,
    ips: &'a mut Addresses,
}

impl Parse<'_> {
    fn line(&mut self, line: &str, secondary: bool) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first() {
            Some(&"inet") if words.len() > 1 => self.inet(&words, secondary),
            Some(&"inet6") if words.len() > 3 => self.inet6(&words),
            _ => {}
        }
    }

    fn inet(&mut self, words: &[&str], secondary: bool) {
        let (address, prefix) = words[1].split_once('/').unwrap_or((words[1], "32"));
        let broadcast = if words.len() > 3 && words[2] == "brd" {
            words[3]
        } else {
            ""
        };
        let Ok(addr) = address.parse::<Ipv4Addr>() else {
            return;
        };
        let bits: u32 = prefix.parse().unwrap_or(32).min(32);
        let mask = if bits == 0 {
            0
        } else {
            u32::MAX << (32 - bits)
        };
        let netmask = Ipv4Addr::from(mask).to_string();
        let network = Ipv4Addr::from(u32::from(addr) & mask).to_string();
        let entry = json!({"address": address, "broadcast": broadcast, "netmask": netmask,
                           "network": network, "prefix": prefix});
        let label = *words.last().unwrap_or(&self.device);
        if label != self.device {
            self.interfaces.insert(label.to_string(), Map::new());
        }
        let iface = self.interfaces.entry(label.to_string()).or_default();
        if !secondary && !iface.contains_key("ipv4") {
            iface.insert("ipv4".into(), entry.clone());
        } else {
            push(iface, "ipv4_secondaries", entry.clone());
        }
        if secondary {
            let main = self.interfaces.entry(self.device.to_string()).or_default();
            if !main.contains_key("ipv4_secondaries") {
                main.insert("ipv4_secondaries".into(), json!([]));
            }
            if label != self.device {
                push(main, "ipv4_secondaries", entry.clone());
            }
        }
        if self.default_v4.get("address").and_then(Value::as_str) == Some(address) {
            let main = &self.interfaces[self.device];
            for k in ["broadcast", "netmask", "network", "prefix"] {
                self.default_v4.insert(k.into(), entry[k].clone());
            }
            self.copy_link(main.clone(), true);
            self.default_v4.insert("alias".into(), json!(label));
        }
        if !address.starts_with("127.") {
            self.ips.v4.push(address.to_string());
        }
    }

    fn inet6(&mut self, words: &[&str]) {
        let (address, prefix, scope) = if words[2] == "peer" && words.len() > 5 {
            let prefix = words[3].split_once('/').map_or("", |(_, p)| p);
            (words[1], prefix, words[5])
        } else {
            let (a, p) = words[1].split_once('/').unwrap_or((words[1], ""));
            (a, p, words[3])
        };
        let main = self.interfaces.entry(self.device.to_string()).or_default();
        push(
            main,
            "ipv6",
            json!({"address": address, "prefix": prefix, "scope": scope}),
        );
        if self.default_v6.get("address").and_then(Value::as_str) == Some(address) {
            self.default_v6.insert("prefix".into(), json!(prefix));
            self.default_v6.insert("scope".into(), json!(scope));
            let main = main.clone();
            self.copy_link(main, false);
        }
        if address != "::1" {
            self.ips.v6.push(address.to_string());
        }
    }

    /// macaddress, mtu and type of the device into a default route's facts.
    fn copy_link(&mut self, iface: Map, v4: bool) {
        let target = if v4 {
            &mut *self.default_v4
        } else {
            &mut *self.default_v6
        };
        if let Some(mac) = iface.get("macaddress") {
            target.insert("macaddress".into(), mac.clone());
        }
        target.insert(
            "mtu".into(),
            iface.get("mtu").cloned().unwrap_or(Value::Null),
        );
        target.insert(
            "type".into(),
            iface
                .get("type")
                .cloned()
                .unwrap_or_else(|| json!("unknown")),
        );
    }
}

fn push(iface: &mut Map, key: &str, v: Value) {
    match iface.entry(key).or_insert_with(|| json!([])) {
        Value::Array(items) => items.push(v),
        other => *other = json!([v]),
    }
}

/// `ip route show table local`'s `local` routes, per family, without repeats.
fn locally_reachable(v4: &str, v6: &str) -> Value {
    let mut out = (Vec::<String>::new(), Vec::<String>::new());
    for line in v4.lines().chain(v6.lines()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() != Some(&"local") || words.len() < 2 {
            continue;
        }
        let list = if words[1].contains(':') {
            &mut out.1
        } else {
            &mut out.0
        };
        if !list.iter().any(|a| a == words[1]) {
            list.push(words[1].to_string());
        }
    }
    json!({"ipv4": out.0, "ipv6": out.1})
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDR: &str = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
       valid_lft forever preferred_lft forever
    inet6 ::1/128 scope host
       valid_lft forever preferred_lft forever
4: eth0@if9: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 qdisc pfifo_fast state UP group default qlen 1000
    link/ether 02:fc:00:00:00:01 brd ff:ff:ff:ff:ff:ff
    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0
       valid_lft forever preferred_lft forever
    inet 192.0.2.9/24 brd 192.0.2.255 scope global eth0:web
       valid_lft forever preferred_lft forever
    inet6 fd00::2/64 scope global nodad
       valid_lft forever preferred_lft forever
    inet6 fe80::fc:ff:fe00:1/64 scope link
       valid_lft forever preferred_lft forever
";

    fn host() -> Sections {
        Sections::parse(&format!(
            "\n@@route4\n8.8.8.8 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0\n    cache\n\
             @@route6\n2404:6800:400a:800::1012 from :: via fd00::1 dev eth0 src fd00::2 metric 1024 pref medium\n\
             @@addr_primary\n{ADDR}\n@@addr_secondary\n\n\
             @@local4\nlocal 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1\nlocal 192.0.2.2 dev eth0 proto kernel scope host src 192.0.2.2\n\
             @@local6\nlocal ::1 dev lo proto kernel metric 0 pref medium\n\
             @@iface eth0\naddress=02:fc:00:00:00:01\nmtu=1400\noperstate=up\ntype=1\nflags=0x1003\nspeed=-1\npciid=virtio2\n\
             @@iface lo\naddress=00:00:00:00:00:00\nmtu=65536\noperstate=unknown\ntype=772\nflags=0x9\n"
        ))
    }

    #[test]
    fn default_ipv4_takes_the_address_details_of_its_interface() {
        let mut f = Map::new();
        collect(&host(), &mut f);
        assert_eq!(
            f["default_ipv4"],
            json!({"interface": "eth0", "address": "192.0.2.2", "gateway": "192.0.2.1",
                   "broadcast": "192.0.2.255", "netmask": "255.255.255.0", "network": "192.0.2.0",
                   "prefix": "24", "macaddress": "02:fc:00:00:00:01", "mtu": 1400, "type": "ether",
                   "alias": "eth0"})
        );
        assert_eq!(f["default_ipv6"]["gateway"], json!("fd00::1"));
        assert_eq!(f["default_ipv6"]["scope"], json!("global"));
        assert_eq!(f["all_ipv4_addresses"], json!(["192.0.2.2", "192.0.2.9"]));
        assert_eq!(
            f["all_ipv6_addresses"],
            json!(["fd00::2", "fe80::fc:ff:fe00:1"])
        );
        assert_eq!(f["interfaces"], json!(["eth0", "lo", "eth0_web"]));
        assert_eq!(f["eth0_web"]["ipv4"]["address"], json!("192.0.2.9"));
        assert_eq!(f["eth0"]["promisc"], json!(false));
        assert_eq!(f["lo"]["type"], json!("loopback"));
        assert!(f["lo"].get("macaddress").is_none());
        assert_eq!(f["lo"]["ipv4"]["broadcast"], json!(""));
        assert_eq!(f["lo"]["ipv4"]["netmask"], json!("255.0.0.0"));
        assert_eq!(
            f["locally_reachable_ips"],
            json!({"ipv4": ["127.0.0.0/8", "192.0.2.2"], "ipv6": ["::1"]})
        );
    }

    #[test]
    fn a_failed_route_lookup_gives_an_empty_default() {
        assert!(default_route("RTNETLINK answers: Network is unreachable", "8.8.8.8").is_empty());
    }
}
