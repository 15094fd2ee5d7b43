//! `hostname`: the host's name, now and at boot, by the strategy `use` names (else
//! guessed as Ansible does: systemd when `hostnamectl` and a running systemd are
//! there, else by the distribution's marker file):
//!
//! - `systemd`: the static name read from `/etc/hostname`, set with `hostnamectl
//!   --transient` / `--static` (and `--pretty`),
//! - `debian`, `alpine`: `/etc/hostname` and `hostname NAME` (`-F` on Alpine),
//! - `redhat`: `HOSTNAME=` in `/etc/sysconfig/network` and `hostname NAME`,
//! - `generic`: `hostname NAME` only (nothing kept for the next boot).
//!
//! Returns `name` and `ansible_facts` (`ansible_hostname`, `ansible_nodename`,
//! `ansible_fqdn`, `ansible_domain`); `--diff` shows `hostname = …` lines.
//!
//! Not supported: the BSD, macOS, Solaris and other strategies.

use crate::connection::{Connection, FileAttrs};
use crate::modules::remote;
use crate::modules::{
    ArgSpec, Args, Diff, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::Map;

pub struct Hostname;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("name", Kind::Str).required(),
    Param::new("use", Kind::Str).choices(&["alpine", "debian", "generic", "redhat", "systemd"]),
]);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Strategy {
    Systemd,
    /// The name is the content of `/etc/hostname`; Alpine reloads it with `hostname -F`.
    EtcHostname {
        alpine: bool,
    },
    Redhat,
    Generic,
}

const SYSCONFIG_NETWORK: &str = "/etc/sysconfig/network";

impl Module for Hostname {
    fn name(&self) -> &'static str {
        "hostname"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let name = args.str("name").unwrap_or_default().trim().to_string();
        if name.is_empty() {
            return Ok(ModuleResult::failed("name cannot be empty"));
        }
        let strategy = match args.str("use") {
            Some("systemd") => Strategy::Systemd,
            Some("debian") => Strategy::EtcHostname { alpine: false },
            Some("alpine") => Strategy::EtcHostname { alpine: true },
            Some("redhat") => Strategy::Redhat,
            Some(_) => Strategy::Generic,
            None => detect(ctx.conn)?,
        };
        let conn = &mut *ctx.conn;
        let current = current_name(conn)?;
        let permanent = permanent_name(conn, strategy)?;
        let mut changed = false;
        if current != name {
            changed = true;
            if !ctx.check_mode {
                set_current(conn, strategy, &name)?;
            }
        }
        if permanent.as_deref().is_some_and(|p| p != name) {
            changed = true;
            if !ctx.check_mode {
                set_permanent(conn, strategy, &name)?;
            }
        }
        // The host's own view, as Ansible's socket.getfqdn(): in check mode still the old name.
        let unresolved = if ctx.check_mode { &current } else { &name };
        let fqdn = remote::run(conn, &["hostname", "-f"])
            .ok()
            .filter(|r| r.ok() && !r.stdout.trim().is_empty())
            .map_or(unresolved.clone(), |r| r.stdout.trim().to_string());
        let mut facts = Map::new();
        let short = name.split('.').next().unwrap_or(&name).to_string();
        facts.insert("ansible_hostname".into(), short.into());
        facts.insert("ansible_nodename".into(), name.clone().into());
        let domain = fqdn.split_once('.').map_or("", |(_, d)| d).to_string();
        facts.insert("ansible_fqdn".into(), fqdn.into());
        facts.insert("ansible_domain".into(), domain.into());
        let mut result = ModuleResult::changed(changed)
            .with("name", name.clone())
            .with("ansible_facts", facts);
        if ctx.diff_mode && changed {
            let before = permanent.unwrap_or(current);
            result.diff.push(Diff {
                before: format!("hostname = {before}\n"),
                after: format!("hostname = {name}\n"),
                ..Diff::default()
            });
        }
        Ok(result)
    }
}

fn detect(conn: &mut dyn Connection) -> Result<Strategy, String> {
    if remote::find_tool(conn, &["hostnamectl"])?.is_some()
        && conn.stat("/run/systemd/system", true)?.is_some()
    {
        return Ok(Strategy::Systemd);
    }
    for (marker, strategy) in [
        (
            "/etc/alpine-release",
            Strategy::EtcHostname { alpine: true },
        ),
        ("/etc/redhat-release", Strategy::Redhat),
        (
            "/etc/debian_version",
            Strategy::EtcHostname { alpine: false },
        ),
    ] {
        if conn.stat(marker, true)?.is_some() {
            return Ok(strategy);
        }
    }
    Ok(Strategy::Generic)
}

fn current_name(conn: &mut dyn Connection) -> Result<String, String> {
    Ok(remote::run_ok(conn, &["hostname"])?
        .stdout
        .trim()
        .to_string())
}

/// The name the host boots with; `None` when the strategy keeps none.
fn permanent_name(conn: &mut dyn Connection, strategy: Strategy) -> Result<Option<String>, String> {
    let read = |conn: &mut dyn Connection, path: &str| -> Result<String, String> {
        Ok(match conn.stat(path, true)? {
            Some(_) => String::from_utf8_lossy(&conn.read_file(path)?).into_owned(),
            None => String::new(),
        })
    };
    Ok(match strategy {
        // systemd's static name is /etc/hostname (hostname(5): the first line that is
        // not a comment). Read directly rather than through `hostnamectl --static`,
        // which starts systemd-hostnamed over D-Bus just to answer: deciding then needs
        // no D-Bus, and a second run on a busy host cannot time out there.
        Strategy::Systemd => Some(
            read(conn, "/etc/hostname")?
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .unwrap_or_default()
                .to_string(),
        ),
        Strategy::EtcHostname { .. } => Some(read(conn, "/etc/hostname")?.trim().to_string()),
        Strategy::Redhat => Some(
            read(conn, SYSCONFIG_NETWORK)?
                .lines()
                .find_map(|l| l.trim().strip_prefix("HOSTNAME="))
                .map(|v| v.trim_matches(['"', '\'']).to_string())
                .unwrap_or_default(),
        ),
        Strategy::Generic => None,
    })
}

fn set_current(conn: &mut dyn Connection, strategy: Strategy, name: &str) -> Result<(), String> {
    match strategy {
        Strategy::Systemd => {
            remote::run_ok(conn, &["hostnamectl", "--transient", "set-hostname", name])
        }
        _ => remote::run_ok(conn, &["hostname", name]),
    }
    .map(|_| ())
}

fn set_permanent(conn: &mut dyn Connection, strategy: Strategy, name: &str) -> Result<(), String> {
    match strategy {
        Strategy::Systemd => {
            remote::run_ok(
                conn,
                &["hostnamectl", "--pretty", "--static", "set-hostname", name],
            )?;
        }
        Strategy::EtcHostname { alpine } => {
            conn.write_file(
                "/etc/hostname",
                format!("{name}\n").as_bytes(),
                &FileAttrs::default(),
            )?;
            if alpine {
                remote::run_ok(conn, &["hostname", "-F", "/etc/hostname"])?;
            }
        }
        Strategy::Redhat => {
            let old = match conn.stat(SYSCONFIG_NETWORK, true)? {
                Some(_) => {
                    String::from_utf8_lossy(&conn.read_file(SYSCONFIG_NETWORK)?).into_owned()
                }
                None => String::new(),
            };
            let mut lines: Vec<String> = old
                .lines()
                .filter(|l| !l.trim().starts_with("HOSTNAME="))
                .map(str::to_string)
                .collect();
            lines.push(format!("HOSTNAME={name}"));
            let text = lines.join("\n") + "\n";
            conn.write_file(SYSCONFIG_NETWORK, text.as_bytes(), &FileAttrs::default())?;
        }
        Strategy::Generic => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    #[test]
    fn systemd_sets_transient_and_static_names() {
        let conn = FakeConnection::new()
            .on("command -v hostnamectl", 0, "/usr/bin/hostnamectl")
            .dir("/run/systemd/system")
            .on("^hostname$", 0, "old\n")
            .file("/etc/hostname", "# set by the installer\nold\n")
            .on("^hostname -f", 0, "web1.example.com\n");
        let mut h = Harness::fake(conn).diff();
        let r = h.run(&Hostname, json!({"name": "web1"}));
        assert!(r.changed);
        assert_eq!(
            h.conn.ran("set-hostname"),
            [
                "hostnamectl --transient set-hostname web1",
                "hostnamectl --pretty --static set-hostname web1"
            ]
        );
        assert_eq!(
            r.data["ansible_facts"]["ansible_domain"],
            json!("example.com")
        );
        assert_eq!(r.diff[0].after, "hostname = web1\n");
    }

    #[test]
    fn debian_writes_etc_hostname_and_is_idempotent() {
        let conn = FakeConnection::new()
            .file("/etc/debian_version", "12\n")
            .file("/etc/hostname", "old\n")
            .once("^hostname$", 0, "old\n")
            .on("^hostname$", 0, "db1\n");
        let mut h = Harness::fake(conn);
        assert!(h.run(&Hostname, json!({"name": "db1"})).changed);
        assert_eq!(h.conn.read_file("/etc/hostname").unwrap(), b"db1\n");
        assert_eq!(h.conn.ran("^hostname db1"), ["hostname db1"]);
        assert!(!h.run(&Hostname, json!({"name": "db1"})).changed);
    }

    #[test]
    fn check_mode_and_redhat() {
        let conn = FakeConnection::new()
            .file(SYSCONFIG_NETWORK, "NETWORKING=yes\nHOSTNAME=old\n")
            .on("^hostname$", 0, "old\n");
        let mut h = Harness::fake(conn).check();
        assert!(
            h.run(&Hostname, json!({"name": "n1", "use": "redhat"}))
                .changed
        );
        assert!(h.conn.ran("^hostname n1").is_empty());
        h.check_mode = false;
        h.run(&Hostname, json!({"name": "n1", "use": "redhat"}));
        assert_eq!(
            h.conn.read_file(SYSCONFIG_NETWORK).unwrap(),
            b"NETWORKING=yes\nHOSTNAME=n1\n"
        );
    }
}
