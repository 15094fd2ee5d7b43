//! Running the host's own tools from a module: an argv command with its output as
//! text, finding which of several tools the host has, and a private scratch directory
//! for files a command needs (request bodies, credentials) that must not show on a
//! command line.

use crate::connection::{Connection, ExecRequest};

/// What a command printed, as text.
#[derive(Clone, Debug, Default)]
pub struct Ran {
    pub rc: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn ok(&self) -> bool {
        self.rc == 0
    }

    /// stderr, or stdout when stderr is empty, trimmed: what a failure message quotes.
    pub fn message(&self) -> &str {
        let err = self.stderr.trim();
        if err.is_empty() {
            self.stdout.trim()
        } else {
            err
        }
    }
}

/// Run `argv` (no shell) and wait for it.
pub fn run(conn: &mut dyn Connection, argv: &[&str]) -> Result<Ran, String> {
    run_req(
        conn,
        &ExecRequest::argv(argv.iter().map(|s| s.to_string()).collect()),
    )
}

/// Run a prepared request and take its output as text.
pub fn run_req(conn: &mut dyn Connection, req: &ExecRequest) -> Result<Ran, String> {
    let out = conn.exec(req)?;
    Ok(Ran {
        rc: out.rc,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Run `argv` and fail with its message unless it exits 0.
pub fn run_ok(conn: &mut dyn Connection, argv: &[&str]) -> Result<Ran, String> {
    let ran = run(conn, argv)?;
    if !ran.ok() {
        return Err(format!(
            "{} failed (rc={}): {}",
            argv.join(" "),
            ran.rc,
            ran.message()
        ));
    }
    Ok(ran)
}

/// The first of `tools` the host has on its `PATH` (by name as given), if any.
pub fn find_tool(conn: &mut dyn Connection, tools: &[&str]) -> Result<Option<String>, String> {
    for tool in tools {
        // `command -v` is a shell builtin: the name is quoted into the command line.
        let quoted = shlex::try_quote(tool).map_err(|e| e.to_string())?;
        let ran = run_req(conn, &ExecRequest::shell(format!("command -v {quoted}")))?;
        if ran.ok() && !ran.stdout.trim().is_empty() {
            return Ok(Some(tool.to_string()));
        }
    }
    Ok(None)
}

/// Where `tool` is on the host's PATH (`command -v`), as Ansible's `get_bin_path` finds it.
pub fn tool_path(conn: &mut dyn Connection, tool: &str) -> Result<Option<String>, String> {
    let quoted = shlex::try_quote(tool).map_err(|e| e.to_string())?;
    let ran = run_req(conn, &ExecRequest::shell(format!("command -v {quoted}")))?;
    let path = ran.stdout.trim();
    Ok((ran.ok() && !path.is_empty()).then(|| path.to_string()))
}

/// The hex digest of a host file by `md5sum`, `sha1sum`, `sha256sum`… (coreutils).
pub fn digest(conn: &mut dyn Connection, algorithm: &str, path: &str) -> Result<String, String> {
    let tool = format!("{algorithm}sum");
    let ran = run(conn, &[&tool, "--", path])?;
    match ran.rc {
        0 => ran
            .stdout
            .split_whitespace()
            .next()
            .map(|h| h.trim_start_matches('\\').to_ascii_lowercase())
            .ok_or_else(|| format!("{tool} printed no digest for {path}")),
        127 => Err(format!(
            "{tool} is not installed on the host: it is needed for a {algorithm} checksum"
        )),
        _ => Err(format!("{tool} {path} failed: {}", ran.message())),
    }
}

/// Put the host file `src` at `dest` with `attrs`: copied next to `dest`, given its
/// attributes, renamed over it. `src` may be on another filesystem, and a reader of
/// `dest` never sees a partial file.
pub fn install(
    conn: &mut dyn Connection,
    src: &str,
    dest: &str,
    attrs: &crate::connection::FileAttrs,
) -> Result<(), String> {
    let name = dest.rsplit('/').next().unwrap_or(dest);
    let template = format!(
        "{}/.{name}.XXXXXX",
        crate::modules::files::parent_dir(dest).trim_end_matches('/')
    );
    let staged = run_ok(conn, &["mktemp", &template])?
        .stdout
        .trim()
        .to_string();
    let placed = run_ok(conn, &["cp", "--", src, &staged])
        .and_then(|_| Ok(conn.set_attrs(&staged, attrs, false)?))
        .and_then(|_| run_ok(conn, &["mv", "-f", "--", &staged, dest]).map(|_| ()));
    if placed.is_err() {
        conn.remove(&staged, false)?;
    }
    placed
}

/// A directory only the connecting user can read (`mktemp -d`, mode 0700), removed
/// by [`ScratchDir::remove`]; modules call it on every path out.
pub struct ScratchDir {
    pub path: String,
}

impl ScratchDir {
    pub fn create(conn: &mut dyn Connection) -> Result<ScratchDir, String> {
        let ran = run_ok(conn, &["mktemp", "-d", "/tmp/srplay.XXXXXXXX"])?;
        Ok(ScratchDir {
            path: ran.stdout.trim().to_string(),
        })
    }

    pub fn file(&self, name: &str) -> String {
        format!("{}/{name}", self.path)
    }

    pub fn remove(self, conn: &mut dyn Connection) -> Result<(), String> {
        Ok(conn.remove(&self.path, true)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::FakeConnection;

    #[test]
    fn find_tool_takes_the_first_present() {
        let mut conn = FakeConnection::new().on("command -v curl", 1, "").on(
            "command -v wget",
            0,
            "/usr/bin/wget\n",
        );
        assert_eq!(
            find_tool(&mut conn, &["curl", "wget"]).unwrap().as_deref(),
            Some("wget")
        );
        let mut none = FakeConnection::new().on("command -v", 1, "");
        assert_eq!(find_tool(&mut none, &["curl"]).unwrap(), None);
    }

    #[test]
    fn digest_reads_the_first_field() {
        let mut conn = FakeConnection::new().on("^sha256sum -- /x$", 0, "ABC12  /x\n");
        assert_eq!(digest(&mut conn, "sha256", "/x").unwrap(), "abc12");
        let mut none = FakeConnection::new().on("^md5sum", 127, "");
        assert!(
            digest(&mut none, "md5", "/x")
                .unwrap_err()
                .contains("not installed")
        );
    }

    #[test]
    fn run_ok_names_the_failed_command() {
        let mut conn = FakeConnection::new().on("^false", 2, "boom");
        let err = run_ok(&mut conn, &["false", "x"]).unwrap_err();
        assert_eq!(err, "false x failed (rc=2): boom");
    }
}
