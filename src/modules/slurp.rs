//! `slurp`: a file's content from the host, base64-encoded, as `content`, with
//! `source` (the path) and `encoding: base64`. Runs in check mode too.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::connection::{Connection, FileKind};
use crate::modules::files::expand_user;
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};

pub struct Slurp;

static SPEC: ArgSpec = ArgSpec::new(&[Param::new("src", Kind::Path).required().aliases(&["path"])]);

impl Module for Slurp {
    fn name(&self) -> &'static str {
        "slurp"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let src = expand_user(ctx.conn, args.str("src").unwrap_or(""))?;
        Ok(match read_remote(ctx.conn, &src)? {
            Ok(data) => ModuleResult::ok()
                .with("content", STANDARD.encode(data))
                .with("source", src)
                .with("encoding", "base64"),
            Err(msg) => ModuleResult::failed(msg),
        })
    }
}

/// A regular file's content, or the reason (worded as Ansible's `slurp`) it cannot be
/// read: missing, a directory, unreadable. The outer error is the transport's.
pub fn read_remote(
    conn: &mut dyn Connection,
    src: &str,
) -> Result<Result<Vec<u8>, String>, ModuleError> {
    match conn.stat(src, true)? {
        None => return Ok(Err(format!("File not found: {src}"))),
        Some(st) if st.kind == FileKind::Dir => {
            return Ok(Err(format!(
                "Source is a directory and must be a file: {src}"
            )));
        }
        Some(_) => {}
    }
    Ok(conn
        .read_file(src)
        .map_err(|e| format!("Unable to slurp file: {src}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::Harness;
    use serde_json::json;

    #[test]
    fn content_is_base64_and_errors_name_the_path() {
        let mut h = Harness::new().check();
        let p = h.write("f", "hello\n");
        let r = h.run(&Slurp, json!({"path": p}));
        assert_eq!(r.data["content"], json!("aGVsbG8K"));
        assert_eq!(r.data["encoding"], json!("base64"));
        assert_eq!(r.data["source"], json!(p));
        let none = h.path("none");
        let r = h.run(&Slurp, json!({"src": none}));
        assert_eq!(r.msg, Some(format!("File not found: {none}")));
        let dir = h.path("");
        let r = h.run(&Slurp, json!({"src": dir}));
        assert_eq!(
            r.msg,
            Some(format!("Source is a directory and must be a file: {dir}"))
        );
    }
}
