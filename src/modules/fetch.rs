//! `fetch`: copy a file from the host to the controller.
//!
//! The file lands in `dest/<inventory_hostname>/<src>` (a relative `dest` is taken
//! from the playbook's directory), or with `flat` in `dest` itself (`dest/` receives
//! `dest/basename(src)`). It is written only when its sha1 differs from the local
//! copy's; `validate_checksum` checks what landed against the host's. A missing
//! `src` fails, or with `fail_on_missing: no` is reported and ignored; a directory
//! cannot be fetched. Skipped in check mode, as Ansible's.
//!
//! Returns `dest`, `checksum`, `md5sum`, `remote_checksum`, `remote_md5sum` (always
//! null, as Ansible's) when written; `dest`, `file`, `checksum`, `md5sum` when
//! already there.

use std::path::Path;

use crate::modules::files::{expand_user, md5_hex, normpath, sha1_hex};
use crate::modules::slurp::read_remote;
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::Value;

pub struct Fetch;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("src", Kind::Str).required(),
    Param::new("dest", Kind::Str).required(),
    Param::new("flat", Kind::Bool).default("no"),
    Param::new("fail_on_missing", Kind::Bool).default("yes"),
    Param::new("validate_checksum", Kind::Bool).default("yes"),
]);

impl Module for Fetch {
    fn name(&self) -> &'static str {
        "fetch"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        if ctx.check_mode {
            let mut skipped =
                ModuleResult::ok().with_msg("check mode not (yet) supported for this module");
            skipped.skipped = true;
            return Ok(skipped);
        }
        let src = expand_user(ctx.conn, args.str("src").unwrap_or(""))?;
        let fail_on_missing = args.bool("fail_on_missing");
        let data = match read_remote(ctx.conn, &src)? {
            Ok(data) => data,
            Err(msg) => return Ok(missing(&src, &msg, fail_on_missing)),
        };
        let dest = match local_dest(args, ctx, &src) {
            Ok(dest) => dest,
            Err(msg) => return Ok(ModuleResult::failed(msg)),
        };
        let remote_checksum = sha1_hex(&data);
        let local = std::fs::read(&dest).ok();
        if let Some(local) = local.filter(|l| sha1_hex(l) == remote_checksum) {
            return Ok(ModuleResult::ok()
                .with("md5sum", md5_hex(&local))
                .with("file", src)
                .with("dest", dest)
                .with("checksum", remote_checksum));
        }
        if let Err(e) = write_local(&dest, &data) {
            return Ok(ModuleResult::failed(format!(
                "Failed to fetch the file: {e}"
            )));
        }
        let written = std::fs::read(&dest).unwrap_or_default();
        let checksum = sha1_hex(&written);
        let mut result = ModuleResult::changed(true);
        if args.bool("validate_checksum") && checksum != remote_checksum {
            result = ModuleResult::failed("checksum mismatch").with("file", src.as_str());
        }
        Ok(result
            .with("md5sum", md5_hex(&written))
            .with("dest", dest)
            .with("remote_md5sum", Value::Null)
            .with("checksum", checksum)
            .with("remote_checksum", remote_checksum))
    }
}

/// The source cannot be read: fail, or with `fail_on_missing: no` say so and go on.
fn missing(src: &str, slurp_msg: &str, fail_on_missing: bool) -> ModuleResult {
    let is_dir = slurp_msg.starts_with("Source is a directory");
    let msg = match (is_dir, slurp_msg.starts_with("File not found")) {
        (true, _) if fail_on_missing => {
            "remote file is a directory, fetch cannot work on directories".to_string()
        }
        (true, _) => {
            "remote file is a directory, fetch cannot work on directories, not transferring, ignored"
                .to_string()
        }
        (false, true) => "the remote file does not exist, not transferring, ignored".to_string(),
        (false, false) => slurp_msg.to_string(),
    };
    let result = if fail_on_missing {
        ModuleResult::failed(msg)
    } else {
        ModuleResult::ok().with_msg(msg)
    };
    if is_dir {
        result
    } else {
        result.with("file", src)
    }
}

/// Where the file goes on the controller, as Ansible's `fetch` action computes it.
fn local_dest(args: &Args, ctx: &ModuleContext<'_>, src: &str) -> Result<String, String> {
    let given = args.str("dest").unwrap_or("");
    let base = ctx
        .search_paths
        .last()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".".to_string());
    let from_base = |p: &str| {
        if p.starts_with('/') {
            p.to_string()
        } else {
            format!("{base}/{p}")
        }
    };
    let dest = if args.bool("flat") {
        // Ansible checks these relative to its working directory, which is where
        // `ansible-playbook` runs; here, the playbook's directory.
        let mut dest = from_base(given);
        if Path::new(&dest).is_dir() && !dest.ends_with('/') {
            return Err("dest is an existing directory, use a trailing slash if you want to fetch src into that directory".to_string());
        }
        if dest.ends_with('/') {
            let name = src.rsplit('/').next().unwrap_or(src);
            dest = format!("{dest}{name}");
            if Path::new(&dest).is_dir() {
                return Err(format!(
                    "calculated dest '{dest}' is an existing directory, use another path that does not point to an existing directory"
                ));
            }
        }
        dest
    } else {
        format!("{}/{}/{src}", from_base(given), ctx.host)
    };
    let dest = normpath(&dest);
    // `src` with `..` must not climb out of `dest`.
    let root = normpath(&from_base(given));
    if !args.bool("flat") && !dest.starts_with(&format!("{}/", root.trim_end_matches('/'))) {
        return Err(format!(
            "Detected directory traversal, expected to be contained in '{given}' but got '{dest}'"
        ));
    }
    Ok(dest)
}

fn write_local(dest: &str, data: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = Path::new(dest).parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(dest, data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::Harness;
    use serde_json::json;

    #[test]
    fn per_host_layout_then_unchanged() {
        let mut h = Harness::new();
        let src = h.write("remote/f.txt", "data\n");
        let r = h.run(&Fetch, json!({"src": src, "dest": "got"}));
        assert!(r.changed && !r.failed, "{r:?}");
        let expected = normpath(&format!("{}/got/localhost/{src}", h.path("")));
        assert_eq!(r.data["dest"], json!(expected));
        assert_eq!(std::fs::read_to_string(&expected).unwrap(), "data\n");
        assert_eq!(r.data["remote_checksum"], r.data["checksum"]);
        let r = h.run(&Fetch, json!({"src": src, "dest": "got"}));
        assert!(!r.changed);
        assert_eq!(r.data["file"], json!(src));
    }

    #[test]
    fn flat_and_missing_sources() {
        let mut h = Harness::new();
        let src = h.write("f.txt", "x");
        std::fs::create_dir(h.path("flat")).unwrap();
        let r = h.run(&Fetch, json!({"src": src, "dest": "flat/", "flat": true}));
        assert_eq!(r.data["dest"], json!(h.path("flat/f.txt")));
        let r = h.run(&Fetch, json!({"src": src, "dest": "flat", "flat": true}));
        assert!(r.msg.unwrap().starts_with("dest is an existing directory"));
        let none = h.path("none");
        let r = h.run(&Fetch, json!({"src": none, "dest": "d"}));
        assert!(r.failed);
        assert_eq!(
            r.msg.as_deref(),
            Some("the remote file does not exist, not transferring, ignored")
        );
        let r = h.run(
            &Fetch,
            json!({"src": none, "dest": "d", "fail_on_missing": false}),
        );
        assert!(!r.failed && !r.changed);
        let r = h.run(&Fetch, json!({"src": h.path(""), "dest": "d"}));
        assert_eq!(
            r.msg.as_deref(),
            Some("remote file is a directory, fetch cannot work on directories")
        );
        // `/..` is `/` on the host, but would climb out of `dest` here.
        let climbing = format!("{}{src}", "/..".repeat(30));
        let r = h.run(&Fetch, json!({"src": climbing, "dest": "d"}));
        assert!(r.msg.unwrap().starts_with("Detected directory traversal"));
    }

    #[test]
    fn check_mode_skips() {
        let mut h = Harness::new().check();
        let src = h.write("f", "x");
        let r = h.run(&Fetch, json!({"src": src, "dest": "d"}));
        assert!(r.skipped);
        assert!(!Path::new(&h.path("d")).exists());
    }
}
