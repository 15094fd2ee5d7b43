//! Test support: run a module against a [`LocalConnection`] in a temporary directory
//! (or against a [`FakeConnection`] that answers commands from a script), with a tiny
//! [`Templating`] that knows a few variables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::connection::{
    Command, ConnError, ConnResult, Connection, ExecOutput, ExecRequest, FileAttrs, FileKind,
    FileStat, LocalConnection, TaskSettings,
};
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
pub struct Harness<C: Connection = LocalConnection> {
    pub dir: tempfile::TempDir,
    pub conn: C,
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
        Harness::with_connection(LocalConnection::default())
    }
}

impl Harness<FakeConnection> {
    /// A harness whose host is a [`FakeConnection`]: for modules that run system
    /// commands a test must not run for real (packages, services, users, mounts).
    pub fn fake(conn: FakeConnection) -> Harness<FakeConnection> {
        Harness::with_connection(conn)
    }
}

impl<C: Connection> Harness<C> {
    pub fn with_connection(conn: C) -> Harness<C> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let search_paths = vec![dir.path().to_path_buf()];
        Harness {
            dir,
            conn,
            check_mode: false,
            diff_mode: false,
            search_paths,
            templating: FakeTemplating::default(),
        }
    }

    pub fn check(mut self) -> Self {
        self.check_mode = true;
        self
    }

    pub fn diff(mut self) -> Self {
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

    pub fn var(mut self, name: &str, value: Value) -> Self {
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

/// A host that exists only in memory: files are a map, and a command's answer comes
/// from the first rule whose pattern (a regex) matches its command line. Every command
/// is logged, so a test asserts what a module ran and what it decided.
#[derive(Default)]
pub struct FakeConnection {
    /// Regular files by path, with their mode.
    pub files: BTreeMap<String, (Vec<u8>, u32)>,
    /// Directories that exist (parents of files need not be listed).
    pub dirs: Vec<String>,
    rules: Vec<Rule>,
    /// The command lines run, in order (argv joined with shell quoting).
    pub log: Vec<String>,
    /// The environment each logged command was given (`ExecRequest::env`), by index.
    pub envs: Vec<Vec<(String, String)>>,
    pub settings: TaskSettings,
}

struct Rule {
    pattern: regex::Regex,
    output: ExecOutput,
    /// Answer once, then fall through to later rules (a state that changes).
    once: bool,
    /// Files the command leaves on the host (a download, a dump).
    writes: Vec<(String, Vec<u8>)>,
}

impl FakeConnection {
    pub fn new() -> FakeConnection {
        FakeConnection::default()
    }

    /// Answer commands matching `pattern` with `rc` and `stdout`, every time.
    pub fn on(mut self, pattern: &str, rc: i32, stdout: &str) -> FakeConnection {
        self.rules.push(Rule::new(pattern, rc, stdout, false));
        self
    }

    /// Answer the next command matching `pattern` once; later ones go to other rules.
    pub fn once(mut self, pattern: &str, rc: i32, stdout: &str) -> FakeConnection {
        self.rules.push(Rule::new(pattern, rc, stdout, true));
        self
    }

    /// The last rule added also writes `content` to `path` when it answers.
    pub fn writing(mut self, path: &str, content: impl AsRef<[u8]>) -> FakeConnection {
        let rule = self
            .rules
            .last_mut()
            .expect("writing() follows on() or once()");
        rule.writes
            .push((path.to_string(), content.as_ref().to_vec()));
        self
    }

    /// A host with curl that answers `downloads` downloads through `http::download`
    /// with `status` (`200 OK`, `404 Not Found`) and `body`. Each download makes two
    /// scratch directories: the caller's, `/tmp/srplay.out` (where `body` lands as
    /// `out_name`), then the request's, `/tmp/srplay.req`.
    pub fn serving(
        mut self,
        downloads: usize,
        status: &str,
        out_name: &str,
        body: impl AsRef<[u8]>,
    ) -> FakeConnection {
        self = self.on("command -v curl", 0, "/usr/bin/curl");
        for _ in 0..downloads {
            self = self.once("^mktemp -d", 0, "/tmp/srplay.out\n").once(
                "^mktemp -d",
                0,
                "/tmp/srplay.req\n",
            );
        }
        self.on("^curl --config /tmp/srplay.req/curl.conf$", 0, "")
            .writing(
                "/tmp/srplay.req/headers",
                format!("HTTP/1.1 {status}\r\n\r\n"),
            )
            .writing(&format!("/tmp/srplay.out/{out_name}"), body)
    }

    pub fn file(mut self, path: &str, content: &str) -> FakeConnection {
        self.files
            .insert(path.to_string(), (content.as_bytes().to_vec(), 0o644));
        self
    }

    pub fn dir(mut self, path: &str) -> FakeConnection {
        self.dirs.push(path.to_string());
        self
    }

    /// The logged command lines that match `pattern`.
    pub fn ran(&self, pattern: &str) -> Vec<&str> {
        let re = regex::Regex::new(pattern).expect("test pattern");
        self.log
            .iter()
            .map(String::as_str)
            .filter(|l| re.is_match(l))
            .collect()
    }

    fn is_dir(&self, path: &str) -> bool {
        if path == "/" {
            return true;
        }
        let path = path.trim_end_matches('/');
        let prefix = format!("{path}/");
        self.dirs.iter().any(|d| d == path) || self.files.keys().any(|f| f.starts_with(&prefix))
    }
}

impl Rule {
    fn new(pattern: &str, rc: i32, stdout: &str, once: bool) -> Rule {
        Rule {
            pattern: regex::Regex::new(pattern).expect("test pattern"),
            output: ExecOutput {
                rc,
                stdout: stdout.as_bytes().to_vec(),
                stderr: Vec::new(),
            },
            once,
            writes: Vec::new(),
        }
    }
}

fn fake_stat(kind: FileKind, mode: u32, size: u64) -> FileStat {
    FileStat {
        kind,
        mode,
        uid: 0,
        gid: 0,
        owner: "root".into(),
        group: "root".into(),
        size,
        mtime: 0.0,
        atime: 0.0,
        ctime: 0.0,
        inode: 1,
        dev: 1,
        nlink: 1,
        link_target: None,
    }
}

impl Connection for FakeConnection {
    fn set_task_settings(&mut self, settings: TaskSettings) {
        self.settings = settings;
    }

    fn exec(&mut self, req: &ExecRequest) -> ConnResult<ExecOutput> {
        let line = match &req.command {
            Command::Argv(argv) => shlex::try_join(argv.iter().map(String::as_str))
                .map_err(|e| ConnError::new(e.to_string()))?,
            Command::Shell { cmd, .. } => cmd.clone(),
        };
        self.log.push(line.clone());
        self.envs.push(req.env.clone());
        let Some(i) = self.rules.iter().position(|r| r.pattern.is_match(&line)) else {
            return Ok(ExecOutput::default());
        };
        let output = self.rules[i].output.clone();
        for (path, data) in self.rules[i].writes.clone() {
            self.files.insert(path, (data, 0o644));
        }
        if self.rules[i].once {
            self.rules.remove(i);
        }
        Ok(output)
    }

    fn stat(&mut self, path: &str, _follow: bool) -> ConnResult<Option<FileStat>> {
        if let Some((data, mode)) = self.files.get(path) {
            return Ok(Some(fake_stat(FileKind::File, *mode, data.len() as u64)));
        }
        Ok(self
            .is_dir(path)
            .then(|| fake_stat(FileKind::Dir, 0o755, 4096)))
    }

    fn read_file(&mut self, path: &str) -> ConnResult<Vec<u8>> {
        self.files
            .get(path)
            .map(|(data, _)| data.clone())
            .ok_or_else(|| ConnError::new(format!("cannot read {path}: No such file or directory")))
    }

    fn write_file(&mut self, path: &str, data: &[u8], attrs: &FileAttrs) -> ConnResult<()> {
        let mode = attrs
            .mode
            .or(self.files.get(path).map(|(_, m)| *m))
            .unwrap_or(0o644);
        self.files.insert(path.to_string(), (data.to_vec(), mode));
        Ok(())
    }

    fn mkdir_all(&mut self, path: &str, _mode: Option<u32>) -> ConnResult<()> {
        if !self.is_dir(path) {
            self.dirs.push(path.to_string());
        }
        Ok(())
    }

    fn remove(&mut self, path: &str, _recursive: bool) -> ConnResult<()> {
        self.files.remove(path);
        let prefix = format!("{}/", path.trim_end_matches('/'));
        self.files.retain(|f, _| !f.starts_with(&prefix));
        self.dirs.retain(|d| d != path && !d.starts_with(&prefix));
        Ok(())
    }

    fn symlink(&mut self, _target: &str, link: &str, _force: bool) -> ConnResult<()> {
        Err(ConnError::new(format!(
            "the fake host has no symlinks ({link})"
        )))
    }

    fn hardlink(&mut self, _target: &str, link: &str, _force: bool) -> ConnResult<()> {
        Err(ConnError::new(format!(
            "the fake host has no hard links ({link})"
        )))
    }

    fn set_attrs(&mut self, path: &str, attrs: &FileAttrs, _follow: bool) -> ConnResult<()> {
        if let (Some(mode), Some(file)) = (attrs.mode, self.files.get_mut(path)) {
            file.1 = mode;
        }
        Ok(())
    }

    fn set_times(&mut self, _path: &str, _atime: f64, _mtime: f64) -> ConnResult<()> {
        Ok(())
    }

    fn list_dir(&mut self, path: &str) -> ConnResult<Vec<String>> {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let mut names: Vec<String> = self
            .files
            .keys()
            .chain(self.dirs.iter())
            .filter_map(|p| p.strip_prefix(&prefix))
            .map(|rest| rest.split('/').next().unwrap_or(rest).to_string())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn home_dir(&mut self) -> ConnResult<String> {
        Ok("/root".to_string())
    }
}

mod fake_tests {
    use super::*;
    use crate::modules::lookup;

    #[test]
    fn fake_connection_answers_by_rule_and_logs_commands() {
        let conn = FakeConnection::new()
            .once("is-active", 3, "inactive\n")
            .on("is-active", 0, "active\n")
            .file("/etc/x.conf", "a=1\n");
        let mut h = Harness::fake(conn);
        let r = h.run(
            lookup("command").unwrap(),
            serde_json::json!({"argv": ["systemctl", "is-active", "my unit"]}),
        );
        assert_eq!(r.data.get("rc"), Some(&Value::from(3)));
        h.run(
            lookup("command").unwrap(),
            serde_json::json!({"cmd": "systemctl is-active x"}),
        );
        assert_eq!(h.conn.ran("is-active").len(), 2);
        assert_eq!(h.conn.log[0], "systemctl is-active 'my unit'");
        assert_eq!(h.conn.read_file("/etc/x.conf").unwrap(), b"a=1\n");
        assert_eq!(h.conn.list_dir("/etc").unwrap(), ["x.conf"]);
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
        // A value the parameter accepts: its first choice, else one of its kind.
        fn sample(param: &crate::modules::Param) -> Value {
            match (param.choices.first(), param.kind) {
                (Some(choice), _) => Value::from(*choice),
                (None, Kind::List) => Value::Array(vec![Value::from("x")]),
                (None, Kind::Bool) => Value::Bool(true),
                (None, Kind::Int) => Value::from(1),
                _ => Value::from("x"),
            }
        }
        for module in registry() {
            let spec = module.spec();
            let mut raw = Map::new();
            if spec.free_form {
                // `script` requires its free-form text (or `cmd`).
                raw.insert("_raw_params".into(), Value::from("x"));
            }
            for param in spec.params.iter().filter(|p| p.required) {
                raw.insert(param.name.to_string(), sample(param));
            }
            // One parameter of each group that needs one of them.
            for group in spec.required_one_of {
                match spec.params.iter().find(|p| p.name == group[0]) {
                    Some(param) => drop(raw.insert(param.name.to_string(), sample(param))),
                    // The free-form text, given above.
                    None if group[0] == "_raw_params" => {}
                    None => panic!("{}: required_one_of names {}", module.name(), group[0]),
                }
            }
            if let Err(e) = spec.validate(module.name(), &raw) {
                panic!("{}: {e}", module.name());
            }
        }
    }
}
