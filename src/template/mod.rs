//! Jinja2 as Ansible configures it, on minijinja: Ansible's filters, tests and
//! lookups, strict undefined handling, lazy templating of variables that reference
//! variables, native types for single-expression templates.
//!
//! API contract used by the engine (implemented in this layer):
//! - [`VarSource`]: where variable names resolve (the engine's per-host view).
//! - [`Templar::render_str`] / [`Templar::render_value`] / [`Templar::eval`] /
//!   [`Templar::condition`] / [`Templar::render_file`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::modules::TemplateOptions;
use crate::value::Value;

mod context;
mod convert;
mod engine;
mod environment;
mod errors;
mod file_header;
mod filters;
mod lookups;
mod methods;
mod test_plugins;
#[cfg(test)]
mod tests;

use context::RenderCtx;
use convert::to_json;
use engine::{Engine, FileSyntax};
/// PyYAML's `yaml.dump` layout (for `ansible-inventory --yaml`).
pub(crate) use filters::yaml_dump::dump as yaml_dump;

/// The value of `omit`: a module argument equal to it is dropped by the engine.
pub const OMIT_PLACEHOLDER: &str = "__omit_place_holder__srplay";

/// A read-only view of the variables visible to one template render.
pub trait VarSource: Send + Sync {
    /// The raw (not yet templated) value of a variable.
    fn get(&self, name: &str) -> Option<Value>;
    /// The same, shared: a source that keeps a big value behind an `Arc` (`hostvars`)
    /// hands it out without copying it.
    fn get_shared(&self, name: &str) -> Option<std::sync::Arc<Value>> {
        self.get(name).map(std::sync::Arc::new)
    }
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
pub struct Templar {
    engine: Arc<Engine>,
}

impl Default for Templar {
    fn default() -> Self {
        Templar::new()
    }
}

impl Templar {
    pub fn new() -> Templar {
        Templar {
            engine: Arc::new(Engine::new()),
        }
    }

    /// Whether a string holds template syntax and needs rendering.
    pub fn is_template(s: &str) -> bool {
        s.contains("{{") || s.contains("{%") || s.contains("{#")
    }

    /// Runs `f` with a render context over `scope`; values leave it as data.
    /// Run a lookup by name over already templated terms (the `with_<name>:` loops).
    pub fn query(
        &self,
        name: &str,
        terms: &[Value],
        scope: &Scope<'_>,
    ) -> Result<Vec<Value>, TemplateError> {
        self.with_ctx(scope, |ctx| {
            lookups::query(ctx, name, terms).map_err(TemplateError::msg)
        })
    }

    fn with_ctx<T>(
        &self,
        scope: &Scope<'_>,
        f: impl FnOnce(&Arc<RenderCtx>) -> Result<T, TemplateError>,
    ) -> Result<T, TemplateError> {
        let guard = RenderCtx::enter(
            self.engine.clone(),
            scope.vars,
            scope.search_paths,
            HashMap::new(),
        );
        f(&guard.0)
    }

    /// Render a string. A string that is exactly one `{{ expr }}` yields the
    /// expression's native value (a list stays a list), as Ansible does.
    pub fn render_str(&self, s: &str, scope: &Scope<'_>) -> Result<Value, TemplateError> {
        if !Templar::is_template(s) {
            return Ok(Value::String(s.to_string()));
        }
        self.with_ctx(scope, |ctx| to_json(&self.engine.render_native(ctx, s)?))
    }

    /// Render every string inside a value (maps, lists), keeping its structure.
    /// Dict keys are templated too, as Ansible does.
    pub fn render_value(&self, v: &Value, scope: &Scope<'_>) -> Result<Value, TemplateError> {
        self.with_ctx(scope, |ctx| self.render_in(ctx, v))
    }

    fn render_in(&self, ctx: &Arc<RenderCtx>, v: &Value) -> Result<Value, TemplateError> {
        Ok(match v {
            Value::String(s) if Templar::is_template(s) => {
                to_json(&self.engine.render_native(ctx, s)?)?
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.render_in(ctx, i))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut out = crate::value::Map::new();
                for (k, item) in map {
                    let key = if Templar::is_template(k) {
                        self.engine.render_text(ctx, k)?
                    } else {
                        k.clone()
                    };
                    out.insert(key, self.render_in(ctx, item)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    /// Evaluate a bare expression (`var:` of debug, `loop:` items given bare).
    pub fn eval(&self, expr: &str, scope: &Scope<'_>) -> Result<Value, TemplateError> {
        self.with_ctx(scope, |ctx| to_json(&self.engine.eval(ctx, expr)?))
    }

    /// Evaluate a conditional as `when:` does (bare expression, or a full template).
    ///
    /// Ansible 2.19 insists on boolean results unless `ALLOW_BROKEN_CONDITIONALS`
    /// is set; srplay takes the lenient road older playbooks rely on: Python
    /// truthiness, and the strings `True`/`False` (any case) read as booleans.
    pub fn condition(&self, expr: &str, scope: &Scope<'_>) -> Result<bool, TemplateError> {
        let expr = expr.trim();
        // A YAML boolean that reached us as text (`when: yes`).
        match expr.to_ascii_lowercase().as_str() {
            "true" | "yes" => return Ok(true),
            "false" | "no" => return Ok(false),
            _ => {}
        }
        let value = if Templar::is_template(expr) {
            self.render_str(expr, scope)?
        } else {
            self.eval(expr, scope)?
        };
        Ok(match &value {
            Value::String(s) if s.eq_ignore_ascii_case("true") => true,
            Value::String(s) if s.eq_ignore_ascii_case("false") => false,
            other => crate::value::is_truthy(other),
        })
    }

    /// Render a template file's text, honouring `#jinja2:` header overrides and `opts`.
    pub fn render_file(
        &self,
        source: &str,
        path: &Path,
        opts: &TemplateOptions,
        scope: &Scope<'_>,
    ) -> Result<String, TemplateError> {
        let mut syntax = FileSyntax {
            trim_blocks: opts.trim_blocks,
            lstrip_blocks: opts.lstrip_blocks,
            keep_trailing_newline: true,
            variable: delimiters(
                &opts.variable_start_string,
                &opts.variable_end_string,
                "{{",
                "}}",
            ),
            block: delimiters(&opts.block_start_string, &opts.block_end_string, "{%", "%}"),
        };
        let mut newline = opts.newline_sequence.clone();
        let body = file_header::apply(source, &mut syntax, &mut newline)?;
        let mut include_dirs: Vec<PathBuf> = Vec::new();
        for dir in scope.search_paths {
            include_dirs.push(dir.join("templates"));
            include_dirs.push(dir.clone());
        }
        let text = self.with_ctx(scope, |ctx| {
            self.engine
                .render_file(ctx, &syntax, path, body, include_dirs)
        })?;
        // `newline_sequence` may arrive escaped, as written in YAML ('\r\n').
        let newline = file_header::unescape(&newline);
        Ok(if newline != "\n" && !newline.is_empty() {
            text.replace('\n', &newline)
        } else {
            text
        })
    }
}

/// Custom delimiters if either side was given (the other keeps its default).
fn delimiters(
    start: &Option<String>,
    end: &Option<String>,
    default_start: &str,
    default_end: &str,
) -> Option<(String, String)> {
    if start.is_none() && end.is_none() {
        return None;
    }
    Some((
        start.clone().unwrap_or_else(|| default_start.to_string()),
        end.clone().unwrap_or_else(|| default_end.to_string()),
    ))
}
