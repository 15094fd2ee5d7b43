//! `--list-tasks`, `--list-hosts`, `--list-tags`, `--syntax-check`: what the playbook
//! would do, printed as ansible-playbook prints it.
//!
//! Ansible builds these from the plays as its executor would see them before the first
//! task: each play's `name` and `hosts` templated with the play-level variables (an
//! undefined one fails the load, even for `--syntax-check`), then the play's static
//! task tree: pre_tasks, roles (every use, repeats included; deduplication is a run-time
//! affair), tasks, post_tasks. Only the `block:` part of blocks is listed, never
//! `rescue:`/`always:` nor handlers; dynamic includes are one line each; a named task
//! shows its role as `role : name`, an unnamed one its action as written.

use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;

use crate::diagnostic::{Error, Result};
use crate::engine::TagFilter;
use crate::inventory::Inventory;
use crate::playbook::{Play, Playbook, RoleUse, TaskNode};
use crate::template::{Scope, Templar};
use crate::value::{self, Map, Value};
use crate::vars::VarStack;

/// What to list. Nothing at all is `--syntax-check`: the plays are checked, only
/// the `playbook:` line is printed.
#[derive(Clone, Copy, Debug, Default)]
pub struct ListWhat {
    pub hosts: bool,
    pub tasks: bool,
    pub tags: bool,
}

/// What the listing is given besides the playbook.
pub struct ListContext<'a> {
    pub inventory: &'a Inventory,
    pub limit: Option<&'a str>,
    pub filter: &'a TagFilter,
    pub extra_vars: &'a Map,
}

/// A play's `name` and `hosts` after templating, as the listing shows them.
struct PlayHeader {
    name: String,
    /// The host patterns: `hosts:` as a list (a string is one pattern, commas and all).
    patterns: Vec<String>,
}

impl PlayHeader {
    fn host_list(&self) -> String {
        self.patterns.join(",")
    }
}

/// The listing of one playbook.
pub fn list(
    playbook: &Playbook,
    shown_path: &str,
    what: ListWhat,
    ctx: &ListContext,
) -> Result<String> {
    let headers = playbook
        .plays
        .iter()
        .map(|play| play_header(play, ctx))
        .collect::<Result<Vec<_>>>()?;
    let mut out = format!("\nplaybook: {shown_path}\n");
    if !(what.hosts || what.tasks || what.tags) {
        return Ok(out);
    }
    for (i, (play, header)) in playbook.plays.iter().zip(&headers).enumerate() {
        let _ = write!(
            out,
            "\n  play #{} ({}): {}\tTAGS: [{}]\n",
            i + 1,
            header.host_list(),
            header.name,
            // Ansible joins the play's tag set without a space (the tasks' with one).
            sorted_unique(&play.keywords.tags).join(",")
        );
        if what.hosts {
            let mut hosts = ctx.inventory.select(&header.host_list())?;
            if let Some(limit) = ctx.limit {
                let allowed = ctx.inventory.select(limit)?;
                hosts.retain(|h| allowed.contains(h));
            }
            let patterns =
                Value::Array(header.patterns.iter().cloned().map(Value::String).collect());
            let _ = writeln!(out, "    pattern: {}", value::python_repr(&patterns));
            let _ = writeln!(out, "    hosts ({}):", hosts.len());
            for h in hosts {
                let _ = writeln!(out, "      {h}");
            }
        }
        if what.tasks || what.tags {
            let mut listed = Vec::new();
            for section in [&play.pre_tasks, &play.roles, &play.tasks, &play.post_tasks] {
                collect_tasks(section, &play.keywords.tags, None, ctx.filter, &mut listed);
            }
            if what.tasks {
                out.push_str("    tasks:\n");
                for (name, tags) in &listed {
                    let _ = writeln!(
                        out,
                        "      {name}\tTAGS: [{}]",
                        sorted_unique(tags).join(", ")
                    );
                }
            }
            if what.tags {
                let mut all: Vec<String> = play.keywords.tags.clone();
                all.extend(listed.into_iter().flat_map(|(_, tags)| tags));
                let _ = writeln!(out, "      TASK TAGS: [{}]", sorted_unique(&all).join(", "));
            }
        }
    }
    Ok(out)
}

fn sorted_unique(tags: &[String]) -> Vec<&str> {
    let mut t: Vec<&str> = tags.iter().map(String::as_str).collect();
    t.sort_unstable();
    t.dedup();
    t
}

/// The play's name and hosts templated with the variables a play sees before any host
/// is chosen; a template that fails fails the playbook's load (exit 4), as Ansible's
/// validation of the play does.
fn play_header(play: &Play, ctx: &ListContext) -> Result<PlayHeader> {
    let vars = play_vars(play, ctx)?;
    let scope = Scope {
        vars: &vars,
        search_paths: &[],
    };
    let templar = Templar::new();
    let render = |keyword: &str, v: &Value| {
        templar.render_value(v, &scope).map_err(|e| {
            Error::parse(format!(
                "Error processing keyword '{keyword}': {}",
                e.message
            ))
            .at(play.span.clone())
        })
    };
    let patterns = match render("hosts", &play.hosts)? {
        Value::Array(items) => items.iter().map(value::to_display_string).collect(),
        Value::Null => Vec::new(),
        v => vec![value::to_display_string(&v)],
    };
    let name = match &play.name {
        Some(n) => value::to_display_string(&render("name", &Value::String(n.clone()))?),
        None => String::new(),
    };
    let name = if name.is_empty() {
        patterns.join(",")
    } else {
        name
    };
    Ok(PlayHeader { name, patterns })
}

/// The play-level variables, lowest precedence first: role defaults, play vars,
/// vars_files, role vars, extra vars, and the magic variables that need no host.
/// A vars file that is missing, or whose name needs a host's variables, is skipped:
/// Ansible cannot load those without a host either. One that is there but does not load
/// (bad YAML, vaulted with no password) fails the listing, as it fails Ansible's.
fn play_vars(play: &Play, ctx: &ListContext) -> Result<VarStack> {
    let mut defaults = Map::new();
    let mut role_vars = Map::new();
    for role in &play.public_roles {
        defaults.extend(role.defaults_chain.clone());
        role_vars.extend(role.vars_chain.clone());
    }
    let mut stack = VarStack::new();
    stack.push_map(defaults);
    stack.push_map(play.keywords.vars.clone());
    stack.push_map(vars_files(
        play,
        &stack.with(Arc::new(ctx.extra_vars.clone())),
    )?);
    stack.push_map(role_vars);
    stack.push_map(ctx.extra_vars.clone());
    let mut magic = Map::new();
    let groups: Map = ctx
        .inventory
        .groups_map()
        .into_iter()
        .map(|(g, hs)| (g, Value::Array(hs.into_iter().map(Value::String).collect())))
        .collect();
    magic.insert("groups".into(), Value::Object(groups));
    magic.insert(
        "playbook_dir".into(),
        Value::String(play.dir.display().to_string()),
    );
    stack.push_map(magic);
    Ok(stack)
}

fn vars_files(play: &Play, vars: &VarStack) -> Result<Map> {
    let scope = Scope {
        vars,
        search_paths: &[],
    };
    let templar = Templar::new();
    let mut loaded = Map::new();
    for entry in &play.vars_files {
        // A list entry means "the first of these that exists".
        let candidates = match entry {
            Value::Array(items) => items.clone(),
            v => vec![v.clone()],
        };
        for candidate in &candidates {
            let Ok(name) = templar.render_value(candidate, &scope) else {
                break;
            };
            let name = value::to_display_string(&name);
            let found = [play.dir.join(&name), play.dir.join("vars").join(&name)]
                .into_iter()
                .find(|p| p.is_file());
            if let Some(path) = found {
                if let Value::Object(m) = crate::yaml::load_value_file(Path::new(&path))? {
                    loaded.extend(m);
                }
                break;
            }
        }
    }
    Ok(loaded)
}

/// The tasks `--list-tasks` shows, in order, with their effective tags: those the tag
/// filter selects, from the `block:` part of each block (Ansible lists neither
/// `rescue:` nor `always:`).
fn collect_tasks(
    nodes: &[TaskNode],
    inherited: &[String],
    role: Option<&Arc<RoleUse>>,
    filter: &TagFilter,
    listed: &mut Vec<(String, Vec<String>)>,
) {
    for node in nodes {
        match node {
            TaskNode::Task(t) => {
                let mut tags = inherited.to_vec();
                tags.extend(t.keywords.tags.iter().cloned());
                if filter.runs(&tags) {
                    let name = match t.name.as_deref() {
                        Some(name) if !name.is_empty() => match role {
                            Some(role) => format!("{} : {name}", role.name),
                            None => name.to_string(),
                        },
                        _ => t.action_as_written.clone(),
                    };
                    listed.push((name, tags));
                }
            }
            TaskNode::Block(b) => {
                let mut tags = inherited.to_vec();
                tags.extend(b.keywords.tags.iter().cloned());
                collect_tasks(&b.block, &tags, b.role.as_ref().or(role), filter, listed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::ErrorKind;
    use crate::playbook::Loader;

    /// The listing of `playbook` (with role `r` whose tasks are `role_tasks`) over
    /// hosts h1 and h2 in group web.
    fn listing(playbook: &str, role_tasks: &str, what: ListWhat, only: &[&str]) -> Result<String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("play.yml"), playbook).unwrap();
        std::fs::write(dir.path().join("hosts"), "[web]\nh1\nh2\n").unwrap();
        std::fs::create_dir_all(dir.path().join("roles/r/tasks")).unwrap();
        std::fs::write(dir.path().join("roles/r/tasks/main.yml"), role_tasks).unwrap();
        let inventory = Inventory::load(&["hosts".to_string()], dir.path()).unwrap();
        let pb = Loader::new(Vec::new())
            .keeping_repeated_roles(true)
            .load_playbook(&dir.path().join("play.yml"))?;
        let only: Vec<String> = only.iter().map(|s| s.to_string()).collect();
        let ctx = ListContext {
            inventory: &inventory,
            limit: None,
            filter: &TagFilter::new(&only, &[]),
            extra_vars: &Map::new(),
        };
        list(&pb, "play.yml", what, &ctx)
    }

    const TASKS: ListWhat = ListWhat {
        hosts: false,
        tasks: true,
        tags: false,
    };

    #[test]
    fn lists_block_parts_only_and_names_unnamed_tasks_by_action() {
        let out = listing(
            "- hosts: web\n  roles: [r, r]\n  tasks:\n    - block:\n        - ansible.builtin.debug: msg=b\n      rescue:\n        - {name: rescued, debug: msg=r}\n      always:\n        - {name: always, debug: msg=a}\n  handlers:\n    - {name: handler, debug: msg=h}\n",
            "- {name: named, debug: msg=n}\n- command: echo\n",
            TASKS,
            &[],
        )
        .unwrap();
        let tasks: Vec<&str> = out
            .lines()
            .skip_while(|l| !l.contains("tasks:"))
            .skip(1)
            .collect();
        assert_eq!(
            tasks,
            [
                "      r : named\tTAGS: []",
                "      command\tTAGS: []",
                "      r : named\tTAGS: []",
                "      command\tTAGS: []",
                "      ansible.builtin.debug\tTAGS: []",
            ]
        );
    }

    #[test]
    fn play_header_templates_the_name_and_joins_play_tags_without_space() {
        let out = listing(
            "- name: \"{{ what }} play\"\n  hosts: \"{{ where }}\"\n  vars: {what: deploy, where: web}\n  tags: [b, a, b]\n- name: \"\"\n  hosts: [h1, h2]\n",
            "",
            ListWhat::default(),
            &[],
        )
        .unwrap();
        assert_eq!(out, "\nplaybook: play.yml\n");
        let out = listing(
            "- name: \"{{ what }} play\"\n  hosts: \"{{ where }}\"\n  vars: {what: deploy, where: web}\n  tags: [b, a, b]\n- name: \"\"\n  hosts: [h1, h2]\n",
            "",
            ListWhat {
                hosts: true,
                ..ListWhat::default()
            },
            &[],
        )
        .unwrap();
        assert!(
            out.contains(
                "  play #1 (web): deploy play\tTAGS: [a,b]\n    pattern: ['web']\n    hosts (2):\n"
            ),
            "{out}"
        );
        assert!(
            out.contains("  play #2 (h1,h2): h1,h2\tTAGS: []\n    pattern: ['h1', 'h2']\n"),
            "{out}"
        );
    }

    #[test]
    fn undefined_variable_in_play_name_fails_the_load() {
        let err = listing(
            "- name: \"{{ nope }}\"\n  hosts: web\n",
            "",
            ListWhat::default(),
            &[],
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Parse);
        assert!(
            err.message.contains("Error processing keyword 'name'"),
            "{}",
            err.message
        );
    }

    #[test]
    fn task_tags_are_those_of_the_listed_tasks_and_the_play() {
        let out = listing(
            "- hosts: web\n  tags: p\n  tasks:\n    - {debug: msg=a, tags: a}\n    - {debug: msg=b, tags: b}\n    - {debug: msg=n, tags: [never, n]}\n",
            "",
            ListWhat {
                tags: true,
                ..ListWhat::default()
            },
            &["a"],
        )
        .unwrap();
        assert!(out.ends_with("      TASK TAGS: [a, p]\n"), "{out}");
    }
}
