//! `shell`: run a command line through a shell (`/bin/sh`, or `executable`).
//!
//! Takes the same parameters as `command` except `argv`, plus `executable`; pipes,
//! redirections and variables work. Returns what `command` returns, with `cmd` the
//! command line as a string.
//!
//! Not supported: globs in `creates`/`removes`.

use crate::connection::Command as Run;
use crate::modules::command::{no_command, run_command};
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::Value;

pub struct Shell;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("cmd", Kind::Str),
    Param::new("chdir", Kind::Path),
    Param::new("creates", Kind::Path),
    Param::new("removes", Kind::Path),
    Param::new("executable", Kind::Path),
    Param::new("stdin", Kind::Str),
    Param::new("stdin_add_newline", Kind::Bool).default("yes"),
    Param::new("strip_empty_ends", Kind::Bool).default("yes"),
])
.free_form();

impl Module for Shell {
    fn name(&self) -> &'static str {
        "shell"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let line = args.raw_params().or(args.str("cmd")).unwrap_or("");
        if line.trim().is_empty() {
            return Ok(no_command());
        }
        let shown = Value::String(line.to_string());
        let command = Run::Shell {
            cmd: line.to_string(),
            executable: args.str("executable").map(str::to_string),
        };
        run_command(args, ctx, command, shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::Harness;
    use serde_json::json;

    #[test]
    fn runs_through_the_shell() {
        let mut h = Harness::new();
        let r = h.run(
            &Shell,
            json!({"_raw_params": "echo hi; echo err >&2 | cat; echo x | tr x y"}),
        );
        assert!(r.changed && !r.failed);
        assert_eq!(
            r.data["cmd"],
            json!("echo hi; echo err >&2 | cat; echo x | tr x y")
        );
        assert_eq!(r.data["stdout_lines"], json!(["hi", "y"]));
        assert_eq!(r.data["stderr"], json!("err"));
    }

    #[test]
    fn executable_and_keeping_empty_ends() {
        let mut h = Harness::new();
        let r = h.run(
            &Shell,
            json!({"cmd": "echo $0", "executable": "/bin/bash", "strip_empty_ends": false}),
        );
        assert_eq!(r.data["stdout"], json!("/bin/bash\n"));
    }

    #[test]
    fn failure_and_check_mode() {
        let mut h = Harness::new();
        let r = h.run(&Shell, json!({"_raw_params": "exit 4"}));
        assert!(r.failed);
        assert_eq!(r.data["rc"], json!(4));
        let mut h = Harness::new().check();
        let r = h.run(&Shell, json!({"_raw_params": "exit 4"}));
        assert!(r.skipped && !r.failed);
    }
}
