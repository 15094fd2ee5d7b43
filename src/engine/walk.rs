//! Walking the task tree for a set of hosts: blocks with rescue and always, tasks
//! run across hosts with a barrier after each, and dynamic includes expanded per
//! host and run for the hosts that included the same file.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use rayon::prelude::*;

use super::frame::Frame;
use super::play::PlayRun;
use super::result::{Effect, HostOutcome};
use crate::output::{Event, Status, TaskInfo};
use crate::playbook::{Block, Task, TaskNode};
use crate::template::Scope;
use crate::value::{self, Value};

impl PlayRun<'_> {
    pub fn run_list(&self, nodes: &[TaskNode], frame: &Arc<Frame>, hosts: &[String]) {
        for node in nodes {
            if self.active(hosts).is_empty() || self.r.interrupted() {
                return;
            }
            match node {
                TaskNode::Task(t) => self.run_task(t, frame, hosts, false),
                TaskNode::Block(b) => self.run_block(b, frame, hosts),
            }
        }
    }

    fn run_block(&self, b: &Arc<Block>, frame: &Arc<Frame>, hosts: &[String]) {
        let entered = self.active(hosts);
        if entered.is_empty() {
            return;
        }
        let body = Frame::child(
            frame,
            b.keywords.clone(),
            b.role.clone(),
            !b.rescue.is_empty(),
        );
        self.run_list(&b.block, &body, &entered);
        let failed: Vec<String> = {
            let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            entered
                .iter()
                .filter(|h| {
                    state
                        .get(*h)
                        .is_some_and(|s| s.failed && !s.unreachable && !s.failed_by_run_once)
                })
                .cloned()
                .collect()
        };
        let plain = Frame::child(frame, b.keywords.clone(), b.role.clone(), false);
        if !b.rescue.is_empty() && !failed.is_empty() {
            {
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                for h in &failed {
                    if let Some(s) = state.get_mut(h) {
                        s.failed = false;
                    }
                }
            }
            self.refresh_magic();
            self.run_list(&b.rescue, &plain, &failed);
        }
        if !b.always.is_empty() && !self.end_play.load(Ordering::Relaxed) {
            // `always` runs for every host that entered, failed ones included.
            let (always_hosts, was_failed): (Vec<String>, Vec<String>) = {
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let hosts: Vec<String> = entered
                    .iter()
                    .filter(|h| state.get(*h).is_some_and(|s| !s.unreachable && !s.ended))
                    .cloned()
                    .collect();
                let failed: Vec<String> = hosts
                    .iter()
                    .filter(|h| state.get(*h).is_some_and(|s| s.failed))
                    .cloned()
                    .collect();
                for h in &failed {
                    if let Some(s) = state.get_mut(h) {
                        s.failed = false;
                    }
                }
                (hosts, failed)
            };
            self.run_list(&b.always, &plain, &always_hosts);
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            for h in &was_failed {
                if let Some(s) = state.get_mut(h) {
                    s.failed = true;
                }
            }
        }
        // Only the block whose rescue saw the failure forgets it: a block without one (a
        // role's, an include's) lies inside the block that will rescue it, which needs it.
        if !b.rescue.is_empty() {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            for h in &entered {
                if let Some(s) = state.get_mut(h) {
                    s.failure = None;
                }
            }
        }
        self.refresh_magic();
    }

    /// Run one task on `hosts` (those still active): in parallel, then report and
    /// apply the results in host order.
    pub fn run_task(&self, task: &Arc<Task>, frame: &Arc<Frame>, hosts: &[String], handler: bool) {
        if !handler {
            let mut tags = frame.tags();
            tags.extend(task.keywords.tags.iter().cloned());
            if !self.r.tags.runs(&tags) {
                return;
            }
            if !self.r.started.load(Ordering::Relaxed) {
                let start = self.r.opts.start_at_task.as_deref().unwrap_or_default();
                let plain = task.name.clone().unwrap_or_default();
                let full = task.display_name(frame.role().map(|r| r.as_ref()));
                if plain == start || full == start || glob_match(start, &full) {
                    self.r.started.store(true, Ordering::Relaxed);
                } else {
                    return;
                }
            }
        }
        let active = if handler && self.force_handlers() {
            self.reachable(hosts)
        } else {
            self.active(hosts)
        };
        if active.is_empty() {
            return;
        }
        let hostvars = self.hostvars();
        let title = self.task_title(task, frame, &active[0], &hostvars);
        let (positions, active) = if handler {
            (HashMap::new(), active)
        } else {
            self.count_and_resume(task, &title, active)
        };
        if active.is_empty() {
            return;
        }
        let is_meta = task.action == "meta";
        let banner = Event::TaskStart(TaskInfo {
            name: &title,
            action: &task.action,
            span: Some(&task.span),
            handler,
        });
        // Free strategy: hosts reach a task at different times, so its banner goes
        // out with each host's results (again when another task printed in between).
        if !self.free {
            self.r.emit(&banner);
        }
        // add_host runs once for the whole batch, as Ansible's (its action bypasses the
        // host loop): looped, it adds every item's host from the first host.
        let run_once = (frame
            .keyword(&task.keywords, |k| &k.run_once)
            .and_then(value::to_bool)
            .unwrap_or(false)
            || task.action == "add_host")
            && !is_meta;
        let targets: Vec<String> = if run_once {
            vec![active[0].clone()]
        } else {
            active.clone()
        };
        let prepared: Vec<_> = targets
            .iter()
            .map(|h| self.prepare(task, frame, h, &hostvars))
            .collect();
        let throttle = self.throttle(task, frame);
        let outcomes: Vec<HostOutcome> = self.r.pool.install(|| {
            let mut outcomes = Vec::with_capacity(prepared.len());
            let mut prepared = prepared.into_iter().peekable();
            while prepared.peek().is_some() {
                let wave: Vec<_> = prepared.by_ref().take(throttle).collect();
                outcomes.extend(
                    wave.into_par_iter()
                        .map(|p| {
                            let host = p.host.clone();
                            self.r.emit(&Event::HostStart {
                                host: &host,
                                task: &title,
                                position: positions.get(&p.host).copied(),
                            });
                            let outcome = self.execute(task, frame, p);
                            self.r.emit(&Event::HostDone {
                                host: &host,
                                task: &title,
                            });
                            outcome
                        })
                        .collect::<Vec<_>>(),
                );
            }
            outcomes
        });
        // Free strategy: hold the output while this host's banner and results print.
        // (Not for meta tasks: `flush_handlers` runs tasks, which would take it again.)
        let last_banner = if self.free && !is_meta {
            let mut last = self.last_banner.lock().unwrap_or_else(|e| e.into_inner());
            let task_id = Arc::as_ptr(task) as usize;
            if *last != task_id {
                self.r.emit(&banner);
                *last = task_id;
            }
            Some(last)
        } else {
            None
        };
        let mut includes = Vec::new();
        for outcome in outcomes {
            if run_once {
                for other in active.iter().skip(1) {
                    self.apply_shared(task, other, &outcome);
                    self.fail_with_run_once(other, &outcome);
                }
            }
            self.apply(task, frame, outcome, &mut includes, handler);
        }
        drop(last_banner);
        self.after_task(task, frame, &active);
        if !includes.is_empty() {
            self.run_includes(includes, frame);
        }
    }

    /// How many hosts may run the task at once: `throttle:` (0 or unset: all).
    fn throttle(&self, task: &Task, frame: &Arc<Frame>) -> usize {
        frame
            .keyword(&task.keywords, |k| &k.throttle)
            .and_then(|v| value::to_display_string(v).trim().parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(usize::MAX)
    }

    /// The banner name, templated with the first host's variables when it can be.
    fn task_title(
        &self,
        task: &Task,
        frame: &Arc<Frame>,
        host: &str,
        hostvars: &Arc<dyn crate::vars::HostVarsProvider>,
    ) -> String {
        let name = task.display_name(frame.role().map(|r| r.as_ref()));
        if !crate::template::Templar::is_template(&name) {
            return name;
        }
        let stack = self.stack_for(task, frame, host, hostvars);
        let scope = Scope {
            vars: &stack,
            search_paths: &[],
        };
        match self.r.templar.render_str(&name, &scope) {
            Ok(v) => value::to_display_string(&v),
            Err(_) => name,
        }
    }

    /// Failure rules that look at the whole play after a task.
    fn after_task(&self, task: &Task, frame: &Arc<Frame>, active: &[String]) {
        let failed_now: Vec<String> = {
            let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            active
                .iter()
                .filter(|h| state.get(*h).is_some_and(|s| s.failed))
                .cloned()
                .collect()
        };
        // A failure a rescue will take care of fails neither the run nor the batch.
        if failed_now.is_empty() || frame.rescuable {
            return;
        }
        self.refresh_magic();
        let fatal = frame
            .keyword(&task.keywords, |k| &k.any_errors_fatal)
            .and_then(value::to_bool)
            .unwrap_or(false);
        if fatal {
            // any_errors_fatal ends the whole run, not only this play.
            self.r.abort.store(true, Ordering::Relaxed);
            self.end_play.store(true, Ordering::Relaxed);
            return;
        }
        if let Some(pct) = self.play.max_fail_percentage.as_ref().and_then(|v| {
            value::to_display_string(v)
                .trim_end_matches('%')
                .parse::<f64>()
                .ok()
        }) {
            let batch = self.batch.read().unwrap_or_else(|e| e.into_inner()).clone();
            let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let failed = batch
                .iter()
                .filter(|h| state.get(*h).is_some_and(|s| s.failed || s.unreachable))
                .count();
            if !batch.is_empty() && (failed as f64) * 100.0 / (batch.len() as f64) > pct {
                self.end_play.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Run the tasks that dynamic includes brought in, grouping hosts that included
    /// the same file with the same parameters. Like Ansible, every `included:` line
    /// is printed first, then each group's tasks run in turn.
    fn run_includes(&self, includes: Vec<(String, Effect)>, frame: &Arc<Frame>) {
        let mut groups: Vec<(Effect, Vec<String>)> = Vec::new();
        for (host, effect) in includes {
            match groups.iter_mut().find(|(e, _)| *e == effect) {
                Some((_, hosts)) => hosts.push(host),
                None => groups.push((effect, vec![host])),
            }
        }
        for (effect, hosts) in &groups {
            let (what, label) = match effect {
                Effect::IncludeTasks { path, label, .. } => (path.display().to_string(), label),
                Effect::IncludeRole { name, label, .. } => (name.clone(), label),
                _ => continue,
            };
            self.r.emit(&Event::Included {
                file: &what,
                hosts,
                label: label.as_deref(),
            });
        }
        let ctx = crate::playbook::TaskFileCtx {
            play_dir: self.play.dir.clone(),
            role: frame.role().cloned(),
        };
        for (effect, hosts) in groups {
            let apply = match &effect {
                Effect::IncludeTasks { apply, .. } | Effect::IncludeRole { apply, .. } => {
                    apply.clone()
                }
                _ => continue,
            };
            let kw = match apply_keywords(apply) {
                Ok(kw) => kw,
                Err(msg) => {
                    self.fail_hosts(&hosts, &msg);
                    continue;
                }
            };
            match effect {
                Effect::IncludeTasks { path, params, .. } => {
                    match self.r.loader.load_task_file(&path, &ctx) {
                        Ok(nodes) => {
                            let child = Frame::include(frame, params, kw);
                            self.run_list(&nodes, &child, &hosts);
                        }
                        Err(e) => self.fail_hosts(&hosts, &e.to_string()),
                    }
                }
                Effect::IncludeRole {
                    name,
                    params,
                    files,
                    span,
                    public,
                    ..
                } => {
                    match self
                        .r
                        .loader
                        .load_role_dynamic(&name, &span, params, &ctx, &files, public)
                    {
                        Ok(role) => {
                            let child = Frame::include(frame, Default::default(), kw);
                            self.add_handlers(&role.handlers, &child);
                            for public in &role.public_roles {
                                self.publish_role(public);
                            }
                            if let Some(node) = role.block {
                                self.run_list(&[node], &child, &hosts);
                            }
                        }
                        Err(e) => self.fail_hosts(&hosts, &e.to_string()),
                    }
                }
                _ => {}
            }
        }
    }

    /// Fail hosts for a reason found by the engine (an include that cannot load).
    fn fail_hosts(&self, hosts: &[String], msg: &str) {
        for h in hosts {
            let mut result = crate::value::Map::new();
            result.insert("msg".into(), Value::String(msg.to_string()));
            let r = crate::output::HostResult {
                host: h.clone(),
                delegated_to: None,
                status: Status::Failed,
                ignored: false,
                item_label: None,
                is_loop_summary: false,
                result,
                verbose_always: false,
                diff: Vec::new(),
                span: None,
                started: std::time::SystemTime::now(),
                duration: std::time::Duration::ZERO,
            };
            self.r.emit(&Event::Result(&r));
            self.r.stat(h, |s| s.failed += 1);
            if let Some(s) = self
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_mut(h)
            {
                s.failed = true;
            }
        }
    }
}

/// Keywords from an include's `apply:` mapping.
fn apply_keywords(apply: crate::value::Map) -> Result<crate::playbook::Keywords, String> {
    let mut kw = crate::playbook::Keywords::default();
    for (k, v) in apply {
        if !crate::playbook::set_keyword_value(&mut kw, &k, v)? {
            return Err(format!(
                "'{k}' is not a keyword that 'apply' can pass to included tasks"
            ));
        }
    }
    Ok(kw)
}

/// `fnmatch` for `--start-at-task` patterns.
fn glob_match(pattern: &str, name: &str) -> bool {
    glob::Pattern::new(pattern).is_ok_and(|p| p.matches(name))
}
