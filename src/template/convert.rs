//! Conversions between srplay's JSON-shaped values and minijinja values.

use minijinja::value::{Value as MjValue, ValueKind};

use super::TemplateError;
use crate::value::{Map, Value};

/// A plain (not lazily templated) conversion of data into a template value.
pub(crate) fn to_jinja(v: &Value) -> MjValue {
    match v {
        Value::Null => MjValue::from(()),
        Value::Bool(b) => MjValue::from(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                MjValue::from(i)
            } else if let Some(u) = n.as_u64() {
                MjValue::from(u)
            } else {
                MjValue::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => MjValue::from(s.as_str()),
        Value::Array(items) => MjValue::from(items.iter().map(to_jinja).collect::<Vec<_>>()),
        Value::Object(map) => MjValue::from_object(
            map.iter()
                .map(|(k, v)| (MjValue::from(k.as_str()), to_jinja(v)))
                .collect::<indexmap::IndexMap<_, _>>(),
        ),
    }
}

/// Converts a template value into data. Map keys become strings as JSON requires
/// (Ansible's results do the same when they leave Jinja).
pub(crate) fn to_json(v: &MjValue) -> Result<Value, TemplateError> {
    Ok(match v.kind() {
        ValueKind::Undefined | ValueKind::None => Value::Null,
        ValueKind::Bool => Value::Bool(v.is_true()),
        ValueKind::String => Value::String(v.as_str().unwrap_or_default().to_string()),
        ValueKind::Number => number_to_json(v),
        ValueKind::Map => {
            let mut map = Map::new();
            let iter = v
                .try_iter()
                .map_err(|e| TemplateError::msg(e.to_string()))?;
            for key in iter {
                let item = v.get_item(&key).unwrap_or(MjValue::UNDEFINED);
                let key = match key.as_str() {
                    Some(s) => s.to_string(),
                    None => super::environment::display(&key)
                        .map_err(|e| TemplateError::msg(e.to_string()))?,
                };
                map.insert(key, to_json(&item)?);
            }
            Value::Object(map)
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let iter = v
                .try_iter()
                .map_err(|e| TemplateError::msg(e.to_string()))?;
            Value::Array(iter.map(|i| to_json(&i)).collect::<Result<_, _>>()?)
        }
        ValueKind::Bytes => {
            Value::String(String::from_utf8_lossy(v.as_bytes().unwrap_or_default()).into_owned())
        }
        _ => Value::String(v.to_string()),
    })
}

fn number_to_json(v: &MjValue) -> Value {
    if let Some(i) = v.as_i64() {
        return Value::from(i);
    }
    if let Ok(u) = u64::try_from(v.clone()) {
        return Value::from(u);
    }
    let f = f64::try_from(v.clone()).unwrap_or(f64::NAN);
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}
