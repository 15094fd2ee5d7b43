//! List and dict filters: Ansible's set theory (`unique`, `union`, `difference`,
//! `intersect`, `symmetric_difference`), `flatten`, `zip`/`zip_longest`, `product`,
//! `permutations`, `combinations`, `dict2items`/`items2dict`, `combine`,
//! `subelements` and `extract`.

use super::add_filter;
use minijinja::value::{Kwargs, Rest, Value as MjValue, ValueKind};
use minijinja::{Environment, Error};

use super::{data, items, python_type_name, value};
use crate::template::errors::plugin_error;
use crate::value::{Map, Value};

pub(super) fn register(env: &mut Environment<'static>) {
    add_filter(env, "unique", unique);
    add_filter(env, "union", union);
    add_filter(env, "difference", difference);
    add_filter(env, "intersect", intersect);
    add_filter(env, "symmetric_difference", symmetric_difference);
    add_filter(env, "flatten", flatten);
    add_filter(env, "zip", zip);
    add_filter(env, "zip_longest", zip_longest);
    add_filter(env, "product", product);
    add_filter(env, "permutations", permutations);
    add_filter(env, "combinations", combinations);
    add_filter(env, "dict2items", dict2items);
    add_filter(env, "items2dict", items2dict);
    add_filter(env, "combine", combine);
    add_filter(env, "subelements", subelements);
    add_filter(env, "extract", extract);
}

fn list_data(v: &MjValue, filter: &str) -> Result<Vec<Value>, Error> {
    items(v, filter)?.iter().map(data).collect()
}

fn to_list(items: Vec<Value>) -> MjValue {
    value(&Value::Array(items))
}

/// Deduplicates keeping first occurrences. Like Jinja's `unique` (which Ansible
/// delegates to), strings compare case-insensitively unless `case_sensitive`.
fn dedup(items: Vec<Value>, case_sensitive: bool) -> Vec<Value> {
    let key = |v: &Value| match v {
        Value::String(s) if !case_sensitive => Value::String(s.to_lowercase()),
        other => other.clone(),
    };
    let mut seen: Vec<Value> = Vec::new();
    let mut out = Vec::new();
    for item in items {
        let k = key(&item);
        if !seen.contains(&k) {
            seen.push(k);
            out.push(item);
        }
    }
    out
}

fn unique(v: &MjValue, kwargs: Kwargs) -> Result<MjValue, Error> {
    let case_sensitive = kwargs
        .get::<Option<bool>>("case_sensitive")?
        .unwrap_or(false);
    let attribute: Option<String> = kwargs.get("attribute")?;
    kwargs.assert_all_used()?;
    let list = list_data(v, "unique")?;
    let Some(attr) = attribute else {
        return Ok(to_list(dedup(list, case_sensitive)));
    };
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for item in list {
        let k = item.get(&attr).cloned().unwrap_or(Value::Null);
        if !seen.contains(&k) {
            seen.push(k);
            out.push(item);
        }
    }
    Ok(to_list(out))
}

fn union(a: &MjValue, b: &MjValue) -> Result<MjValue, Error> {
    let mut list = list_data(a, "union")?;
    list.extend(list_data(b, "union")?);
    Ok(to_list(dedup(list, true)))
}

fn difference(a: &MjValue, b: &MjValue) -> Result<MjValue, Error> {
    let other = list_data(b, "difference")?;
    let list = list_data(a, "difference")?
        .into_iter()
        .filter(|x| !other.contains(x))
        .collect();
    Ok(to_list(dedup(list, true)))
}

fn intersect(a: &MjValue, b: &MjValue) -> Result<MjValue, Error> {
    let other = list_data(b, "intersect")?;
    let list = list_data(a, "intersect")?
        .into_iter()
        .filter(|x| other.contains(x))
        .collect();
    Ok(to_list(dedup(list, true)))
}

fn symmetric_difference(a: &MjValue, b: &MjValue) -> Result<MjValue, Error> {
    let left = list_data(a, "symmetric_difference")?;
    let right = list_data(b, "symmetric_difference")?;
    let both: Vec<&Value> = left.iter().filter(|x| right.contains(x)).collect();
    let mut all = left.clone();
    all.extend(right.iter().cloned());
    let list = dedup(all, true)
        .into_iter()
        .filter(|x| !both.contains(&x))
        .collect();
    Ok(to_list(list))
}

fn flatten_into(out: &mut Vec<Value>, items: Vec<Value>, levels: Option<usize>, skip_nulls: bool) {
    for item in items {
        match item {
            Value::Array(inner) if levels != Some(0) => {
                flatten_into(out, inner, levels.map(|l| l - 1), skip_nulls)
            }
            Value::Null if skip_nulls => {}
            Value::String(s) if skip_nulls && s == "None" => {}
            other => out.push(other),
        }
    }
}

fn flatten(v: &MjValue, levels: Option<usize>, kwargs: Kwargs) -> Result<MjValue, Error> {
    let levels = kwargs.get::<Option<usize>>("levels")?.or(levels);
    let skip_nulls = kwargs.get::<Option<bool>>("skip_nulls")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    let mut out = Vec::new();
    flatten_into(&mut out, list_data(v, "flatten")?, levels, skip_nulls);
    Ok(to_list(out))
}

fn zip(first: &MjValue, others: Rest<MjValue>) -> Result<MjValue, Error> {
    let mut lists = vec![list_data(first, "zip")?];
    for o in others.iter() {
        lists.push(list_data(o, "zip")?);
    }
    let len = lists.iter().map(Vec::len).min().unwrap_or(0);
    Ok(to_list(
        (0..len)
            .map(|i| Value::Array(lists.iter().map(|l| l[i].clone()).collect()))
            .collect(),
    ))
}

fn zip_longest(first: &MjValue, others: Rest<MjValue>, kwargs: Kwargs) -> Result<MjValue, Error> {
    let fill = kwargs
        .get::<Option<MjValue>>("fillvalue")?
        .map(|v| data(&v))
        .transpose()?
        .unwrap_or(Value::Null);
    kwargs.assert_all_used()?;
    let mut lists = vec![list_data(first, "zip_longest")?];
    for o in others.iter() {
        lists.push(list_data(o, "zip_longest")?);
    }
    let len = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok(to_list(
        (0..len)
            .map(|i| {
                Value::Array(
                    lists
                        .iter()
                        .map(|l| l.get(i).cloned().unwrap_or_else(|| fill.clone()))
                        .collect(),
                )
            })
            .collect(),
    ))
}

/// Caps combinatorial filters so a template cannot exhaust memory: `product`
/// counts tuples, `permutations` and `combinations` count the values in them.
const MAX_COMBINATIONS: usize = 1_000_000;

fn too_many() -> Error {
    plugin_error("too many combinations")
}

fn product(first: &MjValue, others: Rest<MjValue>, kwargs: Kwargs) -> Result<MjValue, Error> {
    let repeat = kwargs.get::<Option<usize>>("repeat")?.unwrap_or(1);
    kwargs.assert_all_used()?;
    let mut pools = vec![list_data(first, "product")?];
    for o in others.iter() {
        pools.push(list_data(o, "product")?);
    }
    let pools: Vec<Vec<Value>> = (0..repeat).flat_map(|_| pools.clone()).collect();
    let mut result: Vec<Vec<Value>> = vec![vec![]];
    for pool in &pools {
        if result.len().saturating_mul(pool.len()) > MAX_COMBINATIONS {
            return Err(too_many());
        }
        result = result
            .iter()
            .flat_map(|prefix| {
                pool.iter().map(move |item| {
                    let mut next = prefix.clone();
                    next.push(item.clone());
                    next
                })
            })
            .collect();
    }
    Ok(to_list(result.into_iter().map(Value::Array).collect()))
}

fn permutations(v: &MjValue, r: Option<usize>) -> Result<MjValue, Error> {
    let pool = list_data(v, "permutations")?;
    let r = r.unwrap_or(pool.len());
    let mut out = Vec::new();
    fn rec(
        pool: &[Value],
        r: usize,
        used: &mut Vec<usize>,
        out: &mut Vec<Value>,
    ) -> Result<(), Error> {
        if used.len() == r {
            if (out.len() + 1).saturating_mul(r.max(1)) > MAX_COMBINATIONS {
                return Err(too_many());
            }
            out.push(Value::Array(
                used.iter().map(|&i| pool[i].clone()).collect(),
            ));
            return Ok(());
        }
        for i in 0..pool.len() {
            if !used.contains(&i) {
                used.push(i);
                rec(pool, r, used, out)?;
                used.pop();
            }
        }
        Ok(())
    }
    if r <= pool.len() {
        rec(&pool, r, &mut Vec::new(), &mut out)?;
    }
    Ok(to_list(out))
}

fn combinations(v: &MjValue, r: usize) -> Result<MjValue, Error> {
    let pool = list_data(v, "combinations")?;
    let mut out = Vec::new();
    fn rec(
        pool: &[Value],
        r: usize,
        start: usize,
        cur: &mut Vec<Value>,
        out: &mut Vec<Value>,
    ) -> Result<(), Error> {
        if cur.len() == r {
            if (out.len() + 1).saturating_mul(r.max(1)) > MAX_COMBINATIONS {
                return Err(too_many());
            }
            out.push(Value::Array(cur.clone()));
            return Ok(());
        }
        for i in start..pool.len() {
            cur.push(pool[i].clone());
            rec(pool, r, i + 1, cur, out)?;
            cur.pop();
        }
        Ok(())
    }
    if r <= pool.len() {
        rec(&pool, r, 0, &mut Vec::new(), &mut out)?;
    }
    Ok(to_list(out))
}

fn dict2items(v: &MjValue, kwargs: Kwargs) -> Result<MjValue, Error> {
    let key_name = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or("key".into());
    let value_name = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or("value".into());
    kwargs.assert_all_used()?;
    let Value::Object(map) = data(v)? else {
        return Err(plugin_error(format!(
            "dict2items requires a dictionary, got {} instead.",
            python_type_name(v)
        )));
    };
    Ok(to_list(
        map.into_iter()
            .map(|(k, v)| {
                let mut item = Map::new();
                item.insert(key_name.clone(), Value::String(k));
                item.insert(value_name.clone(), v);
                Value::Object(item)
            })
            .collect(),
    ))
}

/// `items2dict(key_name='key', value_name='value')`; the names may be indexes
/// when the items are pairs (`key_name=0, value_name=1`).
fn items2dict(v: &MjValue, kwargs: Kwargs) -> Result<MjValue, Error> {
    let key_name = kwargs
        .get::<Option<MjValue>>("key_name")?
        .unwrap_or(MjValue::from("key"));
    let value_name = kwargs
        .get::<Option<MjValue>>("value_name")?
        .unwrap_or(MjValue::from("value"));
    kwargs.assert_all_used()?;
    let mut out = Map::new();
    for item in items(v, "items2dict")? {
        let k = item.get_item(&key_name)?;
        let val = item.get_item(&value_name)?;
        if k.is_undefined() || val.is_undefined() {
            return Err(plugin_error(format!(
                "items2dict requires each item to have '{}' and '{}' keys",
                super::py_str(&key_name)?,
                super::py_str(&value_name)?
            )));
        }
        out.insert(super::py_str(&k)?, data(&val)?);
    }
    Ok(value(&Value::Object(out)))
}

#[derive(Clone, Copy, PartialEq)]
enum ListMerge {
    Replace,
    Keep,
    Append,
    Prepend,
    AppendRp,
    PrependRp,
}

fn merge(a: &mut Map, b: Map, recursive: bool, lists: ListMerge) {
    for (k, bv) in b {
        let merged = match (a.get_mut(&k), bv) {
            (Some(Value::Object(am)), Value::Object(bm)) if recursive => {
                merge(am, bm, recursive, lists);
                continue;
            }
            (Some(Value::Array(al)), Value::Array(bl)) => match lists {
                ListMerge::Replace => Value::Array(bl),
                ListMerge::Keep => continue,
                ListMerge::Append => Value::Array(al.iter().cloned().chain(bl).collect()),
                ListMerge::Prepend => {
                    Value::Array(bl.into_iter().chain(al.iter().cloned()).collect())
                }
                ListMerge::AppendRp => {
                    let kept: Vec<Value> = al.iter().filter(|x| !bl.contains(x)).cloned().collect();
                    Value::Array(kept.into_iter().chain(bl).collect())
                }
                ListMerge::PrependRp => {
                    let kept: Vec<Value> = al.iter().filter(|x| !bl.contains(x)).cloned().collect();
                    Value::Array(bl.into_iter().chain(kept).collect())
                }
            },
            (_, bv) => bv,
        };
        a.insert(k, merged);
    }
}

fn combine(first: &MjValue, others: Rest<MjValue>, kwargs: Kwargs) -> Result<MjValue, Error> {
    let recursive = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    let lists = match kwargs.get::<Option<String>>("list_merge")?.as_deref() {
        None | Some("replace") => ListMerge::Replace,
        Some("keep") => ListMerge::Keep,
        Some("append") => ListMerge::Append,
        Some("prepend") => ListMerge::Prepend,
        Some("append_rp") => ListMerge::AppendRp,
        Some("prepend_rp") => ListMerge::PrependRp,
        Some(other) => {
            return Err(plugin_error(format!(
                "'{other}' is not a valid list_merge value"
            )));
        }
    };
    kwargs.assert_all_used()?;
    let mut dicts = Vec::new();
    for v in std::iter::once(first).chain(others.iter()) {
        match data(v)? {
            Value::Object(m) => dicts.push(m),
            Value::Array(list) => {
                for item in list {
                    match item {
                        Value::Object(m) => dicts.push(m),
                        other => {
                            return Err(plugin_error(format!(
                                "failed to combine variables, expected dicts but got a '{}'",
                                json_type(&other)
                            )));
                        }
                    }
                }
            }
            other => {
                return Err(plugin_error(format!(
                    "failed to combine variables, expected dicts but got a '{}'",
                    json_type(&other)
                )));
            }
        }
    }
    let mut out = Map::new();
    for d in dicts {
        merge(&mut out, d, recursive, lists);
    }
    Ok(value(&Value::Object(out)))
}

pub(crate) fn json_type(v: &Value) -> &'static str {
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

fn subelements(
    v: &MjValue,
    path: String,
    skip_missing: Option<MjValue>,
    kwargs: Kwargs,
) -> Result<MjValue, Error> {
    let skip_missing = kwargs
        .get::<Option<bool>>("skip_missing")?
        .or_else(|| skip_missing.map(|v| v.is_true()))
        .unwrap_or(false);
    kwargs.assert_all_used()?;
    let list = match data(v)? {
        Value::Array(l) => l,
        Value::Object(m) => m.into_iter().map(|(_, v)| v).collect(),
        other => {
            return Err(plugin_error(format!(
                "subelements lookup expects a list or dict, got '{}'",
                json_type(&other)
            )));
        }
    };
    let mut out = Vec::new();
    for element in list {
        let mut cur = Some(&element);
        for part in path.split('.') {
            cur = cur.and_then(|c| c.get(part));
        }
        match cur {
            Some(Value::Array(subs)) => {
                for s in subs {
                    out.push(Value::Array(vec![element.clone(), s.clone()]));
                }
            }
            Some(_) => {
                return Err(plugin_error(format!(
                    "the key {path} should point to a list"
                )));
            }
            None if skip_missing => {}
            None => {
                return Err(plugin_error(format!(
                    "could not find '{path}' key in iterated item '{}'",
                    crate::value::python_repr(&element)
                )));
            }
        }
    }
    Ok(to_list(out))
}

/// `extract(item, container, morekeys)`: `container[item]`, then each of `morekeys`.
fn extract(
    item: &MjValue,
    container: &MjValue,
    morekeys: Option<MjValue>,
) -> Result<MjValue, Error> {
    let mut v = container.get_item(item)?;
    if v.is_undefined() {
        return Err(plugin_error(format!(
            "object of type '{}' has no attribute '{}'",
            python_type_name(container),
            super::py_str(item)?
        )));
    }
    if let Some(keys) = morekeys {
        let keys = if keys.kind() == ValueKind::Seq {
            keys.try_iter()?.collect()
        } else {
            vec![keys]
        };
        for k in keys {
            v = v.get_item(&k)?;
        }
    }
    Ok(v)
}
