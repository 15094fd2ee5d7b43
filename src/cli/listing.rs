//! `--list-tasks`, `--list-hosts`, `--list-tags`, `--syntax-check`: what the playbook
//! would do, printed as ansible-playbook prints it.

use std::fmt::Write;
use std::sync::Arc;

use crate::diagnostic::Result;
use crate::engine::TagFilter;
use crate::inventory::Inventory;
use crate::playbook::{Play, Playbook, RoleUse, TaskNode};
use crate::template::{Scope, Templar};
use crate::value::{self, Map, Value};
use crate::vars::VarStack;

/// What to list.
#[derive(Clone, Copy, Debug, Default)]
pub struct ListWhat {
    pub hosts: bool,
    pub tasks: bool,
    pub tags: bool,
}

/// The play's hosts pattern, templated with its vars and the extra vars when it
/// holds a template (as ansible-playbook does before listing).
fn pattern_text(play: &Play, extra_vars: &Map) -> String {
    let mut stack = VarStack::new();
    stack.push_map(play.keywords.vars.clone());
    stack.push_map(extra_vars.clone());
    let scope = Scope {
        vars: &stack,
        search_paths: &[],
    };
    let hosts = Templar::new()
        .render_value(&play.hosts, &scope)
        .unwrap_or_else(|_| play.hosts.clone());
    match &hosts {
        Value::Array(items) => items
            .iter()
            .map(value::to_display_string)
            .collect::<Vec<_>>()
            .join(","),
        v => value::to_display_string(v),
    }
}

fn tag_text(tags: &[String]) -> String {
    let mut t: Vec<&String> = tags.iter().collect();
    t.sort();
    t.dedup();
    format!(
        "[{}]",
        t.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
    )
}

/// The listing of one playbook.
pub fn list(
    playbook: &Playbook,
    shown_path: &str,
    what: ListWhat,
    inventory: &Inventory,
    limit: Option<&str>,
    filter: &TagFilter,
    extra_vars: &Map,
) -> Result<String> {
    let mut out = format!("\nplaybook: {shown_path}\n");
    for (i, play) in playbook.plays.iter().enumerate() {
        let pattern = pattern_text(play, extra_vars);
        let name = play.name.clone().unwrap_or_else(|| pattern.clone());
        let _ = write!(
            out,
            "\n  play #{} ({pattern}): {name}\tTAGS: {}\n",
            i + 1,
            tag_text(&play.keywords.tags)
        );
        if what.hosts {
            let mut hosts = inventory.select(&pattern)?;
            if let Some(l) = limit {
                let allowed = inventory.select(l)?;
                hosts.retain(|h| allowed.contains(h));
            }
            let patterns: Vec<String> = pattern
                .split(',')
                .map(|p| format!("'{}'", p.trim()))
                .collect();
            let _ = writeln!(out, "    pattern: [{}]", patterns.join(", "));
            let _ = writeln!(out, "    hosts ({}):", hosts.len());
            for h in hosts {
                let _ = writeln!(out, "      {h}");
            }
        }
        if what.tasks || what.tags {
            let mut lines = Vec::new();
            let mut all_tags = Vec::new();
            for section in [&play.pre_tasks, &play.roles, &play.tasks, &play.post_tasks] {
                walk(
                    section,
                    &play.keywords.tags,
                    None,
                    filter,
                    &mut lines,
                    &mut all_tags,
                );
            }
            if what.tasks {
                out.push_str("    tasks:\n");
                for (name, tags) in &lines {
                    let _ = writeln!(out, "      {name}\tTAGS: {}", tag_text(tags));
                }
            }
            if what.tags {
                let _ = writeln!(out, "      TASK TAGS: {}", tag_text(&all_tags));
            }
        }
    }
    Ok(out)
}

fn walk(
    nodes: &[TaskNode],
    inherited: &[String],
    role: Option<&Arc<RoleUse>>,
    filter: &TagFilter,
    lines: &mut Vec<(String, Vec<String>)>,
    all_tags: &mut Vec<String>,
) {
    for node in nodes {
        match node {
            TaskNode::Task(t) => {
                let mut tags = inherited.to_vec();
                tags.extend(t.keywords.tags.iter().cloned());
                all_tags.extend(tags.iter().cloned());
                if filter.runs(&tags) {
                    lines.push((t.display_name(role.map(|r| r.as_ref())), tags));
                }
            }
            TaskNode::Block(b) => {
                let mut tags = inherited.to_vec();
                tags.extend(b.keywords.tags.iter().cloned());
                let role = b.role.as_ref().or(role);
                for list in [&b.block, &b.rescue, &b.always] {
                    walk(list, &tags, role, filter, lines, all_tags);
                }
            }
        }
    }
}
