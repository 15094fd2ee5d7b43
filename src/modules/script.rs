//! `script`: ship a local script to the host and run it there.
//!
//! The first word of the free-form text (or `cmd`) is a file on the controller,
//! looked up in `files/` as `copy` does; the rest are its arguments. It is written to a
//! private temporary directory on the host (mode 0700), run through the shell (by
//! `executable` when given, else by its `#!` line) in `chdir` (absolute), and removed.
//! `creates` skips the task when that path exists, `removes` when it does not. In
//! check mode the script does not run: with `creates`/`removes` the task reports
//! `changed`, otherwise it is skipped, as Ansible's.
//!
//! Returns `rc`, `stdout`, `stdout_lines`, `stderr`, `stderr_lines`; fails with
//! "non-zero return code" when `rc` is not 0. A vaulted script is decrypted before
//! it is shipped (`decrypt: no` ships it as it is).

use std::path::Path;

use crate::connection::{Command as Run, ExecRequest, FileAttrs};
use crate::modules::files::{expand_user, find_local_src};
use crate::modules::output::command_result;
use crate::modules::tempfile::create_temp;
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};

pub struct Script;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("cmd", Kind::Str),
    Param::new("creates", Kind::Str),
    Param::new("removes", Kind::Str),
    Param::new("chdir", Kind::Str),
    Param::new("executable", Kind::Str),
    Param::new("decrypt", Kind::Bool).default("yes"),
])
.free_form()
.required_one_of(&[&["_raw_params", "cmd"]])
.mutually_exclusive(&[&["_raw_params", "cmd"]]);

fn skipped(msg: String) -> ModuleResult {
    let mut result = ModuleResult::ok().with_msg(msg);
    result.skipped = true;
    result
}

impl Module for Script {
    fn name(&self) -> &'static str {
        "script"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        if let Some(creates) = args.str("creates") {
            let path = expand_user(ctx.conn, creates)?;
            if ctx.conn.stat(&path, false)?.is_some() {
                return Ok(skipped(format!(
                    "{creates} exists, matching creates option"
                )));
            }
        }
        if let Some(removes) = args.str("removes") {
            let path = expand_user(ctx.conn, removes)?;
            if ctx.conn.stat(&path, false)?.is_none() {
                return Ok(skipped(format!(
                    "{removes} does not exist, matching removes option"
                )));
            }
        }
        let chdir = args.str("chdir");
        if let Some(dir) = chdir.filter(|d| !d.starts_with('/')) {
            return Ok(ModuleResult::failed(format!(
                "chdir {dir} must be an absolute path for a Unix-aware remote node"
            )));
        }
        let line = args.raw_params().or(args.str("cmd")).unwrap_or("").trim();
        let Some(first) = shlex::split(line).and_then(|parts| parts.into_iter().next()) else {
            return Ok(ModuleResult::failed(format!(
                "cannot parse the script command line: {line}"
            )));
        };
        let source = match find_local_src(ctx.search_paths, &first, "files") {
            Ok(path) => path,
            Err(msg) => return Ok(ModuleResult::failed(msg)),
        };
        if ctx.check_mode {
            if args.get("creates").is_some() || args.get("removes").is_some() {
                return Ok(ModuleResult::changed(true));
            }
            return Ok(skipped("Check mode is not supported for this task.".into()));
        }
        let data = crate::vault::read_controller_file(&source, args.bool("decrypt"))?;
        let dir = create_temp(ctx.conn, None, "srplay-script.", "", true)?;
        let name = Path::new(&first)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "script".to_string());
        let shipped = format!("{dir}/{name}");
        let outcome = run_shipped(ctx, args, line, &first, &shipped, &data);
        ctx.conn.remove(&dir, true)?;
        outcome
    }
}

/// Write the script to `shipped` and run the command line with it in place of `first`
/// (every occurrence, as Ansible replaces them).
fn run_shipped(
    ctx: &mut ModuleContext<'_>,
    args: &Args,
    line: &str,
    first: &str,
    shipped: &str,
    data: &[u8],
) -> Result<ModuleResult, ModuleError> {
    let attrs = FileAttrs {
        mode: Some(0o700),
        ..FileAttrs::default()
    };
    ctx.conn.write_file(shipped, data, &attrs)?;
    let quoted = shlex::try_quote(shipped).map_err(|e| e.to_string())?;
    let command = line.replace(first, &quoted);
    let command = match args.str("executable") {
        Some(executable) => format!("{executable} {command}"),
        None => command,
    };
    let mut req = ExecRequest::new(Run::Shell {
        cmd: command,
        executable: None,
    });
    req.chdir = args.str("chdir").map(str::to_string);
    let out = ctx.conn.exec(&req)?;
    Ok(command_result(
        out.rc,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::Harness;
    use serde_json::json;

    #[test]
    fn runs_with_arguments_in_chdir_and_cleans_up() {
        let mut h = Harness::new();
        h.write(
            "files/s.sh",
            "#!/bin/sh\necho \"$1 $(pwd)\"\necho err >&2\n",
        );
        let dir = h.path("");
        let r = h.run(&Script, json!({"_raw_params": "s.sh 'a b'", "chdir": dir}));
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(r.data["stdout"], json!(format!("a b {dir}\n")));
        assert_eq!(r.data["stderr_lines"], json!(["err"]));
        h.write("files/fail.sh", "exit 3\n");
        let r = h.run(&Script, json!({"cmd": "fail.sh", "executable": "/bin/sh"}));
        assert_eq!((r.failed, r.data["rc"].clone()), (true, json!(3)));
        assert_eq!(r.msg.as_deref(), Some("non-zero return code"));
    }

    #[test]
    fn creates_removes_check_mode_and_errors() {
        let mut h = Harness::new();
        h.write("files/s.sh", "echo hi\n");
        let here = h.path("");
        let r = h.run(&Script, json!({"_raw_params": "s.sh", "creates": here}));
        assert!(r.skipped);
        assert_eq!(
            r.msg,
            Some(format!("{here} exists, matching creates option"))
        );
        let none = h.path("none");
        let r = h.run(&Script, json!({"_raw_params": "s.sh", "removes": none}));
        assert!(r.skipped);
        let r = h.run(&Script, json!({"_raw_params": "s.sh", "chdir": "rel"}));
        assert!(
            r.msg
                .unwrap()
                .starts_with("chdir rel must be an absolute path")
        );
        let r = h.run(&Script, json!({"_raw_params": "nope.sh"}));
        assert!(
            r.msg
                .unwrap()
                .starts_with("Could not find or access 'nope.sh'")
        );
        let err = h.try_run(&Script, json!({"chdir": "/"})).unwrap_err();
        assert!(err.starts_with("one of the following is required"), "{err}");
        let mut c = Harness::new().check();
        c.write("files/s.sh", "touch ran\n");
        let r = c.run(&Script, json!({"_raw_params": "s.sh"}));
        assert!(r.skipped);
        let r = c.run(
            &Script,
            json!({"_raw_params": "s.sh", "removes": c.path("")}),
        );
        assert!(r.changed && !r.skipped);
    }
}
