//! Python-`re`-style regular expression filters: `regex_replace`, `regex_search`,
//! `regex_findall`, `regex_escape`. Patterns use Rust's `regex` syntax, which
//! shares Python's for everything but look-around and backreferences.

use super::add_filter;
use minijinja::value::{Kwargs, Rest, Value as MjValue};
use minijinja::{Environment, Error};
use regex::{Regex, RegexBuilder};

use super::py_str;
use crate::template::errors::plugin_error;

pub(super) fn register(env: &mut Environment<'static>) {
    add_filter(env, "regex_replace", regex_replace);
    add_filter(env, "regex_search", regex_search);
    add_filter(env, "regex_findall", regex_findall);
    add_filter(env, "regex_escape", regex_escape);
}

/// Compiles a pattern with the `ignorecase`/`multiline` flags.
pub(crate) fn compile(pattern: &str, ignorecase: bool, multiline: bool) -> Result<Regex, Error> {
    RegexBuilder::new(pattern)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| plugin_error(format!("invalid regular expression '{pattern}': {e}")))
}

fn flags(kwargs: &Kwargs) -> Result<(bool, bool), Error> {
    Ok((
        kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false),
        kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false),
    ))
}

/// Translates a Python replacement (`\1`, `\g<1>`, `\g<name>`) to Rust's (`${1}`).
fn replacement(py: &str) -> String {
    let mut out = String::new();
    let mut chars = py.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut num = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        num.push(d);
                        chars.next();
                    }
                    out.push_str(&format!("${{{num}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|&c| c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

fn regex_replace(
    v: &MjValue,
    pattern: Option<String>,
    repl: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let (ic, ml) = flags(&kwargs)?;
    let count = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
    kwargs.assert_all_used()?;
    let text = py_str(v)?;
    let re = compile(&pattern.unwrap_or_default(), ic, ml)?;
    Ok(re
        .replacen(
            &text,
            count,
            replacement(&repl.unwrap_or_default()).as_str(),
        )
        .into_owned())
}

/// The match (or the listed groups `'\\1'`, `'\\g<name>'`), `None` if no match.
fn regex_search(
    v: &MjValue,
    pattern: String,
    groups: Rest<String>,
    kwargs: Kwargs,
) -> Result<MjValue, Error> {
    let (ic, ml) = flags(&kwargs)?;
    kwargs.assert_all_used()?;
    let text = py_str(v)?;
    let re = compile(&pattern, ic, ml)?;
    let Some(caps) = re.captures(&text) else {
        return Ok(MjValue::from(()));
    };
    if groups.is_empty() {
        return Ok(MjValue::from(caps.get(0).map_or("", |m| m.as_str())));
    }
    let mut out = Vec::new();
    for g in groups.iter() {
        let m = if let Some(n) = g.strip_prefix('\\').and_then(|n| n.parse::<usize>().ok()) {
            caps.get(n)
        } else if let Some(name) = g.strip_prefix("\\g<").and_then(|n| n.strip_suffix('>')) {
            caps.name(name)
        } else {
            return Err(plugin_error(format!("Unknown argument {g}")));
        };
        out.push(m.map_or(MjValue::from(()), |m| MjValue::from(m.as_str())));
    }
    Ok(MjValue::from(out))
}

/// All matches; with one group its texts, with several a list per match.
fn regex_findall(v: &MjValue, pattern: String, kwargs: Kwargs) -> Result<MjValue, Error> {
    let (ic, ml) = flags(&kwargs)?;
    kwargs.assert_all_used()?;
    let text = py_str(v)?;
    let re = compile(&pattern, ic, ml)?;
    let groups = re.captures_len() - 1;
    let out: Vec<MjValue> = re
        .captures_iter(&text)
        .map(|c| match groups {
            0 => MjValue::from(c.get(0).map_or("", |m| m.as_str())),
            1 => MjValue::from(c.get(1).map_or("", |m| m.as_str())),
            _ => MjValue::from(
                (1..=groups)
                    .map(|i| MjValue::from(c.get(i).map_or("", |m| m.as_str())))
                    .collect::<Vec<_>>(),
            ),
        })
        .collect();
    Ok(MjValue::from(out))
}

/// Python's `re.escape` (Ansible's default `re_type='python'`).
fn regex_escape(v: &MjValue, re_type: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let re_type = kwargs.get::<Option<String>>("re_type")?.or(re_type);
    kwargs.assert_all_used()?;
    let text = py_str(v)?;
    if re_type.as_deref() == Some("posix_basic") {
        return Ok(text
            .chars()
            .flat_map(|c| {
                let special = ".[]\\*^$".contains(c);
                special
                    .then_some('\\')
                    .into_iter()
                    .chain(std::iter::once(c))
            })
            .collect());
    }
    Ok(text
        .chars()
        .flat_map(|c| {
            let special = "()[]{}?*+-|^$\\.&~# \t\n\r\u{b}\u{c}".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect())
}
