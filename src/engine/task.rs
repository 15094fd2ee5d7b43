//! One task on one host: variables, `when`, the loop, the action with
//! `until`/`retries`, `changed_when`/`failed_when`, and the outcome; then applying
//! that outcome (report, counts, register, facts, notify).

use std::path::PathBuf;
use std::sync::Arc;

use super::SharedConnection;
use super::actions::{self, ActionOutput};
use super::async_job;
use super::frame::Frame;
use super::host;
use super::loops;
use super::play::PlayRun;
use super::result::{Effect, HostOutcome, display_map, item_label, module_result_map};
use super::templating::TaskTemplating;
use crate::connection::{Connection, LocalConnection, TaskSettings};
use crate::modules::{self, ModuleContext, ModuleResult};
use crate::output::{Event, HostResult, Status};
use crate::playbook::Task;
use crate::template::Scope;
use crate::value::{self, Map, Value};
use crate::vars::{HostVarsProvider, VarStack};

/// Actions whose result is printed even without `-v` (their action plugins set
/// `_ansible_verbose_always` in Ansible).
const ALWAYS_SHOWN: &[&str] = &["debug", "assert"];

/// What a worker needs to run a task on a host.
pub struct Prepared {
    pub host: String,
    pub stack: VarStack,
    pub conn: Option<Box<dyn Connection>>,
    pub search_paths: Vec<PathBuf>,
}

/// `hostvars`, flattened on first use by a template.
struct HostVarsSnapshot {
    stacks: Vec<(String, VarStack)>,
    value: std::sync::OnceLock<Arc<Value>>,
}

impl HostVarsProvider for HostVarsSnapshot {
    fn hostvars(&self) -> Arc<Value> {
        self.value
            .get_or_init(|| {
                Arc::new(Value::Object(
                    self.stacks
                        .iter()
                        .map(|(h, s)| (h.clone(), Value::Object(s.flatten())))
                        .collect(),
                ))
            })
            .clone()
    }
}

impl PlayRun<'_> {
    /// The variables of `task` on `host`, in Ansible's precedence order.
    pub fn stack_for(
        &self,
        task: &Task,
        frame: &Arc<Frame>,
        host: &str,
        hostvars: &Arc<dyn HostVarsProvider>,
    ) -> VarStack {
        let mut s = self.host_stack(host, Some((task, frame)));
        s.set_hostvars(hostvars.clone());
        s
    }

    /// `hostvars` as it stands before a task: every known host's variables, shared by
    /// all hosts of the task and flattened only if a template reads it.
    pub fn hostvars(&self) -> Arc<dyn HostVarsProvider> {
        // Names first: `host_stack` takes the host table's lock itself.
        let names: Vec<String> = self
            .r
            .hosts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        let stacks = names
            .into_iter()
            .map(|h| {
                let stack = self.host_stack(&h, None);
                (h, stack)
            })
            .collect();
        Arc::new(HostVarsSnapshot {
            stacks,
            value: std::sync::OnceLock::new(),
        })
    }

    /// The layers of one host, with or without a task's own levels.
    fn host_stack(&self, host: &str, task: Option<(&Task, &Arc<Frame>)>) -> VarStack {
        let state = self.r.host(host);
        let st = state.lock().unwrap_or_else(|e| e.into_inner());
        let role = task.and_then(|(_, f)| f.role().cloned());
        let mut s = VarStack::new();
        s.push(self.role_defaults_layer());
        if let Some(r) = &role {
            s.push_map(r.defaults_chain.clone());
        }
        s.push(st.inventory_vars.clone());
        s.push(st.facts_layer.clone());
        s.push(self.play_vars.clone());
        s.push(self.vars_prompt.clone());
        s.push(self.vars_files.clone());
        s.push(self.role_vars_layer());
        if let Some(r) = &role {
            s.push_map(r.vars_chain.clone());
        }
        if let Some((t, f)) = task {
            for m in f.block_vars() {
                s.push_map(m.clone());
            }
            s.push_map(t.keywords.vars.clone());
        }
        s.push(st.include_vars.clone());
        s.push(st.set_facts.clone());
        if let Some(r) = &role {
            s.push_map(r.params.clone());
        }
        if let Some((_, f)) = task {
            for m in f.include_params() {
                s.push_map(m.clone());
            }
        }
        s.push(self.extra_vars.clone());
        s.push(self.magic_layer());
        let inv = self.r.inventory.read().unwrap_or_else(|e| e.into_inner());
        let mut m = Map::new();
        m.insert("inventory_hostname".into(), Value::String(host.to_string()));
        m.insert(
            "inventory_hostname_short".into(),
            Value::String(host.split('.').next().unwrap_or(host).to_string()),
        );
        m.insert(
            "group_names".into(),
            Value::Array(
                inv.group_names(host)
                    .into_iter()
                    .map(Value::String)
                    .collect(),
            ),
        );
        if let Some(d) = inv.inventory_dir(host) {
            m.insert(
                "inventory_dir".into(),
                Value::String(d.display().to_string()),
            );
        }
        if let Some(f) = inv.inventory_file(host) {
            m.insert(
                "inventory_file".into(),
                Value::String(f.display().to_string()),
            );
        }
        if let Some(r) = &role {
            m.insert(
                "role_path".into(),
                Value::String(r.path.display().to_string()),
            );
            m.insert("role_name".into(), Value::String(r.name.clone()));
        }
        if let Some((_, f)) = task {
            let names = f.role_names();
            m.insert(
                "ansible_parent_role_names".into(),
                Value::Array(names.iter().skip(1).cloned().map(Value::String).collect()),
            );
        }
        if let Some((ft, fr)) = self
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)
            .and_then(|p| p.failure.clone())
        {
            m.insert("ansible_failed_task".into(), ft);
            m.insert("ansible_failed_result".into(), fr);
        }
        s.push_map(m);
        s
    }

    pub fn prepare(
        &self,
        task: &Task,
        frame: &Arc<Frame>,
        host: &str,
        hostvars: &Arc<dyn HostVarsProvider>,
    ) -> Prepared {
        let stack = self.stack_for(task, frame, host, hostvars);
        let conn = self
            .r
            .host(host)
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .conn
            .take();
        let mut search_paths = Vec::new();
        if let Some(role) = frame.role() {
            search_paths.push(role.path.clone());
        }
        if let Some(dir) = task.file.parent()
            && !search_paths.iter().any(|p| p == dir)
        {
            search_paths.push(dir.to_path_buf());
        }
        if !search_paths.contains(&self.play.dir) {
            search_paths.push(self.play.dir.clone());
        }
        Prepared {
            host: host.to_string(),
            stack,
            conn,
            search_paths,
        }
    }

    /// Evaluate conditions (all must hold); `Err` carries the failing message.
    fn conditions_hold(
        &self,
        conds: &[Value],
        scope: &Scope<'_>,
    ) -> Result<Option<String>, String> {
        for c in conds {
            let holds = match c {
                Value::Bool(b) => *b,
                Value::String(s) => self.r.templar.condition(s, scope).map_err(|e| e.message)?,
                Value::Null => false,
                other => value::is_truthy(other),
            };
            if !holds {
                return Ok(Some(value::to_display_string(c)));
            }
        }
        Ok(None)
    }

    /// Run `task` on one host (on a worker thread).
    pub fn execute(&self, task: &Task, frame: &Arc<Frame>, p: Prepared) -> HostOutcome {
        let Prepared {
            host,
            stack,
            mut conn,
            search_paths,
        } = p;
        let scope = Scope {
            vars: &stack,
            search_paths: &search_paths,
        };
        let no_log = frame
            .keyword(&task.keywords, |k| &k.no_log)
            .map(|v| self.truthy(v, &scope))
            .unwrap_or(false);
        let ignore_errors = frame
            .keyword(&task.keywords, |k| &k.ignore_errors)
            .map(|v| self.truthy(v, &scope))
            .unwrap_or(false);
        let ignore_unreachable = frame
            .keyword(&task.keywords, |k| &k.ignore_unreachable)
            .map(|v| self.truthy(v, &scope))
            .unwrap_or(false);
        // `assert: {quiet: true}` keeps its result to itself.
        let quiet = task.action == "assert"
            && task
                .args
                .get("quiet")
                .and_then(value::to_bool)
                .unwrap_or(false);
        let (started, clock) = (std::time::SystemTime::now(), std::time::Instant::now());
        let mut whens = frame.whens();
        whens.extend(task.keywords.when.iter().cloned());
        let mut out = HostOutcome {
            host: host.clone(),
            events: Vec::new(),
            status: Status::Ok,
            failed: false,
            ignored: false,
            changed: false,
            result: Value::Null,
            set_facts: None,
            include_vars: None,
            gathered_facts: None,
            effects: Vec::new(),
            conn: None,
        };
        let delegate = frame
            .keyword(&task.keywords, |k| &k.delegate_to)
            .and_then(|v| self.r.templar.render_value(v, &scope).ok())
            .map(|v| value::to_display_string(&v));
        let verbose_always = ALWAYS_SHOWN.contains(&task.action.as_str()) && !no_log && !quiet;
        let shown = |status: Status, result: &Map, label: Option<String>| HostResult {
            host: host.clone(),
            delegated_to: delegate.clone(),
            status,
            ignored: false,
            item_label: label,
            is_loop_summary: false,
            result: if self.r.quiet_results_read || !HostResult::is_quiet(status, verbose_always) {
                display_map(result, no_log, &task.action, status)
            } else {
                Map::new()
            },
            verbose_always,
            diff: Vec::new(),
            span: Some(task.span.clone()),
            started,
            duration: clock.elapsed(),
        };

        let Some(spec) = &task.loop_ else {
            match self.conditions_hold(&whens, &scope) {
                Err(msg) => return self.fail_outcome(out, shown, msg, ignore_errors),
                Ok(Some(cond)) => {
                    let result = skipped_result(&cond);
                    out.status = Status::Skipped;
                    out.events.push(shown(Status::Skipped, &result, None));
                    out.result = Value::Object(result);
                    out.conn = conn;
                    return out;
                }
                Ok(None) => {}
            }
            let (result, action_out) = self.run_one(
                task,
                frame,
                &host,
                &stack,
                &search_paths,
                &mut conn,
                delegate.as_deref(),
            );
            out.conn = conn;
            let status = status_of(&result);
            let mut ev = shown(status, &result, None);
            // A diff shows what a `no_log` task wrote: hidden with the rest of its result.
            if !no_log {
                ev.diff = action_out.result.diff.clone();
            }
            // An ignored unreachable host stays in the play, counted ok and ignored.
            let ignored = (status == Status::Failed && ignore_errors)
                || (status == Status::Unreachable && ignore_unreachable);
            ev.ignored = ignored;
            out.events.push(ev);
            out.changed = result
                .get("changed")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            out.failed = status == Status::Failed && !ignore_errors;
            out.ignored = ignored;
            out.status = status;
            if status != Status::Failed {
                out.set_facts = action_out.set_facts;
                out.include_vars = action_out.include_vars;
                out.gathered_facts = action_out.gathered_facts;
                out.effects = action_out.effects;
            }
            out.result = Value::Object(result);
            return out;
        };

        // A looped task: each item is a run of its own.
        let items = match loops::items(spec, &self.r.templar, &scope) {
            Ok(items) => items,
            Err(msg) => {
                out.conn = conn;
                return self.fail_outcome(out, shown, msg, ignore_errors);
            }
        };
        let loop_var = task
            .loop_control
            .get("loop_var")
            .map(value::to_display_string)
            .unwrap_or_else(|| "item".into());
        let index_var = task
            .loop_control
            .get("index_var")
            .map(value::to_display_string);
        let extended = task
            .loop_control
            .get("extended")
            .and_then(value::to_bool)
            .unwrap_or(false);
        let label_tpl = task.loop_control.get("label").cloned();
        let pause = task
            .loop_control
            .get("pause")
            .and_then(|v| value::to_display_string(v).parse::<f64>().ok())
            .unwrap_or(0.0);
        // The per-item results are read only through `register` and, after a failure in a
        // block with `rescue`, `ansible_failed_result`: otherwise they are not kept (a loop
        // of hundreds of items on tens of hosts would hold them all until the task ends).
        let keep_results = task.register.is_some() || frame.rescuable;
        let mut results = Vec::new();
        let (mut any_changed, mut any_failed, mut all_skipped) = (false, false, true);
        let mut diffs = Vec::new();
        let mut set_facts = Map::new();
        let n = items.len();
        for (i, item) in items.iter().enumerate() {
            let mut lv = Map::new();
            lv.insert(loop_var.clone(), item.clone());
            lv.insert("ansible_loop_var".into(), Value::String(loop_var.clone()));
            if let Some(iv) = &index_var {
                lv.insert(iv.clone(), Value::from(i));
                lv.insert("ansible_index_var".into(), Value::String(iv.clone()));
            }
            if extended {
                lv.insert("ansible_loop".into(), loop_info(&items, i));
            }
            let item_stack = stack.with(Arc::new(lv.clone()));
            let item_scope = Scope {
                vars: &item_stack,
                search_paths: &search_paths,
            };
            let label = match &label_tpl {
                _ if no_log => "(censored due to no_log)".to_string(),
                Some(t) => self
                    .r
                    .templar
                    .render_value(t, &item_scope)
                    .map(|v| value::to_display_string(&v))
                    .unwrap_or_else(|_| item_label(item)),
                None => item_label(item),
            };
            let mut result = match self.conditions_hold(&whens, &item_scope) {
                Err(msg) => failed_map(&msg),
                Ok(Some(cond)) => skipped_result(&cond),
                Ok(None) => {
                    let (result, action_out) = self.run_one(
                        task,
                        frame,
                        &host,
                        &item_stack,
                        &search_paths,
                        &mut conn,
                        delegate.as_deref(),
                    );
                    diffs.extend(action_out.result.diff.clone());
                    if status_of(&result) != Status::Failed {
                        if let Some(f) = action_out.set_facts {
                            set_facts.extend(f);
                        }
                        for mut e in action_out.effects {
                            e.set_label(label.clone());
                            out.effects.push(e);
                        }
                    }
                    result
                }
            };
            for (k, v) in &lv {
                if k != "ansible_loop" || extended {
                    result.insert(k.clone(), v.clone());
                }
            }
            let status = status_of(&result);
            any_changed |= status == Status::Changed;
            any_failed |= status == Status::Failed;
            all_skipped &= status == Status::Skipped;
            let mut ev = shown(status, &result, Some(label));
            let item_diffs = diffs.split_off(0);
            if !no_log {
                ev.diff = item_diffs;
            }
            out.events.push(ev);
            if keep_results {
                results.push(Value::Object(result));
            }
            if pause > 0.0 && i + 1 < n {
                std::thread::sleep(std::time::Duration::from_secs_f64(pause));
            }
        }
        out.conn = conn;
        let mut agg = Map::new();
        agg.insert("results".into(), Value::Array(results));
        agg.insert("changed".into(), Value::Bool(any_changed));
        agg.insert(
            "msg".into(),
            Value::String(if any_failed {
                "One or more items failed".into()
            } else {
                "All items completed".into()
            }),
        );
        if any_failed {
            agg.insert("failed".into(), Value::Bool(true));
        }
        if n == 0 {
            agg.insert("skipped".into(), Value::Bool(true));
            agg.insert(
                "skipped_reason".into(),
                Value::String("No items in the list".into()),
            );
            agg.remove("msg");
            out.events.push(shown(Status::Skipped, &agg, None));
        } else if all_skipped {
            agg.insert("skipped".into(), Value::Bool(true));
        }
        out.status = if any_failed {
            Status::Failed
        } else if n == 0 || all_skipped {
            Status::Skipped
        } else if any_changed {
            Status::Changed
        } else {
            Status::Ok
        };
        if any_failed
            && ignore_errors
            && let Some(last) = out
                .events
                .iter_mut()
                .rev()
                .find(|e| e.status == Status::Failed)
        {
            last.ignored = true;
        }
        out.changed = any_changed;
        out.failed = any_failed && !ignore_errors;
        out.ignored = any_failed && ignore_errors;
        if !set_facts.is_empty() {
            out.set_facts = Some(set_facts);
        }
        out.result = Value::Object(agg);
        out
    }

    fn fail_outcome(
        &self,
        mut out: HostOutcome,
        shown: impl Fn(Status, &Map, Option<String>) -> HostResult,
        msg: String,
        ignore_errors: bool,
    ) -> HostOutcome {
        let result = failed_map(&msg);
        let mut ev = shown(Status::Failed, &result, None);
        ev.ignored = ignore_errors;
        out.events.push(ev);
        out.status = Status::Failed;
        out.failed = !ignore_errors;
        out.ignored = ignore_errors;
        out.result = Value::Object(result);
        out
    }

    fn truthy(&self, v: &Value, scope: &Scope<'_>) -> bool {
        match v {
            Value::String(s) if crate::template::Templar::is_template(s) => self
                .r
                .templar
                .render_str(s, scope)
                .ok()
                .and_then(|v| value::to_bool(&v))
                .unwrap_or(false),
            v => value::to_bool(v).unwrap_or(false),
        }
    }

    /// The action once (with `until` retries), then `changed_when`/`failed_when`.
    #[allow(clippy::too_many_arguments)]
    fn run_one(
        &self,
        task: &Task,
        frame: &Arc<Frame>,
        host: &str,
        stack: &VarStack,
        search_paths: &[PathBuf],
        conn: &mut Option<Box<dyn Connection>>,
        delegate: Option<&str>,
    ) -> (Map, ActionOutput) {
        let retries = if task.until.is_empty() {
            0
        } else {
            task.retries
                .as_ref()
                .and_then(|v| {
                    let scope = Scope {
                        vars: stack,
                        search_paths,
                    };
                    let v = self.r.templar.render_value(v, &scope).ok()?;
                    value::to_display_string(&v).parse::<i64>().ok()
                })
                .unwrap_or(3)
                .max(1) as usize
        };
        let delay = task
            .delay
            .as_ref()
            .and_then(|v| value::to_display_string(v).parse::<f64>().ok())
            .unwrap_or(5.0);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let action_out =
                self.run_action(task, frame, host, stack, search_paths, conn, delegate);
            let mut result = module_result_map(&action_out.result);
            let unreachable = result
                .get("unreachable")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if !unreachable {
                self.post_conditions(task, stack, search_paths, &mut result);
            }
            if task.until.is_empty() || unreachable {
                return (result, action_out);
            }
            result.insert("attempts".into(), Value::from(attempt));
            let s = with_registered(task, stack, &result);
            let scope = Scope {
                vars: &s,
                search_paths,
            };
            let done = matches!(self.conditions_hold(&task.until, &scope), Ok(None));
            // `retries: N` is N attempts in all (ansible-core 2.19), and each failed
            // attempt is announced, the last one included, as Ansible does.
            if !done {
                let name = task.name.clone().unwrap_or_else(|| task.action.clone());
                self.r.emit(&Event::Retry {
                    host,
                    task: &name,
                    retries_left: retries + 1 - attempt,
                });
            }
            if done || attempt >= retries {
                if !done {
                    result.insert("failed".into(), Value::Bool(true));
                    result
                        .entry("msg")
                        .or_insert(Value::String("Retries exceeded".into()));
                }
                return (result, action_out);
            }
            if delay > 0.0 {
                std::thread::sleep(std::time::Duration::from_secs_f64(delay));
            }
        }
    }

    /// `changed_when` and `failed_when`, with the registered name bound to the result.
    fn post_conditions(
        &self,
        task: &Task,
        stack: &VarStack,
        search_paths: &[PathBuf],
        result: &mut Map,
    ) {
        if task.changed_when.is_empty() && task.failed_when.is_empty() {
            return;
        }
        let s = with_registered(task, stack, result);
        let scope = Scope {
            vars: &s,
            search_paths,
        };
        if !task.changed_when.is_empty() {
            match self.conditions_hold(&task.changed_when, &scope) {
                Ok(failing) => {
                    drop(result.insert("changed".into(), Value::Bool(failing.is_none())))
                }
                Err(msg) => {
                    result.insert("failed".into(), Value::Bool(true));
                    result.insert("msg".into(), Value::String(msg));
                }
            }
        }
        if !task.failed_when.is_empty() {
            match self.conditions_hold(&task.failed_when, &scope) {
                Ok(failing) => {
                    let failed = failing.is_none();
                    result.insert("failed_when_result".into(), Value::Bool(failed));
                    result.insert("failed".into(), Value::Bool(failed));
                }
                Err(msg) => {
                    result.insert("failed".into(), Value::Bool(true));
                    result.insert("msg".into(), Value::String(msg));
                }
            }
        }
    }

    /// Render the arguments and run the action: an engine action or a module.
    #[allow(clippy::too_many_arguments)]
    fn run_action(
        &self,
        task: &Task,
        frame: &Arc<Frame>,
        host: &str,
        stack: &VarStack,
        search_paths: &[PathBuf],
        conn: &mut Option<Box<dyn Connection>>,
        delegate: Option<&str>,
    ) -> ActionOutput {
        let scope = Scope {
            vars: stack,
            search_paths,
        };
        if actions::is_engine(&task.action) {
            return actions::run(self, task, frame, host, stack, &scope, conn);
        }
        let args = match self
            .r
            .templar
            .render_value(&Value::Object(task.args.clone()), &scope)
        {
            Ok(Value::Object(m)) => strip_omit(m),
            Ok(_) => return ActionOutput::failed("module arguments must be a mapping".into()),
            Err(e) => {
                return ActionOutput::failed(format!(
                    "The task includes an option with an undefined variable. The error was: {}",
                    e.message
                ));
            }
        };
        let Some(module) = modules::lookup(&task.action) else {
            return ActionOutput::failed(format!(
                "couldn't resolve module/action '{}'",
                task.action
            ));
        };
        // Where async jobs keep their files (`ansible_async_dir`), for the jobs a task
        // starts and for `async_status`, as Ansible's action plugins pass it.
        let async_dir = scope
            .vars
            .get("ansible_async_dir")
            .and_then(|v| self.r.templar.render_value(&v, &scope).ok())
            .map(|v| value::to_display_string(&v));
        let mut args = args;
        if modules::short_name(&task.action) == "async_status"
            && let Some(dir) = &async_dir
        {
            args.insert("_async_dir".into(), Value::String(dir.clone()));
        }
        let args = match module.spec().validate(&task.action, &args) {
            Ok(a) => a,
            Err(msg) => return ActionOutput::failed(msg),
        };
        // The connection: the delegate's, or the host's own (opened on first use);
        // none for a controller-side module.
        let mut own: Option<Box<dyn Connection>> = None;
        let shared: SharedConnection;
        let mut shared_guard;
        let connection: &mut dyn Connection = match delegate {
            _ if !module.connects() => own.insert(Box::new(LocalConnection::default())).as_mut(),
            Some(d) if d != host => {
                if matches!(d, "localhost" | "127.0.0.1") {
                    own.insert(Box::new(LocalConnection::default())).as_mut()
                } else {
                    shared = match self.delegate_connection(d, task, frame, &scope) {
                        Ok(c) => c,
                        Err(why) => return ActionOutput::unreachable(why),
                    };
                    shared_guard = shared.lock().unwrap_or_else(|e| e.into_inner());
                    shared_guard.as_mut()
                }
            }
            _ => match self.host_connection(task, frame, host, &scope, conn) {
                Ok(c) => c,
                Err(why) => return ActionOutput::unreachable(why),
            },
        };
        let check_mode = frame
            .keyword(&task.keywords, |k| &k.check_mode)
            .map(|v| self.truthy(v, &scope))
            .unwrap_or(self.r.opts.check);
        let diff_mode = frame
            .keyword(&task.keywords, |k| &k.diff)
            .map(|v| self.truthy(v, &scope))
            .unwrap_or(self.r.opts.diff);
        match self.task_settings(task, frame, &scope) {
            Ok(settings) => connection.set_task_settings(settings),
            Err(msg) => return ActionOutput::failed(msg),
        }
        let templating = TaskTemplating {
            templar: &self.r.templar,
            vars: stack,
            search_paths,
        };
        let mut ctx = ModuleContext {
            conn: connection,
            check_mode,
            diff_mode,
            search_paths,
            templating: &templating,
            host,
            verbosity: self.r.opts.verbosity,
        };
        let outcome = match self.async_poll(task, &scope) {
            // Fire and forget: the job runs on; `async_status` checks it later.
            Some(poll) if poll <= 0.0 => {
                async_job::start(module, &args, &mut ctx, async_dir.as_deref())
            }
            // Polled: the task runs in the foreground under its `async:` limit.
            Some(_) => module.run(&args, &mut ctx).map(|r| {
                r.with("ansible_job_id", async_job::new_job_id())
                    .with("started", true)
                    .with("finished", true)
            }),
            None => module.run(&args, &mut ctx),
        };
        if let Some(why) = ctx.conn.unreachable() {
            return ActionOutput::unreachable(why.to_string());
        }
        match outcome {
            Ok(r) => ActionOutput::from(ModuleResult {
                diff_list: module.diff_is_list(),
                ..r
            }),
            Err(msg) => ActionOutput::failed(msg),
        }
    }

    /// `poll:` seconds (Ansible's default 15) when the task has `async:` seconds.
    fn async_poll(&self, task: &Task, scope: &Scope<'_>) -> Option<f64> {
        let seconds = |v: &Option<Value>| {
            v.as_ref()
                .and_then(|v| self.r.templar.render_value(v, scope).ok())
                .and_then(|v| value::to_display_string(&v).trim().parse::<f64>().ok())
        };
        seconds(&task.async_).filter(|a| *a > 0.0)?;
        Some(seconds(&task.poll).unwrap_or(15.0))
    }

    /// The host's own connection, opened on first use from its connection variables
    /// (an error: the host is unreachable, and why).
    pub fn host_connection<'c>(
        &self,
        task: &Task,
        frame: &Arc<Frame>,
        host: &str,
        scope: &Scope<'_>,
        conn: &'c mut Option<Box<dyn Connection>>,
    ) -> Result<&'c mut dyn Connection, String> {
        if conn.is_none() {
            let vars = self.connection_vars(&|n: &str| scope.vars.get(n), scope);
            match host::connect(
                host,
                &vars,
                &self.r.opts,
                self.remote_user(task, frame, scope),
            ) {
                Ok(c) => *conn = Some(c),
                Err(e) => return Err(e.message),
            }
        }
        Ok(conn.as_deref_mut().expect("connection opened above"))
    }

    /// The connection to a `delegate_to` host, from its own variables; opened once
    /// and kept for the run.
    fn delegate_connection(
        &self,
        delegate: &str,
        task: &Task,
        frame: &Arc<Frame>,
        scope: &Scope<'_>,
    ) -> Result<SharedConnection, String> {
        let mut pool = self.r.delegates.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = pool.get(delegate) {
            return Ok(c.clone());
        }
        let vars = self
            .r
            .inventory
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .host_vars(delegate, Some(&self.play.dir))
            .unwrap_or_default();
        let vars = self.connection_vars(&|n: &str| vars.get(n).cloned(), scope);
        let remote_user = self.remote_user(task, frame, scope);
        let conn =
            host::connect(delegate, &vars, &self.r.opts, remote_user).map_err(|e| e.message)?;
        let shared: SharedConnection = Arc::new(std::sync::Mutex::new(conn));
        pool.insert(delegate.to_string(), shared.clone());
        Ok(shared)
    }

    /// The connection variables of `vars`, templated.
    fn connection_vars(&self, get: &dyn Fn(&str) -> Option<Value>, scope: &Scope<'_>) -> Map {
        let mut out = Map::new();
        for name in host::CONNECTION_VARS {
            if let Some(v) = get(name)
                && let Ok(v) = self.r.templar.render_value(&v, scope)
            {
                out.insert(name.to_string(), v);
            }
        }
        out
    }

    /// The `remote_user` keyword of the task or its play/blocks.
    fn remote_user(&self, task: &Task, frame: &Arc<Frame>, scope: &Scope<'_>) -> Option<String> {
        frame
            .keyword(&task.keywords, |k| &k.remote_user)
            .and_then(|v| self.r.templar.render_value(v, scope).ok())
            .filter(|v| !v.is_null())
            .map(|v| value::to_display_string(&v))
    }

    /// The task's `environment:` (outer levels first, inner keys win) and become.
    pub fn task_settings(
        &self,
        task: &Task,
        frame: &Arc<Frame>,
        scope: &Scope<'_>,
    ) -> Result<TaskSettings, String> {
        let mut env: Vec<(String, String)> = Vec::new();
        let mut levels = frame.environment();
        levels.extend(task.keywords.environment.iter());
        for level in levels {
            match self
                .r
                .templar
                .render_value(level, scope)
                .map_err(|e| e.message)?
            {
                Value::Object(m) => {
                    for (k, v) in m {
                        env.retain(|(name, _)| *name != k);
                        env.push((k, value::to_display_string(&v)));
                    }
                }
                Value::Null => {}
                other => {
                    return Err(format!(
                        "environment must be a mapping, got {}",
                        value::to_display_string(&other)
                    ));
                }
            }
        }
        let kw = |get: fn(&crate::playbook::Keywords) -> &Option<Value>| -> Option<Value> {
            frame
                .keyword(&task.keywords, get)
                .and_then(|v| self.r.templar.render_value(v, scope).ok())
        };
        let var = |name: &str| {
            scope
                .vars
                .get(name)
                .and_then(|v| self.r.templar.render_value(&v, scope).ok())
        };
        let become_on = kw(|k| &k.become_)
            .or_else(|| var("ansible_become"))
            .and_then(|v| value::to_bool(&v))
            .unwrap_or(self.r.opts.become_);
        let become_ = become_on.then(|| crate::connection::Become {
            method: kw(|k| &k.become_method)
                .or_else(|| var("ansible_become_method"))
                .map(|v| value::to_display_string(&v))
                .unwrap_or_else(|| self.r.opts.become_method.clone()),
            user: kw(|k| &k.become_user)
                .or_else(|| var("ansible_become_user"))
                .map(|v| value::to_display_string(&v))
                .or_else(|| self.r.opts.become_user.clone())
                .unwrap_or_else(|| "root".into()),
            flags: kw(|k| &k.become_flags)
                .or_else(|| var("ansible_become_flags"))
                .map(|v| value::to_display_string(&v)),
            password: var("ansible_become_password")
                .or_else(|| var("ansible_become_pass"))
                .map(|v| value::to_display_string(&v))
                .or_else(|| self.r.opts.become_password.clone()),
        });
        // `timeout:` bounds each command of the task; `async:` bounds the task too.
        let seconds = |v: Option<Value>| {
            v.and_then(|v| value::to_display_string(&v).trim().parse::<f64>().ok())
                .filter(|s| *s > 0.0)
        };
        let timeout = seconds(kw(|k| &k.timeout))
            .or_else(|| {
                seconds(
                    task.async_
                        .as_ref()
                        .and_then(|v| self.r.templar.render_value(v, scope).ok()),
                )
            })
            .map(std::time::Duration::from_secs_f64);
        Ok(TaskSettings {
            env,
            become_,
            timeout,
        })
    }

    /// Report an outcome and apply it to the host and the play.
    pub fn apply(
        &self,
        task: &Task,
        frame: &Arc<Frame>,
        mut o: HostOutcome,
        includes: &mut Vec<(String, Effect)>,
        handler: bool,
    ) {
        let _ = handler;
        let state = self.r.host(&o.host);
        {
            let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = o.conn.take() {
                st.conn = Some(c);
            }
        }
        // An include reports `included: ...` for its hosts instead of per-host results;
        // a meta task that ran reports nothing and is not counted.
        // Once a host has ended the play, Ansible reports nothing more for the others.
        if task.action == "meta" && self.end_play.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let is_include = matches!(task.action.as_str(), "include_tasks" | "include_role");
        let silent_ok = is_include || task.action == "meta";
        for ev in &o.events {
            if silent_ok && matches!(ev.status, Status::Ok | Status::Changed) {
                continue;
            }
            self.r.emit(&Event::Result(ev));
        }
        if task.action == "meta" && o.status == Status::Ok {
            for effect in std::mem::take(&mut o.effects) {
                if let Effect::Meta(action) = effect {
                    self.meta(&action, &o.host);
                }
            }
            return;
        }
        let unreachable = o
            .result
            .get("unreachable")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let host = o.host.clone();
        if unreachable && !o.ignored {
            self.r.stat(&host, |s| s.unreachable += 1);
            let mut ps = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(p) = ps.get_mut(&host) {
                p.unreachable = true;
            }
            return;
        }
        match (o.status, o.failed, o.ignored) {
            (Status::Failed, true, _) => {
                let mut ps = self.state.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(p) = ps.get_mut(&host) {
                    p.failed = true;
                    if frame.rescuable {
                        p.failure = Some((task_summary(task), o.result.clone()));
                    }
                }
                drop(ps);
                if frame.rescuable {
                    self.r.stat(&host, |s| s.rescued += 1);
                } else {
                    self.r.stat(&host, |s| s.failed += 1);
                }
            }
            (_, _, true) => self.r.stat(&host, |s| {
                s.ignored += 1;
                s.ok += 1;
                if o.changed {
                    s.changed += 1;
                }
            }),
            // A skipped meta task is shown but not counted.
            (Status::Skipped, _, _) if task.action == "meta" => {}
            (Status::Skipped, _, _) => self.r.stat(&host, |s| s.skipped += 1),
            _ => self.r.stat(&host, |s| {
                // Each file a looped include brought in counts, as Ansible counts it.
                let includes = o.effects.iter().filter(|e| e.is_include()).count() as u32;
                s.ok += includes.max(1);
                if o.changed {
                    s.changed += 1;
                }
            }),
        }
        self.apply_shared(task, &host, &o);
        if o.changed && !o.failed {
            for name in &task.notify {
                if !self.notify(&host, name) {
                    self.r.warn(&format!("The requested handler '{name}' was not found in either the main handlers list nor in the listening handlers list"));
                }
            }
        }
        for effect in std::mem::take(&mut o.effects) {
            match effect {
                Effect::IncludeTasks { .. } | Effect::IncludeRole { .. } => {
                    includes.push((host.clone(), effect))
                }
                Effect::Meta(action) => self.meta(&action, &host),
                Effect::AddHost { name, groups, vars } => {
                    self.r
                        .inventory
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .add_host(&name, &groups, vars);
                    self.refresh_magic();
                }
                Effect::GroupBy { group, parents } => {
                    self.r
                        .inventory
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .group_by(&host, &group, &parents);
                    self.refresh_magic();
                }
            }
        }
    }

    /// What a host keeps from a result: the registered value and facts (shared by
    /// every host of a `run_once` task).
    pub fn apply_shared(&self, task: &Task, host: &str, o: &HostOutcome) {
        let state = self.r.host(host);
        let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(reg) = &task.register {
            st.set_fact(reg, o.result.clone());
        }
        if let Some(f) = &o.set_facts {
            for (k, v) in f {
                st.set_fact(k, v.clone());
            }
        }
        if let Some(iv) = &o.include_vars {
            let m = Arc::make_mut(&mut st.include_vars);
            for (k, v) in iv {
                m.insert(k.clone(), v.clone());
            }
        }
        if let Some(f) = &o.gathered_facts {
            st.add_facts(f);
        }
    }

    /// A `run_once` task that failed fails every host it stood for, as Ansible's strategy
    /// does: they stop with it (no `rescue` for them, `always` still runs; the exit code
    /// says failed), but only the host that ran it counts the failure in the recap.
    pub fn fail_with_run_once(&self, host: &str, o: &HostOutcome) {
        if !(o.status == Status::Failed && o.failed && !o.ignored) {
            return;
        }
        let mut ps = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = ps.get_mut(host) {
            p.failed = true;
            p.failed_by_run_once = true;
            self.r
                .uncounted_failure
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn meta(&self, action: &str, host: &str) {
        match action {
            "end_play" => self
                .end_play
                .store(true, std::sync::atomic::Ordering::Relaxed),
            "end_host" => {
                if let Some(p) = self
                    .state
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_mut(host)
                {
                    p.ended = true;
                }
            }
            "clear_facts" => self
                .r
                .host(host)
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear_facts(),
            "clear_host_errors" => {
                let mut ps = self.state.lock().unwrap_or_else(|e| e.into_inner());
                for p in ps.values_mut() {
                    p.failed = false;
                }
            }
            "reset_connection" => drop(
                self.r
                    .host(host)
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .conn
                    .take(),
            ),
            "flush_handlers" => {
                let batch = self.batch.read().unwrap_or_else(|e| e.into_inner()).clone();
                // Once per task, not once per host: only the first active host triggers it.
                if self.active(&batch).first().map(String::as_str) == Some(host) {
                    self.flush_handlers(&batch);
                }
            }
            _ => {}
        }
    }
}

/// The variables `until`, `changed_when` and `failed_when` see: the task's, with the
/// registered name bound to the result so far.
fn with_registered(task: &Task, stack: &VarStack, result: &Map) -> VarStack {
    let mut s = stack.clone();
    if let Some(reg) = &task.register {
        let mut m = Map::new();
        m.insert(reg.clone(), Value::Object(result.clone()));
        s.push_map(m);
    }
    s
}

fn status_of(result: &Map) -> Status {
    let flag = |key: &str| result.get(key).and_then(Value::as_bool).unwrap_or(false);
    if flag("unreachable") {
        Status::Unreachable
    } else if flag("failed") {
        Status::Failed
    } else if flag("skipped") {
        Status::Skipped
    } else if flag("changed") {
        Status::Changed
    } else {
        Status::Ok
    }
}

fn skipped_result(cond: &str) -> Map {
    let mut m = Map::new();
    m.insert("changed".into(), Value::Bool(false));
    m.insert("false_condition".into(), Value::String(cond.to_string()));
    m.insert(
        "skip_reason".into(),
        Value::String("Conditional result was False".into()),
    );
    m.insert("skipped".into(), Value::Bool(true));
    m
}

fn failed_map(msg: &str) -> Map {
    module_result_map(&ModuleResult::failed(msg))
}

fn task_summary(task: &Task) -> Value {
    let mut m = Map::new();
    m.insert(
        "name".into(),
        Value::String(task.name.clone().unwrap_or_else(|| task.action.clone())),
    );
    m.insert("action".into(), Value::String(task.action.clone()));
    Value::Object(m)
}

/// `ansible_loop` for `loop_control: {extended: true}`.
fn loop_info(items: &[Value], i: usize) -> Value {
    let n = items.len();
    let mut m = Map::new();
    m.insert("allitems".into(), Value::Array(items.to_vec()));
    m.insert("index".into(), Value::from(i + 1));
    m.insert("index0".into(), Value::from(i));
    m.insert("revindex".into(), Value::from(n - i));
    m.insert("revindex0".into(), Value::from(n - i - 1));
    m.insert("first".into(), Value::Bool(i == 0));
    m.insert("last".into(), Value::Bool(i + 1 == n));
    m.insert("length".into(), Value::from(n));
    if i > 0 {
        m.insert("previtem".into(), items[i - 1].clone());
    }
    if i + 1 < n {
        m.insert("nextitem".into(), items[i + 1].clone());
    }
    Value::Object(m)
}

/// Drop parameters whose value is `omit`.
fn strip_omit(mut m: Map) -> Map {
    m.retain(|_, v| v.as_str() != Some(crate::template::OMIT_PLACEHOLDER));
    for v in m.values_mut() {
        if let Value::Object(inner) = v {
            *inner = strip_omit(std::mem::take(inner));
        }
    }
    m
}
