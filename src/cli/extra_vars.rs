//! `-e` values: `k=v` pairs, inline YAML/JSON (`{"k": 1}`), or `@file`.

use std::path::Path;

use crate::diagnostic::{Error, Result};
use crate::playbook::kv::parse_kv;
use crate::value::{Map, Value};

/// Parse one `-e` argument into variables.
pub fn parse(arg: &str, cwd: &Path) -> Result<Map> {
    let arg = arg.trim();
    if let Some(file) = arg.strip_prefix('@') {
        let path = cwd.join(file);
        if !path.is_file() {
            return Err(
                Error::options(format!("the extra vars file '{file}' could not be found"))
                    .with_hint("'-e @FILE' reads a YAML or JSON file of variables"),
            );
        }
        return as_map(crate::yaml::load_value_file(&path)?, arg);
    }
    if arg.starts_with('{') || arg.starts_with('[') {
        let node = crate::yaml::load_str(arg, Path::new("<extra vars>")).map_err(|e| {
            Error::new(
                crate::diagnostic::ErrorKind::Parse,
                format!("invalid extra vars '{arg}': {}", e.message),
            )
            .with_hint("give key=value pairs, a YAML/JSON mapping such as '{\"k\": 1}', or @file")
        })?;
        return as_map(node.map_or(Value::Null, |n| n.to_value()), arg);
    }
    let map = parse_kv(arg, false);
    if let Some(raw) = map.get("_raw_params") {
        return Err(Error::options(format!(
            "invalid extra vars '{arg}': '{}' is not key=value",
            crate::value::to_display_string(raw)
        ))
        .with_hint("give key=value pairs, a YAML/JSON mapping, or @file"));
    }
    Ok(map)
}

fn as_map(v: Value, arg: &str) -> Result<Map> {
    match v {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(Error::parse(format!(
            "invalid extra vars '{arg}': must be a mapping of variables"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn forms() {
        let cwd = Path::new(".");
        assert_eq!(
            Value::Object(parse("a=1 b='x y'", cwd).unwrap()),
            json!({"a": "1", "b": "x y"})
        );
        assert_eq!(
            Value::Object(parse(r#"{"a": 1, "b": [true]}"#, cwd).unwrap()),
            json!({"a": 1, "b": [true]})
        );
        assert!(parse("{bad", cwd).is_err());
        assert!(parse("@/nonexistent/file.yml", cwd).is_err());
        assert!(parse("justaword", cwd).is_err());
    }
}
