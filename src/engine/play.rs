//! One play: its hosts and batches (`serial`), its variables, facts, the task
//! sections with handlers flushed after each, and the play-level failure rules.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use indexmap::{IndexMap, IndexSet};
use rayon::prelude::*;

use super::Runner;
use super::frame::Frame;
use crate::diagnostic::{Error, Result};
use crate::output::Event;
use crate::playbook::{Play, Task, TaskNode};
use crate::template::{Scope, Templar};
use crate::value::{self, Map, Value};
use crate::vars::VarStack;

/// A host's standing within the current play.
#[derive(Clone, Debug, Default)]
pub struct PlayHost {
    pub failed: bool,
    pub unreachable: bool,
    pub ended: bool,
    /// Handlers notified and not yet run, by index into the play's handler list.
    pub notified: IndexSet<usize>,
    /// `ansible_failed_task` / `ansible_failed_result` while in a rescue.
    pub failure: Option<(Value, Value)>,
    /// Failed by a `run_once` task that another host ran: as in Ansible, such a host
    /// gets no `rescue` (its `always` still runs) and stays failed.
    pub failed_by_run_once: bool,
}

/// A handler with the frame it was defined in.
pub struct Handler {
    pub task: Arc<Task>,
    pub frame: Arc<Frame>,
    /// The handler's name (templated with play vars) and `role : name`.
    pub names: Vec<String>,
    pub listen: Vec<String>,
}

pub struct PlayRun<'r> {
    pub r: &'r Runner,
    pub play: &'r Play,
    /// The play's index in the run (across its playbooks).
    pub index: usize,
    /// How many tasks each host has taken part in so far (handlers aside): a task's
    /// position in the host's sequence, which `--resume` finds tasks by.
    pub positions: Mutex<HashMap<String, usize>>,
    pub root: Arc<Frame>,
    pub play_vars: Arc<Map>,
    pub vars_prompt: Arc<Map>,
    pub vars_files: Arc<Map>,
    /// Defaults and vars of the play's public roles (grown by `include_role: public`).
    pub role_defaults: RwLock<Arc<Map>>,
    pub role_vars: RwLock<Arc<Map>>,
    pub extra_vars: Arc<Map>,
    /// Play-level magic variables (`groups`, `ansible_play_hosts`…).
    pub magic: RwLock<Arc<Map>>,
    pub hosts_all: Vec<String>,
    pub batch: RwLock<Vec<String>>,
    pub state: Mutex<IndexMap<String, PlayHost>>,
    pub handlers: RwLock<Vec<Handler>>,
    pub end_play: AtomicBool,
    /// `strategy: free`: each host goes through the tasks at its own pace.
    pub free: bool,
    /// The task whose banner was printed last (free strategy: a banner is printed
    /// again when another task's results come in), held while results are printed.
    pub last_banner: Mutex<usize>,
}

impl<'r> PlayRun<'r> {
    pub fn run(r: &'r Runner, play: &'r Play) -> Result<()> {
        let extra_vars = Arc::new(r.opts.extra_vars.clone());
        let play_vars = Arc::new(play.keywords.vars.clone());
        // The hosts pattern may use extra vars and play vars.
        let pattern = {
            let mut stack = VarStack::new();
            stack.push(play_vars.clone());
            stack.push(extra_vars.clone());
            let scope = Scope {
                vars: &stack,
                search_paths: &[],
            };
            let v = r
                .templar
                .render_value(&play.hosts, &scope)
                .map_err(|e| Error::template(e.message).at(play.span.clone()))?;
            match v {
                Value::Array(items) => items
                    .iter()
                    .map(value::to_display_string)
                    .collect::<Vec<_>>()
                    .join(","),
                v => value::to_display_string(&v),
            }
        };
        let mut hosts = r
            .inventory
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .select(&pattern)
            .map_err(|e| e.or_at(Some(&play.span)))?;
        if let Some(limit) = &r.opts.limit {
            let allowed: IndexSet<String> = r
                .inventory
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .select(limit)?
                .into_iter()
                .collect();
            hosts.retain(|h| allowed.contains(h));
        }
        hosts.retain(|h| !r.is_dead(h));
        if let Some(plan) = &r.resume {
            hosts.retain(|h| plan.contains_key(h));
        }
        if let Some(order) = &play.order {
            match value::to_display_string(order).as_str() {
                "reverse_inventory" => hosts.reverse(),
                "sorted" => hosts.sort(),
                "reverse_sorted" => {
                    hosts.sort();
                    hosts.reverse();
                }
                "shuffle" => fastrand::shuffle(&mut hosts),
                _ => {}
            }
        }
        // The banner shows the play's name templated with play and extra vars.
        let title = {
            let name = play.display_name();
            if Templar::is_template(&name) {
                let mut stack = VarStack::new();
                stack.push(play_vars.clone());
                stack.push(extra_vars.clone());
                let scope = Scope {
                    vars: &stack,
                    search_paths: &[],
                };
                r.templar
                    .render_str(&name, &scope)
                    .map(|v| value::to_display_string(&v))
                    .unwrap_or(name)
            } else {
                name
            }
        };
        let index = r.plays.fetch_add(1, Ordering::Relaxed);
        r.emit(&Event::PlayStart {
            name: &title,
            hosts: &hosts,
        });
        if hosts.is_empty() {
            r.emit(&Event::NoHostsMatched);
            return Ok(());
        }
        let mut role_defaults = Map::new();
        let mut role_vars = Map::new();
        for role in &play.public_roles {
            role_defaults.extend(role.defaults_chain.clone());
            role_vars.extend(role.vars_chain.clone());
        }
        let run = PlayRun {
            r,
            play,
            index,
            positions: Mutex::new(HashMap::new()),
            root: Frame::root(play.keywords.clone()),
            play_vars,
            vars_prompt: Arc::new(prompted_vars(play, &r.opts.extra_vars)),
            vars_files: Arc::new(Map::new()),
            role_defaults: RwLock::new(Arc::new(role_defaults)),
            role_vars: RwLock::new(Arc::new(role_vars)),
            extra_vars,
            magic: RwLock::new(Arc::new(Map::new())),
            hosts_all: hosts.clone(),
            batch: RwLock::new(Vec::new()),
            state: Mutex::new(
                hosts
                    .iter()
                    .map(|h| (h.clone(), PlayHost::default()))
                    .collect(),
            ),
            handlers: RwLock::new(Vec::new()),
            end_play: AtomicBool::new(false),
            free: strategy_is_free(play, r),
            last_banner: Mutex::new(0),
        };
        run.prepare_hosts(&hosts)?;
        // `hostvars` has every inventory host, also those the play or `--limit` leaves
        // out: their inventory variables, loaded once.
        let others: Vec<String> = {
            let known = r.hosts.lock().unwrap_or_else(|e| e.into_inner());
            let inv = r.inventory.read().unwrap_or_else(|e| e.into_inner());
            inv.host_names()
                .into_iter()
                .filter(|h| !known.contains_key(h))
                .collect()
        };
        run.prepare_hosts(&others)?;
        let run = run.with_vars_files()?;
        run.collect_handlers(&play.handlers, &run.root.clone());
        for batch in run.batches(&hosts)? {
            *run.batch.write().unwrap_or_else(|e| e.into_inner()) = batch.clone();
            run.refresh_magic();
            run.gather_facts(&batch);
            for section in [&play.pre_tasks, &play.roles, &play.tasks, &play.post_tasks] {
                if section.is_empty() && !std::ptr::eq(section, &play.roles) {
                    continue;
                }
                if std::ptr::eq(section, &play.roles) {
                    // Roles and tasks form one section: handlers flush after both.
                    run.run_section(&[&play.roles, &play.tasks], &batch);
                } else if std::ptr::eq(section, &play.tasks) {
                    continue;
                } else {
                    run.run_section(&[section], &batch);
                }
                run.flush_handlers(&batch);
                if run.end_play.load(Ordering::Relaxed) || r.interrupted() {
                    break;
                }
            }
            let failed_all = {
                let state = run.state.lock().unwrap_or_else(|e| e.into_inner());
                batch
                    .iter()
                    .all(|h| state.get(h).is_some_and(|s| s.failed || s.unreachable))
            };
            if run.end_play.load(Ordering::Relaxed) || failed_all || r.interrupted() {
                break;
            }
        }
        run.check_resume_reached();
        let state = run.state.lock().unwrap_or_else(|e| e.into_inner());
        for (h, s) in state.iter() {
            if s.failed || s.unreachable {
                r.mark_dead(h);
            }
        }
        Ok(())
    }

    /// Inventory variables for the hosts, as seen from this playbook's directory.
    fn prepare_hosts(&self, hosts: &[String]) -> Result<()> {
        let inv = self.r.inventory.read().unwrap_or_else(|e| e.into_inner());
        for h in hosts {
            let vars = inv.host_vars(h, Some(&self.play.dir))?;
            let state = self.r.host(h);
            state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .inventory_vars = Arc::new(vars);
        }
        Ok(())
    }

    /// Load `vars_files` (with play vars and extra vars available to their names).
    fn with_vars_files(mut self) -> Result<Self> {
        let mut loaded = Map::new();
        for entry in &self.play.vars_files {
            let mut stack = VarStack::new();
            stack.push(self.play_vars.clone());
            stack.push(self.extra_vars.clone());
            let scope = Scope {
                vars: &stack,
                search_paths: &[],
            };
            // A list entry means "the first of these that exists".
            let candidates = match entry {
                Value::Array(items) => items.clone(),
                v => vec![v.clone()],
            };
            let mut found = false;
            for c in &candidates {
                let name = self
                    .r
                    .templar
                    .render_value(c, &scope)
                    .map_err(|e| Error::template(e.message).at(self.play.span.clone()))?;
                // Relative names are looked for in the play's `vars/` first, as Ansible's
                // `path_dwim_relative` does, then beside the playbook.
                let name = value::to_display_string(&name);
                let path = [
                    self.play.dir.join("vars").join(&name),
                    self.play.dir.join(&name),
                ]
                .into_iter()
                .find(|p| p.is_file())
                .unwrap_or_else(|| self.play.dir.join(&name));
                if path.is_file() {
                    match crate::yaml::load_value_file(&path)? {
                        Value::Object(m) => loaded.extend(m),
                        Value::Null => {}
                        _ => {
                            return Err(Error::parse(format!(
                                "vars file {} must be a mapping of variables",
                                path.display()
                            )));
                        }
                    }
                    found = true;
                    break;
                }
            }
            if !found {
                let names: Vec<String> = candidates.iter().map(value::to_display_string).collect();
                return Err(
                    Error::parse(format!("vars file {} was not found", names.join(", ")))
                        .at(self.play.span.clone())
                        .with_hint(format!("paths are relative to {}", self.play.dir.display())),
                );
            }
        }
        self.vars_files = Arc::new(loaded);
        Ok(self)
    }

    /// Play-level magic variables; refreshed when the batch or inventory changes.
    pub fn refresh_magic(&self) {
        let inv = self.r.inventory.read().unwrap_or_else(|e| e.into_inner());
        let mut m = Map::new();
        let groups: Map = inv
            .groups_map()
            .into_iter()
            .map(|(g, hs)| (g, Value::Array(hs.into_iter().map(Value::String).collect())))
            .collect();
        m.insert("groups".into(), Value::Object(groups));
        let strings = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
        let batch = self.batch.read().unwrap_or_else(|e| e.into_inner()).clone();
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let live: Vec<String> = self
            .hosts_all
            .iter()
            .filter(|h| state.get(*h).is_none_or(|s| !s.failed && !s.unreachable))
            .cloned()
            .collect();
        let live_batch: Vec<String> = batch
            .iter()
            .filter(|h| state.get(*h).is_none_or(|s| !s.failed && !s.unreachable))
            .cloned()
            .collect();
        drop(state);
        m.insert("ansible_play_hosts_all".into(), strings(&self.hosts_all));
        m.insert("ansible_play_hosts".into(), strings(&live));
        m.insert("play_hosts".into(), strings(&live_batch));
        m.insert("ansible_play_batch".into(), strings(&live_batch));
        m.insert(
            "ansible_play_name".into(),
            Value::String(self.play.display_name()),
        );
        m.insert(
            "playbook_dir".into(),
            Value::String(self.play.dir.display().to_string()),
        );
        m.insert("ansible_check_mode".into(), Value::Bool(self.r.opts.check));
        m.insert("ansible_diff_mode".into(), Value::Bool(self.r.opts.diff));
        m.insert(
            "ansible_verbosity".into(),
            Value::from(self.r.opts.verbosity),
        );
        m.insert("ansible_forks".into(), Value::from(self.r.opts.forks));
        m.insert(
            "ansible_run_tags".into(),
            strings(if self.r.tags.only.is_empty() {
                &[]
            } else {
                &self.r.tags.only
            })
            .clone(),
        );
        if self.r.tags.only.is_empty() {
            m.insert(
                "ansible_run_tags".into(),
                Value::Array(vec![Value::String("all".into())]),
            );
        }
        m.insert("ansible_skip_tags".into(), strings(&self.r.tags.skip));
        let mut version = Map::new();
        version.insert("full".into(), Value::String("2.19.0".into()));
        version.insert("major".into(), Value::from(2));
        version.insert("minor".into(), Value::from(19));
        version.insert("revision".into(), Value::from(0));
        version.insert("string".into(), Value::String("2.19.0".into()));
        m.insert("ansible_version".into(), Value::Object(version));
        m.insert(
            "srplay_version".into(),
            Value::String(env!("CARGO_PKG_VERSION").into()),
        );
        *self.magic.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(m);
    }

    /// Hosts in batches of `serial` (a number, a percentage, or a list of them).
    fn batches(&self, hosts: &[String]) -> Result<Vec<Vec<String>>> {
        let Some(serial) = &self.play.serial else {
            return Ok(vec![hosts.to_vec()]);
        };
        let sizes: Vec<Value> = match serial {
            Value::Array(items) => items.clone(),
            v => vec![v.clone()],
        };
        let total = hosts.len();
        let size_of = |v: &Value| -> Result<usize> {
            let s = value::to_display_string(v);
            let n = if let Some(p) = s.trim().strip_suffix('%') {
                let pct: f64 = p.trim().parse().map_err(|_| {
                    Error::parse(format!("invalid serial value '{s}'")).at(self.play.span.clone())
                })?;
                // Ansible's pct_to_int: at least one host.
                (((total as f64) * pct / 100.0) as usize).max(1)
            } else {
                s.trim().parse::<usize>().map_err(|_| {
                    Error::parse(format!("invalid serial value '{s}'")).at(self.play.span.clone())
                })?
            };
            Ok(if n == 0 { total } else { n.max(1) })
        };
        let mut out = Vec::new();
        let mut i = 0;
        let mut k = 0;
        while i < total {
            let n = size_of(&sizes[k.min(sizes.len() - 1)])?;
            out.push(hosts[i..(i + n).min(total)].to_vec());
            i += n;
            k += 1;
        }
        Ok(out)
    }

    fn collect_handlers(&self, nodes: &[TaskNode], frame: &Arc<Frame>) {
        for node in nodes {
            match node {
                TaskNode::Task(t) => {
                    let mut names = Vec::new();
                    if let Some(n) = &t.name {
                        let stack = self.base_stack();
                        let scope = Scope {
                            vars: &stack,
                            search_paths: &[],
                        };
                        let rendered = if Templar::is_template(n) {
                            self.r
                                .templar
                                .render_str(n, &scope)
                                .map(|v| value::to_display_string(&v))
                                .unwrap_or_else(|_| n.clone())
                        } else {
                            n.clone()
                        };
                        if let Some(role) = frame.role() {
                            names.push(format!("{} : {}", role.name, rendered));
                        }
                        names.push(rendered);
                    }
                    let listen = t.listen.clone();
                    self.handlers
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(Handler {
                            task: t.clone(),
                            frame: frame.clone(),
                            names,
                            listen,
                        });
                }
                TaskNode::Block(b) => {
                    let child = Frame::child(frame, b.keywords.clone(), b.role.clone(), false);
                    self.collect_handlers(&b.block, &child);
                    self.collect_handlers(&b.rescue, &child);
                    self.collect_handlers(&b.always, &child);
                }
            }
        }
    }

    /// The current layers that `include_role: public` and batch changes can replace.
    pub fn role_defaults_layer(&self) -> Arc<Map> {
        self.role_defaults
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn role_vars_layer(&self) -> Arc<Map> {
        self.role_vars
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn magic_layer(&self) -> Arc<Map> {
        self.magic.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Make a role's defaults and vars visible to the rest of the play.
    pub fn publish_role(&self, role: &crate::playbook::RoleUse) {
        let mut d = self
            .role_defaults
            .write()
            .unwrap_or_else(|e| e.into_inner());
        Arc::make_mut(&mut d).extend(role.defaults_chain.clone());
        let mut v = self.role_vars.write().unwrap_or_else(|e| e.into_inner());
        Arc::make_mut(&mut v).extend(role.vars_chain.clone());
    }

    /// Add handlers brought in by `include_role` at run time.
    pub fn add_handlers(&self, nodes: &[TaskNode], frame: &Arc<Frame>) {
        self.collect_handlers(nodes, frame);
    }

    /// Variables visible without a host (play vars, extra vars): for names and patterns.
    pub fn base_stack(&self) -> VarStack {
        let mut s = VarStack::new();
        s.push(self.role_defaults_layer());
        s.push(self.play_vars.clone());
        s.push(self.vars_prompt.clone());
        s.push(self.vars_files.clone());
        s.push(self.role_vars_layer());
        s.push(self.extra_vars.clone());
        s.push(self.magic_layer());
        s
    }

    /// Mark `host` as notified for every handler answering to `name`.
    /// Mark `host` as notified for the handler named `name` (the last one defined
    /// with that name, as Ansible picks it) and every handler listening to `name`.
    pub fn notify(&self, host: &str, name: &str) -> bool {
        let handlers = self.handlers.read().unwrap_or_else(|e| e.into_inner());
        let by_name = handlers
            .iter()
            .rposition(|h| h.names.iter().any(|n| n == name));
        let hits: Vec<usize> = handlers
            .iter()
            .enumerate()
            .filter(|(i, h)| Some(*i) == by_name || h.listen.iter().any(|l| l == name))
            .map(|(i, _)| i)
            .collect();
        if hits.is_empty() {
            return false;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = state.get_mut(host) {
            s.notified.extend(hits);
        }
        true
    }

    /// `--force-handlers` or the play's `force_handlers`: handlers run on failed hosts too.
    pub fn force_handlers(&self) -> bool {
        self.r.opts.force_handlers
            || self
                .play
                .force_handlers
                .as_ref()
                .and_then(value::to_bool)
                .unwrap_or(false)
    }

    /// Hosts of `hosts` that can still be reached, failed or not.
    pub fn reachable(&self, hosts: &[String]) -> Vec<String> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        hosts
            .iter()
            .filter(|h| state.get(*h).is_some_and(|s| !s.unreachable && !s.ended))
            .cloned()
            .collect()
    }

    /// Run task lists on a batch: all hosts task by task (`linear`), or each host on
    /// its own through the lists, in parallel (`free`).
    fn run_section(&self, lists: &[&Vec<TaskNode>], batch: &[String]) {
        if !self.free {
            for list in lists {
                self.run_list(list, &self.root, batch);
            }
            return;
        }
        self.r.pool.install(|| {
            batch.par_iter().for_each(|host| {
                let one = std::slice::from_ref(host);
                for list in lists {
                    self.run_list(list, &self.root, one);
                }
            })
        });
    }

    /// Run notified handlers, in the order they are defined, until none is pending.
    pub fn flush_handlers(&self, batch: &[String]) {
        let force = self.force_handlers();
        loop {
            let pending: Option<(usize, Vec<String>)> = {
                let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let count = self
                    .handlers
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .len();
                (0..count).find_map(|i| {
                    let hosts: Vec<String> = batch
                        .iter()
                        .filter(|h| {
                            state.get(*h).is_some_and(|s| {
                                s.notified.contains(&i)
                                    && !s.unreachable
                                    && (force || !s.failed)
                                    && !s.ended
                            })
                        })
                        .cloned()
                        .collect();
                    (!hosts.is_empty()).then_some((i, hosts))
                })
            };
            let Some((index, hosts)) = pending else { break };
            {
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                for h in &hosts {
                    if let Some(s) = state.get_mut(h) {
                        s.notified.shift_remove(&index);
                    }
                }
            }
            let (task, frame) = {
                let handlers = self.handlers.read().unwrap_or_else(|e| e.into_inner());
                (handlers[index].task.clone(), handlers[index].frame.clone())
            };
            self.run_task(&task, &frame, &hosts, true);
        }
        // Hosts that failed keep their notifications dropped, as Ansible does.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for h in batch {
            if let Some(s) = state.get_mut(h)
                && (s.failed || s.unreachable)
            {
                s.notified.clear();
            }
        }
    }

    /// Facts for the batch, when the play gathers them (Ansible's default).
    fn gather_facts(&self, batch: &[String]) {
        let gather = self
            .play
            .gather_facts
            .as_ref()
            .map(|v| value::to_bool(v).unwrap_or(true))
            .unwrap_or(true);
        if !gather || !self.r.tags.runs(&["always".to_string()]) {
            return;
        }
        let hosts = self.active(batch);
        if hosts.is_empty() {
            return;
        }
        let mut task =
            crate::playbook::parse_task_node(&gather_node(&self.play.span), &self.play.file)
                .expect("the setup task is well formed");
        if let Some(subset) = &self.play.gather_subset {
            task.args.insert("gather_subset".into(), subset.clone());
        }
        let task = Arc::new(task);
        self.run_task(&task, &self.root, &hosts, false);
    }

    /// Hosts of `hosts` still taking part.
    pub fn active(&self, hosts: &[String]) -> Vec<String> {
        if self.end_play.load(Ordering::Relaxed) {
            return Vec::new();
        }
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        hosts
            .iter()
            .filter(|h| {
                state
                    .get(*h)
                    .is_some_and(|s| !s.failed && !s.unreachable && !s.ended)
            })
            .cloned()
            .collect()
    }
}

/// Answers to `vars_prompt`: skipped for names given with `-e`, asked on the terminal
/// when there is one, else the entry's default (as a run without a terminal must go on).
fn prompted_vars(play: &Play, extra_vars: &Map) -> Map {
    let mut out = Map::new();
    let interactive = crate::output::prompt::interactive();
    for entry in &play.vars_prompt {
        let Some(name) = entry.get("name").map(value::to_display_string) else {
            continue;
        };
        if extra_vars.contains_key(&name) {
            continue;
        }
        let default = entry
            .get("default")
            .map(value::to_display_string)
            .unwrap_or_default();
        let answer = if interactive {
            let private = entry
                .get("private")
                .and_then(value::to_bool)
                .unwrap_or(true);
            let question = entry
                .get("prompt")
                .map(value::to_display_string)
                .unwrap_or_else(|| name.clone());
            let shown = if default.is_empty() {
                format!("{question}: ")
            } else {
                format!("{question} [{default}]: ")
            };
            match crate::output::prompt::ask(&shown, !private) {
                Ok(a) if a.is_empty() => default,
                Ok(a) => a,
                Err(_) => default,
            }
        } else {
            default
        };
        out.insert(name, Value::String(answer));
    }
    out
}

/// The implicit "Gathering Facts" task.
fn gather_node(span: &crate::diagnostic::Span) -> crate::yaml::Node {
    use crate::yaml::{Node, NodeKind};
    let s = |v: &str| Node {
        kind: NodeKind::Scalar(Value::String(v.into())),
        span: span.clone(),
        tag: None,
    };
    Node {
        kind: NodeKind::Map(vec![
            (s("name"), s("Gathering Facts")),
            (
                s("setup"),
                Node {
                    kind: NodeKind::Scalar(Value::Null),
                    span: span.clone(),
                    tag: None,
                },
            ),
        ]),
        span: span.clone(),
        tag: None,
    }
}

/// `strategy:` of the play, else the configured default (`ANSIBLE_STRATEGY`).
fn strategy_is_free(play: &Play, r: &Runner) -> bool {
    let name = play
        .strategy
        .as_ref()
        .map(value::to_display_string)
        .or_else(|| r.opts.strategy.clone())
        .unwrap_or_default();
    matches!(name.as_str(), "free" | "ansible.builtin.free")
}
