//! What a run reports, as typed events, and the sinks that render them: [`human`]
//! prints Ansible's default output shape. A JSON sink can be added beside it.

pub mod human;
pub mod prompt;

use indexmap::IndexMap;

use crate::diagnostic::Span;
use crate::modules::Diff;
use crate::value::Map;

pub use human::HumanOutput;

/// How one host's task (or loop item) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    Changed,
    Skipped,
    Failed,
    Unreachable,
}

/// One host's result for a task, or for one item of a looped task.
#[derive(Clone, Debug)]
pub struct HostResult {
    pub host: String,
    pub delegated_to: Option<String>,
    pub status: Status,
    /// A failure that `ignore_errors` let pass.
    pub ignored: bool,
    /// `(item=...)` label for loop items.
    pub item_label: Option<String>,
    /// Whether this is the aggregate result of a looped task (items were reported already).
    pub is_loop_summary: bool,
    /// The result as Ansible would show it (already censored under `no_log`).
    pub result: Map,
    /// The action always shows its result (as `debug`).
    pub verbose_always: bool,
    pub diff: Vec<Diff>,
    /// Where the task is, for the failure context.
    pub span: Option<Span>,
}

/// Per-host counts for the recap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

/// Everything a sink is told, in order.
#[derive(Debug)]
pub enum Event<'a> {
    PlayStart {
        name: &'a str,
    },
    NoHostsMatched,
    TaskStart {
        name: &'a str,
        handler: bool,
    },
    /// `include_tasks` resolved a file for some hosts.
    Included {
        file: &'a str,
        hosts: &'a [String],
        /// The loop item the include was made for.
        label: Option<&'a str>,
    },
    Result(&'a HostResult),
    Warning(&'a str),
    /// An `until` condition did not hold yet; the task runs again.
    Retry {
        host: &'a str,
        task: &'a str,
        retries_left: usize,
    },
    Recap {
        stats: &'a IndexMap<String, Stats>,
    },
}

/// A consumer of run events.
pub trait Output: Send {
    fn event(&mut self, event: &Event<'_>);
}
