//! `group`: a local group, by the host's `groupadd`, `groupmod` and `groupdel`.
//! Returns `name`, `state`, and for a present group `gid` and `system`, as Ansible.
//!
//! Not supported: `local` (the `lgroupadd` family), non-Linux hosts.

use crate::modules::accounts;
use crate::modules::remote::{self, Ran};
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};

pub struct Group;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("name", Kind::Str).required(),
    Param::new("gid", Kind::Int),
    Param::new("state", Kind::Str)
        .default("present")
        .choices(&["absent", "present"]),
    Param::new("force", Kind::Bool).default("no"),
    Param::new("system", Kind::Bool).default("no"),
    Param::new("non_unique", Kind::Bool).default("no"),
    Param::new("gid_min", Kind::Int),
    Param::new("gid_max", Kind::Int),
]);

impl Module for Group {
    fn name(&self) -> &'static str {
        "group"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let name = args.str("name").unwrap_or_default().to_string();
        let present = args.str("state") == Some("present");
        let gid = args.int("gid").map(|g| g.to_string());
        let existing = accounts::group(ctx.conn, &name)?;
        let mut argv: Vec<String> = Vec::new();
        let mut push = |items: &[&str]| argv.extend(items.iter().map(|s| s.to_string()));
        match (&existing, present) {
            (Some(_), false) => {
                push(&["groupdel"]);
                if args.bool("force") {
                    push(&["-f"]);
                }
            }
            (None, true) => {
                push(&["groupadd"]);
                if let Some(gid) = &gid {
                    push(&["-g", gid]);
                    if args.bool("non_unique") {
                        push(&["-o"]);
                    }
                }
                if args.bool("system") {
                    push(&["-r"]);
                }
                for (param, key) in [("gid_min", "GID_MIN"), ("gid_max", "GID_MAX")] {
                    if let Some(v) = args.int(param) {
                        push(&["-K", &format!("{key}={v}")]);
                    }
                }
            }
            (Some(group), true) => {
                if let Some(wanted) = gid.as_ref().filter(|g| **g != group.gid.to_string()) {
                    push(&["groupmod", "-g", wanted]);
                    if args.bool("non_unique") {
                        push(&["-o"]);
                    }
                }
            }
            (None, false) => {}
        }
        let creating_or_removing = existing.is_some() != present;
        if ctx.check_mode && creating_or_removing {
            // As Ansible: only `changed`, since nothing can be looked up yet.
            return Ok(ModuleResult::changed(true));
        }
        let mut result = ModuleResult::ok()
            .with("name", name.clone())
            .with("state", if present { "present" } else { "absent" });
        if !argv.is_empty() {
            argv.push(name.clone());
            result.changed = true;
            if !ctx.check_mode {
                let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
                let ran = remote::run(ctx.conn, &argv)?;
                if let Some(failed) = command_failure(&ran, &name) {
                    return Ok(failed);
                }
                result = with_output(result, &ran);
            }
        }
        if present && let Some(group) = accounts::group(ctx.conn, &name)? {
            result = result
                .with("system", args.bool("system"))
                .with("gid", group.gid);
        }
        Ok(result)
    }
}

/// A failed account command, reported as Ansible's modules do: `msg` is its stderr.
pub fn command_failure(ran: &Ran, name: &str) -> Option<ModuleResult> {
    (!ran.ok()).then(|| {
        ModuleResult::failed(ran.stderr.clone())
            .with("name", name.to_string())
            .with("rc", ran.rc)
    })
}

/// `stdout`/`stderr` of the command that ran, when not empty.
pub fn with_output(mut result: ModuleResult, ran: &Ran) -> ModuleResult {
    if !ran.stdout.is_empty() {
        result = result.with("stdout", ran.stdout.clone());
    }
    if !ran.stderr.is_empty() {
        result = result.with("stderr", ran.stderr.clone());
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    #[test]
    fn creates_with_gid_and_reports_it() {
        let conn = FakeConnection::new().once("^getent group ops", 2, "").on(
            "^getent group ops",
            0,
            "ops:x:4200:\n",
        );
        let mut h = Harness::fake(conn);
        let r = h.run(&Group, json!({"name": "ops", "gid": 4200, "system": true}));
        assert!(r.changed);
        assert_eq!(h.conn.ran("^group"), ["groupadd -g 4200 -r ops"]);
        assert_eq!(r.data["gid"], json!(4200));
        assert_eq!(r.data["system"], json!(true));
    }

    #[test]
    fn an_existing_group_changes_only_its_gid() {
        let conn = FakeConnection::new().on("^getent group ops", 0, "ops:x:4200:\n");
        let mut h = Harness::fake(conn);
        assert!(!h.run(&Group, json!({"name": "ops", "gid": 4200})).changed);
        assert!(!h.run(&Group, json!({"name": "ops"})).changed);
        let r = h.run(&Group, json!({"name": "ops", "gid": 4300}));
        assert!(r.changed);
        assert_eq!(h.conn.ran("^group"), ["groupmod -g 4300 ops"]);
    }

    #[test]
    fn removal_and_check_mode() {
        let conn = FakeConnection::new().on("^getent group ops", 0, "ops:x:4200:\n");
        let mut h = Harness::fake(conn).check();
        let r = h.run(&Group, json!({"name": "ops", "state": "absent"}));
        assert!(r.changed && r.data.is_empty());
        assert!(h.conn.ran("^groupdel").is_empty());
        h.check_mode = false;
        h.conn = FakeConnection::new()
            .on("^getent group ops", 0, "ops:x:4200:\n")
            .on("^groupdel", 8, "");
        let r = h.run(
            &Group,
            json!({"name": "ops", "state": "absent", "force": true}),
        );
        assert!(r.failed);
        assert_eq!(h.conn.ran("^groupdel"), ["groupdel -f ops"]);
    }
}
