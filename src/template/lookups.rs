//! `lookup()`, `query()`/`q()`: Ansible's lookup plugins that run on the controller
//! (`file`, `env`, `pipe`, `lines`, `template`, `fileglob`, `first_found`, `vars`,
//! `items`, `indexed_items`, `dict`, `sequence`, `nested`, `together`).
//!
//! Every lookup yields a list; `lookup()` then gives the single item of a one-item
//! list, joins a list of strings with `,`, and passes other lists through, as
//! Ansible does; `query()` always gives the list.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::value::{Kwargs, Rest, Value as MjValue};
use minijinja::{Environment, Error, State};

use super::context::{CTX_VAR, CtxHandle, RenderCtx};
use super::convert::{to_jinja, to_json};
use super::engine::FileSyntax;
use super::errors::plugin_error;
use super::filters::py_str;
use crate::value::{Map, Value};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_function(
        "lookup",
        |s: &State, name: String, terms: Rest<MjValue>, kw: Kwargs| run(s, &name, terms, kw, false),
    );
    env.add_function(
        "query",
        |s: &State, name: String, terms: Rest<MjValue>, kw: Kwargs| run(s, &name, terms, kw, true),
    );
    env.add_function(
        "q",
        |s: &State, name: String, terms: Rest<MjValue>, kw: Kwargs| run(s, &name, terms, kw, true),
    );
}

/// Marks the error of an unknown lookup name.
const NOT_FOUND: &str = "\u{1}lookup not found";

fn ctx(state: &State) -> Result<Arc<RenderCtx>, Error> {
    state
        .lookup(CTX_VAR)
        .and_then(|v| v.downcast_object::<CtxHandle>())
        .map(|h| h.0.clone())
        .ok_or_else(|| plugin_error("lookups are not available here"))
}

fn run(
    state: &State,
    name: &str,
    terms: Rest<MjValue>,
    kwargs: Kwargs,
    query: bool,
) -> Result<MjValue, Error> {
    let wantlist = query || kwargs.get::<Option<bool>>("wantlist")?.unwrap_or(false);
    let errors = kwargs
        .get::<Option<String>>("errors")?
        .unwrap_or("strict".into());
    let mut options = HashMap::new();
    for key in kwargs.args().map(str::to_string).collect::<Vec<_>>() {
        if key != "wantlist" && key != "errors" {
            options.insert(
                key.clone(),
                super::filters::data(&kwargs.get::<MjValue>(&key)?)?,
            );
        }
    }
    let terms: Vec<Value> = terms
        .iter()
        .map(super::filters::data)
        .collect::<Result<_, _>>()?;
    let ctx = ctx(state)?;
    let result = match dispatch(&ctx, name, &terms, &options) {
        Ok(r) => r,
        Err(e) if errors == "ignore" => {
            let _ = e;
            Vec::new()
        }
        Err(e) if errors == "warn" => {
            eprintln!(
                "[WARNING]: An unhandled exception occurred while running the lookup plugin '{name}': {e}"
            );
            Vec::new()
        }
        Err(e) if e.detail().is_some_and(|d| d.starts_with(NOT_FOUND)) => {
            return Err(plugin_error(format!(
                "The lookup plugin '{name}' was not found."
            )));
        }
        Err(e) => {
            return Err(plugin_error(format!(
                "The lookup plugin '{name}' failed: {}",
                e.detail().unwrap_or_default()
            )));
        }
    };
    if wantlist {
        return Ok(to_jinja(&Value::Array(result)));
    }
    Ok(match result.len() {
        0 => MjValue::from(()),
        1 => to_jinja(&result[0]),
        _ if result.iter().all(Value::is_string) => MjValue::from(
            result
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => to_jinja(&Value::Array(result)),
    })
}

fn strings(terms: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for t in terms {
        match t {
            Value::Array(items) => out.extend(items.iter().map(crate::value::to_display_string)),
            other => out.push(crate::value::to_display_string(other)),
        }
    }
    out
}

fn dispatch(
    ctx: &Arc<RenderCtx>,
    name: &str,
    terms: &[Value],
    opts: &HashMap<String, Value>,
) -> Result<Vec<Value>, Error> {
    let name = name.strip_prefix("ansible.builtin.").unwrap_or(name);
    match name {
        "file" => file(ctx, terms, opts),
        "env" => Ok(strings(terms)
            .iter()
            .map(|t| {
                Value::String(std::env::var(t).unwrap_or_else(|_| {
                    opts.get("default")
                        .map(crate::value::to_display_string)
                        .unwrap_or_default()
                }))
            })
            .collect()),
        "pipe" => strings(terms)
            .iter()
            .map(|cmd| run_command(cmd).map(|o| Value::String(o.trim_end().to_string())))
            .collect(),
        "lines" => {
            let mut out = Vec::new();
            for cmd in strings(terms) {
                out.extend(
                    run_command(&cmd)?
                        .lines()
                        .map(|l| Value::String(l.to_string())),
                );
            }
            Ok(out)
        }
        "template" => template(ctx, terms, opts),
        "fileglob" => fileglob(ctx, terms),
        "first_found" => first_found(ctx, terms, opts),
        "vars" => vars(ctx, terms, opts),
        "items" | "flattened" => Ok(terms
            .iter()
            .flat_map(|t| match t {
                Value::Array(items) => items.clone(),
                other => vec![other.clone()],
            })
            .collect()),
        "list" => Ok(terms
            .iter()
            .flat_map(|t| match t {
                Value::Array(items) => items.clone(),
                other => vec![other.clone()],
            })
            .collect()),
        "indexed_items" => Ok(one_list(terms)
            .into_iter()
            .enumerate()
            .map(|(i, v)| Value::Array(vec![Value::from(i), v]))
            .collect()),
        "dict" => {
            let mut out = Vec::new();
            for t in terms {
                let Value::Object(m) = t else {
                    return Err(plugin_error("with_dict expects a dict"));
                };
                for (k, v) in m {
                    let mut item = Map::new();
                    item.insert("key".into(), Value::String(k.clone()));
                    item.insert("value".into(), v.clone());
                    out.push(Value::Object(item));
                }
            }
            Ok(out)
        }
        "sequence" => sequence(terms, opts),
        "password" => strings(terms).iter().map(|t| password(t, opts)).collect(),
        "nested" | "cartesian" => {
            let lists: Vec<Vec<Value>> = terms
                .iter()
                .map(|t| one_list(std::slice::from_ref(t)))
                .collect();
            let mut result: Vec<Vec<Value>> = vec![vec![]];
            for l in lists {
                result = result
                    .iter()
                    .flat_map(|p| {
                        l.iter().map(move |i| {
                            let mut n = p.clone();
                            n.push(i.clone());
                            n
                        })
                    })
                    .collect();
                if result.len() > 1_000_000 {
                    return Err(plugin_error("too many combinations"));
                }
            }
            Ok(result.into_iter().map(Value::Array).collect())
        }
        "together" => {
            let lists: Vec<Vec<Value>> = terms
                .iter()
                .map(|t| one_list(std::slice::from_ref(t)))
                .collect();
            let len = lists.iter().map(Vec::len).max().unwrap_or(0);
            Ok((0..len)
                .map(|i| {
                    Value::Array(
                        lists
                            .iter()
                            .map(|l| l.get(i).cloned().unwrap_or(Value::Null))
                            .collect(),
                    )
                })
                .collect())
        }
        "subelements" => subelements(terms).map_err(plugin_error),
        _ => Err(plugin_error(NOT_FOUND)),
    }
}

/// A lookup's results, for `with_<name>:` loops, with the message Ansible gives when
/// it fails.
pub(crate) fn query(
    ctx: &Arc<RenderCtx>,
    name: &str,
    terms: &[Value],
) -> Result<Vec<Value>, String> {
    dispatch(ctx, name, terms, &HashMap::new()).map_err(|e| match e.detail() {
        Some(d) if d.starts_with(NOT_FOUND) => format!("lookup plugin '{name}' not found"),
        Some(d) => format!("The lookup plugin '{name}' failed: {d}"),
        None => format!("The lookup plugin '{name}' failed: {e}"),
    })
}

/// `subelements`: `[list_of_dicts, 'key', {skip_missing: true}]` → `[parent, sub]` pairs;
/// as Ansible, the key is popped from the parent handed out.
fn subelements(terms: &[Value]) -> Result<Vec<Value>, String> {
    let (Some(list), Some(key)) = (terms.first(), terms.get(1).and_then(Value::as_str)) else {
        return Err("subelements lookup expects a list of two or three items: a list, a key name and optionally flags".into());
    };
    let skip_missing = terms
        .get(2)
        .and_then(|f| f.get("skip_missing"))
        .and_then(crate::value::to_bool)
        .unwrap_or(false);
    let path: Vec<&str> = key.split('.').collect();
    let parents = match list {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let mut out = Vec::new();
    for parent in parents {
        let mut node = Some(&parent);
        for part in &path {
            node = node.and_then(|n| n.get(*part));
        }
        match node {
            Some(Value::Array(subs)) => {
                let mut stripped = parent.clone();
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
                    crate::value::python_repr(&parent)
                ));
            }
            Some(other) => {
                return Err(format!(
                    "the key {key} should point to a list, got '{}'",
                    crate::value::python_repr(other)
                ));
            }
        }
    }
    Ok(out)
}

fn one_list(terms: &[Value]) -> Vec<Value> {
    match terms {
        [Value::Array(items)] => items.clone(),
        other => other.to_vec(),
    }
}

fn run_command(cmd: &str) -> Result<String, Error> {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .map_err(|e| plugin_error(format!("lookup_plugin.pipe({cmd}) could not run: {e}")))?;
    if !out.status.success() {
        return Err(plugin_error(format!(
            "lookup_plugin.pipe({cmd}) returned {}",
            out.status.code().unwrap_or(-1)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Finds a controller file: absolute as is, else under each search path's `subdir`
/// and then the search path itself.
fn find(ctx: &RenderCtx, name: &str, subdir: &str) -> Option<PathBuf> {
    let p = Path::new(name);
    if p.is_absolute() {
        return p.exists().then(|| p.to_path_buf());
    }
    for dir in &ctx.search_paths() {
        for candidate in [dir.join(subdir).join(name), dir.join(name)] {
            if candidate.exists() {
                return Some(candidate);
            }
        }
    }
    None
}

fn file(
    ctx: &RenderCtx,
    terms: &[Value],
    opts: &HashMap<String, Value>,
) -> Result<Vec<Value>, Error> {
    let rstrip = opts.get("rstrip").is_none_or(crate::value::is_truthy);
    let lstrip = opts.get("lstrip").is_some_and(crate::value::is_truthy);
    strings(terms)
        .iter()
        .map(|t| {
            let path = find(ctx, t, "files")
                .ok_or_else(|| plugin_error(format!("could not locate file in lookup: {t}")))?;
            // A vaulted file is decrypted, as Ansible's loader reads it.
            let data = crate::vault::read_controller_file(&path, true)
                .map_err(|e| plugin_error(format!("could not read file in lookup: {t}: {e}")))?;
            let mut text = String::from_utf8_lossy(&data).into_owned();
            if rstrip {
                text.truncate(text.trim_end().len());
            }
            if lstrip {
                text = text.trim_start().to_string();
            }
            Ok(Value::String(text))
        })
        .collect()
}

fn template(
    ctx: &Arc<RenderCtx>,
    terms: &[Value],
    opts: &HashMap<String, Value>,
) -> Result<Vec<Value>, Error> {
    let overlay: HashMap<String, Value> = match opts.get("template_vars") {
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => HashMap::new(),
    };
    let syntax = FileSyntax {
        trim_blocks: true,
        keep_trailing_newline: true,
        ..Default::default()
    };
    let mut out = Vec::new();
    for t in strings(terms) {
        let path = find(ctx, &t, "templates").ok_or_else(|| {
            plugin_error(format!(
                "the template file {t} could not be found for the lookup"
            ))
        })?;
        let source = std::fs::read_to_string(&path)
            .map_err(|e| plugin_error(format!("could not read {t}: {e}")))?;
        let child = ctx
            .child(overlay.clone())
            .ok_or_else(|| plugin_error("lookups are not available here"))?;
        let dirs = path
            .parent()
            .map(|p| vec![p.to_path_buf()])
            .unwrap_or_default();
        let text = ctx
            .engine
            .render_file(&child.0, &syntax, &path, &source, dirs)
            .map_err(|e| plugin_error(e.message))?;
        out.push(Value::String(text));
    }
    Ok(out)
}

fn fileglob(ctx: &RenderCtx, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for pattern in strings(terms) {
        let bases: Vec<PathBuf> = if Path::new(&pattern).is_absolute() {
            vec![PathBuf::new()]
        } else {
            ctx.search_paths()
                .iter()
                .flat_map(|d| [d.join("files"), d.clone()])
                .collect()
        };
        for base in bases {
            let full = base.join(&pattern);
            let Ok(paths) = glob::glob(&full.to_string_lossy()) else {
                continue;
            };
            let found: Vec<Value> = paths
                .flatten()
                .filter(|p| p.is_file())
                .map(|p| Value::String(p.to_string_lossy().into_owned()))
                .collect();
            if !found.is_empty() {
                out.extend(found);
                break;
            }
        }
    }
    Ok(out)
}

fn first_found(
    ctx: &RenderCtx,
    terms: &[Value],
    opts: &HashMap<String, Value>,
) -> Result<Vec<Value>, Error> {
    let mut files: Vec<String> = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    let mut skip = opts.get("skip").is_some_and(crate::value::is_truthy);
    let split = |v: &Value| -> Vec<String> {
        strings(std::slice::from_ref(v))
            .iter()
            .flat_map(|s| {
                s.split([',', ';'])
                    .map(|p| p.trim().to_string())
                    .collect::<Vec<_>>()
            })
            .filter(|s| !s.is_empty())
            .collect()
    };
    let mut add_opts = |m: &Map, files: &mut Vec<String>, paths: &mut Vec<String>| {
        if let Some(f) = m.get("files") {
            files.extend(split(f));
        }
        if let Some(p) = m.get("paths") {
            paths.extend(split(p));
        }
        if m.get("skip").is_some_and(crate::value::is_truthy) {
            skip = true;
        }
    };
    for t in terms.iter().flat_map(|t| match t {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    }) {
        match &t {
            Value::Object(m) => add_opts(m, &mut files, &mut paths),
            other => files.push(crate::value::to_display_string(other)),
        }
    }
    let extra: Map = opts.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    add_opts(&extra, &mut files, &mut paths);
    for f in &files {
        if paths.is_empty() {
            if let Some(p) = find(ctx, f, "files") {
                return Ok(vec![Value::String(p.to_string_lossy().into_owned())]);
            }
        } else {
            for dir in &paths {
                let joined = Path::new(dir).join(f);
                let candidate = if joined.is_absolute() {
                    Some(joined).filter(|p| p.exists())
                } else {
                    find(ctx, &joined.to_string_lossy(), "files")
                };
                if let Some(p) = candidate {
                    return Ok(vec![Value::String(p.to_string_lossy().into_owned())]);
                }
            }
        }
    }
    if skip {
        return Ok(Vec::new());
    }
    Err(plugin_error("No file was found when using first_found."))
}

fn vars(
    ctx: &Arc<RenderCtx>,
    terms: &[Value],
    opts: &HashMap<String, Value>,
) -> Result<Vec<Value>, Error> {
    strings(terms)
        .iter()
        .map(|name| match ctx.lookup_var(name) {
            Some(v) => to_json(&v).map_err(|e| plugin_error(e.message)),
            None => match (ctx.failure_of(name), opts.get("default")) {
                (Some(e), _) => Err(plugin_error(e.message)),
                (None, Some(d)) => Ok(d.clone()),
                (None, None) => Err(plugin_error(format!(
                    "No variable named '{name}' was found."
                ))),
            },
        })
        .collect()
}

/// `with_sequence`: `start=1 end=5 stride=1 format=%d`, `count=`, or `1-5/2:%02d`.
fn sequence(terms: &[Value], opts: &HashMap<String, Value>) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    let spec_terms = if terms.is_empty() {
        vec![String::new()]
    } else {
        strings(terms)
    };
    for term in spec_terms {
        let mut start: i64 = 1;
        let mut end: Option<i64> = None;
        let mut count: Option<i64> = None;
        let mut stride: i64 = 1;
        let mut format = "%d".to_string();
        let num = |k: &str, v: &str| -> Result<i64, Error> {
            let v = v.trim();
            let parsed = if let Some(h) = v.strip_prefix("0x") {
                i64::from_str_radix(h, 16).ok()
            } else if let Some(o) = v.strip_prefix("0o") {
                i64::from_str_radix(o, 8).ok()
            } else {
                v.parse().ok()
            };
            parsed.ok_or_else(|| plugin_error(format!("can't parse {k}={v} as integer")))
        };
        let mut pairs: Vec<(String, String)> = opts
            .iter()
            .map(|(k, v)| (k.clone(), crate::value::to_display_string(v)))
            .collect();
        let term = term.trim();
        if !term.is_empty() && !term.contains('=') {
            // Shortcut form: [start-]end[/stride][:format]
            let (rest, fmt) = term
                .split_once(':')
                .map_or((term, None), |(a, b)| (a, Some(b)));
            let (rest, st) = rest
                .split_once('/')
                .map_or((rest, None), |(a, b)| (a, Some(b)));
            match rest.split_once('-') {
                Some((a, b)) => {
                    pairs.push(("start".into(), a.into()));
                    pairs.push(("end".into(), b.into()));
                }
                None => pairs.push(("end".into(), rest.into())),
            }
            if let Some(s) = st {
                pairs.push(("stride".into(), s.into()));
            }
            if let Some(f) = fmt {
                pairs.push(("format".into(), f.into()));
            }
        } else {
            for part in term.split_whitespace() {
                let (k, v) = part
                    .split_once('=')
                    .ok_or_else(|| plugin_error(format!("can't parse arg {part} in sequence")))?;
                pairs.push((k.to_string(), v.to_string()));
            }
        }
        for (k, v) in pairs {
            match k.as_str() {
                "start" => start = num(&k, &v)?,
                "end" => end = Some(num(&k, &v)?),
                "count" => count = Some(num(&k, &v)?),
                "stride" => stride = num(&k, &v)?,
                "format" => format = v,
                other => {
                    return Err(plugin_error(format!(
                        "unrecognized arguments to with_sequence: {other}"
                    )));
                }
            }
        }
        let end = match (end, count) {
            (Some(_), Some(_)) => {
                return Err(plugin_error(
                    "can't specify both count and end in with_sequence",
                ));
            }
            (Some(e), None) => e,
            (None, Some(c)) => {
                if c == 0 {
                    continue;
                }
                start + (c - 1) * stride
            }
            (None, None) => return Err(plugin_error("must specify count or end in with_sequence")),
        };
        if stride == 0 {
            continue;
        }
        if (stride > 0 && end < start) || (stride < 0 && end > start) {
            return Err(plugin_error("to count backwards make stride negative"));
        }
        let mut i = start;
        while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
            if out.len() > 1_000_000 {
                return Err(plugin_error("sequence too long"));
            }
            let rendered = minijinja::value::Value::from(i);
            let text = printf(&format, &rendered)?;
            out.push(Value::String(text));
            i += stride;
        }
    }
    Ok(out)
}

fn printf(format: &str, v: &MjValue) -> Result<String, Error> {
    minijinja::formatting::format(
        minijinja::formatting::FormatStyle::Printf,
        format,
        std::slice::from_ref(v),
    )
    .or_else(|_| Ok(format.replace("%d", &py_str(v)?)))
}

/// `password`: the first word of the file's first line if it exists; otherwise a
/// new random password of `length` (20) drawn from `chars` (letters, digits and
/// `.,:-_`), saved to the file unless it is `/dev/null`.
fn password(term: &str, opts: &HashMap<String, Value>) -> Result<Value, Error> {
    let mut words = term.split_whitespace();
    let path = words.next().unwrap_or("/dev/null").to_string();
    let mut params: HashMap<String, String> = opts
        .iter()
        .map(|(k, v)| (k.clone(), crate::value::to_display_string(v)))
        .collect();
    for w in words {
        if let Some((k, v)) = w.split_once('=') {
            params.insert(k.to_string(), v.to_string());
        }
    }
    let length: usize = params
        .get("length")
        .map(|l| {
            l.parse()
                .map_err(|_| plugin_error(format!("invalid length: {l}")))
        })
        .transpose()?
        .unwrap_or(20);
    if path != "/dev/null"
        && let Ok(existing) = std::fs::read_to_string(&path)
    {
        let first = existing.lines().next().unwrap_or("");
        return Ok(Value::String(
            first.split(" salt=").next().unwrap_or("").to_string(),
        ));
    }
    let mut alphabet = String::new();
    let sets = params
        .get("chars")
        .cloned()
        .unwrap_or_else(|| "ascii_letters,digits,.,:-_".to_string());
    for set in sets.split(',') {
        match set {
            "ascii_letters" => {
                alphabet.push_str("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
            }
            "ascii_lowercase" => alphabet.push_str("abcdefghijklmnopqrstuvwxyz"),
            "ascii_uppercase" => alphabet.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
            "digits" => alphabet.push_str("0123456789"),
            "hexdigits" => alphabet.push_str("0123456789abcdefABCDEF"),
            "punctuation" => alphabet.push_str("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
            "" => alphabet.push(','),
            other => alphabet.push_str(other),
        }
    }
    let alphabet: Vec<char> = alphabet.chars().collect();
    if alphabet.is_empty() {
        return Err(plugin_error(
            "password lookup: no characters to choose from",
        ));
    }
    let mut rng = fastrand::Rng::new();
    let secret: String = (0..length.min(4096))
        .map(|_| alphabet[rng.usize(0..alphabet.len())])
        .collect();
    if path != "/dev/null" {
        if let Some(dir) = Path::new(&path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| plugin_error(format!("cannot create {}: {e}", dir.display())))?;
        }
        std::fs::write(&path, format!("{secret}\n"))
            .map_err(|e| plugin_error(format!("cannot write {path}: {e}")))?;
    }
    Ok(Value::String(secret))
}
