//! `apt_repository`: add or remove a one-line apt source (`deb …`/`deb-src …`), read and
//! written as Ansible does: every `*.list` file of `/etc/apt/sources.list.d` and
//! `/etc/apt/sources.list` is looked at; a line already there (even commented out,
//! which is then re-enabled) is not added again; a new one goes to `filename` + `.list`,
//! else a file named after the repository's host and path
//! (`deb http://ex.org/debian bookworm main` → `ex_org_debian.list`); removing takes out
//! every enabled copy, and a file left empty is deleted. `mode` applies to the files a
//! source is appended to (a new file is 0644 without it). The package lists are updated
//! after a change (`update_cache`, on by default); when that fails the files are put back.
//! `diff` (one entry per file added or removed) is registered as a list, as Ansible's.
//!
//! Not supported: `ppa:` repositories (they need Launchpad), `codename`,
//! `update_cache_retries`, `install_python_apt` (srplay needs no python-apt).

use std::collections::BTreeMap;

use crate::connection::{Connection, FileAttrs};
use crate::modules::files::parse_mode;
use crate::modules::system::run_env;
use crate::modules::{
    ArgSpec, Args, Diff, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::Value;

pub struct AptRepository;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("repo", Kind::Str).required(),
    Param::new("state", Kind::Str)
        .default("present")
        .choices(&["absent", "present"]),
    Param::new("mode", Kind::Mode),
    Param::new("update_cache", Kind::Bool)
        .aliases(&["update-cache"])
        .default("yes"),
    Param::new("filename", Kind::Str),
    Param::new("validate_certs", Kind::Bool).default("yes"),
]);

const SOURCES_LIST: &str = "/etc/apt/sources.list";
const SOURCES_DIR: &str = "/etc/apt/sources.list.d";
const SOURCE_TYPES: &[&str] = &["deb", "deb-src"];

impl Module for AptRepository {
    fn name(&self) -> &'static str {
        "apt_repository"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    /// One diff per file added or removed, registered as a list even when there is none.
    fn diff_is_list(&self) -> bool {
        true
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let repo = args.str("repo").unwrap_or_default();
        if repo.trim().is_empty() {
            return Ok(ModuleResult::failed(
                "Please set argument 'repo' to a non-empty value",
            ));
        }
        if repo.starts_with("ppa:") {
            return Ok(ModuleResult::failed(
                "srplay's apt_repository does not support PPAs (they need Launchpad): give the 'deb …' line",
            ));
        }
        let line = parse_line(repo);
        if !(line.valid && line.enabled) {
            return Ok(ModuleResult::failed(format!(
                "Invalid repository string: {repo}"
            )));
        }
        let source = line.source;
        let state = args.str("state").unwrap_or("present");

        let mut sources = Sources::load(ctx.conn)?;
        let before = sources.dump();
        // The files a source is appended to: those `mode` applies to, as Ansible's.
        let mut new_files = Vec::new();
        if state == "present" {
            if let Some(file) = sources.add(&source, args.str("filename")) {
                new_files.push(file);
            }
        } else {
            sources.remove(&source);
        }
        let after = sources.dump();
        let changed = before != after;

        let added: Vec<&String> = after.keys().filter(|f| !before.contains_key(*f)).collect();
        let removed: Vec<&String> = before.keys().filter(|f| !after.contains_key(*f)).collect();
        let mut result = ModuleResult::changed(changed)
            .with("repo", repo)
            .with("state", state)
            .with("sources_added", names(&added))
            .with("sources_removed", names(&removed))
            // The diffs below replace it when there are any.
            .with("diff", Value::Array(Vec::new()));
        if ctx.diff_mode {
            for file in added.iter().chain(removed.iter()) {
                result.diff.push(Diff {
                    before: before.get(*file).cloned().unwrap_or_default(),
                    after: after.get(*file).cloned().unwrap_or_default(),
                    before_header: Some(header(file, &before)),
                    after_header: Some(header(file, &after)),
                    ..Diff::default()
                });
            }
        }
        if !changed || ctx.check_mode {
            return Ok(result);
        }
        let mode = match args.get("mode") {
            Some(m) => Some(parse_mode(m, 0o644, false)?),
            None => None,
        };
        write_all(ctx.conn, &before, &after, &new_files, mode)?;
        if args.bool("update_cache") {
            let r = run_env(
                ctx.conn,
                &["apt-get".into(), "update".into(), "-q".into()],
                &[("LC_ALL", "C"), ("DEBIAN_FRONTEND", "noninteractive")],
            )?;
            if !r.success() {
                // As Ansible: a source apt cannot read is not left behind.
                write_all(ctx.conn, &after, &before, &[], None)?;
                return Ok(ModuleResult::failed(format!(
                    "Failed to update apt cache: {}",
                    r.output().trim()
                )));
            }
        }
        Ok(result)
    }
}

fn names(files: &[&String]) -> Value {
    Value::Array(files.iter().map(|f| Value::String((*f).clone())).collect())
}

fn header(file: &str, side: &BTreeMap<String, String>) -> String {
    if side.contains_key(file) {
        file.to_string()
    } else {
        "/dev/null".to_string()
    }
}

/// Make the files say `to` where they said `from`: write what differs, delete what
/// `to` no longer has. The `new_files` get `mode` when given; other files keep theirs, and
/// a file made without a mode is 0644 (Ansible's 0666 less the usual umask).
fn write_all(
    conn: &mut dyn Connection,
    from: &BTreeMap<String, String>,
    to: &BTreeMap<String, String>,
    new_files: &[String],
    mode: Option<u32>,
) -> Result<(), String> {
    for (file, text) in to {
        if from.get(file) != Some(text) {
            let attrs = FileAttrs {
                mode: mode
                    .filter(|_| new_files.contains(file))
                    .or((!from.contains_key(file)).then_some(0o644)),
                ..FileAttrs::default()
            };
            conn.mkdir_all(SOURCES_DIR, None)?;
            conn.write_file(file, text.as_bytes(), &attrs)?;
        }
    }
    for file in from.keys().filter(|f| !to.contains_key(*f)) {
        conn.remove(file, false)?;
    }
    Ok(())
}

/// One line of a sources file.
#[derive(Clone, Debug, PartialEq)]
struct Line {
    valid: bool,
    enabled: bool,
    /// The source with its whitespace normalized (or the line as it was, when not one).
    source: String,
    comment: String,
}

fn parse_line(line: &str) -> Line {
    let mut text = line.trim();
    let enabled = match text.strip_prefix('#') {
        Some(rest) => {
            text = rest;
            false
        }
        None => true,
    };
    let (text, comment) = match text.find('#') {
        Some(i) if i > 0 => (&text[..i], text[i + 1..].trim()),
        _ => (text, ""),
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    let valid = words.first().is_some_and(|w| SOURCE_TYPES.contains(w));
    Line {
        valid,
        enabled,
        source: if valid {
            words.join(" ")
        } else {
            text.trim().to_string()
        },
        comment: comment.to_string(),
    }
}

impl Line {
    fn render(&self) -> String {
        let mut out = String::new();
        if !self.enabled {
            out.push_str("# ");
        }
        out.push_str(&self.source);
        if !self.comment.is_empty() {
            out.push_str(" # ");
            out.push_str(&self.comment);
        }
        out.push('\n');
        out
    }
}

/// Every sources file, parsed, by path.
struct Sources {
    files: BTreeMap<String, Vec<Line>>,
}

impl Sources {
    fn load(conn: &mut dyn Connection) -> Result<Sources, String> {
        let mut paths = Vec::new();
        if conn.stat(SOURCES_LIST, true)?.is_some() {
            paths.push(SOURCES_LIST.to_string());
        }
        if conn.stat(SOURCES_DIR, true)?.is_some() {
            for name in conn.list_dir(SOURCES_DIR)? {
                if name.ends_with(".list") {
                    paths.push(format!("{SOURCES_DIR}/{name}"));
                }
            }
        }
        let mut files = BTreeMap::new();
        for path in paths {
            let text = String::from_utf8_lossy(&conn.read_file(&path)?).into_owned();
            files.insert(path, text.lines().map(parse_line).collect());
        }
        Ok(Sources { files })
    }

    /// The files' text as they would be written; files without lines are gone.
    fn dump(&self) -> BTreeMap<String, String> {
        self.files
            .iter()
            .filter(|(_, lines)| !lines.is_empty())
            .map(|(path, lines)| (path.clone(), lines.iter().map(Line::render).collect()))
            .collect()
    }

    /// Enable every copy of `source`, or add it to its own file (or `filename`); returns
    /// the path of the file it was added to.
    fn add(&mut self, source: &str, filename: Option<&str>) -> Option<String> {
        let mut found = false;
        for line in self.files.values_mut().flatten() {
            if line.valid && line.source == source {
                line.enabled = true;
                found = true;
            }
        }
        if found {
            return None;
        }
        let name = match filename {
            Some(f) => format!("{f}.list"),
            None => suggest_filename(source),
        };
        let path = if name.contains('/') {
            name
        } else {
            format!("{SOURCES_DIR}/{name}")
        };
        self.files.entry(path.clone()).or_default().push(Line {
            valid: true,
            enabled: true,
            source: source.to_string(),
            comment: String::new(),
        });
        Some(path)
    }

    fn remove(&mut self, source: &str) {
        for lines in self.files.values_mut() {
            lines.retain(|l| !(l.valid && l.enabled && l.source == source));
        }
    }
}

/// Ansible's file name for a source: its first word after the type and options, without
/// the scheme and credentials, every run of other characters than letters and digits
/// made one `_`.
fn suggest_filename(source: &str) -> String {
    let no_options = regex::Regex::new(r"\[[^\]]+\]")
        .expect("valid regex")
        .replace_all(source, "");
    let no_scheme = regex::Regex::new(r"\w+://")
        .expect("valid regex")
        .replace_all(&no_options, "");
    let first = no_scheme
        .split_whitespace()
        .find(|w| !SOURCE_TYPES.contains(w))
        .unwrap_or_default();
    let host_path = first.rsplit_once('@').map_or(first, |(_, rest)| rest);
    let words: Vec<&str> = host_path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    format!("{}.list", words.join("_"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    const REPO: &str = "deb [trusted=yes] http://user:pw@ex.org/debian  bookworm main";

    #[test]
    fn file_names_as_ansible_suggests_them() {
        assert_eq!(
            suggest_filename(
                "deb [arch=amd64] https://download.docker.com/linux/debian bookworm stable"
            ),
            "download_docker_com_linux_debian.list"
        );
        assert_eq!(
            suggest_filename("deb http://user:pw@ex.org/debian bookworm main"),
            "ex_org_debian.list"
        );
        assert_eq!(
            suggest_filename("deb file:/srv/repo ./"),
            "file_srv_repo.list"
        );
    }

    #[test]
    fn adds_a_new_source_to_its_own_file_then_updates_the_cache() {
        let mut h = Harness::fake(FakeConnection::new());
        let r = h.run(&AptRepository, json!({"repo": REPO}));
        assert!(r.changed);
        let file = "/etc/apt/sources.list.d/ex_org_debian.list";
        assert_eq!(r.data["sources_added"], json!([file]));
        assert_eq!(
            h.conn.files[file],
            (
                b"deb [trusted=yes] http://user:pw@ex.org/debian bookworm main\n".to_vec(),
                0o644
            )
        );
        assert_eq!(h.conn.ran("^apt-get update").len(), 1);

        let r = h.run(&AptRepository, json!({"repo": REPO}));
        assert!(!r.changed);
        assert_eq!(h.conn.ran("^apt-get update").len(), 1);
    }

    #[test]
    fn a_commented_copy_is_enabled_where_it_is() {
        let conn = FakeConnection::new().file(
            SOURCES_LIST,
            "# deb http://ex.org/debian bookworm main # old\n",
        );
        let mut h = Harness::fake(conn);
        let r = h.run(
            &AptRepository,
            json!({"repo": "deb http://ex.org/debian bookworm main", "update_cache": false}),
        );
        assert!(r.changed);
        assert_eq!(r.data["sources_added"], json!([]));
        assert_eq!(
            h.conn.read_file(SOURCES_LIST).unwrap(),
            b"deb http://ex.org/debian bookworm main # old\n"
        );
    }

    #[test]
    fn absent_removes_the_line_and_an_emptied_file() {
        let conn = FakeConnection::new()
            .file(
                "/etc/apt/sources.list.d/x.list",
                "deb http://ex.org/debian bookworm main\n",
            )
            .file(
                SOURCES_LIST,
                "deb http://deb.debian.org/debian bookworm main\n",
            );
        let mut h = Harness::fake(conn);
        let r = h.run(
            &AptRepository,
            json!({"repo": "deb http://ex.org/debian bookworm main", "state": "absent"}),
        );
        assert!(r.changed);
        assert_eq!(
            r.data["sources_removed"],
            json!(["/etc/apt/sources.list.d/x.list"])
        );
        assert!(!h.conn.files.contains_key("/etc/apt/sources.list.d/x.list"));
        assert!(h.conn.files.contains_key(SOURCES_LIST));
    }

    #[test]
    fn filename_mode_and_check_mode() {
        let mut h = Harness::fake(FakeConnection::new()).check();
        let r = h.run(&AptRepository, json!({"repo": REPO, "filename": "mine"}));
        assert!(r.changed);
        assert!(h.conn.files.is_empty());
        let mut h = Harness::fake(FakeConnection::new());
        h.run(
            &AptRepository,
            json!({"repo": REPO, "filename": "mine", "mode": "0600"}),
        );
        assert_eq!(h.conn.files["/etc/apt/sources.list.d/mine.list"].1, 0o600);
    }

    #[test]
    fn mode_applies_to_a_file_a_source_is_appended_to() {
        let file = "/etc/apt/sources.list.d/mine.list";
        let conn = FakeConnection::new().file(file, "deb http://ex.org/debian bookworm main\n");
        let mut h = Harness::fake(conn);
        h.run(
            &AptRepository,
            json!({"repo": REPO, "filename": "mine", "mode": "0640", "update_cache": false}),
        );
        assert_eq!(h.conn.files[file].1, 0o640);
        assert_eq!(
            h.conn.read_file(file).unwrap(),
            b"deb http://ex.org/debian bookworm main\n\
              deb [trusted=yes] http://user:pw@ex.org/debian bookworm main\n"
        );
    }

    #[test]
    fn a_failed_update_puts_the_files_back() {
        let mut h = Harness::fake(FakeConnection::new().on("^apt-get update", 100, "E: broken\n"));
        let r = h.run(&AptRepository, json!({"repo": REPO}));
        assert!(r.failed);
        assert!(h.conn.files.is_empty());
    }

    #[test]
    fn invalid_lines_and_ppas_are_refused() {
        let mut h = Harness::fake(FakeConnection::new());
        assert!(
            h.run(&AptRepository, json!({"repo": "http://ex.org bookworm"}))
                .failed
        );
        assert!(
            h.run(&AptRepository, json!({"repo": "ppa:user/repo"}))
                .failed
        );
    }
}
