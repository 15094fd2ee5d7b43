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
        // The variables the template module adds for its template (Ansible's
        // `ansible_managed`, `template_path`…).
        let mut extra = crate::value::Map::new();
        let full = path.display().to_string();
        extra.insert(
            "ansible_managed".into(),
            Value::String("Ansible managed".into()),
        );
        extra.insert("template_path".into(), Value::String(full.clone()));
        extra.insert("template_fullpath".into(), Value::String(full));
        extra.insert("template_host".into(), Value::String(hostname()));
        if let Some(uid) = std::fs::metadata(path)
            .ok()
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        {
            let name = nix::unistd::User::from_uid(uid.into())
                .ok()
                .flatten()
                .map_or_else(|| uid.to_string(), |u| u.name);
            extra.insert("template_uid".into(), Value::String(name));
        }
        let vars = self.vars.with(std::sync::Arc::new(extra));
        let scope = Scope {
            vars: &vars,
            search_paths: self.search_paths,
        };
        self.templar
            .render_file(source, path, opts, &scope)
            .map_err(|e| e.message)
    }
}

/// The controller's host name (`template_host`).
fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default()
}
