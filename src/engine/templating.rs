//! The templating services a module gets for one host and task.

use std::path::{Path, PathBuf};

use crate::modules::{TemplateOptions, Templating};
use crate::template::{Scope, Templar};
use crate::value::Value;
use crate::vars::VarStack;

pub struct TaskTemplating<'a> {
    pub templar: &'a Templar,
    pub vars: &'a VarStack,
    pub search_paths: &'a [PathBuf],
}

impl TaskTemplating<'_> {
    pub fn scope(&self) -> Scope<'_> {
        Scope {
            vars: self.vars,
            search_paths: self.search_paths,
        }
    }
}

impl Templating for TaskTemplating<'_> {
    fn eval(&self, expr: &str) -> Result<Value, String> {
        self.templar
            .eval(expr, &self.scope())
            .map_err(|e| e.message)
    }

    fn condition(&self, expr: &str) -> Result<bool, String> {
        self.templar
            .condition(expr, &self.scope())
            .map_err(|e| e.message)
    }

    fn render_file(
        &self,
        source: &str,
        path: &Path,
        opts: &TemplateOptions,
    ) -> Result<String, String> {
        self.templar
            .render_file(source, path, opts, &self.scope())
            .map_err(|e| e.message)
    }
}
