//! `replace`: replace every match of a regular expression in a file.
//!
//! `regexp` is a Python pattern compiled with `re.MULTILINE` (`^`/`$` at each line);
//! `replace` may use `\1`, `\g<name>` and `\g<0>`. `after` and `before` (patterns too,
//! `re.DOTALL`) limit the edit to the text after the first match of `after` and/or
//! before the next match of `before`; when they do not match, nothing changes.
//! `backup`, `validate`, `mode`, `owner`, `group` as in `lineinfile`.
//!
//! Returns `msg` ("N replacements made", "" when nothing changed, with " and
//! ownership, perms or SE linux context changed" when attributes changed), `rc: 0`,
//! `backup_file` when a backup was made, and a diff headed with the path.
//!
//! Differences from Python's `re` (see `pyregex`): no backreferences or lookaround in
//! patterns, and an empty match right after a non-empty one is not replaced again
//! (Python 3.7+ replaces it: `re.sub('x*', '-', 'abxd')` gives `-a-b--d-`, here
//! `-a-b-d-`). Files are read as UTF-8 whatever `encoding` says.
//!
//! Not supported: `encoding` other than UTF-8, `attributes`, SELinux options,
//! `unsafe_writes`.

use regex::bytes::Regex;

use crate::connection::FileKind;
use crate::modules::edit::{Edit, save_edit_into};
use crate::modules::files::{expand_user, resolve_links};
use crate::modules::pyregex::{self, expand};
use crate::modules::{
    ArgSpec, Args, Diff, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};

pub struct Replace;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("path", Kind::Path)
        .required()
        .aliases(&["dest", "destfile", "name"]),
    Param::new("regexp", Kind::Str).required(),
    // Default '': matches are deleted.
    Param::new("replace", Kind::Str),
    Param::new("after", Kind::Str),
    Param::new("before", Kind::Str),
    Param::new("backup", Kind::Bool).default("no"),
    Param::new("validate", Kind::Str),
    Param::new("encoding", Kind::Str).default("utf-8"),
    Param::new("mode", Kind::Mode),
    Param::new("owner", Kind::Str),
    Param::new("group", Kind::Str),
]);

impl Module for Replace {
    fn name(&self) -> &'static str {
        "replace"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let encoding = args.str("encoding").unwrap_or("utf-8").to_ascii_lowercase();
        if !matches!(encoding.as_str(), "utf-8" | "utf8" | "ascii") {
            return Ok(ModuleResult::failed(format!(
                "encoding {encoding} is not supported: srplay reads files as UTF-8"
            )));
        }
        let path = expand_user(ctx.conn, args.str("path").unwrap_or(""))?;
        match ctx.conn.stat(&path, true)? {
            Some(st) if st.kind == FileKind::Dir => {
                return Ok(
                    ModuleResult::failed(format!("Path {path} is a directory !")).with("rc", 256),
                );
            }
            Some(_) => {}
            None => {
                return Ok(
                    ModuleResult::failed(format!("Path {path} does not exist !")).with("rc", 257),
                );
            }
        }
        let contents = ctx.conn.read_file(&path)?;
        let section = match Section::find(&contents, args.str("after"), args.str("before")) {
            Ok(Some(section)) => section,
            Ok(None) => {
                let pattern = Section::pattern(args.str("after"), args.str("before"));
                return Ok(ModuleResult::ok().with("rc", 0).with_msg(format!(
                    "Pattern for before/after params did not match the given file: {pattern}"
                )));
            }
            Err(e) => return Ok(ModuleResult::failed(e)),
        };
        let regexp = match pyregex::compile(args.str("regexp").unwrap_or(""), true, false) {
            Ok(re) => re,
            Err(e) => return Ok(ModuleResult::failed(e)),
        };
        let template = args.str("replace").unwrap_or_default().as_bytes();
        let text = &contents[section.start..section.end];
        let (replaced, count) = match substitute(&regexp, text, template) {
            Ok(done) => done,
            Err(e) => {
                return Ok(ModuleResult::failed(format!(
                    "Unable to process replace due to error: {e}"
                )));
            }
        };
        let changed = count > 0 && replaced != text;
        let mut after = contents[..section.start].to_vec();
        after.extend_from_slice(&replaced);
        after.extend_from_slice(&contents[section.end..]);

        let mut result = ModuleResult::ok().with("rc", 0);
        if changed && ctx.diff_mode {
            result.diff.push(Diff {
                before: String::from_utf8_lossy(&contents).into_owned(),
                after: String::from_utf8_lossy(&after).into_owned(),
                before_header: Some(path.clone()),
                after_header: Some(path.clone()),
                ..Diff::default()
            });
        }
        let real = resolve_links(ctx.conn, &path)?;
        let msg = if changed {
            format!("{count} replacements made")
        } else {
            String::new()
        };
        let edit = Edit {
            real: &real,
            existed: true,
            changed,
            after: &after,
            msg,
        };
        Ok(save_edit_into(ctx, args, &edit, result))
    }
}

/// The part of the file `after`/`before` select (byte offsets), the whole file
/// without them.
struct Section {
    start: usize,
    end: usize,
}

impl Section {
    /// The pattern Ansible builds from `after` and `before`, as its message shows it.
    fn pattern(after: Option<&str>, before: Option<&str>) -> String {
        match (after, before) {
            (Some(a), Some(b)) => format!("{a}(?P<subsection>.*?){b}"),
            (Some(a), None) => format!("{a}(?P<subsection>.*)"),
            (None, Some(b)) => format!("(?P<subsection>.*){b}"),
            (None, None) => String::new(),
        }
    }

    /// `None` when `after`/`before` are given and do not match.
    fn find(
        contents: &[u8],
        after: Option<&str>,
        before: Option<&str>,
    ) -> Result<Option<Section>, String> {
        // Empty strings select nothing, as Python's truthiness makes them.
        let pattern = Section::pattern(
            after.filter(|s| !s.is_empty()),
            before.filter(|s| !s.is_empty()),
        );
        if pattern.is_empty() {
            return Ok(Some(Section {
                start: 0,
                end: contents.len(),
            }));
        }
        let re = pyregex::compile(&pattern, false, true)?;
        Ok(re
            .captures(contents)
            .and_then(|caps| caps.name("subsection"))
            .map(|m| Section {
                start: m.start(),
                end: m.end(),
            }))
    }
}

/// Python's `re.subn(regexp, template, text)`: the new text and how many matches.
fn substitute(regexp: &Regex, text: &[u8], template: &[u8]) -> Result<(Vec<u8>, usize), String> {
    let mut out = Vec::with_capacity(text.len());
    let mut last = 0;
    let mut count = 0;
    for caps in regexp.captures_iter(text) {
        let whole = caps.get(0).expect("group 0 is always set");
        out.extend_from_slice(&text[last..whole.start()]);
        out.extend(expand(&caps, template)?);
        last = whole.end();
        count += 1;
    }
    out.extend_from_slice(&text[last..]);
    Ok((out, count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::Harness;
    use serde_json::json;

    #[test]
    fn replaces_with_groups_then_idempotent() {
        let mut h = Harness::new().diff();
        let p = h.write("f", "port=80\nport=81\nname=x\n");
        let args = json!({"path": p, "regexp": "^port=(\\d+)$", "replace": "port=\\g<1>0"});
        let r = h.run(&Replace, args.clone());
        assert_eq!(
            (r.changed, r.msg.as_deref()),
            (true, Some("2 replacements made"))
        );
        assert_eq!(r.data["rc"], json!(0));
        assert_eq!(h.read("f"), "port=800\nport=810\nname=x\n");
        assert_eq!(r.diff[0].before_header.as_deref(), Some(p.as_str()));
        let r = h.run(
            &Replace,
            json!({"path": p, "regexp": "^port=(\\d+)0$", "replace": "port=\\g<1>0"}),
        );
        assert_eq!((r.changed, r.msg.as_deref()), (false, Some("")));
        let r = h.run(&Replace, json!({"path": p, "regexp": "^name=.*\\n"}));
        assert!(r.changed);
        assert_eq!(h.read("f"), "port=800\nport=810\n");
    }

    #[test]
    fn after_and_before_limit_the_section() {
        let mut h = Harness::new();
        let p = h.write("f", "x=1\n[s]\nx=1\n[t]\nx=1\n");
        let r = h.run(
            &Replace,
            json!({"path": p, "regexp": "x=1", "replace": "x=2", "after": "\\[s\\]", "before": "\\[t\\]"}),
        );
        assert_eq!(r.msg.as_deref(), Some("1 replacements made"));
        assert_eq!(h.read("f"), "x=1\n[s]\nx=2\n[t]\nx=1\n");
        h.run(
            &Replace,
            json!({"path": p, "regexp": "x=1", "replace": "x=3", "after": "\\[t\\]"}),
        );
        assert_eq!(h.read("f"), "x=1\n[s]\nx=2\n[t]\nx=3\n");
        let r = h.run(
            &Replace,
            json!({"path": p, "regexp": "x", "before": "nomatch"}),
        );
        assert_eq!(
            (r.changed, r.msg.as_deref()),
            (
                false,
                Some(
                    "Pattern for before/after params did not match the given file: (?P<subsection>.*)nomatch"
                )
            )
        );
    }

    #[test]
    fn check_mode_backup_validate_and_errors() {
        let mut h = Harness::new().check();
        let p = h.write("f", "a\n");
        let r = h.run(&Replace, json!({"path": p, "regexp": "a", "replace": "b"}));
        assert!(r.changed);
        assert_eq!(h.read("f"), "a\n");
        let mut h = Harness::new();
        let p = h.write("f", "a\n");
        let r = h.run(
            &Replace,
            json!({"path": p, "regexp": "a", "replace": "b", "validate": "grep -q a %s"}),
        );
        assert_eq!(r.msg.as_deref(), Some("failed to validate: rc:1 error:"));
        assert_eq!(h.read("f"), "a\n");
        let r = h.run(
            &Replace,
            json!({"path": p, "regexp": "a", "replace": "b", "backup": true}),
        );
        let backup = r.data["backup_file"].as_str().unwrap();
        assert_eq!(std::fs::read_to_string(backup).unwrap(), "a\n");
        let r = h.run(&Replace, json!({"path": h.path("none"), "regexp": "a"}));
        assert_eq!(r.data["rc"], json!(257));
        let r = h.run(&Replace, json!({"path": p, "regexp": "(?<=b)"}));
        assert!(r.failed && r.msg.unwrap().starts_with("cannot use regular expression"));
        let r = h.run(
            &Replace,
            json!({"path": p, "regexp": "b", "replace": "\\2"}),
        );
        assert_eq!(
            r.msg.as_deref(),
            Some("Unable to process replace due to error: invalid group reference 2")
        );
        let err = h.try_run(&Replace, json!({"path": p})).unwrap_err();
        assert_eq!(err, "missing required arguments: regexp");
    }
}
