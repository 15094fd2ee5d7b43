//! `async_status`: the state of a job a task started with `async:` and `poll: 0`.
//!
//! A job lives in `~/.ansible_async/` on the host (the user the task acts as), as
//! Ansible's does: a command run in the background writes `<jid>.out`, `<jid>.err`
//! and, when it ends, `<jid>.rc`; a module that needed no background command left
//! its whole result as `<jid>.json`. The engine starts jobs (`engine::async_job`).

use crate::connection::Connection;
use crate::modules::output::command_result;
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::{Map, Value};

pub struct AsyncStatus;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("jid", Kind::Str).required(),
    Param::new("mode", Kind::Str)
        .default("status")
        .choices(&["status", "cleanup"]),
    // Set by the engine from `ansible_async_dir`, as Ansible's action plugin does.
    Param::new("_async_dir", Kind::Str),
]);

/// Where the host keeps its jobs' files: `ansible_async_dir`, else `~/.ansible_async`.
pub fn job_dir(conn: &mut dyn Connection, configured: Option<&str>) -> Result<String, String> {
    match configured {
        Some(dir) if dir.starts_with("~/") => Ok(format!("{}/{}", conn.home_dir()?, &dir[2..])),
        Some(dir) if !dir.is_empty() => Ok(dir.to_string()),
        _ => Ok(format!("{}/.ansible_async", conn.home_dir()?)),
    }
}

impl Module for AsyncStatus {
    fn name(&self) -> &'static str {
        "async_status"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let jid = args.str("jid").unwrap_or_default().to_string();
        if jid.is_empty() || jid.contains('/') {
            return Ok(ModuleResult::failed(format!("invalid jid {jid:?}")));
        }
        let dir = job_dir(ctx.conn, args.str("_async_dir"))?;
        let base = format!("{dir}/{jid}");
        let tag = |r: ModuleResult| {
            r.with("ansible_job_id", jid.clone())
                .with("results_file", base.clone())
        };
        if args.str("mode") == Some("cleanup") {
            for ext in ["out", "err", "rc", "in", "json"] {
                ctx.conn.remove(&format!("{base}.{ext}"), false)?;
            }
            return Ok(tag(ModuleResult::ok()).with("erased", base.clone()));
        }
        if ctx.conn.stat(&format!("{base}.json"), false)?.is_some() {
            let text = ctx.conn.read_file(&format!("{base}.json"))?;
            let saved: Map = serde_json::from_slice(&text)
                .map_err(|e| format!("the job's result file {base}.json is not JSON: {e}"))?;
            return Ok(tag(from_saved(saved))
                .with("finished", true)
                .with("started", true));
        }
        if ctx.conn.stat(&format!("{base}.rc"), false)?.is_some() {
            let read = |conn: &mut dyn Connection, ext: &str| -> Result<String, String> {
                let bytes = conn.read_file(&format!("{base}.{ext}"))?;
                Ok(String::from_utf8_lossy(&bytes).into_owned())
            };
            let rc = read(ctx.conn, "rc")?.trim().parse::<i32>().unwrap_or(-1);
            let (out, err) = (read(ctx.conn, "out")?, read(ctx.conn, "err")?);
            let trim = |s: String| s.strip_suffix('\n').map(str::to_string).unwrap_or(s);
            let result = command_result(rc, trim(out), trim(err));
            return Ok(tag(result).with("finished", true).with("started", true));
        }
        if ctx.conn.stat(&format!("{base}.out"), false)?.is_some() {
            return Ok(tag(ModuleResult::ok())
                .with("finished", false)
                .with("started", true));
        }
        Ok(tag(ModuleResult::failed("could not find job"))
            .with("finished", true)
            .with("started", true))
    }
}

/// A result saved as JSON back into a module result.
fn from_saved(mut saved: Map) -> ModuleResult {
    let flag = |m: &mut Map, k: &str| m.remove(k).and_then(|v| v.as_bool()).unwrap_or(false);
    let changed = flag(&mut saved, "changed");
    let failed = flag(&mut saved, "failed");
    let skipped = flag(&mut saved, "skipped");
    let msg = match saved.remove("msg") {
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
        None => None,
    };
    ModuleResult {
        changed,
        failed,
        skipped,
        msg,
        diff: Vec::new(),
        diff_list: false,
        data: saved,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    #[test]
    fn running_finished_saved_and_missing_jobs() {
        let conn = FakeConnection::new()
            .file("/root/.ansible_async/j1.out", "")
            .file("/root/.ansible_async/j2.out", "hello\n")
            .file("/root/.ansible_async/j2.err", "")
            .file("/root/.ansible_async/j2.rc", "3\n")
            .file(
                "/root/.ansible_async/j3.json",
                r#"{"changed": false, "msg": "skipped, since x exists", "rc": 0}"#,
            );
        let mut h = Harness::fake(conn);
        let running = h.run(&AsyncStatus, json!({"jid": "j1"}));
        assert_eq!(running.data["finished"], json!(false));
        let done = h.run(&AsyncStatus, json!({"jid": "j2"}));
        assert_eq!(
            (done.data["finished"].clone(), done.data["rc"].clone()),
            (json!(true), json!(3))
        );
        assert!(done.failed);
        assert_eq!(done.data["stdout"], json!("hello"));
        let saved = h.run(&AsyncStatus, json!({"jid": "j3"}));
        assert_eq!(saved.msg.as_deref(), Some("skipped, since x exists"));
        assert!(!saved.changed);
        let missing = h.run(&AsyncStatus, json!({"jid": "j4"}));
        assert_eq!(missing.msg.as_deref(), Some("could not find job"));
        h.run(&AsyncStatus, json!({"jid": "j2", "mode": "cleanup"}));
        assert!(h.conn.files.keys().all(|f| !f.contains("j2.")));
    }
}
