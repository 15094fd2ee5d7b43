//! Host patterns as `hosts:` and `--limit` take them (`InventoryManager.get_hosts`).
//!
//! A pattern is split on `,` (or, without commas, on `:` outside brackets, unless the
//! whole thing is one address such as an IPv6 address or `host:22`). Plain terms are
//! unioned in order, then every `&term` intersects, then every `!term` excludes, whatever
//! order they were written in. A term is a host name, a group name, a glob over
//! group and host names, or `~regex`, optionally with a subscript `[i]`, `[i:j]`, `[i:]`.

use std::collections::HashSet;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::address::parse_address;
use super::graph::{Graph, LOCALHOST_NAMES};
use crate::diagnostic::{Error, Result};

/// A host chosen by a pattern: an inventory host, or the implicit localhost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Hit {
    Host(usize),
    ImplicitLocalhost,
}

static SUBSCRIPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$").expect("valid regex")
});
static COLON_TERMS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:[^\s:\[\]]|\[[^\]]*\])+").expect("valid regex"));

/// `split_host_pattern`: the terms of a pattern, trimmed, empty ones dropped.
pub(crate) fn split_pattern(pattern: &str) -> Vec<String> {
    let terms: Vec<String> = if pattern.contains(',') {
        pattern.split(',').map(str::to_string).collect()
    } else if parse_address(pattern, true).is_some() {
        vec![pattern.to_string()]
    } else {
        COLON_TERMS
            .find_iter(pattern)
            .map(|m| m.as_str().to_string())
            .collect()
    };
    terms
        .into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Replace `@file` terms by the lines of the file (`--limit @retry_file`).
pub(crate) fn expand_limit_files(terms: Vec<String>, cwd: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for t in terms {
        let Some(file) = t.strip_prefix('@') else {
            out.push(t);
            continue;
        };
        let path = cwd.join(file);
        if !path.exists() {
            return Err(Error::options(format!("Unable to find limit file {file}"))
                .with_hint("--limit @FILE reads one host pattern per line from FILE"));
        }
        if !path.is_file() {
            return Err(Error::options(format!(
                "Limit starting with \"@\" must be a file, not a directory: {file}"
            )));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, &e))?;
        out.extend(text.split('\n').map(|l| l.trim().to_string()));
    }
    Ok(out)
}

/// `_evaluate_patterns`: unions first, then intersections, then exclusions.
pub(crate) fn evaluate(graph: &Graph, terms: &[String]) -> Result<Vec<Hit>> {
    let mut regular: Vec<&str> = Vec::new();
    let mut intersect: Vec<&str> = Vec::new();
    let mut exclude: Vec<&str> = Vec::new();
    for t in terms.iter().filter(|t| !t.is_empty()) {
        match t.as_bytes()[0] {
            b'!' => exclude.push(t),
            b'&' => intersect.push(t),
            _ => regular.push(t),
        }
    }
    if regular.is_empty() {
        regular.push("all");
    }
    let mut hits: Vec<Hit> = Vec::new();
    let mut seen: HashSet<Hit> = HashSet::new();
    for t in regular {
        if let Some(h) = graph.hosts.get_index_of(t) {
            if seen.insert(Hit::Host(h)) {
                hits.push(Hit::Host(h));
            }
            continue;
        }
        for hit in match_one(graph, t)? {
            if seen.insert(hit) {
                hits.push(hit);
            }
        }
    }
    for t in intersect {
        let that: HashSet<Hit> = match_one(graph, &t[1..])?.into_iter().collect();
        hits.retain(|h| that.contains(h));
    }
    for t in exclude {
        let that: HashSet<Hit> = match_one(graph, &t[1..])?.into_iter().collect();
        hits.retain(|h| !that.contains(h));
    }
    Ok(hits)
}

/// `_match_one_pattern` without the `&`/`!` prefix: enumerate, then apply the subscript.
fn match_one(graph: &Graph, term: &str) -> Result<Vec<Hit>> {
    if term.is_empty() {
        return Ok(Vec::new());
    }
    let (expr, subscript) = split_subscript(term);
    let hits = enumerate(graph, expr)?;
    let Some((start, end)) = subscript else {
        return Ok(hits);
    };
    if hits.is_empty() {
        return Ok(hits);
    }
    let len = hits.len() as i64;
    let out_of_range = || {
        Error::other(format!(
            "No hosts matched the subscripted pattern '{term}'"
        ))
        .with_hint(format!(
            "'{expr}' matches {len} host(s), indexed from 0 (negative indexes count from the end)"
        ))
    };
    // Python's `if end:` — an end of 0 means a single index, like `[start]`.
    match end {
        Some(end) if end != 0 => {
            let end = if end == -1 { len - 1 } else { end };
            let s = start.clamp(0, len) as usize;
            let e = (end + 1).clamp(0, len) as usize;
            Ok(if s < e {
                hits[s..e].to_vec()
            } else {
                Vec::new()
            })
        }
        _ => {
            let i = if start < 0 { start + len } else { start };
            if i < 0 || i >= len {
                return Err(out_of_range());
            }
            Ok(vec![hits[i as usize]])
        }
    }
}

/// `(expr, Some((start, end)))`; `end` is `None` for a single index, `-1` for `[i:]`.
fn split_subscript(term: &str) -> (&str, Option<(i64, Option<i64>)>) {
    if term.starts_with('~') {
        return (term, None);
    }
    let Some(c) = SUBSCRIPT.captures(term) else {
        return (term, None);
    };
    let expr = c.get(1).map_or(term, |m| m.as_str());
    // Numbers too big for i64 cannot index anything: keep the term whole.
    if let Some(idx) = c.get(2) {
        return match idx.as_str().parse() {
            Ok(i) => (expr, Some((i, None))),
            Err(_) => (term, None),
        };
    }
    let start = c.get(3).and_then(|m| m.as_str().parse().ok());
    let end = match c.get(5).map_or("", |m| m.as_str()) {
        "" => Some(-1),
        e => e.parse().ok(),
    };
    match (start, end) {
        (Some(s), Some(e)) => (expr, Some((s, Some(e)))),
        _ => (term, None),
    }
}

/// `_enumerate_matches`: groups whose name matches give all their hosts; hosts are
/// matched by name when no group matched or the term is a glob or regex.
fn enumerate(graph: &Graph, term: &str) -> Result<Vec<Hit>> {
    let matcher = Matcher::new(term)?;
    let mut hits = Vec::new();
    let mut matched_group = false;
    for (g, name) in graph.groups.keys().enumerate() {
        if matcher.is_match(name) {
            matched_group = true;
            hits.extend(graph.group_hosts[g].iter().map(|&h| Hit::Host(h)));
        }
    }
    let special = term.starts_with('~') || term.contains(['.', '?', '*', '[']);
    if !matched_group || special {
        for (h, name) in graph.hosts.keys().enumerate() {
            if matcher.is_match(name) {
                hits.push(Hit::Host(h));
            }
        }
    }
    if hits.is_empty() && LOCALHOST_NAMES.contains(&term) {
        hits.push(match graph.localhost() {
            Some(h) => Hit::Host(h),
            None => Hit::ImplicitLocalhost,
        });
    }
    Ok(hits)
}

/// A term compiled once: `~regex` (anchored at the start, as `re.match`) or an fnmatch glob.
enum Matcher {
    Regex(Regex),
    Glob(glob::Pattern),
    Literal(String),
}

impl Matcher {
    fn new(term: &str) -> Result<Matcher> {
        if let Some(re) = term.strip_prefix('~') {
            return Regex::new(&format!("^(?:{re})"))
                .map(Matcher::Regex)
                .map_err(|e| {
                    Error::parse(format!("Invalid host list pattern: {term}"))
                        .with_hint(format!("'~' starts a regular expression: {e}"))
                });
        }
        if !term.contains(['*', '?', '[']) {
            return Ok(Matcher::Literal(term.to_string()));
        }
        // fnmatch has no `**`; glob would reject it where fnmatch reads it as `*`.
        let mut collapsed = term.to_string();
        while collapsed.contains("**") {
            collapsed = collapsed.replace("**", "*");
        }
        Ok(match glob::Pattern::new(&collapsed) {
            Ok(p) => Matcher::Glob(p),
            // An unclosed `[` is literal in fnmatch.
            Err(_) => Matcher::Literal(term.to_string()),
        })
    }

    fn is_match(&self, name: &str) -> bool {
        match self {
            Matcher::Regex(re) => re.is_match(name),
            Matcher::Glob(p) => p.matches_with(
                name,
                glob::MatchOptions {
                    case_sensitive: true,
                    require_literal_separator: false,
                    require_literal_leading_dot: false,
                },
            ),
            Matcher::Literal(s) => s == name,
        }
    }
}
