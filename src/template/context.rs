//! The per-render context: variables fetched from the engine's [`VarSource`] on
//! demand and templated lazily, as Ansible does.
//!
//! A variable whose raw value is a string holding `{{`/`{%` is rendered when a
//! template first touches it; maps and lists are wrapped in [`LazyMap`]/[`LazyList`]
//! so that only the entries a template reads get converted and rendered (a host may
//! have hundreds of variables and `hostvars` is one big dict).
//!
//! `Object::get_value` cannot return an error, so a variable whose own template
//! fails reads as missing, and the failure is remembered on the [`RenderCtx`]: when
//! the outer render then fails on that undefined name, the remembered cause is what
//! gets reported (`'foo' is undefined` rather than `'a' is undefined`), and a failure
//! that is not about undefined names (a recursion loop, a bad filter) fails the
//! render even when the template tolerated the undefined value.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use minijinja::value::{Enumerator, Object, ObjectRepr, Value as MjValue};

use super::engine::Engine;
use super::{TemplateError, VarSource};
use crate::value::Value;

/// How deep variable templates may nest (a var referencing a var referencing...)
/// before it is reported as a loop. Real playbooks stay far below; each level costs
/// a minijinja VM frame on the stack.
const MAX_DEPTH: usize = 24;

/// The hidden variable through which functions (`lookup`) reach the render context.
pub(crate) const CTX_VAR: &str = "__srplay_render_ctx__";

/// Locks a mutex, shrugging off poisoning (a panicking filter must not wedge the run).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// State of one top-level render (one `render_str`, `eval`, `condition`...).
pub(crate) struct RenderCtx {
    pub engine: Arc<Engine>,
    /// The borrowed scope (variables, lookup search paths), present only while
    /// the render call runs.
    scope: Mutex<Option<Borrowed>>,
    /// Extra variables layered over the scope (`template` lookup's `template_vars`).
    overlay: HashMap<String, Value>,
    cache: Mutex<HashMap<String, MjValue>>,
    state: Mutex<LazyState>,
}

/// The scope's borrows, lifetime-erased; see the SAFETY note in [`RenderCtx::enter`].
#[derive(Clone, Copy)]
struct Borrowed {
    vars: &'static dyn VarSource,
    search_paths: &'static [PathBuf],
}

#[derive(Default)]
struct LazyState {
    in_progress: Vec<String>,
    depth: usize,
    /// Variables whose template failed, by top-level name, first failure first.
    failures: Vec<(String, TemplateError)>,
    /// A failure that must fail the render whatever the template did with it.
    fatal: Option<TemplateError>,
}

impl std::fmt::Debug for RenderCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RenderCtx")
    }
}

/// Ends the borrow of the variable source when the render call returns: the slot is
/// emptied and the cache (whose values point back at the context) dropped.
pub(crate) struct CtxGuard(pub Arc<RenderCtx>);

impl Drop for CtxGuard {
    fn drop(&mut self) {
        *lock(&self.0.scope) = None;
        lock(&self.0.cache).clear();
    }
}

impl RenderCtx {
    pub fn enter(
        engine: Arc<Engine>,
        vars: &dyn VarSource,
        search_paths: &[PathBuf],
        overlay: HashMap<String, Value>,
    ) -> CtxGuard {
        // SAFETY: the references are only stored in `scope`, which the returned
        // guard empties (under the same lock every reader takes) before the caller's
        // borrows end; readers copy them out only for the duration of one call made
        // while the render — and so the borrow — is still running. Values that
        // outlive the render find the slot empty and see no variables.
        let borrowed = unsafe {
            Borrowed {
                vars: std::mem::transmute::<&dyn VarSource, &'static dyn VarSource>(vars),
                search_paths: std::mem::transmute::<&[PathBuf], &'static [PathBuf]>(search_paths),
            }
        };
        CtxGuard(Arc::new(RenderCtx {
            engine,
            scope: Mutex::new(Some(borrowed)),
            overlay,
            cache: Mutex::new(HashMap::new()),
            state: Mutex::new(LazyState::default()),
        }))
    }

    /// A fresh context over the same variables (the `template` lookup's own vars).
    pub fn child(self: &Arc<Self>, overlay: HashMap<String, Value>) -> Option<CtxGuard> {
        let scope = (*lock(&self.scope))?;
        let mut merged = self.overlay.clone();
        merged.extend(overlay);
        Some(RenderCtx::enter(
            self.engine.clone(),
            scope.vars,
            scope.search_paths,
            merged,
        ))
    }

    /// Where lookups search for relative paths (empty once the render is over).
    pub fn search_paths(&self) -> Vec<PathBuf> {
        lock(&self.scope).map_or_else(Vec::new, |s| s.search_paths.to_vec())
    }

    /// The raw value of a variable, before templating: shared rather than copied
    /// where the source keeps it shared (`hostvars`, one big dict every host's
    /// templates read).
    fn raw_var_shared(&self, name: &str) -> Option<Arc<Value>> {
        if let Some(v) = self.overlay.get(name) {
            return Some(Arc::new(v.clone()));
        }
        let scope = (*lock(&self.scope))?;
        scope.vars.get_shared(name)
    }

    /// Every variable name visible.
    pub fn var_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.overlay.keys().cloned().collect();
        if let Some(scope) = *lock(&self.scope) {
            names.extend(scope.vars.names());
        }
        names.sort();
        names.dedup();
        names
    }

    /// The root object to render templates against.
    pub fn root(self: &Arc<Self>) -> MjValue {
        MjValue::from_object(VarsObject(self.clone()))
    }

    /// Looks a top-level variable up, rendering it on first use.
    pub fn lookup_var(self: &Arc<Self>, name: &str) -> Option<MjValue> {
        if name == CTX_VAR {
            return Some(MjValue::from_object(CtxHandle(self.clone())));
        }
        if let Some(v) = lock(&self.cache).get(name) {
            return Some(v.clone());
        }
        // A variable that failed once stays failed for this render (minijinja looks
        // names up again to describe an error; re-rendering would compound).
        if lock(&self.state).failures.iter().any(|(n, _)| n == name) {
            return None;
        }
        let Some(raw) = self.raw_var_shared(name) else {
            if name == "vars" {
                return Some(self.root());
            }
            return None;
        };
        {
            let mut st = lock(&self.state);
            if st.in_progress.iter().any(|n| n == name) {
                let err = recursion_error();
                st.fatal.get_or_insert_with(|| err.clone());
                st.failures.push((name.to_string(), err));
                return None;
            }
            st.in_progress.push(name.to_string());
        }
        let result = self.wrap(Node::root(raw), name);
        lock(&self.state).in_progress.retain(|n| n != name);
        match result {
            Ok(v) => {
                lock(&self.cache).insert(name.to_string(), v.clone());
                Some(v)
            }
            Err(e) => {
                self.record_failure(name, e);
                None
            }
        }
    }

    fn record_failure(&self, root: &str, err: TemplateError) {
        let mut st = lock(&self.state);
        if err.undefined.is_none() && st.fatal.is_none() {
            st.fatal = Some(err.clone());
        }
        st.failures.push((root.to_string(), err));
    }

    /// The remembered failure of variable `root`, if its template failed.
    pub fn failure_of(&self, root: &str) -> Option<TemplateError> {
        let st = lock(&self.state);
        st.failures
            .iter()
            .find(|(n, _)| n == root)
            .map(|(_, e)| e.clone())
    }

    pub fn first_failure(&self) -> Option<TemplateError> {
        lock(&self.state).failures.first().map(|(_, e)| e.clone())
    }

    pub fn take_fatal(&self) -> Option<TemplateError> {
        lock(&self.state).fatal.take()
    }

    /// Converts a raw value into a template value: strings with template syntax are
    /// rendered now, containers wrapped lazily (sharing the value, not copying it).
    fn wrap(self: &Arc<Self>, node: Node, root: &str) -> Result<MjValue, TemplateError> {
        Ok(match node.get() {
            Value::String(s) if super::Templar::is_template(s) => self.render_nested(s)?,
            Value::Array(_) => MjValue::from_object(LazyList {
                ctx: self.clone(),
                root: root.to_string(),
                node,
            }),
            Value::Object(_) => MjValue::from_object(LazyMap {
                ctx: self.clone(),
                root: root.to_string(),
                node,
            }),
            other => super::convert::to_jinja(other),
        })
    }

    /// Renders a variable's template string, guarding against endless recursion.
    fn render_nested(self: &Arc<Self>, s: &str) -> Result<MjValue, TemplateError> {
        {
            let mut st = lock(&self.state);
            if st.depth >= MAX_DEPTH {
                return Err(recursion_error());
            }
            st.depth += 1;
        }
        let result = self.engine.render_native(self, s);
        lock(&self.state).depth -= 1;
        result
    }

    fn wrap_child(self: &Arc<Self>, node: Node, root: &str) -> Option<MjValue> {
        match self.wrap(node, root) {
            Ok(v) => Some(v),
            Err(e) => {
                self.record_failure(root, e);
                None
            }
        }
    }
}

fn recursion_error() -> TemplateError {
    TemplateError {
        message: "Recursive loop detected in template: maximum recursion depth exceeded"
            .to_string(),
        undefined: None,
    }
}

/// Gives functions such as `lookup` access to the render context.
#[derive(Debug)]
pub(crate) struct CtxHandle(pub Arc<RenderCtx>);

impl Object for CtxHandle {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
}

/// The root of every render: every variable name resolves through the scope.
#[derive(Debug)]
struct VarsObject(Arc<RenderCtx>);

impl Object for VarsObject {
    fn get_value(self: &Arc<Self>, key: &MjValue) -> Option<MjValue> {
        self.0.lookup_var(key.as_str()?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.0.var_names().into_iter().map(MjValue::from).collect())
    }
}

/// A place inside a variable's value: the shared value and the path to the place.
/// Children of a lazily wrapped dict or list are reached by extending the path, so
/// a big value (`hostvars`) is never copied to be read.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    root: Arc<Value>,
    path: Vec<Step>,
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

impl Node {
    fn root(value: Arc<Value>) -> Node {
        Node {
            root: value,
            path: Vec::new(),
        }
    }

    /// The value at this place (the path was checked when it was made).
    fn get(&self) -> &Value {
        let mut v: &Value = &self.root;
        for step in &self.path {
            v = match (step, v) {
                (Step::Key(k), Value::Object(m)) => m.get(k).unwrap_or(&Value::Null),
                (Step::Index(i), Value::Array(a)) => a.get(*i).unwrap_or(&Value::Null),
                _ => &Value::Null,
            };
        }
        v
    }

    fn child(&self, step: Step) -> Node {
        let mut path = self.path.clone();
        path.push(step);
        Node {
            root: self.root.clone(),
            path,
        }
    }
}

/// A dict variable (or a dict inside one) whose entries render on access.
#[derive(Debug)]
pub(crate) struct LazyMap {
    ctx: Arc<RenderCtx>,
    root: String,
    node: Node,
}

impl LazyMap {
    fn map(&self) -> Option<&crate::value::Map> {
        self.node.get().as_object()
    }
}

impl Object for LazyMap {
    fn get_value(self: &Arc<Self>, key: &MjValue) -> Option<MjValue> {
        let map = self.map()?;
        let key = match key.as_str() {
            Some(k) => k.to_string(),
            // Python dicts loaded from YAML may have int keys, stored as strings here.
            None if key.is_integer() => key.to_string(),
            None => return None,
        };
        map.get(&key)?;
        self.ctx
            .wrap_child(self.node.child(Step::Key(key)), &self.root)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let keys = self.map().into_iter().flat_map(|m| m.keys());
        Enumerator::Values(keys.map(|k| MjValue::from(k.as_str())).collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        self.map().map(|m| m.len())
    }
}

/// A list variable (or a list inside one) whose items render on access.
#[derive(Debug)]
pub(crate) struct LazyList {
    ctx: Arc<RenderCtx>,
    root: String,
    node: Node,
}

impl LazyList {
    fn len(&self) -> usize {
        self.node.get().as_array().map_or(0, |a| a.len())
    }
}

impl Object for LazyList {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &MjValue) -> Option<MjValue> {
        let idx = key.as_i64()?;
        let len = self.len();
        let idx = if idx < 0 {
            len.checked_sub(idx.unsigned_abs() as usize)?
        } else {
            idx as usize
        };
        if idx >= len {
            return None;
        }
        self.ctx
            .wrap_child(self.node.child(Step::Index(idx)), &self.root)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.len())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.len())
    }
}
