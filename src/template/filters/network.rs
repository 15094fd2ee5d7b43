//! The common subset of the `ansible.utils.ipaddr` family (`ipaddr`, `ipv4`,
//! `ipv6`), which playbooks use to validate and slice addresses. Like the
//! netaddr-based originals, an invalid value gives `False`, and a list is filtered
//! down to its valid members.

use std::net::IpAddr;

use super::add_filter;
use ipnet::IpNet;
use minijinja::value::{Value as MjValue, ValueKind};
use minijinja::{Environment, Error};

use super::py_str;
use crate::template::errors::plugin_error;

pub(super) fn register(env: &mut Environment<'static>) {
    add_filter(env, "ipaddr", |v: &MjValue, q: Option<MjValue>| {
        ip_filter(v, q, None)
    });
    add_filter(env, "ipv4", |v: &MjValue, q: Option<MjValue>| {
        ip_filter(v, q, Some(4))
    });
    add_filter(env, "ipv6", |v: &MjValue, q: Option<MjValue>| {
        ip_filter(v, q, Some(6))
    });
    add_filter(env, "ipwrap", |v: &MjValue| {
        let s = py_str(v)?;
        Ok::<_, Error>(match s.parse::<IpAddr>() {
            Ok(IpAddr::V6(_)) => format!("[{s}]"),
            _ => s,
        })
    });
}

/// An address as the filters see it: the address, its prefix, and whether the
/// prefix was written (a bare address is a /32 or /128 host).
struct Parsed {
    net: IpNet,
    had_prefix: bool,
}

fn parse(s: &str) -> Option<Parsed> {
    let s = s.trim();
    if let Ok(net) = s.parse::<IpNet>() {
        return Some(Parsed {
            net,
            had_prefix: true,
        });
    }
    let addr: IpAddr = s.parse().ok()?;
    Some(Parsed {
        net: IpNet::from(addr),
        had_prefix: false,
    })
}

fn version_ok(p: &Parsed, version: Option<u8>) -> bool {
    matches!(
        (version, p.net),
        (None, _) | (Some(4), IpNet::V4(_)) | (Some(6), IpNet::V6(_))
    )
}

fn ip_filter(v: &MjValue, query: Option<MjValue>, version: Option<u8>) -> Result<MjValue, Error> {
    if matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable) {
        let mut out = Vec::new();
        for item in v.try_iter()? {
            let r = ip_filter(&item, query.clone(), version)?;
            if r.kind() != ValueKind::Bool || r.is_true() {
                out.push(r);
            }
        }
        return Ok(MjValue::from(out));
    }
    let no = MjValue::from(false);
    let text = if v.is_number() {
        return Ok(no);
    } else {
        py_str(v)?
    };
    let Some(p) = parse(&text) else {
        return Ok(no);
    };
    if !version_ok(&p, version) {
        return Ok(no);
    }
    let query = match &query {
        None => String::new(),
        Some(q) if q.is_none() => String::new(),
        Some(q) => py_str(q)?,
    };
    let net = p.net;
    let addr = net.addr();
    let is_host = net.prefix_len() == net.max_prefix_len();
    let plain = |s: String| Ok(MjValue::from(s));
    match query.as_str() {
        "" => plain(text.trim().to_string()),
        "address" => {
            if !is_host && addr == net.network() && p.had_prefix {
                Ok(no)
            } else {
                plain(addr.to_string())
            }
        }
        "network" => plain(net.network().to_string()),
        "netmask" => plain(net.netmask().to_string()),
        "hostmask" => plain(net.hostmask().to_string()),
        "broadcast" => plain(net.broadcast().to_string()),
        "prefix" => Ok(MjValue::from(net.prefix_len())),
        "host" => plain(format!("{}/{}", addr, net.prefix_len())),
        "net" | "subnet" | "cidr" => {
            if query == "net" && addr != net.network() {
                return Ok(no);
            }
            plain(format!("{}/{}", net.network(), net.prefix_len()))
        }
        "size" => {
            let bits = u32::from(net.max_prefix_len() - net.prefix_len());
            Ok(MjValue::from(2u128.checked_pow(bits).unwrap_or(u128::MAX)))
        }
        "version" => Ok(MjValue::from(if matches!(net, IpNet::V4(_)) {
            4
        } else {
            6
        })),
        "private" | "public" => {
            let private = match addr {
                IpAddr::V4(a) => a.is_private() || a.is_loopback() || a.is_link_local(),
                IpAddr::V6(a) => a.is_loopback() || (a.segments()[0] & 0xfe00) == 0xfc00,
            };
            if private == (query == "private") {
                plain(text.trim().to_string())
            } else {
                Ok(no)
            }
        }
        "ipv4" | "ipv6" => {
            let want = if query == "ipv4" { 4 } else { 6 };
            if version_ok(&p, Some(want)) {
                plain(text.trim().to_string())
            } else {
                Ok(no)
            }
        }
        "bool" => Ok(MjValue::from(true)),
        other => Err(plugin_error(format!("Unknown ipaddr query: {other}"))),
    }
}
