//! `sysctl` (`ansible.posix.sysctl`): a kernel parameter in a sysctl file and,
//! optionally, in the running kernel.
//!
//! As Ansible's: the file is rewritten as `key=value` lines (comments and blank lines
//! kept, a repeated key kept once), `reload` runs `sysctl -p FILE` when something
//! changed or the running value differs, `sysctl_set` sets the running value with
//! `sysctl -w`. Boolean-looking values become `1`/`0`. Returns only `changed`, as
//! Ansible's module does (it has no `--diff`).

use crate::connection::{Connection, ExecRequest, FileAttrs};
use crate::modules::files::{self, AttrParams};
use crate::modules::remote::{self, Ran};
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::{self, Value};

pub struct Sysctl;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("name", Kind::Str).required().aliases(&["key"]),
    Param::new("value", Kind::Raw).aliases(&["val"]),
    Param::new("state", Kind::Str)
        .default("present")
        .choices(&["present", "absent"]),
    Param::new("reload", Kind::Bool).default("yes"),
    Param::new("sysctl_set", Kind::Bool).default("no"),
    Param::new("ignoreerrors", Kind::Bool).default("no"),
    Param::new("sysctl_file", Kind::Path).default("/etc/sysctl.conf"),
    Param::new("mode", Kind::Mode),
    Param::new("owner", Kind::Str),
    Param::new("group", Kind::Str),
]);

impl Module for Sysctl {
    fn name(&self) -> &'static str {
        "sysctl"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let name = args.str("name").unwrap_or_default().trim().to_string();
        let present = args.str("state") == Some("present");
        let wanted = args.get("value").map(normalize_value);
        if name.is_empty() {
            return Ok(ModuleResult::failed("name cannot be blank"));
        }
        let wanted = match (present, wanted) {
            (true, None) => {
                return Ok(ModuleResult::failed(
                    "state is present but all of the following are missing: value",
                ));
            }
            (true, Some(v)) if v.is_empty() => {
                return Ok(ModuleResult::failed("value cannot be blank"));
            }
            (_, v) => v.unwrap_or_default(),
        };
        let file = files::expand_user(ctx.conn, args.str("sysctl_file").unwrap_or_default())?;
        let ignore = args.bool("ignoreerrors");

        let running = sysctl(ctx.conn, &["-e", "-n", &name])?;
        let running = running
            .ok()
            .then(|| running.stdout.trim_end_matches('\n').to_string());
        let exists = ctx.conn.stat(&file, true)?.is_some();
        let text = if exists {
            String::from_utf8_lossy(&ctx.conn.read_file(&file)?).into_owned()
        } else {
            String::new()
        };
        let edit = SysctlFile::parse(&text).set(&name, present.then_some(wanted.as_str()));

        let mut changed = false;
        let mut write = false;
        let mut set_running = false;
        match (&edit.old_value, present) {
            (None, true) => (changed, write) = (true, true),
            (None, false) => {}
            (Some(_), false) => (changed, write) = (true, true),
            (Some(old), true) if *old != wanted => (changed, write) = (true, true),
            _ if args.bool("reload") => changed = !same_words(running.as_deref(), &wanted),
            _ => {}
        }
        if args.bool("sysctl_set") && present && !same_words(running.as_deref(), &wanted) {
            changed = true;
            set_running = running.is_some();
        }
        let attrs = AttrParams::from_args(args);
        if ctx.check_mode {
            if exists {
                changed |= files::apply_attrs(ctx.conn, &file, &attrs, true, true)?.changed;
            }
            return Ok(ModuleResult::changed(changed));
        }
        if set_running {
            let assignment = format!("{name}={wanted}");
            let mut argv = vec![];
            if ignore {
                argv.push("-e");
            }
            argv.extend(["-w", &assignment]);
            let ran = sysctl(ctx.conn, &argv)?;
            if !ran.ok() || setting_failed(&ran.stderr) {
                return Ok(ModuleResult::failed(format!(
                    "setting {name} failed: {}{}",
                    ran.stdout, ran.stderr
                )));
            }
        }
        if write {
            // A replaced file keeps its attributes; a new one gets the connection's default.
            ctx.conn
                .write_file(&file, edit.text.as_bytes(), &FileAttrs::default())?;
        }
        changed |= files::apply_attrs(ctx.conn, &file, &attrs, true, false)?.changed;
        if changed && args.bool("reload") {
            let mut argv = vec![];
            if ignore {
                argv.push("-e");
            }
            argv.extend(["-p", &file]);
            let ran = sysctl(ctx.conn, &argv)?;
            if !ran.ok() || setting_failed(&ran.stderr) {
                return Ok(ModuleResult::failed(format!(
                    "Failed to reload sysctl: {}{}",
                    ran.stdout, ran.stderr
                )));
            }
        }
        Ok(ModuleResult::changed(changed))
    }
}

/// Run `sysctl` with C messages (its stderr is read for errors).
fn sysctl(conn: &mut dyn Connection, args: &[&str]) -> Result<Ran, String> {
    let mut argv = vec!["sysctl".to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    let mut req = ExecRequest::argv(argv);
    req.env = vec![("LANG".into(), "C".into()), ("LC_ALL".into(), "C".into())];
    remote::run_req(conn, &req)
}

/// `sysctl -w` may exit 0 yet not set the value: these messages say it did not.
fn setting_failed(stderr: &str) -> bool {
    stderr.lines().any(|l| {
        l.starts_with("sysctl: setting key \"")
            && (l.ends_with("\": Invalid argument") || l.ends_with("\": Read-only file system"))
    })
}

/// A value as the file and the kernel write it: booleans as `1`/`0`, trimmed.
fn normalize_value(v: &Value) -> String {
    match v {
        Value::Bool(b) => if *b { "1" } else { "0" }.to_string(),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "y" | "yes" | "on" | "true" | "t" | "1" => "1".to_string(),
            "n" | "no" | "off" | "false" | "f" | "0" => "0".to_string(),
            _ => s.trim().to_string(),
        },
        other => value::to_display_string(other),
    }
}

/// Kernel values compare word by word (`4096 87380 6291456` vs tabs).
fn same_words(running: Option<&str>, wanted: &str) -> bool {
    running.is_some_and(|r| r.split_whitespace().eq(wanted.split_whitespace()))
}

/// A sysctl file with one key set or removed.
struct SysctlFile {
    lines: Vec<String>,
}

struct Edited {
    /// The key's value in the file before the edit.
    old_value: Option<String>,
    text: String,
}

impl SysctlFile {
    fn parse(text: &str) -> SysctlFile {
        SysctlFile {
            lines: text.lines().map(|l| l.trim().to_string()).collect(),
        }
    }

    /// Rewrite every `key = value` line as `key=value`, each key once (its first
    /// line), the given key with `value` (or dropped for `None`), appended if new.
    fn set(&self, name: &str, value: Option<&str>) -> Edited {
        let mut seen: Vec<&str> = Vec::new();
        let mut old_value = None;
        let mut out = Vec::new();
        for line in &self.lines {
            let entry = line
                .split_once('=')
                .filter(|_| !line.is_empty() && !line.starts_with(['#', ';']));
            let Some((k, v)) = entry else {
                out.push(line.clone());
                continue;
            };
            let (k, v) = (k.trim(), v.trim());
            // The last line of a key is the one the kernel ends up with.
            if k == name {
                old_value = Some(v.to_string());
            }
            if seen.contains(&k) {
                continue;
            }
            seen.push(k);
            match (k == name, value) {
                (true, Some(new)) => out.push(format!("{k}={new}")),
                (true, None) => {}
                (false, _) => out.push(format!("{k}={v}")),
            }
        }
        if let (false, Some(new)) = (seen.contains(&name), value) {
            out.push(format!("{name}={new}"));
        }
        let mut text = out.join("\n");
        if !out.is_empty() {
            text.push('\n');
        }
        Edited { old_value, text }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    const CONF: &str = "/etc/sysctl.d/90-x.conf";

    #[test]
    fn the_file_is_normalized_as_ansible_writes_it() {
        let f = SysctlFile::parse("# c\nvm.swappiness = 10\n\nnet.x=1\nvm.swappiness=20\n");
        let e = f.set("vm.swappiness", Some("5"));
        assert_eq!(e.old_value.as_deref(), Some("20"));
        assert_eq!(e.text, "# c\nvm.swappiness=5\n\nnet.x=1\n");
        assert_eq!(f.set("net.x", None).text, "# c\nvm.swappiness=10\n\n");
        assert_eq!(
            f.set("new.key", Some("on")).text.lines().last(),
            Some("new.key=on")
        );
    }

    #[test]
    fn a_new_key_is_written_and_reloaded_then_stays_unchanged() {
        let conn = FakeConnection::new().on("^sysctl -e -n vm.swappiness", 0, "60\n");
        let mut h = Harness::fake(conn);
        let args = json!({"name": "vm.swappiness", "value": 10, "sysctl_file": CONF});
        let r = h.run(&Sysctl, args.clone());
        assert!(r.changed);
        assert_eq!(h.conn.read_file(CONF).unwrap(), b"vm.swappiness=10\n");
        assert_eq!(h.conn.ran("^sysctl -p"), [format!("sysctl -p {CONF}")]);

        // The file is right and the kernel now agrees: nothing to do.
        h.conn =
            FakeConnection::new()
                .file(CONF, "vm.swappiness=10\n")
                .on("^sysctl -e -n", 0, "10\n");
        let r = h.run(&Sysctl, args);
        assert!(!r.changed);
        assert!(h.conn.ran("^sysctl -p").is_empty());
    }

    #[test]
    fn sysctl_set_writes_the_running_value_and_booleans_become_digits() {
        let conn = FakeConnection::new()
            .file(CONF, "net.ipv4.ip_forward=1\n")
            .on("^sysctl -e -n", 0, "0\n");
        let mut h = Harness::fake(conn);
        let r = h.run(
            &Sysctl,
            json!({"name": "net.ipv4.ip_forward", "value": "yes", "sysctl_set": true, "reload": false, "sysctl_file": CONF}),
        );
        assert!(r.changed);
        assert_eq!(h.conn.ran("-w"), ["sysctl -w 'net.ipv4.ip_forward=1'"]);
    }

    #[test]
    fn check_mode_and_absent() {
        let conn = FakeConnection::new().file(CONF, "a.b=1\n");
        let mut h = Harness::fake(conn).check();
        let r = h.run(
            &Sysctl,
            json!({"name": "a.b", "state": "absent", "sysctl_file": CONF}),
        );
        assert!(r.changed);
        assert_eq!(h.conn.read_file(CONF).unwrap(), b"a.b=1\n");
        h.check_mode = false;
        h.run(
            &Sysctl,
            json!({"name": "a.b", "state": "absent", "sysctl_file": CONF, "reload": false}),
        );
        assert_eq!(h.conn.read_file(CONF).unwrap(), b"");
    }

    #[test]
    fn a_failed_set_reports_sysctls_message() {
        let conn = FakeConnection::new()
            .on("^sysctl -e -n", 0, "0\n")
            .on("^sysctl -w", 0, "")
            .on("^sysctl -p", 255, "sysctl: cannot stat /proc/sys/x/y");
        let mut h = Harness::fake(conn);
        let r = h.run(
            &Sysctl,
            json!({"name": "x.y", "value": 1, "sysctl_file": CONF}),
        );
        assert!(r.failed);
        assert!(
            r.msg
                .unwrap()
                .starts_with("Failed to reload sysctl: sysctl: cannot stat")
        );
    }
}
