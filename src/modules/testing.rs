//! Test support: run a module against a [`LocalConnection`] in a temporary directory,
//! with a tiny [`Templating`] that knows a few variables.

use std::path::{Path, PathBuf};

use crate::connection::LocalConnection;
use crate::modules::{Module, ModuleContext, ModuleResult, TemplateOptions, Templating};
use crate::value::{self, Map, Value};

/// Variables by name; `{{ name }}` in a template renders one; `a == b` compares text.
#[derive(Default)]
pub struct FakeTemplating {
    pub vars: Map,
}

impl Templating for FakeTemplating {
    fn eval(&self, expr: &str) -> Result<Value, String> {
        let expr = expr.trim();
        if let Ok(n) = expr.parse::<i64>() {
            return Ok(Value::from(n));
        }
        self.vars
            .get(expr)
            .cloned()
            .ok_or_else(|| format!("'{expr}' is undefined"))
    }

    fn condition(&self, expr: &str) -> Result<bool, String> {
        if let Some((a, b)) = expr.split_once("==") {
            return Ok(self.eval(a)? == self.eval(b)?);
        }
        Ok(value::is_truthy(&self.eval(expr)?))
    }

    fn render_file(
        &self,
        source: &str,
        _path: &Path,
        opts: &TemplateOptions,
    ) -> Result<String, String> {
        let mut out = source.to_string();
        for (k, v) in &self.vars {
            out = out.replace(&format!("{{{{ {k} }}}}"), &value::to_display_string(v));
        }
        if out.contains("{{") {
            return Err("template error: undefined variable".to_string());
        }
        Ok(out.replace('\n', &opts.newline_sequence))
    }
}

/// One temporary directory, a local connection, and the mode flags of a run.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub conn: LocalConnection,
    pub check_mode: bool,
    pub diff_mode: bool,
    pub search_paths: Vec<PathBuf>,
    pub templating: FakeTemplating,
}

impl Default for Harness {
    fn default() -> Harness {
        Harness::new()
    }
}

impl Harness {
    pub fn new() -> Harness {
        let dir = tempfile::tempdir().expect("temporary directory");
        let search_paths = vec![dir.path().to_path_buf()];
        Harness {
            dir,
            conn: LocalConnection::default(),
            check_mode: false,
            diff_mode: false,
            search_paths,
            templating: FakeTemplating::default(),
        }
    }

    pub fn check(mut self) -> Harness {
        self.check_mode = true;
        self
    }

    pub fn diff(mut self) -> Harness {
        self.diff_mode = true;
        self
    }

    /// A path inside the temporary directory (`""` for the directory itself).
    pub fn path(&self, name: &str) -> String {
        let p = if name.is_empty() {
            self.dir.path().to_path_buf()
        } else {
            self.dir.path().join(name)
        };
        p.to_string_lossy().into_owned()
    }

    pub fn write(&self, name: &str, content: &str) -> String {
        let p = self.path(name);
        if let Some(parent) = Path::new(&p).parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(&p, content).expect("write fixture");
        p
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    pub fn var(mut self, name: &str, value: Value) -> Harness {
        self.templating.vars.insert(name.to_string(), value);
        self
    }

    /// Validate the arguments as the engine does, then run.
    pub fn try_run(&mut self, module: &dyn Module, args: Value) -> Result<ModuleResult, String> {
        let raw = args.as_object().cloned().unwrap_or_default();
        let args = module.spec().validate(module.name(), &raw)?;
        let mut ctx = ModuleContext {
            conn: &mut self.conn,
            check_mode: self.check_mode,
            diff_mode: self.diff_mode,
            search_paths: &self.search_paths,
            templating: &self.templating,
            host: "localhost",
            verbosity: 0,
        };
        module.run(&args, &mut ctx)
    }

    pub fn run(&mut self, module: &dyn Module, args: Value) -> ModuleResult {
        match self.try_run(module, args) {
            Ok(result) => result,
            Err(e) => panic!("module error: {e}"),
        }
    }
}

mod tests {
    use crate::modules::{Kind, lookup, registry};
    use crate::value::{Map, Value};

    #[test]
    fn registry_names_are_unique_and_resolve_by_fqcn() {
        let mut names: Vec<&str> = registry().iter().map(|m| m.name()).collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count, "duplicate module names");
        for name in names {
            assert_eq!(
                lookup(&format!("ansible.builtin.{name}")).map(|m| m.name()),
                Some(name)
            );
        }
    }

    #[test]
    fn every_spec_accepts_its_own_defaults() {
        for module in registry() {
            let spec = module.spec();
            let mut raw = Map::new();
            for param in spec.params.iter().filter(|p| p.required) {
                let value = match param.kind {
                    Kind::List => Value::Array(vec![Value::from("x")]),
                    _ => Value::from("x"),
                };
                raw.insert(param.name.to_string(), value);
            }
            if let Err(e) = spec.validate(module.name(), &raw) {
                panic!("{}: {e}", module.name());
            }
        }
    }
}
