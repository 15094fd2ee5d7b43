//! INI inventory files, as Ansible's `ini` inventory plugin reads them.
//!
//! Lines before the first section are hosts of `ungrouped`. `[g]` lists hosts (with
//! ranges, `:port` and inline `k=v` vars typed by [`literal::parse_value`]),
//! `[g:children]` child groups (which may be declared further down), `[g:vars]` group
//! variables (typed the same way). `#` and `;` start comment lines.

use std::path::Path;
use std::sync::{Arc, LazyLock};

use indexmap::IndexMap;
use regex::Regex;

use super::address::expand_host_pattern;
use super::graph::Graph;
use super::literal::parse_value;
use crate::diagnostic::{Error, Result, Span};
use crate::value::Map;

static SECTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$").expect("valid regex"));
static GROUP_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([^:\]\s]+)\s*(?:#.*)?$").expect("valid regex"));

#[derive(Clone, Copy, PartialEq)]
enum State {
    Hosts,
    Children,
    Vars,
}

/// A group mentioned before it was declared: in `[x:vars]`, or as a child.
struct Pending {
    line: usize,
    state: State,
    /// For a pending child: the groups that listed it, in order.
    parents: Vec<usize>,
}

/// Parse INI `text` (read from `path`) into `graph`.
pub(crate) fn parse(graph: &mut Graph, text: &str, path: &Path) -> Result<()> {
    let file = Arc::new(path.to_path_buf());
    let err = |line: usize, msg: String| {
        Error::parse(msg)
            .at(Span::new(file.clone(), line, 1))
            .with_hint("see https://docs.ansible.com/ansible/latest/inventory_guide/intro_inventory.html for the INI format")
    };
    let mut pending: IndexMap<String, Pending> = IndexMap::new();
    let mut group = graph.add_group("ungrouped");
    let mut state = State::Hosts;
    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(c) = SECTION.captures(line) {
            let name = &c[1];
            let kind = c.get(2).map_or("hosts", |m| m.as_str());
            state = match kind {
                "hosts" => State::Hosts,
                "children" => State::Children,
                "vars" => State::Vars,
                other => {
                    return Err(err(
                        lineno,
                        format!("Section [{name}:{other}] has unknown type: {other}"),
                    )
                    .with_hint(
                        match crate::diagnostic::nearest(other, ["children", "vars", "hosts"]) {
                            Some(near) => format!("did you mean [{name}:{near}]?"),
                            None => {
                                "a section is [group], [group:children] or [group:vars]".to_string()
                            }
                        },
                    ));
                }
            };
            let known = graph.groups.contains_key(name);
            group = graph.add_group(name);
            if !known && state == State::Vars && !pending.contains_key(name) {
                pending.insert(
                    name.to_string(),
                    Pending {
                        line: lineno,
                        state,
                        parents: Vec::new(),
                    },
                );
            }
            if state != State::Vars {
                match pending.get(name).map(|p| p.state) {
                    Some(State::Children) => add_pending_children(graph, name, &mut pending)
                        .map_err(|m| err(lineno, m))?,
                    Some(_) => {
                        pending.shift_remove(name);
                    }
                    None => {}
                }
            }
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            return Err(err(
                lineno,
                format!(
                    "Invalid section entry: '{line}'. Please make sure that there are no spaces in the section entry, and that there are no other invalid characters"
                ),
            ));
        }
        match state {
            State::Hosts => {
                let (names, port, vars) = parse_host_line(line).map_err(|m| err(lineno, m))?;
                for name in names {
                    let h = graph.add_host(&name, Some(group), port);
                    for (k, v) in &vars {
                        graph.set_host_var(h, k, v.clone());
                    }
                }
            }
            State::Vars => {
                let Some((k, v)) = line.split_once('=') else {
                    return Err(err(lineno, format!("Expected key=value, got: {line}")));
                };
                graph.set_group_var(group, k.trim(), parse_value(v.trim()));
            }
            State::Children => {
                let Some(c) = GROUP_NAME.captures(line) else {
                    return Err(err(lineno, format!("Expected group name, got: {line}")));
                };
                let child_name = &c[1];
                match graph.groups.get_index_of(child_name) {
                    Some(child) => graph
                        .add_child_group(group, child)
                        .map_err(|m| err(lineno, m))?,
                    None => {
                        // Declared later (or never: reported at the end).
                        pending
                            .entry(child_name.to_string())
                            .or_insert(Pending {
                                line: lineno,
                                state: State::Children,
                                parents: Vec::new(),
                            })
                            .parents
                            .push(group);
                    }
                }
            }
        }
    }
    if let Some((name, p)) = pending.first() {
        let msg = match p.state {
            State::Vars => format!("Section [{name}:vars] not valid for undefined group '{name}'."),
            _ => {
                let parent = p
                    .parents
                    .last()
                    .map_or("", |&x| graph.groups[x].name.as_str());
                format!("Section [{parent}:children] includes undefined group '{name}'.")
            }
        };
        return Err(
            err(p.line, msg).with_hint(format!("declare the group with a [{name}] section"))
        );
    }
    Ok(())
}

/// Link a child group that has now been declared to the parents that listed it.
fn add_pending_children(
    graph: &mut Graph,
    name: &str,
    pending: &mut IndexMap<String, Pending>,
) -> Result<(), String> {
    let Some(p) = pending.shift_remove(name) else {
        return Ok(());
    };
    let group = graph.add_group(name);
    for parent in p.parents {
        graph.add_child_group(parent, group)?;
        let parent_name = graph.groups[parent].name.clone();
        if pending
            .get(&parent_name)
            .is_some_and(|pp| pp.state == State::Children)
        {
            add_pending_children(graph, &parent_name, pending)?;
        }
    }
    Ok(())
}

/// A host line: `name[:port] [k=v ...]`, split the way Python's `shlex` (POSIX, comments) does.
fn parse_host_line(line: &str) -> Result<(Vec<String>, Option<u16>, Map), String> {
    let tokens =
        shlex_split(line).map_err(|e| format!("Error parsing host definition '{line}': {e}"))?;
    let Some(first) = tokens.first() else {
        return Ok((Vec::new(), None, Map::new()));
    };
    let (names, port) = expand_host_pattern(first)?;
    let mut vars = Map::new();
    for t in &tokens[1..] {
        let Some((k, v)) = t.split_once('=') else {
            return Err(format!(
                "Expected key=value host variable assignment, got: {t}"
            ));
        };
        vars.insert(k.to_string(), parse_value(v));
    }
    Ok((names, port, vars))
}

/// `shlex.split(line, comments=True)`: whitespace-separated words, quotes, backslash
/// escapes, and `#` outside quotes ending the line.
pub(crate) fn shlex_split(line: &str) -> Result<Vec<String>, &'static str> {
    let mut tokens = Vec::new();
    let mut cur = String::new();
    let mut in_token = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_token {
                    tokens.push(std::mem::take(&mut cur));
                    in_token = false;
                }
            }
            '#' => break,
            '\\' => {
                cur.push(chars.next().ok_or("No escaped character")?);
                in_token = true;
            }
            '\'' => {
                in_token = true;
                loop {
                    match chars.next().ok_or("No closing quotation")? {
                        '\'' => break,
                        c => cur.push(c),
                    }
                }
            }
            '"' => {
                in_token = true;
                loop {
                    match chars.next().ok_or("No closing quotation")? {
                        '"' => break,
                        '\\' => match chars.next().ok_or("No closing quotation")? {
                            e @ ('"' | '\\') => cur.push(e),
                            e => {
                                cur.push('\\');
                                cur.push(e);
                            }
                        },
                        c => cur.push(c),
                    }
                }
            }
            c => {
                cur.push(c);
                in_token = true;
            }
        }
    }
    if in_token {
        tokens.push(cur);
    }
    Ok(tokens)
}
