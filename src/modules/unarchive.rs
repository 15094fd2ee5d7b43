//! `unarchive`: unpack a tar (plain, gzip, bzip2, xz) or zip archive into a directory
//! on the host, with the host's own `tar` (GNU) or `unzip`.
//!
//! `src` is a file on the controller (looked up in `files/` as `copy` does), shipped
//! to a temporary file on the host and removed afterwards, or with `remote_src` (or
//! the old `copy: no`) a file already on the host. `dest` must be an existing
//! directory. `creates` skips the task when that path exists. The archive type is
//! found as Ansible does: the first of zip, tar.gz, tar, tar.bz2, tar.xz whose listing
//! works. Nothing is extracted when the archive is already unpacked: for tar, when
//! `tar --diff` reports no missing or differing file (Ansible's test); for zip, when
//! every file in it has the same content in `dest`. `exclude` / `include` (globs),
//! `extra_opts` (given to `tar` / `unzip`), `keep_newer`, and `mode`, `owner`, `group`
//! applied to every unpacked path. `list_files` returns `files`. In check mode a tar
//! archive is skipped, as Ansible's (its module does not support check mode with tar).
//!
//! Returns `handler` (`TgzArchive`…), `dest`, `src`, `extract_results` (`cmd`, `rc`,
//! `out`, `err`) when it extracted, `files`, and the path facts of `dest`.
//!
//! A vaulted controller `src` is decrypted before it is shipped (`decrypt: no` ships
//! it as it is).
//!
//! Not supported: URLs as `src`, `validate_certs`,
//! `io_buffer_size`, zstd archives, `attributes`, SELinux options. For zip, only
//! content counts for "already unpacked" (Ansible also compares sizes, times, modes).

use regex::Regex;

use crate::connection::{Connection, ExecOutput, ExecRequest, FileAttrs, FileKind};
use crate::modules::files::{AttrParams, apply_attrs, expand_user, find_local_src, path_info};
use crate::modules::tempfile::create_temp;
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::{Map, Value};

pub struct Unarchive;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("src", Kind::Path).required(),
    Param::new("dest", Kind::Path).required(),
    Param::new("remote_src", Kind::Bool),
    Param::new("copy", Kind::Bool),
    Param::new("creates", Kind::Path),
    Param::new("list_files", Kind::Bool).default("no"),
    Param::new("keep_newer", Kind::Bool).default("no"),
    Param::new("exclude", Kind::List),
    Param::new("include", Kind::List),
    Param::new("extra_opts", Kind::List),
    Param::new("mode", Kind::Mode),
    Param::new("owner", Kind::Str),
    Param::new("group", Kind::Str),
    Param::new("decrypt", Kind::Bool).default("yes"),
])
.mutually_exclusive(&[&["include", "exclude"], &["copy", "remote_src"]]);

impl Module for Unarchive {
    fn name(&self) -> &'static str {
        "unarchive"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        if let Some(creates) = args.str("creates") {
            let creates = expand_user(ctx.conn, creates)?;
            if ctx.conn.stat(&creates, true)?.is_some() {
                let mut skipped =
                    ModuleResult::ok().with_msg(format!("skipped, since {creates} exists"));
                skipped.skipped = true;
                return Ok(skipped);
            }
        }
        let remote_src = match args.get("copy") {
            Some(_) => !args.bool("copy"),
            None => args.bool("remote_src"),
        };
        let src = args.str("src").unwrap_or("");
        if src.contains("://") {
            return Ok(ModuleResult::failed(format!(
                "a URL as src ({src}) is not supported by srplay's unarchive"
            )));
        }
        let dest = expand_user(ctx.conn, args.str("dest").unwrap_or(""))?;
        if !ctx
            .conn
            .stat(&dest, true)?
            .is_some_and(|st| st.kind == FileKind::Dir)
        {
            return Ok(ModuleResult::failed(format!(
                "dest '{dest}' must be an existing dir"
            )));
        }
        if remote_src {
            let src = expand_user(ctx.conn, src)?;
            return unpack(ctx, args, &src, &dest);
        }
        let local = match find_local_src(ctx.search_paths, src, "files") {
            Ok(path) => path,
            Err(msg) => return Ok(ModuleResult::failed(msg)),
        };
        let data = crate::vault::read_controller_file(&local, args.bool("decrypt"))?;
        let shipped = create_temp(ctx.conn, None, "srplay-unarchive.", "", false)?;
        let result = ctx
            .conn
            .write_file(
                &shipped,
                &data,
                &FileAttrs {
                    mode: Some(0o600),
                    ..FileAttrs::default()
                },
            )
            .map_err(String::from)
            .and_then(|()| unpack(ctx, args, &shipped, &dest));
        ctx.conn.remove(&shipped, false)?;
        result
    }
}

/// How an archive is read: Ansible's handler classes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Handler {
    Zip,
    Tgz,
    Tar,
    TarBzip,
    TarXz,
}

impl Handler {
    /// In the order Ansible tries them.
    const ALL: [Handler; 5] = [
        Handler::Zip,
        Handler::Tgz,
        Handler::Tar,
        Handler::TarBzip,
        Handler::TarXz,
    ];

    fn class_name(self) -> &'static str {
        match self {
            Handler::Zip => "ZipArchive",
            Handler::Tgz => "TgzArchive",
            Handler::Tar => "TarArchive",
            Handler::TarBzip => "TarBzipArchive",
            Handler::TarXz => "TarXzArchive",
        }
    }

    fn tar_flag(self) -> Option<&'static str> {
        match self {
            Handler::Tgz => Some("-z"),
            Handler::TarBzip => Some("-j"),
            Handler::TarXz => Some("-J"),
            Handler::Zip | Handler::Tar => None,
        }
    }
}

/// The options every command of one run shares.
struct Job<'a> {
    handler: Handler,
    src: &'a str,
    dest: &'a str,
    excludes: Vec<String>,
    includes: Vec<String>,
    extra: Vec<String>,
    owner: Option<&'a str>,
    group: Option<&'a str>,
    keep_newer: bool,
}

impl Job<'_> {
    /// `tar ACTION -C dest [-z] [opts] [--owner --group --keep-newer-files] [--exclude] -f src [include…]`.
    fn tar(&self, action: &str, ownership: bool) -> Vec<String> {
        let mut cmd = vec![
            "tar".to_string(),
            action.to_string(),
            "-C".into(),
            self.dest.into(),
        ];
        cmd.extend(self.handler.tar_flag().map(str::to_string));
        if !self.extra.is_empty() {
            cmd.push("--show-transformed-names".into());
            cmd.extend(self.extra.iter().cloned());
        }
        if ownership {
            cmd.extend(self.owner.map(|o| format!("--owner={o}")));
            cmd.extend(self.group.map(|g| format!("--group={g}")));
            if self.keep_newer {
                cmd.push("--keep-newer-files".into());
            }
        }
        cmd.extend(self.excludes.iter().map(|e| format!("--exclude={e}")));
        cmd.extend(["-f".to_string(), self.src.to_string()]);
        cmd.extend(self.includes.iter().cloned());
        cmd
    }

    fn list_cmd(&self) -> Vec<String> {
        match self.handler {
            Handler::Zip => {
                let mut cmd = vec!["unzip".to_string(), "-Z1".into(), self.src.into()];
                cmd.extend(self.includes.iter().cloned());
                cmd
            }
            _ => self.tar("--list", false),
        }
    }

    fn extract_cmd(&self) -> Vec<String> {
        match self.handler {
            Handler::Zip => {
                let mut cmd = vec!["unzip".to_string(), "-o".into()];
                cmd.extend(self.extra.iter().cloned());
                cmd.push(self.src.into());
                cmd.extend(self.includes.iter().cloned());
                if !self.excludes.is_empty() {
                    cmd.push("-x".into());
                    cmd.extend(self.excludes.iter().cloned());
                }
                cmd.extend(["-d".to_string(), self.dest.to_string()]);
                cmd
            }
            _ => self.tar("--extract", true),
        }
    }
}

fn run_in(conn: &mut dyn Connection, dir: &str, argv: Vec<String>) -> Result<ExecOutput, String> {
    let mut req = ExecRequest::argv(argv);
    req.chdir = Some(dir.to_string());
    // Messages parsed below are tar's English ones.
    req.env = vec![("LC_ALL".into(), "C".into()), ("LANG".into(), "C".into())];
    Ok(conn.exec(&req)?)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Unpack `src` (on the host) into `dest`, as Ansible's `unarchive` module.
fn unpack(
    ctx: &mut ModuleContext<'_>,
    args: &Args,
    src: &str,
    dest: &str,
) -> Result<ModuleResult, ModuleError> {
    match ctx.conn.stat(src, true)? {
        None => {
            return Ok(ModuleResult::failed(format!(
                "Source '{src}' does not exist"
            )));
        }
        Some(st) if st.size == 0 => {
            return Ok(ModuleResult::failed(format!(
                "Invalid archive '{src}', the file is 0 bytes"
            )));
        }
        Some(_) => {}
    }
    let mut job = Job {
        handler: Handler::Zip,
        src,
        dest,
        excludes: args
            .list("exclude")
            .iter()
            .map(|e| e.trim_end_matches('/').to_string())
            .collect(),
        includes: args.list("include"),
        extra: args.list("extra_opts"),
        owner: args.str("owner"),
        group: args.str("group"),
        keep_newer: args.bool("keep_newer"),
    };
    let mut reasons = Vec::new();
    let mut files = None;
    for handler in Handler::ALL {
        if handler != Handler::Zip && ctx.check_mode {
            let mut skipped = ModuleResult::ok()
                .with_msg("remote module (unarchive) does not support check mode when using gtar");
            skipped.skipped = true;
            return Ok(skipped);
        }
        job.handler = handler;
        let out = run_in(ctx.conn, dest, job.list_cmd())?;
        let listed = archive_files(&text(&out.stdout), &job.excludes);
        if out.rc == 0 && !listed.is_empty() {
            files = Some(listed);
            break;
        }
        reasons.push(format!(
            "{}: {}",
            handler.class_name(),
            text(&out.stderr).trim()
        ));
    }
    let Some(files) = files else {
        return Ok(ModuleResult::failed(format!(
            "Failed to find handler for \"{src}\". Make sure the required command to extract the file is installed.\n{}",
            reasons.join("\n")
        )));
    };
    let attrs = AttrParams::from_args(args);
    let unarchived = match job.handler {
        Handler::Zip => zip_is_unpacked(ctx.conn, &job)?,
        _ => tar_is_unpacked(ctx.conn, &job, &attrs)?,
    };
    let mut result = ModuleResult::changed(ctx.check_mode && !unarchived)
        .with("handler", job.handler.class_name())
        .with("dest", dest)
        .with("src", src);
    if !ctx.check_mode && !unarchived {
        let cmd = job.extract_cmd();
        let out = run_in(ctx.conn, dest, cmd.clone())?;
        let mut extract = Map::new();
        extract.insert("cmd".into(), cmd.into());
        extract.insert("rc".into(), out.rc.into());
        extract.insert("out".into(), text(&out.stdout).into());
        extract.insert("err".into(), text(&out.stderr).into());
        result = result.with("extract_results", Value::Object(extract));
        if out.rc != 0 {
            result.failed = true;
            result.msg = Some(format!("failed to unpack {src} to {dest}"));
            return Ok(result);
        }
        result.changed = true;
    }
    if !ctx.check_mode && (attrs.mode.is_some() || attrs.owner.is_some() || attrs.group.is_some()) {
        let mut paths: Vec<String> = Vec::new();
        for name in &files {
            paths.push(format!("{}/{name}", dest.trim_end_matches('/')));
        }
        for name in &files {
            if let Some((top, _)) = name.split_once('/') {
                let top = format!("{}/{top}", dest.trim_end_matches('/'));
                if !paths.contains(&top) {
                    paths.push(top);
                }
            }
        }
        for path in paths {
            if ctx.conn.stat(&path, false)?.is_some() {
                result.changed |= apply_attrs(ctx.conn, &path, &attrs, false, false)?.changed;
            }
        }
    }
    if args.bool("list_files") {
        result = result.with("files", files);
    }
    result.data.extend(path_info(ctx.conn, dest)?);
    Ok(result)
}

/// The names a listing gives, without a leading `/` and without excluded ones (globs).
fn archive_files(listing: &str, excludes: &[String]) -> Vec<String> {
    let patterns: Vec<glob::Pattern> = excludes
        .iter()
        .filter_map(|e| glob::Pattern::new(e).ok())
        .collect();
    listing
        .lines()
        .map(|l| l.strip_prefix('/').unwrap_or(l).to_string())
        .filter(|l| !l.is_empty() && !patterns.iter().any(|p| p.matches(l)))
        .collect()
}

/// Ansible's test for a tar archive: `tar --diff`, where a missing file or a
/// difference in time, content, size or link target means "not unpacked"; a mode
/// (unless `mode` is given), owner or group difference (when running as root without
/// `owner`/`group`) too.
fn tar_is_unpacked(
    conn: &mut dyn Connection,
    job: &Job<'_>,
    attrs: &AttrParams,
) -> Result<bool, String> {
    let out = run_in(conn, job.dest, job.tar("--diff", true))?;
    let report = format!("{}\n{}", text(&out.stdout), text(&out.stderr));
    let differs = Regex::new(
        r"(: Mod time differs|: Warning: Cannot stat: No such file or directory|: Invalid owner|: Invalid group|: Symlink differs|: Contents differ|: Size differs)$",
    )
    .expect("a fixed pattern");
    let mut root = None;
    for line in report.lines() {
        if line.ends_with(": : Warning: Cannot stat: No such file or directory") {
            continue;
        }
        if differs.is_match(line) || (attrs.mode.is_none() && line.ends_with(": Mode differs")) {
            return Ok(false);
        }
        let id_line = (attrs.owner.is_none() && line.ends_with(": Uid differs"))
            || (attrs.group.is_none() && line.ends_with(": Gid differs"));
        if id_line {
            let is_root = match root {
                Some(r) => r,
                None => {
                    let id = conn.exec(&ExecRequest::argv(vec!["id".into(), "-u".into()]))?;
                    *root.insert(text(&id.stdout).trim() == "0")
                }
            };
            if is_root {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// A zip archive is unpacked when every file in it is in `dest` with the same content:
/// unpacked into a scratch directory on the host and compared there with `cmp`.
fn zip_is_unpacked(conn: &mut dyn Connection, job: &Job<'_>) -> Result<bool, String> {
    let scratch = create_temp(conn, None, "srplay-unzip.", "", true)?;
    let quote = |s: &str| {
        shlex::try_quote(s)
            .map(|q| q.into_owned())
            .map_err(|e| e.to_string())
    };
    let mut unzip = vec!["unzip".to_string(), "-qo".into(), quote(job.src)?];
    for include in &job.includes {
        unzip.push(quote(include)?);
    }
    if !job.excludes.is_empty() {
        unzip.push("-x".into());
        for exclude in &job.excludes {
            unzip.push(quote(exclude)?);
        }
    }
    let script = format!(
        "s={scratch}; d={dest}; {unzip} -d \"$s\" >/dev/null 2>&1 || exit 2; cd \"$s\" || exit 2; \
         find . -type f | while IFS= read -r f; do cmp -s \"$f\" \"$d/$f\" || echo differs; done",
        scratch = quote(&scratch)?,
        dest = quote(job.dest)?,
        unzip = unzip.join(" "),
    );
    let out = conn.exec(&ExecRequest::shell(script));
    conn.remove(&scratch, true)?;
    let out = out?;
    Ok(out.rc == 0 && out.stdout.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::Harness;
    use serde_json::json;
    use std::process::Command;

    /// An archive of `tree/` made with the machine's own tools.
    fn archive(h: &Harness, name: &str, argv: &[&str]) -> String {
        h.write("tree/a.txt", "a\n");
        h.write("tree/sub/b.txt", "b\n");
        std::fs::create_dir_all(h.path("files")).unwrap();
        let out = Command::new(argv[0])
            .args(&argv[1..])
            .current_dir(h.path(""))
            .output()
            .expect("archiver runs");
        assert!(out.status.success(), "{out:?}");
        h.path(name)
    }

    #[test]
    fn tar_gz_unpacks_once_and_lists() {
        let mut h = Harness::new();
        let src = archive(&h, "t.tgz", &["tar", "-czf", "t.tgz", "tree"]);
        std::fs::create_dir(h.path("out")).unwrap();
        let args =
            json!({"src": src, "dest": h.path("out"), "remote_src": true, "list_files": true});
        let r = h.run(&Unarchive, args.clone());
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(r.data["handler"], json!("TgzArchive"));
        assert_eq!(h.read("out/tree/sub/b.txt"), "b\n");
        assert!(
            r.data["files"]
                .as_array()
                .unwrap()
                .contains(&json!("tree/a.txt"))
        );
        let r = h.run(&Unarchive, args.clone());
        assert!(!r.changed, "{r:?}");
        h.write("out/tree/a.txt", "changed\n");
        let r = h.run(&Unarchive, args);
        assert!(r.changed);
        assert_eq!(h.read("out/tree/a.txt"), "a\n");
    }

    #[test]
    fn local_zip_is_shipped_with_exclude_and_mode() {
        let mut h = Harness::new();
        archive(&h, "files/t.zip", &["zip", "-qr", "files/t.zip", "tree"]);
        std::fs::create_dir(h.path("out")).unwrap();
        let args =
            json!({"src": "t.zip", "dest": h.path("out"), "exclude": "tree/sub/*", "mode": "0600"});
        let r = h.run(&Unarchive, args.clone());
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(r.data["handler"], json!("ZipArchive"));
        assert_eq!(h.read("out/tree/a.txt"), "a\n");
        assert!(!std::path::Path::new(&h.path("out/tree/sub/b.txt")).exists());
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(h.path("out/tree/a.txt"))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        let r = h.run(&Unarchive, args);
        assert!(!r.changed, "{r:?}");
    }

    #[test]
    fn creates_dest_and_bad_sources() {
        let mut h = Harness::new();
        let src = archive(&h, "t.tar", &["tar", "-cf", "t.tar", "tree"]);
        let r = h.run(
            &Unarchive,
            json!({"src": src, "dest": h.path("none"), "remote_src": true}),
        );
        assert_eq!(
            r.msg,
            Some(format!("dest '{}' must be an existing dir", h.path("none")))
        );
        let r = h.run(
            &Unarchive,
            json!({"src": src, "dest": h.path(""), "remote_src": true, "creates": src}),
        );
        assert!(r.skipped);
        let r = h.run(
            &Unarchive,
            json!({"src": h.path("nope"), "dest": h.path(""), "remote_src": true}),
        );
        assert_eq!(
            r.msg,
            Some(format!("Source '{}' does not exist", h.path("nope")))
        );
        let r = h.run(&Unarchive, json!({"src": "nope.tgz", "dest": h.path("")}));
        assert!(
            r.msg
                .unwrap()
                .starts_with("Could not find or access 'nope.tgz'")
        );
        let junk = h.write("junk", "not an archive");
        let r = h.run(
            &Unarchive,
            json!({"src": junk, "dest": h.path(""), "remote_src": true}),
        );
        assert!(r.msg.unwrap().starts_with("Failed to find handler for"));
        let mut c = Harness::new().check();
        let src = archive(&c, "t.tar", &["tar", "-cf", "t.tar", "tree"]);
        let r = c.run(
            &Unarchive,
            json!({"src": src, "dest": c.path(""), "remote_src": true}),
        );
        assert!(r.skipped);
    }
}
