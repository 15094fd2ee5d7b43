//! Serialization filters: `to_json`/`to_nice_json`/`tojson` in Python's
//! `json.dumps` layout, `to_yaml`/`to_nice_yaml` in PyYAML's, and the `from_*`
//! parsers.

use std::path::Path;

use super::add_filter;
use minijinja::value::{Kwargs, Value as MjValue};
use minijinja::{Environment, Error};

use super::{data, py_str, value};
use crate::template::errors::plugin_error;
use crate::value::Value;

pub(super) fn register(env: &mut Environment<'static>) {
    add_filter(env, "to_json", to_json);
    add_filter(env, "to_nice_json", to_nice_json);
    add_filter(env, "tojson", tojson);
    add_filter(env, "from_json", from_json);
    add_filter(env, "to_yaml", to_yaml);
    add_filter(env, "to_nice_yaml", to_nice_yaml);
    add_filter(env, "from_yaml", from_yaml);
    add_filter(env, "from_yaml_all", from_yaml_all);
}

fn to_json(v: &MjValue, kwargs: Kwargs) -> Result<String, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false);
    let _ = kwargs.get::<Option<bool>>("ensure_ascii");
    Ok(dumps(&data(v)?, indent, sort_keys))
}

fn to_nice_json(v: &MjValue, kwargs: Kwargs) -> Result<String, Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?.unwrap_or(4);
    let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(true);
    Ok(dumps(&data(v)?, Some(indent), sort_keys))
}

/// Jinja's `tojson`: sorted keys, HTML-sensitive characters escaped.
fn tojson(v: &MjValue, indent: Option<usize>) -> Result<String, Error> {
    Ok(dumps(&data(v)?, indent, true)
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\'', "\\u0027"))
}

/// Python's `json.dumps` output (`ensure_ascii=True`, `", "`/`": "` separators, or
/// `","` + newline with an indent).
/// `json.dumps` as the `to_json` filters call it (ASCII-escaped, as Python's default).
pub(crate) fn dumps(v: &Value, indent: Option<usize>, sort_keys: bool) -> String {
    crate::value::json_dumps_with(
        v,
        &crate::value::JsonFormat {
            indent,
            sort_keys,
            ensure_ascii: true,
        },
    )
}

fn from_json(v: &MjValue) -> Result<MjValue, Error> {
    let text = py_str(v)?;
    let parsed: Value =
        serde_json::from_str(&text).map_err(|e| plugin_error(format!("from_json: {e}")))?;
    Ok(value(&parsed))
}

fn parse_yaml(text: &str) -> Result<Value, Error> {
    crate::yaml::load_str(text, Path::new("<string>"))
        .map(|node| node.map(|n| n.to_value()).unwrap_or(Value::Null))
        .map_err(|e| plugin_error(format!("from_yaml: {e}")))
}

fn from_yaml(v: &MjValue) -> Result<MjValue, Error> {
    if v.as_str().is_none() {
        // Ansible passes non-strings through unchanged.
        return Ok(v.clone());
    }
    Ok(value(&parse_yaml(&py_str(v)?)?))
}

/// Splits a YAML stream at `---` document markers and parses each document.
fn from_yaml_all(v: &MjValue) -> Result<MjValue, Error> {
    let text = py_str(v)?;
    let mut docs = Vec::new();
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            if !current.trim().is_empty() {
                docs.push(parse_yaml(&current)?);
            }
            current = line.strip_prefix("---").unwrap_or("").to_string();
        } else if line.trim_end() == "..." {
            continue;
        } else {
            current.push_str(line);
        }
    }
    if !current.trim().is_empty() {
        docs.push(parse_yaml(&current)?);
    }
    Ok(value(&Value::Array(docs)))
}

fn to_yaml(v: &MjValue, kwargs: Kwargs) -> Result<String, Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?.unwrap_or(2);
    let _ = kwargs.get::<Option<MjValue>>("default_flow_style");
    let _ = kwargs.get::<Option<MjValue>>("width");
    Ok(super::yaml_dump::dump(&data(v)?, indent, false, false))
}

fn to_nice_yaml(v: &MjValue, kwargs: Kwargs) -> Result<String, Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?.unwrap_or(4);
    let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(true);
    let _ = kwargs.get::<Option<MjValue>>("width");
    Ok(super::yaml_dump::dump(&data(v)?, indent, true, sort_keys))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dumps_like_python() {
        let v = json!({"a": 1, "b": [1, 2], "c": "é"});
        assert_eq!(
            dumps(&v, None, false),
            r#"{"a": 1, "b": [1, 2], "c": "\u00e9"}"#
        );
        assert_eq!(
            dumps(&json!({"b": [1], "a": {}}), Some(4), true),
            "{\n    \"a\": {},\n    \"b\": [\n        1\n    ]\n}"
        );
    }
}
