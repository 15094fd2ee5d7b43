//! Turns minijinja errors into [`TemplateError`]s worded as Ansible words them.

use std::sync::Arc;

use minijinja::ErrorKind;

use super::TemplateError;
use super::context::RenderCtx;
use super::engine::Engine;

impl TemplateError {
    pub(crate) fn msg(message: impl Into<String>) -> TemplateError {
        TemplateError {
            message: message.into(),
            undefined: None,
        }
    }

    pub(crate) fn undefined_var(name: &str) -> TemplateError {
        TemplateError {
            message: format!("'{name}' is undefined"),
            undefined: Some(name.to_string()),
        }
    }
}

/// The message of `mandatory` without `msg`; replaced by one naming the variable.
pub(crate) const MANDATORY: &str = "\u{1}mandatory";

/// An error raised by an srplay filter, test or lookup: its detail is the whole message.
pub(crate) fn plugin_error(message: impl Into<String>) -> minijinja::Error {
    minijinja::Error::new(ErrorKind::InvalidOperation, message.into())
}

pub(crate) fn convert_error(
    err: &minijinja::Error,
    engine: &Engine,
    ctx: &Arc<RenderCtx>,
) -> TemplateError {
    let detail = err.detail().unwrap_or_default();
    let line = err
        .line()
        .map(|l| format!(" (line {l})"))
        .unwrap_or_default();
    match err.kind() {
        ErrorKind::UndefinedError => undefined_error(detail, engine, ctx),
        ErrorKind::SyntaxError | ErrorKind::InvalidDelimiter | ErrorKind::BadEscape => {
            TemplateError::msg(format!("Syntax error in template: {detail}{line}"))
        }
        ErrorKind::UnknownFilter => TemplateError::msg(format!(
            "Syntax error in template: No filter named {}.",
            quoted_name(detail)
        )),
        ErrorKind::UnknownTest => TemplateError::msg(format!(
            "Syntax error in template: No test named {}.",
            quoted_name(detail)
        )),
        ErrorKind::UnknownFunction => {
            TemplateError::msg(format!("{} is undefined", quoted_name(detail)))
        }
        ErrorKind::InvalidOperation if detail == MANDATORY => mandatory_error(err),
        ErrorKind::InvalidOperation if !detail.is_empty() => {
            // A nested variable may have failed first; its error is the real cause.
            ctx.first_failure()
                .filter(|_| detail.contains("undefined"))
                .unwrap_or_else(|| TemplateError::msg(detail.to_string()))
        }
        kind => {
            if let Some(cause) = ctx.first_failure() {
                return cause;
            }
            if detail.is_empty() {
                TemplateError::msg(format!("template error: {kind}{line}"))
            } else {
                TemplateError::msg(format!("template error: {kind}: {detail}{line}"))
            }
        }
    }
}

/// The name in a minijinja "filter foo is unknown" style detail, quoted as Python would.
fn quoted_name(detail: &str) -> String {
    let name = detail
        .split_whitespace()
        .find(|w| !matches!(*w, "filter" | "test" | "function" | "unknown" | "is"))
        .unwrap_or(detail)
        .trim_matches(|c| c == '`' || c == '\'' || c == '"');
    format!("'{name}'")
}

/// Words an undefined error: `'foo' is undefined` for a variable, `object of type
/// 'dict' has no attribute 'bar'` for a missing key, or the failure of a variable's
/// own template when that is why it read as undefined.
fn undefined_error(detail: &str, engine: &Engine, ctx: &Arc<RenderCtx>) -> TemplateError {
    let Some(expr) = described_expr(detail) else {
        return ctx
            .first_failure()
            .unwrap_or_else(|| TemplateError::msg("undefined value"));
    };
    // The variable is what comes before the first access (names may hold any
    // identifier character, combining marks included).
    let root_len = expr.find(['.', '[']).unwrap_or(expr.len());
    let root = &expr[..root_len];
    if let Some(cause) = ctx.failure_of(root) {
        return cause;
    }
    if root_len == expr.len() {
        return TemplateError::undefined_var(root);
    }
    let (parent, key) = split_last_access(expr);
    if parent.is_empty() || parent.len() >= expr.len() {
        // Not an access we can take apart: evaluating the "parent" would fail the
        // same way again, without end.
        return TemplateError::undefined_var(expr);
    }
    let parent_type = engine
        .eval(ctx, parent)
        .map(|v| super::filters::python_type_name(&v))
        .unwrap_or("object");
    // Python shows an index bare and a key quoted.
    let shown = if key.parse::<i64>().is_ok() && !expr.ends_with("\"]") && !expr.ends_with("']") {
        key.to_string()
    } else {
        format!("'{key}'")
    };
    TemplateError {
        message: format!("object of type '{parent_type}' has no attribute {shown}"),
        undefined: Some(key.to_string()),
    }
}

/// The expression minijinja names in "`foo.bar` is undefined".
fn described_expr(detail: &str) -> Option<&str> {
    let end = detail.find("` is undefined")?;
    let start = detail[..end].rfind('`')? + 1;
    Some(&detail[start..end]).filter(|e| !e.is_empty())
}

/// Splits `a.b["c"]` into (`a.b`, `c`).
fn split_last_access(expr: &str) -> (&str, &str) {
    if let Some(stripped) = expr.strip_suffix(']')
        && let Some(open) = stripped.rfind('[')
    {
        let key = stripped[open + 1..].trim_matches(|c| c == '"' || c == '\'');
        return (&expr[..open], key);
    }
    match expr.rsplit_once('.') {
        Some((parent, key)) => (parent, key),
        None => (expr, ""),
    }
}

/// "Mandatory variable 'foo' not defined.", the name read from the template source.
fn mandatory_error(err: &minijinja::Error) -> TemplateError {
    let source = err.template_source().unwrap_or_default();
    let name = regex::Regex::new(r"([A-Za-z_][\w.]*(?:\[[^\]]*\])*)\s*\|\s*mandatory\b")
        .ok()
        .and_then(|re| re.captures(source))
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string());
    match name {
        Some(name) => TemplateError {
            message: format!(
                "The filter plugin 'ansible.builtin.mandatory' failed: Mandatory variable '{name}' not defined."
            ),
            undefined: Some(name),
        },
        None => TemplateError::msg("Mandatory variable not defined."),
    }
}
