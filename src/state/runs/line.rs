//! The lines of a run record: one JSON object per line, `"type"` saying which.
//! Written by [`super::writer`], read by [`super::reader`]; `FORMAT` changes when a
//! line changes meaning.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::output::{Stats, Status};

/// The record format's version, in the `run` line.
pub const FORMAT: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Line {
    /// The first line: what was run.
    Run(RunLine),
    /// A play begins; `index` counts plays across all the run's playbooks from 0.
    Play {
        index: usize,
        name: String,
        hosts: Vec<String>,
        at: String,
    },
    /// A task's banner (`place` is `file:line`).
    Task {
        name: String,
        action: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        place: Option<String>,
        #[serde(default)]
        handler: bool,
        at: String,
    },
    /// A host begins a task: the last one without a result is where a killed run stopped.
    HostStart {
        host: String,
        task: String,
        /// The task's place in the host's sequence within the play (1-based; none for
        /// handlers).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        position: Option<usize>,
        at: String,
    },
    Result(ResultLine),
    /// A resumed host reached the task it failed at in the resumed run.
    Resumed {
        host: String,
        task: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        place: Option<String>,
        position: usize,
        skipped: usize,
    },
    Recap {
        stats: IndexMap<String, Stats>,
    },
    /// The last line of a run that ended (a killed run has none).
    End {
        exit_code: i32,
        at: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunLine {
    pub id: String,
    pub format: u32,
    pub srplay: String,
    /// The command line, secrets redacted.
    pub argv: Vec<String>,
    pub cwd: String,
    pub playbooks: Vec<Checksummed>,
    pub inventory: Vec<Checksummed>,
    pub check: bool,
    pub started: String,
    /// The record this run resumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumes: Option<String>,
}

/// A file (or inventory source) and the SHA-256 of its content: of a directory, of its
/// files' names and contents in order; none for a host list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checksummed {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// A host's result for a task (loop items are summed up in the task's result).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultLine {
    pub host: String,
    pub task: String,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
    #[serde(default)]
    pub handler: bool,
    pub status: StatusName,
    #[serde(default)]
    pub ignored: bool,
    pub started: String,
    /// Seconds.
    pub duration: f64,
    /// The failure's message (as shown, so censored under `no_log`); never the result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
}

impl ResultLine {
    /// A failure that counts: not ignored.
    pub fn is_failure(&self) -> bool {
        !self.ignored && matches!(self.status, StatusName::Failed | StatusName::Unreachable)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusName {
    Ok,
    Changed,
    Skipped,
    Failed,
    Unreachable,
}

impl StatusName {
    pub const ALL: [StatusName; 5] = [
        StatusName::Ok,
        StatusName::Changed,
        StatusName::Skipped,
        StatusName::Failed,
        StatusName::Unreachable,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StatusName::Ok => "ok",
            StatusName::Changed => "changed",
            StatusName::Skipped => "skipped",
            StatusName::Failed => "failed",
            StatusName::Unreachable => "unreachable",
        }
    }
}

impl From<Status> for StatusName {
    fn from(s: Status) -> StatusName {
        match s {
            Status::Ok => StatusName::Ok,
            Status::Changed => StatusName::Changed,
            Status::Skipped => StatusName::Skipped,
            Status::Failed => StatusName::Failed,
            Status::Unreachable => StatusName::Unreachable,
        }
    }
}

/// A UTC time as records write it (RFC 3339, milliseconds).
pub fn timestamp(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
