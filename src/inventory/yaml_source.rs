//! YAML inventory files (Ansible's `yaml` inventory plugin):
//!
//! ```yaml
//! all:
//!   hosts: {web1: {ansible_port: 2222}}
//!   vars: {ntp: pool.example.com}
//!   children:
//!     db: {hosts: {db[1:3]:}}
//! ```
//!
//! Every top-level key is a group; each group has optional `hosts`, `vars`, `children`.

use crate::diagnostic::{Error, Result};
use crate::value::Value;
use crate::yaml::{Node, NodeKind};

use super::address::expand_host_pattern;
use super::graph::Graph;

/// Why a file is not a YAML inventory, so that the caller can try another format.
pub(crate) enum NotYaml {
    /// Not YAML, or YAML that is not a mapping of groups.
    Format(Error),
    /// A YAML inventory with a structural error: report it.
    Invalid(Error),
}

/// Parse YAML `root` (already loaded) into `graph`.
pub(crate) fn parse(
    graph: &mut Graph,
    root: Option<Node>,
    path: &std::path::Path,
) -> Result<(), NotYaml> {
    let Some(root) = root else {
        return Err(NotYaml::Format(Error::parse(format!(
            "{}: Parsed empty YAML file",
            path.display()
        ))));
    };
    if root.as_map().is_none() {
        return Err(NotYaml::Format(
            Error::parse(format!(
                "YAML inventory has invalid structure, it should be a dictionary, got a {}",
                root.type_name()
            ))
            .at(root.span.clone()),
        ));
    }
    if root.get("plugin").is_some_and(|p| !p.is_null()) {
        return Err(NotYaml::Invalid(
            Error::parse("inventory plugin configuration files are not supported by srplay")
                .at(root.span.clone())
                .with_hint(
                    "export the inventory with `ansible-inventory -i FILE --list -y` and use that file",
                ),
        ));
    }
    for (key, value) in root.merged_pairs() {
        parse_group(graph, &key.key_string(), value, 0).map_err(NotYaml::Invalid)?;
    }
    Ok(())
}

/// Deep enough for any real inventory; stops runaway recursion through aliases.
const MAX_DEPTH: usize = 64;

fn parse_group(graph: &mut Graph, name: &str, data: &Node, depth: usize) -> Result<usize> {
    if depth > MAX_DEPTH {
        return Err(Error::parse("groups nested too deeply").at(data.span.clone()));
    }
    let g = graph.add_group(name);
    let pairs = match &data.kind {
        NodeKind::Map(_) => data.merged_pairs(),
        NodeKind::Scalar(Value::Null) => return Ok(g),
        _ => {
            graph.warn(format!(
                "Skipping '{name}' as this is not a valid group definition ({}: {})",
                data.span,
                data.type_name()
            ));
            return Ok(g);
        }
    };
    for (key, value) in pairs {
        let section = key.key_string();
        match section.as_str() {
            "vars" | "children" | "hosts" => {}
            _ => {
                graph.warn(format!(
                    "Skipping unexpected key ({section}) in group ({name}), only \"vars\", \"children\" and \"hosts\" are valid ({})",
                    key.span
                ));
                continue;
            }
        }
        // A bare string means a single entry with no data: `hosts: web1`.
        let entries: Vec<(String, Option<&Node>, &Node)> = match &value.kind {
            NodeKind::Scalar(Value::Null) => continue,
            NodeKind::Scalar(Value::String(s)) => vec![(s.clone(), None, value)],
            NodeKind::Map(_) => value
                .merged_pairs()
                .into_iter()
                .map(|(k, v)| (k.key_string(), Some(v), k))
                .collect(),
            _ => {
                return Err(Error::parse(format!(
                    "Invalid \"{section}\" entry for \"{name}\" group, requires a dictionary, found a {} instead.",
                    value.type_name()
                ))
                .at(value.span.clone()));
            }
        };
        match section.as_str() {
            "vars" => {
                for (k, v, _) in entries {
                    graph.set_group_var(g, &k, v.map_or(Value::Null, Node::to_value));
                }
            }
            "children" => {
                for (child, v, _) in entries {
                    let null = Node {
                        kind: NodeKind::Scalar(Value::Null),
                        span: value.span.clone(),
                        tag: None,
                    };
                    let c = parse_group(graph, &child, v.unwrap_or(&null), depth + 1)?;
                    graph
                        .add_child_group(g, c)
                        .map_err(|m| Error::parse(m).at(value.span.clone()))?;
                }
            }
            _ => {
                for (pattern, v, key_node) in entries {
                    if !matches!(key_node.kind, NodeKind::Scalar(Value::String(_))) {
                        return Err(Error::parse(format!(
                            "Host pattern {pattern} must be a string. Enclose integers/floats in quotation marks."
                        ))
                        .at(key_node.span.clone()));
                    }
                    let (names, port) = expand_host_pattern(&pattern)
                        .map_err(|m| Error::parse(m).at(key_node.span.clone()))?;
                    let vars = match v.map(|n| (&n.kind, n)) {
                        None | Some((NodeKind::Scalar(Value::Null), _)) => crate::value::Map::new(),
                        Some((NodeKind::Map(_), n)) => match n.to_value() {
                            Value::Object(m) => m,
                            _ => crate::value::Map::new(),
                        },
                        Some((_, n)) => {
                            return Err(Error::parse(format!(
                                "Invalid data for host {pattern}: expected a dictionary of variables, got a {}",
                                n.type_name()
                            ))
                            .at(n.span.clone()));
                        }
                    };
                    for host in names {
                        let h = graph.add_host(&host, Some(g), port);
                        for (k, val) in &vars {
                            graph.set_host_var(h, k, val.clone());
                        }
                    }
                }
            }
        }
    }
    Ok(g)
}
