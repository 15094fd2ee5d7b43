//! YAML output laid out as PyYAML's `yaml.dump` lays it out, which is what
//! `to_yaml` (`default_flow_style=None`: leaf collections in flow style) and
//! `to_nice_yaml` (all block style, `indent=4`, sorted keys) print.
//!
//! Differences kept on purpose: long plain scalars are not folded at 80 columns,
//! and multi-line strings are double-quoted with `\n` escapes rather than PyYAML's
//! single-quoted line folding (the same value either way).

use crate::value::Value;

pub(crate) fn dump(v: &Value, indent: usize, block_only: bool, sort_keys: bool) -> String {
    let d = Dumper {
        indent: indent.clamp(1, 9),
        block_only,
        sort_keys,
    };
    let mut out = String::new();
    match v {
        Value::Array(a) if !a.is_empty() && !d.flow(v) => d.block_seq(&mut out, a, 0),
        Value::Object(m) if !m.is_empty() && !d.flow(v) => d.block_map(&mut out, m, 0),
        other => {
            out.push_str(&d.inline(other));
            out.push('\n');
        }
    }
    out
}

struct Dumper {
    indent: usize,
    block_only: bool,
    sort_keys: bool,
}

impl Dumper {
    /// Whether a collection is written in flow style.
    fn flow(&self, v: &Value) -> bool {
        match v {
            Value::Array(a) => a.is_empty() || (!self.block_only && a.iter().all(is_scalar)),
            Value::Object(m) => m.is_empty() || (!self.block_only && m.values().all(is_scalar)),
            _ => true,
        }
    }

    fn entries<'a>(&self, m: &'a crate::value::Map) -> Vec<(&'a String, &'a Value)> {
        let mut e: Vec<_> = m.iter().collect();
        if self.sort_keys {
            e.sort_by(|a, b| a.0.cmp(b.0));
        }
        e
    }

    /// A scalar or flow collection on one line.
    fn inline(&self, v: &Value) -> String {
        match v {
            Value::Array(a) => {
                let items: Vec<String> = a.iter().map(|i| self.flow_item(i)).collect();
                format!("[{}]", items.join(", "))
            }
            Value::Object(m) => {
                let items: Vec<String> = self
                    .entries(m)
                    .into_iter()
                    .map(|(k, i)| format!("{}: {}", scalar_str(k, true), self.flow_item(i)))
                    .collect();
                format!("{{{}}}", items.join(", "))
            }
            other => scalar(other, false),
        }
    }

    fn flow_item(&self, v: &Value) -> String {
        match v {
            Value::Array(_) | Value::Object(_) => self.inline(v),
            other => scalar(other, true),
        }
    }

    fn block_map(&self, out: &mut String, m: &crate::value::Map, level: usize) {
        let pad = " ".repeat(level);
        for (i, (k, v)) in self.entries(m).into_iter().enumerate() {
            if i > 0 {
                out.push_str(&pad);
            }
            out.push_str(&scalar_str(k, false));
            out.push(':');
            match v {
                Value::Object(child) if !self.flow(v) => {
                    out.push('\n');
                    out.push_str(&" ".repeat(level + self.indent));
                    self.block_map(out, child, level + self.indent);
                }
                Value::Array(child) if !self.flow(v) => {
                    // PyYAML does not indent a sequence inside a mapping.
                    out.push('\n');
                    out.push_str(&pad);
                    self.block_seq(out, child, level);
                }
                other => {
                    out.push(' ');
                    out.push_str(&self.inline(other));
                    out.push('\n');
                }
            }
        }
    }

    fn block_seq(&self, out: &mut String, a: &[Value], level: usize) {
        let pad = " ".repeat(level);
        // PyYAML pads the dash to the indent width: "- " at 2, "-   " at 4.
        let dash = format!("-{}", " ".repeat(self.indent.max(2) - 1));
        for (i, v) in a.iter().enumerate() {
            if i > 0 {
                out.push_str(&pad);
            }
            match v {
                Value::Object(child) if !self.flow(v) => {
                    out.push_str(&dash);
                    self.block_map(out, child, level + dash.len());
                }
                Value::Array(child) if !self.flow(v) => {
                    out.push_str(&dash);
                    self.block_seq(out, child, level + dash.len());
                }
                other => {
                    out.push_str("- ");
                    out.push_str(&self.inline(other));
                    out.push('\n');
                }
            }
        }
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

fn scalar(v: &Value, in_flow: bool) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.is_infinite() => {
                if f > 0.0 { ".inf" } else { "-.inf" }.to_string()
            }
            _ => n.to_string(),
        },
        Value::String(s) => scalar_str(s, in_flow),
        other => crate::value::python_repr(other),
    }
}

/// A string as PyYAML writes it: plain when that reads back as the same string,
/// single-quoted otherwise, double-quoted when it holds control characters.
fn scalar_str(s: &str, in_flow: bool) -> String {
    if s.chars().any(|c| c.is_control()) {
        return serde_json::to_string(s).unwrap_or_default();
    }
    if needs_quotes(s, in_flow) {
        return format!("'{}'", s.replace('\'', "''"));
    }
    s.to_string()
}

fn needs_quotes(s: &str, in_flow: bool) -> bool {
    if s.is_empty() || s != s.trim() {
        return true;
    }
    // Plain only if YAML reads it back as this very string (not a bool, number...).
    let reread = crate::yaml::load_str(s, std::path::Path::new("<string>"))
        .ok()
        .flatten()
        .map(|n| n.to_value());
    if !matches!(reread, Some(Value::String(ref p)) if p == s) {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "[]{}#&*!|>'\"%@`,".contains(first) {
        return true;
    }
    let second = s.chars().nth(1);
    if "-?:".contains(first) && second.is_none_or(|c| c == ' ') {
        return true;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return true;
    }
    in_flow && s.contains(['[', ']', '{', '}', ','])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Expected outputs from ansible-core 2.19:
    // ansible localhost -m debug -a "msg={{ {'k': [1, {'z': 'q'}], 'e': {}, 's': 'a: b'} | to_nice_yaml }}"
    #[test]
    fn nice_yaml_matches_pyyaml() {
        let v = json!({"k": [1, {"z": "q"}], "e": {}, "s": "a: b"});
        assert_eq!(
            dump(&v, 4, true, true),
            "e: {}\nk:\n- 1\n-   z: q\ns: 'a: b'\n"
        );
        assert_eq!(
            dump(&json!({"a": 1, "b": [1, 2]}), 4, true, true),
            "a: 1\nb:\n- 1\n- 2\n"
        );
    }

    #[test]
    fn flow_yaml_for_leaves() {
        assert_eq!(
            dump(&json!({"a": 1, "b": [1, 2]}), 2, false, false),
            "a: 1\nb: [1, 2]\n"
        );
        assert_eq!(dump(&json!("x"), 2, false, false), "x\n");
        assert_eq!(dump(&json!([1, "a"]), 2, false, false), "[1, a]\n");
        assert_eq!(
            dump(&json!(["yes", "1"]), 2, false, false),
            "['yes', '1']\n"
        );
    }
}
