//! What the package and service modules share: run one system tool on the host and
//! get its output as text, ask whether a tool exists there, and read the facts they
//! dispatch on (`service_mgr`, `pkg_mgr`) without requiring facts to be gathered.

use crate::connection::{Connection, ExecRequest};
use crate::modules::{ModuleContext, ModuleResult};
use crate::value::Value;

/// A finished command, its output decoded as text.
#[derive(Clone, Debug, Default)]
pub struct Run {
    pub rc: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn success(&self) -> bool {
        self.rc == 0
    }

    /// stdout and stderr together, for failure messages.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Run `argv` (no shell, so nothing needs quoting) with extra environment variables.
pub fn run_env(
    conn: &mut dyn Connection,
    argv: &[String],
    env: &[(&str, &str)],
) -> Result<Run, String> {
    let mut req = ExecRequest::argv(argv.to_vec());
    req.env = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let out = conn.exec(&req)?;
    Ok(Run {
        rc: out.rc,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

pub fn run(conn: &mut dyn Connection, argv: &[&str]) -> Result<Run, String> {
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    run_env(conn, &argv, &[])
}

/// Is `program` on the host's PATH?
pub fn has_command(conn: &mut dyn Connection, program: &str) -> Result<bool, String> {
    // `command -v` is a shell builtin; the name travels as "$1", never spliced into the script.
    Ok(run(conn, &["sh", "-c", "command -v \"$1\"", "sh", program])?.success())
}

/// `ansible_facts[name]` as text, or `None` when facts were not gathered (or lack it).
pub fn fact(ctx: &ModuleContext<'_>, name: &str) -> Option<String> {
    match ctx.templating.eval(&format!("ansible_facts['{name}']")) {
        Ok(Value::String(s)) if !s.is_empty() && s != "unknown" => Some(s),
        _ => None,
    }
}

/// Add `stdout`, `stderr` and their `_lines` to a result, as Ansible does for modules
/// that return a command's output.
pub fn with_output(result: ModuleResult, run: &Run) -> ModuleResult {
    result
        .with("stdout_lines", crate::modules::output::lines(&run.stdout))
        .with("stdout", run.stdout.clone())
        .with("stderr_lines", crate::modules::output::lines(&run.stderr))
        .with("stderr", run.stderr.clone())
}
