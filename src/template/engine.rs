//! The rendering core shared by [`super::Templar`] and lazily rendered variables:
//! compiled-template caching, native (single-expression) results, and file syntax
//! variants.
//!
//! Compiled templates are cached by minijinja itself: every source is requested by
//! a synthetic name (a prefix plus the source text) from the environment's loader,
//! which hands the source back; the environment keeps the compiled form keyed by that
//! name. Native results use the same path: a template whose name carries
//! [`NATIVE`] has its emitted values captured by the formatter instead of printed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use minijinja::Environment;
use minijinja::value::Value as MjValue;

use super::context::{RenderCtx, lock};
use super::environment::{self, NativeCapture};
use super::errors::convert_error;
use super::{Templar, TemplateError};

/// Name prefix of a template whose single `{{ }}` yields a native value.
pub(crate) const NATIVE: &str = "\u{1}n:";
/// Name prefix of a bare expression (`when:`, `that:`, `var:`), captured natively like
/// [`NATIVE`] but compiled as written: Ansible escapes backslashes only in `{{ }}` of
/// templated strings, not in conditionals.
pub(crate) const EXPR: &str = "\u{1}n:\u{1}e:";
/// Name prefix of a string template rendered to text.
pub(crate) const TEXT: &str = "\u{1}t:";
/// Name prefix of a template file: `FILE` + path + `\u{1}` + source.
pub(crate) const FILE: &str = "\u{1}f:";

/// The syntax knobs of a template file (the `template` module's options).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub(crate) struct FileSyntax {
    pub trim_blocks: bool,
    pub lstrip_blocks: bool,
    pub keep_trailing_newline: bool,
    pub variable: Option<(String, String)>,
    pub block: Option<(String, String)>,
}

pub(crate) struct Engine {
    /// The environment for strings (task arguments, variables, conditionals).
    pub env: Environment<'static>,
    /// The same with chainable undefined values, for the retry that lets
    /// `foo.bar is defined` be false when `foo` itself is undefined (see
    /// [`tolerates_undefined`]).
    lenient: Environment<'static>,
    /// Whether a string is exactly one `{{ expr }}`, by string.
    single_expr: Mutex<HashMap<String, bool>>,
    file_envs: Mutex<HashMap<FileSyntax, Arc<Environment<'static>>>>,
}

impl Engine {
    pub fn new() -> Engine {
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("the default delimiters are valid");
        // Ansible keeps a templated string's trailing newline (`content: "{{ x }}\n"`).
        Engine {
            env: environment::build(syntax.clone(), false),
            lenient: environment::build(syntax, true),
            single_expr: Mutex::new(HashMap::new()),
            file_envs: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `s` is one `{{ expr }}` and nothing else (its value stays native).
    fn is_single_expr(&self, s: &str) -> bool {
        if !(s.len() >= 4 && s.starts_with("{{") && s.ends_with("}}")) {
            return false;
        }
        if let Some(&known) = lock(&self.single_expr).get(s) {
            return known;
        }
        let inner = &s[2..s.len() - 2];
        let inner = inner.strip_prefix(['-', '+']).unwrap_or(inner);
        let inner = inner.strip_suffix(['-', '+']).unwrap_or(inner);
        let single = self.env.compile_expression(inner).is_ok();
        lock(&self.single_expr).insert(s.to_string(), single);
        single
    }

    /// Renders a string: native value for a single expression, text otherwise.
    pub fn render_native(&self, ctx: &Arc<RenderCtx>, s: &str) -> Result<MjValue, TemplateError> {
        if !Templar::is_template(s) {
            return Ok(MjValue::from(s));
        }
        if self.is_single_expr(s) {
            self.capture(ctx, NATIVE, s)
        } else {
            self.render_text(ctx, s).map(MjValue::from)
        }
    }

    /// Renders a string template to text.
    pub fn render_text(&self, ctx: &Arc<RenderCtx>, s: &str) -> Result<String, TemplateError> {
        let name = format!("{TEXT}{s}");
        let render =
            |env: &Environment<'static>| env.get_template(&name).and_then(|t| t.render(ctx.root()));
        let result = self.with_retry(s, render);
        let text = result.map_err(|e| convert_error(&e, self, ctx))?;
        if let Some(fatal) = ctx.take_fatal() {
            return Err(fatal);
        }
        Ok(text)
    }

    /// Evaluates a bare expression.
    pub fn eval(&self, ctx: &Arc<RenderCtx>, expr: &str) -> Result<MjValue, TemplateError> {
        let key = format!("{TEXT}expr:{expr}");
        let valid = lock(&self.single_expr).get(&key).copied();
        let valid = valid.unwrap_or_else(|| {
            let ok = self.env.compile_expression(expr).is_ok();
            lock(&self.single_expr).insert(key, ok);
            ok
        });
        if !valid {
            // Compile again for the error message (only on the failure path).
            let err = self
                .env
                .compile_expression(expr)
                .err()
                .map(|e| convert_error(&e, self, ctx));
            return Err(err.unwrap_or_else(|| TemplateError::msg("invalid expression")));
        }
        self.capture(ctx, EXPR, &format!("{{{{ {expr} }}}}"))
    }

    /// Renders a one-expression template and returns the emitted value itself.
    fn capture(
        &self,
        ctx: &Arc<RenderCtx>,
        prefix: &str,
        source: &str,
    ) -> Result<MjValue, TemplateError> {
        let name = format!("{prefix}{source}");
        let render = |env: &Environment<'static>| {
            env.get_template(&name).and_then(|t| {
                let captured = t.render_captured(ctx.root())?;
                Ok(captured
                    .state()
                    .get_extension::<NativeCapture>()
                    .and_then(|c| c.0.clone())
                    .unwrap_or(MjValue::UNDEFINED))
            })
        };
        let result = self.with_retry(source, render);
        let value = result.map_err(|e| convert_error(&e, self, ctx))?;
        if let Some(fatal) = ctx.take_fatal() {
            return Err(fatal);
        }
        Ok(value)
    }

    /// Runs `render` on the strict environment; if that fails on an undefined
    /// value in a template that tests for definedness, runs it again on the lenient
    /// one. The strict error stands if the retry fails too.
    fn with_retry<T>(
        &self,
        source: &str,
        render: impl Fn(&Environment<'static>) -> Result<T, minijinja::Error>,
    ) -> Result<T, minijinja::Error> {
        match render(&self.env) {
            Err(e)
                if e.kind() == minijinja::ErrorKind::UndefinedError
                    && tolerates_undefined(source) =>
            {
                render(&self.lenient).map_err(|_| e)
            }
            other => other,
        }
    }

    /// Renders a template file's text with the given syntax.
    pub fn render_file(
        &self,
        ctx: &Arc<RenderCtx>,
        syntax: &FileSyntax,
        path: &std::path::Path,
        source: &str,
        include_dirs: Vec<PathBuf>,
    ) -> Result<String, TemplateError> {
        let env = self.file_env(syntax)?;
        let name = format!("{FILE}{}\u{1}{source}", path.display());
        let result = environment::with_include_dirs(include_dirs, || {
            env.get_template(&name).and_then(|t| t.render(ctx.root()))
        });
        let text = result.map_err(|e| convert_error(&e, self, ctx))?;
        if let Some(fatal) = ctx.take_fatal() {
            return Err(fatal);
        }
        Ok(text)
    }

    fn file_env(&self, syntax: &FileSyntax) -> Result<Arc<Environment<'static>>, TemplateError> {
        if let Some(env) = lock(&self.file_envs).get(syntax) {
            return Ok(env.clone());
        }
        let mut builder = minijinja::syntax::SyntaxConfig::builder();
        builder
            .trim_blocks(syntax.trim_blocks)
            .lstrip_blocks(syntax.lstrip_blocks)
            .keep_trailing_newline(syntax.keep_trailing_newline);
        if let Some((s, e)) = &syntax.variable {
            builder.variable_delimiters(s.clone(), e.clone());
        }
        if let Some((s, e)) = &syntax.block {
            builder.block_delimiters(s.clone(), e.clone());
        }
        let config = builder
            .build()
            .map_err(|e| TemplateError::msg(format!("invalid template delimiters: {e}")))?;
        let env = Arc::new(environment::build(config, false));
        lock(&self.file_envs).insert(syntax.clone(), env.clone());
        Ok(env)
    }
}

/// Whether a template checks for undefined values itself (`is defined`,
/// `is undefined`, `default`/`d`), so that reading an attribute of an undefined
/// variable must not fail on the spot as strict Jinja would: Ansible answers
/// `foo.bar is defined` with false when `foo` is undefined.
fn tolerates_undefined(source: &str) -> bool {
    source.contains("defined") || source.contains("default") || source.contains("d(")
}
