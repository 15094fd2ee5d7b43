//! What a run reports, as typed events, and the sinks that render them: [`human`]
//! prints Ansible's default output shape. Several sinks can listen to one run through
//! [`Tee`] (human output, a JSON stream, the run record, a progress view).

pub mod human;
pub mod prompt;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

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
    /// When the host started the task, and how long the task took on it (for a loop
    /// item: from the task's start to the item's end).
    pub started: SystemTime,
    pub duration: Duration,
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

/// What a run was asked to do: told to sinks before anything runs.
#[derive(Clone, Debug)]
pub struct RunInfo {
    /// The command line as given (sinks that store it must redact secrets).
    pub argv: Vec<String>,
    pub playbooks: Vec<PathBuf>,
    /// The inventory sources, as given with `-i` or found in the config.
    pub inventory: Vec<String>,
    pub check: bool,
    pub started: SystemTime,
}

/// The task a `TaskStart` announces.
#[derive(Clone, Copy, Debug)]
pub struct TaskInfo<'a> {
    /// The banner title (role prefix, templated name, or the action).
    pub name: &'a str,
    pub action: &'a str,
    /// Where the task is written.
    pub span: Option<&'a Span>,
    pub handler: bool,
}

/// Everything a sink is told, in order.
#[derive(Debug)]
pub enum Event<'a> {
    RunStart(&'a RunInfo),
    PlayStart {
        name: &'a str,
        /// The hosts the play runs on (after `--limit`).
        hosts: &'a [String],
    },
    NoHostsMatched,
    TaskStart(TaskInfo<'a>),
    /// A host begins a task (sent from the worker threads, in no particular order;
    /// the results still come in order as `Result`).
    HostStart {
        host: &'a str,
        task: &'a str,
        /// The task's place in the host's sequence within the play (from 1; `None`
        /// for handlers): how `--resume` finds it again.
        position: Option<usize>,
    },
    /// `--resume`: a host reached the task it stopped at, having skipped `skipped` tasks.
    Resumed {
        host: &'a str,
        task: &'a str,
        span: Option<&'a Span>,
        position: usize,
        skipped: usize,
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
    /// The run is over (after the recap, or interrupted): the exit code it ends with.
    RunEnd {
        exit_code: i32,
    },
}

/// A consumer of run events.
pub trait Output: Send {
    fn event(&mut self, event: &Event<'_>);
}

/// Several sinks listening to one run, each told every event in turn.
pub struct Tee(pub Vec<Box<dyn Output>>);

impl Output for Tee {
    fn event(&mut self, event: &Event<'_>) {
        for sink in &mut self.0 {
            sink.event(event);
        }
    }
}
