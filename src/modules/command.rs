//! `command`: run a program with its arguments, without a shell.
//!
//! The command is the free-form text (`command: ls -l /tmp`, split with shell-like
//! quoting), `cmd`, or `argv` (a list, no splitting). `creates`/`removes` skip the run
//! when a path exists (or does not); `chdir` runs it elsewhere; `stdin` feeds it.
//! Returns `cmd`, `rc`, `stdout`, `stderr`, `stdout_lines`, `stderr_lines`, `start`,
//! `end`, `delta`; fails with "non-zero return code" when `rc` is not 0. Always
//! `changed` when it ran. In check mode the command does not run: the task is skipped,
//! unless `creates`/`removes` are given, in which case it reports whether it would run.
//!
//! Not supported: `expand_argument_vars` (arguments are passed as written), globs in
//! `creates`/`removes` (they name one path).

use std::time::Instant;

use chrono::Local;

use crate::connection::{Command as Run, ExecRequest, PathGuard};
use crate::modules::files::expand_user;
use crate::modules::output::{command_result, delta, lines, timestamp};
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::Value;

pub struct Command;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("cmd", Kind::Str),
    Param::new("argv", Kind::List),
    Param::new("chdir", Kind::Path),
    Param::new("creates", Kind::Path),
    Param::new("removes", Kind::Path),
    Param::new("stdin", Kind::Str),
    Param::new("stdin_add_newline", Kind::Bool).default("yes"),
    Param::new("strip_empty_ends", Kind::Bool).default("yes"),
])
.free_form()
.mutually_exclusive(&[&["_raw_params", "argv"], &["cmd", "argv"]]);

impl Module for Command {
    fn name(&self) -> &'static str {
        "command"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let argv = match args.get("argv") {
            Some(_) => args.list("argv"),
            None => {
                let line = args.raw_params().or(args.str("cmd")).unwrap_or("");
                match shlex::split(line) {
                    Some(argv) => argv,
                    None => {
                        return Ok(ModuleResult::failed(format!(
                            "cannot parse command: {line}"
                        )));
                    }
                }
            }
        };
        if argv.is_empty() {
            return Ok(no_command());
        }
        let shown = Value::Array(argv.iter().cloned().map(Value::String).collect());
        run_command(args, ctx, Run::Argv(argv), shown)
    }
}

/// Ansible's answer to an empty command (`command: ""`), an argument-spec failure.
pub fn no_command() -> ModuleResult {
    ModuleResult::failed("one of the following is required: _raw_params, cmd, argv")
}

/// The part `command` and `shell` share: `creates`/`removes`, check mode, the run
/// itself, and the shape of the result. `shown` is the result's `cmd` (a list for
/// `command`, the string for `shell`).
pub fn run_command(
    args: &Args,
    ctx: &mut ModuleContext<'_>,
    command: Run,
    shown: Value,
) -> Result<ModuleResult, ModuleError> {
    let chdir = args
        .str("chdir")
        .map(|d| expand_user(ctx.conn, d))
        .transpose()?;
    let in_dir = |p: String| match &chdir {
        Some(dir) if !p.starts_with('/') => format!("{}/{p}", dir.trim_end_matches('/')),
        _ => p,
    };
    let not_run = |stdout: String, msg: String, changed: bool| {
        ModuleResult::changed(changed)
            .with_msg(msg)
            .with("cmd", shown.clone())
            .with("rc", 0)
            .with("stdout_lines", lines(&stdout))
            .with("stdout", stdout)
            .with("stderr", "")
            .with("stderr_lines", Value::Array(Vec::new()))
            .with("start", Value::Null)
            .with("end", Value::Null)
            .with("delta", Value::Null)
    };
    if let Some(dir) = &chdir
        && ctx
            .conn
            .stat(dir, true)?
            .is_none_or(|st| st.kind != crate::connection::FileKind::Dir)
    {
        // As ansible-core 2.19 words it for `command: echo hi chdir=/nonexist`.
        let mut result = not_run(String::new(), String::new(), false);
        result.failed = true;
        result.msg = Some("Unable to change directory before execution.".to_string());
        return Ok(result.with("rc", Value::Null));
    }
    // creates, then removes: (the guard, the stdout and msg when it stops the run).
    let mut guards = Vec::new();
    for (param, must_exist) in [("creates", false), ("removes", true)] {
        if let Some(given) = args.str(param) {
            let path = in_dir(expand_user(ctx.conn, given)?);
            let (stdout, msg) = if must_exist {
                (
                    format!("skipped, since {path} does not exist"),
                    format!("Did not run command since '{path}' does not exist"),
                )
            } else {
                (
                    format!("skipped, since {path} exists"),
                    format!("Did not run command since '{path}' exists"),
                )
            };
            guards.push((PathGuard { path, must_exist }, stdout, msg));
        }
    }
    let stopped = |i: usize| {
        let (_, stdout, msg) = &guards[i];
        Ok(not_run(stdout.clone(), msg.clone(), false))
    };
    if ctx.check_mode {
        for (i, (guard, ..)) in guards.iter().enumerate() {
            if ctx.conn.stat(&guard.path, true)?.is_some() != guard.must_exist {
                return stopped(i);
            }
        }
        // `ansible localhost -m command -a 'echo hi' --check`: skipped; with creates/removes
        // that did not stop it, changed.
        let decided = !guards.is_empty();
        let mut result = not_run(
            String::new(),
            "Command would have run if not in check mode".to_string(),
            decided,
        );
        result.skipped = !decided;
        return Ok(result);
    }

    let mut req = ExecRequest::new(command);
    req.chdir = chdir;
    if let Some(stdin) = args.str("stdin") {
        let mut input = stdin.as_bytes().to_vec();
        if args.bool("stdin_add_newline") {
            input.push(b'\n');
        }
        req.stdin = Some(input);
    }
    let start = Local::now();
    let started = Instant::now();
    let only_guards: Vec<PathGuard> = guards.iter().map(|(g, ..)| g.clone()).collect();
    let out = match ctx.conn.exec_guarded(&req, &only_guards)? {
        Ok(out) => out,
        Err(i) => return stopped(i),
    };
    let elapsed = started.elapsed();
    let end = Local::now();

    let text = |bytes: &[u8]| {
        let s = String::from_utf8_lossy(bytes).into_owned();
        if args.bool("strip_empty_ends") {
            s.trim_end_matches(['\r', '\n']).to_string()
        } else {
            s
        }
    };
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    Ok(command_result(out.rc, stdout, stderr)
        .with("cmd", shown)
        .with("start", timestamp(start))
        .with("end", timestamp(end))
        .with("delta", delta(elapsed)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::Harness;
    use serde_json::json;

    #[test]
    fn runs_argv_and_reports_output() {
        let mut h = Harness::new();
        let r = h.run(&Command, json!({"_raw_params": "printf 'a b\\nc\\n'"}));
        assert!(r.changed && !r.failed);
        assert_eq!(r.data["cmd"], json!(["printf", "a b\\nc\\n"]));
        assert_eq!(r.data["stdout"], json!("a b\nc"));
        assert_eq!(r.data["stdout_lines"], json!(["a b", "c"]));
        assert_eq!(r.data["rc"], json!(0));
        assert!(r.data["delta"].as_str().unwrap().starts_with("0:00:"));
    }

    #[test]
    fn argv_stdin_and_chdir() {
        let mut h = Harness::new();
        let dir = h.path("");
        let r = h.run(
            &Command,
            json!({"argv": ["sh", "-c", "cat; pwd"], "stdin": "in", "chdir": dir}),
        );
        let expected = format!(
            "in\n{}",
            std::path::Path::new(&dir).canonicalize().unwrap().display()
        );
        assert_eq!(r.data["stdout"], json!(expected));
    }

    #[test]
    fn non_zero_rc_fails() {
        let mut h = Harness::new();
        let r = h.run(&Command, json!({"cmd": "false"}));
        assert!(r.failed && r.changed);
        assert_eq!(r.msg.as_deref(), Some("non-zero return code"));
        assert_eq!(r.data["rc"], json!(1));
    }

    #[test]
    fn creates_and_removes_skip() {
        let mut h = Harness::new();
        let dir = h.path("");
        let r = h.run(&Command, json!({"_raw_params": "false", "creates": dir}));
        assert!(!r.changed && !r.failed);
        assert_eq!(
            r.data["stdout"],
            json!(format!("skipped, since {dir} exists"))
        );
        assert_eq!(
            r.msg,
            Some(format!("Did not run command since '{dir}' exists"))
        );
        let missing = h.path("nope");
        let r = h.run(
            &Command,
            json!({"_raw_params": "false", "removes": missing}),
        );
        assert_eq!(
            r.msg,
            Some(format!(
                "Did not run command since '{missing}' does not exist"
            ))
        );
        // creates relative to chdir
        let r = h.run(
            &Command,
            json!({"_raw_params": "false", "chdir": dir, "creates": "."}),
        );
        assert!(!r.changed && !r.failed);
    }

    #[test]
    fn a_missing_chdir_fails_before_running() {
        let mut h = Harness::new();
        let r = h.run(
            &Command,
            json!({"_raw_params": "echo hi", "chdir": h.path("nope")}),
        );
        assert!(r.failed && !r.changed);
        assert_eq!(
            r.msg.as_deref(),
            Some("Unable to change directory before execution.")
        );
        assert_eq!(r.data["rc"], Value::Null);
    }

    #[test]
    fn check_mode_skips_unless_creates_decides() {
        let mut h = Harness::new().check();
        let marker = h.path("marker");
        let r = h.run(&Command, json!({"_raw_params": format!("touch {marker}")}));
        assert!(r.skipped && !r.changed);
        assert_eq!(
            r.msg.as_deref(),
            Some("Command would have run if not in check mode")
        );
        let r = h.run(
            &Command,
            json!({"_raw_params": format!("touch {marker}"), "creates": marker}),
        );
        assert!(!r.skipped && r.changed);
        assert!(!std::path::Path::new(&marker).exists());
    }

    #[test]
    fn empty_command_and_exclusive_params() {
        let mut h = Harness::new();
        let r = h.run(&Command, json!({"_raw_params": ""}));
        assert!(r.failed);
        // `command: ""` in ansible-core 2.19.
        assert_eq!(
            r.msg.as_deref(),
            Some("one of the following is required: _raw_params, cmd, argv")
        );
        let err = h
            .try_run(&Command, json!({"cmd": "x", "argv": ["y"]}))
            .unwrap_err();
        assert!(err.contains("mutually exclusive"), "{err}");
    }
}
