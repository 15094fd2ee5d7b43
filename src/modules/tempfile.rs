//! `tempfile`: create a temporary file (mode 0600) or directory (0700) on the host
//! and return its `path`: `prefix` (default `ansible.`), eight random characters,
//! `suffix`, in `path` or the host's temporary directory (`$TMPDIR`, `$TEMP`, `$TMP`,
//! else `/tmp`, as Python's `tempfile`). Always `changed`; skipped in check mode, as
//! Ansible's (the module does not support it).

use crate::connection::{Connection, ExecRequest};
use crate::modules::files::expand_user;
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};

pub struct TempFile;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("state", Kind::Str)
        .default("file")
        .choices(&["file", "directory"]),
    Param::new("path", Kind::Path),
    Param::new("prefix", Kind::Str).default("ansible."),
    // Default '': no suffix.
    Param::new("suffix", Kind::Str),
]);

/// Names are retried on a clash, as Python's `mkstemp` does (it tries many more).
const ATTEMPTS: usize = 10;

impl Module for TempFile {
    fn name(&self) -> &'static str {
        "tempfile"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        if ctx.check_mode {
            let mut skipped =
                ModuleResult::ok().with_msg("remote module (tempfile) does not support check mode");
            skipped.skipped = true;
            return Ok(skipped);
        }
        let prefix = args.str("prefix").unwrap_or_default();
        let suffix = args.str("suffix").unwrap_or_default();
        for (name, part) in [("prefix", prefix), ("suffix", suffix)] {
            if part.contains('/') {
                return Ok(ModuleResult::failed(format!(
                    "{name} must be a valid file name component, got '{part}'"
                )));
            }
        }
        let path = args
            .str("path")
            .map(|p| expand_user(ctx.conn, p))
            .transpose()?;
        let directory = args.str("state") == Some("directory");
        Ok(
            match create_temp(ctx.conn, path.as_deref(), prefix, suffix, directory) {
                Ok(path) => ModuleResult::changed(true).with("path", path),
                Err(msg) => ModuleResult::failed(msg),
            },
        )
    }
}

/// Create a file (0600) or directory (0700) named `prefix`, eight random characters,
/// `suffix`, in `dir` or the host's temporary directory; its path. Also how
/// `unarchive` and `script` get a place on the host for what they ship.
pub fn create_temp(
    conn: &mut dyn Connection,
    dir: Option<&str>,
    prefix: &str,
    suffix: &str,
    directory: bool,
) -> Result<String, String> {
    let dir = match dir {
        Some(p) => shlex::try_quote(p).map_err(|e| e.to_string())?.into_owned(),
        None => "\"${TMPDIR:-${TEMP:-${TMP:-/tmp}}}\"".to_string(),
    };
    // Created with O_EXCL (`set -C`) or `mkdir`, so an existing path is never reused.
    let create = if directory {
        "mkdir \"$p\""
    } else {
        "(set -C; : > \"$p\")"
    };
    let mut last_error = String::new();
    for _ in 0..ATTEMPTS {
        let name = format!("{prefix}{}{suffix}", random_name());
        let quoted = shlex::try_quote(&name).map_err(|e| e.to_string())?;
        let script =
            format!("umask 077; d={dir}; p=\"${{d%/}}/\"{quoted}; {create} && printf '%s' \"$p\"");
        let out = conn.exec(&ExecRequest::shell(script))?;
        if out.rc == 0 {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        last_error = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if !last_error.contains("exists") {
            break;
        }
    }
    Err(last_error)
}

/// Eight characters from Python's `tempfile` alphabet.
fn random_name() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_";
    (0..8)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::Harness;
    use serde_json::json;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn files_and_directories_in_path() {
        let mut h = Harness::new();
        let dir = h.path("");
        let r = h.run(&TempFile, json!({"path": dir, "suffix": ".conf"}));
        assert!(r.changed);
        let path = r.data["path"].as_str().unwrap().to_string();
        let name = path.strip_prefix(&format!("{dir}/")).unwrap();
        assert!(
            name.starts_with("ansible.") && name.ends_with(".conf"),
            "{name}"
        );
        assert_eq!(name.len(), "ansible.".len() + 8 + ".conf".len());
        let meta = std::fs::metadata(&path).unwrap();
        assert!(meta.is_file());
        assert_eq!(meta.mode() & 0o777, 0o600);
        let r = h.run(
            &TempFile,
            json!({"path": format!("{dir}/"), "state": "directory", "prefix": "d"}),
        );
        let path = r.data["path"].as_str().unwrap();
        let meta = std::fs::metadata(path).unwrap();
        assert!(meta.is_dir());
        assert_eq!(meta.mode() & 0o777, 0o700);
    }

    #[test]
    fn bad_prefix_missing_dir_and_check_mode() {
        let mut h = Harness::new();
        let r = h.run(&TempFile, json!({"prefix": "a/b"}));
        assert_eq!(
            r.msg.as_deref(),
            Some("prefix must be a valid file name component, got 'a/b'")
        );
        let r = h.run(&TempFile, json!({"path": h.path("none")}));
        assert!(r.failed && !r.msg.unwrap().is_empty());
        let mut h = Harness::new().check();
        let r = h.run(&TempFile, json!({"path": h.path("")}));
        assert!(r.skipped);
        assert_eq!(std::fs::read_dir(h.path("")).unwrap().count(), 0);
    }
}
