//! `--resume`: hosts go on from the task where an earlier run stopped them.
//!
//! A task is known by its *position*: the how-manieth task a host took part in within a
//! play (handlers aside), counted the same way in every run, plus its name and action
//! as a check. Before its resume point a host skips tasks, except those that only
//! change what the controller knows and that later tasks may need: facts, `set_fact`,
//! `include_vars`, `add_host`, `group_by` and the dynamic includes (whose tasks are
//! counted as they were). At its point the task must still be the one recorded (same
//! action and name; its arguments may have changed), else the run stops with an error.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use indexmap::IndexMap;

use super::play::PlayRun;
use crate::diagnostic::Error;
use crate::output::Event;
use crate::playbook::Task;

/// Where one host goes on.
#[derive(Clone, Debug, PartialEq)]
pub struct ResumePoint {
    /// The play's index in the run (across its playbooks, from 0).
    pub play: usize,
    /// The task's position in the host's sequence within the play (from 1).
    pub position: usize,
    pub task: String,
    /// The task's action and `file:line`, when the record knows them.
    pub action: Option<String>,
    pub place: Option<String>,
}

/// The hosts to resume, each with its point.
pub type ResumePlan = IndexMap<String, ResumePoint>;

/// Actions that run on a host even before its resume point.
const KEPT_WHILE_SKIPPING: [&str; 8] = [
    "setup",
    "gather_facts",
    "set_fact",
    "include_vars",
    "add_host",
    "group_by",
    "include_tasks",
    "include_role",
];

/// How far each resumed host got: tasks skipped so far, and whether it reached its point.
#[derive(Default)]
pub(crate) struct Progress {
    skipped: HashMap<String, usize>,
    reached: HashMap<String, bool>,
}

impl PlayRun<'_> {
    /// Count the task for each active host, and leave out the resumed hosts that have
    /// not reached their point. Returns each host's position and the hosts that run it.
    pub(crate) fn count_and_resume(
        &self,
        task: &Arc<Task>,
        title: &str,
        active: Vec<String>,
    ) -> (HashMap<String, usize>, Vec<String>) {
        let positions: HashMap<String, usize> = {
            let mut counted = self.positions.lock().unwrap_or_else(|e| e.into_inner());
            active
                .iter()
                .map(|h| {
                    let n = counted.entry(h.clone()).or_default();
                    *n += 1;
                    (h.clone(), *n)
                })
                .collect()
        };
        let Some(plan) = &self.r.resume else {
            return (positions, active);
        };
        let mut progress = self
            .r
            .resume_progress
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut running = Vec::with_capacity(active.len());
        for host in active {
            let Some(point) = plan.get(&host) else {
                running.push(host);
                continue;
            };
            if progress.reached.get(&host).copied().unwrap_or(false) {
                running.push(host);
                continue;
            }
            let position = positions[&host];
            let before =
                self.index < point.play || (self.index == point.play && position < point.position);
            if before {
                if KEPT_WHILE_SKIPPING.contains(&task.action.as_str()) {
                    running.push(host);
                } else {
                    *progress.skipped.entry(host).or_default() += 1;
                }
                continue;
            }
            if let Err(e) = same_task(&host, point, task, title) {
                drop(progress);
                self.stop_resume(e);
                return (positions, Vec::new());
            }
            progress.reached.insert(host.clone(), true);
            let skipped = progress.skipped.get(&host).copied().unwrap_or(0);
            self.r.emit(&Event::Resumed {
                host: &host,
                task: title,
                span: Some(&task.span),
                position,
                skipped,
            });
            running.push(host);
        }
        (positions, running)
    }

    /// After a play: a resumed host whose point was in it and that did not reach it
    /// means the playbook changed.
    pub(crate) fn check_resume_reached(&self) {
        let Some(plan) = &self.r.resume else { return };
        let missed: Option<(String, ResumePoint)> = {
            let progress = self
                .r
                .resume_progress
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            plan.iter()
                .filter(|(h, p)| p.play == self.index && state.contains_key(*h))
                .filter(|(h, _)| state.get(*h).is_some_and(|s| !s.failed && !s.unreachable))
                .find(|(h, _)| !progress.reached.get(*h).copied().unwrap_or(false))
                .map(|(h, p)| (h.clone(), p.clone()))
        };
        if let Some((host, point)) = missed {
            let counted = self
                .positions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&host)
                .copied()
                .unwrap_or(0);
            self.stop_resume(
                Error::other(format!(
                    "cannot resume {host}: it stopped at task {} of play {} ('{}'{}), but that play now has {counted} task{} for it",
                    point.position,
                    point.play + 1,
                    point.task,
                    describe(&point),
                    if counted == 1 { "" } else { "s" },
                ))
                .with_hint(resume_hint(&host, &point)),
            );
        }
    }

    fn stop_resume(&self, e: Error) {
        let mut slot = self
            .r
            .resume_error
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert(e);
        self.r.abort.store(true, Ordering::Relaxed);
        self.end_play.store(true, Ordering::Relaxed);
    }
}

/// The task at a host's resume point is the one the record names: the same action
/// (when known) and the same name.
fn same_task(host: &str, point: &ResumePoint, task: &Task, title: &str) -> Result<(), Error> {
    // Not by place: an edit above the task moves it, and another task may land there.
    if point.action.as_deref().is_none_or(|a| a == task.action) && point.task == title {
        return Ok(());
    }
    let place = format!("{}:{}", task.span.path().display(), task.span.line);
    Err(Error::other(format!(
        "cannot resume {host}: task {} of play {} was '{}'{} and is now '{title}' ({}, {place}): the playbook changed before the task where it stopped",
        point.position,
        point.play + 1,
        point.task,
        describe(point),
        task.action,
    ))
    .with_hint(resume_hint(host, point)))
}

fn describe(point: &ResumePoint) -> String {
    let parts: Vec<&str> = [point.action.as_deref(), point.place.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

fn resume_hint(host: &str, point: &ResumePoint) -> String {
    format!(
        "run it from a task by name instead: `--limit {host} --start-at-task '{}'`",
        point.task
    )
}
