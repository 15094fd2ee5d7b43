//! The keywords in force at a point of the task tree: a chain of frames from the
//! play down through blocks, roles and includes. A task inherits what the nearest
//! frame sets (`become`, `ignore_errors`…), all `when`s and `tags` above it, and block
//! variables from the outside in.

use std::sync::Arc;

use crate::playbook::{Keywords, RoleUse};
use crate::value::{Map, Value};

pub struct Frame {
    pub kw: Keywords,
    /// The role whose tasks these are (set on the role's own frame).
    pub role: Option<Arc<RoleUse>>,
    /// Variables passed to a dynamic include (`include_tasks: x.yml` + `vars:`/loop item).
    pub include_params: Map,
    /// Failures below this frame go to a `rescue:` (they count as rescued, not failed).
    pub rescuable: bool,
    pub parent: Option<Arc<Frame>>,
}

impl Frame {
    pub fn root(kw: Keywords) -> Arc<Frame> {
        Arc::new(Frame {
            kw,
            role: None,
            include_params: Map::new(),
            rescuable: false,
            parent: None,
        })
    }

    pub fn child(
        parent: &Arc<Frame>,
        kw: Keywords,
        role: Option<Arc<RoleUse>>,
        rescuable: bool,
    ) -> Arc<Frame> {
        Arc::new(Frame {
            kw,
            role,
            include_params: Map::new(),
            rescuable: rescuable || parent.rescuable,
            parent: Some(parent.clone()),
        })
    }

    /// The frame of a dynamic include: its parameters, and the keywords `apply:` gives.
    pub fn include(parent: &Arc<Frame>, params: Map, apply: Keywords) -> Arc<Frame> {
        Arc::new(Frame {
            kw: apply,
            role: None,
            include_params: params,
            rescuable: parent.rescuable,
            parent: Some(parent.clone()),
        })
    }

    /// Frames from this one up to the play.
    pub fn chain(&self) -> impl Iterator<Item = &Frame> {
        std::iter::successors(Some(self), |f| f.parent.as_deref())
    }

    /// The nearest role.
    pub fn role(&self) -> Option<&Arc<RoleUse>> {
        self.chain().find_map(|f| f.role.as_ref())
    }

    /// The names of the roles enclosing this frame, innermost first.
    pub fn role_names(&self) -> Vec<String> {
        self.chain()
            .filter_map(|f| f.role.as_ref().map(|r| r.name.clone()))
            .collect()
    }

    /// The nearest setting of a keyword, with the task's own taking precedence.
    pub fn keyword<'a>(
        &'a self,
        own: &'a Keywords,
        get: fn(&Keywords) -> &Option<Value>,
    ) -> Option<&'a Value> {
        get(own)
            .as_ref()
            .or_else(|| self.chain().find_map(|f| get(&f.kw).as_ref()))
    }

    /// Every `when` above a task, outermost first.
    pub fn whens(&self) -> Vec<Value> {
        let mut frames: Vec<&Frame> = self.chain().collect();
        frames.reverse();
        frames
            .iter()
            .flat_map(|f| f.kw.when.iter().cloned())
            .collect()
    }

    /// Tags inherited from above.
    pub fn tags(&self) -> Vec<String> {
        self.chain()
            .flat_map(|f| f.kw.tags.iter().cloned())
            .collect()
    }

    /// Block variables, outermost first (the play's vars are a separate level).
    pub fn block_vars(&self) -> Vec<&Map> {
        let mut frames: Vec<&Frame> = self.chain().filter(|f| f.parent.is_some()).collect();
        frames.reverse();
        frames
            .iter()
            .map(|f| &f.kw.vars)
            .filter(|m| !m.is_empty())
            .collect()
    }

    /// Parameters of enclosing dynamic includes, outermost first.
    pub fn include_params(&self) -> Vec<&Map> {
        let mut frames: Vec<&Frame> = self.chain().collect();
        frames.reverse();
        frames
            .iter()
            .map(|f| &f.include_params)
            .filter(|m| !m.is_empty())
            .collect()
    }

    /// `environment:` settings, outermost first.
    pub fn environment(&self) -> Vec<&Value> {
        let mut frames: Vec<&Frame> = self.chain().collect();
        frames.reverse();
        frames
            .iter()
            .flat_map(|f| f.kw.environment.iter())
            .collect()
    }
}
