//! `wait_for`: wait, from the host, for a path or a TCP port to reach a state.
//!
//! The waiting loop runs on the controller; each probe is one step on the host: a
//! `stat` (and a read, for `search_regex`) of a path; a connection attempt to a port
//! by bash's `/dev/tcp` or else `nc` (the host has no Python); for `drained`, the
//! host's `/proc/net/tcp{,6}`. States, messages and return keys (`elapsed`,
//! `match_groups`, `match_groupdict`…) are Ansible's. Not run in check mode, as in
//! Ansible (the module does not support it).
//!
//! Not supported: host names in `drained` are resolved by `getent` on the host, so a
//! host without it needs IP addresses there.

use std::time::{Duration, Instant};

use regex::bytes::{Regex, RegexBuilder};

use crate::connection::{Connection, ExecRequest};
use crate::modules::files::{self, expand_user};
use crate::modules::remote;
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::{Map, Value};

pub struct WaitFor;

/// Connection states by name, as `/proc/net/tcp` numbers them.
const TCP_STATES: &[(&str, &str)] = &[
    ("ESTABLISHED", "01"),
    ("SYN_SENT", "02"),
    ("SYN_RECV", "03"),
    ("FIN_WAIT1", "04"),
    ("FIN_WAIT2", "05"),
    ("TIME_WAIT", "06"),
    ("CLOSE", "07"),
    ("CLOSE_WAIT", "08"),
    ("LAST_ACK", "09"),
    ("LISTEN", "0A"),
    ("CLOSING", "0B"),
];

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("host", Kind::Str).default("127.0.0.1"),
    Param::new("timeout", Kind::Int).default("300"),
    Param::new("connect_timeout", Kind::Int).default("5"),
    Param::new("delay", Kind::Int).default("0"),
    Param::new("port", Kind::Int),
    Param::new("active_connection_states", Kind::List)
        .default("ESTABLISHED,FIN_WAIT1,FIN_WAIT2,SYN_RECV,SYN_SENT,TIME_WAIT"),
    Param::new("path", Kind::Path),
    Param::new("search_regex", Kind::Str),
    Param::new("state", Kind::Str)
        .default("started")
        .choices(&["absent", "drained", "present", "started", "stopped"]),
    Param::new("exclude_hosts", Kind::List),
    Param::new("sleep", Kind::Int).default("1"),
    Param::new("msg", Kind::Str),
]);

/// Connect to `$1:$2` within `$3` seconds; with `$4` > 0, then print what the
/// server sends in `$4` seconds. Exit 0 when connected, 1 when not, 127 when the
/// host has neither bash nor nc. Values arrive as arguments, never in the script.
/// Without coreutils' `timeout`, the commands run unbounded.
const PROBE: &str = r#"
command -v timeout >/dev/null 2>&1 || timeout() { shift; "$@"; }
if command -v bash >/dev/null 2>&1; then
  timeout "$(($3 + $4 + 1))" bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1
    if [ "$2" -gt 0 ]; then timeout "$2" cat <&3; fi
    exit 0' "$1" "$2" "$4" 2>/dev/null || exit 1
elif command -v nc >/dev/null 2>&1; then
  nc -z -w "$3" "$1" "$2" 2>/dev/null || exit 1
  if [ "$4" -gt 0 ]; then sleep "$4" | timeout "$4" nc "$1" "$2"; fi
else
  exit 127
fi
exit 0
"#;

impl Module for WaitFor {
    fn name(&self) -> &'static str {
        "wait_for"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        if ctx.check_mode {
            return Ok(ModuleResult::not_in_check_mode(self.name()));
        }
        let wait = match Wait::from_args(args, ctx.conn) {
            Ok(w) => w,
            Err(msg) => return Ok(ModuleResult::failed(msg).with("elapsed", 0)),
        };
        wait.run(ctx.conn)
    }
}

struct Wait {
    host: String,
    port: Option<i64>,
    path: Option<String>,
    search: Option<(String, Regex)>,
    state: String,
    timeout: Duration,
    connect_timeout: u64,
    delay: Duration,
    sleep: Duration,
    active_states: Vec<&'static str>,
    exclude_hosts: Vec<String>,
    msg: Option<String>,
}

/// What a successful wait found in the file or the port's banner.
#[derive(Default)]
struct Found {
    groups: Vec<Value>,
    groupdict: Map,
}

impl Wait {
    fn from_args(args: &Args, conn: &mut dyn Connection) -> Result<Wait, String> {
        let state = args.str("state").unwrap_or("started").to_string();
        let path = args.str("path").map(|p| expand_user(conn, p)).transpose()?;
        let port = args.int("port");
        if port.is_some() && path.is_some() {
            return Err("port and path parameter can not both be passed to wait_for".into());
        }
        if path.is_some() && (state == "stopped" || state == "drained") {
            return Err(format!(
                "state={state} should only be used for checking a port in the wait_for module"
            ));
        }
        if args.get("exclude_hosts").is_some() && state != "drained" {
            return Err("exclude_hosts should only be with state=drained".into());
        }
        let mut active_states = Vec::new();
        for name in args.list("active_connection_states") {
            let id = TCP_STATES
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| format!("unknown active_connection_state ({name}) defined"))?;
            active_states.push(id.1);
        }
        let search = match args.str("search_regex") {
            Some(text) => Some((
                text.to_string(),
                RegexBuilder::new(text)
                    .multi_line(true)
                    .build()
                    .map_err(|e| format!("Invalid regular expression: {e}"))?,
            )),
            None => None,
        };
        let secs = |name: &str| Duration::from_secs(args.int(name).unwrap_or(0).max(0) as u64);
        Ok(Wait {
            host: args.str("host").unwrap_or("127.0.0.1").to_string(),
            port,
            path,
            search,
            state,
            timeout: secs("timeout"),
            connect_timeout: args.int("connect_timeout").unwrap_or(5).max(1) as u64,
            delay: secs("delay"),
            sleep: secs("sleep"),
            active_states,
            exclude_hosts: args.list("exclude_hosts"),
            msg: args.str("msg").map(str::to_string),
        })
    }

    fn run(&self, conn: &mut dyn Connection) -> Result<ModuleResult, ModuleError> {
        let start = Instant::now();
        std::thread::sleep(self.delay);
        let end = start + self.timeout;
        let mut found = Found::default();
        if self.port.is_none() && self.path.is_none() && self.state != "drained" {
            std::thread::sleep(self.timeout);
        } else {
            let mut reached = false;
            while Instant::now() < end {
                if let Some(f) = self.probe(conn, end)? {
                    found = f;
                    reached = true;
                    break;
                }
                std::thread::sleep(self.sleep);
            }
            if !reached {
                let msg = self.msg.clone().unwrap_or_else(|| self.timeout_msg());
                return Ok(ModuleResult::failed(msg).with("elapsed", start.elapsed().as_secs()));
            }
        }
        let opt = |v: Option<Value>| v.unwrap_or(Value::Null);
        let mut result = ModuleResult::ok()
            .with("state", self.state.clone())
            .with("port", opt(self.port.map(Value::from)))
            .with(
                "search_regex",
                opt(self.search.as_ref().map(|(s, _)| Value::from(s.clone()))),
            )
            .with("match_groups", Value::Array(found.groups))
            .with("match_groupdict", Value::Object(found.groupdict))
            .with("path", opt(self.path.clone().map(Value::from)))
            .with("elapsed", start.elapsed().as_secs());
        // As Ansible's `exit_json` does for a result with a `path`: the path's facts,
        // whose `state` (`file`, `absent`…) replaces the one asked for.
        if let Some(path) = &self.path {
            result.data.extend(files::path_info(conn, path)?);
        }
        Ok(result)
    }

    /// One look: `Some` when the wait is over.
    fn probe(&self, conn: &mut dyn Connection, end: Instant) -> Result<Option<Found>, String> {
        let waiting_for_absence = matches!(self.state.as_str(), "absent" | "stopped");
        if self.state == "drained" {
            return Ok((self.active_connections(conn)? == 0).then(Found::default));
        }
        if let Some(path) = &self.path {
            let exists = conn.stat(path, true)?.is_some();
            if waiting_for_absence {
                return Ok((!exists).then(Found::default));
            }
            if !exists {
                return Ok(None);
            }
            return match &self.search {
                None => Ok(Some(Found::default())),
                // A file that cannot be read yet is waited for like a missing one.
                Some((_, re)) => Ok(conn.read_file(path).ok().and_then(|d| matched(re, &d))),
            };
        }
        let port = self.port.unwrap_or(0);
        let remaining = end
            .saturating_duration_since(Instant::now())
            .as_secs()
            .max(1);
        let connect = self.connect_timeout.min(remaining);
        let read_for = match (&self.search, waiting_for_absence) {
            (Some(_), false) => connect,
            _ => 0,
        };
        let (open, banner) = self.connect(conn, port, connect, read_for)?;
        if waiting_for_absence {
            return Ok((!open).then(Found::default));
        }
        Ok(match (&self.search, open) {
            (_, false) => None,
            (None, true) => Some(Found::default()),
            (Some((_, re)), true) => matched(re, &banner),
        })
    }

    /// Try the port from the host: (connected, what the server sent).
    fn connect(
        &self,
        conn: &mut dyn Connection,
        port: i64,
        connect: u64,
        read_for: u64,
    ) -> Result<(bool, Vec<u8>), String> {
        let argv = vec![
            "sh".to_string(),
            "-c".to_string(),
            PROBE.to_string(),
            "srplay-wait-for".to_string(),
            self.host.clone(),
            port.to_string(),
            connect.to_string(),
            read_for.to_string(),
        ];
        let out = conn.exec(&ExecRequest::argv(argv))?;
        match out.rc {
            0 => Ok((true, out.stdout)),
            127 => {
                Err("wait_for needs bash (for /dev/tcp) or nc on the host to check a port".into())
            }
            _ => Ok((false, Vec::new())),
        }
    }

    /// Connections to the port in one of the active states, from `/proc/net/tcp*`.
    fn active_connections(&self, conn: &mut dyn Connection) -> Result<usize, String> {
        let port = format!("{:04X}", self.port.unwrap_or(0));
        let ips = host_hex(conn, &self.host)?;
        let mut excluded = Vec::new();
        for host in &self.exclude_hosts {
            excluded.extend(host_hex(conn, host)?);
        }
        let mut count = 0;
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let Ok(data) = conn.read_file(table) else {
                continue;
            };
            let wildcard = if table.ends_with('6') {
                "0".repeat(32)
            } else {
                "0".repeat(8)
            };
            for line in String::from_utf8_lossy(&data).lines().skip(1) {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let (Some(local), Some(remote), Some(state)) =
                    (fields.get(1), fields.get(2), fields.get(3))
                else {
                    continue;
                };
                let (Some((local_ip, local_port)), Some((remote_ip, _))) =
                    (local.split_once(':'), remote.split_once(':'))
                else {
                    continue;
                };
                if local_port != port
                    || !self.active_states.contains(state)
                    || excluded.iter().any(|e| e == remote_ip)
                {
                    continue;
                }
                let mapped_any = local_ip.starts_with(MAPPED_PREFIX)
                    && ips.iter().any(|i| *i == format!("{MAPPED_PREFIX}00000000"));
                if ips.iter().any(|i| i == local_ip || *i == wildcard) || mapped_any {
                    count += 1;
                }
            }
        }
        Ok(count)
    }

    fn timeout_msg(&self) -> String {
        let target = match (&self.path, self.port) {
            (Some(path), _) => path.clone(),
            (None, Some(port)) => format!("{}:{port}", self.host),
            (None, None) => self.host.clone(),
        };
        match (self.state.as_str(), &self.search, &self.path) {
            ("drained", _, _) => format!("Timeout when waiting for {target} to drain"),
            ("stopped" | "absent", _, Some(_)) => {
                format!("Timeout when waiting for {target} to be absent.")
            }
            ("stopped" | "absent", _, None) => {
                format!("Timeout when waiting for {target} to stop.")
            }
            (_, Some((text, _)), _) => {
                format!("Timeout when waiting for search string {text} in {target}")
            }
            (_, None, Some(_)) => format!("Timeout when waiting for file {target}"),
            (_, None, None) => format!("Timeout when waiting for {target}"),
        }
    }
}

/// How `/proc/net/tcp6` writes an IPv4 address mapped into IPv6 (`::ffff:a.b.c.d`).
const MAPPED_PREFIX: &str = "0000000000000000FFFF0000";

fn matched(re: &Regex, data: &[u8]) -> Option<Found> {
    let caps = re.captures(data)?;
    let text = |m: Option<regex::bytes::Match<'_>>| {
        m.map_or(Value::Null, |m| {
            Value::from(String::from_utf8_lossy(m.as_bytes()).into_owned())
        })
    };
    let groups = (1..caps.len()).map(|i| text(caps.get(i))).collect();
    let groupdict = re
        .capture_names()
        .flatten()
        .map(|name| (name.to_string(), text(caps.name(name))))
        .collect();
    Some(Found { groups, groupdict })
}

/// A host's addresses as `/proc/net/tcp*` writes them: IPv4 as one little-endian
/// word (127.0.0.1 → `0100007F`), also mapped into IPv6; IPv6 as four little-endian
/// words. Names are resolved on the host by `getent ahosts`.
fn host_hex(conn: &mut dyn Connection, host: &str) -> Result<Vec<String>, String> {
    let addrs: Vec<std::net::IpAddr> = match host.parse() {
        Ok(ip) => vec![ip],
        Err(_) => {
            let ran = remote::run(conn, &["getent", "ahosts", host])?;
            if !ran.ok() {
                return Err(format!("cannot resolve {host} on the host (getent ahosts)"));
            }
            ran.stdout
                .lines()
                .filter_map(|l| l.split_whitespace().next()?.parse().ok())
                .collect()
        }
    };
    let mut out = Vec::new();
    for addr in addrs {
        match addr {
            std::net::IpAddr::V4(v4) => {
                let le: String = v4
                    .octets()
                    .iter()
                    .rev()
                    .map(|b| format!("{b:02X}"))
                    .collect();
                out.push(format!("{MAPPED_PREFIX}{le}"));
                out.push(le);
            }
            std::net::IpAddr::V6(v6) => out.push(
                v6.octets()
                    .chunks(4)
                    .flat_map(|word| word.iter().rev())
                    .map(|b| format!("{b:02X}"))
                    .collect(),
            ),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    #[test]
    fn a_path_with_a_regex_returns_the_groups() {
        let conn = FakeConnection::new().file("/var/log/app", "boot\nready on port 8080\n");
        let mut h = Harness::fake(conn);
        let r = h.run(
            &WaitFor,
            json!({"path": "/var/log/app", "search_regex": "ready on port (?P<port>\\d+)", "timeout": 5}),
        );
        assert!(!r.failed && !r.changed, "{r:?}");
        assert_eq!(r.data["match_groups"], json!(["8080"]));
        assert_eq!(r.data["match_groupdict"], json!({"port": "8080"}));
        assert_eq!(r.data["elapsed"], json!(0));
    }

    #[test]
    fn a_port_is_probed_from_the_host_with_values_as_arguments() {
        let conn = FakeConnection::new().on("srplay-wait-for", 0, "");
        let mut h = Harness::fake(conn);
        let r = h.run(&WaitFor, json!({"host": "db; rm -rf /", "port": 5432}));
        assert!(!r.failed, "{r:?}");
        let probe = h.conn.ran("srplay-wait-for");
        assert!(
            probe[0].ends_with("srplay-wait-for 'db; rm -rf /' 5432 5 0"),
            "{}",
            probe[0]
        );
    }

    #[test]
    fn timeouts_fail_with_ansibles_messages() {
        let conn = FakeConnection::new().on("srplay-wait-for", 1, "");
        let mut h = Harness::fake(conn);
        let r = h.run(&WaitFor, json!({"port": 1, "timeout": 0}));
        assert_eq!(
            r.msg.as_deref(),
            Some("Timeout when waiting for 127.0.0.1:1")
        );
        let r = h.run(
            &WaitFor,
            json!({"path": "/nope", "timeout": 0, "msg": "custom"}),
        );
        assert_eq!(r.msg.as_deref(), Some("custom"));
        let r = h.run(&WaitFor, json!({"path": "/x", "state": "stopped"}));
        assert!(r.msg.unwrap().contains("state=stopped should only be used"));
    }

    #[test]
    fn no_tool_for_ports_is_a_clear_error() {
        let conn = FakeConnection::new().on("srplay-wait-for", 127, "");
        let mut h = Harness::fake(conn);
        let err = h.try_run(&WaitFor, json!({"port": 22})).unwrap_err();
        assert!(err.contains("bash (for /dev/tcp) or nc"), "{err}");
    }

    #[test]
    fn drained_counts_active_connections_on_the_port() {
        // 127.0.0.1:8080 <- 127.0.0.1:40000 established, and a listener.
        let tcp = "  sl  local_address rem_address   st\n\
                   0: 0100007F:1F90 0100007F:9C40 01 0\n\
                   1: 0100007F:1F90 00000000:0000 0A 0\n";
        let conn = FakeConnection::new().file("/proc/net/tcp", tcp);
        let mut h = Harness::fake(conn);
        let r = h.run(
            &WaitFor,
            json!({"port": 8080, "state": "drained", "timeout": 0}),
        );
        assert_eq!(
            r.msg.as_deref(),
            Some("Timeout when waiting for 127.0.0.1:8080 to drain")
        );
        let r = h.run(
            &WaitFor,
            json!({"port": 8080, "state": "drained", "exclude_hosts": ["127.0.0.1"], "timeout": 1}),
        );
        assert!(!r.failed, "{r:?}");
    }

    #[test]
    fn check_mode_skips() {
        let mut h = Harness::fake(FakeConnection::new()).check();
        let r = h.run(&WaitFor, json!({"port": 22}));
        assert!(r.skipped);
        assert!(h.conn.log.is_empty());
    }

    #[test]
    fn addresses_as_proc_net_tcp_writes_them() {
        let mut conn = FakeConnection::new();
        assert_eq!(
            host_hex(&mut conn, "127.0.0.1").unwrap(),
            ["0000000000000000FFFF00000100007F", "0100007F"]
        );
        assert_eq!(
            host_hex(&mut conn, "::1").unwrap(),
            ["00000000000000000000000001000000"]
        );
    }
}
