//! Python methods on values (`'a,b'.split(',')`, `d.items()`, `l.index(x)`):
//! minijinja-contrib's pycompat, plus the list methods it lacks; and the `dict()`
//! global as Python's, which also takes a list of pairs.

use minijinja::value::{Kwargs, Rest, Value as MjValue, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

use super::errors::plugin_error;

pub(crate) fn register(env: &mut Environment<'static>) {
    env.set_unknown_method_callback(call_method);
    env.add_function("dict", dict);
}

fn call_method(
    state: &mut State,
    value: &MjValue,
    method: &str,
    args: &[MjValue],
) -> Result<MjValue, Error> {
    if value.kind() == ValueKind::Seq {
        match (method, args) {
            ("index", [needle]) => {
                return value
                    .try_iter()?
                    .position(|item| &item == needle)
                    .map(MjValue::from)
                    .ok_or_else(|| {
                        plugin_error(format!(
                            "{} is not in list",
                            super::environment::display(needle).unwrap_or_default()
                        ))
                    });
            }
            ("count", [needle]) => {
                return Ok(MjValue::from(
                    value.try_iter()?.filter(|item| item == needle).count(),
                ));
            }
            _ => {}
        }
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

/// Python's `dict(pairs, **kwargs)`.
fn dict(pairs: Rest<MjValue>, kwargs: Kwargs) -> Result<MjValue, Error> {
    let mut out = indexmap::IndexMap::new();
    if pairs.len() > 1 {
        return Err(Error::new(
            ErrorKind::TooManyArguments,
            "dict expected at most 1 argument",
        ));
    }
    if let Some(source) = pairs.first() {
        if source.kind() == ValueKind::Map {
            for k in source.try_iter()? {
                let v = source.get_item(&k)?;
                out.insert(k, v);
            }
        } else {
            for pair in source.try_iter()? {
                let k = pair.get_item_by_index(0)?;
                let v = pair.get_item_by_index(1)?;
                out.insert(k, v);
            }
        }
    }
    for key in kwargs.args().map(str::to_string).collect::<Vec<_>>() {
        out.insert(MjValue::from(key.as_str()), kwargs.get::<MjValue>(&key)?);
    }
    kwargs.assert_all_used()?;
    Ok(MjValue::from_object(out))
}
