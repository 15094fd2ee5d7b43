//! The modules: one file each, registered in one table ([`registry`]).
//!
//! A module declares its argument spec ([`ArgSpec`]), checked at load time (unknown
//! parameters, missing required ones) and again at run time on the templated
//! arguments (types, choices, defaults, aliases); then `run` acts on the host through
//! the [`Connection`] and returns a [`ModuleResult`] shaped as Ansible's return values.

pub mod accounts;
pub mod args;
pub mod content;
pub mod edit;
pub mod files;
pub mod http;
pub mod openpgp;
pub mod output;
pub mod pyregex;
pub mod remote;
pub mod system;
#[cfg(test)]
pub mod testing;

pub mod apt;
pub mod apt_key;
pub mod apt_repository;
pub mod assert;
pub mod async_status;
pub mod authorized_key;
pub mod blockinfile;
pub mod command;
pub mod copy;
pub mod cron;
pub mod debug;
pub mod dnf;
pub mod fail;
pub mod fetch;
pub mod file;
pub mod find;
pub mod get_url;
pub mod group;
pub mod hostname;
pub mod lineinfile;
pub mod modprobe;
pub mod mount;
pub mod package;
pub mod pause;
pub mod ping;
pub mod raw;
pub mod replace;
pub mod rpm_key;
pub mod script;
pub mod service;
pub mod shell;
pub mod slurp;
pub mod stat;
pub mod sysctl;
pub mod systemd;
pub mod tempfile;
pub mod template;
pub mod timezone;
pub mod unarchive;
pub mod uri;
pub mod user;
pub mod wait_for;

use crate::connection::Connection;
use crate::value::{Map, Value};

pub use args::{ArgSpec, Args, Kind, Param};

/// What a module reports. `data` holds the module's own return keys (`rc`, `stdout`,
/// `dest`, `stat`…); `changed`, `failed`, `msg`, `diff` are added by the engine.
#[derive(Clone, Debug, Default)]
pub struct ModuleResult {
    pub changed: bool,
    pub failed: bool,
    pub skipped: bool,
    pub msg: Option<String>,
    pub diff: Vec<Diff>,
    /// Register `diff` as a list even when it holds one entry, as the modules that
    /// [`Module::diff_is_list`] say; other modules register their one diff as a dict.
    pub diff_list: bool,
    pub data: Map,
}

impl ModuleResult {
    pub fn ok() -> ModuleResult {
        ModuleResult::default()
    }

    pub fn changed(changed: bool) -> ModuleResult {
        ModuleResult {
            changed,
            ..ModuleResult::default()
        }
    }

    pub fn failed(msg: impl Into<String>) -> ModuleResult {
        ModuleResult {
            failed: true,
            msg: Some(msg.into()),
            ..ModuleResult::default()
        }
    }

    /// What Ansible reports for a module that does not support check mode: skipped.
    pub fn not_in_check_mode(module: &str) -> ModuleResult {
        ModuleResult {
            skipped: true,
            msg: Some(format!(
                "remote module ({module}) does not support check mode"
            )),
            ..ModuleResult::default()
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> ModuleResult {
        self.data.insert(key.to_string(), value.into());
        self
    }

    pub fn with_msg(mut self, msg: impl Into<String>) -> ModuleResult {
        self.msg = Some(msg.into());
        self
    }
}

/// One before/after pair for `--diff`, as Ansible's `diff` return value; or, for the
/// package modules, the `prepared` text: what the package manager said it would do.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diff {
    pub before: String,
    pub after: String,
    pub before_header: Option<String>,
    pub after_header: Option<String>,
    pub prepared: Option<String>,
    /// For a diff of dicts (`file`'s `{path, state}`, `timezone`'s `{name}`): the dicts,
    /// which a registered result holds where `before`/`after` hold their printed form.
    pub dicts: Option<(Map, Map)>,
}

impl Diff {
    /// A diff that is only the `prepared` text (`apt`'s), with no before/after pair.
    pub fn prepared(text: impl Into<String>) -> Diff {
        Diff {
            prepared: Some(text.into()),
            ..Diff::default()
        }
    }

    /// As the JSON event stream shows it (`docs/events.schema.json`): `before` and `after`
    /// as printed (a dict diff's JSON text; empty for a `prepared` one), the headers
    /// given, and `prepared`.
    pub fn to_event_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("before".into(), Value::String(self.before.clone()));
        m.insert("after".into(), Value::String(self.after.clone()));
        if let Some(h) = &self.before_header {
            m.insert("before_header".into(), Value::String(h.clone()));
        }
        if let Some(h) = &self.after_header {
            m.insert("after_header".into(), Value::String(h.clone()));
        }
        if let Some(p) = &self.prepared {
            m.insert("prepared".into(), Value::String(p.clone()));
        }
        Value::Object(m)
    }

    /// As Ansible's result dict holds it: `before`, `after` and the headers given, and
    /// `prepared`.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        if let Some(p) = &self.prepared {
            m.insert("prepared".into(), Value::String(p.clone()));
            if self.before.is_empty() && self.after.is_empty() {
                return Value::Object(m);
            }
        }
        match &self.dicts {
            Some((before, after)) => {
                m.insert("before".into(), Value::Object(before.clone()));
                m.insert("after".into(), Value::Object(after.clone()));
            }
            None => {
                m.insert("before".into(), Value::String(self.before.clone()));
                m.insert("after".into(), Value::String(self.after.clone()));
            }
        }
        if let Some(h) = &self.before_header {
            m.insert("before_header".into(), Value::String(h.clone()));
        }
        if let Some(h) = &self.after_header {
            m.insert("after_header".into(), Value::String(h.clone()));
        }
        Value::Object(m)
    }
}

/// A module error that is not a task failure but a fault in how it was called
/// (bad argument type, missing required parameter): reported as a failed task with
/// this message, as Ansible's argument-spec failures are.
pub type ModuleError = String;

/// Templating services a controller-side module needs (debug `var:`, assert `that:`,
/// the `template` module). Implemented by the engine over the host's variables.
pub trait Templating {
    /// Evaluate a bare Jinja2 expression (`var:` of debug, `that:` of assert).
    fn eval(&self, expr: &str) -> Result<Value, String>;
    /// Evaluate a conditional (`that:`, `when:`) to a boolean.
    fn condition(&self, expr: &str) -> Result<bool, String>;
    /// Render template text read from `path` (the `template` module's `src`),
    /// honouring a `#jinja2:` header and the given block options.
    fn render_file(
        &self,
        source: &str,
        path: &std::path::Path,
        opts: &TemplateOptions,
    ) -> Result<String, String>;
}

/// Options of the `template` module that change how the text renders.
#[derive(Clone, Debug)]
pub struct TemplateOptions {
    pub trim_blocks: bool,
    pub lstrip_blocks: bool,
    pub newline_sequence: String,
    pub variable_start_string: Option<String>,
    pub variable_end_string: Option<String>,
    pub block_start_string: Option<String>,
    pub block_end_string: Option<String>,
}

impl Default for TemplateOptions {
    fn default() -> Self {
        TemplateOptions {
            trim_blocks: true,
            lstrip_blocks: false,
            newline_sequence: "\n".to_string(),
            variable_start_string: None,
            variable_end_string: None,
            block_start_string: None,
            block_end_string: None,
        }
    }
}

/// Everything a module's `run` may use besides its arguments.
pub struct ModuleContext<'a> {
    pub conn: &'a mut dyn Connection,
    pub check_mode: bool,
    pub diff_mode: bool,
    /// Where a relative local `src` is looked for, in order: the role's `files/` or
    /// `templates/` (as the module needs), the role dir, the playbook dir.
    pub search_paths: &'a [std::path::PathBuf],
    pub templating: &'a dyn Templating,
    /// The host's inventory name, for messages.
    pub host: &'a str,
    /// The run's `-v` count (`debug`'s `verbosity:` compares with it).
    pub verbosity: u8,
}

/// A module: its name, its argument spec, and what it does.
pub trait Module: Sync {
    fn name(&self) -> &'static str;
    fn spec(&self) -> &'static ArgSpec;
    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError>;

    /// True where Ansible registers `diff` as a list, one entry a file: the action
    /// plugins of `copy` and `template`, and modules that return a list (`apt_repository`);
    /// most modules' own `diff` is a dict.
    fn diff_is_list(&self) -> bool {
        false
    }

    /// False for modules that act on the controller only (`debug`, `assert`…): the
    /// engine does not connect to the host for them, as Ansible's action plugins
    /// don't, so they run even for a host that cannot be reached.
    fn connects(&self) -> bool {
        true
    }
}

/// The module table: every module by its short name. FQCNs (`ansible.builtin.copy`,
/// `ansible.legacy.copy`) resolve to the short name through [`short_name`].
pub fn registry() -> &'static [&'static dyn Module] {
    &[
        &apt::Apt,
        &apt_key::AptKey,
        &apt_repository::AptRepository,
        &assert::Assert,
        &async_status::AsyncStatus,
        &authorized_key::AuthorizedKey,
        &blockinfile::BlockInFile,
        &command::Command,
        &copy::Copy,
        &cron::Cron,
        &debug::Debug,
        &dnf::Dnf::DNF,
        &dnf::Dnf::YUM,
        &fail::Fail,
        &fetch::Fetch,
        &file::File,
        &find::Find,
        &get_url::GetUrl,
        &group::Group,
        &hostname::Hostname,
        &lineinfile::LineInFile,
        &modprobe::Modprobe,
        &mount::Mount,
        &package::Package,
        &pause::Pause,
        &ping::Ping,
        &raw::Raw,
        &replace::Replace,
        &rpm_key::RpmKey,
        &script::Script,
        &service::Service,
        &shell::Shell,
        &slurp::Slurp,
        &stat::Stat,
        &sysctl::Sysctl,
        &systemd::Systemd("systemd"),
        &systemd::Systemd("systemd_service"),
        &tempfile::TempFile,
        &template::Template,
        &timezone::Timezone,
        &unarchive::Unarchive,
        &uri::Uri,
        &user::User,
        &wait_for::WaitFor,
    ]
}

/// Find a module by its short or fully qualified name.
pub fn lookup(name: &str) -> Option<&'static dyn Module> {
    let short = short_name(name);
    registry().iter().copied().find(|m| m.name() == short)
}

/// Modules of other collections that srplay implements natively, by their FQCN.
const COLLECTION_MODULES: &[&str] = &[
    "ansible.posix.authorized_key",
    "ansible.posix.mount",
    "ansible.posix.sysctl",
    "community.general.modprobe",
    "community.general.timezone",
];

/// `ansible.builtin.copy` → `copy`, `ansible.posix.sysctl` → `sysctl`; names of
/// other collections stay as they are.
pub fn short_name(name: &str) -> &str {
    if COLLECTION_MODULES.contains(&name) {
        return name.rsplit('.').next().unwrap_or(name);
    }
    name.strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name)
}
