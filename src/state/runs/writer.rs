//! The record sink: one JSON line per event, written as it comes.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::line::{Checksummed, FORMAT, Line, ResultLine, RunLine, timestamp};
use super::{new_id, prune, record_path};
use crate::diagnostic::{Error, ErrorKind, Result};
use crate::output::{Event, HostResult, Output, RunInfo, Status};
use crate::value::to_display_string;

/// How much of a failed command's stderr a record keeps beside the message.
const STDERR_KEPT: usize = 500;

/// Writes one run's record (see the module docs of `state::runs`).
pub struct RecordWriter {
    pub id: String,
    pub path: PathBuf,
    /// `None` once a write failed (reported once; the run goes on without its record).
    file: Option<File>,
    resumes: Option<String>,
    plays: usize,
    task: Option<TaskRow>,
    /// Each host's position in the task it started last.
    positions: HashMap<String, Option<usize>>,
}

struct TaskRow {
    name: String,
    action: String,
    place: Option<String>,
    handler: bool,
}

impl RecordWriter {
    /// Start a record in `dir` (created 0700): the file exists, 0600, locked, from here.
    pub fn create(dir: &Path, resumes: Option<String>) -> Result<RecordWriter> {
        crate::state::store::private_dir(dir)?;
        let id = new_id();
        let path = record_path(dir, &id);
        let file = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .create_new(true)
                .append(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| Error::io(&path, &e))?
        };
        file.try_lock().map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("could not lock the run record {}: {e}", path.display()),
            )
        })?;
        prune(dir);
        Ok(RecordWriter {
            id,
            path,
            file: Some(file),
            resumes,
            plays: 0,
            task: None,
            positions: HashMap::new(),
        })
    }

    fn write(&mut self, line: &Line) {
        let Some(file) = &mut self.file else { return };
        let mut text = serde_json::to_string(line).unwrap_or_default();
        text.push('\n');
        // One write per line: a kill tears at most the line being written.
        if let Err(e) = file.write_all(text.as_bytes()) {
            eprintln!(
                "[WARNING]: the run record {} cannot be written ({e}): the run goes on without it",
                self.path.display()
            );
            self.file = None;
        }
    }

    fn run_line(&self, info: &RunInfo) -> RunLine {
        let cwd = std::env::current_dir().unwrap_or_default();
        RunLine {
            id: self.id.clone(),
            format: FORMAT,
            srplay: env!("CARGO_PKG_VERSION").to_string(),
            argv: super::redact_argv(&info.argv),
            cwd: cwd.display().to_string(),
            playbooks: info
                .playbooks
                .iter()
                .map(|p| checksummed(&cwd.join(p)))
                .collect(),
            inventory: super::canonical_sources(&info.inventory, &cwd)
                .iter()
                .map(|s| checksummed(Path::new(s)))
                .collect(),
            check: info.check,
            started: timestamp(info.started),
            resumes: self.resumes.clone(),
        }
    }

    fn result_line(&self, r: &HostResult) -> ResultLine {
        let (task, action, place, handler) = match &self.task {
            Some(t) => (t.name.clone(), t.action.clone(), t.place.clone(), t.handler),
            None => (String::new(), String::new(), None, false),
        };
        ResultLine {
            host: r.host.clone(),
            task,
            action,
            place: place.or_else(|| r.span.as_ref().map(place_of)),
            position: self.positions.get(&r.host).copied().flatten(),
            handler,
            status: r.status.into(),
            ignored: r.ignored,
            started: timestamp(r.started),
            duration: (r.duration.as_secs_f64() * 1000.0).round() / 1000.0,
            msg: matches!(r.status, Status::Failed | Status::Unreachable)
                .then(|| failure_message(r)),
        }
    }
}

impl Output for RecordWriter {
    /// A record keeps the message of failures only.
    fn reads_quiet_results(&self) -> bool {
        false
    }

    fn event(&mut self, event: &Event<'_>) {
        let now = || timestamp(std::time::SystemTime::now());
        let line = match event {
            Event::RunStart(info) => Line::Run(self.run_line(info)),
            Event::PlayStart { name, hosts } => {
                self.plays += 1;
                self.positions.clear();
                Line::Play {
                    index: self.plays - 1,
                    name: name.to_string(),
                    hosts: hosts.to_vec(),
                    at: now(),
                }
            }
            Event::TaskStart(t) => {
                let row = TaskRow {
                    name: t.name.to_string(),
                    action: t.action.to_string(),
                    place: t.span.map(place_of),
                    handler: t.handler,
                };
                let line = Line::Task {
                    name: row.name.clone(),
                    action: row.action.clone(),
                    place: row.place.clone(),
                    handler: row.handler,
                    at: now(),
                };
                self.task = Some(row);
                line
            }
            Event::HostStart {
                host,
                task,
                position,
            } => {
                self.positions.insert(host.to_string(), *position);
                Line::HostStart {
                    host: host.to_string(),
                    task: task.to_string(),
                    position: *position,
                    at: now(),
                }
            }
            // Loop items are summed up in the task's result that follows them.
            Event::Result(r) if r.item_label.is_some() && !r.is_loop_summary => return,
            Event::Result(r) => Line::Result(self.result_line(r)),
            Event::Resumed {
                host,
                task,
                span,
                position,
                skipped,
            } => Line::Resumed {
                host: host.to_string(),
                task: task.to_string(),
                place: span.map(place_of),
                position: *position,
                skipped: *skipped,
            },
            Event::Recap { stats } => Line::Recap {
                stats: (*stats).clone(),
            },
            Event::RunEnd { exit_code, .. } => {
                self.write(&Line::End {
                    exit_code: *exit_code,
                    at: now(),
                });
                if let Some(f) = &self.file {
                    let _ = f.sync_all();
                }
                return;
            }
            _ => return,
        };
        self.write(&line);
    }
}

/// `file:line` of a task.
fn place_of(span: &crate::diagnostic::Span) -> String {
    format!("{}:{}", span.path().display(), span.line)
}

/// A failure's message as shown, with the start of the command's stderr when it has one.
fn failure_message(r: &HostResult) -> String {
    let msg = r
        .result
        .get("msg")
        .map(to_display_string)
        .unwrap_or_else(|| "failed".into());
    match r.result.get("stderr").map(to_display_string) {
        Some(err) if !err.trim().is_empty() => {
            let err: String = err.trim().chars().take(STDERR_KEPT).collect();
            format!("{msg}: {err}")
        }
        _ => msg,
    }
}

/// A path with the SHA-256 of its content (of a directory: of every file's relative
/// name and content, hidden entries left out as Ansible's inventory reader does).
pub(super) fn checksummed(path: &Path) -> Checksummed {
    let mut hasher = Sha256::new();
    let hashed = if path.is_dir() {
        hash_dir(path, path, &mut hasher)
    } else {
        std::fs::read(path)
            .map(|bytes| hasher.update(&bytes))
            .is_ok()
    };
    Checksummed {
        path: path.display().to_string(),
        sha256: hashed.then(|| crate::modules::files::hex(&hasher.finalize())),
    }
}

fn hash_dir(root: &Path, dir: &Path, hasher: &mut Sha256) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            hash_dir(root, &p, hasher);
        } else if let Ok(bytes) = std::fs::read(&p) {
            let name = p.strip_prefix(root).unwrap_or(&p).display().to_string();
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update(&bytes);
        }
    }
    true
}
