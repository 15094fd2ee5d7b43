//! `raw`: run a command line through the shell, with nothing around it.
//!
//! The free-form text is the command line; `executable` picks the shell. Returns
//! `rc`, `stdout`, `stdout_lines`, `stderr`, `stderr_lines` (output kept as it came,
//! line ends included), always `changed`; fails with "non-zero return code". Skipped
//! in check mode, as Ansible's.

use crate::connection::{Command as Run, ExecRequest};
use crate::modules::output::command_result;
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};

pub struct Raw;

static SPEC: ArgSpec = ArgSpec::new(&[Param::new("executable", Kind::Path)]).free_form();

impl Module for Raw {
    fn name(&self) -> &'static str {
        "raw"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        if ctx.check_mode {
            return Ok(ModuleResult {
                skipped: true,
                ..ModuleResult::default()
            });
        }
        let Some(line) = args.raw_params().filter(|l| !l.trim().is_empty()) else {
            return Ok(ModuleResult::failed("no command given"));
        };
        let out = ctx.conn.exec(&ExecRequest::new(Run::Shell {
            cmd: line.to_string(),
            executable: args.str("executable").map(str::to_string),
        }))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        Ok(command_result(out.rc, stdout, stderr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::Harness;
    use serde_json::json;

    #[test]
    fn keeps_output_as_it_came() {
        // `ansible localhost -m raw -a 'echo hi'`: stdout "hi\n", stdout_lines ["hi"].
        let mut h = Harness::new();
        let r = h.run(&Raw, json!({"_raw_params": "echo hi"}));
        assert!(r.changed && !r.failed);
        assert_eq!(r.data["stdout"], json!("hi\n"));
        assert_eq!(r.data["stdout_lines"], json!(["hi"]));
        assert!(r.data.get("start").is_none());
        let r = h.run(&Raw, json!({"_raw_params": "exit 2"}));
        assert!(r.failed);
        assert_eq!(r.data["rc"], json!(2));
    }

    #[test]
    fn skipped_in_check_mode() {
        let mut h = Harness::new().check();
        assert!(h.run(&Raw, json!({"_raw_params": "echo hi"})).skipped);
    }
}
