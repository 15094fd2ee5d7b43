//! Ansible's Jinja tests (`is failed`, `is version(...)`, `is match(...)`...) next to
//! minijinja's built-in ones (`defined`, `none`, `string`, `in`, `eq`...).

use std::path::Path;

use minijinja::value::{Kwargs, Value as MjValue, ValueKind};
use minijinja::{Environment, Error};

use super::errors::plugin_error;
use super::filters::{data, py_str};
use crate::value::{Value, is_truthy};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_test("failed", |v: &MjValue| result_key(v, "failed", "failed"));
    env.add_test("failure", |v: &MjValue| result_key(v, "failed", "failure"));
    env.add_test("succeeded", |v: &MjValue| {
        result_key(v, "failed", "succeeded").map(|f| !f)
    });
    env.add_test("success", |v: &MjValue| {
        result_key(v, "failed", "success").map(|f| !f)
    });
    env.add_test("successful", |v: &MjValue| {
        result_key(v, "failed", "successful").map(|f| !f)
    });
    env.add_test("changed", |v: &MjValue| changed(v, "changed"));
    env.add_test("change", |v: &MjValue| changed(v, "change"));
    env.add_test("unreachable", |v: &MjValue| {
        result_key(v, "unreachable", "unreachable")
    });
    env.add_test("reachable", |v: &MjValue| {
        result_key(v, "unreachable", "reachable").map(|u| !u)
    });
    env.add_test("finished", |v: &MjValue| async_state(v, "finished"));
    env.add_test("started", |v: &MjValue| async_state(v, "started"));
    env.add_test("skipped", |v: &MjValue| result_key(v, "skipped", "skipped"));
    env.add_test("skip", |v: &MjValue| result_key(v, "skipped", "skip"));
    env.add_test("version", super::filters::version_test_fn);
    env.add_test("version_compare", super::filters::version_test_fn);
    env.add_test("match", |v: &MjValue, p: String, k: Kwargs| {
        regex_test(v, &p, k, Anchor::Start)
    });
    env.add_test("search", |v: &MjValue, p: String, k: Kwargs| {
        regex_test(v, &p, k, Anchor::None)
    });
    env.add_test("regex", regex_kw_test);
    env.add_test("file", |p: String| Path::new(&p).is_file());
    env.add_test("directory", |p: String| Path::new(&p).is_dir());
    env.add_test("link", |p: String| Path::new(&p).is_symlink());
    env.add_test("exists", |p: String| {
        Path::new(&p).exists() || Path::new(&p).is_symlink()
    });
    env.add_test("abs", |p: String| p.starts_with('/'));
    env.add_test("subset", |a: &MjValue, b: &MjValue| set_test(a, b, false));
    env.add_test("superset", |a: &MjValue, b: &MjValue| set_test(b, a, false));
    env.add_test(
        "contains",
        |a: &MjValue, item: &MjValue| -> Result<bool, Error> {
            let list = list_data(a)?;
            Ok(list.contains(&data(item)?))
        },
    );
    env.add_test("any", |a: &MjValue| {
        Ok::<_, Error>(list_data(a)?.iter().any(is_truthy))
    });
    env.add_test("all", |a: &MjValue| {
        Ok::<_, Error>(list_data(a)?.iter().all(is_truthy))
    });
    env.add_test("truthy", |v: &MjValue| v.is_true());
    env.add_test("falsy", |v: &MjValue| !v.is_true());
    env.add_test("float", |v: &MjValue| {
        v.kind() == ValueKind::Number && !v.is_integer()
    });
    env.add_test("integer", |v: &MjValue| v.is_integer());
    env.add_test("callable", |v: &MjValue| v.kind() == ValueKind::Plain);
    env.add_test("divisibleby", |v: i64, n: i64| n != 0 && v % n == 0);
    env.add_test("nan", |v: &MjValue| {
        f64::try_from(v.clone()).is_ok_and(f64::is_nan)
    });
}

fn list_data(v: &MjValue) -> Result<Vec<Value>, Error> {
    match data(v)? {
        Value::Array(a) => Ok(a),
        other => Ok(vec![other]),
    }
}

fn set_test(small: &MjValue, big: &MjValue, _strict: bool) -> Result<bool, Error> {
    let big = list_data(big)?;
    Ok(list_data(small)?.iter().all(|x| big.contains(x)))
}

/// A registered result's boolean key; the tests want a dict, as Ansible's do.
fn result_key(v: &MjValue, key: &str, test: &str) -> Result<bool, Error> {
    if v.kind() != ValueKind::Map {
        return Err(plugin_error(format!(
            "The '{test}' test expects a dictionary"
        )));
    }
    let r = v.get_attr(key)?;
    Ok(!r.is_undefined() && r.is_true())
}

/// `finished`/`started` of an async result; a non-async result counts as both.
fn async_state(v: &MjValue, key: &str) -> Result<bool, Error> {
    if v.kind() != ValueKind::Map {
        return Err(plugin_error(format!(
            "The '{key}' test expects a dictionary"
        )));
    }
    let r = v.get_attr(key)?;
    Ok(r.is_undefined() || r.is_true())
}

/// `changed` also looks into a loop's `results`.
fn changed(v: &MjValue, test: &str) -> Result<bool, Error> {
    if result_key(v, "changed", test)? {
        return Ok(true);
    }
    if !v.get_attr("changed")?.is_undefined() {
        return Ok(false);
    }
    let results = v.get_attr("results")?;
    if results.kind() == ValueKind::Seq {
        for r in results.try_iter()? {
            if r.kind() == ValueKind::Map && r.get_attr("changed")?.is_true() {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

enum Anchor {
    Start,
    None,
}

fn regex_test(v: &MjValue, pattern: &str, kwargs: Kwargs, anchor: Anchor) -> Result<bool, Error> {
    let ic = kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let ml = kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    let text = py_str(v)?;
    let pattern = match anchor {
        Anchor::Start => format!("\\A(?:{pattern})"),
        Anchor::None => pattern.to_string(),
    };
    Ok(super::filters::compile_regex(&pattern, ic, ml)?.is_match(&text))
}

fn regex_kw_test(v: &MjValue, pattern: String, kwargs: Kwargs) -> Result<bool, Error> {
    let match_type = kwargs
        .get::<Option<String>>("match_type")?
        .unwrap_or("search".into());
    let anchor = if match_type == "match" {
        Anchor::Start
    } else {
        Anchor::None
    };
    regex_test(v, &pattern, kwargs, anchor)
}
