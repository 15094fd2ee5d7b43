//! `find`: list the paths under directories that pass a set of filters.
//!
//! Each of `paths` is walked as Python's `os.walk` does (one level, or the whole tree
//! with `recurse`, at most `depth` levels), the entries of a directory before its
//! subdirectories. An entry is kept when its `file_type` (`file` by default,
//! `directory`, `link`, `any`) fits and its name matches one of `patterns` (shell
//! globs, or with `use_regex` Python patterns matched at the start of the name) and
//! none of `excludes`; `hidden` keeps names starting with `.`. Then `age` (`-2d`: newer
//! than two days; units s m h d w, against `age_stamp`), `size` (`-10k`: at most; units
//! b k m g t), `mode` (octal or symbolic; `exact_mode: no` for any of the bits) and,
//! for files, `contains` (a pattern matched at the start of a line, or searched in the
//! whole file with `read_whole_file`). `limit` stops after that many matches.
//!
//! Returns `files` (each with `path` and the keys `stat` reports, `checksum` with
//! `get_checksum`), `matched`, `examined`, `msg` and `skipped_paths`.
//!
//! Differences: the entries of a directory are visited sorted by name (Python's order
//! is the directory's); patterns are Rust `regex` patterns (see `pyregex`).
//! Not supported: `encoding` (files are read as bytes).

use std::time::{SystemTime, UNIX_EPOCH};

use regex::bytes::Regex;

use crate::connection::{Connection, FileKind, FileStat};
use crate::modules::files::{digest, expand_user, normpath, parse_mode, stat_keys};
use crate::modules::pyregex;
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::{Map, Value};

pub struct Find;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("paths", Kind::List)
        .required()
        .aliases(&["name", "path"]),
    Param::new("patterns", Kind::List).aliases(&["pattern"]),
    Param::new("excludes", Kind::List).aliases(&["exclude"]),
    Param::new("contains", Kind::Str),
    Param::new("read_whole_file", Kind::Bool).default("no"),
    Param::new("file_type", Kind::Str)
        .default("file")
        .choices(&["any", "directory", "file", "link"]),
    Param::new("age", Kind::Str),
    Param::new("age_stamp", Kind::Str)
        .default("mtime")
        .choices(&["atime", "ctime", "mtime"]),
    Param::new("size", Kind::Str),
    Param::new("recurse", Kind::Bool).default("no"),
    Param::new("hidden", Kind::Bool).default("no"),
    Param::new("follow", Kind::Bool).default("no"),
    Param::new("get_checksum", Kind::Bool).default("no"),
    Param::new("checksum_algorithm", Kind::Str)
        .aliases(&["checksum", "checksum_algo"])
        .default("sha1")
        .choices(&["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]),
    Param::new("use_regex", Kind::Bool).default("no"),
    Param::new("depth", Kind::Int),
    Param::new("mode", Kind::Raw),
    Param::new("exact_mode", Kind::Bool).default("yes"),
    Param::new("encoding", Kind::Str),
    Param::new("limit", Kind::Int),
]);

impl Module for Find {
    fn name(&self) -> &'static str {
        "find"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let filters = match Filters::from_args(args) {
            Ok(filters) => filters,
            Err(failed) => return Ok(*failed),
        };
        let mut walk = Walk {
            filters: &filters,
            recurse: args.bool("recurse"),
            depth: args.int("depth").filter(|d| *d != 0),
            hidden: args.bool("hidden"),
            follow: args.bool("follow"),
            checksum: args
                .bool("get_checksum")
                .then(|| args.str("checksum_algorithm").unwrap_or("sha1")),
            limit: args.int("limit").map(|l| l as usize),
            found: Vec::new(),
            examined: 0,
            skipped: Map::new(),
        };
        let mut warnings = Vec::new();
        for given in args.list("paths") {
            let root = expand_user(ctx.conn, &given)?;
            let is_dir = ctx
                .conn
                .stat(&root, true)?
                .is_some_and(|st| st.kind == FileKind::Dir);
            if !is_dir {
                let why = format!("'{root}' is not a directory");
                warnings.push(Value::String(format!(
                    "Skipped '{root}' path due to this access issue: {why}\n"
                )));
                walk.skipped.insert(root, why.into());
                continue;
            }
            let top = format!("{}/", root.trim_end_matches('/'));
            walk.directory(ctx.conn, &root, &top)?;
        }
        let msg = if !warnings.is_empty() {
            "Not all paths examined, check warnings for details"
        } else if walk.limit_reached() {
            "Limit of matches reached"
        } else {
            "All paths examined"
        };
        let mut result = ModuleResult::ok()
            .with_msg(msg)
            .with("matched", walk.found.len())
            .with("examined", walk.examined)
            .with("skipped_paths", walk.skipped)
            .with("files", walk.found);
        if !warnings.is_empty() {
            result = result.with("warnings", warnings);
        }
        Ok(result)
    }
}

/// What an entry must pass to be reported.
struct Filters {
    file_type: String,
    names: NameFilter,
    /// Seconds; negative: at most that old.
    age: Option<i64>,
    age_stamp: String,
    /// Bytes; negative: at most that big.
    size: Option<i64>,
    mode: Option<(u32, bool)>,
    contains: Option<(Regex, bool)>,
    now: f64,
}

/// `patterns` and `excludes`, as globs or regexes.
enum NameFilter {
    Glob(Vec<glob::Pattern>, Vec<glob::Pattern>),
    Regex(Vec<Regex>, Vec<Regex>),
}

impl NameFilter {
    fn matches(&self, name: &str) -> bool {
        // Python's `re.match`: anchored at the start only.
        let at_start = |re: &Regex| re.find(name.as_bytes()).is_some_and(|m| m.start() == 0);
        match self {
            NameFilter::Glob(patterns, excludes) => {
                patterns.iter().any(|p| p.matches(name))
                    && !excludes.iter().any(|e| e.matches(name))
            }
            NameFilter::Regex(patterns, excludes) => {
                patterns.iter().any(at_start) && !excludes.iter().any(at_start)
            }
        }
    }
}

/// A shell pattern as Python's `fnmatch` reads it; one `glob` rejects (an unclosed
/// `[`) is taken literally, as `fnmatch` does.
fn fnmatch_pattern(p: &str) -> glob::Pattern {
    glob::Pattern::new(p).unwrap_or_else(|_| {
        glob::Pattern::new(&glob::Pattern::escape(p)).expect("an escaped pattern is valid")
    })
}

impl Filters {
    fn from_args(args: &Args) -> Result<Filters, Box<ModuleResult>> {
        let fail = |msg: String| Box::new(ModuleResult::failed(msg));
        let patterns = args.list("patterns");
        let excludes = args.list("excludes");
        let names = if args.bool("use_regex") {
            let compile = |ps: &[String]| -> Result<Vec<Regex>, Box<ModuleResult>> {
                ps.iter()
                    .map(|p| pyregex::compile(p, false, false).map_err(fail))
                    .collect()
            };
            let patterns = if patterns.is_empty() {
                vec![".*".to_string()]
            } else {
                patterns
            };
            NameFilter::Regex(compile(&patterns)?, compile(&excludes)?)
        } else {
            let patterns = if patterns.is_empty() {
                vec!["*".to_string()]
            } else {
                patterns
            };
            NameFilter::Glob(
                patterns.iter().map(|p| fnmatch_pattern(p)).collect(),
                excludes.iter().map(|p| fnmatch_pattern(p)).collect(),
            )
        };
        let age = match args.str("age") {
            None => None,
            Some(age) => Some(
                with_unit(
                    age,
                    &[
                        ('s', 1),
                        ('m', 60),
                        ('h', 3600),
                        ('d', 86400),
                        ('w', 604800),
                    ],
                )
                .ok_or_else(|| {
                    Box::new(ModuleResult::failed("failed to process age").with("age", age))
                })?,
            ),
        };
        let size = match args.str("size") {
            None => None,
            Some(size) => Some(
                with_unit(
                    size,
                    &[
                        ('b', 1),
                        ('k', 1 << 10),
                        ('m', 1 << 20),
                        ('g', 1 << 30),
                        ('t', 1 << 40),
                    ],
                )
                .ok_or_else(|| {
                    Box::new(ModuleResult::failed("failed to process size").with("size", size))
                })?,
            ),
        };
        if let Some(limit) = args.int("limit").filter(|l| *l <= 0) {
            return Err(fail(format!(
                "limit cannot be {limit} (use None for unlimited)"
            )));
        }
        let mode = match args.get("mode") {
            None => None,
            Some(Value::String(m)) => {
                let bits = u32::from_str_radix(m, 8)
                    .or_else(|_| parse_mode(&Value::String(m.clone()), 0, false))
                    .map_err(fail)?;
                Some((bits & 0o7777, args.bool("exact_mode")))
            }
            Some(other) => {
                return Err(fail(format!(
                    "argument 'mode' is not a string and conversion is not allowed, value is of type {}",
                    match other {
                        Value::Bool(_) => "bool",
                        Value::Number(n) if n.is_f64() => "float",
                        Value::Number(_) => "int",
                        Value::Array(_) => "list",
                        _ => "dict",
                    }
                )));
            }
        };
        let contains = args
            .str("contains")
            .map(|p| pyregex::compile(p, false, false).map_err(fail))
            .transpose()?
            .map(|re| (re, args.bool("read_whole_file")));
        Ok(Filters {
            file_type: args.str("file_type").unwrap_or("file").to_string(),
            names,
            age,
            age_stamp: args.str("age_stamp").unwrap_or("mtime").to_string(),
            size,
            mode,
            contains,
            now: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        })
    }

    fn age_ok(&self, st: &FileStat) -> bool {
        let Some(age) = self.age else { return true };
        let stamp = match self.age_stamp.as_str() {
            "atime" => st.atime,
            "ctime" => st.ctime,
            _ => st.mtime,
        };
        let elapsed = self.now - stamp;
        if age >= 0 {
            elapsed >= age as f64
        } else {
            elapsed <= age.unsigned_abs() as f64
        }
    }

    fn size_ok(&self, st: &FileStat) -> bool {
        match self.size {
            None => true,
            Some(size) if size >= 0 => st.size >= size as u64,
            Some(size) => st.size <= size.unsigned_abs(),
        }
    }

    fn mode_ok(&self, st: &FileStat) -> bool {
        match self.mode {
            None => true,
            Some((mode, true)) => st.mode == mode,
            Some((mode, false)) => st.mode & mode != 0,
        }
    }
}

/// `-?N` with an optional unit letter (case-insensitive) scaling it.
fn with_unit(text: &str, units: &[(char, i64)]) -> Option<i64> {
    let text = text.to_ascii_lowercase();
    let (number, scale) = match text.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => {
            let scale = units.iter().find(|(u, _)| *u == c)?.1;
            (&text[..text.len() - 1], scale)
        }
        _ => (text.as_str(), 1),
    };
    let digits = number.strip_prefix('-').unwrap_or(number);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number.parse::<i64>().ok().map(|n| n * scale)
}

/// One run over the `paths`: what was found, looked at and skipped.
struct Walk<'a> {
    filters: &'a Filters,
    recurse: bool,
    depth: Option<i64>,
    hidden: bool,
    follow: bool,
    checksum: Option<&'a str>,
    limit: Option<usize>,
    found: Vec<Value>,
    examined: usize,
    skipped: Map,
}

impl Walk<'_> {
    fn limit_reached(&self) -> bool {
        self.limit == Some(self.found.len())
    }

    /// One directory of `os.walk(top)`: its files, then its subdirectories, then (with
    /// `recurse`) each subdirectory in turn. Returns false when the walk must stop.
    fn directory(
        &mut self,
        conn: &mut dyn Connection,
        dir: &str,
        top: &str,
    ) -> Result<bool, ModuleError> {
        let names = match conn.list_dir(dir) {
            Ok(names) => names,
            Err(e) => {
                self.skipped.insert(dir.to_string(), e.message.into());
                return Ok(true);
            }
        };
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        for name in names {
            let path = normpath(&format!("{dir}/{name}"));
            let Some(st) = conn.stat(&path, false)? else {
                continue; // gone since it was listed
            };
            // `os.walk` files a link by what it points to.
            let is_dir = match st.kind {
                FileKind::Dir => true,
                FileKind::Symlink => conn
                    .stat(&path, true)?
                    .is_some_and(|t| t.kind == FileKind::Dir),
                _ => false,
            };
            if is_dir {
                dirs.push((name, path, st));
            } else {
                files.push((name, path, st));
            }
        }
        self.examined += files.len() + dirs.len();
        let mut descend = true;
        for (name, path, st) in files.iter().chain(dirs.iter()) {
            if let Some(max) = self.depth {
                let depth = path.matches('/').count() as i64 - top.matches('/').count() as i64 + 1;
                if depth > max {
                    descend = false;
                    continue;
                }
            }
            if name.starts_with('.') && !self.hidden {
                continue;
            }
            if self.keep(conn, name, path, st)? {
                let mut entry = Map::new();
                entry.insert("path".into(), path.clone().into());
                entry.extend(stat_keys(st));
                if let Some(algorithm) = self.checksum.filter(|_| st.kind == FileKind::File) {
                    entry.insert(
                        "checksum".into(),
                        digest(algorithm, &conn.read_file(path)?).into(),
                    );
                }
                self.found.push(Value::Object(entry));
            }
            if self.limit_reached() {
                return Ok(false);
            }
        }
        if !self.recurse {
            return Ok(false);
        }
        if !descend {
            return Ok(true); // too deep below this one; its siblings are still walked
        }
        for (_, path, st) in &dirs {
            if st.kind == FileKind::Symlink && !self.follow {
                continue;
            }
            if !self.directory(conn, path, top)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Whether an entry passes the filters for its type.
    fn keep(
        &self,
        conn: &mut dyn Connection,
        name: &str,
        path: &str,
        st: &FileStat,
    ) -> Result<bool, ModuleError> {
        let f = self.filters;
        let wanted = match f.file_type.as_str() {
            "any" => st.kind != FileKind::File || f.size_ok(st),
            "directory" => st.kind == FileKind::Dir,
            "link" => st.kind == FileKind::Symlink,
            _ => st.kind == FileKind::File && f.size_ok(st),
        };
        if !(wanted && f.names.matches(name) && f.age_ok(st) && f.mode_ok(st)) {
            return Ok(false);
        }
        match &f.contains {
            Some((re, whole)) if f.file_type == "file" => {
                let Ok(data) = conn.read_file(path) else {
                    return Ok(false); // unreadable: not a match, as Ansible
                };
                Ok(if *whole {
                    re.is_match(&data)
                } else {
                    data.split_inclusive(|b| *b == b'\n').any(|line| {
                        re.find(pyregex::line_body(line))
                            .is_some_and(|m| m.start() == 0)
                    })
                })
            }
            _ => Ok(true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::Harness;
    use serde_json::json;

    fn paths(r: &ModuleResult) -> Vec<String> {
        r.data["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                f["path"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    fn tree() -> Harness {
        let h = Harness::new();
        h.write("a.txt", "hello\nport=80\n");
        h.write("b.log", "x");
        h.write(".hidden.txt", "");
        h.write("sub/c.txt", "port=81\n");
        h.write("sub/deeper/d.txt", "");
        h.write(".dot/e.txt", "");
        h
    }

    #[test]
    fn patterns_hidden_recurse_and_depth() {
        let mut h = tree();
        let root = h.path("");
        let r = h.run(&Find, json!({"paths": root, "patterns": "*.txt"}));
        assert_eq!(paths(&r), ["a.txt"]);
        assert_eq!(r.data["examined"], json!(5));
        assert_eq!(r.data["matched"], json!(1));
        assert_eq!(r.msg.as_deref(), Some("All paths examined"));
        let r = h.run(
            &Find,
            json!({"paths": root, "patterns": "*.txt", "recurse": true}),
        );
        assert_eq!(
            paths(&r),
            ["a.txt", "e.txt", "c.txt", "d.txt"],
            "hidden dirs are walked"
        );
        let r = h.run(
            &Find,
            json!({"paths": root, "patterns": ["*.txt"], "recurse": true, "hidden": true, "depth": 2, "excludes": "e*"}),
        );
        assert_eq!(paths(&r), [".hidden.txt", "a.txt", "c.txt"]);
        let r = h.run(
            &Find,
            json!({"paths": root, "file_type": "directory", "recurse": true}),
        );
        assert_eq!(paths(&r), ["sub", "deeper"]);
        let f = &r.data["files"][0];
        assert_eq!(
            (f["isdir"].clone(), f["mode"].as_str().map(str::len)),
            (json!(true), Some(4))
        );
    }

    #[test]
    fn regex_contains_size_age_mode_and_limit() {
        let mut h = tree();
        let root = h.path("");
        let r = h.run(
            &Find,
            json!({"paths": root, "patterns": "^[ab]\\.", "use_regex": true}),
        );
        assert_eq!(paths(&r), ["a.txt", "b.log"]);
        let r = h.run(
            &Find,
            json!({"paths": root, "contains": "port=\\d+$", "recurse": true}),
        );
        assert_eq!(paths(&r), ["a.txt", "c.txt"]);
        let r = h.run(
            &Find,
            json!({"paths": root, "contains": "80", "read_whole_file": true}),
        );
        assert_eq!(paths(&r), ["a.txt"]);
        let r = h.run(&Find, json!({"paths": root, "size": "2b"}));
        assert_eq!(paths(&r), ["a.txt"]);
        let r = h.run(&Find, json!({"paths": root, "age": "1d"}));
        assert!(paths(&r).is_empty(), "nothing is a day old");
        let r = h.run(&Find, json!({"paths": root, "age": "-1h"}));
        assert_eq!(paths(&r).len(), 2);
        std::fs::set_permissions(
            h.path("b.log"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let r = h.run(&Find, json!({"paths": root, "mode": "0600"}));
        assert_eq!(paths(&r), ["b.log"]);
        let r = h.run(
            &Find,
            json!({"paths": root, "limit": 1, "get_checksum": true}),
        );
        assert_eq!(r.msg.as_deref(), Some("Limit of matches reached"));
        assert_eq!(
            r.data["files"][0]["checksum"].as_str().map(str::len),
            Some(40)
        );
    }

    #[test]
    fn bad_input_and_missing_paths() {
        let mut h = tree();
        let root = h.path("");
        let r = h.run(&Find, json!({"paths": root, "age": "3y"}));
        assert_eq!(r.msg.as_deref(), Some("failed to process age"));
        let r = h.run(&Find, json!({"paths": root, "size": "big"}));
        assert_eq!(r.msg.as_deref(), Some("failed to process size"));
        let r = h.run(&Find, json!({"paths": root, "limit": 0}));
        assert!(r.failed);
        let r = h.run(&Find, json!({"paths": root, "mode": 600}));
        assert!(
            r.msg
                .unwrap()
                .starts_with("argument 'mode' is not a string")
        );
        let none = h.path("none");
        let r = h.run(&Find, json!({"paths": [none.clone(), root]}));
        assert_eq!(
            r.msg.as_deref(),
            Some("Not all paths examined, check warnings for details")
        );
        assert_eq!(
            r.data["skipped_paths"][&none],
            json!(format!("'{none}' is not a directory"))
        );
        assert_eq!(r.data["matched"], json!(2));
        let err = h.try_run(&Find, json!({"patterns": "*"})).unwrap_err();
        assert_eq!(err, "missing required arguments: paths");
    }
}
