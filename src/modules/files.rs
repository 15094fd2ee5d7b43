//! Helpers shared by the modules that manage files: the one mode parser, the one
//! "apply mode/owner/group and report what changed" step, the path facts every file
//! module returns, `~` expansion, local `src` lookup and checksums.

use std::path::{Path, PathBuf};

use md5::Md5;
use sha1::{Digest, Sha1};
use sha2::{Sha224, Sha256, Sha384, Sha512};

use crate::connection::{Connection, FileAttrs, FileKind, FileStat};
use crate::modules::Diff;
use crate::value::{Map, Value};

/// `0o644` → `"0644"`, as Ansible prints modes.
pub fn format_mode(mode: u32) -> String {
    format!("{mode:04o}")
}

/// The permission bits a `mode` parameter asks for, given the path's current bits
/// (symbolic modes are relative to them) and whether it is a directory (for `X`).
/// Accepts an int (already the bits: YAML `0644` is 420), an octal string (`"0644"`,
/// `"644"`, `"0o644"`) or Ansible's symbolic form (`u=rw,g+r,o-rwx`, `a+X`).
pub fn parse_mode(mode: &Value, current: u32, is_dir: bool) -> Result<u32, String> {
    let invalid = || {
        format!(
            "mode must be in octal or symbolic form: {}",
            crate::value::to_display_string(mode)
        )
    };
    match mode {
        Value::Number(n) => n
            .as_u64()
            .filter(|m| *m <= 0o7777)
            .map(|m| m as u32)
            .ok_or_else(invalid),
        Value::String(s) => {
            let s = s.trim();
            let digits = s.strip_prefix("0o").unwrap_or(s);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                return u32::from_str_radix(digits, 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .ok_or_else(invalid);
            }
            symbolic_mode(s, current, is_dir).ok_or_else(invalid)
        }
        _ => Err(invalid()),
    }
}

/// Ansible's symbolic modes: comma-separated `[ugoa]+[-+=]([rwxXst]*|[ugo])` clauses.
fn symbolic_mode(spec: &str, current: u32, is_dir: bool) -> Option<u32> {
    let mut mode = current & 0o7777;
    for clause in spec.split(',') {
        let op_at = clause.find(['+', '-', '='])?;
        let (users, rest) = clause.split_at(op_at);
        let (op, perms) = rest.split_at(1);
        if users.is_empty() || !users.chars().all(|c| "ugoa".contains(c)) {
            return None;
        }
        let users = if users.contains('a') { "ugo" } else { users };
        for user in users.chars() {
            let shift = match user {
                'u' => 6,
                'g' => 3,
                _ => 0,
            };
            let special = match user {
                'u' => 0o4000,
                'g' => 0o2000,
                _ => 0o1000,
            };
            let mut bits = 0;
            if matches!(perms, "u" | "g" | "o") {
                let from = match perms {
                    "u" => 6,
                    "g" => 3,
                    _ => 0,
                };
                bits = ((mode >> from) & 0o7) << shift;
            } else {
                for p in perms.chars() {
                    bits |= match p {
                        'r' => 0o4 << shift,
                        'w' => 0o2 << shift,
                        'x' => 0o1 << shift,
                        'X' if is_dir || mode & 0o111 != 0 => 0o1 << shift,
                        'X' => 0,
                        's' if user != 'o' => special,
                        't' if user == 'o' => special,
                        's' | 't' => 0,
                        _ => return None,
                    };
                }
            }
            let class = (0o7 << shift) | special;
            mode = match op {
                "+" => mode | bits,
                "-" => mode & !bits,
                _ => (mode & !class) | bits,
            };
        }
    }
    Some(mode)
}

/// The mode/owner/group parameters of a file module.
#[derive(Clone, Debug, Default)]
pub struct AttrParams {
    pub mode: Option<Value>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

impl AttrParams {
    pub fn from_args(args: &crate::modules::Args) -> AttrParams {
        AttrParams {
            mode: args.get("mode").cloned(),
            owner: args.str("owner").map(str::to_string),
            group: args.str("group").map(str::to_string),
        }
    }

    /// The attributes to give a file written fresh, resolved against the bits it
    /// would otherwise get (`base`).
    pub fn for_new_file(&self, base: u32) -> Result<FileAttrs, String> {
        Ok(FileAttrs {
            mode: self
                .mode
                .as_ref()
                .map(|m| parse_mode(m, base, false))
                .transpose()?,
            owner: self.owner.clone(),
            group: self.group.clone(),
        })
    }
}

impl AttrParams {
    /// The attributes for a file put in place of `existing` (or created, when
    /// `None`): those asked for, else those of the file it replaces, else 0644.
    pub fn for_replacement(&self, existing: Option<&FileStat>) -> Result<FileAttrs, String> {
        let base = existing.map_or(0o644, |st| st.mode);
        let mut attrs = self.for_new_file(base)?;
        attrs.mode.get_or_insert(base);
        if let Some(st) = existing {
            attrs.owner.get_or_insert_with(|| st.uid.to_string());
            attrs.group.get_or_insert_with(|| st.gid.to_string());
        }
        Ok(attrs)
    }
}

/// What [`apply_attrs`] changed, with Ansible's `diff` halves (`mode`, `owner`, `group`).
#[derive(Clone, Debug, Default)]
pub struct AttrChange {
    pub changed: bool,
    pub before: Map,
    pub after: Map,
}

/// Bring a path's mode/owner/group to what the parameters ask, reporting what
/// differed; in check mode report only. The path must exist.
pub fn apply_attrs(
    conn: &mut dyn Connection,
    path: &str,
    params: &AttrParams,
    follow: bool,
    check_mode: bool,
) -> Result<AttrChange, String> {
    let mut change = AttrChange::default();
    let Some(st) = conn.stat(path, follow)? else {
        return Err(format!("file ({path}) is absent, cannot continue"));
    };
    let mut wanted = FileAttrs::default();
    if let Some(owner) = &params.owner
        && !same_id(owner, st.uid, &st.owner)
    {
        change.before.insert("owner".into(), st.uid.into());
        change
            .after
            .insert("owner".into(), Value::String(owner.clone()));
        wanted.owner = Some(owner.clone());
    }
    if let Some(group) = &params.group
        && !same_id(group, st.gid, &st.group)
    {
        change.before.insert("group".into(), st.gid.into());
        change
            .after
            .insert("group".into(), Value::String(group.clone()));
        wanted.group = Some(group.clone());
    }
    // A symlink's own mode cannot be set on Linux: without `follow` it is left alone.
    if let Some(mode) = &params.mode
        && (follow || st.kind != FileKind::Symlink)
    {
        let new = parse_mode(mode, st.mode, st.kind == FileKind::Dir)?;
        if new != st.mode {
            change
                .before
                .insert("mode".into(), format_mode(st.mode).into());
            change.after.insert("mode".into(), format_mode(new).into());
            wanted.mode = Some(new);
        }
    }
    change.changed = !change.after.is_empty();
    if change.changed && !check_mode {
        conn.set_attrs(path, &wanted, follow)?;
    }
    Ok(change)
}

fn same_id(wanted: &str, id: u32, name: &str) -> bool {
    match wanted.parse::<u32>() {
        Ok(n) => n == id,
        Err(_) => wanted == name,
    }
}

/// The `state` Ansible's file modules report for an existing path.
pub fn path_state(st: &FileStat) -> &'static str {
    match st.kind {
        FileKind::Dir => "directory",
        FileKind::Symlink => "link",
        FileKind::File if st.nlink > 1 => "hard",
        _ => "file",
    }
}

/// The path facts file modules return: `mode, owner, group, uid, gid, size, state`
/// (and `src` for a link), or `state: absent`.
pub fn path_info(conn: &mut dyn Connection, path: &str) -> Result<Map, String> {
    let mut info = Map::new();
    match conn.stat(path, false)? {
        None => {
            info.insert("state".into(), "absent".into());
        }
        Some(st) => {
            if let Some(target) = &st.link_target {
                info.insert("src".into(), target.clone().into());
            }
            info.insert("uid".into(), st.uid.into());
            info.insert("gid".into(), st.gid.into());
            info.insert("owner".into(), st.owner.clone().into());
            info.insert("group".into(), st.group.clone().into());
            info.insert("mode".into(), format_mode(st.mode).into());
            info.insert("state".into(), path_state(&st).into());
            info.insert("size".into(), st.size.into());
        }
    }
    Ok(info)
}

/// A structured diff (`{before: {path, state}, after: {...}}`) as text: JSON with
/// sorted keys and four-space indents, as Ansible's callbacks serialize one; registered
/// as the dicts themselves.
pub fn dict_diff(before: &Map, after: &Map) -> Diff {
    Diff {
        before: sorted_json(before),
        after: sorted_json(after),
        dicts: Some((before.clone(), after.clone())),
        ..Diff::default()
    }
}

fn sorted_json(map: &Map) -> String {
    use serde::Serialize;
    let sorted: std::collections::BTreeMap<&String, &Value> = map.iter().collect();
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    // Serializing a map of JSON values into memory cannot fail.
    let _ = sorted.serialize(&mut ser);
    let mut text = String::from_utf8_lossy(&out).into_owned();
    text.push('\n');
    text
}

/// Where a chain of symlinks at `path` ends (relative targets resolved against the
/// link's directory); `path` itself when it is not a link. Gives up after 40 hops,
/// as the kernel does.
pub fn resolve_links(conn: &mut dyn Connection, path: &str) -> Result<String, String> {
    let mut current = path.to_string();
    for _ in 0..40 {
        let Some(target) = conn.stat(&current, false)?.and_then(|st| st.link_target) else {
            return Ok(current);
        };
        current = if target.starts_with('/') {
            target
        } else {
            let dir = Path::new(&current).parent().unwrap_or(Path::new("/"));
            dir.join(target).to_string_lossy().into_owned()
        };
    }
    Err(format!("too many levels of symbolic links: {path}"))
}

/// The directory a path is in (`/` for `/x`, `.` for a bare name), as `dirname`.
pub fn parent_dir(path: &str) -> String {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some(("", _)) => "/".to_string(),
        Some((parent, _)) => parent.to_string(),
        None => ".".to_string(),
    }
}

/// Python's `os.path.normpath` for absolute or relative POSIX paths.
pub fn normpath(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let abs = p.starts_with('/');
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !abs {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (abs, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// `~` and `~/x` to the remote user's home; other paths as they are.
pub fn expand_user(conn: &mut dyn Connection, path: &str) -> Result<String, String> {
    if path == "~" {
        return Ok(conn.home_dir()?);
    }
    match path.strip_prefix("~/") {
        Some(rest) => Ok(format!("{}/{rest}", conn.home_dir()?.trim_end_matches('/'))),
        None => Ok(path.to_string()),
    }
}

/// Find a controller-side `src` as Ansible's action plugins do: an absolute path as
/// is; a relative one in `<p>/<subdir>/<src>` then `<p>/<src>` for each search path.
/// The error lists every place tried.
pub fn find_local_src(
    search_paths: &[PathBuf],
    src: &str,
    subdir: &str,
) -> Result<PathBuf, String> {
    let given = Path::new(src);
    let mut tried = Vec::new();
    if given.is_absolute() {
        tried.push(given.to_path_buf());
    } else {
        for base in search_paths {
            tried.push(base.join(subdir).join(given));
            tried.push(base.join(given));
        }
    }
    if let Some(found) = tried.iter().find(|p| p.exists()) {
        return Ok(found.clone());
    }
    let places: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    Err(format!(
        "Could not find or access '{src}'\nSearched in:\n\t{} on the Ansible Controller.\n\
         If you are using a module and expect the file to exist on the remote, see the remote_src option",
        places.join("\n\t")
    ))
}

/// A digest by the name the `stat` and `find` modules' `checksum_algorithm` takes
/// (`md5`, `sha1`, `sha224`, `sha256`, `sha384`, `sha512`; sha1 otherwise).
pub fn digest(algorithm: &str, data: &[u8]) -> String {
    match algorithm {
        "md5" => md5_hex(data),
        "sha224" => hex(&Sha224::digest(data)),
        "sha256" => hex(&Sha256::digest(data)),
        "sha384" => hex(&Sha384::digest(data)),
        "sha512" => hex(&Sha512::digest(data)),
        _ => sha1_hex(data),
    }
}

/// The keys `stat` and `find` report for every path: `mode`, `isdir/isreg/islnk/…`,
/// `uid`, `gid`, `size`, `inode`, `dev`, `nlink`, `atime/mtime/ctime`, `pw_name`,
/// `gr_name`, and the permission bits `rusr`…`xoth`, `isuid`, `isgid`.
pub fn stat_keys(st: &FileStat) -> Map {
    let mut s = Map::new();
    let mut put = |k: &str, v: Value| {
        s.insert(k.to_string(), v);
    };
    put("mode", format_mode(st.mode).into());
    put("isdir", (st.kind == FileKind::Dir).into());
    put("ischr", (st.kind == FileKind::CharDevice).into());
    put("isblk", (st.kind == FileKind::BlockDevice).into());
    put("isreg", (st.kind == FileKind::File).into());
    put("isfifo", (st.kind == FileKind::Fifo).into());
    put("islnk", (st.kind == FileKind::Symlink).into());
    put("issock", (st.kind == FileKind::Socket).into());
    put("uid", st.uid.into());
    put("gid", st.gid.into());
    put("size", st.size.into());
    put("inode", st.inode.into());
    put("dev", st.dev.into());
    put("nlink", st.nlink.into());
    put("atime", st.atime.into());
    put("mtime", st.mtime.into());
    put("ctime", st.ctime.into());
    put("pw_name", st.owner.clone().into());
    put("gr_name", st.group.clone().into());
    for (i, name) in [
        "xoth", "woth", "roth", "xgrp", "wgrp", "rgrp", "xusr", "wusr", "rusr",
    ]
    .iter()
    .enumerate()
    {
        put(name, (st.mode & (1 << i) != 0).into());
    }
    put("isuid", (st.mode & 0o4000 != 0).into());
    put("isgid", (st.mode & 0o2000 != 0).into());
    s
}

pub fn sha1_hex(data: &[u8]) -> String {
    hex(&Sha1::digest(data))
}

pub fn md5_hex(data: &[u8]) -> String {
    hex(&Md5::digest(data))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn octal_and_int_modes() {
        assert_eq!(parse_mode(&json!(420), 0, false), Ok(0o644));
        assert_eq!(parse_mode(&json!("0644"), 0, false), Ok(0o644));
        assert_eq!(parse_mode(&json!("755"), 0, false), Ok(0o755));
        assert_eq!(parse_mode(&json!("0o600"), 0, false), Ok(0o600));
        assert!(parse_mode(&json!("0999"), 0, false).is_err());
        assert!(parse_mode(&json!(true), 0, false).is_err());
        assert!(parse_mode(&json!("rw"), 0, false).is_err());
    }

    #[test]
    fn symbolic_modes_follow_ansible() {
        let m = |s: &str, cur: u32, dir: bool| parse_mode(&json!(s), cur, dir).unwrap();
        assert_eq!(m("u=rw,g=r,o=r", 0o777, false), 0o644);
        assert_eq!(m("u+x", 0o644, false), 0o744);
        assert_eq!(m("go-w", 0o666, false), 0o644);
        assert_eq!(m("a+X", 0o644, true), 0o755);
        assert_eq!(m("a+X", 0o644, false), 0o644);
        assert_eq!(m("a+X", 0o744, false), 0o755);
        assert_eq!(m("u+s,g+s,o+t", 0o755, true), 0o7755);
        assert_eq!(m("g=u", 0o700, false), 0o770);
        assert_eq!(m("a=", 0o777, false), 0);
        assert!(parse_mode(&json!("+x"), 0, false).is_err());
        assert!(parse_mode(&json!("u=q"), 0, false).is_err());
    }

    #[test]
    fn checksums() {
        assert_eq!(
            sha1_hex(b"hello\n"),
            "f572d396fae9206628714fb2ce00f72e94f2258f"
        );
        assert_eq!(md5_hex(b"hello\n"), "b1946ac92492d2347c6235b4d2611184");
    }

    #[test]
    fn dict_diff_is_sorted_four_space_json() {
        let mut before = Map::new();
        before.insert("state".into(), "absent".into());
        before.insert("path".into(), "/x".into());
        let d = dict_diff(&before, &Map::new());
        assert_eq!(
            d.before,
            "{\n    \"path\": \"/x\",\n    \"state\": \"absent\"\n}\n"
        );
        assert_eq!(d.after, "{}\n");
    }

    #[test]
    fn missing_src_lists_the_places_tried() {
        let err = find_local_src(&[PathBuf::from("/p")], "x", "files").unwrap_err();
        assert!(
            err.contains("\t/p/files/x\n\t/p/x on the Ansible Controller"),
            "{err}"
        );
    }
}
