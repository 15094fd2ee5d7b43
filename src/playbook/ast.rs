//! The typed playbook: plays, blocks, tasks and roles with their source positions.
//! Values that Ansible templates at run time (args, `when`, `vars`) are kept raw here.

use std::path::PathBuf;
use std::sync::Arc;

use crate::diagnostic::Span;
use crate::value::{Map, Value};

/// A playbook file with its `import_playbook`s flattened, in order.
#[derive(Clone, Debug)]
pub struct Playbook {
    pub path: PathBuf,
    pub plays: Vec<Play>,
}

/// Keywords that plays, blocks, roles and tasks share, and that children inherit.
/// `None` means "not set here": the nearest enclosing setting applies.
#[derive(Clone, Debug, Default)]
pub struct Keywords {
    /// Conditions, all of which must hold (ANDed, outer first).
    pub when: Vec<Value>,
    pub tags: Vec<String>,
    pub vars: Map,
    pub become_: Option<Value>,
    pub become_user: Option<Value>,
    pub become_method: Option<Value>,
    pub become_flags: Option<Value>,
    pub ignore_errors: Option<Value>,
    pub ignore_unreachable: Option<Value>,
    pub no_log: Option<Value>,
    pub check_mode: Option<Value>,
    pub diff: Option<Value>,
    pub run_once: Option<Value>,
    pub any_errors_fatal: Option<Value>,
    pub delegate_to: Option<Value>,
    pub delegate_facts: Option<Value>,
    /// `environment:` mappings, outer first (inner keys win).
    pub environment: Vec<Value>,
    pub connection: Option<Value>,
    pub remote_user: Option<Value>,
    pub throttle: Option<Value>,
    pub timeout: Option<Value>,
}

/// A node of a task list.
#[derive(Clone, Debug)]
pub enum TaskNode {
    Task(Arc<Task>),
    Block(Arc<Block>),
}

impl TaskNode {
    pub fn span(&self) -> &Span {
        match self {
            TaskNode::Task(t) => &t.span,
            TaskNode::Block(b) => &b.span,
        }
    }
}

/// `block:` with `rescue:` and `always:`. Also what a role or a static import becomes:
/// a block that carries the role (or the import's keywords) to its children.
#[derive(Clone, Debug)]
pub struct Block {
    pub name: Option<String>,
    pub block: Vec<TaskNode>,
    pub rescue: Vec<TaskNode>,
    pub always: Vec<TaskNode>,
    pub keywords: Keywords,
    pub span: Span,
    /// Set on the block that stands for a role's tasks (or an `import_role`).
    pub role: Option<Arc<RoleUse>>,
}

/// How a loop is given.
#[derive(Clone, Debug)]
pub enum LoopSpec {
    /// `loop:` — the value as written (a list, or a template yielding one).
    Loop(Value),
    /// `with_<lookup>:` — the lookup's name and its terms.
    With(String, Value),
}

/// One task (or handler).
#[derive(Clone, Debug)]
pub struct Task {
    pub name: Option<String>,
    /// The module or action, short name (`copy`, `include_tasks`, `meta`…).
    pub action: String,
    /// The action as written (`ansible.builtin.copy`), for messages.
    pub action_as_written: String,
    /// Raw arguments; a free-form string is in `_raw_params`.
    pub args: Map,
    pub keywords: Keywords,
    pub loop_: Option<LoopSpec>,
    pub loop_control: Map,
    pub register: Option<String>,
    pub changed_when: Vec<Value>,
    pub failed_when: Vec<Value>,
    pub until: Vec<Value>,
    pub retries: Option<Value>,
    pub delay: Option<Value>,
    /// `async:` seconds (run in the background, at most this long) and `poll:` seconds
    /// between checks (0: fire and forget, checked later with `async_status`).
    pub async_: Option<Value>,
    pub poll: Option<Value>,
    pub notify: Vec<String>,
    /// Handlers only: topics this handler also answers to.
    pub listen: Vec<String>,
    pub span: Span,
    /// The file the task was read from (relative includes resolve from its directory).
    pub file: Arc<PathBuf>,
}

impl Task {
    /// The banner name (`role : name`, or the action when unnamed); the role is the
    /// one whose block encloses the task, which the walker knows.
    pub fn display_name(&self, role: Option<&RoleUse>) -> String {
        let name = match (&self.name, self.action.as_str()) {
            (Some(n), _) => n.clone(),
            // Ansible names an unnamed role include after the role.
            (None, "include_role") => match self.args.get("name").or_else(|| self.args.get("role"))
            {
                Some(role) => format!(
                    "{} : {}",
                    self.action_as_written,
                    crate::value::to_display_string(role)
                ),
                None => self.action_as_written.clone(),
            },
            (None, _) => self.action_as_written.clone(),
        };
        match role {
            Some(r) => format!("{} : {}", r.name, name),
            None => name,
        }
    }
}

/// A use of a role: the role as found on disk and the parameters it was given. Its
/// tasks live in the [`Block`] that carries it; its handlers join the play's.
#[derive(Debug)]
pub struct RoleUse {
    /// The name as written (`storage/nfs/server`), shown in task banners.
    pub name: String,
    /// The role's directory (`role_path`).
    pub path: PathBuf,
    /// Role params (`- role: x` extra keys, `include_role` vars): high precedence.
    pub params: Map,
    /// Role defaults of this use: dependencies' first, then the role's own.
    pub defaults_chain: Map,
    /// Role vars of this use: dependencies' first, then the role's own.
    pub vars_chain: Map,
    /// Visible to the whole play (roles in `roles:` and `import_role` are).
    pub public: bool,
}

/// A play.
#[derive(Clone, Debug)]
pub struct Play {
    pub name: Option<String>,
    pub hosts: Value,
    pub span: Span,
    pub keywords: Keywords,
    pub vars_files: Vec<Value>,
    /// `vars_prompt:` entries (`name`, `prompt`, `default`, `private`…), as written.
    pub vars_prompt: Vec<Value>,
    pub gather_facts: Option<Value>,
    pub gather_subset: Option<Value>,
    pub serial: Option<Value>,
    pub strategy: Option<Value>,
    pub max_fail_percentage: Option<Value>,
    pub order: Option<Value>,
    pub force_handlers: Option<Value>,
    pub pre_tasks: Vec<TaskNode>,
    /// The roles of `roles:`, each as a block carrying its `RoleUse`.
    pub roles: Vec<TaskNode>,
    pub tasks: Vec<TaskNode>,
    pub post_tasks: Vec<TaskNode>,
    pub handlers: Vec<TaskNode>,
    /// Every role used by the play whose defaults and vars the play sees.
    pub public_roles: Vec<Arc<RoleUse>>,
    /// The directory of the playbook file the play is in.
    pub dir: PathBuf,
    pub file: Arc<PathBuf>,
}

impl Play {
    /// The banner name: the play's name, else its hosts pattern.
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => match &self.hosts {
                Value::Array(items) => items
                    .iter()
                    .map(crate::value::to_display_string)
                    .collect::<Vec<_>>()
                    .join(","),
                v => crate::value::to_display_string(v),
            },
        }
    }
}
