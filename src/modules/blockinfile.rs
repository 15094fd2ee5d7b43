//! `blockinfile`: keep a block of lines, between two marker lines, in a file.
//!
//! The markers are `marker` with `{mark}` replaced by `marker_begin` / `marker_end`
//! (`# BEGIN ANSIBLE MANAGED BLOCK` …). When both are in the file the lines between
//! them (markers included) are replaced by the new block; otherwise the block goes
//! after the last line matching `insertafter` (default `EOF`) or before the last line
//! matching `insertbefore` (or `BOF`), at the end when nothing matches. A pattern that
//! sets `(?m)` is searched in the whole file instead of line by line. An empty
//! `block`, or `state: absent`, removes the markers and what is between them.
//! `prepend_newline` / `append_newline` keep a blank line before / after the block.
//! `create` makes a missing file; `backup`, `validate`, `mode`, `owner`, `group` as in
//! `lineinfile`.
//!
//! Returns `msg` ("Block inserted", "Block removed", "File created", "" when nothing
//! changed, with " and ownership, perms or SE linux context changed" when attributes
//! changed), `backup_file` when a backup was made, and the diff headed
//! "PATH (content)".
//!
//! Not supported: `attributes`, SELinux options, `unsafe_writes`.

use regex::bytes::Regex;

use crate::connection::FileKind;
use crate::modules::edit::{Edit, save_edit_into};
use crate::modules::files::{expand_user, resolve_links};
use crate::modules::pyregex;
use crate::modules::{
    ArgSpec, Args, Diff, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};

pub struct BlockInFile;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("path", Kind::Path)
        .required()
        .aliases(&["dest", "destfile", "name"]),
    Param::new("state", Kind::Str)
        .default("present")
        .choices(&["absent", "present"]),
    Param::new("marker", Kind::Str).default("# {mark} ANSIBLE MANAGED BLOCK"),
    // Default '': no block, which removes the marked one.
    Param::new("block", Kind::Str).aliases(&["content"]),
    Param::new("insertafter", Kind::Str),
    Param::new("insertbefore", Kind::Str),
    Param::new("create", Kind::Bool).default("no"),
    Param::new("backup", Kind::Bool).default("no"),
    Param::new("validate", Kind::Str),
    Param::new("marker_begin", Kind::Str).default("BEGIN"),
    Param::new("marker_end", Kind::Str).default("END"),
    Param::new("append_newline", Kind::Bool).default("no"),
    Param::new("prepend_newline", Kind::Bool).default("no"),
    Param::new("mode", Kind::Mode),
    Param::new("owner", Kind::Str),
    Param::new("group", Kind::Str),
])
.mutually_exclusive(&[&["insertbefore", "insertafter"]]);

impl Module for BlockInFile {
    fn name(&self) -> &'static str {
        "blockinfile"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let path = expand_user(ctx.conn, args.str("path").unwrap_or(""))?;
        let existing = ctx.conn.stat(&path, true)?;
        if existing.as_ref().is_some_and(|st| st.kind == FileKind::Dir) {
            return Ok(
                ModuleResult::failed(format!("Path {path} is a directory !")).with("rc", 256),
            );
        }
        let present = args.str("state") != Some("absent");
        let original = match &existing {
            Some(_) => Some(ctx.conn.read_file(&path)?),
            None if !present && args.bool("create") => {
                return Ok(ModuleResult::ok().with_msg(format!("File {path} not present")));
            }
            None if !args.bool("create") => {
                return Ok(
                    ModuleResult::failed(format!("Path {path} does not exist !")).with("rc", 257),
                );
            }
            None => None,
        };
        let anchor = match Anchor::from_args(args) {
            Ok(anchor) => anchor,
            Err(e) => return Ok(ModuleResult::failed(e)),
        };
        let marker = args.str("marker").unwrap_or_default();
        let markers = (
            marker_line(marker, args.str("marker_begin").unwrap_or_default()),
            marker_line(marker, args.str("marker_end").unwrap_or_default()),
        );
        let block = args.str("block").unwrap_or_default();
        let block = if present { block.as_bytes() } else { b"" };
        let newlines = (args.bool("prepend_newline"), args.bool("append_newline"));
        let before = original.clone().unwrap_or_default();
        let after = place_block(&before, &markers, block, &anchor, newlines);

        let changed = original.as_deref() != Some(after.as_slice());
        let msg = match (changed, &original, block.is_empty()) {
            (false, _, _) => "",
            (true, None, _) => "File created",
            (true, Some(_), true) => "Block removed",
            (true, Some(_), false) => "Block inserted",
        };
        let mut result = ModuleResult::ok();
        if ctx.diff_mode {
            let header = format!("{path} (content)");
            result.diff.push(Diff {
                before: String::from_utf8_lossy(&before).into_owned(),
                after: String::from_utf8_lossy(&after).into_owned(),
                before_header: Some(header.clone()),
                after_header: Some(header),
                ..Diff::default()
            });
        }
        // Ansible edits what a symlink points to.
        let real = resolve_links(ctx.conn, &path)?;
        let edit = Edit {
            real: &real,
            existed: original.is_some(),
            changed,
            after: &after,
            msg: msg.to_string(),
        };
        Ok(save_edit_into(ctx, args, &edit, result))
    }
}

/// Where a new block goes when its markers are not in the file.
enum Anchor {
    /// After the last line matching, or at the end.
    After(Option<Pattern>),
    /// Before the last line matching; `None` is `BOF`.
    Before(Option<Pattern>),
}

struct Pattern {
    regex: Regex,
    /// The pattern sets `(?m)`: searched in the whole text, first match.
    whole_text: bool,
}

impl Anchor {
    fn from_args(args: &Args) -> Result<Anchor, String> {
        let pattern = |p: &str| -> Result<Pattern, String> {
            let whole_text = pyregex::sets_multiline(p);
            Ok(Pattern {
                regex: pyregex::compile(p, whole_text, false)?,
                whole_text,
            })
        };
        Ok(match (args.str("insertafter"), args.str("insertbefore")) {
            (Some("EOF") | None, None) => Anchor::After(None),
            (Some(after), _) => Anchor::After(Some(pattern(after)?)),
            (None, Some("BOF")) => Anchor::Before(None),
            (None, Some(before)) => Anchor::Before(Some(pattern(before)?)),
        })
    }
}

/// `marker` with `{mark}` filled, as a whole line.
fn marker_line(marker: &str, mark: &str) -> Vec<u8> {
    let mut line = marker.replace("{mark}", mark).into_bytes();
    line.push(b'\n');
    line
}

/// Python's `bytes.splitlines(keepends=True)`: lines end at `\n`, `\r\n` or `\r`.
fn split_lines(data: &[u8]) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < data.len() {
        let end = match data[i] {
            b'\r' if data.get(i + 1) == Some(&b'\n') => i + 2,
            b'\r' | b'\n' => i + 1,
            _ => {
                i += 1;
                continue;
            }
        };
        lines.push(data[start..end].to_vec());
        start = end;
        i = end;
    }
    if start < data.len() {
        lines.push(data[start..].to_vec());
    }
    lines
}

/// The file's new content, as Ansible's `blockinfile` computes it. An empty `block`
/// removes the marked block.
fn place_block(
    original: &[u8],
    (begin, end): &(Vec<u8>, Vec<u8>),
    block: &[u8],
    anchor: &Anchor,
    (prepend_newline, append_newline): (bool, bool),
) -> Vec<u8> {
    let mut lines = split_lines(original);
    let block_lines = if block.is_empty() {
        Vec::new()
    } else {
        let mut block = block.to_vec();
        if !block.ends_with(b"\n") {
            block.push(b'\n');
        }
        let mut all = vec![begin.clone()];
        all.extend(split_lines(&block));
        all.push(end.clone());
        all
    };
    let last = |wanted: &[u8]| lines.iter().rposition(|l| l.as_slice() == wanted);
    let mut at = match (last(begin), last(end)) {
        (Some(b), Some(e)) => {
            let (from, to) = (b.min(e), b.max(e));
            lines.drain(from..=to);
            from
        }
        _ => insertion_point(original, &lines, anchor),
    };
    if at > 0 && !lines[at - 1].ends_with(b"\n") {
        lines[at - 1].push(b'\n');
    }
    let present = !block_lines.is_empty();
    if prepend_newline && present && at != 0 && lines[at - 1] != b"\n" {
        lines.insert(at, b"\n".to_vec());
        at += 1;
    }
    let after_block = at + block_lines.len();
    lines.splice(at..at, block_lines);
    if append_newline && present && after_block < lines.len() && lines[after_block] != b"\n" {
        lines.insert(after_block, b"\n".to_vec());
    }
    lines.concat()
}

/// Where a block whose markers are missing is inserted (a line index).
fn insertion_point(original: &[u8], lines: &[Vec<u8>], anchor: &Anchor) -> usize {
    let (pattern, after) = match anchor {
        Anchor::After(None) => return lines.len(),
        Anchor::Before(None) => return 0,
        Anchor::After(Some(p)) => (p, true),
        Anchor::Before(Some(p)) => (p, false),
    };
    let found = if pattern.whole_text {
        pattern.regex.find(original).map(|m| {
            let upto = if after { m.end() } else { m.start() };
            original[..upto].iter().filter(|b| **b == b'\n').count()
        })
    } else {
        lines
            .iter()
            .rposition(|l| pattern.regex.is_match(pyregex::line_body(l)))
    };
    match found {
        None => lines.len(),
        Some(n) if after => n + 1,
        Some(n) => n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::Harness;
    use serde_json::json;

    #[test]
    fn insert_update_remove_as_ansible() {
        let mut h = Harness::new().diff();
        let p = h.write("f", "a\nb\n");
        let r = h.run(&BlockInFile, json!({"path": p, "block": "x\ny"}));
        assert_eq!(
            (r.changed, r.msg.as_deref()),
            (true, Some("Block inserted"))
        );
        assert_eq!(
            h.read("f"),
            "a\nb\n# BEGIN ANSIBLE MANAGED BLOCK\nx\ny\n# END ANSIBLE MANAGED BLOCK\n"
        );
        assert_eq!(r.diff[0].before, "a\nb\n");
        assert_eq!(r.diff[0].before_header, Some(format!("{p} (content)")));
        let r = h.run(&BlockInFile, json!({"path": p, "block": "x\ny"}));
        assert_eq!((r.changed, r.msg.as_deref()), (false, Some("")));
        h.run(
            &BlockInFile,
            json!({"path": p, "block": "z", "insertbefore": "BOF"}),
        );
        assert_eq!(
            h.read("f"),
            "a\nb\n# BEGIN ANSIBLE MANAGED BLOCK\nz\n# END ANSIBLE MANAGED BLOCK\n",
            "an existing block is replaced where it is"
        );
        let r = h.run(&BlockInFile, json!({"path": p, "state": "absent"}));
        assert_eq!(r.msg.as_deref(), Some("Block removed"));
        assert_eq!(h.read("f"), "a\nb\n");
    }

    #[test]
    fn anchors_and_custom_markers() {
        let mut h = Harness::new();
        let p = h.write("f", "[a]\nk=1\n[b]\nk=2");
        let args = json!({"path": p, "block": "new", "insertafter": "^\\[", "marker": "; {mark}",
                          "marker_begin": "start", "marker_end": "stop"});
        h.run(&BlockInFile, args);
        assert_eq!(h.read("f"), "[a]\nk=1\n[b]\n; start\nnew\n; stop\nk=2");
        let p = h.write("g", "[a]\nk=1\n[b]\n");
        h.run(
            &BlockInFile,
            json!({"path": p, "block": "new", "insertbefore": "^\\[b"}),
        );
        assert_eq!(
            h.read("g"),
            "[a]\nk=1\n# BEGIN ANSIBLE MANAGED BLOCK\nnew\n# END ANSIBLE MANAGED BLOCK\n[b]\n"
        );
        let p = h.write("m", "x\ny\nz\n");
        h.run(
            &BlockInFile,
            json!({"path": p, "block": "B", "insertafter": "(?m)^x\\ny$", "marker": "#{mark}"}),
        );
        assert_eq!(h.read("m"), "x\ny\n#BEGIN\nB\n#END\nz\n");
        let p = h.write("n", "no newline");
        h.run(
            &BlockInFile,
            json!({"path": p, "block": "B", "marker": "#{mark}", "prepend_newline": true}),
        );
        assert_eq!(h.read("n"), "no newline\n\n#BEGIN\nB\n#END\n");
        let p = h.write("q", "top\nbottom\n");
        h.run(
            &BlockInFile,
            json!({"path": p, "block": "B", "marker": "#{mark}", "insertbefore": "BOF",
                   "append_newline": true}),
        );
        assert_eq!(h.read("q"), "#BEGIN\nB\n#END\n\ntop\nbottom\n");
    }

    #[test]
    fn missing_file_create_check_mode_and_backup() {
        let mut h = Harness::new();
        let p = h.path("sub/new");
        let r = h.run(&BlockInFile, json!({"path": p, "block": "x"}));
        assert_eq!(r.msg, Some(format!("Path {p} does not exist !")));
        assert_eq!(r.data["rc"], json!(257));
        let r = h.run(&BlockInFile, json!({"path": p, "state": "absent"}));
        assert!(r.failed, "absent without create still needs the file");
        let r = h.run(
            &BlockInFile,
            json!({"path": p, "state": "absent", "create": true}),
        );
        assert_eq!(
            (r.changed, r.msg),
            (false, Some(format!("File {p} not present")))
        );
        let mut c = Harness::new().check();
        let cp = c.path("new");
        let r = c.run(
            &BlockInFile,
            json!({"path": cp, "block": "x", "create": true}),
        );
        assert_eq!((r.changed, r.msg.as_deref()), (true, Some("File created")));
        assert!(!std::path::Path::new(&cp).exists());
        let r = h.run(
            &BlockInFile,
            json!({"path": p, "block": "x", "create": true}),
        );
        assert_eq!(r.msg.as_deref(), Some("File created"));
        let r = h.run(
            &BlockInFile,
            json!({"path": p, "block": "y", "backup": true, "mode": "0600"}),
        );
        assert_eq!(
            r.msg.as_deref(),
            Some("Block inserted and ownership, perms or SE linux context changed")
        );
        let backup = r.data["backup_file"].as_str().unwrap();
        assert!(std::fs::read_to_string(backup).unwrap().contains("\nx\n"));
    }

    #[test]
    fn rejected_validation_leaves_the_file() {
        let mut h = Harness::new();
        let p = h.write("f", "keep\n");
        let r = h.run(
            &BlockInFile,
            json!({"path": p, "block": "x", "validate": "grep -q nothing %s"}),
        );
        assert_eq!(r.msg.as_deref(), Some("failed to validate: rc:1 error:"));
        assert_eq!(h.read("f"), "keep\n");
        let dir = h.path("");
        let r = h.run(&BlockInFile, json!({"path": dir, "block": "x"}));
        assert_eq!(r.data["rc"], json!(256));
        let err = h
            .try_run(
                &BlockInFile,
                json!({"path": p, "insertafter": "a", "insertbefore": "b"}),
            )
            .unwrap_err();
        assert!(err.contains("mutually exclusive"), "{err}");
    }
}
