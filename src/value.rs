//! The data model for variables, module arguments and results.
//!
//! Ansible's data is JSON-shaped (YAML is read into the same shapes), so srplay uses
//! `serde_json::Value` with insertion order kept (`preserve_order`), which matches
//! Python dicts. One coercion function per Ansible conversion lives here so that every
//! layer agrees on what `yes`, `"1"` or `on` mean.

pub use serde_json::Value;

/// An ordered string-keyed map, as a Python dict.
pub type Map = serde_json::Map<String, Value>;

/// Ansible's `boolean()` conversion (`module_utils.parsing.convert_bool`): the strict
/// set of spellings accepted for boolean module parameters and keywords.
pub fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Value::String(s) => str_to_bool(s),
        Value::Null => None,
        _ => None,
    }
}

/// The string half of [`to_bool`].
pub fn str_to_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "yes" | "on" | "1" | "true" | "t" | "y" | "1.0" => Some(true),
        "no" | "off" | "0" | "false" | "f" | "n" | "0.0" | "" => Some(false),
        _ => None,
    }
}

/// Python's truthiness of a value (`if x:`), used by conditionals on plain data.
pub fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// A value rendered as Python's `str()` would for scalars (what Ansible prints and
/// what a `k=v` argument or a shell command line receives).
pub fn to_display_string(v: &Value) -> String {
    match v {
        Value::Null => "None".to_string(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => crate::value::python_repr(other),
    }
}

/// Python's `repr()` of a value: how Ansible shows lists and dicts inside strings.
pub fn python_repr(v: &Value) -> String {
    let mut out = String::new();
    write_repr(v, &mut out);
    out
}

fn write_repr(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_str_repr(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str_repr(k, out);
                out.push_str(": ");
                write_repr(item, out);
            }
            out.push('}');
        }
    }
}

fn write_str_repr(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// How [`json_dumps_with`] formats: the arguments of Python's `json.dumps`.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonFormat {
    pub indent: Option<usize>,
    pub sort_keys: bool,
    /// Escape every non-ASCII character as `\uXXXX` (Python's default, and `to_json`'s).
    pub ensure_ascii: bool,
}

/// Python's `json.dumps(v, indent=indent, sort_keys=sort_keys, ensure_ascii=False)`:
/// what Ansible prints for results, with `", "` and `": "` separators on one line, or
/// `indent` spaces per level.
pub fn json_dumps(v: &Value, indent: Option<usize>, sort_keys: bool) -> String {
    json_dumps_with(
        v,
        &JsonFormat {
            indent,
            sort_keys,
            ensure_ascii: false,
        },
    )
}

/// Python's `json.dumps` with the given arguments.
pub fn json_dumps_with(v: &Value, format: &JsonFormat) -> String {
    let mut out = String::new();
    write_json(v, format, 0, &mut out);
    out
}

fn write_json(v: &Value, format: &JsonFormat, level: usize, out: &mut String) {
    let newline = |out: &mut String, level: usize| {
        if let Some(n) = format.indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * level));
        }
    };
    let item_sep = if format.indent.is_some() { "," } else { ", " };
    match v {
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, level + 1);
                write_json(item, format, level + 1, out);
            }
            newline(out, level);
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if format.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, level + 1);
                write_json_str(k, format.ensure_ascii, out);
                out.push_str(": ");
                write_json(item, format, level + 1, out);
            }
            newline(out, level);
            out.push('}');
        }
        Value::String(s) => write_json_str(s, format.ensure_ascii, out),
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(0.0);
            if f.fract() == 0.0 && f.abs() < 1e16 {
                out.push_str(&format!("{f:.1}"));
            } else {
                out.push_str(&n.to_string());
            }
        }
        other => out.push_str(&serde_json::to_string(other).unwrap_or_default()),
    }
}

/// A JSON string as Python writes it (`\n`, `\u001b`; with `ensure_ascii`, `\u00e9`).
fn write_json_str(s: &str, ensure_ascii: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && (c as u32) > 0x7e) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bool_spellings_follow_ansible() {
        for s in ["yes", "On", "TRUE", "1", "y"] {
            assert_eq!(str_to_bool(s), Some(true), "{s}");
        }
        for s in ["no", "Off", "false", "0", "n"] {
            assert_eq!(str_to_bool(s), Some(false), "{s}");
        }
        assert_eq!(str_to_bool("maybe"), None);
        assert_eq!(to_bool(&json!(1)), Some(true));
    }

    #[test]
    fn json_dumps_matches_python() {
        let v = json!({"b": [1, 2.0, {}], "a": "é\n"});
        assert_eq!(
            json_dumps(&v, None, true),
            r#"{"a": "é\n", "b": [1, 2.0, {}]}"#
        );
        assert_eq!(
            json_dumps(&v, Some(4), false),
            "{\n    \"b\": [\n        1,\n        2.0,\n        {}\n    ],\n    \"a\": \"é\\n\"\n}"
        );
    }

    #[test]
    fn repr_matches_python() {
        assert_eq!(
            python_repr(&json!(["a", 1, true, null])),
            "['a', 1, True, None]"
        );
        assert_eq!(python_repr(&json!({"k": "it's"})), "{'k': \"it's\"}");
    }
}
