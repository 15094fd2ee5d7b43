//! YAML as Ansible reads it: YAML 1.1 scalars (see [`scalar`]), anchors, aliases and
//! merge keys, and the position of every node so that later layers can say
//! `file:line:column` in their errors.
//!
//! Built on `yaml-rust2`'s event parser; the tree and scalar resolution are ours,
//! because the crate resolves scalars as YAML 1.2.

mod scalar;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::diagnostic::{Error, Result, Span};
use crate::value::{Map, Value};

pub use scalar::resolve_plain;

/// A YAML node with its position.
#[derive(Clone, Debug)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
    /// A local tag such as `!unsafe` or `!vault`, without the `!`.
    pub tag: Option<String>,
}

#[derive(Clone, Debug)]
pub enum NodeKind {
    Scalar(Value),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The node as plain data (spans dropped, merge keys applied; a `!vault` value
    /// becomes the template that decrypts it when read).
    pub fn to_value(&self) -> Value {
        match &self.kind {
            NodeKind::Scalar(Value::String(text)) if self.tag.as_deref() == Some("vault") => {
                Value::String(crate::vault::inline_template(text, &self.span))
            }
            NodeKind::Scalar(v) => v.clone(),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            NodeKind::Map(_) => Value::Object(self.to_map()),
        }
    }

    fn to_map(&self) -> Map {
        let NodeKind::Map(pairs) = &self.kind else {
            return Map::new();
        };
        let mut map = Map::new();
        let mut merged: Vec<Map> = Vec::new();
        for (k, v) in pairs {
            let key = k.key_string();
            if key == "<<" && k.is_plain_scalar() {
                match &v.kind {
                    NodeKind::Map(_) => merged.push(v.to_map()),
                    NodeKind::Seq(items) => merged.extend(items.iter().map(Node::to_map)),
                    NodeKind::Scalar(_) => {}
                }
                continue;
            }
            map.insert(key, v.to_value());
        }
        // Explicit keys win over merged ones; earlier merge sources win over later ones.
        for source in merged {
            for (k, v) in source {
                map.entry(k).or_insert(v);
            }
        }
        map
    }

    /// A mapping's pairs as Python's YAML loader gives them: merge keys (`<<`) expanded,
    /// merged pairs first, and for a repeated key the last value at the first key's place.
    /// Empty for anything but a mapping.
    pub fn merged_pairs(&self) -> Vec<(&Node, &Node)> {
        let NodeKind::Map(pairs) = &self.kind else {
            return Vec::new();
        };
        let mut merged: Vec<(&Node, &Node)> = Vec::new();
        let mut explicit: Vec<(&Node, &Node)> = Vec::new();
        for (k, v) in pairs {
            if k.key_string() == "<<" && k.is_plain_scalar() {
                match &v.kind {
                    NodeKind::Map(_) => merged.extend(v.merged_pairs()),
                    // Later sources first, so that earlier ones override them.
                    NodeKind::Seq(items) => {
                        for item in items.iter().rev() {
                            merged.extend(item.merged_pairs());
                        }
                    }
                    NodeKind::Scalar(_) => {}
                }
            } else {
                explicit.push((k, v));
            }
        }
        let mut out: Vec<(&Node, &Node)> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for (k, v) in merged.into_iter().chain(explicit) {
            match index.entry(k.key_string()) {
                std::collections::hash_map::Entry::Occupied(e) => out[*e.get()].1 = v,
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(out.len());
                    out.push((k, v));
                }
            }
        }
        out
    }

    fn is_plain_scalar(&self) -> bool {
        matches!(self.kind, NodeKind::Scalar(Value::String(_)))
    }

    /// A mapping key as the string Ansible would use for it.
    pub fn key_string(&self) -> String {
        match &self.kind {
            NodeKind::Scalar(Value::String(s)) => s.clone(),
            NodeKind::Scalar(v) => crate::value::to_display_string(v),
            _ => crate::value::python_repr(&self.to_value()),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Scalar(Value::Null))
    }

    /// The pairs of a mapping node.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(pairs) => Some(pairs),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The value under `key` in a mapping node (the last one, as PyYAML keeps).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .rev()
            .find(|(k, _)| k.key_string() == key)
            .map(|(_, v)| v)
    }

    /// A short name for the node's type, for "expected a list, got a mapping".
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar(Value::Null) => "null",
            NodeKind::Scalar(Value::Bool(_)) => "boolean",
            NodeKind::Scalar(Value::Number(_)) => "number",
            NodeKind::Scalar(_) => "string",
            NodeKind::Seq(_) => "list",
            NodeKind::Map(_) => "mapping",
        }
    }
}

/// Read and parse a YAML file: its first document, or `None` when it has none.
/// A vaulted file is decrypted with the run's vault secrets first, as Ansible reads
/// any data file.
pub fn load_file(path: &Path) -> Result<Option<Node>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, &e))?;
    let text = crate::vault::open_file_text(text, path)?;
    load_str(&text, path)
}

/// Parse YAML text that came from `path` (used for positions in errors).
pub fn load_str(text: &str, path: &Path) -> Result<Option<Node>> {
    let file = Arc::new(path.to_path_buf());
    if let Some((line, column)) = find_tab_indent(text) {
        return Err(Error::parse("tab character used for indentation")
            .at(Span::new(file, line, column))
            .with_hint("YAML allows only spaces for indentation: replace the tab with spaces"));
    }
    let mut builder = Builder {
        file: file.clone(),
        stack: Vec::new(),
        anchors: Vec::new(),
        docs: Vec::new(),
        error: None,
    };
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, false).map_err(|e| {
        let m = e.marker();
        Error::parse(format!("malformed YAML: {}", e.info()))
            .at(Span::new(file.clone(), m.line(), m.col() + 1))
            .with_hint(yaml_hint(text, m.line()))
    })?;
    if let Some(err) = builder.error {
        let line = err.span.as_ref().map_or(0, |s| s.line);
        return Err(err.with_hint(yaml_hint(text, line)));
    }
    Ok(builder.docs.into_iter().next())
}

/// Parse YAML and return its data, `Value::Null` for an empty document.
pub fn load_value_file(path: &Path) -> Result<Value> {
    Ok(load_file(path)?.map_or(Value::Null, |n| n.to_value()))
}

fn find_tab_indent(text: &str) -> Option<(usize, usize)> {
    let mut in_block_scalar = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_end();
        if in_block_scalar {
            if !line.starts_with([' ', '\t']) && !trimmed.is_empty() {
                in_block_scalar = false;
            } else {
                continue;
            }
        }
        let indent: String = line
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        if indent.contains('\t') && line.len() > indent.len() && !line.trim_start().starts_with('#')
        {
            return Some((i + 1, indent.find('\t').unwrap() + 1));
        }
        if trimmed.ends_with('|')
            || trimmed.ends_with('>')
            || trimmed.ends_with("|-")
            || trimmed.ends_with(">-")
        {
            in_block_scalar = true;
        }
    }
    None
}

/// A hint for the most common mistake on the failing line.
fn yaml_hint(text: &str, line: usize) -> String {
    let src = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
    let value = src
        .split_once(": ")
        .map(|(_, v)| v.trim_start())
        .unwrap_or("");
    if value.starts_with("{{") {
        "a value that starts with \"{{\" must be quoted: key: \"{{ var }}\"".to_string()
    } else {
        "check the indentation and quoting on this line and the one before it".to_string()
    }
}

struct Builder {
    file: Arc<PathBuf>,
    stack: Vec<Partial>,
    anchors: Vec<(usize, Node)>,
    docs: Vec<Node>,
    /// The first structural error found (PyYAML refuses what the parser accepts).
    error: Option<Error>,
}

enum Partial {
    Seq(Node, usize, Vec<Node>),
    Map(Node, usize, Vec<(Node, Node)>, Option<Node>),
}

impl Builder {
    fn span(&self, mark: Marker) -> Span {
        Span::new(self.file.clone(), mark.line(), mark.col() + 1)
    }

    fn push_node(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.push((anchor, node.clone()));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Partial::Seq(_, _, items)) => items.push(node),
            Some(Partial::Map(_, _, pairs, key)) => match key.take() {
                None => {
                    if matches!(node.kind, NodeKind::Map(_) | NodeKind::Seq(_))
                        && self.error.is_none()
                    {
                        self.error = Some(
                            Error::parse(
                                "found unhashable key: a mapping or list used as a mapping key",
                            )
                            .at(node.span.clone()),
                        );
                    }
                    *key = Some(node)
                }
                Some(k) => pairs.push((k, node)),
            },
        }
    }
}

fn tag_name(tag: &Option<Tag>) -> Option<String> {
    let tag = tag.as_ref()?;
    Some(
        format!("{}{}", tag.handle.trim_start_matches('!'), tag.suffix)
            .trim_start_matches('!')
            .to_string(),
    )
}

fn resolve_tagged(text: String, style: TScalarStyle, tag: &Option<String>) -> Value {
    match tag.as_deref() {
        Some("tag:yaml.org,2002:str" | "str") => Value::String(text),
        Some(
            "tag:yaml.org,2002:int"
            | "int"
            | "tag:yaml.org,2002:float"
            | "float"
            | "tag:yaml.org,2002:bool"
            | "bool"
            | "tag:yaml.org,2002:null"
            | "null",
        ) => resolve_plain(&text),
        Some(_) => Value::String(text),
        None if style == TScalarStyle::Plain => resolve_plain(&text),
        None => Value::String(text),
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag_name(&tag);
                let value = resolve_tagged(text, style, &tag);
                let node = Node {
                    kind: NodeKind::Scalar(value),
                    span: self.span(mark),
                    tag,
                };
                self.push_node(node, anchor);
            }
            Event::SequenceStart(anchor, tag) => {
                let node = Node {
                    kind: NodeKind::Seq(Vec::new()),
                    span: self.span(mark),
                    tag: tag_name(&tag),
                };
                self.stack.push(Partial::Seq(node, anchor, Vec::new()));
            }
            Event::MappingStart(anchor, tag) => {
                let node = Node {
                    kind: NodeKind::Map(Vec::new()),
                    span: self.span(mark),
                    tag: tag_name(&tag),
                };
                self.stack
                    .push(Partial::Map(node, anchor, Vec::new(), None));
            }
            Event::SequenceEnd => {
                if let Some(Partial::Seq(mut node, anchor, items)) = self.stack.pop() {
                    node.kind = NodeKind::Seq(items);
                    self.push_node(node, anchor);
                }
            }
            Event::MappingEnd => {
                if let Some(Partial::Map(mut node, anchor, pairs, _)) = self.stack.pop() {
                    // A block mapping's start event comes after its first key has been
                    // scanned: the mapping starts where its first key does.
                    if let Some((first, _)) = pairs.first()
                        && (first.span.line, first.span.column) < (node.span.line, node.span.column)
                    {
                        node.span = first.span.clone();
                    }
                    node.kind = NodeKind::Map(pairs);
                    self.push_node(node, anchor);
                }
            }
            Event::Alias(id) => {
                let found = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == id)
                    .map(|(_, n)| n.clone());
                let node = found.unwrap_or_else(|| Node {
                    kind: NodeKind::Scalar(Value::Null),
                    span: self.span(mark),
                    tag: None,
                });
                self.push_node(node, 0);
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(text: &str) -> Node {
        load_str(text, Path::new("t.yml")).unwrap().unwrap()
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let node = load("- hosts: all\n  tasks:\n    - debug: msg=hi\n");
        let play = &node.as_seq().unwrap()[0];
        let (key, _) = &play.as_map().unwrap()[1];
        assert_eq!((key.span.line, key.span.column), (2, 3));
        let task = &play.get("tasks").unwrap().as_seq().unwrap()[0];
        assert_eq!((task.span.line, task.span.column), (3, 7));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let node = load("base: &b {a: 1, b: 2}\nderived:\n  <<: *b\n  b: 3\nref: *b\n");
        assert_eq!(
            node.to_value(),
            json!({"base": {"a": 1, "b": 2}, "derived": {"b": 3, "a": 1}, "ref": {"a": 1, "b": 2}})
        );
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        assert_eq!(
            load("a: 'yes'\nb: \"0644\"\nc: yes\nd: 0644\n").to_value(),
            json!({"a": "yes", "b": "0644", "c": true, "d": 420})
        );
    }

    #[test]
    fn unquoted_template_gets_a_hint() {
        let err = load_str("- debug:\n    msg: {{ x }}\n", Path::new("p.yml")).unwrap_err();
        assert_eq!(err.span.as_ref().unwrap().line, 2);
        assert!(err.hint.unwrap().contains("must be quoted"));
    }

    #[test]
    fn tabs_are_refused_with_a_location() {
        let err = load_str("a:\n\tb: 1\n", Path::new("p.yml")).unwrap_err();
        assert_eq!(err.span.as_ref().map(|s| (s.line, s.column)), Some((2, 1)));
    }

    #[test]
    fn tags_are_kept() {
        let node = load("a: !unsafe '{{ x }}'\n");
        assert_eq!(node.get("a").unwrap().tag.as_deref(), Some("unsafe"));
    }

    #[test]
    fn empty_document_is_none() {
        assert!(
            load_str("# nothing\n", Path::new("e.yml"))
                .unwrap()
                .is_none()
        );
    }
}
