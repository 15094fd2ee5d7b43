//! What running a task on one host produced, before it is reported and applied:
//! the results to show, the counts, and the effects on the run (register, facts,
//! includes, meta actions, inventory changes).

use std::path::PathBuf;

use crate::connection::Connection;
use crate::diagnostic::Span;
use crate::modules::{Diff, ModuleResult};
use crate::output::{HostResult, Status};
use crate::playbook::RoleFiles;
use crate::value::{Map, Value};

/// A change to the run that the engine applies after the task.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// `include_tasks`: the file, the variables its tasks get, the keywords `apply:`
    /// gives them, and the loop item it was included for.
    IncludeTasks {
        path: PathBuf,
        params: Map,
        apply: Map,
        label: Option<String>,
    },
    IncludeRole {
        name: String,
        params: Map,
        apply: Map,
        files: RoleFiles,
        span: Span,
        public: bool,
        label: Option<String>,
    },
    Meta(String),
    AddHost {
        name: String,
        groups: Vec<String>,
        vars: Map,
    },
    GroupBy {
        group: String,
        parents: Vec<String>,
    },
}

impl Effect {
    /// Record the loop item an include was made for (shown as `=> (item=...)`).
    pub fn set_label(&mut self, item: String) {
        if let Effect::IncludeTasks { label, .. } | Effect::IncludeRole { label, .. } = self {
            *label = Some(item);
        }
    }

    pub fn is_include(&self) -> bool {
        matches!(
            self,
            Effect::IncludeTasks { .. } | Effect::IncludeRole { .. }
        )
    }
}

/// The outcome of one task on one host.
pub struct HostOutcome {
    pub host: String,
    /// Per-item results (for loops) and the task's own result, in the order shown.
    pub events: Vec<HostResult>,
    pub status: Status,
    /// Failed and not ignored.
    pub failed: bool,
    pub ignored: bool,
    pub changed: bool,
    /// The result as `register` stores it.
    pub result: Value,
    /// `set_fact` values (non-persistent facts).
    pub set_facts: Option<Map>,
    pub include_vars: Option<Map>,
    pub gathered_facts: Option<Map>,
    pub effects: Vec<Effect>,
    /// The connection, handed back to the host's state.
    pub conn: Option<Box<dyn Connection>>,
}

/// A module's result as Ansible's result dict: its data, `changed`, `failed`, `msg`,
/// `skipped` and `diff`.
pub fn module_result_map(r: &ModuleResult) -> Map {
    let mut m = r.data.clone();
    m.insert("changed".into(), Value::Bool(r.changed));
    if let Some(msg) = &r.msg {
        m.insert("msg".into(), Value::String(msg.clone()));
    }
    if r.skipped {
        m.insert("skipped".into(), Value::Bool(true));
    }
    m.insert("failed".into(), Value::Bool(r.failed));
    match r.diff.as_slice() {
        [] => {}
        [one] if !r.diff_list => {
            m.insert("diff".into(), one.to_value());
        }
        all => {
            m.insert(
                "diff".into(),
                Value::Array(all.iter().map(Diff::to_value).collect()),
            );
        }
    }
    m
}

/// What Ansible shows of a result: internal keys dropped, `no_log` censored.
pub fn display_map(result: &Map, no_log: bool, action: &str, status: Status) -> Map {
    if no_log {
        let mut m = Map::new();
        m.insert("censored".into(), Value::String("the output has been hidden due to the fact that 'no_log: true' was specified for this result".into()));
        if let Some(c) = result.get("changed")
            && status != Status::Skipped
        {
            m.insert("changed".into(), c.clone());
        }
        return m;
    }
    let mut m: Map = result
        .iter()
        .filter(|(k, _)| !k.starts_with("_ansible") && *k != "invocation" && *k != "diff")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    m.remove("failed");
    if action == "debug" {
        m.remove("changed");
    }
    if status == Status::Skipped {
        m.remove("changed");
        m.remove("skipped");
        m.remove("skip_reason");
    }
    m
}

/// The `(item=...)` label: the item as Python prints it, or `loop_control.label`.
pub fn item_label(item: &Value) -> String {
    crate::value::to_display_string(item)
}
