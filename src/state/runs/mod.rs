//! Run records: every playbook run (and every `srplay node` run) writes
//! `.srplay/runs/<ID>.jsonl` beside its inventory, one JSON line per thing that
//! happened, so that `srplay runs list|show` can say what happened on which host and
//! `--resume` can go on from where a run stopped. See `docs/records.md`.
//!
//! - The directory: beside the first inventory file, inside the first inventory
//!   directory, else (a host list, no inventory) in the current directory. It is
//!   created 0700, records 0600: they name hosts and tasks.
//! - The ID sorts as the runs started: UTC time to the millisecond, then random hex.
//! - A record is appended to line by line with no buffering, and holds an exclusive
//!   `flock` while its run goes on: a record without an `end` line whose lock is free was
//!   killed. A SIGKILL can tear the last line only; the reader skips it.
//! - The newest [`KEPT`] records of a directory are kept; older ones are removed when a
//!   run starts.

mod line;
mod reader;
mod redact;
mod resume;
mod writer;

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::diagnostic::{Error, Result};

pub use line::{Line, ResultLine, RunLine, StatusName};
pub use reader::{HostSummary, Outcome, Record};
pub use redact::{is_secret_name, redact_argv};
pub use resume::{check_same_run, plan, unfinished};
pub use writer::RecordWriter;

/// How many records a runs directory keeps.
pub const KEPT: usize = 200;

const SUFFIX: &str = ".jsonl";

/// The runs directory for these inventory sources, as a run started in `cwd` sees them.
pub fn runs_dir(sources: &[String], cwd: &Path) -> PathBuf {
    let base = match sources.first().map(|s| cwd.join(s)) {
        Some(p) if p.is_dir() => p,
        Some(p) if p.is_file() => p
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| cwd.to_path_buf()),
        _ => cwd.to_path_buf(),
    };
    base.join(".srplay").join("runs")
}

/// Start the record of a run of these inventory sources. A record that cannot be
/// written (a read-only inventory directory such as `/etc/ansible`) does not stop the
/// run: it is said on stderr, and the run goes on unrecorded.
pub fn start_record(
    sources: &[String],
    cwd: &Path,
    resumes: Option<String>,
) -> Option<RecordWriter> {
    let dir = runs_dir(sources, cwd);
    match RecordWriter::create(&dir, resumes) {
        Ok(w) => Some(w),
        Err(e) => {
            eprintln!("[WARNING]: this run is not recorded: {}", e.message);
            None
        }
    }
}

/// The inventory sources as a record names them: absolute paths for files and
/// directories, host lists as given.
pub fn canonical_sources(sources: &[String], cwd: &Path) -> Vec<String> {
    sources
        .iter()
        .map(|s| {
            fs::canonicalize(cwd.join(s))
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| s.clone())
        })
        .collect()
}

/// A new record ID: `20261123T093324.123Z-3f9a`.
fn new_id() -> String {
    format!(
        "{}-{:04x}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
        fastrand::u16(..)
    )
}

/// The IDs of the records in `dir`, oldest first.
pub fn ids(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(SUFFIX)
                .filter(|id| id.starts_with(|c: char| c.is_ascii_digit()))
                .map(str::to_string)
        })
        .collect();
    ids.sort();
    ids
}

pub fn record_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}{SUFFIX}"))
}

/// Every readable record of `dir`, oldest first (a record that cannot be opened is
/// left out with a warning on stderr).
pub fn read_all(dir: &Path) -> Vec<Record> {
    ids(dir)
        .into_iter()
        .filter_map(|id| match Record::read(&record_path(dir, &id)) {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("[WARNING]: {e}");
                None
            }
        })
        .collect()
}

/// The record `id` of `dir` (a unique prefix is enough).
pub fn find(dir: &Path, id: &str) -> Result<Record> {
    let all = ids(dir);
    let matching: Vec<&String> = all.iter().filter(|i| i.starts_with(id)).collect();
    match matching.as_slice() {
        [one] => Record::read(&record_path(dir, one)),
        [] => Err(
            Error::options(format!("no run record '{id}' in {}", dir.display()))
                .with_hint("`srplay runs list -i INVENTORY` lists the records of an inventory"),
        ),
        many => Err(Error::options(format!(
            "'{id}' matches {} run records: {}",
            many.len(),
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Whether a run holds the record's lock (it is still going on).
fn is_locked(file: &File) -> bool {
    matches!(file.try_lock_shared(), Err(fs::TryLockError::WouldBlock))
}

/// Remove the oldest records beyond [`KEPT`], but never one whose run goes on.
fn prune(dir: &Path) {
    let all = ids(dir);
    let excess = all.len().saturating_sub(KEPT);
    for id in &all[..excess] {
        let path = record_path(dir, id);
        if let Ok(f) = File::open(&path)
            && !is_locked(&f)
        {
            let _ = fs::remove_file(&path);
        }
    }
}

/// Mark which records a later successful run resumed (directly, or through a chain of
/// resumed runs): `runs list` shows them as `resumed`.
pub fn mark_resumed(records: &mut [Record]) {
    for i in (0..records.len()).rev() {
        let done = matches!(records[i].outcome(), Outcome::Ok | Outcome::Resumed);
        let Some(old) = records[i].run.as_ref().and_then(|r| r.resumes.clone()) else {
            continue;
        };
        if done && let Some(r) = records[..i].iter_mut().find(|r| r.id == old) {
            r.resumed = true;
        }
    }
}
