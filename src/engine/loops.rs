//! The items of a looped task: `loop:` (a list, possibly templated) and the
//! `with_<lookup>:` forms, whose terms are templated and handed to the lookup.

use crate::playbook::LoopSpec;
use crate::template::{Scope, Templar};
use crate::value::{self, Map, Value};

/// Evaluate a task's loop to its items.
pub fn items(spec: &LoopSpec, templar: &Templar, scope: &Scope<'_>) -> Result<Vec<Value>, String> {
    match spec {
        LoopSpec::Loop(v) => match templar.render_value(v, scope).map_err(|e| e.message)? {
            Value::Array(items) => Ok(items),
            Value::Null => Ok(Vec::new()),
            other => Err(format!(
                "Invalid data passed to 'loop', it requires a list, got this instead: {}. Hint: If you passed a list/dict of just one element, try adding wantlist=True to your lookup invocation or use q/query instead of lookup.",
                value::to_display_string(&other)
            )),
        },
        LoopSpec::With(name, terms) => {
            let terms = templar.render_value(terms, scope).map_err(|e| e.message)?;
            with_lookup(name, terms, templar, scope)
        }
    }
}

fn as_list(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

fn with_lookup(
    name: &str,
    terms: Value,
    templar: &Templar,
    scope: &Scope<'_>,
) -> Result<Vec<Value>, String> {
    Ok(match name {
        // `with_items` flattens one level.
        "items" => as_list(terms).into_iter().flat_map(as_list).collect(),
        "list" => as_list(terms),
        "flattened" => {
            fn flat(v: Value, out: &mut Vec<Value>) {
                match v {
                    Value::Array(items) => items.into_iter().for_each(|i| flat(i, out)),
                    other => out.push(other),
                }
            }
            let mut out = Vec::new();
            flat(terms, &mut out);
            out
        }
        "indexed_items" => as_list(terms)
            .into_iter()
            .flat_map(as_list)
            .enumerate()
            .map(|(i, v)| Value::Array(vec![Value::from(i), v]))
            .collect(),
        "dict" => match terms {
            Value::Object(m) => dict_items(m),
            Value::Array(items) => items
                .into_iter()
                .filter_map(|i| i.as_object().cloned())
                .flat_map(dict_items)
                .collect(),
            other => {
                return Err(format!(
                    "with_dict expects a dict, got {}",
                    value::to_display_string(&other)
                ));
            }
        },
        "nested" | "cartesian" => {
            let lists: Vec<Vec<Value>> = as_list(terms).into_iter().map(as_list).collect();
            let mut acc: Vec<Vec<Value>> = vec![Vec::new()];
            for list in lists {
                acc = acc
                    .into_iter()
                    .flat_map(|prefix| {
                        list.iter().map(move |x| {
                            let mut p = prefix.clone();
                            p.push(x.clone());
                            p
                        })
                    })
                    .collect();
            }
            acc.into_iter().map(Value::Array).collect()
        }
        "together" => {
            let lists: Vec<Vec<Value>> = as_list(terms).into_iter().map(as_list).collect();
            let len = lists.iter().map(Vec::len).max().unwrap_or(0);
            (0..len)
                .map(|i| {
                    Value::Array(
                        lists
                            .iter()
                            .map(|l| l.get(i).cloned().unwrap_or(Value::Null))
                            .collect(),
                    )
                })
                .collect()
        }
        "subelements" => subelements(terms)?,
        "sequence" => as_list(terms)
            .iter()
            .map(value::to_display_string)
            .map(|t| sequence(&t))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect(),
        _ => {
            // Any other lookup: `query(name, terms...)` through the template engine.
            let args: Vec<String> = as_list(terms).iter().map(value::python_repr).collect();
            let expr = format!("query('{name}', {})", args.join(", "));
            as_list(templar.eval(&expr, scope).map_err(|e| e.message)?)
        }
    })
}

fn dict_items(m: Map) -> Vec<Value> {
    m.into_iter()
        .map(|(k, v)| {
            let mut item = Map::new();
            item.insert("key".into(), Value::String(k));
            item.insert("value".into(), v);
            Value::Object(item)
        })
        .collect()
}

/// `with_subelements: [list_of_dicts, 'key', {skip_missing: true}]` → `[parent, sub]` pairs.
fn subelements(terms: Value) -> Result<Vec<Value>, String> {
    let terms = as_list(terms);
    let (Some(list), Some(key)) = (terms.first(), terms.get(1).and_then(Value::as_str)) else {
        return Err("subelements lookup expects a list of two or three items: a list, a key name and optionally flags".into());
    };
    let skip_missing = terms
        .get(2)
        .and_then(|f| f.get("skip_missing"))
        .and_then(value::to_bool)
        .unwrap_or(false);
    let mut out = Vec::new();
    for parent in as_list(list.clone()) {
        let mut node = Some(&parent);
        for part in key.split('.') {
            node = node.and_then(|n| n.get(part));
        }
        match node {
            Some(Value::Array(subs)) => {
                // Ansible pops the subelement key from the parent it hands out.
                let mut stripped = parent.clone();
                let path: Vec<&str> = key.split('.').collect();
                let mut holder = Some(&mut stripped);
                for part in &path[..path.len() - 1] {
                    holder = holder.and_then(|h| h.get_mut(*part));
                }
                if let Some(Value::Object(m)) = holder {
                    m.shift_remove(path[path.len() - 1]);
                }
                out.extend(
                    subs.iter()
                        .map(|s| Value::Array(vec![stripped.clone(), s.clone()])),
                );
            }
            None if skip_missing => {}
            None => {
                return Err(format!(
                    "could not find '{key}' key in iterated item '{}'",
                    value::python_repr(&parent)
                ));
            }
            Some(other) => {
                return Err(format!(
                    "the key {key} should point to a list, got '{}'",
                    value::python_repr(other)
                ));
            }
        }
    }
    Ok(out)
}

/// `with_sequence: start=1 end=5 stride=1 format=node%02d`, or the short `1-5/2:fmt`.
fn sequence(term: &str) -> Result<Vec<Value>, String> {
    let mut start = 1i64;
    let mut end: Option<i64> = None;
    let mut count: Option<i64> = None;
    let mut stride = 1i64;
    let mut format = "%d".to_string();
    let parse = |s: &str| -> Result<i64, String> {
        let s = s.trim();
        let parsed = if let Some(h) = s.strip_prefix("0x") {
            i64::from_str_radix(h, 16).ok()
        } else if s.len() > 1 && s.starts_with('0') {
            i64::from_str_radix(&s[1..], 8).ok()
        } else {
            s.parse().ok()
        };
        parsed.ok_or_else(|| format!("can't parse arg '{s}' as integer"))
    };
    if term.contains('=') {
        for part in term.split_whitespace() {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("can't parse arg '{part}'"))?;
            match k {
                "start" => start = parse(v)?,
                "end" => end = Some(parse(v)?),
                "count" => count = Some(parse(v)?),
                "stride" => stride = parse(v)?,
                "format" => format = v.to_string(),
                _ => return Err(format!("unrecognized arguments to with_sequence: {k}")),
            }
        }
    } else {
        let (range, fmt) = term
            .split_once(':')
            .map_or((term, None), |(r, f)| (r, Some(f)));
        if let Some(f) = fmt {
            format = f.to_string();
        }
        let (range, st) = range
            .split_once('/')
            .map_or((range, None), |(r, s)| (r, Some(s)));
        if let Some(s) = st {
            stride = parse(s)?;
        }
        match range.split_once('-') {
            Some((a, b)) => {
                start = parse(a)?;
                end = Some(parse(b)?);
            }
            None => end = Some(parse(range)?),
        }
    }
    let end = match (end, count) {
        (Some(_), Some(_)) => {
            return Err("can't specify both count and end in with_sequence".into());
        }
        (Some(e), None) => e,
        (None, Some(c)) => {
            if c == 0 {
                return Ok(Vec::new());
            }
            start + (c - 1) * stride
        }
        (None, None) => return Err("must specify count or end in with_sequence".into()),
    };
    if stride == 0 {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut i = start;
    while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
        out.push(Value::String(printf_int(&format, i)));
        i += stride;
        if out.len() > 1_000_000 {
            return Err("with_sequence produced too many items".into());
        }
    }
    Ok(out)
}

/// Python's `fmt % i` for the integer conversions a sequence format uses.
fn printf_int(fmt: &str, i: i64) -> String {
    let re = regex::Regex::new(r"%(0?)(\d*)([dixXo])").expect("valid regex");
    re.replace(fmt, |c: &regex::Captures<'_>| {
        let width: usize = c[2].parse().unwrap_or(0);
        let body = match &c[3] {
            "x" => format!("{i:x}"),
            "X" => format!("{i:X}"),
            "o" => format!("{i:o}"),
            _ => i.to_string(),
        };
        if c[1].is_empty() {
            format!("{body:>width$}")
        } else {
            format!("{body:0>width$}")
        }
    })
    .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sequences() {
        assert_eq!(
            sequence("start=1 end=3 format=node%02d").unwrap(),
            vec![json!("node01"), json!("node02"), json!("node03")]
        );
        assert_eq!(
            sequence("4-8/2").unwrap(),
            vec![json!("4"), json!("6"), json!("8")]
        );
        assert_eq!(
            sequence("start=0 count=2").unwrap(),
            vec![json!("0"), json!("1")]
        );
        assert!(sequence("start=x end=2").is_err());
    }

    #[test]
    fn subelements_pairs() {
        let v = subelements(json!([[{"n": "a", "l": [1, 2]}], "l"])).unwrap();
        assert_eq!(v, vec![json!([{"n": "a"}, 1]), json!([{"n": "a"}, 2])]);
    }
}
