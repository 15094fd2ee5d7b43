//! Actions the engine carries out itself because they change the run rather than a
//! host: `set_fact`, `include_vars`, `meta`, dynamic includes, `add_host`, `group_by`,
//! and fact gathering (`setup`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::frame::Frame;
use super::play::PlayRun;
use super::result::Effect;
use crate::connection::Connection;
use crate::modules::ModuleResult;
use crate::playbook::{self, Task, actions::ENGINE_ACTIONS};
use crate::template::{Scope, VarSource};
use crate::value::{self, Map, Value};
use crate::vars::VarStack;

/// What an action produced.
#[derive(Default)]
pub struct ActionOutput {
    pub result: ModuleResult,
    pub set_facts: Option<Map>,
    pub include_vars: Option<Map>,
    pub gathered_facts: Option<Map>,
    pub effects: Vec<Effect>,
}

impl ActionOutput {
    pub fn failed(msg: String) -> ActionOutput {
        ActionOutput {
            result: ModuleResult::failed(msg),
            ..Default::default()
        }
    }

    pub fn unreachable(msg: String) -> ActionOutput {
        let mut r = ModuleResult::failed(msg);
        r.data.insert("unreachable".into(), Value::Bool(true));
        ActionOutput {
            result: r,
            ..Default::default()
        }
    }

    fn effect(e: Effect) -> ActionOutput {
        ActionOutput {
            effects: vec![e],
            ..Default::default()
        }
    }
}

impl From<ModuleResult> for ActionOutput {
    /// A module's `ansible_facts` (`hostname`'s) become the host's facts when the task
    /// succeeds, as Ansible's strategy merges any module's.
    fn from(result: ModuleResult) -> ActionOutput {
        let gathered_facts = match result.data.get("ansible_facts") {
            Some(Value::Object(facts)) if !result.failed && !result.skipped => Some(facts.clone()),
            _ => None,
        };
        ActionOutput {
            result,
            gathered_facts,
            ..Default::default()
        }
    }
}

pub fn is_engine(action: &str) -> bool {
    ENGINE_ACTIONS.contains(&action)
}

/// Run an engine action for one host.
pub fn run(
    play: &PlayRun<'_>,
    task: &Task,
    frame: &Arc<Frame>,
    host: &str,
    stack: &VarStack,
    scope: &Scope<'_>,
    conn: &mut Option<Box<dyn Connection>>,
) -> ActionOutput {
    let templar = &play.r.templar;
    // Arguments are templated here, except `set_fact`'s keys (values only).
    let args = match templar.render_value(&Value::Object(task.args.clone()), scope) {
        Ok(Value::Object(m)) => m,
        Ok(_) => Map::new(),
        Err(e) => {
            return ActionOutput::failed(format!(
                "The task includes an option with an undefined variable. The error was: {}",
                e.message
            ));
        }
    };
    let raw = args.get("_raw_params").map(value::to_display_string);
    match task.action.as_str() {
        "set_fact" => {
            let mut facts = Map::new();
            for (k, v) in args {
                if k == "cacheable" {
                    continue;
                }
                // A string "yes"/"True" from k=v form becomes a boolean, as Ansible does.
                let v = match (&v, task.args.get(&k)) {
                    (Value::String(s), Some(Value::String(_))) => value::str_to_bool(s)
                        .filter(|_| {
                            matches!(
                                s.to_ascii_lowercase().as_str(),
                                "yes" | "no" | "true" | "false"
                            )
                        })
                        .map(Value::Bool)
                        .unwrap_or(v),
                    _ => v,
                };
                facts.insert(k, v);
            }
            if facts.is_empty() {
                return ActionOutput::failed("No key/value pairs provided, at least one is required for this action to succeed".into());
            }
            let mut r = ModuleResult::ok();
            r.data
                .insert("ansible_facts".into(), Value::Object(facts.clone()));
            ActionOutput {
                result: r,
                set_facts: Some(facts),
                ..Default::default()
            }
        }
        "include_vars" => include_vars(play, frame, &args, raw.as_deref(), scope),
        "meta" => {
            let action = raw.unwrap_or_default();
            const KNOWN: &[&str] = &[
                "noop",
                "flush_handlers",
                "refresh_inventory",
                "clear_facts",
                "clear_host_errors",
                "end_play",
                "end_host",
                "end_batch",
                "end_role",
                "reset_connection",
                "role_complete",
            ];
            if !KNOWN.contains(&action.as_str()) {
                return ActionOutput::failed(format!("invalid meta action requested: {action}"));
            }
            let mut out = ActionOutput::effect(Effect::Meta(action));
            out.result.skipped = false;
            out
        }
        "include_tasks" => {
            let name = raw
                .or_else(|| args.get("file").map(value::to_display_string))
                .unwrap_or_default();
            let ctx = playbook::TaskFileCtx {
                play_dir: play.play.dir.clone(),
                role: frame.role().cloned(),
            };
            let Some(path) = playbook::resolve_task_file(&name, &task.file, &ctx) else {
                return ActionOutput::failed(format!(
                    "Could not find or access '{name}' on the Ansible Controller."
                ));
            };
            let mut params = task.keywords.vars.clone();
            for (k, v) in &args {
                if k != "_raw_params" && k != "file" && k != "apply" {
                    params.insert(k.clone(), v.clone());
                }
            }
            // The loop variables are visible inside the included tasks.
            for k in [
                "item",
                "ansible_loop",
                "ansible_loop_var",
                "ansible_index_var",
            ] {
                if let Some(v) = stack.get(k).filter(|_| stack_has_loop(stack)) {
                    params.insert(k.to_string(), v);
                }
            }
            if let Some(lv) = stack
                .get("ansible_loop_var")
                .and_then(|v| v.as_str().map(str::to_string))
                && let Some(v) = stack.get(&lv)
            {
                params.insert(lv, v);
            }
            let apply = match apply_keywords(&args) {
                Ok(m) => m,
                Err(msg) => return ActionOutput::failed(msg),
            };
            let mut out = ActionOutput::effect(Effect::IncludeTasks {
                path,
                params,
                apply,
                label: None,
            });
            out.result
                .data
                .insert("include".into(), Value::String(name));
            out
        }
        "include_role" => {
            let (name, files) = match playbook::role_args(&Task {
                args: args.clone(),
                ..task.clone()
            }) {
                Ok(v) => v,
                Err(e) => return ActionOutput::failed(e.message),
            };
            let public = args.get("public").and_then(value::to_bool).unwrap_or(false);
            let apply = match apply_keywords(&args) {
                Ok(m) => m,
                Err(msg) => return ActionOutput::failed(msg),
            };
            let mut params = task.keywords.vars.clone();
            if let Some(lv) = stack
                .get("ansible_loop_var")
                .and_then(|v| v.as_str().map(str::to_string))
                && let Some(v) = stack.get(&lv)
            {
                params.insert(lv, v);
            }
            ActionOutput::effect(Effect::IncludeRole {
                name,
                params,
                apply,
                files,
                span: task.span.clone(),
                public,
                label: None,
            })
        }
        "import_tasks" | "import_role" => ActionOutput::failed(format!(
            "'{}' is static and was expanded when the playbook was loaded",
            task.action
        )),
        "add_host" => {
            let Some(name) = args
                .get("name")
                .or_else(|| args.get("host"))
                .or_else(|| args.get("hostname"))
                .map(value::to_display_string)
            else {
                return ActionOutput::failed("add_host needs 'name'".into());
            };
            let groups: Vec<String> = match args
                .get("groups")
                .or_else(|| args.get("group"))
                .or_else(|| args.get("groupname"))
            {
                Some(Value::Array(items)) => items.iter().map(value::to_display_string).collect(),
                Some(v) => value::to_display_string(v)
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
                None => Vec::new(),
            };
            let vars: Map = args
                .iter()
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "name" | "host" | "hostname" | "groups" | "group" | "groupname"
                    )
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let mut out = ActionOutput::effect(Effect::AddHost {
                name: name.clone(),
                groups: groups.clone(),
                vars,
            });
            out.result.changed = true;
            let mut add = Map::new();
            add.insert("host_name".into(), Value::String(name));
            add.insert(
                "groups".into(),
                Value::Array(groups.into_iter().map(Value::String).collect()),
            );
            out.result
                .data
                .insert("add_host".into(), Value::Object(add));
            out
        }
        "group_by" => {
            let Some(key) = args.get("key").map(value::to_display_string) else {
                return ActionOutput::failed("group_by needs 'key'".into());
            };
            let group = key.replace([' ', '-', '.'], "_");
            let parents: Vec<String> = match args.get("parents") {
                Some(Value::Array(items)) => items.iter().map(value::to_display_string).collect(),
                Some(v) => vec![value::to_display_string(v)],
                None => vec!["all".into()],
            };
            let changed = play
                .r
                .inventory
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .group_by_changes(host, &group, &parents);
            let mut out = ActionOutput::effect(Effect::GroupBy {
                group: group.clone(),
                parents: parents.clone(),
            });
            out.result.changed = changed;
            out.result
                .data
                .insert("add_group".into(), Value::String(group));
            out.result.data.insert(
                "parent_groups".into(),
                Value::Array(parents.into_iter().map(Value::String).collect()),
            );
            out
        }
        "setup" | "gather_facts" => {
            let c = match play.host_connection(task, frame, host, scope, conn) {
                Ok(c) => c,
                Err(why) => return ActionOutput::unreachable(why),
            };
            match play.task_settings(task, frame, scope) {
                Ok(settings) => c.set_task_settings(settings),
                Err(msg) => return ActionOutput::failed(msg),
            }
            match crate::facts::gather(c, &crate::facts::Request::from_args(&args)) {
                Ok(facts) => {
                    let mut r = ModuleResult::ok();
                    // The result shows the facts as the module returns them.
                    let named = facts
                        .iter()
                        .map(|(k, v)| (crate::facts::module_name(k), v.clone()))
                        .collect();
                    r.data.insert("ansible_facts".into(), Value::Object(named));
                    ActionOutput {
                        result: r,
                        gathered_facts: Some(facts),
                        ..Default::default()
                    }
                }
                Err(msg) => match c.unreachable() {
                    Some(why) => ActionOutput::unreachable(why.to_string()),
                    None => ActionOutput::failed(msg),
                },
            }
        }
        "set_stats" => ActionOutput::from(ModuleResult::ok()),
        "wait_for_connection" => wait_for_connection(play, task, frame, host, scope, conn, &args),
        other => ActionOutput::failed(format!("the action '{other}' is not supported")),
    }
}

/// `wait_for_connection`: run a trivial command on the host until it answers (a
/// failed attempt drops the connection, so the next opens a fresh one, as after a
/// reboot). `delay`, `sleep`, `timeout`, `connect_timeout` in seconds; `elapsed` in
/// the result. Skipped in check mode, as Ansible's action.
fn wait_for_connection(
    play: &PlayRun<'_>,
    task: &Task,
    frame: &Arc<Frame>,
    host: &str,
    scope: &Scope<'_>,
    conn: &mut Option<Box<dyn Connection>>,
    args: &Map,
) -> ActionOutput {
    use std::time::{Duration, Instant};
    const KNOWN: &[&str] = &["connect_timeout", "delay", "sleep", "timeout"];
    let mut secs = [5u64, 0, 1, 600];
    for (name, v) in args {
        let Some(i) = KNOWN.iter().position(|k| k == name) else {
            return ActionOutput::failed(format!(
                "Invalid options for wait_for_connection: {name}"
            ));
        };
        match value::to_display_string(v).trim().parse::<u64>() {
            Ok(n) => secs[i] = n,
            Err(_) => {
                return ActionOutput::failed(format!(
                    "argument '{name}' is of type {} and we were unable to convert to int",
                    value::python_repr(v)
                ));
            }
        }
    }
    let [connect_timeout, delay, sleep, timeout] = secs.map(Duration::from_secs);
    if play.r.opts.check {
        let mut r = ModuleResult::ok();
        r.skipped = true;
        return r.into();
    }
    let start = Instant::now();
    std::thread::sleep(delay);
    loop {
        let error = match play.host_connection(task, frame, host, scope, conn) {
            Ok(c) => {
                match play.task_settings(task, frame, scope) {
                    Ok(settings) => c.set_task_settings(settings),
                    Err(msg) => return ActionOutput::failed(msg),
                }
                let mut probe = crate::connection::ExecRequest::argv(vec!["true".into()]);
                probe.timeout = Some(connect_timeout);
                match c.exec(&probe) {
                    Ok(out) if out.rc == 0 => {
                        return ModuleResult::ok()
                            .with("elapsed", start.elapsed().as_secs())
                            .into();
                    }
                    Ok(out) => format!("rc={}: {}", out.rc, String::from_utf8_lossy(&out.stderr)),
                    Err(e) => e.message,
                }
            }
            Err(why) => why,
        };
        *conn = None;
        if start.elapsed() + sleep >= timeout {
            return ModuleResult::failed(format!(
                "timed out waiting for ping module test: {error}"
            ))
            .with("elapsed", start.elapsed().as_secs())
            .into();
        }
        std::thread::sleep(sleep);
    }
}

/// The `apply:` keywords of a dynamic include.
fn apply_keywords(args: &Map) -> Result<Map, String> {
    match args.get("apply") {
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(Value::Null) | None => Ok(Map::new()),
        Some(_) => Err("'apply' must be a mapping of task keywords".into()),
    }
}

fn stack_has_loop(stack: &VarStack) -> bool {
    stack.get("ansible_loop_var").is_some()
}

/// `include_vars: file.yml`, `file:`, `dir:` (with `files_matching`, `depth`), `name:`.
fn include_vars(
    play: &PlayRun<'_>,
    frame: &Arc<Frame>,
    args: &Map,
    raw: Option<&str>,
    scope: &Scope<'_>,
) -> ActionOutput {
    let _ = scope;
    let mut search: Vec<PathBuf> = Vec::new();
    if let Some(role) = frame.role() {
        search.push(role.path.join("vars"));
        search.push(role.path.clone());
    }
    search.push(play.play.dir.join("vars"));
    search.push(play.play.dir.clone());
    let find = |name: &str| -> Option<PathBuf> {
        let p = Path::new(name);
        if p.is_absolute() {
            return p.exists().then(|| p.to_path_buf());
        }
        search.iter().map(|d| d.join(name)).find(|c| c.exists())
    };
    let mut files = Vec::new();
    if let Some(dir) = args.get("dir").map(value::to_display_string) {
        let Some(d) = find(&dir) else {
            return ActionOutput::failed(format!("{dir} directory does not exist"));
        };
        let pattern = args.get("files_matching").map(value::to_display_string);
        let re = match pattern.as_deref().map(regex::Regex::new) {
            Some(Ok(r)) => Some(r),
            Some(Err(e)) => return ActionOutput::failed(format!("invalid files_matching: {e}")),
            None => None,
        };
        let exts: Vec<String> = match args.get("extensions") {
            Some(Value::Array(e)) => e.iter().map(value::to_display_string).collect(),
            _ => vec!["yaml".into(), "yml".into(), "json".into()],
        };
        let mut entries: Vec<PathBuf> = walk_files(&d);
        entries.sort();
        for e in entries {
            let name = e
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let ext_ok = e
                .extension()
                .is_some_and(|x| exts.iter().any(|w| w == &x.to_string_lossy()));
            if ext_ok && re.as_ref().is_none_or(|r| r.is_match(&name)) {
                files.push(e);
            }
        }
    } else {
        let name = raw
            .map(str::to_string)
            .or_else(|| args.get("file").map(value::to_display_string))
            .unwrap_or_default();
        match find(&name) {
            Some(p) => files.push(p),
            None => {
                return ActionOutput::failed(format!(
                    "Could not find or access '{name}'\nSearched in:\n\t{}",
                    search
                        .iter()
                        .map(|p| p.join(&name).display().to_string())
                        .collect::<Vec<_>>()
                        .join("\n\t")
                ));
            }
        }
    }
    let mut vars = Map::new();
    for f in &files {
        match crate::yaml::load_value_file(f) {
            Ok(Value::Object(m)) => vars.extend(m),
            Ok(Value::Null) => {}
            Ok(_) => {
                return ActionOutput::failed(format!(
                    "{} must be stored as a dictionary/hash",
                    f.display()
                ));
            }
            Err(e) => return ActionOutput::failed(e.to_string()),
        }
    }
    let vars = match args.get("name").map(value::to_display_string) {
        Some(n) => {
            let mut m = Map::new();
            m.insert(n, Value::Object(vars));
            m
        }
        None => vars,
    };
    let mut r = ModuleResult::ok();
    r.data
        .insert("ansible_facts".into(), Value::Object(vars.clone()));
    r.data.insert(
        "ansible_included_var_files".into(),
        Value::Array(
            files
                .iter()
                .map(|f| Value::String(f.display().to_string()))
                .collect(),
        ),
    );
    ActionOutput {
        result: r,
        include_vars: Some(vars),
        ..Default::default()
    }
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk_files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
