//! The engine: runs plays over hosts. Concurrency lives here alone: a task runs on
//! the play's hosts in parallel on a pool of `--forks` threads, then the results are
//! applied and reported in inventory order (a per-task barrier: Ansible's `linear`).

mod actions;
mod async_job;
mod frame;
mod host;
mod loops;
mod options;
mod play;
mod result;
mod resume;
mod tags;
mod task;
mod templating;
mod walk;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use indexmap::{IndexMap, IndexSet};

use crate::diagnostic::{Error, Result};
use crate::inventory::Inventory;
use crate::output::{Event, Output, Stats};
use crate::playbook::{Loader, Playbook};
use crate::template::Templar;

pub use host::{HostState, connect};
pub use options::RunOptions;
pub use resume::{ResumePlan, ResumePoint};
pub use tags::TagFilter;

/// Exit codes of ansible-playbook.
pub mod exit {
    pub const OK: i32 = 0;
    pub const ERROR: i32 = 1;
    /// A command line that does not parse (argparse's code in ansible-playbook).
    pub const USAGE: i32 = 2;
    pub const HOST_FAILED: i32 = 2;
    pub const HOST_UNREACHABLE: i32 = 4;
    pub const USER_INTERRUPTED: i32 = 99;
}

/// One run of one or more playbooks.
pub struct Runner {
    pub opts: RunOptions,
    pub(crate) inventory: RwLock<Inventory>,
    pub(crate) templar: Templar,
    pub(crate) loader: Loader,
    out: Mutex<Box<dyn Output>>,
    /// Some sink reads the result maps of quiet results (`Output::reads_quiet_results`).
    pub(crate) quiet_results_read: bool,
    pub(crate) pool: rayon::ThreadPool,
    pub(crate) hosts: Mutex<IndexMap<String, Arc<Mutex<HostState>>>>,
    stats: Mutex<IndexMap<String, Stats>>,
    /// Hosts that failed or were unreachable: later plays leave them out.
    dead: Mutex<IndexSet<String>>,
    pub(crate) tags: TagFilter,
    /// `--start-at-task` found (or not asked for).
    pub(crate) started: AtomicBool,
    /// `any_errors_fatal` fired: no further play starts.
    pub(crate) abort: AtomicBool,
    /// A host failed without a failure in its recap (it stood for a failed `run_once`
    /// task another host ran): the exit code still says a host failed, as Ansible's does.
    pub(crate) uncounted_failure: AtomicBool,
    /// Connections to `delegate_to` hosts, kept for the run like the hosts' own.
    pub(crate) delegates: Mutex<IndexMap<String, SharedConnection>>,
    /// Plays started so far, across playbooks: a play's index in the run.
    pub(crate) plays: AtomicUsize,
    /// `--resume`: where each resumed host goes on (the run is limited to them).
    pub(crate) resume: Option<ResumePlan>,
    pub(crate) resume_progress: Mutex<resume::Progress>,
    /// Why resuming stopped the run (the playbook changed under the record).
    pub(crate) resume_error: Mutex<Option<Error>>,
}

/// A connection several hosts' tasks may use in turn (one step at a time).
pub(crate) type SharedConnection = Arc<Mutex<Box<dyn crate::connection::Connection>>>;

impl Runner {
    pub fn new(
        opts: RunOptions,
        inventory: Inventory,
        loader: Loader,
        out: Box<dyn Output>,
    ) -> Result<Runner> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.forks.max(1))
            .thread_name(|i| format!("srplay-fork-{i}"))
            .build()
            .map_err(|e| Error::other(format!("could not start the worker pool: {e}")))?;
        Ok(Runner {
            tags: TagFilter::new(&opts.tags, &opts.skip_tags),
            started: AtomicBool::new(opts.start_at_task.is_none()),
            opts,
            inventory: RwLock::new(inventory),
            templar: Templar::new(),
            loader,
            quiet_results_read: out.reads_quiet_results(),
            out: Mutex::new(out),
            pool,
            hosts: Mutex::new(IndexMap::new()),
            stats: Mutex::new(IndexMap::new()),
            dead: Mutex::new(IndexSet::new()),
            abort: AtomicBool::new(false),
            uncounted_failure: AtomicBool::new(false),
            delegates: Mutex::new(IndexMap::new()),
            plays: AtomicUsize::new(0),
            resume: None,
            resume_progress: Mutex::new(resume::Progress::default()),
            resume_error: Mutex::new(None),
        })
    }

    /// Run only the plan's hosts, each from its resume point on.
    pub fn resuming(mut self, plan: ResumePlan) -> Runner {
        self.resume = Some(plan);
        self
    }

    pub fn emit(&self, event: &Event<'_>) {
        self.out
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .event(event);
    }

    pub(crate) fn warn(&self, msg: &str) {
        self.emit(&Event::Warning(msg));
    }

    pub(crate) fn stat(&self, host: &str, f: impl FnOnce(&mut Stats)) {
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        f(stats.entry(host.to_string()).or_default());
    }

    pub(crate) fn is_dead(&self, host: &str) -> bool {
        self.dead
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(host)
    }

    pub(crate) fn mark_dead(&self, host: &str) {
        self.dead
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(host.to_string());
    }

    /// Run every play of a playbook. Errors that stop the run (a bad play, a bad
    /// pattern) are returned; host failures only show in the recap and exit code.
    pub fn run_playbook(&self, playbook: &Playbook) -> Result<()> {
        for play in &playbook.plays {
            if self.stopped() {
                break;
            }
            play::PlayRun::run(self, play)?;
            if let Some(e) = self
                .resume_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
            {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Print the recap and decide the exit code as ansible-playbook does.
    pub fn finish(&self) -> i32 {
        let stats = self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone();
        self.emit(&Event::Recap { stats: &stats });
        if stats.values().any(|s| s.unreachable > 0) {
            exit::HOST_UNREACHABLE
        } else if stats.values().any(|s| s.failed > 0)
            || self.uncounted_failure.load(Ordering::Relaxed)
        {
            exit::HOST_FAILED
        } else {
            exit::OK
        }
    }

    /// The shared state of a host, created when the host first takes part in a play.
    pub(crate) fn host(&self, name: &str) -> Arc<Mutex<HostState>> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts
            .entry(name.to_string())
            .or_insert_with(|| Arc::new(Mutex::new(HostState::new(name))))
            .clone()
    }

    /// The run stops starting plays: interrupted, or a fatal error.
    pub fn stopped(&self) -> bool {
        self.abort.load(Ordering::Relaxed) || self.interrupted()
    }

    pub(crate) fn interrupted(&self) -> bool {
        crate::interrupt::requested()
    }
}
