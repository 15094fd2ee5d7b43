//! Ansible's filters on top of minijinja's built-in Jinja2 ones. Where Ansible's
//! filter differs from Jinja's (`int`, `bool`, `string`, `join`, `unique`...), the
//! Ansible version replaces the built-in.

use minijinja::value::{
    FunctionArgs, FunctionResult, Rest, Value as MjValue, ValueKind, ValueOrKwargs,
};
use minijinja::{Environment, Error, ErrorKind, State};

use super::convert::{to_jinja, to_json};
use super::errors::plugin_error;
use crate::value::Value;

mod collections;
mod data;
mod encoding;
mod network;
mod paths;
mod random;
mod regex;
mod scalars;
mod version;
pub(super) mod yaml_dump;

pub(crate) fn register(env: &mut Environment<'static>) {
    scalars::register(env);
    collections::register(env);
    data::register(env);
    encoding::register(env);
    regex::register(env);
    paths::register(env);
    network::register(env);
    random::register(env);
    version::register(env);
}

/// Registers a filter whose own failures read as Ansible words them: "The filter
/// plugin 'ansible.builtin.NAME' failed: ...". Undefined-value errors pass through
/// untouched so that they still name the variable.
pub(crate) fn add_filter<F, Rv, Args>(env: &mut Environment<'static>, name: &'static str, f: F)
where
    F: minijinja::functions::Function<Rv, Args>,
    Rv: FunctionResult,
    Args: for<'a> FunctionArgs<'a>,
{
    let inner = MjValue::from_function(f);
    let collection = if matches!(name, "ipaddr" | "ipv4" | "ipv6" | "ipwrap") {
        "ansible.utils"
    } else {
        "ansible.builtin"
    };
    env.add_filter(name, move |state: &mut State, args: Rest<ValueOrKwargs>| {
        let args: Vec<MjValue> = args.0.into_iter().map(MjValue::from).collect();
        inner
            .call(state, &args)
            .map_err(|e| match (e.kind(), e.detail()) {
                (ErrorKind::InvalidOperation, Some(detail))
                    if detail != crate::template::errors::MANDATORY =>
                {
                    plugin_error(format!(
                        "The filter plugin '{collection}.{name}' failed: {detail}"
                    ))
                }
                _ => e,
            })
    });
}

/// Python's `type(x).__name__` for a template value (`type_debug`, error messages).
pub(crate) fn python_type_name(v: &MjValue) -> &'static str {
    match v.kind() {
        ValueKind::Undefined => "AnsibleUndefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if v.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
}

/// Fails with minijinja's own undefined error (which remembers where the value
/// came from, so the message can name the variable) if `v` is undefined: filters
/// on undefined values fail as in strict Jinja.
pub(crate) fn defined(v: &MjValue) -> Result<(), Error> {
    if v.is_undefined() {
        v.get_attr("")?;
    }
    Ok(())
}

/// A template value as data, for filters that work on plain JSON shapes.
pub(crate) fn data(v: &MjValue) -> Result<Value, Error> {
    defined(v)?;
    to_json(v).map_err(|e| plugin_error(e.message))
}

/// Data back into a template value.
pub(crate) fn value(v: &Value) -> MjValue {
    to_jinja(v)
}

/// Python's `str()` of a template value.
pub(crate) fn py_str(v: &MjValue) -> Result<String, Error> {
    defined(v)?;
    super::environment::display(v)
}

/// The items of a list-like value (an error naming `filter` otherwise).
pub(crate) fn items(v: &MjValue, filter: &str) -> Result<Vec<MjValue>, Error> {
    defined(v)?;
    match v.kind() {
        ValueKind::Seq | ValueKind::Iterable | ValueKind::Map => Ok(v.try_iter()?.collect()),
        ValueKind::String => Ok(v
            .as_str()
            .unwrap_or_default()
            .chars()
            .map(MjValue::from)
            .collect()),
        _ => Err(plugin_error(format!(
            "{filter} requires a list, got {}",
            python_type_name(v)
        ))),
    }
}

pub(crate) use regex::compile as compile_regex;
pub(crate) use version::version_test as version_test_fn;
