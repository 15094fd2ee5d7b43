//! From YAML nodes to the typed playbook: plays, blocks, tasks, roles and static
//! imports, checked before any host is touched (keywords, action names, module
//! parameters, role paths), every error with its file:line:column.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::diagnostic::{Error, ErrorKind, Result, Span, nearest};
use crate::modules;
use crate::template::Templar;
use crate::value::{Map, Value};
use crate::yaml::{self, Node, NodeKind};

use super::actions;
use super::ast::*;
use super::keywords;
use super::kv::parse_kv;

/// Loads playbooks, task files and roles; caches parsed files by path.
pub struct Loader {
    /// Extra role search paths (`roles_path` / `ANSIBLE_ROLES_PATH`).
    pub roles_path: Vec<PathBuf>,
    /// Keep a role use that repeats an earlier one with the same params (for listings,
    /// which show every use); a run drops it, as Ansible runs such a role once.
    keep_repeated_roles: bool,
    cache: Mutex<HashMap<PathBuf, Option<Node>>>,
}

/// Where a task list is being read: for relative paths and role context.
#[derive(Clone)]
pub struct TaskFileCtx {
    /// The playbook's directory.
    pub play_dir: PathBuf,
    /// The role whose files these are, if any.
    pub role: Option<Arc<RoleUse>>,
}

impl Loader {
    pub fn new(roles_path: Vec<PathBuf>) -> Loader {
        Loader {
            roles_path,
            keep_repeated_roles: false,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// A loader that keeps repeated role uses (see `keep_repeated_roles`).
    pub fn keeping_repeated_roles(mut self, keep: bool) -> Loader {
        self.keep_repeated_roles = keep;
        self
    }

    fn parse(&self, path: &Path) -> Result<Option<Node>> {
        if let Some(node) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
        {
            return Ok(node.clone());
        }
        let node = yaml::load_file(path)?;
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.to_path_buf(), node.clone());
        Ok(node)
    }

    /// Load a playbook and every playbook it imports.
    pub fn load_playbook(&self, path: &Path) -> Result<Playbook> {
        let mut plays = Vec::new();
        self.load_playbook_into(path, &mut plays, 0)?;
        Ok(Playbook {
            path: path.to_path_buf(),
            plays,
        })
    }

    fn load_playbook_into(&self, path: &Path, plays: &mut Vec<Play>, depth: usize) -> Result<()> {
        if depth > 32 {
            return Err(Error::parse(format!(
                "import_playbook nested too deeply at {}",
                path.display()
            )));
        }
        if !path.is_file() {
            return Err(Error::other(format!(
                "the playbook: {} could not be found",
                path.display()
            )));
        }
        let file = Arc::new(path.to_path_buf());
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let Some(root) = self.parse(path)? else {
            return Err(
                Error::parse(format!("Empty playbook, nothing to do: {}", path.display()))
                    .at(Span::new(file, 1, 1)),
            );
        };
        let Some(items) = root.as_seq() else {
            return Err(Error::parse(format!(
                "A playbook must be a list of plays, got a {} instead",
                root.type_name()
            ))
            .at(root.span.clone())
            .with_hint("start each play with '- hosts: ...'"));
        };
        if items.is_empty() {
            return Err(
                Error::parse(format!("Empty playbook, nothing to do: {}", path.display()))
                    .at(root.span.clone()),
            );
        }
        for item in items {
            if item.as_map().is_none() {
                return Err(Error::parse(format!(
                    "A play must be a mapping, got a {}",
                    item.type_name()
                ))
                .at(item.span.clone()));
            }
            if let Some(target) = item
                .get("import_playbook")
                .or_else(|| item.get("ansible.builtin.import_playbook"))
            {
                let name = target.as_str().ok_or_else(|| {
                    Error::parse("import_playbook needs a file name").at(target.span.clone())
                })?;
                if Templar::is_template(name) {
                    return Err(Error::parse(
                        "a templated import_playbook file name is not supported",
                    )
                    .at(target.span.clone()));
                }
                let mut imported = Vec::new();
                self.load_playbook_into(&dir.join(name), &mut imported, depth + 1)
                    .map_err(|e| e.or_at(Some(&target.span)))?;
                let wrapper = parse_keywords(
                    item,
                    &["import_playbook", "ansible.builtin.import_playbook"],
                )?;
                for mut play in imported {
                    play.keywords = inherit(&wrapper, play.keywords);
                    plays.push(play);
                }
                continue;
            }
            plays.push(self.parse_play(item, &file, &dir)?);
        }
        Ok(())
    }

    fn parse_play(&self, node: &Node, file: &Arc<PathBuf>, dir: &Path) -> Result<Play> {
        for (k, _) in node.as_map().unwrap_or_default() {
            let key = k.key_string();
            if !keywords::is_play_keyword(&key) {
                let known = keywords::COMMON.iter().chain(keywords::PLAY).copied();
                let mut err = Error::parse(format!("'{key}' is not a valid attribute for a Play"))
                    .at(k.span.clone());
                if let Some(near) = nearest(&key, known) {
                    err = err.with_hint(format!("did you mean '{near}'?"));
                } else if actions::is_known(&key) {
                    err = err.with_hint("tasks go under 'tasks:' in a play");
                }
                return Err(err);
            }
        }
        let hosts = node.get("hosts").ok_or_else(|| {
            Error::parse("the field 'hosts' is required but was not set")
                .at(node.span.clone())
                .with_hint("add 'hosts: all' (or a group name) to the play")
        })?;
        let ctx = TaskFileCtx {
            play_dir: dir.to_path_buf(),
            role: None,
        };
        let mut roles_seen: Vec<(PathBuf, Map)> = Vec::new();
        let mut public_roles = Vec::new();
        let mut role_handlers = Vec::new();
        let mut roles = Vec::new();
        if let Some(list) = node.get("roles").filter(|n| !n.is_null()) {
            let items = list
                .as_seq()
                .ok_or_else(|| Error::parse("'roles' must be a list").at(list.span.clone()))?;
            for entry in items {
                if let Some(block) = self.role_entry(
                    entry,
                    &ctx,
                    &mut roles_seen,
                    &mut public_roles,
                    &mut role_handlers,
                )? {
                    roles.push(block);
                }
            }
        }
        let section = |name: &str,
                       public_roles: &mut Vec<Arc<RoleUse>>,
                       role_handlers: &mut Vec<TaskNode>|
         -> Result<Vec<TaskNode>> {
            match node.get(name).filter(|n| !n.is_null()) {
                Some(list) => self.parse_task_list(
                    list,
                    file,
                    &ctx,
                    &mut PlayCollect {
                        public_roles,
                        role_handlers,
                        expanding: &mut Vec::new(),
                    },
                ),
                None => Ok(Vec::new()),
            }
        };
        let pre_tasks = section("pre_tasks", &mut public_roles, &mut role_handlers)?;
        let tasks = section("tasks", &mut public_roles, &mut role_handlers)?;
        let post_tasks = section("post_tasks", &mut public_roles, &mut role_handlers)?;
        let mut handlers = role_handlers;
        handlers.extend(section("handlers", &mut public_roles, &mut Vec::new())?);
        let vars_files = match node.get("vars_files").filter(|n| !n.is_null()) {
            Some(n) => match n.to_value() {
                Value::Array(items) => items,
                v => vec![v],
            },
            None => Vec::new(),
        };
        let vars_prompt = match node.get("vars_prompt").filter(|n| !n.is_null()) {
            Some(n) => match n.to_value() {
                Value::Array(items) if items.iter().all(|i| i.get("name").is_some()) => items,
                _ => {
                    return Err(Error::parse(
                        "'vars_prompt' must be a list of mappings with a 'name'",
                    )
                    .at(n.span.clone()));
                }
            },
            None => Vec::new(),
        };
        let keywords = parse_keywords(node, &[])?;
        let opt = |k: &str| node.get(k).filter(|n| !n.is_null()).map(Node::to_value);
        Ok(Play {
            name: node
                .get("name")
                .map(|n| crate::value::to_display_string(&n.to_value())),
            hosts: hosts.to_value(),
            span: node.span.clone(),
            keywords,
            vars_files,
            vars_prompt,
            gather_facts: opt("gather_facts"),
            gather_subset: opt("gather_subset"),
            serial: opt("serial"),
            strategy: opt("strategy"),
            max_fail_percentage: opt("max_fail_percentage"),
            order: opt("order"),
            force_handlers: opt("force_handlers"),
            pre_tasks,
            roles,
            tasks,
            post_tasks,
            handlers,
            public_roles,
            dir: dir.to_path_buf(),
            file: file.clone(),
        })
    }

    /// One entry of `roles:`: a name, or a mapping with `role:`/`name:`, keywords and params.
    fn role_entry(
        &self,
        entry: &Node,
        ctx: &TaskFileCtx,
        seen: &mut Vec<(PathBuf, Map)>,
        public_roles: &mut Vec<Arc<RoleUse>>,
        handlers: &mut Vec<TaskNode>,
    ) -> Result<Option<TaskNode>> {
        let (name_node, kw, params) = match &entry.kind {
            NodeKind::Scalar(_) => (entry, Keywords::default(), Map::new()),
            NodeKind::Map(pairs) => {
                let name_node =
                    entry
                        .get("role")
                        .or_else(|| entry.get("name"))
                        .ok_or_else(|| {
                            Error::parse("a role entry needs 'role: NAME'").at(entry.span.clone())
                        })?;
                let mut params = Map::new();
                for (k, v) in pairs {
                    let key = k.key_string();
                    if !keywords::COMMON.contains(&key.as_str())
                        && !keywords::ROLE.contains(&key.as_str())
                    {
                        params.insert(key, v.to_value());
                    }
                }
                let kw = parse_keywords(
                    entry,
                    &params
                        .keys()
                        .map(String::as_str)
                        .chain(["role"])
                        .collect::<Vec<_>>(),
                )?;
                (name_node, kw, params)
            }
            NodeKind::Seq(_) => {
                return Err(
                    Error::parse("a role entry must be a name or a mapping").at(entry.span.clone())
                );
            }
        };
        let name = name_node
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| name_node.key_string());
        let mut collect = PlayCollect {
            public_roles,
            role_handlers: handlers,
            expanding: &mut Vec::new(),
        };
        self.role_block(
            &name,
            &name_node.span,
            params,
            kw,
            ctx,
            seen,
            &mut collect,
            true,
            &RoleFiles::default(),
        )
    }

    /// Resolve a role name to its directory, as Ansible searches.
    pub fn find_role(&self, name: &str, ctx: &TaskFileCtx, span: &Span) -> Result<PathBuf> {
        let mut tried = Vec::new();
        let as_path = Path::new(name);
        if as_path.is_absolute() {
            tried.push(as_path.to_path_buf());
        } else {
            if let Some(role) = &ctx.role {
                // A role's dependencies may sit beside it (roles/a and roles/b).
                if let Some(parent) = role.path.parent() {
                    tried.push(parent.join(name));
                }
            }
            tried.push(ctx.play_dir.join("roles").join(name));
            for p in &self.roles_path {
                tried.push(p.join(name));
            }
            tried.push(ctx.play_dir.join(name));
        }
        for dir in &tried {
            if dir.is_dir() {
                return Ok(dir.clone());
            }
        }
        let list: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
        Err(Error::other(format!("the role '{name}' was not found"))
            .at(span.clone())
            .with_hint(format!("searched: {}", list.join(", "))))
    }

    /// Load a role use as a block (dependencies first), or `None` when it already ran
    /// with the same params in this play and does not allow duplicates.
    #[allow(clippy::too_many_arguments)]
    fn role_block(
        &self,
        name: &str,
        span: &Span,
        params: Map,
        keywords: Keywords,
        ctx: &TaskFileCtx,
        seen: &mut Vec<(PathBuf, Map)>,
        collect: &mut PlayCollect<'_>,
        public: bool,
        files: &RoleFiles,
    ) -> Result<Option<TaskNode>> {
        let path = self.find_role(name, ctx, span)?;
        let meta = self.role_file(&path, "meta", "main")?;
        let allow_duplicates = meta
            .as_ref()
            .and_then(|m| m.get("allow_duplicates"))
            .and_then(|n| crate::value::to_bool(&n.to_value()))
            .unwrap_or(false);
        if !allow_duplicates
            && !self.keep_repeated_roles
            && seen.iter().any(|(p, pr)| *p == path && *pr == params)
        {
            return Ok(None);
        }
        seen.push((path.clone(), params.clone()));
        let what = Expanding::role(&path, &params, files);
        collect.expand(what, span, |collect| {
            self.role_body(
                name, span, path, meta, params, keywords, ctx, seen, collect, public, files,
            )
        })
    }

    /// The block of a role use: its dependencies, then its tasks.
    #[allow(clippy::too_many_arguments)]
    fn role_body(
        &self,
        name: &str,
        span: &Span,
        path: PathBuf,
        meta: Option<Node>,
        params: Map,
        keywords: Keywords,
        ctx: &TaskFileCtx,
        seen: &mut Vec<(PathBuf, Map)>,
        collect: &mut PlayCollect<'_>,
        public: bool,
        files: &RoleFiles,
    ) -> Result<Option<TaskNode>> {
        let defaults = self.role_vars_file(
            &path,
            "defaults",
            files.defaults_from.as_deref().unwrap_or("main"),
        )?;
        let vars =
            self.role_vars_file(&path, "vars", files.vars_from.as_deref().unwrap_or("main"))?;

        // Dependencies run first, each as its own role.
        let mut children = Vec::new();
        let mut deps_defaults = Map::new();
        let mut deps_vars = Map::new();
        let dep_ctx_role = Arc::new(RoleUse {
            name: name.to_string(),
            path: path.clone(),
            params: params.clone(),
            defaults_chain: Map::new(),
            vars_chain: Map::new(),
            public,
        });
        if let Some(deps) = meta
            .as_ref()
            .and_then(|m| m.get("dependencies"))
            .filter(|n| !n.is_null())
        {
            let items = deps.as_seq().ok_or_else(|| {
                Error::parse("'dependencies' must be a list").at(deps.span.clone())
            })?;
            let dep_ctx = TaskFileCtx {
                play_dir: ctx.play_dir.clone(),
                role: Some(dep_ctx_role.clone()),
            };
            for dep in items {
                let (dep_name_node, dep_kw, dep_params) = match &dep.kind {
                    NodeKind::Scalar(_) => (dep, Keywords::default(), Map::new()),
                    _ => {
                        let n = dep.get("role").or_else(|| dep.get("name")).ok_or_else(|| {
                            Error::parse("a dependency needs 'role: NAME'").at(dep.span.clone())
                        })?;
                        let mut p = Map::new();
                        for (k, v) in dep.as_map().unwrap_or_default() {
                            let key = k.key_string();
                            if !keywords::COMMON.contains(&key.as_str()) && key != "role" {
                                p.insert(key, v.to_value());
                            }
                        }
                        let kw = parse_keywords(
                            dep,
                            &p.keys()
                                .map(String::as_str)
                                .chain(["role"])
                                .collect::<Vec<_>>(),
                        )?;
                        (n, kw, p)
                    }
                };
                let dep_name = dep_name_node
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| dep_name_node.key_string());
                if let Some(block) = self.role_block(
                    &dep_name,
                    &dep_name_node.span,
                    dep_params,
                    dep_kw,
                    &dep_ctx,
                    seen,
                    collect,
                    public,
                    &RoleFiles::default(),
                )? {
                    if let TaskNode::Block(b) = &block
                        && let Some(r) = &b.role
                    {
                        deps_defaults.extend(r.defaults_chain.clone());
                        deps_vars.extend(r.vars_chain.clone());
                    }
                    children.push(block);
                }
            }
        }
        let mut defaults_chain = deps_defaults;
        defaults_chain.extend(defaults);
        let mut vars_chain = deps_vars;
        vars_chain.extend(vars);
        let role = Arc::new(RoleUse {
            name: name.to_string(),
            path: path.clone(),
            params,
            defaults_chain,
            vars_chain,
            public,
        });
        if public {
            collect.public_roles.push(role.clone());
        }
        let role_ctx = TaskFileCtx {
            play_dir: ctx.play_dir.clone(),
            role: Some(role.clone()),
        };
        let tasks_name = files.tasks_from.as_deref().unwrap_or("main");
        if let Some((tasks_path, node)) = self.role_file_with_path(&path, "tasks", tasks_name)? {
            if files.tasks_from.is_some() || !node.is_null() {
                let file = Arc::new(tasks_path.clone());
                let tasks = collect.expand(Expanding::task_file(tasks_path), span, |collect| {
                    self.parse_task_list(&node, &file, &role_ctx, collect)
                })?;
                children.extend(tasks);
            }
        } else if files.tasks_from.is_some() {
            return Err(Error::parse(format!(
                "could not find tasks file '{tasks_name}' in role '{name}'"
            ))
            .at(span.clone()));
        }
        let handlers_name = files.handlers_from.as_deref().unwrap_or("main");
        if let Some((handlers_path, node)) =
            self.role_file_with_path(&path, "handlers", handlers_name)?
        {
            let file = Arc::new(handlers_path.clone());
            let mut handler_collect = PlayCollect {
                public_roles: &mut Vec::new(),
                role_handlers: &mut Vec::new(),
                expanding: &mut *collect.expanding,
            };
            let handler_tasks =
                handler_collect.expand(Expanding::task_file(handlers_path), span, |collect| {
                    self.parse_task_list(&node, &file, &role_ctx, collect)
                })?;
            if !handler_tasks.is_empty() {
                // The role's handlers carry the role entry's keywords (its `when`, tags).
                collect.role_handlers.push(TaskNode::Block(Arc::new(Block {
                    name: None,
                    block: handler_tasks,
                    rescue: Vec::new(),
                    always: Vec::new(),
                    keywords: keywords.clone(),
                    span: span.clone(),
                    role: Some(role.clone()),
                })));
            }
        }
        Ok(Some(TaskNode::Block(Arc::new(Block {
            name: None,
            block: children,
            rescue: Vec::new(),
            always: Vec::new(),
            keywords,
            span: span.clone(),
            role: Some(role),
        }))))
    }

    fn role_file_with_path(
        &self,
        role: &Path,
        sub: &str,
        name: &str,
    ) -> Result<Option<(PathBuf, Node)>> {
        let dir = role.join(sub);
        let candidates = if Path::new(name).extension().is_some() {
            vec![dir.join(name)]
        } else {
            ["", ".yml", ".yaml", ".json"]
                .iter()
                .map(|ext| dir.join(format!("{name}{ext}")))
                .collect()
        };
        for path in candidates {
            if path.is_file() {
                let node = self.parse(&path)?;
                let span = Span::new(Arc::new(path.clone()), 1, 1);
                return Ok(Some((
                    path,
                    node.unwrap_or(Node {
                        kind: NodeKind::Scalar(Value::Null),
                        span,
                        tag: None,
                    }),
                )));
            }
        }
        Ok(None)
    }

    fn role_file(&self, role: &Path, sub: &str, name: &str) -> Result<Option<Node>> {
        Ok(self.role_file_with_path(role, sub, name)?.map(|(_, n)| n))
    }

    fn role_vars_file(&self, role: &Path, sub: &str, name: &str) -> Result<Map> {
        match self.role_file(role, sub, name)? {
            None => Ok(Map::new()),
            Some(node) if node.is_null() => Ok(Map::new()),
            Some(node) => match node.to_value() {
                Value::Object(m) => Ok(m),
                _ => Err(Error::parse(format!(
                    "{sub}/{name} of a role must be a mapping of variables"
                ))
                .at(node.span.clone())),
            },
        }
    }

    /// Load a task file (for `include_tasks` at run time, and static imports).
    pub fn load_task_file(&self, path: &Path, ctx: &TaskFileCtx) -> Result<Vec<TaskNode>> {
        let file = Arc::new(path.to_path_buf());
        match self.parse(path)? {
            None => Ok(Vec::new()),
            Some(node) => self.parse_task_list(
                &node,
                &file,
                ctx,
                &mut PlayCollect {
                    public_roles: &mut Vec::new(),
                    role_handlers: &mut Vec::new(),
                    expanding: &mut vec![Expanding::task_file(path.to_path_buf())],
                },
            ),
        }
    }

    /// Load a role for `include_role` at run time: its block, with handlers returned beside it.
    pub fn load_role_dynamic(
        &self,
        name: &str,
        span: &Span,
        params: Map,
        ctx: &TaskFileCtx,
        files: &RoleFiles,
        public: bool,
    ) -> Result<DynamicRole> {
        let mut handlers = Vec::new();
        let mut public_roles = Vec::new();
        let mut collect = PlayCollect {
            public_roles: &mut public_roles,
            role_handlers: &mut handlers,
            expanding: &mut Vec::new(),
        };
        let block = self.role_block(
            name,
            span,
            params,
            Keywords::default(),
            ctx,
            &mut Vec::new(),
            &mut collect,
            public,
            files,
        )?;
        Ok(DynamicRole {
            block,
            handlers,
            public_roles,
        })
    }

    fn parse_task_list(
        &self,
        node: &Node,
        file: &Arc<PathBuf>,
        ctx: &TaskFileCtx,
        collect: &mut PlayCollect<'_>,
    ) -> Result<Vec<TaskNode>> {
        if node.is_null() {
            return Ok(Vec::new());
        }
        let items = node.as_seq().ok_or_else(|| {
            Error::parse(format!(
                "a list of tasks was expected, got a {}",
                node.type_name()
            ))
            .at(node.span.clone())
            .with_hint("each task starts with '- '")
        })?;
        let mut out = Vec::new();
        for item in items {
            if item.as_map().is_none() {
                return Err(Error::parse(format!(
                    "a task must be a mapping, got a {}",
                    item.type_name()
                ))
                .at(item.span.clone()));
            }
            if item.get("block").is_some() {
                out.push(self.parse_block(item, file, ctx, collect)?);
            } else {
                out.extend(self.parse_task(item, file, ctx, collect)?);
            }
        }
        Ok(out)
    }

    fn parse_block(
        &self,
        node: &Node,
        file: &Arc<PathBuf>,
        ctx: &TaskFileCtx,
        collect: &mut PlayCollect<'_>,
    ) -> Result<TaskNode> {
        for (k, _) in node.as_map().unwrap_or_default() {
            let key = k.key_string();
            if !keywords::is_block_keyword(&key) {
                let mut err = Error::parse(format!("'{key}' is not a valid attribute for a Block"))
                    .at(k.span.clone());
                if let Some(near) = nearest(
                    &key,
                    keywords::COMMON.iter().chain(keywords::BLOCK).copied(),
                ) {
                    err = err.with_hint(format!("did you mean '{near}'?"));
                }
                return Err(err);
            }
        }
        let list = |name: &str, collect: &mut PlayCollect<'_>| match node.get(name) {
            Some(n) => self.parse_task_list(n, file, ctx, collect),
            None => Ok(Vec::new()),
        };
        Ok(TaskNode::Block(Arc::new(Block {
            name: node
                .get("name")
                .and_then(|n| n.as_str())
                .map(str::to_string),
            block: list("block", collect)?,
            rescue: list("rescue", collect)?,
            always: list("always", collect)?,
            keywords: parse_keywords(node, &["block", "rescue", "always"])?,
            span: node.span.clone(),
            role: None,
        })))
    }

    /// One task. Static imports (`import_tasks`, `import_role`) expand here into a
    /// block that carries the import's keywords.
    fn parse_task(
        &self,
        node: &Node,
        file: &Arc<PathBuf>,
        ctx: &TaskFileCtx,
        collect: &mut PlayCollect<'_>,
    ) -> Result<Vec<TaskNode>> {
        let task = parse_task_node(node, file)?;
        match task.action.as_str() {
            "import_tasks" => {
                let name = import_target(&task)?;
                let path = resolve_task_file(&name, file, ctx).ok_or_else(|| {
                    Error::new(ErrorKind::Io, format!("could not find or access '{name}'")).at(task.span.clone()).with_hint("paths are relative to the including file, the role's tasks/ directory, or the playbook")
                })?;
                let tasks = collect
                    .expand(Expanding::task_file(path.clone()), &task.span, |collect| {
                        self.load_task_file_collect(&path, ctx, collect)
                    })
                    .map_err(|e| e.or_at(Some(&task.span)))?;
                Ok(vec![import_block(&task, tasks, None)])
            }
            "import_role" => {
                let (name, files) = role_args(&task)?;
                let mut seen = Vec::new();
                let handlers_before = collect.role_handlers.len();
                let block = self.role_block(
                    &name,
                    &task.span,
                    Map::new(),
                    Keywords::default(),
                    ctx,
                    &mut seen,
                    collect,
                    true,
                    &files,
                )?;
                // The import's keywords (its `when`) reach the role's handlers too.
                let handlers: Vec<TaskNode> =
                    collect.role_handlers.drain(handlers_before..).collect();
                if !handlers.is_empty() {
                    collect
                        .role_handlers
                        .push(import_block(&task, handlers, None));
                }
                Ok(block
                    .map(|b| vec![import_block(&task, vec![b], None)])
                    .unwrap_or_default())
            }
            "include" => Err(Error::parse(
                "'include' was removed from Ansible; use 'include_tasks' or 'import_tasks'",
            )
            .at(task.span.clone())),
            _ => Ok(vec![TaskNode::Task(Arc::new(task))]),
        }
    }

    fn load_task_file_collect(
        &self,
        path: &Path,
        ctx: &TaskFileCtx,
        collect: &mut PlayCollect<'_>,
    ) -> Result<Vec<TaskNode>> {
        let file = Arc::new(path.to_path_buf());
        match self.parse(path)? {
            None => Ok(Vec::new()),
            Some(node) => self.parse_task_list(&node, &file, ctx, collect),
        }
    }
}

/// A role loaded at run time by `include_role`: its block (`None` when it already ran)
/// and the handlers it brings to the play.
pub struct DynamicRole {
    pub block: Option<TaskNode>,
    pub handlers: Vec<TaskNode>,
    /// With `public: true`: the role uses whose defaults and vars the play now sees.
    pub public_roles: Vec<Arc<RoleUse>>,
}

/// Where a play's loading gathers what roles contribute to the whole play.
struct PlayCollect<'a> {
    public_roles: &'a mut Vec<Arc<RoleUse>>,
    role_handlers: &'a mut Vec<TaskNode>,
    /// The static expansions in progress, outermost first: entering one again is a
    /// loop (static imports ignore `when:`, so it could never end).
    expanding: &'a mut Vec<Expanding>,
}

/// A static expansion in progress: a task file being imported, or a role use
/// (with its params and `*_from` files) being loaded.
#[derive(PartialEq)]
enum Expanding {
    TaskFile(PathBuf),
    Role(PathBuf, Map, RoleFiles),
}

impl Expanding {
    /// Paths are compared canonical, so `./a.yml` importing `./a.yml` is caught too.
    fn task_file(path: PathBuf) -> Expanding {
        Expanding::TaskFile(path.canonicalize().unwrap_or(path))
    }

    fn role(path: &Path, params: &Map, files: &RoleFiles) -> Expanding {
        let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        Expanding::Role(path, params.clone(), files.clone())
    }
}

impl PlayCollect<'_> {
    /// Runs `load` with `what` marked as in progress; an error if it already is.
    fn expand<T>(
        &mut self,
        what: Expanding,
        span: &Span,
        load: impl FnOnce(&mut PlayCollect<'_>) -> Result<T>,
    ) -> Result<T> {
        if self.expanding.contains(&what) {
            let message = match &what {
                Expanding::TaskFile(path) => format!(
                    "import loop: '{}' is imported again while it is being loaded",
                    path.display()
                ),
                Expanding::Role(path, _, _) => format!(
                    "role loop: role '{}' is loaded again while it is being loaded (through import_role or its dependencies)",
                    path.display()
                ),
            };
            return Err(Error::parse(message).at(span.clone()));
        }
        self.expanding.push(what);
        let result = load(self);
        self.expanding.pop();
        result
    }
}

/// `tasks_from` and friends of `import_role`/`include_role`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RoleFiles {
    pub tasks_from: Option<String>,
    pub vars_from: Option<String>,
    pub defaults_from: Option<String>,
    pub handlers_from: Option<String>,
}

/// The role name and file options of an `import_role`/`include_role` task.
pub fn role_args(task: &Task) -> Result<(String, RoleFiles)> {
    let get = |k: &str| task.args.get(k).map(crate::value::to_display_string);
    let name = get("name").or_else(|| get("role")).ok_or_else(|| {
        Error::parse(format!("'{}' needs 'name:'", task.action)).at(task.span.clone())
    })?;
    Ok((
        name,
        RoleFiles {
            tasks_from: get("tasks_from"),
            vars_from: get("vars_from"),
            defaults_from: get("defaults_from"),
            handlers_from: get("handlers_from"),
        },
    ))
}

/// The file an `import_tasks`/`include_tasks` names (free-form or `file:`).
pub fn import_target(task: &Task) -> Result<String> {
    task.args
        .get("_raw_params")
        .or_else(|| task.args.get("file"))
        .map(crate::value::to_display_string)
        .ok_or_else(|| {
            Error::parse(format!("'{}' needs a file name", task.action)).at(task.span.clone())
        })
}

/// Resolve a task file named by an include: beside the including file, in the role's
/// `tasks/`, then in the playbook's directory.
pub fn resolve_task_file(name: &str, including: &Path, ctx: &TaskFileCtx) -> Option<PathBuf> {
    let p = Path::new(name);
    if p.is_absolute() {
        return p.is_file().then(|| p.to_path_buf());
    }
    let mut candidates = Vec::new();
    if let Some(dir) = including.parent() {
        candidates.push(dir.join(name));
    }
    if let Some(role) = &ctx.role {
        candidates.push(role.path.join("tasks").join(name));
        candidates.push(role.path.join(name));
    }
    candidates.push(ctx.play_dir.join(name));
    candidates.into_iter().find(|c| c.is_file())
}

/// A static import becomes a block carrying the import task's keywords.
fn import_block(task: &Task, children: Vec<TaskNode>, role: Option<Arc<RoleUse>>) -> TaskNode {
    let mut kw = task.keywords.clone();
    // Parameters given to an import are variables of the imported tasks.
    for (k, v) in &task.args {
        if !matches!(
            k.as_str(),
            "_raw_params"
                | "file"
                | "name"
                | "tasks_from"
                | "vars_from"
                | "defaults_from"
                | "handlers_from"
                | "allow_duplicates"
                | "public"
                | "rolespec_validate"
        ) {
            kw.vars.insert(k.clone(), v.clone());
        }
    }
    TaskNode::Block(Arc::new(Block {
        name: None,
        block: children,
        rescue: Vec::new(),
        always: Vec::new(),
        keywords: kw,
        span: task.span.clone(),
        role,
    }))
}

/// The keywords of play/block/role entries; `skip` names keys handled elsewhere.
fn parse_keywords(node: &Node, skip: &[&str]) -> Result<Keywords> {
    let mut kw = Keywords::default();
    for (k, v) in node.as_map().unwrap_or_default() {
        let key = k.key_string();
        if skip.contains(&key.as_str()) {
            continue;
        }
        set_keyword(&mut kw, &key, v)?;
    }
    Ok(kw)
}

/// Set one common keyword; returns whether `key` was one.
fn set_keyword(kw: &mut Keywords, key: &str, v: &Node) -> Result<bool> {
    set_keyword_value(kw, key, v.to_value()).map_err(|msg| Error::parse(msg).at(v.span.clone()))
}

/// Set one common keyword from a value; `Ok(false)` when `key` is not one.
pub fn set_keyword_value(
    kw: &mut Keywords,
    key: &str,
    value: Value,
) -> std::result::Result<bool, String> {
    match key {
        "when" => kw.when = as_list(value),
        "tags" => kw.tags = tag_list(&value),
        "vars" => {
            kw.vars = match value {
                Value::Object(m) => m,
                Value::Null => Map::new(),
                other => {
                    return Err(format!(
                        "'vars' must be a mapping, got {}",
                        crate::value::python_repr(&other)
                    ));
                }
            }
        }
        "become" => kw.become_ = Some(value),
        "become_user" => kw.become_user = Some(value),
        "become_method" => kw.become_method = Some(value),
        "become_flags" => kw.become_flags = Some(value),
        "ignore_errors" => kw.ignore_errors = Some(value),
        "ignore_unreachable" => kw.ignore_unreachable = Some(value),
        "no_log" => kw.no_log = Some(value),
        "check_mode" => kw.check_mode = Some(value),
        "diff" => kw.diff = Some(value),
        "run_once" => kw.run_once = Some(value),
        "any_errors_fatal" => kw.any_errors_fatal = Some(value),
        "delegate_to" => kw.delegate_to = Some(value),
        "delegate_facts" => kw.delegate_facts = Some(value),
        "environment" => kw.environment.push(value),
        "connection" => kw.connection = Some(value),
        "remote_user" => kw.remote_user = Some(value),
        "throttle" => kw.throttle = Some(value),
        "timeout" => kw.timeout = Some(value),
        _ => return Ok(false),
    }
    Ok(true)
}

/// Inner keywords over outer ones (used when an imported playbook's plays inherit).
fn inherit(outer: &Keywords, mut inner: Keywords) -> Keywords {
    let mut when = outer.when.clone();
    when.append(&mut inner.when);
    inner.when = when;
    let mut tags = outer.tags.clone();
    tags.append(&mut inner.tags);
    inner.tags = tags;
    let mut vars = outer.vars.clone();
    vars.extend(std::mem::take(&mut inner.vars));
    inner.vars = vars;
    inner
}

fn as_list(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        v => vec![v],
    }
}

/// `tags: a,b`, `tags: [a, b]`, `tags: 5` → names.
fn tag_list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().flat_map(tag_list).collect(),
        Value::String(s) => s
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
        Value::Null => Vec::new(),
        other => vec![crate::value::to_display_string(other)],
    }
}

/// Parse a task mapping (no static expansion): keywords, the action and its arguments.
pub fn parse_task_node(node: &Node, file: &Arc<PathBuf>) -> Result<Task> {
    let mut kw = Keywords::default();
    let mut task = Task {
        name: None,
        action: String::new(),
        action_as_written: String::new(),
        args: Map::new(),
        keywords: Keywords::default(),
        loop_: None,
        loop_control: Map::new(),
        register: None,
        changed_when: Vec::new(),
        failed_when: Vec::new(),
        until: Vec::new(),
        retries: None,
        delay: None,
        async_: None,
        poll: None,
        notify: Vec::new(),
        listen: Vec::new(),
        span: node.span.clone(),
        file: file.clone(),
    };
    let mut action: Option<(&Node, &Node)> = None;
    let mut extra_args = Map::new();
    let mut unknown: Vec<&Node> = Vec::new();
    for (k, v) in node.as_map().unwrap_or_default() {
        let key = k.key_string();
        if set_keyword(&mut kw, &key, v)? {
            continue;
        }
        let value = v.to_value();
        match key.as_str() {
            "name" => task.name = (!v.is_null()).then(|| crate::value::to_display_string(&value)),
            "register" => task.register = Some(crate::value::to_display_string(&value)),
            "loop" => set_loop(&mut task, LoopSpec::Loop(value), k)?,
            "loop_control" => {
                task.loop_control = match value {
                    Value::Object(m) => m,
                    _ => {
                        return Err(
                            Error::parse("'loop_control' must be a mapping").at(v.span.clone())
                        );
                    }
                }
            }
            "changed_when" => task.changed_when = as_list(value),
            "failed_when" => task.failed_when = as_list(value),
            "until" => task.until = as_list(value),
            "retries" => task.retries = Some(value),
            "async" => task.async_ = Some(value),
            "poll" => task.poll = Some(value),
            "delay" => task.delay = Some(value),
            "notify" => task.notify = tag_list_plain(&value),
            "listen" => task.listen = tag_list_plain(&value),
            "args" => match value {
                Value::Object(m) => extra_args = m,
                Value::Null => {}
                Value::String(s) if Templar::is_template(&s) => {
                    return Err(Error::parse(
                        "'args' given as a template is not supported; give a mapping",
                    )
                    .at(v.span.clone()));
                }
                _ => return Err(Error::parse("'args' must be a mapping").at(v.span.clone())),
            },
            "collections" | "module_defaults" | "debugger" | "port" | "become_exe" => {}
            "action" | "local_action" => {
                if action.is_some() {
                    return Err(Error::parse("conflicting action statements").at(k.span.clone()));
                }
                action = Some((k, v));
            }
            _ if key.starts_with("with_") => {
                set_loop(&mut task, LoopSpec::With(key[5..].to_string(), value), k)?
            }
            _ => unknown.push(k),
        }
    }
    // Of the keys that are not keywords, exactly one must be the action.
    let mut module_key: Option<&Node> = None;
    for k in &unknown {
        let key = k.key_string();
        if actions::is_known(&key) && module_key.is_none() && action.is_none() {
            module_key = Some(k);
        }
    }
    for k in &unknown {
        if Some(*k as *const Node) == module_key.map(|m| m as *const Node) {
            continue;
        }
        let key = k.key_string();
        if module_key.is_some() || action.is_some() {
            let known = keywords::COMMON.iter().chain(keywords::TASK).copied();
            let mut err = Error::parse(format!("'{key}' is not a valid attribute for a Task"))
                .at(k.span.clone());
            if let Some(near) = nearest(&key, known) {
                err = err.with_hint(format!("did you mean '{near}'?"));
            }
            return Err(err);
        }
        let names = actions::all_names();
        let mut err =
            Error::parse(format!("couldn't resolve module/action '{key}'")).at(k.span.clone());
        err = match nearest(&key, names.iter().copied()).or_else(|| nearest(&key, keywords::COMMON.iter().chain(keywords::TASK).copied())) {
            Some(near) => err.with_hint(format!("did you mean '{near}'?")),
            None => err.with_hint("this often indicates a misspelling or a module srplay does not provide (see `srplay --list-modules`)"),
        };
        return Err(err);
    }
    match (action, module_key) {
        (Some((k, v)), _) => {
            let local = k.key_string() == "local_action";
            let (name, args) = split_action_value(v)?;
            if !actions::is_known(&name) {
                return Err(unknown_action(&name, &v.span));
            }
            task.action_as_written = name.clone();
            task.action = modules::short_name(&name).to_string();
            task.args = args;
            if local {
                kw.delegate_to = Some(Value::String("localhost".into()));
            }
        }
        (None, Some(k)) => {
            let name = k.key_string();
            task.action = modules::short_name(&name).to_string();
            task.action_as_written = name;
            let v = node.get(&k.key_string()).expect("key present");
            task.args = module_args(&task.action, v)?;
        }
        (None, None) => {
            return Err(Error::parse("no module/action detected in task")
                .at(node.span.clone())
                .with_hint("a task needs one module, e.g. 'debug: msg=hello'"));
        }
    }
    // `args:` is the base; inline arguments win.
    for (k, v) in extra_args {
        task.args.entry(k).or_insert(v);
    }
    check_params(&task)?;
    task.keywords = kw;
    Ok(task)
}

fn unknown_action(name: &str, span: &Span) -> Error {
    let names = actions::all_names();
    let err = Error::parse(format!("couldn't resolve module/action '{name}'")).at(span.clone());
    match nearest(name, names.iter().copied()) {
        Some(near) => err.with_hint(format!("did you mean '{near}'?")),
        None => err,
    }
}

fn set_loop(task: &mut Task, spec: LoopSpec, at: &Node) -> Result<()> {
    if task.loop_.is_some() {
        return Err(
            Error::parse("a task can have only one loop ('loop' or one 'with_*')")
                .at(at.span.clone()),
        );
    }
    task.loop_ = Some(spec);
    Ok(())
}

fn tag_list_plain(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().map(crate::value::to_display_string).collect(),
        Value::Null => Vec::new(),
        other => vec![crate::value::to_display_string(other)],
    }
}

/// The module's arguments from the value under its key: `k=v` text, a mapping, or null.
fn module_args(action: &str, v: &Node) -> Result<Map> {
    Ok(match v.to_value() {
        Value::Null => Map::new(),
        Value::Object(m) => m,
        Value::String(s) => parse_kv(&s, actions::takes_free_form(action)),
        other @ (Value::Bool(_) | Value::Number(_)) => {
            let mut m = Map::new();
            m.insert(
                "_raw_params".into(),
                Value::String(crate::value::to_display_string(&other)),
            );
            m
        }
        Value::Array(_) => {
            return Err(Error::parse(format!(
                "the arguments of '{action}' must be a mapping or k=v text, got a list"
            ))
            .at(v.span.clone()));
        }
    })
}

/// `action: copy src=a dest=b` or `action: {module: copy, src: a}`.
fn split_action_value(v: &Node) -> Result<(String, Map)> {
    match v.to_value() {
        Value::String(s) => {
            let s = s.trim();
            let (name, rest) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
            let short = modules::short_name(name).to_string();
            Ok((
                name.to_string(),
                parse_kv(rest, actions::takes_free_form(&short)),
            ))
        }
        Value::Object(mut m) => {
            let name = m
                .remove("module")
                .map(|n| crate::value::to_display_string(&n))
                .ok_or_else(|| {
                    Error::parse("'action' as a mapping needs 'module:'").at(v.span.clone())
                })?;
            Ok((name, m))
        }
        _ => {
            Err(Error::parse("'action' must be 'module k=v' text or a mapping").at(v.span.clone()))
        }
    }
}

/// Module parameters known before templating are checked now (a deliberate difference:
/// Ansible finds an unsupported parameter only when the task runs on a host).
fn check_params(task: &Task) -> Result<()> {
    if let Some(module) = modules::lookup(&task.action) {
        let names = task
            .args
            .keys()
            .map(String::as_str)
            .filter(|k| !Templar::is_template(k));
        module
            .spec()
            .check_names(&task.action, names)
            .map_err(|msg| Error::parse(msg).at(task.span.clone()))?;
        if task.args.contains_key("_raw_params") && !module.spec().free_form {
            let raw = task
                .args
                .get("_raw_params")
                .map(crate::value::to_display_string)
                .unwrap_or_default();
            return Err(Error::parse(format!("module '{}' does not take free-form text, got '{raw}'", task.action))
                .at(task.span.clone())
                .with_hint("give its parameters as k=v pairs or a mapping; quote values that contain spaces: msg=\"hello world\""));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `files` (relative path, text) into a temp dir and loads `play.yml`.
    fn load(files: &[(&str, &str)]) -> Result<Playbook> {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Loader::new(vec![]).load_playbook(&dir.path().join("play.yml"))
    }

    const PLAY_IMPORTING_INC: &str = "- hosts: all\n  tasks:\n    - import_tasks: inc.yml\n";

    #[test]
    fn import_tasks_of_itself_is_a_loop_error_not_a_stack_overflow() {
        let err = load(&[
            ("play.yml", PLAY_IMPORTING_INC),
            ("inc.yml", "- debug: msg=x\n- import_tasks: ./inc.yml\n"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("import loop"), "{err}");
    }

    #[test]
    fn import_tasks_cycle_through_two_files_is_a_loop_error() {
        let err = load(&[
            ("play.yml", PLAY_IMPORTING_INC),
            ("inc.yml", "- import_tasks: other.yml\n"),
            ("other.yml", "- import_tasks: inc.yml\n"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("import loop"), "{err}");
    }

    #[test]
    fn import_role_of_itself_is_a_loop_error_not_a_stack_overflow() {
        let err = load(&[
            ("play.yml", "- hosts: all\n  roles: [r]\n"),
            ("roles/r/tasks/main.yml", "- import_role:\n    name: r\n"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("role loop"), "{err}");
    }

    #[test]
    fn import_role_from_its_own_handlers_is_a_loop_error() {
        let err = load(&[
            ("play.yml", "- hosts: all\n  roles: [r]\n"),
            ("roles/r/handlers/main.yml", "- import_role:\n    name: r\n"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("loop"), "{err}");
    }

    #[test]
    fn meta_dependency_on_itself_with_allow_duplicates_is_a_loop_error() {
        let err = load(&[
            ("play.yml", "- hosts: all\n  roles: [r]\n"),
            (
                "roles/r/meta/main.yml",
                "allow_duplicates: true\ndependencies: [r]\n",
            ),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("role loop"), "{err}");
    }

    #[test]
    fn a_role_depending_on_itself_with_other_params_is_not_a_loop() {
        load(&[
            ("play.yml", "- hosts: all\n  roles: [r]\n"),
            ("roles/r/meta/main.yml", "dependencies: [{role: r, v: 1}]\n"),
        ])
        .unwrap();
    }

    #[test]
    fn a_role_importing_its_own_other_tasks_file_is_not_a_loop() {
        load(&[
            ("play.yml", "- hosts: all\n  roles: [r]\n"),
            (
                "roles/r/tasks/main.yml",
                "- import_role:\n    name: r\n    tasks_from: other\n",
            ),
            ("roles/r/tasks/other.yml", "- debug: msg=x\n"),
        ])
        .unwrap();
    }
}
