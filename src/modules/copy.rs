//! `copy`: put a file (or a tree) on the host.
//!
//! The source is `content` (text; a list or dict is written as JSON) or `src`: a file
//! on the controller, looked up relative to the role's `files/` and the playbook
//! directory, or on the host with `remote_src`. A directory `src` copies the tree:
//! `src/` copies what is inside it into `dest`, `src` copies the directory itself into
//! `dest/`. A `dest` that is a directory (or ends with `/`) receives `dest/basename`.
//! `force: no` leaves an existing `dest` alone; `backup` keeps the old content
//! (returned as `backup_file`); `validate` checks the new content (`%s` is its path)
//! before it replaces `dest`; `mode` (octal, symbolic, or `preserve`), `owner`,
//! `group` apply to files, `directory_mode` to directories created; `follow` writes
//! through a `dest` symlink.
//!
//! Returns `dest`, `src`, `checksum` (sha1), `md5sum` (when written), `size`, `mode`,
//! `owner`, `group`, `uid`, `gid`, `state`; for a tree only `dest` and `src`.
//!
//! A vaulted controller `src` is decrypted (`decrypt: no` ships it as it is).
//!
//! Not supported: `checksum`, `local_follow: no` (links in a
//! local tree are always followed), `attributes`, SELinux options, `unsafe_writes`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::connection::{Connection, FileKind};
use crate::modules::content::{ContentWrite, write_content};
use crate::modules::files::{
    self, AttrParams, expand_user, find_local_src, md5_hex, parse_mode, path_info, sha1_hex,
};
use crate::modules::{
    ArgSpec, Args, Diff, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::Value;

pub struct Copy;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("src", Kind::Path),
    Param::new("content", Kind::Raw),
    Param::new("dest", Kind::Path).required(),
    Param::new("backup", Kind::Bool).default("no"),
    Param::new("force", Kind::Bool)
        .aliases(&["thirsty"])
        .default("yes"),
    Param::new("mode", Kind::Mode),
    Param::new("owner", Kind::Str),
    Param::new("group", Kind::Str),
    Param::new("directory_mode", Kind::Mode),
    Param::new("remote_src", Kind::Bool).default("no"),
    Param::new("validate", Kind::Str),
    Param::new("follow", Kind::Bool).default("no"),
    Param::new("decrypt", Kind::Bool).default("yes"),
])
.mutually_exclusive(&[&["content", "src"]]);

impl Module for Copy {
    fn name(&self) -> &'static str {
        "copy"
    }

    fn diff_is_list(&self) -> bool {
        true
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let dest = expand_user(ctx.conn, args.str("dest").unwrap_or(""))?;
        let (source, shown_src) = match (args.get("content"), args.str("src")) {
            (Some(content), _) => (Source::File(content_bytes(content), None), None),
            (None, Some(src)) => {
                let found = if args.bool("remote_src") {
                    let src = expand_user(ctx.conn, src)?;
                    gather(&mut Remote(&mut *ctx.conn), &src)
                } else {
                    match find_local_src(ctx.search_paths, src, "files") {
                        Ok(path) => gather(
                            &mut LocalFs {
                                decrypt: args.bool("decrypt"),
                            },
                            &path.to_string_lossy(),
                        ),
                        Err(msg) => return Ok(ModuleResult::failed(msg)),
                    }
                };
                match found {
                    Ok(Some(source)) => (source, Some(src.to_string())),
                    Ok(None) => {
                        return Ok(ModuleResult::failed(format!("Source {src} not found")));
                    }
                    Err(msg) => return Ok(ModuleResult::failed(msg)),
                }
            }
            (None, None) => return Ok(ModuleResult::failed("src (or content) is required")),
        };
        let opts = Options::from_args(args, ctx);
        match source {
            Source::File(data, src_mode) => {
                copy_file(ctx, &opts, &dest, &data, src_mode, shown_src.as_deref())
            }
            Source::Tree(entries) => {
                let src = shown_src.unwrap_or_default();
                copy_tree(ctx, &opts, &dest, &src, &entries)
            }
        }
    }
}

/// `content` as bytes: a string as it is, anything else as Python's `json.dumps`
/// writes it (`{"a": [1, 2]}`, non-ASCII escaped), as Ansible does.
fn content_bytes(content: &Value) -> Vec<u8> {
    match content {
        Value::String(s) => s.as_bytes().to_vec(),
        other => crate::value::json_dumps_with(
            other,
            &crate::value::JsonFormat {
                indent: None,
                sort_keys: false,
                ensure_ascii: true,
            },
        )
        .into_bytes(),
    }
}

/// The parameters that shape each file written (`template` shares them).
pub(super) struct Options<'a> {
    attrs: AttrParams,
    preserve_mode: bool,
    directory_mode: Option<&'a Value>,
    backup: bool,
    force: bool,
    follow: bool,
    validate: Option<&'a str>,
    check_mode: bool,
    diff_mode: bool,
}

impl<'a> Options<'a> {
    pub(super) fn from_args(args: &'a Args, ctx: &ModuleContext<'_>) -> Options<'a> {
        let mut attrs = AttrParams::from_args(args);
        let preserve_mode = args.str("mode") == Some("preserve");
        if preserve_mode {
            attrs.mode = None;
        }
        Options {
            attrs,
            preserve_mode,
            directory_mode: args.get("directory_mode"),
            backup: args.bool("backup"),
            force: args.bool("force"),
            follow: args.bool("follow"),
            validate: args.str("validate"),
            check_mode: ctx.check_mode,
            diff_mode: ctx.diff_mode,
        }
    }

    /// The attributes for one file: `mode: preserve` takes the source's bits.
    fn attrs_for(&self, src_mode: Option<u32>) -> AttrParams {
        let mut attrs = self.attrs.clone();
        if self.preserve_mode {
            attrs.mode = src_mode.map(|m| Value::String(files::format_mode(m)));
        }
        attrs
    }

    fn directory_mode(&self) -> Result<Option<u32>, String> {
        self.directory_mode
            .map(|m| parse_mode(m, 0o755, true))
            .transpose()
    }
}

pub(super) fn copy_file(
    ctx: &mut ModuleContext<'_>,
    opts: &Options<'_>,
    dest: &str,
    data: &[u8],
    src_mode: Option<u32>,
    src: Option<&str>,
) -> Result<ModuleResult, ModuleError> {
    // Read with the stat: a file there is compared with the new content next (in the
    // same step, through the connection's task cache).
    let dest_is_dir = dest.ends_with('/')
        || ctx
            .conn
            .stat_and_read(dest)?
            .is_some_and(|(st, _)| st.kind == FileKind::Dir);
    let mut dest = dest.to_string();
    if dest_is_dir {
        let Some(src) = src else {
            return Ok(ModuleResult::failed(
                "can not use content with a dir as dest",
            ));
        };
        let base = Path::new(src.trim_end_matches('/'))
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if ctx.conn.stat(&dest, true)?.is_none() && !ctx.check_mode {
            ctx.conn.mkdir_all(&dest, opts.directory_mode()?)?;
        }
        dest = format!("{}/{base}", dest.trim_end_matches('/'));
    }
    // A destination that exists has its directory (one stat fewer on a second run).
    let parent = files::parent_dir(&dest);
    if ctx.conn.stat(&dest, false)?.is_none() && !ctx.conn.exists(&parent)? {
        return Ok(ModuleResult::failed(format!(
            "Destination directory {parent} does not exist"
        )));
    }
    if opts.follow {
        dest = files::resolve_links(ctx.conn, &dest)?;
    }
    let exists = ctx.conn.stat(&dest, true)?.is_some();
    let shown_src = src.map_or(Value::Null, |s| Value::String(s.to_string()));
    if exists && !opts.force {
        return Ok(ModuleResult::ok().with("dest", dest).with("src", shown_src));
    }
    let attrs = opts.attrs_for(src_mode);
    let outcome = match write_content(
        ctx.conn,
        &ContentWrite {
            dest: &dest,
            content: data,
            attrs: &attrs,
            backup: opts.backup,
            validate: opts.validate,
            before_header: Some(dest.clone()),
            after_header: Some(src.unwrap_or(&dest).to_string()),
            check_mode: opts.check_mode,
            diff_mode: opts.diff_mode,
        },
    ) {
        Ok(outcome) => outcome,
        Err(failed) => return Ok(*failed),
    };
    let mut result = ModuleResult::changed(outcome.changed());
    result.diff.extend(outcome.diff.clone());
    result = result.with("dest", dest.as_str());
    if src.is_some() {
        result = result.with("src", shown_src);
    }
    if opts.check_mode && !exists {
        return Ok(result);
    }
    result = result.with("checksum", sha1_hex(data));
    if outcome.content_changed {
        result = result.with("md5sum", md5_hex(data));
    }
    if let Some(backup) = outcome.backup_file {
        result = result.with("backup_file", backup);
    }
    result.data.extend(path_info(ctx.conn, &dest)?);
    Ok(result)
}

fn copy_tree(
    ctx: &mut ModuleContext<'_>,
    opts: &Options<'_>,
    dest: &str,
    src: &str,
    entries: &[Entry],
) -> Result<ModuleResult, ModuleError> {
    let dest = dest.trim_end_matches('/');
    // `src/` copies the contents; `src` the directory itself.
    let root = if src.ends_with('/') {
        dest.to_string()
    } else {
        let base = Path::new(src)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("{dest}/{base}")
    };
    let dir_mode = opts.directory_mode()?;
    let mut changed = false;
    let mut diffs: Vec<Diff> = Vec::new();
    for dir in std::iter::once("").chain(
        entries
            .iter()
            .filter(|e| e.data.is_none())
            .map(|e| e.rel.as_str()),
    ) {
        let path = join(&root, dir);
        if ctx.conn.stat(&path, true)?.is_none() {
            changed = true;
            if !opts.check_mode {
                ctx.conn.mkdir_all(&path, dir_mode)?;
            }
        }
    }
    for entry in entries {
        let Some(data) = &entry.data else { continue };
        let path = join(&root, &entry.rel);
        let exists = ctx.conn.stat(&path, true)?.is_some();
        if exists && !opts.force {
            continue;
        }
        if opts.check_mode && !exists {
            changed = true;
            if opts.diff_mode {
                diffs.push(Diff {
                    before: String::new(),
                    after: String::from_utf8_lossy(data).into_owned(),
                    before_header: None,
                    after_header: Some(path),
                    ..Diff::default()
                });
            }
            continue;
        }
        let attrs = opts.attrs_for(Some(entry.mode));
        let outcome = match write_content(
            ctx.conn,
            &ContentWrite {
                dest: &path,
                content: data,
                attrs: &attrs,
                backup: opts.backup,
                validate: opts.validate,
                before_header: Some(path.clone()),
                after_header: Some(path.clone()),
                check_mode: opts.check_mode,
                diff_mode: opts.diff_mode,
            },
        ) {
            Ok(outcome) => outcome,
            Err(failed) => return Ok(*failed),
        };
        changed |= outcome.changed();
        diffs.extend(outcome.diff);
    }
    let mut result = ModuleResult::changed(changed)
        .with("dest", format!("{dest}/"))
        .with("src", src);
    result.diff = diffs;
    Ok(result)
}

/// `a/b`, where an empty side is left out (the root of a tree, a top-level entry).
fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}/{b}"),
    }
}

/// What to copy, read whole before anything is written.
enum Source {
    /// Content and the source's mode (for `mode: preserve`).
    File(Vec<u8>, Option<u32>),
    Tree(Vec<Entry>),
}

/// One path under a source directory: `data` is `None` for a directory.
struct Entry {
    rel: String,
    data: Option<Vec<u8>>,
    mode: u32,
}

/// Where a source is read from: the controller or the host (`remote_src`).
trait SourceFs {
    /// Whether the path is a directory, and its mode; `None` when missing. Follows links.
    fn stat(&mut self, path: &str) -> Result<Option<(bool, u32)>, String>;
    fn list(&mut self, path: &str) -> Result<Vec<String>, String>;
    fn read(&mut self, path: &str) -> Result<Vec<u8>, String>;
}

/// The controller's files; vaulted ones decrypted when `decrypt`.
struct LocalFs {
    decrypt: bool,
}

impl SourceFs for LocalFs {
    fn stat(&mut self, path: &str) -> Result<Option<(bool, u32)>, String> {
        match std::fs::metadata(path) {
            Ok(meta) => Ok(Some((meta.is_dir(), meta.permissions().mode() & 0o7777))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("could not stat {path}: {e}")),
        }
    }

    fn list(&mut self, path: &str) -> Result<Vec<String>, String> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(path).map_err(|e| format!("could not list {path}: {e}"))? {
            let entry = entry.map_err(|e| format!("could not list {path}: {e}"))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn read(&mut self, path: &str) -> Result<Vec<u8>, String> {
        crate::vault::read_controller_file(Path::new(path), self.decrypt)
    }
}

struct Remote<'a>(&'a mut dyn Connection);

impl SourceFs for Remote<'_> {
    fn stat(&mut self, path: &str) -> Result<Option<(bool, u32)>, String> {
        Ok(self
            .0
            .stat(path, true)?
            .map(|st| (st.kind == FileKind::Dir, st.mode)))
    }

    fn list(&mut self, path: &str) -> Result<Vec<String>, String> {
        Ok(self.0.list_dir(path)?)
    }

    fn read(&mut self, path: &str) -> Result<Vec<u8>, String> {
        Ok(self.0.read_file(path)?)
    }
}

/// Read a source file or tree; `None` when it does not exist.
fn gather(fs: &mut dyn SourceFs, src: &str) -> Result<Option<Source>, String> {
    let Some((is_dir, mode)) = fs.stat(src)? else {
        return Ok(None);
    };
    if !is_dir {
        return Ok(Some(Source::File(fs.read(src)?, Some(mode))));
    }
    let mut entries = Vec::new();
    let mut pending = vec![String::new()];
    while let Some(rel) = pending.pop() {
        let dir = join(src.trim_end_matches('/'), &rel);
        for name in fs.list(&dir)? {
            let child_rel = join(&rel, &name);
            let child = join(src.trim_end_matches('/'), &child_rel);
            match fs.stat(&child)? {
                Some((true, mode)) => {
                    pending.push(child_rel.clone());
                    entries.push(Entry {
                        rel: child_rel,
                        data: None,
                        mode,
                    });
                }
                Some((false, mode)) => entries.push(Entry {
                    data: Some(fs.read(&child)?),
                    rel: child_rel,
                    mode,
                }),
                // A dangling link: nothing to copy.
                None => {}
            }
        }
    }
    entries.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(Some(Source::Tree(entries)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::Harness;
    use serde_json::json;
    use std::os::unix::fs::MetadataExt;

    fn mode_of(path: &str) -> u32 {
        std::fs::metadata(path).unwrap().mode() & 0o7777
    }

    #[test]
    fn content_written_then_idempotent() {
        // `ansible localhost -m copy -a 'content="hello\n" dest=/tmp/c1 mode=0600' --diff`
        let mut h = Harness::new().diff();
        let dest = h.path("c1");
        let r = h.run(
            &Copy,
            json!({"content": "hello\n", "dest": dest, "mode": "0600"}),
        );
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(h.read("c1"), "hello\n");
        assert_eq!(mode_of(&dest), 0o600);
        assert_eq!(
            r.data["checksum"],
            json!("f572d396fae9206628714fb2ce00f72e94f2258f")
        );
        assert_eq!(r.data["md5sum"], json!("b1946ac92492d2347c6235b4d2611184"));
        assert_eq!(r.data["mode"], json!("0600"));
        assert_eq!(r.data["size"], json!(6));
        assert_eq!(r.data["state"], json!("file"));
        assert_eq!(r.data["dest"], json!(dest));
        assert_eq!(
            r.diff,
            vec![Diff {
                before: String::new(),
                after: "hello\n".into(),
                before_header: None,
                after_header: Some(dest.clone()),
                ..Diff::default()
            }]
        );
        let r = h.run(
            &Copy,
            json!({"content": "hello\n", "dest": dest, "mode": "0600"}),
        );
        assert!(!r.changed);
        assert!(r.data.get("md5sum").is_none());
        assert!(r.diff.is_empty());
    }

    #[test]
    fn backup_keeps_the_old_content() {
        let mut h = Harness::new().diff();
        let dest = h.write("c", "old\n");
        let r = h.run(
            &Copy,
            json!({"content": "new\n", "dest": dest, "backup": true}),
        );
        assert!(r.changed);
        let backup = r.data["backup_file"].as_str().unwrap().to_string();
        assert!(
            backup.starts_with(&format!("{dest}.")) && backup.ends_with('~'),
            "{backup}"
        );
        assert_eq!(std::fs::read_to_string(&backup).unwrap(), "old\n");
        assert_eq!(r.diff[0].before, "old\n");
        assert_eq!(r.diff[0].before_header.as_deref(), Some(dest.as_str()));
    }

    #[test]
    fn check_mode_writes_nothing() {
        let mut h = Harness::new().check().diff();
        let dest = h.path("c2");
        let r = h.run(&Copy, json!({"content": "x\n", "dest": dest}));
        assert!(r.changed);
        assert_eq!(r.diff[0].after, "x\n");
        assert!(!Path::new(&dest).exists());
        let dest = h.write("c3", "x\n");
        let r = h.run(
            &Copy,
            json!({"content": "x\n", "dest": dest, "mode": "0700"}),
        );
        assert!(r.changed, "a mode change is a change");
        assert_ne!(mode_of(&dest), 0o700);
    }

    #[test]
    fn validate_failure_leaves_dest_untouched() {
        let mut h = Harness::new();
        let dest = h.write("v", "keep\n");
        let r = h.run(
            &Copy,
            json!({"content": "x\n", "dest": dest, "validate": "false %s"}),
        );
        assert!(r.failed);
        assert_eq!(r.msg.as_deref(), Some("failed to validate"));
        assert_eq!(r.data["exit_status"], json!(1));
        assert_eq!(h.read("v"), "keep\n");
        assert_eq!(
            std::fs::read_dir(h.path("")).unwrap().count(),
            1,
            "no temp file left"
        );
        let r = h.run(
            &Copy,
            json!({"content": "x\n", "dest": dest, "validate": "grep -q x %s"}),
        );
        assert!(r.changed && !r.failed);
        let r = h.run(
            &Copy,
            json!({"content": "y\n", "dest": dest, "validate": "true"}),
        );
        assert!(r.failed);
        assert!(r.msg.unwrap().starts_with("validate must contain %s"));
    }

    #[test]
    fn src_is_searched_in_files_then_the_base() {
        let mut h = Harness::new();
        h.write("files/a.txt", "from files\n");
        h.write("b.txt", "from base\n");
        let out = h.path("out");
        std::fs::create_dir(&out).unwrap();
        let r = h.run(&Copy, json!({"src": "a.txt", "dest": format!("{out}/")}));
        assert!(r.changed, "{r:?}");
        assert_eq!(r.data["dest"], json!(format!("{out}/a.txt")));
        assert_eq!(r.data["src"], json!("a.txt"));
        assert_eq!(h.read("out/a.txt"), "from files\n");
        let r = h.run(&Copy, json!({"src": "b.txt", "dest": out}));
        assert_eq!(r.data["dest"], json!(format!("{out}/b.txt")));
        let r = h.run(&Copy, json!({"src": "nope", "dest": out}));
        assert!(r.failed);
        assert!(
            r.msg
                .unwrap()
                .starts_with("Could not find or access 'nope'\nSearched in:\n\t")
        );
        let r = h.run(&Copy, json!({"content": "x", "dest": out}));
        assert_eq!(
            r.msg.as_deref(),
            Some("can not use content with a dir as dest")
        );
        let r = h.run(&Copy, json!({"dest": out}));
        assert_eq!(r.msg.as_deref(), Some("src (or content) is required"));
        let r = h.run(&Copy, json!({"content": "x", "dest": h.path("no/such/f")}));
        assert_eq!(
            r.msg,
            Some(format!(
                "Destination directory {} does not exist",
                h.path("no/such")
            ))
        );
    }

    #[test]
    fn force_no_and_preserve_and_remote_src() {
        let mut h = Harness::new();
        let src = h.write("s", "new\n");
        std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o751)).unwrap();
        let dest = h.write("d", "old\n");
        let r = h.run(&Copy, json!({"src": src, "dest": dest, "force": false}));
        assert!(!r.changed);
        assert_eq!(h.read("d"), "old\n");
        let r = h.run(
            &Copy,
            json!({"src": src, "dest": dest, "mode": "preserve", "remote_src": true}),
        );
        assert!(r.changed);
        assert_eq!(h.read("d"), "new\n");
        assert_eq!(mode_of(&dest), 0o751);
        assert_eq!(r.data["mode"], json!("0751"));
    }

    #[test]
    fn trees_with_and_without_trailing_slash() {
        let mut h = Harness::new();
        h.write("tree/a", "a\n");
        h.write("tree/sub/b", "b\n");
        let src = h.path("tree");
        let out = h.path("out");
        let r = h.run(
            &Copy,
            json!({"src": src, "dest": out, "directory_mode": "0700"}),
        );
        assert!(r.changed, "{r:?}");
        assert_eq!(r.data["dest"], json!(format!("{out}/")));
        assert_eq!(h.read("out/tree/sub/b"), "b\n");
        assert_eq!(mode_of(&h.path("out/tree/sub")), 0o700);
        let r = h.run(&Copy, json!({"src": src, "dest": out}));
        assert!(!r.changed);
        let out2 = h.path("out2");
        let r = h.run(
            &Copy,
            json!({"src": format!("{src}/"), "dest": out2, "remote_src": true}),
        );
        assert!(r.changed);
        assert_eq!(h.read("out2/a"), "a\n");
        assert_eq!(h.read("out2/sub/b"), "b\n");
        let r = h.run(
            &Copy,
            json!({"src": format!("{src}/"), "dest": out2, "remote_src": true}),
        );
        assert!(!r.changed);
    }

    #[test]
    fn structured_content_is_json() {
        let mut h = Harness::new();
        let dest = h.path("j");
        h.run(
            &Copy,
            json!({"content": {"a": [1, 2], "b": "c"}, "dest": dest}),
        );
        assert_eq!(h.read("j"), "{\"a\": [1, 2], \"b\": \"c\"}");
    }
}
