//! Builds a minijinja [`Environment`] configured as Ansible's Jinja2: strict
//! undefined, Python-style display of values, Python string methods, and every
//! filter, test and lookup function srplay implements.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Value as MjValue, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Output, State, UndefinedBehavior};

use super::convert::to_json;
use super::engine::{EXPR, FILE, NATIVE, TEXT};

/// The value emitted by a native template, captured by the formatter.
#[derive(Default)]
pub(crate) struct NativeCapture(pub Option<MjValue>);

thread_local! {
    /// Directories `{% include %}`/`{% import %}` search while a file renders.
    static INCLUDE_DIRS: RefCell<Vec<PathBuf>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with `dirs` as the include search path of this thread.
pub(crate) fn with_include_dirs<T>(dirs: Vec<PathBuf>, f: impl FnOnce() -> T) -> T {
    let previous = INCLUDE_DIRS.with(|d| std::mem::replace(&mut *d.borrow_mut(), dirs));
    let result = f();
    INCLUDE_DIRS.with(|d| *d.borrow_mut() = previous);
    result
}

/// An environment with `syntax`; `lenient` makes undefined values chainable
/// (`foo.bar` of an undefined `foo` is undefined rather than an error) while
/// printing one still fails.
pub(crate) fn build(syntax: SyntaxConfig, lenient: bool) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_syntax(syntax);
    env.set_undefined_behavior(if lenient {
        UndefinedBehavior::Chainable
    } else {
        UndefinedBehavior::Strict
    });
    // Debug mode makes undefined values remember where they came from, which is
    // how errors can name the undefined variable.
    env.set_debug(true);
    env.set_recursion_limit(200);
    env.set_formatter(format_value);
    env.set_loader(load_template);
    env.set_path_join_callback(join_include_path);
    super::methods::register(&mut env);
    env.add_global("omit", super::OMIT_PLACEHOLDER);
    super::filters::register(&mut env);
    super::test_plugins::register(&mut env);
    super::lookups::register(&mut env);
    env.add_function(crate::vault::TEMPLATE_FUNCTION, vault_value);
    env
}

/// A `!vault` value, decrypted when a template reads it (`vault::inline_template`).
fn vault_value(lines: Vec<String>, origin: String) -> Result<MjValue, Error> {
    crate::vault::decrypt_inline(&lines, &origin)
        .map(MjValue::from)
        .map_err(|msg| Error::new(ErrorKind::InvalidOperation, msg))
}

/// Writes a value as Ansible shows it inside text: `True`, lists and dicts as Python
/// `repr`, `None` as nothing. In native templates the value is captured instead.
fn format_value(out: &mut Output, state: &mut State, value: &MjValue) -> Result<(), Error> {
    if value.is_undefined() && state.undefined_behavior() != UndefinedBehavior::Strict {
        // The strict environment only lets the silent undefined of `x if false`
        // through; the lenient one lets every undefined value get here.
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "undefined value printed",
        ));
    }
    if state.name().starts_with(NATIVE) {
        state.get_or_insert_extension(NativeCapture::default()).0 = Some(value.clone());
        return Ok(());
    }
    out.write_str(&display(value)?)
        .map_err(|_| Error::new(ErrorKind::WriteFailure, "cannot write output"))
}

/// Python's `str()` of a template value, as Ansible renders it into text.
pub(crate) fn display(value: &MjValue) -> Result<String, Error> {
    Ok(match value.kind() {
        ValueKind::Undefined | ValueKind::None => String::new(),
        ValueKind::Bool => if value.is_true() { "True" } else { "False" }.to_string(),
        ValueKind::String => value.as_str().unwrap_or_default().to_string(),
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable => crate::value::python_repr(
            &to_json(value).map_err(|e| Error::new(ErrorKind::BadSerialization, e.message))?,
        ),
        _ => value.to_string(),
    })
}

/// Backslashes in string literals inside `{{ }}` of a templated string are literal,
/// as Ansible's `_escape_backslashes` makes them: in YAML `"{{ x | regex_replace('(\\d)', 'n\\1') }}"`
/// the `\1` reaches the filter as a backreference instead of becoming `\x01`. Template
/// files keep Jinja2's own escapes. (An escaped quote keeps its backslash single.)
pub(crate) fn escape_backslashes(source: &str) -> String {
    if !source.contains('\\') {
        return source.to_string();
    }
    let mut out = String::with_capacity(source.len() + 8);
    let mut chars = source.chars().peekable();
    let mut in_var = false;
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (in_var, quote, c) {
            (false, _, '{') if chars.peek() == Some(&'{') => {
                in_var = true;
                out.push(c);
                out.push(chars.next().unwrap_or('{'));
            }
            (true, None, '}') if chars.peek() == Some(&'}') => {
                in_var = false;
                out.push(c);
                out.push(chars.next().unwrap_or('}'));
            }
            (true, None, '\'' | '"') => {
                quote = Some(c);
                out.push(c);
            }
            (true, Some(q), '\\') => {
                if chars.peek() == Some(&q) {
                    out.push(c);
                    out.push(chars.next().unwrap_or(q));
                } else {
                    out.push_str("\\\\");
                }
            }
            (true, Some(q), c) if c == q => {
                quote = None;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Hands back the source of synthetic template names; reads include files.
fn load_template(name: &str) -> Result<Option<String>, Error> {
    if let Some(source) = name.strip_prefix(EXPR) {
        return Ok(Some(source.to_string()));
    }
    for prefix in [NATIVE, TEXT] {
        if let Some(source) = name.strip_prefix(prefix) {
            return Ok(Some(escape_backslashes(source)));
        }
    }
    if let Some(rest) = name.strip_prefix(FILE) {
        return Ok(rest
            .split_once('\u{1}')
            .map(|(_, source)| source.to_string()));
    }
    let path = Path::new(name);
    if path.is_absolute() && path.is_file() {
        return std::fs::read_to_string(path).map(Some).map_err(|e| {
            Error::new(
                ErrorKind::TemplateNotFound,
                format!("could not read {name}: {e}"),
            )
        });
    }
    Ok(None)
}

/// Resolves an include name against the including file's directory, then the
/// thread's include search path.
fn join_include_path<'s>(name: &'s str, parent: &'s str) -> std::borrow::Cow<'s, str> {
    let mut dirs = Vec::new();
    let parent_path = parent
        .strip_prefix(FILE)
        .and_then(|rest| rest.split_once('\u{1}'))
        .map(|(path, _)| PathBuf::from(path))
        .unwrap_or_else(|| PathBuf::from(parent));
    if let Some(dir) = parent_path.parent() {
        dirs.push(dir.to_path_buf());
    }
    INCLUDE_DIRS.with(|d| dirs.extend(d.borrow().iter().cloned()));
    for dir in dirs {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate.to_string_lossy().into_owned().into();
        }
    }
    name.into()
}

#[cfg(test)]
mod escape_tests {
    use super::escape_backslashes;

    #[test]
    fn backslashes_in_expression_strings_are_literal() {
        assert_eq!(
            escape_backslashes(r"{{ x | regex_replace('(\d)', 'n\1') }}"),
            r"{{ x | regex_replace('(\\d)', 'n\\1') }}"
        );
        assert_eq!(
            escape_backslashes(r"a\b {{ 'it\'s' }}"),
            r"a\b {{ 'it\'s' }}"
        );
        assert_eq!(escape_backslashes("{% if '\\n' %}"), "{% if '\\n' %}");
    }
}
