//! `file`: bring a path to a state and its attributes to the ones asked.
//!
//! `state`: `file` (must exist; only attributes change), `directory` (created with
//! missing parents, each given `mode`/`owner`/`group`; `recurse` applies them to the
//! whole tree), `link` (a symlink to `src`), `hard` (a hard link to `src`), `touch`
//! (create empty or update times), `absent` (remove, recursively). Without `state`
//! the current one is kept (`file` when missing). `force` replaces what is in the
//! way of a link; `follow` (default yes) acts on what a symlink points to.
//! `modification_time`/`access_time` take a time in `*_time_format`
//! (`%Y%m%d%H%M.%S`), `now` or `preserve`.
//!
//! Returns `path` (or `dest` for links and touch), `state`, `mode`, `owner`, `group`,
//! `uid`, `gid`, `size`, and with `--diff` Ansible's `{before: {path, state…},
//! after: {…}}`.
//!
//! Not supported: `attributes` (chattr), SELinux contexts, `unsafe_writes`.

use chrono::{Local, NaiveDateTime, TimeZone};

use crate::connection::{Connection, FileKind, FileStat};
use crate::modules::files::{self, AttrParams, dict_diff, expand_user, path_info, path_state};
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::{Map, Value};

pub struct File;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("path", Kind::Path)
        .required()
        .aliases(&["dest", "name"]),
    Param::new("state", Kind::Str).choices(&[
        "absent",
        "directory",
        "file",
        "hard",
        "link",
        "touch",
    ]),
    Param::new("src", Kind::Path),
    Param::new("recurse", Kind::Bool).default("no"),
    Param::new("force", Kind::Bool).default("no"),
    Param::new("follow", Kind::Bool).default("yes"),
    Param::new("mode", Kind::Mode),
    Param::new("owner", Kind::Str),
    Param::new("group", Kind::Str),
    Param::new("modification_time", Kind::Str),
    Param::new("modification_time_format", Kind::Str).default("%Y%m%d%H%M.%S"),
    Param::new("access_time", Kind::Str),
    Param::new("access_time_format", Kind::Str).default("%Y%m%d%H%M.%S"),
]);

impl Module for File {
    fn name(&self) -> &'static str {
        "file"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let path = expand_user(ctx.conn, args.str("path").unwrap_or(""))?;
        let prev = ctx.conn.stat(&path, false)?;
        let prev_state = prev.as_ref().map_or("absent", path_state);
        let state = match args.str("state") {
            Some(state) => state,
            None if prev.is_some() => prev_state,
            None if args.bool("recurse") => "directory",
            None => "file",
        };
        if args.bool("recurse") && state != "directory" {
            return Ok(fail(
                "recurse option requires state to be 'directory'",
                &path,
            ));
        }
        if args.get("src").is_some() && !matches!(state, "link" | "hard") {
            return Ok(fail(
                "src option requires state to be 'link' or 'hard'",
                &path,
            ));
        }
        let times = match Times::from_args(args, state) {
            Ok(times) => times,
            Err(msg) => return Ok(fail(msg, &path)),
        };
        let mut job = Job {
            conn: &mut *ctx.conn,
            diff: FileDiff::new(&path, state, prev_state),
            path,
            prev,
            follow: args.bool("follow"),
            force: args.bool("force"),
            attrs: AttrParams::from_args(args),
            times,
            check_mode: ctx.check_mode,
        };
        let src = args.str("src").map(str::to_string);
        let mut result = match state {
            "absent" => job.absent()?,
            "touch" => job.touch()?,
            "directory" => job.directory(args.bool("recurse"))?,
            "link" => job.symlink(src)?,
            "hard" => job.hardlink(src)?,
            _ => job.file()?,
        };
        if ctx.diff_mode && result.changed && !result.failed {
            result.diff = vec![dict_diff(&job.diff.before, &job.diff.after)];
        }
        Ok(result)
    }
}

fn fail(msg: impl Into<String>, path: &str) -> ModuleResult {
    ModuleResult::failed(msg).with("path", path)
}

/// Ansible's file diff: `{path, state}` on both sides when the state changes, with
/// attribute and time changes added.
struct FileDiff {
    before: Map,
    after: Map,
}

impl FileDiff {
    fn new(path: &str, state: &str, prev_state: &str) -> FileDiff {
        let (mut before, mut after) = (Map::new(), Map::new());
        before.insert("path".into(), path.into());
        after.insert("path".into(), path.into());
        if state != prev_state {
            before.insert("state".into(), prev_state.into());
            after.insert("state".into(), state.into());
        }
        FileDiff { before, after }
    }

    fn add(&mut self, before: Map, after: Map) {
        self.before.extend(before);
        self.after.extend(after);
    }
}

/// What a time parameter asks.
#[derive(Clone, Copy, Debug, PartialEq)]
enum TimeSpec {
    Preserve,
    Now,
    At(f64),
}

struct Times {
    mtime: TimeSpec,
    atime: TimeSpec,
}

impl Times {
    fn from_args(args: &Args, state: &str) -> Result<Times, String> {
        let parse = |value: Option<&str>, format: &str| -> Result<TimeSpec, String> {
            match value {
                None if state == "touch" => Ok(TimeSpec::Now),
                None | Some("preserve") => Ok(TimeSpec::Preserve),
                Some("now") => Ok(TimeSpec::Now),
                Some(text) => NaiveDateTime::parse_from_str(text, format)
                    .ok()
                    .and_then(|t| Local.from_local_datetime(&t).earliest())
                    .map(|t| TimeSpec::At(t.timestamp() as f64))
                    .ok_or_else(|| {
                        format!(
                            "Error while obtaining timestamp for time {text} using format {format}"
                        )
                    }),
            }
        };
        Ok(Times {
            mtime: parse(
                args.str("modification_time"),
                args.str("modification_time_format")
                    .unwrap_or("%Y%m%d%H%M.%S"),
            )?,
            atime: parse(
                args.str("access_time"),
                args.str("access_time_format").unwrap_or("%Y%m%d%H%M.%S"),
            )?,
        })
    }
}

/// One run of the module on one path.
struct Job<'c> {
    conn: &'c mut dyn Connection,
    path: String,
    prev: Option<FileStat>,
    follow: bool,
    force: bool,
    attrs: AttrParams,
    times: Times,
    check_mode: bool,
    diff: FileDiff,
}

impl Job<'_> {
    fn prev_state(&self) -> &'static str {
        self.prev.as_ref().map_or("absent", path_state)
    }

    /// Mode/owner/group and times on `path`; whether anything changed.
    fn settle(&mut self, path: &str, follow: bool) -> Result<bool, String> {
        let change = files::apply_attrs(self.conn, path, &self.attrs, follow, self.check_mode)?;
        self.diff.add(change.before, change.after);
        Ok(self.update_times(path)? || change.changed)
    }

    fn update_times(&mut self, path: &str) -> Result<bool, String> {
        if self.times.mtime == TimeSpec::Preserve && self.times.atime == TimeSpec::Preserve {
            return Ok(false);
        }
        let Some(st) = self.conn.stat(path, true)? else {
            return Ok(false);
        };
        let now = Local::now().timestamp_micros() as f64 / 1e6;
        let pick = |spec: TimeSpec, current: f64| match spec {
            TimeSpec::Preserve => current,
            TimeSpec::Now => now,
            TimeSpec::At(t) => t,
        };
        let (mtime, atime) = (
            pick(self.times.mtime, st.mtime),
            pick(self.times.atime, st.atime),
        );
        if mtime == st.mtime && atime == st.atime {
            return Ok(false);
        }
        let stamp = |b: &mut Map, a: f64, m: f64| {
            b.insert("atime".into(), a.into());
            b.insert("mtime".into(), m.into());
        };
        stamp(&mut self.diff.before, st.atime, st.mtime);
        stamp(&mut self.diff.after, atime, mtime);
        if !self.check_mode {
            self.conn.set_times(path, atime, mtime)?;
        }
        Ok(true)
    }

    /// The result for `path` as it is now: `key: path` and its facts.
    fn report(&mut self, key: &str, changed: bool) -> Result<ModuleResult, String> {
        let mut result = ModuleResult::changed(changed).with(key, self.path.as_str());
        result.data.extend(path_info(self.conn, &self.path)?);
        Ok(result)
    }

    fn absent(&mut self) -> Result<ModuleResult, String> {
        let changed = self.prev.is_some();
        if changed && !self.check_mode {
            self.conn.remove(&self.path, true)?;
        }
        Ok(ModuleResult::changed(changed)
            .with("path", self.path.as_str())
            .with("state", "absent"))
    }

    fn touch(&mut self) -> Result<ModuleResult, String> {
        let mut changed = false;
        if self.prev.is_none() {
            if self.check_mode {
                return Ok(ModuleResult::changed(true).with("dest", self.path.as_str()));
            }
            let attrs = self.attrs.for_new_file(0o644)?;
            self.conn.write_file(&self.path, b"", &attrs)?;
            changed = true;
        }
        let path = self.path.clone();
        changed |= self.settle(&path, self.follow)?;
        self.report("dest", changed)
    }

    fn file(&mut self) -> Result<ModuleResult, String> {
        let mut state = self.prev_state();
        if state == "link" && self.follow {
            state = self
                .conn
                .stat(&self.path, true)?
                .as_ref()
                .map_or("absent", path_state);
        }
        if !matches!(state, "file" | "hard") {
            return Ok(fail(
                format!("file ({}) is {state}, cannot continue", self.path),
                &self.path,
            )
            .with("state", state));
        }
        let path = self.path.clone();
        let changed = self.settle(&path, self.follow)?;
        self.report("path", changed)
    }

    fn directory(&mut self, recurse: bool) -> Result<ModuleResult, String> {
        let path = self.path.clone();
        let mut changed = false;
        let mut state = self.prev_state();
        if state == "link" && self.follow {
            state = self
                .conn
                .stat(&path, true)?
                .as_ref()
                .map_or("absent", path_state);
        }
        if state == "absent" {
            if self.check_mode {
                return Ok(ModuleResult::changed(true).with("path", path));
            }
            let missing = self.missing_ancestors(&path)?;
            self.conn.mkdir_all(&path, None)?;
            for dir in &missing {
                self.settle(dir, self.follow)?;
            }
            changed = true;
        } else if state != "directory" {
            return Ok(fail(format!("{path} already exists as a {state}"), &path));
        }
        changed |= self.settle(&path, self.follow)?;
        if recurse {
            changed |= self.settle_tree(&path)?;
        }
        self.report("path", changed)
    }

    /// `path` and those of its ancestors that do not exist, outermost first.
    fn missing_ancestors(&mut self, path: &str) -> Result<Vec<String>, String> {
        let mut missing = Vec::new();
        let mut current = std::path::Path::new(path);
        loop {
            let text = current.to_string_lossy().into_owned();
            if text.is_empty() || self.conn.stat(&text, true)?.is_some() {
                break;
            }
            missing.push(text);
            match current.parent() {
                Some(parent) => current = parent,
                None => break,
            }
        }
        missing.reverse();
        Ok(missing)
    }

    /// Apply attributes and times to everything under `dir` (links themselves, not
    /// their targets).
    fn settle_tree(&mut self, dir: &str) -> Result<bool, String> {
        let mut changed = false;
        for name in self.conn.list_dir(dir)? {
            let child = format!("{}/{name}", dir.trim_end_matches('/'));
            let Some(st) = self.conn.stat(&child, false)? else {
                continue;
            };
            changed |= self.settle(&child, st.kind != FileKind::Symlink)?;
            if st.kind == FileKind::Dir {
                changed |= self.settle_tree(&child)?;
            }
        }
        Ok(changed)
    }

    fn symlink(&mut self, src: Option<String>) -> Result<ModuleResult, String> {
        let path = self.path.clone();
        let prev_state = self.prev_state();
        let src = match src {
            Some(src) => Some(src),
            None if self.follow => self.prev.as_ref().and_then(|p| p.link_target.clone()),
            None => None,
        };
        if let Some(src) = &src
            && !self.force
        {
            let base = if prev_state == "directory" {
                path.clone()
            } else {
                files::parent_dir(&path)
            };
            let absolute = if src.starts_with('/') {
                src.clone()
            } else {
                format!("{}/{src}", base.trim_end_matches('/'))
            };
            if self.conn.stat(&absolute, true)?.is_none() {
                return Ok(fail(
                    format!(
                        "src file does not exist, use 'force=yes' if you really want to create the link: {absolute}"
                    ),
                    &path,
                )
                .with("src", src.as_str()));
            }
        }
        match prev_state {
            "directory" if !self.force => {
                return Ok(fail(
                    format!("refusing to convert from directory to symlink for {path}"),
                    &path,
                ));
            }
            "directory" if !self.conn.list_dir(&path)?.is_empty() => {
                return Ok(fail(
                    format!("the directory {path} is not empty, refusing to convert it"),
                    &path,
                ));
            }
            "file" | "hard" if !self.force => {
                return Ok(fail(
                    format!("refusing to convert from {prev_state} to symlink for {path}"),
                    &path,
                ));
            }
            _ => {}
        }
        let changed = match (prev_state, &src) {
            ("link", Some(src)) => {
                let old = self
                    .prev
                    .as_ref()
                    .and_then(|p| p.link_target.clone())
                    .unwrap_or_default();
                let differs = old != *src;
                if differs {
                    self.diff.before.insert("src".into(), old.into());
                    self.diff.after.insert("src".into(), src.clone().into());
                }
                differs
            }
            ("link", None) => false,
            (_, None) => {
                return Ok(ModuleResult::failed(
                    "src is required for creating new symlinks",
                ));
            }
            _ => true,
        };
        let src_value = src.clone().map_or(Value::Null, Value::String);
        if changed && !self.check_mode {
            if prev_state == "directory" {
                self.conn.remove(&path, false)?;
            }
            self.conn
                .symlink(src.as_deref().unwrap_or_default(), &path, true)?;
        }
        if self.check_mode && self.conn.stat(&path, false)?.is_none() {
            return Ok(ModuleResult::changed(changed)
                .with("dest", path)
                .with("src", src_value));
        }
        let target_exists = self.conn.stat(&path, true)?.is_some();
        let mut changed = changed;
        // Attributes of a dangling link's target cannot be set (Ansible warns and goes on).
        if !self.follow || target_exists {
            changed |= self.settle(&path, self.follow)?;
        }
        let mut result = self.report("dest", changed)?;
        result.data.insert("src".into(), src_value);
        Ok(result)
    }

    fn hardlink(&mut self, src: Option<String>) -> Result<ModuleResult, String> {
        let path = self.path.clone();
        let prev_state = self.prev_state();
        let src = match src {
            Some(src) => src,
            // An existing hard link may keep its source unnamed: only attributes change.
            None if prev_state == "hard" => {
                let changed = self.settle(&path, self.follow)?;
                return self.report("dest", changed);
            }
            None => {
                return Ok(ModuleResult::failed(
                    "src is required for creating new hardlinks",
                ));
            }
        };
        let Some(src_stat) = self.conn.stat(&src, true)? else {
            return Ok(ModuleResult::failed("src does not exist")
                .with("dest", path)
                .with("src", src));
        };
        let same_inode = self.prev.as_ref().is_some_and(|p| {
            p.kind != FileKind::Symlink && p.inode == src_stat.inode && p.dev == src_stat.dev
        });
        let refuse = |msg: &str| {
            Ok(ModuleResult::failed(msg)
                .with("dest", path.as_str())
                .with("src", src.as_str()))
        };
        let changed = match prev_state {
            "absent" => true,
            "link" => {
                let old = self
                    .prev
                    .as_ref()
                    .and_then(|p| p.link_target.clone())
                    .unwrap_or_default();
                self.diff.before.insert("src".into(), old.into());
                self.diff.after.insert("src".into(), src.clone().into());
                true
            }
            _ if same_inode => false,
            "hard" if !self.force => {
                return refuse("Cannot link, different hard link exists at destination");
            }
            "file" if !self.force => return refuse("Cannot link, file exists at destination"),
            "directory" if !self.force => {
                return refuse("Cannot link: different hard link exists at destination");
            }
            _ => true,
        };
        if changed && !self.check_mode {
            if prev_state == "directory" {
                self.conn.remove(&path, false)?;
            }
            self.conn.hardlink(&src, &path, true)?;
        }
        if self.check_mode && self.conn.stat(&path, false)?.is_none() {
            return Ok(ModuleResult::changed(changed)
                .with("dest", path)
                .with("src", src));
        }
        let changed = self.settle(&path, self.follow)? || changed;
        let mut result = self.report("dest", changed)?;
        result.data.insert("src".into(), src.into());
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::Harness;
    use serde_json::json;
    use std::os::unix::fs::MetadataExt;

    fn umask() -> u32 {
        let probe = tempfile::tempdir().unwrap();
        let d = probe.path().join("d");
        std::fs::create_dir(&d).unwrap();
        0o777 & !mode_of(&d.to_string_lossy())
    }

    fn mode_of(path: &str) -> u32 {
        std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
    }

    #[test]
    fn directory_created_with_parents_then_idempotent() {
        let mut h = Harness::new().diff();
        let d = h.path("a/b");
        let r = h.run(
            &File,
            json!({"path": d, "state": "directory", "mode": "0750"}),
        );
        assert!(r.changed && !r.failed, "{r:?}");
        let before =
            json!({"path": d, "state": "absent", "mode": format!("{:04o}", 0o777 & !umask())});
        assert_eq!(mode_of(&d), 0o750);
        assert_eq!(mode_of(&h.path("a")), 0o750);
        assert_eq!(r.data["state"], json!("directory"));
        assert_eq!(r.data["mode"], json!("0750"));
        // `ansible localhost -m file -a 'path=/tmp/d state=directory mode=0750' --diff`
        assert_eq!(
            serde_json::from_str::<Value>(&r.diff[0].before).unwrap(),
            before
        );
        assert_eq!(
            serde_json::from_str::<Value>(&r.diff[0].after).unwrap(),
            json!({"path": d, "state": "directory", "mode": "0750"})
        );
        let r = h.run(
            &File,
            json!({"path": d, "state": "directory", "mode": "0750"}),
        );
        assert!(!r.changed);
        assert!(r.diff.is_empty());
    }

    #[test]
    fn mode_change_diff_and_check_mode() {
        let mut h = Harness::new().check().diff();
        let f = h.write("f", "x");
        std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        let r = h.run(&File, json!({"path": f, "mode": "u=rw,go="}));
        assert!(r.changed);
        assert_eq!(mode_of(&f), 0o644, "check mode changes nothing");
        assert!(r.diff[0].before.contains("\"mode\": \"0644\""));
        assert!(r.diff[0].after.contains("\"mode\": \"0600\""));
        let d = h.path("newdir");
        let r = h.run(&File, json!({"path": d, "state": "directory"}));
        assert!(r.changed);
        assert!(!std::path::Path::new(&d).exists());
    }

    #[test]
    fn state_file_requires_the_file() {
        let mut h = Harness::new();
        let p = h.path("nope");
        let r = h.run(&File, json!({"path": p, "state": "file"}));
        assert!(r.failed);
        assert_eq!(
            r.msg,
            Some(format!("file ({p}) is absent, cannot continue"))
        );
        let r = h.run(&File, json!({"path": h.path(""), "state": "file"}));
        assert!(r.msg.unwrap().ends_with("is directory, cannot continue"));
    }

    #[test]
    fn touch_creates_then_updates_times() {
        let mut h = Harness::new();
        let p = h.path("t");
        let r = h.run(&File, json!({"path": p, "state": "touch", "mode": "0600"}));
        assert!(r.changed);
        assert_eq!(r.data["dest"], json!(p));
        assert_eq!(r.data["state"], json!("file"));
        assert_eq!(mode_of(&p), 0o600);
        let r = h.run(&File, json!({"path": p, "state": "touch"}));
        assert!(r.changed, "touch always updates times");
        let r = h.run(
            &File,
            json!({"path": p, "state": "touch", "modification_time": "preserve", "access_time": "preserve"}),
        );
        assert!(!r.changed);
        let r = h.run(
            &File,
            json!({"path": p, "state": "file", "modification_time": "202001021304.05"}),
        );
        assert!(r.changed);
        let expected = Local
            .with_ymd_and_hms(2020, 1, 2, 13, 4, 5)
            .unwrap()
            .timestamp();
        assert_eq!(std::fs::metadata(&p).unwrap().mtime(), expected);
        let r = h.run(
            &File,
            json!({"path": p, "state": "file", "modification_time": "202001021304.05"}),
        );
        assert!(!r.changed);
        let r = h.run(&File, json!({"path": p, "modification_time": "yesterday"}));
        assert!(r.failed);
    }

    #[test]
    fn absent_removes_trees_and_is_idempotent() {
        let mut h = Harness::new();
        h.write("t/x/y", "1");
        let p = h.path("t");
        let r = h.run(&File, json!({"path": p, "state": "absent"}));
        assert!(r.changed);
        assert_eq!(r.data["state"], json!("absent"));
        assert!(!std::path::Path::new(&p).exists());
        assert!(!h.run(&File, json!({"path": p, "state": "absent"})).changed);
    }

    #[test]
    fn symlinks() {
        let mut h = Harness::new();
        let target = h.write("target", "x");
        let link = h.path("l");
        let r = h.run(&File, json!({"path": link, "src": target, "state": "link"}));
        assert!(r.changed, "{r:?}");
        assert_eq!(r.data["state"], json!("link"));
        assert_eq!(r.data["src"], json!(target));
        assert_eq!(std::fs::read_link(&link).unwrap().to_string_lossy(), target);
        assert!(
            !h.run(&File, json!({"path": link, "src": target, "state": "link"}))
                .changed
        );
        // relative src, resolved beside the link
        let r = h.run(
            &File,
            json!({"path": link, "src": "target", "state": "link"}),
        );
        assert!(r.changed);
        assert_eq!(
            std::fs::read_link(&link).unwrap().to_string_lossy(),
            "target"
        );
        let r = h.run(
            &File,
            json!({"path": link, "src": "nowhere", "state": "link"}),
        );
        assert!(r.failed);
        assert!(
            r.msg
                .unwrap()
                .starts_with("src file does not exist, use 'force=yes'")
        );
        let r = h.run(
            &File,
            json!({"path": link, "src": "nowhere", "state": "link", "force": true}),
        );
        assert!(r.changed && !r.failed, "{r:?}");
        let file = h.write("plain", "x");
        let r = h.run(&File, json!({"path": file, "src": target, "state": "link"}));
        assert_eq!(
            r.msg,
            Some(format!(
                "refusing to convert from file to symlink for {file}"
            ))
        );
        let r = h.run(&File, json!({"path": h.path("x"), "src": target}));
        assert_eq!(
            r.msg.as_deref(),
            Some("src option requires state to be 'link' or 'hard'")
        );
    }

    #[test]
    fn hardlinks() {
        let mut h = Harness::new();
        let target = h.write("target", "x");
        let link = h.path("hl");
        let r = h.run(&File, json!({"path": link, "src": target, "state": "hard"}));
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(
            std::fs::metadata(&link).unwrap().ino(),
            std::fs::metadata(&target).unwrap().ino()
        );
        assert!(
            !h.run(&File, json!({"path": link, "src": target, "state": "hard"}))
                .changed
        );
        let other = h.write("other", "y");
        let r = h.run(
            &File,
            json!({"path": other, "src": target, "state": "hard"}),
        );
        assert_eq!(
            r.msg.as_deref(),
            Some("Cannot link, file exists at destination")
        );
        let r = h.run(
            &File,
            json!({"path": other, "src": target, "state": "hard", "force": true}),
        );
        assert!(r.changed && !r.failed);
        let r = h.run(
            &File,
            json!({"path": h.path("z"), "src": h.path("none"), "state": "hard"}),
        );
        assert_eq!(r.msg.as_deref(), Some("src does not exist"));
    }

    #[test]
    fn recurse_sets_the_whole_tree() {
        let mut h = Harness::new();
        let inner = h.write("r/sub/f", "x");
        let r = h.run(
            &File,
            json!({"path": h.path("r"), "state": "directory", "recurse": true, "mode": "u=rwX,g=rX,o="}),
        );
        assert!(r.changed);
        assert_eq!(mode_of(&inner), 0o640);
        assert_eq!(mode_of(&h.path("r/sub")), 0o750);
        let r = h.run(
            &File,
            json!({"path": h.path("r"), "state": "directory", "recurse": true, "mode": "u=rwX,g=rX,o="}),
        );
        assert!(!r.changed);
        let r = h.run(&File, json!({"path": inner, "recurse": true}));
        assert_eq!(
            r.msg.as_deref(),
            Some("recurse option requires state to be 'directory'")
        );
    }
}
