//! Argument specs, as Ansible's `argument_spec`: names, aliases, types, defaults,
//! choices, required and mutually exclusive parameters. [`ArgSpec::validate`] turns the
//! templated task arguments into [`Args`] keyed by canonical names with typed values.

use crate::diagnostic::nearest;
use crate::value::{self, Map, Value};

/// The type of a parameter, with Ansible's coercions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Any scalar becomes a string (`42` → `"42"`, `yes` stays as written when quoted).
    Str,
    /// `yes/no/true/false/on/off/1/0` in any case.
    Bool,
    Int,
    Float,
    /// A list; a string is split on commas (`a,b` → `["a","b"]`).
    List,
    Dict,
    /// A string with `~` expansion left to the module.
    Path,
    /// A file mode: an int (octal when written `0644` in YAML), an octal string
    /// (`"0644"`, `"644"`), or a symbolic one (`u=rw,g=r`), kept as given.
    Mode,
    /// Passed through untouched.
    Raw,
}

/// One parameter.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    pub required: bool,
    /// A default in YAML-ish text, coerced as the parameter's kind (`"yes"`, `"0"`).
    pub default: Option<&'static str>,
    pub choices: &'static [&'static str],
}

impl Param {
    pub const fn new(name: &'static str, kind: Kind) -> Param {
        Param {
            name,
            aliases: &[],
            kind,
            required: false,
            default: None,
            choices: &[],
        }
    }

    pub const fn required(mut self) -> Param {
        self.required = true;
        self
    }

    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> Param {
        self.aliases = aliases;
        self
    }

    pub const fn default(mut self, default: &'static str) -> Param {
        self.default = Some(default);
        self
    }

    pub const fn choices(mut self, choices: &'static [&'static str]) -> Param {
        self.choices = choices;
        self
    }
}

/// A module's whole argument spec.
#[derive(Clone, Copy, Debug)]
pub struct ArgSpec {
    pub params: &'static [Param],
    /// The module takes a free-form string (`command: ls -l`), stored as `_raw_params`.
    pub free_form: bool,
    pub mutually_exclusive: &'static [&'static [&'static str]],
    pub required_one_of: &'static [&'static [&'static str]],
    /// The module accepts parameters not in `params` (e.g. `set_fact`, `debug`-like).
    pub open: bool,
}

impl ArgSpec {
    pub const fn new(params: &'static [Param]) -> ArgSpec {
        ArgSpec {
            params,
            free_form: false,
            mutually_exclusive: &[],
            required_one_of: &[],
            open: false,
        }
    }

    pub const fn free_form(mut self) -> ArgSpec {
        self.free_form = true;
        self
    }

    pub const fn open(mut self) -> ArgSpec {
        self.open = true;
        self
    }

    pub const fn mutually_exclusive(
        mut self,
        groups: &'static [&'static [&'static str]],
    ) -> ArgSpec {
        self.mutually_exclusive = groups;
        self
    }

    pub const fn required_one_of(mut self, groups: &'static [&'static [&'static str]]) -> ArgSpec {
        self.required_one_of = groups;
        self
    }

    fn find(&self, name: &str) -> Option<&Param> {
        self.params
            .iter()
            .find(|p| p.name == name || p.aliases.contains(&name))
    }

    /// Names (and aliases) this spec knows, for "did you mean".
    pub fn known_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.params
            .iter()
            .flat_map(|p| std::iter::once(p.name).chain(p.aliases.iter().copied()))
    }

    /// Check only the parameter names: the load-time check, before anything is templated.
    /// Returns an error message naming the unknown parameter and the nearest known one.
    pub fn check_names<'a>(
        &self,
        module: &str,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), String> {
        if self.open {
            return Ok(());
        }
        for name in names {
            if name == "_raw_params" && self.free_form {
                continue;
            }
            if self.find(name).is_none() {
                let mut msg = format!("unsupported parameter for module '{module}': {name}");
                if let Some(near) = nearest(name, self.known_names()) {
                    msg.push_str(&format!(" (did you mean '{near}'?)"));
                }
                return Err(msg);
            }
        }
        Ok(())
    }

    /// Validate and normalize templated arguments: aliases to canonical names, types
    /// coerced, defaults filled in, choices, required and exclusive groups checked.
    /// Messages match Ansible's wording where a test might look for it.
    pub fn validate(&self, module: &str, raw: &Map) -> Result<Args, String> {
        self.check_names(module, raw.keys().map(String::as_str))?;
        let mut out = Map::new();
        for (name, value) in raw {
            match self.find(name) {
                Some(param) => {
                    if out.contains_key(param.name) && name != param.name {
                        continue; // the canonical name given as well wins
                    }
                    let coerced = coerce(param, value).map_err(|e| {
                        format!(
                            "argument '{}' is of type {} and we were unable to convert to {}: {e}",
                            param.name,
                            type_name(value),
                            kind_name(param.kind)
                        )
                    })?;
                    out.insert(param.name.to_string(), coerced);
                }
                None => {
                    out.insert(name.clone(), value.clone());
                }
            }
        }
        for group in self.mutually_exclusive {
            let present: Vec<&str> = group
                .iter()
                .copied()
                .filter(|n| out.get(*n).is_some_and(|v| !v.is_null()))
                .collect();
            if present.len() > 1 {
                return Err(format!(
                    "parameters are mutually exclusive: {}",
                    group.join("|")
                ));
            }
        }
        for group in self.required_one_of {
            if !group
                .iter()
                .any(|n| out.get(*n).is_some_and(|v| !v.is_null()))
            {
                return Err(format!(
                    "one of the following is required: {}",
                    group.join(", ")
                ));
            }
        }
        let mut missing = Vec::new();
        for param in self.params {
            let present = out.get(param.name).is_some_and(|v| !v.is_null());
            if !present {
                if param.required {
                    missing.push(param.name);
                } else if let Some(default) = param.default {
                    let value = coerce(param, &crate::yaml::resolve_plain(default))
                        .map_err(|e| format!("bad default for {}: {e}", param.name))?;
                    out.insert(param.name.to_string(), value);
                }
            }
        }
        if !missing.is_empty() {
            return Err(format!(
                "missing required arguments: {}",
                missing.join(", ")
            ));
        }
        for param in self.params {
            if param.choices.is_empty() {
                continue;
            }
            if let Some(v) = out.get(param.name).filter(|v| !v.is_null()) {
                let as_text = value::to_display_string(v);
                let ok = param.choices.iter().any(|c| {
                    *c == as_text
                        || (param.kind == Kind::Bool && value::str_to_bool(c) == value::to_bool(v))
                });
                if !ok {
                    return Err(format!(
                        "value of {} must be one of: {}, got: {}",
                        param.name,
                        param.choices.join(", "),
                        as_text
                    ));
                }
            }
        }
        Ok(Args(out))
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Str | Kind::Path | Kind::Mode | Kind::Raw => "str",
        Kind::Bool => "bool",
        Kind::Int => "int",
        Kind::Float => "float",
        Kind::List => "list",
        Kind::Dict => "dict",
    }
}

fn coerce(param: &Param, v: &Value) -> Result<Value, String> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    Ok(match param.kind {
        Kind::Raw | Kind::Mode => v.clone(),
        Kind::Str | Kind::Path => match v {
            Value::String(_) => v.clone(),
            Value::Array(_) | Value::Object(_) => Value::String(value::python_repr(v)),
            other => Value::String(value::to_display_string(other)),
        },
        Kind::Bool => {
            Value::Bool(value::to_bool(v).ok_or_else(|| {
                format!("'{}' is not a valid boolean", value::to_display_string(v))
            })?)
        }
        Kind::Int => match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => v.clone(),
            Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
                Value::from(n.as_f64().unwrap() as i64)
            }
            Value::String(s) => Value::from(
                s.trim()
                    .parse::<i64>()
                    .map_err(|_| format!("'{s}' cannot be converted to an int"))?,
            ),
            Value::Bool(b) => Value::from(*b as i64),
            _ => return Err("cannot be converted to an int".into()),
        },
        Kind::Float => match v {
            Value::Number(n) => Value::from(n.as_f64().unwrap_or(0.0)),
            Value::String(s) => Value::from(
                s.trim()
                    .parse::<f64>()
                    .map_err(|_| format!("'{s}' cannot be converted to a float"))?,
            ),
            _ => return Err("cannot be converted to a float".into()),
        },
        Kind::List => match v {
            Value::Array(_) => v.clone(),
            Value::String(s) => Value::Array(
                s.split(',')
                    .map(|p| Value::String(p.trim().to_string()))
                    .filter(|p| p.as_str() != Some(""))
                    .collect(),
            ),
            other => Value::Array(vec![Value::String(value::to_display_string(other))]),
        },
        Kind::Dict => match v {
            Value::Object(_) => v.clone(),
            Value::String(s) => parse_dict_string(s)?,
            _ => return Err("cannot be converted to a dict".into()),
        },
    })
}

/// A dict given as a string: JSON, or `k=v` pairs separated by spaces or commas.
fn parse_dict_string(s: &str) -> Result<Value, String> {
    if s.trim_start().starts_with('{') {
        return serde_json::from_str(s).map_err(|e| format!("invalid JSON dict: {e}"));
    }
    let mut map = Map::new();
    for part in s.split([',', ' ']).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("'{part}' is not k=v"))?;
        map.insert(k.trim().to_string(), Value::String(v.trim().to_string()));
    }
    Ok(Value::Object(map))
}

/// Validated arguments, keyed by canonical parameter names.
#[derive(Clone, Debug, Default)]
pub struct Args(pub Map);

impl Args {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    pub fn bool(&self, name: &str) -> bool {
        self.get(name).and_then(value::to_bool).unwrap_or(false)
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Value::as_i64)
    }

    pub fn float(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(Value::as_f64)
    }

    /// A list of strings (a `List` parameter).
    pub fn list(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            Some(Value::Array(items)) => items.iter().map(value::to_display_string).collect(),
            Some(other) => vec![value::to_display_string(other)],
            None => Vec::new(),
        }
    }

    pub fn dict(&self, name: &str) -> Option<&Map> {
        self.get(name).and_then(Value::as_object)
    }

    /// The free-form text of `command: ls -l`.
    pub fn raw_params(&self) -> Option<&str> {
        self.str("_raw_params")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    static SPEC: ArgSpec = ArgSpec::new(&[
        Param::new("path", Kind::Path)
            .required()
            .aliases(&["dest", "name"]),
        Param::new("force", Kind::Bool).default("no"),
        Param::new("state", Kind::Str).choices(&["file", "absent"]),
        Param::new("retries", Kind::Int),
    ])
    .mutually_exclusive(&[&["force", "retries"]]);

    fn args(v: Value) -> Map {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn aliases_types_and_defaults() {
        let a = SPEC
            .validate("m", &args(json!({"dest": "/tmp/x", "retries": "3"})))
            .unwrap();
        assert_eq!(a.str("path"), Some("/tmp/x"));
        assert_eq!(a.int("retries"), Some(3));
        assert_eq!(a.get("force"), Some(&json!(false)));
    }

    #[test]
    fn unknown_parameter_names_the_nearest() {
        let err = SPEC
            .validate("m", &args(json!({"path": "/x", "stat": "file"})))
            .unwrap_err();
        assert!(
            err.contains("stat") && err.contains("did you mean 'state'"),
            "{err}"
        );
    }

    #[test]
    fn required_choices_and_exclusive() {
        assert!(
            SPEC.validate("m", &Map::new())
                .unwrap_err()
                .contains("missing required arguments: path")
        );
        assert!(
            SPEC.validate("m", &args(json!({"path": "/x", "state": "dir"})))
                .unwrap_err()
                .contains("must be one of")
        );
        assert!(
            SPEC.validate(
                "m",
                &args(json!({"path": "/x", "force": true, "retries": 1}))
            )
            .unwrap_err()
            .contains("mutually exclusive")
        );
        assert!(
            SPEC.validate("m", &args(json!({"path": "/x", "force": "maybe"})))
                .unwrap_err()
                .contains("bool")
        );
    }
}
