//! Version comparison: the `version` test and its old name `version_compare`
//! (kept as a filter and a test). `loose` (the default) compares Python
//! `LooseVersion`-style components; `semver`/`semantic` orders pre-releases
//! before their release; `strict` is treated as loose.

use std::cmp::Ordering;

use super::add_filter;
use minijinja::value::{Kwargs, Value as MjValue};
use minijinja::{Environment, Error};

use super::py_str;
use crate::template::errors::plugin_error;

pub(super) fn register(env: &mut Environment<'static>) {
    add_filter(env, "version_compare", version_test);
    add_filter(env, "version", version_test);
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Num(u64),
    Text(String),
}

fn loose_parts(v: &str) -> Vec<Part> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<Part>| {
        if !cur.is_empty() {
            out.push(match cur.parse::<u64>() {
                Ok(n) => Part::Num(n),
                Err(_) => Part::Text(cur.clone()),
            });
            cur.clear();
        }
    };
    for c in v.chars() {
        if c == '.' || c == '-' || c == '_' || c == '+' {
            flush(&mut cur, &mut out);
        } else if cur
            .chars()
            .last()
            .is_some_and(|l| l.is_ascii_digit() != c.is_ascii_digit())
        {
            flush(&mut cur, &mut out);
            cur.push(c);
        } else {
            cur.push(c);
        }
    }
    flush(&mut cur, &mut out);
    out
}

fn semver_cmp(a: &str, b: &str) -> Ordering {
    let split = |v: &str| {
        let v = v.trim_start_matches('v');
        let v = v.split('+').next().unwrap_or("");
        match v.split_once('-') {
            Some((core, pre)) => (loose_parts(core), Some(loose_parts(pre))),
            None => (loose_parts(v), None),
        }
    };
    let (ca, pa) = split(a);
    let (cb, pb) = split(b);
    ca.cmp(&cb).then_with(|| match (pa, pb) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => x.cmp(&y),
    })
}

/// Compares two versions with an Ansible operator name.
pub(crate) fn compare_versions(
    a: &str,
    b: &str,
    op: &str,
    version_type: &str,
) -> Result<bool, Error> {
    let ord = match version_type {
        "semver" | "semantic" => semver_cmp(a, b),
        "loose" | "strict" | "pep440" => loose_parts(a).cmp(&loose_parts(b)),
        other => {
            return Err(plugin_error(format!(
                "Invalid version type ({other}). Must be one of loose, strict, semver, semantic, pep440"
            )));
        }
    };
    Ok(match op {
        "<" | "lt" => ord == Ordering::Less,
        "<=" | "le" => ord != Ordering::Greater,
        ">" | "gt" => ord == Ordering::Greater,
        ">=" | "ge" => ord != Ordering::Less,
        "==" | "=" | "eq" => ord == Ordering::Equal,
        "!=" | "<>" | "ne" => ord != Ordering::Equal,
        other => return Err(plugin_error(format!("Invalid operator type ({other})"))),
    })
}

pub(crate) fn version_test(
    v: &MjValue,
    other: &MjValue,
    op: Option<String>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    let op = kwargs
        .get::<Option<String>>("operator")?
        .or(op)
        .unwrap_or("eq".into());
    let strict = kwargs.get::<Option<bool>>("strict")?.unwrap_or(false);
    let vt = kwargs
        .get::<Option<String>>("version_type")?
        .unwrap_or(if strict {
            "strict".into()
        } else {
            "loose".into()
        });
    kwargs.assert_all_used()?;
    let a = py_str(v)?;
    let b = py_str(other)?;
    if a.is_empty() || b.is_empty() {
        return Err(plugin_error(
            "Version comparison failed: version value cannot be empty",
        ));
    }
    compare_versions(&a, &b, &op, &vt)
}

#[cfg(test)]
mod tests {
    use super::*;

    // ansible localhost -m debug -a "msg={{ '1.2.10' is version('1.2.9', '>') }}" → True
    #[test]
    fn loose_and_semver() {
        assert!(compare_versions("1.2.10", "1.2.9", ">", "loose").unwrap());
        assert!(compare_versions("2.0", "10.0", "lt", "loose").unwrap());
        assert!(compare_versions("1.0.0-rc1", "1.0.0", "<", "semver").unwrap());
        assert!(compare_versions("1.19.2", "1.19.2", "==", "loose").unwrap());
        assert!(compare_versions("3.10", "3.9", "ge", "loose").unwrap());
        assert!(compare_versions("1", "2", "bogus", "loose").is_err());
    }
}
