//! `timezone` (`community.general.timezone`): the host's time zone and whether its
//! hardware clock keeps local time or UTC. With systemd, `timedatectl`; otherwise
//! `/etc/localtime` made a link to the zone's file in `/usr/share/zoneinfo` (and
//! `/etc/timezone` rewritten where the distribution has one). `--diff` shows the
//! before/after `name` and `hwclock`, as Ansible.
//!
//! Not supported: `hwclock` without systemd, and the BSD, macOS, Solaris and AIX
//! ways.

use crate::connection::{Connection, FileAttrs};
use crate::modules::files;
use crate::modules::remote;
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::Map;

pub struct Timezone;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("name", Kind::Str),
    Param::new("hwclock", Kind::Str)
        .aliases(&["rtc"])
        .choices(&["local", "UTC"]),
])
.required_one_of(&[&["name", "hwclock"]]);

const ZONEINFO: &str = "/usr/share/zoneinfo";

impl Module for Timezone {
    fn name(&self) -> &'static str {
        "timezone"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let conn = &mut *ctx.conn;
        let timedatectl = match remote::tool_path(conn, "timedatectl")? {
            Some(path) if conn.stat("/run/systemd/system", true)?.is_some() => Some(path),
            _ => None,
        };
        let systemd = timedatectl.is_some();
        // The commands run, for `msg` (`executed `/usr/bin/timedatectl set-timezone X``).
        let mut executed = Vec::new();
        let name = args.str("name");
        let hwclock = args.str("hwclock");
        if let Some(zone) = name
            && conn.stat(&format!("{ZONEINFO}/{zone}"), true)?.is_none()
        {
            return Ok(ModuleResult::failed(format!(
                "given timezone \"{zone}\" is not available"
            )));
        }
        if hwclock.is_some() && !systemd {
            return Ok(ModuleResult::failed(
                "setting hwclock needs systemd's timedatectl on the host (not supported otherwise by srplay)",
            ));
        }
        let mut before = Map::new();
        let mut after = Map::new();
        let mut changed = false;
        if let Some(zone) = name {
            let current = if systemd {
                timedatectl_value(conn, "Timezone")?
            } else {
                link_zone(conn)?
            };
            before.insert("name".into(), current.clone().into());
            after.insert("name".into(), zone.into());
            if current != zone {
                changed = true;
                if !ctx.check_mode {
                    match &timedatectl {
                        Some(tool) => {
                            executed.push(run_logged(conn, &[tool, "set-timezone", zone])?)
                        }
                        None => set_zone(conn, zone)?,
                    }
                }
            }
        }
        if let Some(wanted) = hwclock {
            let local = timedatectl_value(conn, "LocalRTC")? == "yes";
            let current = if local { "local" } else { "UTC" };
            before.insert("hwclock".into(), current.into());
            after.insert("hwclock".into(), wanted.into());
            if current != wanted {
                changed = true;
                if let (false, Some(tool)) = (ctx.check_mode, &timedatectl) {
                    let flag = if wanted == "local" { "yes" } else { "no" };
                    executed.push(run_logged(conn, &[tool, "set-local-rtc", flag])?);
                }
            }
        }
        let mut result = ModuleResult::changed(changed);
        if !executed.is_empty() {
            result.msg = Some(executed.join("\n"));
        }
        if ctx.diff_mode {
            result.diff.push(files::dict_diff(&before, &after));
        }
        Ok(result)
    }
}

/// One property of `timedatectl show`.
fn timedatectl_value(conn: &mut dyn Connection, property: &str) -> Result<String, String> {
    let ran = remote::run_ok(
        conn,
        &["timedatectl", "show", "--property", property, "--value"],
    )?;
    Ok(ran.stdout.trim().to_string())
}

/// The zone `/etc/localtime` links to (`…/zoneinfo/Europe/Paris` → `Europe/Paris`).
fn link_zone(conn: &mut dyn Connection) -> Result<String, String> {
    let target = conn
        .stat("/etc/localtime", false)?
        .and_then(|st| st.link_target)
        .unwrap_or_default();
    Ok(target
        .split_once("zoneinfo/")
        .map_or("", |(_, zone)| zone)
        .to_string())
}

/// Run `argv`; what Ansible's module logs of it: "executed `ARGV`".
fn run_logged(conn: &mut dyn Connection, argv: &[&str]) -> Result<String, String> {
    remote::run_ok(conn, argv)?;
    Ok(format!("executed `{}`", argv.join(" ")))
}

/// Without systemd: `/etc/localtime` linked to the zone, `/etc/timezone` rewritten.
fn set_zone(conn: &mut dyn Connection, zone: &str) -> Result<(), String> {
    conn.symlink(&format!("{ZONEINFO}/{zone}"), "/etc/localtime", true)?;
    if conn.stat("/etc/timezone", true)?.is_some() {
        conn.write_file(
            "/etc/timezone",
            format!("{zone}\n").as_bytes(),
            &FileAttrs::default(),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    fn systemd_host() -> FakeConnection {
        FakeConnection::new()
            .on("command -v timedatectl", 0, "/usr/bin/timedatectl")
            .dir("/run/systemd/system")
            .file("/usr/share/zoneinfo/Europe/Paris", "TZif")
            .on("Timezone --value", 0, "Etc/UTC\n")
            .on("LocalRTC --value", 0, "no\n")
    }

    #[test]
    fn systemd_sets_the_zone_and_shows_a_diff() {
        let mut h = Harness::fake(systemd_host()).diff();
        let r = h.run(&Timezone, json!({"name": "Europe/Paris", "hwclock": "UTC"}));
        assert!(r.changed);
        assert_eq!(
            h.conn.ran("set-"),
            ["/usr/bin/timedatectl set-timezone Europe/Paris"]
        );
        assert_eq!(
            r.msg.as_deref(),
            Some("executed `/usr/bin/timedatectl set-timezone Europe/Paris`")
        );
        assert!(r.diff[0].before.contains("\"name\": \"Etc/UTC\""));
        assert!(r.diff[0].after.contains("\"hwclock\": \"UTC\""));
    }

    #[test]
    fn unknown_zones_fail_and_check_mode_changes_nothing() {
        let mut h = Harness::fake(systemd_host()).check();
        let r = h.run(&Timezone, json!({"name": "Mars/Olympus"}));
        assert_eq!(
            r.msg.as_deref(),
            Some("given timezone \"Mars/Olympus\" is not available")
        );
        assert!(h.run(&Timezone, json!({"hwclock": "local"})).changed);
        assert!(h.conn.ran("set-").is_empty());
    }

    #[test]
    fn without_systemd_the_zone_is_read_from_the_localtime_link() {
        let conn = FakeConnection::new().file("/usr/share/zoneinfo/UTC", "TZif");
        let mut h = Harness::fake(conn);
        // The fake has no symlinks: /etc/localtime reads as no zone, and setting one fails.
        let err = h.try_run(&Timezone, json!({"name": "UTC"})).unwrap_err();
        assert!(err.contains("no symlinks"), "{err}");
        let r = h.run(&Timezone, json!({"hwclock": "UTC"}));
        assert!(r.failed && r.msg.unwrap().contains("timedatectl"));
    }
}
