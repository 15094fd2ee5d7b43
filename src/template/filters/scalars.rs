//! Type conversions and string formatting: `int`, `float`, `bool`, `string`,
//! `ternary`, `mandatory`, `type_debug`, `quote`, `comment`, `join`, `center`,
//! `wordcount`, `round`, `human_readable`, `human_to_bytes`, `strftime`, `to_uuid`.

use super::add_filter;
use minijinja::value::{Kwargs, Rest, Value as MjValue, ValueKind};
use minijinja::{Environment, Error};

use super::{defined, items, py_str, python_type_name};
use crate::template::errors::{MANDATORY, plugin_error};

pub(super) fn register(env: &mut Environment<'static>) {
    add_filter(env, "int", int);
    add_filter(env, "float", float);
    add_filter(env, "bool", to_bool);
    add_filter(env, "string", string);
    add_filter(env, "ternary", ternary);
    add_filter(env, "mandatory", mandatory);
    add_filter(env, "type_debug", type_debug);
    add_filter(env, "quote", quote);
    add_filter(env, "comment", comment);
    add_filter(env, "join", join);
    add_filter(env, "center", center);
    add_filter(env, "wordcount", wordcount);
    add_filter(env, "round", round);
    add_filter(env, "human_readable", human_readable);
    add_filter(env, "human_to_bytes", human_to_bytes);
    add_filter(env, "strftime", strftime);
    add_filter(env, "to_uuid", to_uuid);
    add_filter(env, "truncate", truncate);
    add_filter(env, "urlencode", urlencode);
}

/// Jinja's `int`: numbers truncate, strings parse (`base=` honoured, `0x` prefixes
/// with base 16), anything else gives `default` (0).
fn int(value: &MjValue, args: Rest<MjValue>, kwargs: Kwargs) -> Result<MjValue, Error> {
    let default = kwargs
        .get::<Option<MjValue>>("default")?
        .or_else(|| args.first().cloned())
        .unwrap_or(MjValue::from(0));
    let base: u32 = kwargs
        .get::<Option<u32>>("base")?
        .or_else(|| args.get(1).and_then(|b| b.as_i64()).map(|b| b as u32))
        .unwrap_or(10);
    kwargs.assert_all_used()?;
    defined(value)?;
    Ok(match value.kind() {
        ValueKind::Bool => MjValue::from(i64::from(value.is_true())),
        ValueKind::Number => match value.as_i64() {
            Some(i) => MjValue::from(i),
            None => f64::try_from(value.clone())
                .ok()
                .filter(|f| f.is_finite())
                .map_or(default, |f| MjValue::from(f.trunc() as i64)),
        },
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default().trim().replace('_', "");
            parse_int(&s, base)
                .map(MjValue::from)
                .or_else(|| {
                    (base == 10)
                        .then(|| s.parse::<f64>().ok().filter(|f| f.is_finite()))
                        .flatten()
                        .map(|f| MjValue::from(f.trunc() as i64))
                })
                .unwrap_or(default)
        }
        _ => default,
    })
}

fn parse_int(s: &str, base: u32) -> Option<i64> {
    if !(2..=36).contains(&base) {
        return None;
    }
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let lower = digits.to_ascii_lowercase();
    let digits = match base {
        16 => lower.strip_prefix("0x").unwrap_or(&lower),
        8 => lower.strip_prefix("0o").unwrap_or(&lower),
        2 => lower.strip_prefix("0b").unwrap_or(&lower),
        _ => &lower,
    };
    let n = i64::from_str_radix(digits, base).ok()?;
    Some(if neg { -n } else { n })
}

fn float(value: &MjValue, default: Option<MjValue>, kwargs: Kwargs) -> Result<MjValue, Error> {
    let default = kwargs
        .get::<Option<MjValue>>("default")?
        .or(default)
        .unwrap_or(MjValue::from(0.0));
    kwargs.assert_all_used()?;
    defined(value)?;
    Ok(match value.kind() {
        ValueKind::Bool => MjValue::from(if value.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => f64::try_from(value.clone()).map_or(default, MjValue::from),
        ValueKind::String => value
            .as_str()
            .unwrap_or_default()
            .trim()
            .parse::<f64>()
            .map_or(default, MjValue::from),
        _ => default,
    })
}

/// Ansible's `bool` filter: `yes`/`on`/`1`/`true` (any case) are true.
fn to_bool(value: &MjValue) -> Result<bool, Error> {
    defined(value)?;
    Ok(match value.kind() {
        ValueKind::Bool => value.is_true(),
        ValueKind::None | ValueKind::Undefined => false,
        ValueKind::Number => f64::try_from(value.clone()).is_ok_and(|f| f == 1.0),
        ValueKind::String => matches!(
            value
                .as_str()
                .unwrap_or_default()
                .trim()
                .to_lowercase()
                .as_str(),
            "yes" | "on" | "1" | "true" | "y" | "t" | "1.0"
        ),
        _ => false,
    })
}

fn string(value: &MjValue) -> Result<String, Error> {
    py_str(value)
}

fn ternary(
    value: &MjValue,
    yes: MjValue,
    no: MjValue,
    none: Option<MjValue>,
) -> Result<MjValue, Error> {
    defined(value)?;
    Ok(match none {
        Some(none) if value.is_none() => none,
        _ if value.is_true() => yes,
        _ => no,
    })
}

/// Fails on an undefined value. Without `msg`, the error names the variable,
/// which only the template source knows (see `errors::MANDATORY`).
fn mandatory(value: &MjValue, msg: Option<String>, kwargs: Kwargs) -> Result<MjValue, Error> {
    let msg = kwargs.get::<Option<String>>("msg")?.or(msg);
    kwargs.assert_all_used()?;
    if !value.is_undefined() {
        return Ok(value.clone());
    }
    Err(plugin_error(msg.unwrap_or_else(|| MANDATORY.to_string())))
}

/// Jinja's `truncate(length=255, killwords=False, end='...', leeway=5)`.
fn truncate(
    value: &MjValue,
    length: Option<usize>,
    killwords: Option<bool>,
    end: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let length = kwargs
        .get::<Option<usize>>("length")?
        .or(length)
        .unwrap_or(255);
    let killwords = kwargs
        .get::<Option<bool>>("killwords")?
        .or(killwords)
        .unwrap_or(false);
    let end = kwargs
        .get::<Option<String>>("end")?
        .or(end)
        .unwrap_or("...".into());
    let leeway = kwargs.get::<Option<usize>>("leeway")?.unwrap_or(5);
    kwargs.assert_all_used()?;
    let s = py_str(value)?;
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= length + leeway {
        return Ok(s);
    }
    let keep: String = chars[..length.saturating_sub(end.chars().count())]
        .iter()
        .collect();
    if killwords {
        return Ok(keep + &end);
    }
    let cut = keep
        .rsplit_once(' ')
        .map_or(keep.as_str(), |(head, _)| head);
    Ok(format!("{cut}{end}"))
}

fn type_debug(value: &MjValue) -> &'static str {
    python_type_name(value)
}

/// Python's `shlex.quote`, which Ansible's `quote` is: safe words stay bare, the
/// rest is single-quoted with `'"'"'` for embedded quotes. (The shlex crate prefers
/// double quotes, which would change what Ansible users see in commands.)
fn quote(value: &MjValue) -> Result<String, Error> {
    let s = if value.is_none() {
        String::new()
    } else {
        py_str(value)?
    };
    if s.is_empty() {
        return Ok("''".to_string());
    }
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c))
    {
        return Ok(s);
    }
    Ok(format!("'{}'", s.replace('\'', "'\"'\"'")))
}

/// Ansible's `comment` filter, plain style (`#` decoration by default).
fn comment(value: &MjValue, style: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let text = py_str(value)?;
    let (begin, prefix, end): (String, String, String) = match style.as_deref() {
        Some("erlang") => ("%".into(), "% ".into(), "%".into()),
        Some("c") => ("//".into(), "// ".into(), "//".into()),
        Some("cblock") => ("/*".into(), " * ".into(), " */".into()),
        Some("xml") => ("<!--".into(), " - ".into(), "-->".into()),
        _ => ("#".into(), "# ".into(), "#".into()),
    };
    let decoration: String = kwargs
        .get::<Option<String>>("decoration")?
        .unwrap_or(prefix);
    let begin: String = kwargs.get::<Option<String>>("beginning")?.unwrap_or(begin);
    let end: String = kwargs.get::<Option<String>>("end")?.unwrap_or(end);
    let _ = kwargs.get::<Option<MjValue>>("prefix_count");
    let mut out = String::new();
    if !begin.is_empty() {
        out.push_str(&begin);
        out.push('\n');
    }
    for line in text.split('\n') {
        out.push_str(decoration.trim_end_matches(' '));
        if !line.is_empty() {
            out.push(' ');
            out.push_str(line);
        }
        out.push('\n');
    }
    out.push_str(&end);
    Ok(out)
}

fn join(value: &MjValue, sep: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let attribute: Option<String> = kwargs.get("attribute")?;
    kwargs.assert_all_used()?;
    if let Some(s) = value.as_str() {
        return Ok(s
            .chars()
            .map(String::from)
            .collect::<Vec<_>>()
            .join(&sep.unwrap_or_default()));
    }
    let mut parts = Vec::new();
    for item in items(value, "join")? {
        let item = match &attribute {
            Some(a) => item.get_attr(a)?,
            None => item,
        };
        parts.push(py_str(&item)?);
    }
    Ok(parts.join(&sep.unwrap_or_default()))
}

/// Python's `str.center`: extra padding goes to the right when uneven... as CPython.
fn center(value: &MjValue, width: Option<usize>, kwargs: Kwargs) -> Result<String, Error> {
    let width = kwargs.get::<Option<usize>>("width")?.or(width);
    kwargs.assert_all_used()?;
    let s = py_str(value)?;
    let width = width.unwrap_or(80);
    let len = s.chars().count();
    if width <= len {
        return Ok(s);
    }
    let pad = width - len;
    // CPython: left = pad / 2 + (pad & width & 1)
    let left = pad / 2 + (pad & width & 1);
    Ok(format!(
        "{}{}{}",
        " ".repeat(left),
        s,
        " ".repeat(pad - left)
    ))
}

fn wordcount(value: &MjValue) -> Result<usize, Error> {
    Ok(py_str(value)?
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .count())
}

/// Jinja's `round(precision=0, method='common')`; always a float, as Python's.
fn round(
    value: &MjValue,
    precision: Option<i32>,
    method: Option<String>,
    kwargs: Kwargs,
) -> Result<MjValue, Error> {
    let precision = kwargs.get::<Option<i32>>("precision")?.or(precision);
    let method = kwargs.get::<Option<String>>("method")?.or(method);
    kwargs.assert_all_used()?;
    if value.is_integer() && precision.unwrap_or(0) == 0 && method.is_none() {
        // Jinja returns float for ints too, but Ansible's output shows `3` for `3|round`.
        return Ok(value.clone());
    }
    let f = f64::try_from(value.clone()).map_err(|_| {
        plugin_error(format!(
            "round expects a number, got {}",
            python_type_name(value)
        ))
    })?;
    let factor = 10f64.powi(precision.unwrap_or(0).clamp(-300, 300));
    let scaled = f * factor;
    let rounded = match method.as_deref().unwrap_or("common") {
        "ceil" => scaled.ceil(),
        "floor" => scaled.floor(),
        "common" => scaled.round(),
        other => {
            return Err(plugin_error(format!(
                "method must be common, ceil or floor, got {other}"
            )));
        }
    };
    Ok(MjValue::from(rounded / factor))
}

const SIZE_UNITS: [(char, u32); 8] = [
    ('Y', 8),
    ('Z', 7),
    ('E', 6),
    ('P', 5),
    ('T', 4),
    ('G', 3),
    ('M', 2),
    ('K', 1),
];

/// Ansible's `human_readable` (`1.00 MB`, `1.46 Kb` with `isbits`).
fn human_readable(
    value: &MjValue,
    isbits: Option<bool>,
    unit: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let isbits = kwargs.get::<Option<bool>>("isbits")?.or(isbits);
    let unit = kwargs.get::<Option<String>>("unit")?.or(unit);
    kwargs.assert_all_used()?;
    let n = f64::try_from(value.clone()).or_else(|_| {
        py_str(value)?
            .trim()
            .parse::<f64>()
            .map_err(|_| plugin_error("human_readable() can't interpret following string"))
    })?;
    let isbits = isbits.unwrap_or(false);
    let (suffix, base_name) = if isbits {
        ("b", "bits")
    } else {
        ("B", "Bytes")
    };
    for (letter, power) in SIZE_UNITS {
        let limit = 1024f64.powi(power as i32);
        let wanted = unit.as_deref().and_then(|u| u.chars().next()) == Some(letter);
        if wanted || (unit.is_none() && n >= limit) {
            return Ok(format!("{:.2} {letter}{suffix}", n / limit));
        }
    }
    Ok(format!("{n:.2} {base_name}"))
}

/// Ansible's `human_to_bytes`: `1 MB`, `2K`, `10Mb` (bits with `isbits`).
fn human_to_bytes(
    value: &MjValue,
    default_unit: Option<String>,
    isbits: Option<bool>,
    kwargs: Kwargs,
) -> Result<i64, Error> {
    let default_unit = kwargs
        .get::<Option<String>>("default_unit")?
        .or(default_unit);
    let isbits = kwargs.get::<Option<bool>>("isbits")?.or(isbits);
    kwargs.assert_all_used()?;
    let text = py_str(value)?;
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let num: f64 = num.parse().map_err(|_| {
        plugin_error(format!(
            "human_to_bytes() can't interpret following string: {text}"
        ))
    })?;
    let unit = unit.trim();
    let unit = if unit.is_empty() {
        default_unit.unwrap_or_default()
    } else {
        unit.to_string()
    };
    let mut chars = unit.chars();
    let letter = chars.next().map(|c| c.to_ascii_uppercase());
    let power = match letter {
        None | Some('B') => 0,
        Some(l) => SIZE_UNITS
            .iter()
            .find(|(u, _)| *u == l)
            .map(|(_, p)| *p)
            .ok_or_else(|| plugin_error(format!("human_to_bytes() failed to convert {text}. The suffix must be one of Y, Z, E, P, T, G, M, K, B")))?,
    };
    let bits_suffix = unit.ends_with('b') && unit != "B";
    if bits_suffix && !isbits.unwrap_or(false) {
        return Err(plugin_error(format!(
            "human_to_bytes() failed to convert {text}. Value is not a valid string (expected bytes format, got bits)"
        )));
    }
    Ok((num * 1024f64.powi(power as i32)) as i64)
}

/// Ansible's `strftime(format, second=None, utc=False)` on the controller's clock.
fn strftime(
    fmt: &str,
    second: Option<MjValue>,
    utc: Option<bool>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let second = kwargs.get::<Option<MjValue>>("second")?.or(second);
    let utc = kwargs.get::<Option<bool>>("utc")?.or(utc);
    kwargs.assert_all_used()?;
    use chrono::{Local, TimeZone, Utc};
    let secs = match &second {
        Some(s) if !s.is_none() => f64::try_from(s.clone()).or_else(|_| {
            py_str(s)?
                .parse::<f64>()
                .map_err(|_| plugin_error("Invalid value for epoch value"))
        })?,
        _ => Utc::now().timestamp() as f64,
    };
    let whole = secs.trunc() as i64;
    let nanos = ((secs.fract()) * 1e9) as u32;
    let mut out = String::new();
    use std::fmt::Write;
    let written = if utc.unwrap_or(false) {
        let t = Utc
            .timestamp_opt(whole, nanos)
            .single()
            .ok_or_else(|| plugin_error("Invalid value for epoch value"))?;
        write!(out, "{}", t.format(fmt))
    } else {
        let t = Local
            .timestamp_opt(whole, nanos)
            .single()
            .ok_or_else(|| plugin_error("Invalid value for epoch value"))?;
        write!(out, "{}", t.format(fmt))
    };
    written.map_err(|_| plugin_error(format!("invalid strftime format: {fmt}")))?;
    Ok(out)
}

/// Ansible's `to_uuid`: UUID v5 in Ansible's own namespace.
fn to_uuid(value: &MjValue, namespace: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let namespace = kwargs.get::<Option<String>>("namespace")?.or(namespace);
    kwargs.assert_all_used()?;
    let ns = namespace.unwrap_or_else(|| "361E6D51-FAEC-444A-9079-341386DA8E2E".to_string());
    let ns = uuid::Uuid::parse_str(&ns)
        .map_err(|e| plugin_error(format!("invalid namespace UUID: {e}")))?;
    Ok(uuid::Uuid::new_v5(&ns, py_str(value)?.as_bytes()).to_string())
}

/// Jinja's `urlencode`: a string is percent-quoted keeping `/`; a dict (or list of
/// pairs) becomes a query string with `+` for spaces.
fn urlencode(value: &MjValue) -> Result<String, Error> {
    fn quote(s: &str, safe: &str, plus: bool) -> String {
        let mut out = String::new();
        for b in s.bytes() {
            match b {
                b' ' if plus => out.push('+'),
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                    out.push(b as char)
                }
                b if safe.as_bytes().contains(&b) => out.push(b as char),
                b => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }
    let pairs: Vec<(MjValue, MjValue)> = match value.kind() {
        ValueKind::Map => value
            .try_iter()?
            .map(|k| {
                let v = value.get_item(&k).unwrap_or_default();
                (k, v)
            })
            .collect(),
        ValueKind::Seq | ValueKind::Iterable => value
            .try_iter()?
            .map(|p| {
                (
                    p.get_item_by_index(0).unwrap_or_default(),
                    p.get_item_by_index(1).unwrap_or_default(),
                )
            })
            .collect(),
        _ => return Ok(quote(&py_str(value)?, "/", false)),
    };
    let mut parts = Vec::new();
    for (k, v) in pairs {
        parts.push(format!(
            "{}={}",
            quote(&py_str(&k)?, "", true),
            quote(&py_str(&v)?, "", true)
        ));
    }
    Ok(parts.join("&"))
}
