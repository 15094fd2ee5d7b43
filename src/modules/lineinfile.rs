//! `lineinfile`: make sure one line is in a file (or is not).
//!
//! With `state: present` (default) the last line matching `regexp` (or containing
//! `search_string`, or equal to `line`) is replaced by `line`; when none matches,
//! `line` is inserted after the last line matching `insertafter` (or before the one
//! matching `insertbefore`; `firstmatch` takes the first instead), `BOF` or `EOF`
//! (default). `backrefs` fills `\1`/`\g<name>` in `line` from the `regexp` match and
//! leaves the file alone when nothing matches. With `state: absent` every matching
//! line is removed. `create` makes a missing file; `backup`, `validate`, `mode`,
//! `owner`, `group` behave as in `copy`.
//!
//! Returns `msg` ("line added", "line replaced", "N line(s) removed", with " and
//! ownership, perms or SE linux context changed" when attributes changed too),
//! `backup` (the backup path or ""), `found` for `absent`, and the content diff
//! headed "PATH (content)".
//!
//! Not supported: `attributes`, SELinux options, `unsafe_writes`, `others`.

use regex::bytes::Regex;

use crate::modules::edit::{Edit, save_edit};
use crate::modules::files::{expand_user, resolve_links};
use crate::modules::pyregex::{self, expand, line_body as body};
use crate::modules::{
    ArgSpec, Args, Diff, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::Value;

pub struct LineInFile;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("path", Kind::Path)
        .required()
        .aliases(&["dest", "destfile", "name"]),
    Param::new("state", Kind::Str)
        .default("present")
        .choices(&["absent", "present"]),
    Param::new("regexp", Kind::Str).aliases(&["regex"]),
    Param::new("search_string", Kind::Str),
    Param::new("line", Kind::Str).aliases(&["value"]),
    Param::new("insertafter", Kind::Str),
    Param::new("insertbefore", Kind::Str),
    Param::new("backrefs", Kind::Bool).default("no"),
    Param::new("create", Kind::Bool).default("no"),
    Param::new("backup", Kind::Bool).default("no"),
    Param::new("firstmatch", Kind::Bool).default("no"),
    Param::new("validate", Kind::Str),
    Param::new("mode", Kind::Mode),
    Param::new("owner", Kind::Str),
    Param::new("group", Kind::Str),
])
.mutually_exclusive(&[
    &["insertbefore", "insertafter"],
    &["regexp", "search_string"],
    &["backrefs", "search_string"],
]);

impl Module for LineInFile {
    fn name(&self) -> &'static str {
        "lineinfile"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let given = expand_user(ctx.conn, args.str("path").unwrap_or(""))?;
        let path = given.as_str();
        let existing = ctx.conn.stat_and_read(path)?;
        // Ansible edits what a symlink points to, and reports the path as given (after
        // the read, which stat'ed the path: one step less on the host).
        let real = resolve_links(ctx.conn, &given)?;
        if existing
            .as_ref()
            .is_some_and(|(st, _)| st.kind == crate::connection::FileKind::Dir)
        {
            return Ok(
                ModuleResult::failed(format!("Path {path} is a directory !")).with("rc", 256),
            );
        }
        let regexp = match args
            .str("regexp")
            .map(|p| pyregex::compile(p, false, false))
            .transpose()
        {
            Ok(re) => re,
            Err(e) => return Ok(ModuleResult::failed(e)),
        };
        let matcher = Matcher {
            regexp,
            search: args.str("search_string").map(str::as_bytes),
            line: args.str("line").map(str::as_bytes),
        };
        let present = args.str("state") != Some("absent");
        if present {
            if args.bool("backrefs") && matcher.regexp.is_none() {
                return Ok(ModuleResult::failed(
                    "regexp is required with backrefs=true",
                ));
            }
            if matcher.line.is_none() {
                return Ok(ModuleResult::failed("line is required with state=present"));
            }
        } else if matcher.regexp.is_none() && matcher.search.is_none() && matcher.line.is_none() {
            return Ok(ModuleResult::failed(
                "one of line, search_string, or regexp is required with state=absent",
            ));
        }

        let existed = existing.is_some();
        let before = match existing {
            Some((_, Some(content))) => content,
            Some((_, None)) => ctx.conn.read_file(&real)?,
            None if !present => {
                return Ok(ModuleResult::ok().with_msg("file not present"));
            }
            None if !args.bool("create") => {
                return Ok(
                    ModuleResult::failed(format!("Destination {path} does not exist !"))
                        .with("rc", 257),
                );
            }
            None => Vec::new(),
        };
        let mut lines = split_lines(&before);
        let mut result = ModuleResult::ok();
        let (changed, msg) = if present {
            let placement = Placement {
                insertafter: args.str("insertafter"),
                insertbefore: args.str("insertbefore"),
                backrefs: args.bool("backrefs"),
                firstmatch: args.bool("firstmatch"),
            };
            match place_line(&mut lines, &matcher, &placement) {
                Ok(Some(msg)) => (true, msg.to_string()),
                Ok(None) => (false, String::new()),
                Err(e) => return Ok(ModuleResult::failed(e)),
            }
        } else {
            let found = remove_lines(&mut lines, &matcher);
            result = result.with("found", found);
            if found > 0 {
                (true, format!("{found} line(s) removed"))
            } else {
                (false, String::new())
            }
        };
        let after: Vec<u8> = lines.concat();
        let header = format!("{path} (content)");
        if ctx.diff_mode {
            result.diff.push(Diff {
                before: String::from_utf8_lossy(&before).into_owned(),
                after: String::from_utf8_lossy(&after).into_owned(),
                before_header: Some(header.clone()),
                after_header: Some(header),
                ..Diff::default()
            });
        }

        let edit = Edit {
            real: &real,
            existed,
            changed,
            after: &after,
            msg,
        };
        let saved = match save_edit(ctx, args, &edit) {
            Ok(saved) => saved,
            Err(failed) => return Ok(*failed),
        };
        result.changed = saved.changed;
        result.msg = Some(saved.msg);
        Ok(result.with("backup", Value::String(saved.backup.unwrap_or_default())))
    }
}

/// What a line is matched by: `regexp`, else `search_string`, else equality with `line`.
struct Matcher<'a> {
    regexp: Option<Regex>,
    search: Option<&'a [u8]>,
    line: Option<&'a [u8]>,
}

struct Placement<'a> {
    insertafter: Option<&'a str>,
    insertbefore: Option<&'a str>,
    backrefs: bool,
    firstmatch: bool,
}

/// Lines with their endings, as Python's `readlines()` on bytes.
fn split_lines(data: &[u8]) -> Vec<Vec<u8>> {
    data.split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn strip_eol(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &line[..end]
}

fn with_eol(line: &[u8]) -> Vec<u8> {
    let mut out = line.to_vec();
    out.push(b'\n');
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// `state: present`, as Ansible's `present()`: returns the message of the change made.
fn place_line(
    lines: &mut Vec<Vec<u8>>,
    m: &Matcher<'_>,
    p: &Placement<'_>,
) -> Result<Option<&'static str>, String> {
    let line = m.line.unwrap_or_default();
    let insertafter = match (p.insertafter, p.insertbefore) {
        (None, None) => Some("EOF"),
        (after, _) => after,
    };
    let anchor = match (insertafter, p.insertbefore) {
        (Some(a), _) if a != "BOF" && a != "EOF" => Some(a),
        (None, Some(b)) if b != "BOF" => Some(b),
        _ => None,
    };
    let anchor = anchor
        .map(|p| pyregex::compile(p, false, false))
        .transpose()?;

    let mut matched: Option<usize> = None;
    let mut by_pattern = false;
    for (n, cur) in lines.iter().enumerate() {
        let hit = match (&m.regexp, m.search) {
            (Some(re), _) => re.is_match(body(cur)),
            (None, Some(s)) => contains(cur, s),
            (None, None) => false,
        };
        if hit {
            matched = Some(n);
            by_pattern = true;
            if p.firstmatch {
                break;
            }
        }
    }
    let mut insert_at: Option<usize> = None;
    if !by_pattern {
        for (n, cur) in lines.iter().enumerate() {
            if strip_eol(cur) == line {
                matched = Some(n);
            } else if let Some(re) = &anchor
                && re.is_match(body(cur))
            {
                insert_at = Some(if insertafter.is_some() { n + 1 } else { n });
                if p.firstmatch {
                    break;
                }
            }
        }
    }

    if let Some(n) = matched {
        let mut new_line = match (&m.regexp, by_pattern && p.backrefs) {
            (Some(re), true) => match re.captures(body(&lines[n])) {
                Some(caps) => expand(&caps, line)?,
                None => line.to_vec(),
            },
            _ => line.to_vec(),
        };
        if !new_line.ends_with(b"\n") {
            new_line.push(b'\n');
        }
        if lines[n] != new_line {
            lines[n] = new_line;
            return Ok(Some("line replaced"));
        }
        return Ok(None);
    }
    if p.backrefs {
        return Ok(None);
    }
    if p.insertbefore == Some("BOF") || insertafter == Some("BOF") {
        lines.insert(0, with_eol(line));
        return Ok(Some("line added"));
    }
    let Some(at) = insert_at.filter(|_| insertafter != Some("EOF")) else {
        if lines
            .last()
            .is_some_and(|l| !l.ends_with(b"\n") && !l.ends_with(b"\r"))
        {
            lines.push(b"\n".to_vec());
        }
        lines.push(with_eol(line));
        return Ok(Some("line added"));
    };
    if insertafter.is_some() {
        // Not again when the line already follows the anchor.
        let next = if at == lines.len() {
            lines.get(at.wrapping_sub(1))
        } else {
            lines.get(at)
        };
        if next.is_some_and(|l| strip_eol(l) == line) {
            return Ok(None);
        }
    }
    lines.insert(at, with_eol(line));
    Ok(Some("line added"))
}

/// `state: absent`: remove every matching line; how many were.
fn remove_lines(lines: &mut Vec<Vec<u8>>, m: &Matcher<'_>) -> usize {
    let before = lines.len();
    lines.retain(|cur| {
        let hit = match (&m.regexp, m.search, m.line) {
            (Some(re), _, _) => re.is_match(body(cur)),
            (None, Some(s), _) => contains(cur, s),
            (None, None, Some(line)) => strip_eol(cur) == line,
            (None, None, None) => false,
        };
        !hit
    });
    before - lines.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::Harness;
    use serde_json::json;

    fn run(h: &mut Harness, args: Value) -> ModuleResult {
        h.run(&LineInFile, args)
    }

    #[test]
    fn add_replace_remove_as_ansible() {
        // The sequence run against ansible-core 2.19 (`lineinfile: path=li line=x` …).
        let mut h = Harness::new().diff();
        let p = h.write("li", "a\nb\nc\n");
        let r = run(&mut h, json!({"path": p, "line": "x"}));
        assert_eq!((r.changed, r.msg.as_deref()), (true, Some("line added")));
        assert_eq!(r.data["backup"], json!(""));
        assert_eq!(r.diff[0].before, "a\nb\nc\n");
        assert_eq!(r.diff[0].after, "a\nb\nc\nx\n");
        assert_eq!(r.diff[0].before_header, Some(format!("{p} (content)")));
        let r = run(&mut h, json!({"path": p, "line": "x"}));
        assert_eq!((r.changed, r.msg.as_deref()), (false, Some("")));
        let r = run(&mut h, json!({"path": p, "regexp": "^b", "line": "B"}));
        assert_eq!(r.msg.as_deref(), Some("line replaced"));
        assert_eq!(h.read("li"), "a\nB\nc\nx\n");
        let r = run(
            &mut h,
            json!({"path": p, "regexp": "^[Bx]", "state": "absent"}),
        );
        assert_eq!(r.msg.as_deref(), Some("2 line(s) removed"));
        assert_eq!(r.data["found"], json!(2));
        assert_eq!(h.read("li"), "a\nc\n");
        let r = run(&mut h, json!({"path": p, "line": "q", "state": "absent"}));
        assert!(!r.changed);
        assert_eq!(r.data["found"], json!(0));
    }

    #[test]
    fn missing_file_create_and_bof() {
        let mut h = Harness::new();
        let p = h.path("sub/li");
        let r = run(&mut h, json!({"path": p, "line": "x"}));
        assert!(r.failed);
        assert_eq!(r.msg, Some(format!("Destination {p} does not exist !")));
        assert_eq!(r.data["rc"], json!(257));
        let r = run(&mut h, json!({"path": p, "line": "x", "create": true}));
        assert_eq!(r.msg.as_deref(), Some("line added"));
        let r = run(
            &mut h,
            json!({"path": p, "line": "y", "insertbefore": "BOF", "backup": true}),
        );
        assert!(r.changed);
        let backup = r.data["backup"].as_str().unwrap();
        assert_eq!(std::fs::read_to_string(backup).unwrap(), "x\n");
        assert_eq!(h.read("sub/li"), "y\nx\n");
        let none = h.path("none");
        let r = run(
            &mut h,
            json!({"path": none, "line": "x", "state": "absent"}),
        );
        assert_eq!(
            (r.changed, r.msg.as_deref()),
            (false, Some("file not present"))
        );
    }

    #[test]
    fn insertafter_insertbefore_and_firstmatch() {
        let mut h = Harness::new();
        let p = h.write("f", "[a]\nk=1\n[b]\nk=2\n");
        run(
            &mut h,
            json!({"path": p, "line": "new", "insertafter": "^\\["}),
        );
        assert_eq!(h.read("f"), "[a]\nk=1\n[b]\nnew\nk=2\n");
        let r = run(
            &mut h,
            json!({"path": p, "line": "new", "insertafter": "^\\["}),
        );
        assert!(!r.changed, "the line is already there");
        let p = h.write("g", "[a]\nk=1\n[b]\n");
        run(
            &mut h,
            json!({"path": p, "line": "first", "insertbefore": "^\\[", "firstmatch": true}),
        );
        assert_eq!(h.read("g"), "first\n[a]\nk=1\n[b]\n");
        let p = h.write("n", "no newline");
        run(
            &mut h,
            json!({"path": p, "line": "z", "insertafter": "nomatch"}),
        );
        assert_eq!(h.read("n"), "no newline\nz\n");
    }

    #[test]
    fn backrefs_and_search_string() {
        let mut h = Harness::new();
        let p = h.write("f", "port=80\nname=x\n");
        let r = run(
            &mut h,
            json!({"path": p, "regexp": "^port=(\\d+)$", "line": "port=\\g<1>0 # was \\1", "backrefs": true}),
        );
        assert_eq!(r.msg.as_deref(), Some("line replaced"));
        assert_eq!(h.read("f"), "port=800 # was 80\nname=x\n");
        let r = run(
            &mut h,
            json!({"path": p, "regexp": "^nomatch(.*)", "line": "q", "backrefs": true}),
        );
        assert!(!r.changed);
        run(
            &mut h,
            json!({"path": p, "search_string": "name=", "line": "name=y"}),
        );
        assert_eq!(h.read("f"), "port=800 # was 80\nname=y\n");
        let err = h
            .try_run(
                &LineInFile,
                json!({"path": p, "search_string": "a", "regexp": "b", "line": "c"}),
            )
            .unwrap_err();
        assert!(err.contains("mutually exclusive"));
        let r = run(&mut h, json!({"path": p, "backrefs": true, "line": "x"}));
        assert_eq!(
            r.msg.as_deref(),
            Some("regexp is required with backrefs=true")
        );
        let r = run(&mut h, json!({"path": p}));
        assert_eq!(
            r.msg.as_deref(),
            Some("line is required with state=present")
        );
    }

    #[test]
    fn check_mode_mode_and_validate() {
        let mut h = Harness::new().check();
        let p = h.write("f", "a\n");
        let r = run(&mut h, json!({"path": p, "line": "b"}));
        assert!(r.changed);
        assert_eq!(h.read("f"), "a\n");
        let mut h = Harness::new();
        let p = h.write("f", "a\n");
        let r = run(&mut h, json!({"path": p, "line": "a", "mode": "0600"}));
        assert_eq!(
            (r.changed, r.msg.as_deref()),
            (true, Some("ownership, perms or SE linux context changed"))
        );
        let r = run(&mut h, json!({"path": p, "line": "c", "mode": "0640"}));
        assert_eq!(
            r.msg.as_deref(),
            Some("line added and ownership, perms or SE linux context changed")
        );
        let r = run(
            &mut h,
            json!({"path": p, "line": "b", "validate": "grep -q nothing %s"}),
        );
        assert!(r.failed);
        assert_eq!(h.read("f"), "a\nc\n");
        let dir = h.path("");
        let r = run(&mut h, json!({"path": dir, "line": "b"}));
        assert_eq!(r.data["rc"], json!(256));
    }

    #[test]
    fn edits_through_a_symlink() {
        let mut h = Harness::new();
        let target = h.write("real", "a\n");
        let link = h.path("link");
        std::os::unix::fs::symlink("real", &link).unwrap();
        let r = run(&mut h, json!({"path": link, "line": "b"}));
        assert!(r.changed);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "a\nb\n");
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    }
}
