//! `service`: manage a service with whatever init system the host runs, chosen by
//! `use`, else the `service_mgr` fact, else by looking at the host (PID 1's name, then
//! `rc-service` for OpenRC, else SysV init scripts).
//!
//! - systemd: the `systemd` module's logic with `name`, `state` and `enabled`; `pattern`,
//!   `sleep`, `arguments` and `runlevel` do not apply (a warning says so, as Ansible's).
//! - SysV: `service NAME status|start|stop|reload` (with `arguments`); restart is stop,
//!   `sleep` seconds, start; running is the status command's answer, or with `pattern`
//!   a `ps auxww` line containing it; boot links with `update-rc.d` (links in
//!   `/etc/rc[2-5].d` decide) or `chkconfig`.
//! - OpenRC: `rc-service` and `rc-update` in `runlevel`.

use crate::connection::Connection;
use crate::modules::system::{fact, has_command, run, run_env};
use crate::modules::systemd::{self, UnitRequest};
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::{self, Value};

pub struct Service;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("name", Kind::Str).required(),
    Param::new("state", Kind::Str).choices(&["reloaded", "restarted", "started", "stopped"]),
    Param::new("sleep", Kind::Int),
    Param::new("pattern", Kind::Str),
    Param::new("enabled", Kind::Bool),
    Param::new("runlevel", Kind::Str).default("default"),
    Param::new("arguments", Kind::Str)
        .aliases(&["args"])
        .default(""),
    Param::new("use", Kind::Str).default("auto"),
])
.required_one_of(&[&["state", "enabled"]]);

impl Module for Service {
    fn name(&self) -> &'static str {
        "service"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let manager = match args.str("use").filter(|u| *u != "auto") {
            Some(chosen) => chosen.to_string(),
            None => match fact(ctx, "service_mgr") {
                Some(m) => m,
                None => detect(ctx.conn)?,
            },
        };
        let name = args.str("name").unwrap_or_default().to_string();
        let state = args.str("state").map(str::to_string);
        let enabled = args.get("enabled").and_then(value::to_bool);
        let backend = match manager.as_str() {
            "systemd" => return on_systemd(ctx, args, name, state, enabled),
            "openrc" => Backend::OpenRc,
            "sysvinit" | "service" => Backend::SysV,
            other => {
                return Ok(ModuleResult::failed(format!(
                    "srplay's service module does not support the service manager '{other}' (systemd, sysvinit and openrc are)"
                )));
            }
        };
        let job = Job {
            backend,
            name,
            arguments: shlex::split(args.str("arguments").unwrap_or_default())
                .ok_or_else(|| "arguments: unbalanced quotes".to_string())?,
            runlevel: args.str("runlevel").unwrap_or("default").to_string(),
            check_mode: ctx.check_mode,
        };
        let mut result = ModuleResult::ok().with("name", job.name.clone());
        if let Some(state) = state.as_deref() {
            let running = job.is_running(ctx.conn, args.str("pattern"))?;
            let actions: &[&str] = match state {
                "started" if !running => &["start"],
                "stopped" if running => &["stop"],
                "started" | "stopped" => &[],
                _ if !running => &["start"],
                "restarted" => &["stop", "start"],
                _ => &["reload"],
            };
            let pause = args.int("sleep").filter(|s| *s > 0 && !ctx.check_mode);
            for (i, action) in actions.iter().enumerate() {
                if let (Some(secs), true) = (pause, i > 0) {
                    run(ctx.conn, &["sleep", &secs.to_string()])?;
                }
                result.changed = true;
                if let Err(msg) = job.control(ctx.conn, action)? {
                    return Ok(ModuleResult::failed(msg));
                }
            }
            let reported = if state == "stopped" {
                "stopped"
            } else {
                "started"
            };
            result = result.with("state", reported);
        }
        if let Some(want) = enabled {
            if job.is_enabled(ctx.conn)? != want {
                result.changed = true;
                if let Err(msg) = job.set_enabled(ctx.conn, want)? {
                    return Ok(ModuleResult::failed(msg));
                }
            }
            result = result.with("enabled", want);
        }
        Ok(result)
    }
}

/// The host's init system when no fact tells it.
fn detect(conn: &mut dyn Connection) -> Result<String, String> {
    let comm = run(conn, &["cat", "/proc/1/comm"])?;
    Ok(if comm.stdout.trim() == "systemd" {
        "systemd"
    } else if has_command(conn, "rc-service")? {
        "openrc"
    } else {
        "sysvinit"
    }
    .to_string())
}

fn on_systemd(
    ctx: &mut ModuleContext<'_>,
    args: &Args,
    name: String,
    state: Option<String>,
    enabled: Option<bool>,
) -> Result<ModuleResult, ModuleError> {
    let ignored: Vec<Value> = ["pattern", "sleep", "arguments", "runlevel"]
        .into_iter()
        .filter(|p| {
            // Defaults are not the user's doing; only what the task set is worth a warning.
            args.get(p)
                .is_some_and(|v| !matches!(v.as_str(), Some("") | Some("default")))
        })
        .map(|p| Value::String(format!("Ignoring \"{p}\" as it is not used in \"systemd\"")))
        .collect();
    let req = UnitRequest {
        name: Some(name),
        state,
        enabled,
        scope: "system".into(),
        ..UnitRequest::default()
    };
    let mut result = systemd::manage(ctx, &req)?;
    if !ignored.is_empty() {
        result = result.with("warnings", Value::Array(ignored));
    }
    Ok(result)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Backend {
    SysV,
    OpenRc,
}

/// One service on a non-systemd host.
struct Job {
    backend: Backend,
    name: String,
    /// `arguments`, split as a shell would.
    arguments: Vec<String>,
    runlevel: String,
    check_mode: bool,
}

impl Job {
    /// `service NAME ACTION` (or `rc-service`); `arguments` go to the actions that
    /// change the service, not to `status`, as Ansible does.
    fn command(&self, action: &str) -> Vec<String> {
        let program = match self.backend {
            Backend::SysV => "service",
            Backend::OpenRc => "rc-service",
        };
        let mut argv = vec![program.to_string(), self.name.clone(), action.to_string()];
        if action != "status" {
            argv.extend(self.arguments.iter().cloned());
        }
        argv
    }

    fn is_running(&self, conn: &mut dyn Connection, pattern: Option<&str>) -> Result<bool, String> {
        if let Some(pattern) = pattern {
            let ps = run(conn, &["ps", "auxww"])?;
            // The line of the command that carries the pattern itself is not the service.
            return Ok(ps
                .stdout
                .lines()
                .any(|l| l.contains(pattern) && !l.contains("pattern=")));
        }
        let status = run_env(conn, &self.command("status"), &[])?;
        // Init scripts disagree on status codes; like Ansible, trust words that say stopped.
        let text = status
            .stdout
            .to_lowercase()
            .replace(&self.name.to_lowercase(), "");
        Ok(status.success() && !text.contains("not running") && !text.contains("stopped"))
    }

    /// Run `start`/`stop`/`reload` unless in check mode; `Err` carries a failure message.
    fn control(
        &self,
        conn: &mut dyn Connection,
        action: &str,
    ) -> Result<Result<(), String>, String> {
        if self.check_mode {
            return Ok(Ok(()));
        }
        let r = run_env(conn, &self.command(action), &[])?;
        Ok(if r.success() {
            Ok(())
        } else {
            Err(format!(
                "Unable to {action} service {}: {}",
                self.name,
                r.output().trim()
            ))
        })
    }

    fn is_enabled(&self, conn: &mut dyn Connection) -> Result<bool, String> {
        match self.backend {
            Backend::OpenRc => {
                let r = run(conn, &["rc-update", "show", &self.runlevel])?;
                Ok(r.stdout
                    .lines()
                    .any(|l| l.split('|').next().map(str::trim) == Some(self.name.as_str())))
            }
            Backend::SysV if has_command(conn, "update-rc.d")? => {
                for level in 2..=5 {
                    let dir = format!("/etc/rc{level}.d");
                    if conn.stat(&dir, true)?.is_none() {
                        continue;
                    }
                    // Start links are `S<two digits><name>`.
                    let starts = conn.list_dir(&dir)?.into_iter().any(|f| {
                        f.strip_prefix('S')
                            .and_then(|rest| rest.get(2..))
                            .is_some_and(|n| n == self.name)
                    });
                    if starts {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Backend::SysV => {
                let r = run(conn, &["chkconfig", "--list", &self.name])?;
                Ok(r.stdout.contains("3:on") || r.stdout.contains("5:on"))
            }
        }
    }

    fn set_enabled(
        &self,
        conn: &mut dyn Connection,
        on: bool,
    ) -> Result<Result<(), String>, String> {
        if self.check_mode {
            return Ok(Ok(()));
        }
        let name = self.name.as_str();
        let steps: Vec<Vec<&str>> = match self.backend {
            Backend::OpenRc => vec![vec![
                "rc-update",
                if on { "add" } else { "del" },
                name,
                &self.runlevel,
            ]],
            Backend::SysV if has_command(conn, "update-rc.d")? => {
                // `enable` only flips existing links; `defaults` creates them first.
                let toggle = vec!["update-rc.d", name, if on { "enable" } else { "disable" }];
                if on {
                    vec![vec!["update-rc.d", name, "defaults"], toggle]
                } else {
                    vec![toggle]
                }
            }
            Backend::SysV => vec![vec!["chkconfig", name, if on { "on" } else { "off" }]],
        };
        for argv in steps {
            let r = run(conn, &argv)?;
            if !r.success() {
                let what = if on { "enable" } else { "disable" };
                return Ok(Err(format!(
                    "Unable to {what} service {name}: {}",
                    r.output().trim()
                )));
            }
        }
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    fn sysv_host() -> FakeConnection {
        FakeConnection::new()
            .on("^cat /proc/1/comm$", 0, "init\n")
            .on("command -v \"\\$1\"' sh rc-service$", 1, "")
            .on(
                "command -v \"\\$1\"' sh update-rc.d$",
                0,
                "/usr/sbin/update-rc.d\n",
            )
    }

    #[test]
    fn the_service_mgr_fact_sends_systemd_hosts_to_the_systemd_logic() {
        let conn = FakeConnection::new().on(
            "^systemctl show app$",
            0,
            "LoadState=loaded\nActiveState=inactive\n",
        );
        let mut h = Harness::fake(conn).var("ansible_facts['service_mgr']", json!("systemd"));
        let r = h.run(
            &Service,
            json!({"name": "app", "state": "started", "sleep": 2}),
        );
        assert!(r.changed);
        assert_eq!(h.conn.ran("^systemctl start app$").len(), 1);
        assert!(r.data.contains_key("status"));
        assert_eq!(
            r.data["warnings"],
            json!(["Ignoring \"sleep\" as it is not used in \"systemd\""])
        );
        assert!(h.conn.ran("/proc/1/comm").is_empty(), "the fact decides");
    }

    #[test]
    fn sysv_start_when_status_says_stopped() {
        let conn = sysv_host().on("^service app status$", 3, "app is not running\n");
        let mut h = Harness::fake(conn);
        let r = h.run(
            &Service,
            json!({"name": "app", "state": "started", "arguments": "-q"}),
        );
        assert!(r.changed);
        assert_eq!(h.conn.ran("^service app start -q$").len(), 1);
        assert_eq!(r.data["state"], "started");
    }

    #[test]
    fn sysv_running_service_is_left_alone_and_pattern_decides_when_given() {
        let conn = sysv_host().on("^service app status$", 0, "app is running\n");
        let mut h = Harness::fake(conn);
        assert!(
            !h.run(&Service, json!({"name": "app", "state": "started"}))
                .changed
        );

        let conn = sysv_host().on("^ps auxww$", 0, "root 1 0 /usr/bin/appd --serve\n");
        let mut h = Harness::fake(conn);
        let r = h.run(
            &Service,
            json!({"name": "app", "state": "stopped", "pattern": "appd"}),
        );
        assert!(r.changed);
        assert_eq!(h.conn.ran("^service app stop$").len(), 1);
    }

    #[test]
    fn sysv_restart_is_stop_sleep_start() {
        let conn = sysv_host().on("^service app status$", 0, "running\n");
        let mut h = Harness::fake(conn);
        h.run(
            &Service,
            json!({"name": "app", "state": "restarted", "sleep": 2}),
        );
        let controls = h.conn.ran("^(service app (stop|start)|sleep 2)$");
        assert_eq!(
            controls,
            ["service app stop", "sleep 2", "service app start"]
        );
    }

    #[test]
    fn sysv_enable_uses_update_rc_d_links() {
        let mut h = Harness::fake(sysv_host().file("/etc/rc2.d/K01app", ""));
        let r = h.run(&Service, json!({"name": "app", "enabled": true}));
        assert!(r.changed);
        assert_eq!(
            h.conn.ran("^update-rc.d"),
            ["update-rc.d app defaults", "update-rc.d app enable"]
        );

        let mut h = Harness::fake(sysv_host().file("/etc/rc3.d/S02app", ""));
        let r = h.run(&Service, json!({"name": "app", "enabled": true}));
        assert!(!r.changed);
    }

    #[test]
    fn openrc_uses_rc_service_and_rc_update() {
        let conn = FakeConnection::new()
            .on("^rc-service app status$", 3, " * status: stopped\n")
            .on("^rc-update show default$", 0, " sshd | default\n");
        let mut h = Harness::fake(conn).var("ansible_facts['service_mgr']", json!("openrc"));
        let r = h.run(
            &Service,
            json!({"name": "app", "state": "started", "enabled": true}),
        );
        assert!(r.changed);
        assert_eq!(h.conn.ran("^rc-service app start$").len(), 1);
        assert_eq!(h.conn.ran("^rc-update add app default$").len(), 1);
    }

    #[test]
    fn check_mode_and_failures() {
        let conn = sysv_host().on("^service app status$", 3, "stopped\n");
        let mut h = Harness::fake(conn).check();
        assert!(
            h.run(&Service, json!({"name": "app", "state": "started"}))
                .changed
        );
        assert!(h.conn.ran("^service app start").is_empty());

        let conn = sysv_host().on("^service app status$", 3, "stopped\n").on(
            "^service app start$",
            1,
            "no such service\n",
        );
        let mut h = Harness::fake(conn);
        let r = h.run(&Service, json!({"name": "app", "state": "started"}));
        assert!(r.failed);
        assert_eq!(
            r.msg.as_deref(),
            Some("Unable to start service app: no such service")
        );
    }
}
