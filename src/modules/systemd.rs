//! `systemd` (alias `systemd_service`): start, stop, restart or reload a unit, enable or
//! disable it, mask or unmask it, and `daemon_reload`/`daemon_reexec`, all with
//! `systemctl` on the host. Decides from `systemctl show` (returned as `status`, parsed
//! as Ansible parses it) and `systemctl is-enabled` first, so nothing runs when the unit
//! is already as asked; in check mode it only reports what it would change.
//!
//! `scope: user` and `global` pass `--user`/`--global` (the caller's session bus must be
//! reachable; Ansible also guesses `XDG_RUNTIME_DIR`, srplay does not).

use crate::connection::Connection;
use crate::modules::system::{Run, run};
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::{self, Map, Value};

/// The module under one of its names: `systemd`, or `systemd_service` (its newer name).
pub struct Systemd(pub &'static str);

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("name", Kind::Str).aliases(&["service", "unit"]),
    Param::new("state", Kind::Str).choices(&["reloaded", "restarted", "started", "stopped"]),
    Param::new("enabled", Kind::Bool),
    Param::new("force", Kind::Bool),
    Param::new("masked", Kind::Bool),
    Param::new("daemon_reload", Kind::Bool)
        .aliases(&["daemon-reload"])
        .default("no"),
    Param::new("daemon_reexec", Kind::Bool)
        .aliases(&["daemon-reexec"])
        .default("no"),
    Param::new("scope", Kind::Str)
        .default("system")
        .choices(&["system", "user", "global"]),
    Param::new("no_block", Kind::Bool).default("no"),
])
.required_one_of(&[&[
    "state",
    "enabled",
    "masked",
    "daemon_reload",
    "daemon_reexec",
]]);

/// What to do with a unit; `service` builds one too when the host runs systemd.
#[derive(Clone, Debug, Default)]
pub struct UnitRequest {
    pub name: Option<String>,
    pub state: Option<String>,
    pub enabled: Option<bool>,
    pub masked: Option<bool>,
    pub daemon_reload: bool,
    pub daemon_reexec: bool,
    pub scope: String,
    pub no_block: bool,
    pub force: bool,
}

impl UnitRequest {
    fn from_args(args: &Args) -> UnitRequest {
        let opt_bool = |name| args.get(name).and_then(value::to_bool);
        UnitRequest {
            name: args.str("name").map(str::to_string),
            state: args.str("state").map(str::to_string),
            enabled: opt_bool("enabled"),
            masked: opt_bool("masked"),
            daemon_reload: args.bool("daemon_reload"),
            daemon_reexec: args.bool("daemon_reexec"),
            scope: args.str("scope").unwrap_or("system").to_string(),
            no_block: args.bool("no_block"),
            force: args.bool("force"),
        }
    }
}

impl Module for Systemd {
    fn name(&self) -> &'static str {
        self.0
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        manage(ctx, &UnitRequest::from_args(args))
    }
}

/// `systemctl` with the scope and mode flags of the request, then `words`.
struct Systemctl<'r> {
    req: &'r UnitRequest,
}

impl Systemctl<'_> {
    fn run(&self, conn: &mut dyn Connection, words: &[&str]) -> Result<Run, String> {
        let mut argv = vec!["systemctl"];
        match self.req.scope.as_str() {
            "user" => argv.push("--user"),
            "global" => argv.push("--global"),
            _ => {}
        }
        if self.req.no_block {
            argv.push("--no-block");
        }
        if self.req.force {
            argv.push("--force");
        }
        argv.extend_from_slice(words);
        run(conn, &argv)
    }
}

pub fn manage(ctx: &mut ModuleContext<'_>, req: &UnitRequest) -> Result<ModuleResult, ModuleError> {
    let systemctl = Systemctl { req };
    let needs_name = [
        ("state", req.state.is_some()),
        ("enabled", req.enabled.is_some()),
        ("masked", req.masked.is_some()),
    ]
    .into_iter()
    .find(|(_, given)| *given);
    if let (None, Some((which, _))) = (&req.name, needs_name) {
        return Ok(ModuleResult::failed(format!(
            "missing parameter(s) required by '{which}': name"
        )));
    }
    for (wanted, word) in [
        (req.daemon_reload, "daemon-reload"),
        (req.daemon_reexec, "daemon-reexec"),
    ] {
        if wanted && !ctx.check_mode {
            let r = systemctl.run(ctx.conn, &[word])?;
            if !r.success() {
                return Ok(ModuleResult::failed(format!(
                    "failure {} during {word}: {}",
                    r.rc, r.stderr
                )));
            }
        }
    }
    let Some(unit) = req.name.as_deref() else {
        return Ok(ModuleResult::ok().with("status", Map::new()));
    };
    if let Some(c) = ['*', '?', '['].into_iter().find(|c| unit.contains(*c)) {
        return Ok(ModuleResult::failed(format!(
            "This module does not currently support using glob patterns, found '{c}' in service name: {unit}"
        )));
    }
    let mut result = ModuleResult::ok().with("name", unit);

    let show = systemctl.run(ctx.conn, &["show", unit])?;
    let status = if show.success() {
        parse_show(&show.stdout)
    } else {
        Map::new()
    };
    let load_state = status.get("LoadState").and_then(Value::as_str);
    let is_masked = load_state == Some("masked");
    let mut found = load_state.is_some_and(|s| s != "not-found");
    if !found {
        // `show` knows nothing of units that exist only as files in some setups
        // (chroots, a stopped manager); Ansible asks these too before giving up.
        let enabled = systemctl.run(ctx.conn, &["is-enabled", unit])?;
        found = ENABLED_STATES.contains(&enabled.stdout.trim())
            || systemctl
                .run(ctx.conn, &["list-unit-files", unit])?
                .success()
            || ctx
                .conn
                .stat(&format!("/etc/init.d/{unit}"), true)?
                .is_some();
    }
    if found
        && !is_masked
        && let Some(err) = status.get("LoadError").and_then(Value::as_str)
    {
        return Ok(ModuleResult::failed(format!(
            "Error loading unit file '{unit}': {err}"
        )));
    }

    if let Some(want_masked) = req.masked
        && is_masked != want_masked
    {
        result.changed = true;
        let action = if want_masked { "mask" } else { "unmask" };
        if !ctx.check_mode {
            let r = systemctl.run(ctx.conn, &[action, unit])?;
            if !r.success() {
                return Ok(ModuleResult::failed(format!(
                    "Failed to {action} the service ({unit}): {}",
                    r.stderr.trim()
                )));
            }
        }
    }

    if let Some(want_enabled) = req.enabled {
        if !found {
            return Ok(missing(unit));
        }
        let r = systemctl.run(ctx.conn, &["is-enabled", unit])?;
        // `indirect` and `alias` answer rc 0 but are not enabled by themselves.
        let enabled = r.success() && !matches!(r.stdout.trim(), "indirect" | "alias");
        if enabled != want_enabled {
            result.changed = true;
            let action = if want_enabled { "enable" } else { "disable" };
            if !ctx.check_mode {
                let r = systemctl.run(ctx.conn, &[action, unit])?;
                if !r.success() {
                    return Ok(ModuleResult::failed(format!(
                        "Unable to {action} service {unit}: {}",
                        r.output()
                    )));
                }
            }
        }
        result = result.with("enabled", want_enabled);
    }

    if let Some(state) = req.state.as_deref() {
        if !found {
            return Ok(missing(unit));
        }
        let Some(active) = status.get("ActiveState").and_then(Value::as_str) else {
            return Ok(ModuleResult::failed("Service is in unknown state").with("status", status));
        };
        let running = matches!(active, "active" | "activating");
        let action = match state {
            "started" => (!running).then_some("start"),
            "stopped" => (running || active == "deactivating").then_some("stop"),
            // Restarting or reloading a stopped unit starts it, as Ansible does.
            _ if !running => Some("start"),
            "restarted" => Some("restart"),
            _ => Some("reload"),
        };
        let reported = if state == "stopped" {
            "stopped"
        } else {
            "started"
        };
        result = result.with("state", reported);
        if let Some(action) = action {
            result.changed = true;
            if !ctx.check_mode {
                let r = systemctl.run(ctx.conn, &[action, unit])?;
                if !r.success() {
                    return Ok(ModuleResult::failed(format!(
                        "Unable to {action} service {unit}: {}",
                        r.stderr
                    )));
                }
            }
        }
    }
    Ok(result.with("status", status))
}

/// What `systemctl is-enabled` prints for a unit that exists (systemctl(1)).
const ENABLED_STATES: &[&str] = &[
    "enabled",
    "enabled-runtime",
    "linked",
    "linked-runtime",
    "masked",
    "masked-runtime",
    "static",
    "indirect",
    "disabled",
    "generated",
    "transient",
];

fn missing(unit: &str) -> ModuleResult {
    ModuleResult::failed(format!("Could not find the requested service {unit}: host"))
}

/// `systemctl show` output as a map: `Key=value` lines, where an `Exec*` value that
/// opens a `{` without closing it continues on the following lines up to the `}`.
pub fn parse_show(out: &str) -> Map {
    let mut parsed = Map::new();
    let mut pending: Option<(String, Vec<String>)> = None;
    for line in out.split('\n') {
        if let Some((key, mut lines)) = pending.take() {
            lines.push(line.to_string());
            if line.trim_end().ends_with('}') {
                parsed.insert(key, Value::String(lines.join("\n").trim().to_string()));
            } else {
                pending = Some((key, lines));
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.starts_with("Exec")
            && value.trim_start().starts_with('{')
            && !value.trim_end().ends_with('}')
        {
            pending = Some((key.to_string(), vec![value.to_string()]));
            continue;
        }
        parsed.insert(key.to_string(), Value::String(value.trim().to_string()));
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    const INACTIVE: &str =
        "Id=app.service\nLoadState=loaded\nActiveState=inactive\nSubState=dead\n";
    const ACTIVE: &str = "Id=app.service\nLoadState=loaded\nActiveState=active\nSubState=running\n";

    fn host(show: &str) -> FakeConnection {
        FakeConnection::new().on("^systemctl .*show app$", 0, show)
    }

    #[test]
    fn show_output_parses_multiline_exec_values() {
        let s = parse_show(
            "A=1\nExecStart={ path=/bin/sleep ;\n argv[]=/bin/sleep infinity }\nB= x \n",
        );
        assert_eq!(s["A"], "1");
        assert_eq!(
            s["ExecStart"],
            "{ path=/bin/sleep ;\n argv[]=/bin/sleep infinity }"
        );
        assert_eq!(s["B"], "x");
    }

    #[test]
    fn starts_an_inactive_unit_and_returns_its_status() {
        let mut h = Harness::fake(host(INACTIVE));
        let r = h.run(
            &Systemd("systemd"),
            json!({"name": "app", "state": "started"}),
        );
        assert!(r.changed);
        assert_eq!(h.conn.ran("^systemctl start app$").len(), 1);
        assert_eq!(r.data["state"], "started");
        assert_eq!(r.data["name"], "app");
        assert_eq!(r.data["status"]["SubState"], "dead");
    }

    #[test]
    fn a_running_unit_asked_started_is_left_alone() {
        let mut h = Harness::fake(host(ACTIVE));
        let r = h.run(
            &Systemd("systemd"),
            json!({"name": "app", "state": "started"}),
        );
        assert!(!r.changed);
        assert!(h.conn.ran("^systemctl (start|stop|restart)").is_empty());
    }

    #[test]
    fn restart_of_a_stopped_unit_starts_it_and_of_a_running_one_restarts() {
        let mut h = Harness::fake(host(INACTIVE));
        h.run(
            &Systemd("systemd"),
            json!({"name": "app", "state": "restarted"}),
        );
        assert_eq!(h.conn.ran("^systemctl start app$").len(), 1);
        let mut h = Harness::fake(host(ACTIVE));
        let r = h.run(
            &Systemd("systemd"),
            json!({"name": "app", "state": "reloaded"}),
        );
        assert!(r.changed);
        assert_eq!(h.conn.ran("^systemctl reload app$").len(), 1);
    }

    #[test]
    fn enable_runs_only_when_disabled() {
        let conn = host(ACTIVE).on("is-enabled app", 1, "disabled\n");
        let mut h = Harness::fake(conn);
        let r = h.run(&Systemd("systemd"), json!({"name": "app", "enabled": true}));
        assert!(r.changed);
        assert_eq!(r.data["enabled"], true);
        assert_eq!(h.conn.ran("^systemctl enable app$").len(), 1);

        let mut h = Harness::fake(host(ACTIVE).on("is-enabled app", 0, "enabled\n"));
        let r = h.run(&Systemd("systemd"), json!({"name": "app", "enabled": true}));
        assert!(!r.changed);
        assert!(h.conn.ran("^systemctl enable").is_empty());
    }

    #[test]
    fn check_mode_reports_without_acting() {
        let conn = host(INACTIVE).on("is-enabled app", 1, "disabled\n");
        let mut h = Harness::fake(conn).check();
        let r = h.run(
            &Systemd("systemd"),
            json!({"name": "app", "state": "started", "enabled": true, "daemon_reload": true}),
        );
        assert!(r.changed);
        assert!(
            h.conn
                .ran("^systemctl (start|enable|daemon-reload)")
                .is_empty()
        );
    }

    #[test]
    fn daemon_reload_comes_first_and_scope_flags_are_passed() {
        let mut h = Harness::fake(host(INACTIVE));
        h.run(
            &Systemd("systemd"),
            json!({"name": "app", "state": "started", "daemon_reload": true, "scope": "user", "no_block": true}),
        );
        assert_eq!(h.conn.log[0], "systemctl --user --no-block daemon-reload");
        assert_eq!(
            h.conn.ran("^systemctl --user --no-block start app$").len(),
            1
        );
    }

    #[test]
    fn mask_and_unmask_follow_load_state() {
        let mut h = Harness::fake(host(INACTIVE));
        let r = h.run(&Systemd("systemd"), json!({"name": "app", "masked": true}));
        assert!(r.changed);
        assert_eq!(h.conn.ran("^systemctl mask app$").len(), 1);
        let masked = "LoadState=masked\nActiveState=inactive\n";
        let mut h = Harness::fake(host(masked));
        let r = h.run(&Systemd("systemd"), json!({"name": "app", "masked": true}));
        assert!(!r.changed);
    }

    #[test]
    fn a_missing_unit_fails_with_ansibles_message() {
        let conn = host("LoadState=not-found\nActiveState=inactive\n")
            .on("is-enabled", 1, "")
            .on("list-unit-files", 1, "");
        let mut h = Harness::fake(conn);
        let r = h.run(
            &Systemd("systemd"),
            json!({"name": "app", "state": "started"}),
        );
        assert!(r.failed);
        assert_eq!(
            r.msg.as_deref(),
            Some("Could not find the requested service app: host")
        );
    }

    #[test]
    fn failures_of_systemctl_are_reported() {
        let conn = host(INACTIVE).on("^systemctl start", 1, "");
        let mut h = Harness::fake(conn);
        let r = h.run(
            &Systemd("systemd"),
            json!({"name": "app", "state": "started"}),
        );
        assert!(r.failed);
        assert!(r.msg.unwrap().starts_with("Unable to start service app"));
    }

    #[test]
    fn names_with_globs_and_missing_arguments_are_refused() {
        let mut h = Harness::fake(FakeConnection::new());
        let r = h.run(
            &Systemd("systemd"),
            json!({"name": "app*", "state": "started"}),
        );
        assert!(r.failed);
        let err = h
            .try_run(&Systemd("systemd"), json!({"name": "app"}))
            .unwrap_err();
        assert!(err.contains("one of the following is required"), "{err}");
    }
}
