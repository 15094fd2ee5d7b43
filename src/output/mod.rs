//! What a run reports, as typed events, and the sinks that render them: [`human`]
//! prints Ansible's default output shape, [`json`] one JSON object per event
//! (`--output json`), [`progress`] a live view of running hosts on a terminal. Several
//! sinks listen to one run through [`Tee`].

pub mod human;
pub mod json;
pub mod progress;
pub mod prompt;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use indexmap::IndexMap;

use crate::diagnostic::{Error, Span};
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
    /// The result as Ansible would show it (already censored under `no_log`). Left empty
    /// for a quiet result when no sink reads those ([`Output::reads_quiet_results`]).
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

/// Per-host counts for the recap, as the JSON stream and run records also write them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// A host has finished a task (sent from the worker threads, as `HostStart`): its
    /// results follow once every host has finished it.
    HostDone {
        host: &'a str,
        task: &'a str,
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
    /// The run is over (after the recap, or interrupted, or stopped by an error): the
    /// exit code it ends with, and the error that stopped it.
    RunEnd {
        exit_code: i32,
        error: Option<&'a Error>,
    },
}

/// A consumer of run events.
pub trait Output: Send {
    fn event(&mut self, event: &Event<'_>);

    /// Whether the sink reads [`HostResult::result`] of a quiet result: one that went
    /// well (ok, changed or skipped) and is not `verbose_always`. When no sink does, the
    /// engine does not build those maps: a loop of hundreds of items on tens of hosts
    /// would otherwise hold thousands of them until every host has finished the task.
    fn reads_quiet_results(&self) -> bool {
        true
    }
}

impl HostResult {
    /// Ok, changed or skipped, and shown without its result at verbosity 0.
    pub fn is_quiet(status: Status, verbose_always: bool) -> bool {
        matches!(status, Status::Ok | Status::Changed | Status::Skipped) && !verbose_always
    }
}

/// Several sinks listening to one run, each told every event in turn.
pub struct Tee(pub Vec<Box<dyn Output>>);

impl Output for Tee {
    fn event(&mut self, event: &Event<'_>) {
        for sink in &mut self.0 {
            sink.event(event);
        }
    }

    fn reads_quiet_results(&self) -> bool {
        self.0.iter().any(|sink| sink.reads_quiet_results())
    }
}

/// One sink reachable from two owners: the runner, and the command line that reports
/// the end of a run the runner never started (a playbook that does not load).
#[derive(Clone)]
pub struct Shared(Arc<Mutex<Box<dyn Output>>>);

impl Shared {
    pub fn new(sink: Box<dyn Output>) -> Shared {
        Shared(Arc::new(Mutex::new(sink)))
    }
}

impl Output for Shared {
    fn event(&mut self, event: &Event<'_>) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .event(event);
    }

    fn reads_quiet_results(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .reads_quiet_results()
    }
}

/// How a run is reported on stdout (`--output`, `SRPLAY_OUTPUT`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Ansible's default output.
    #[default]
    Human,
    /// One JSON object per event (docs/events.md); the human output goes to stderr.
    Json,
}

/// The sinks a run reports to: the human output (on stdout, or on stderr under
/// `--output json`), the JSON stream, and the live view when stderr is a terminal.
/// Off a terminal the human output is exactly what it is without the view.
pub fn for_run(format: Format, verbosity: u8, show_diff: bool) -> Tee {
    let view = progress::wanted().then(progress::view);
    // Every stream goes around the view when there is one.
    let stream = |w: Box<dyn std::io::Write + Send>| -> Box<dyn std::io::Write + Send> {
        match &view {
            Some(view) => Box::new(progress::AroundView::new(view.clone(), w)),
            None => w,
        }
    };
    let stderr = || stream(Box::new(std::io::stderr()));
    let mut sinks: Vec<Box<dyn Output>> = match format {
        Format::Human => vec![Box::new(HumanOutput::with_streams(
            verbosity,
            show_diff,
            console::colors_enabled(),
            stream(Box::new(std::io::stdout())),
            stderr(),
        ))],
        Format::Json => vec![
            Box::new(HumanOutput::with_streams(
                verbosity,
                show_diff,
                console::colors_enabled_stderr(),
                stderr(),
                stderr(),
            )),
            Box::new(json::JsonOutput::new(
                show_diff,
                stream(Box::new(std::io::stdout())),
            )),
        ],
    };
    if let Some(view) = view {
        sinks.push(Box::new(progress::Progress::start(view)));
    }
    Tee(sinks)
}

/// What the sinks' unit tests write into.
#[cfg(test)]
pub(crate) mod testing {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    /// A writer whose clones share one buffer: give a sink one, read the other.
    #[derive(Clone, Default)]
    pub struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Buf {
        pub fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
