//! Inventories: hosts, groups and their variables, and host patterns.
//!
//! [`Inventory::load`] reads `-i` sources (INI, YAML, executable scripts, directories of
//! those, `h1,h2,` host lists) into one host/group graph with Ansible's rules, then
//! precomputes what the engine asks per play and per host: each group's hosts, each
//! host's groups in variable-merge order. Patterns ([`Inventory::select`]) and variable
//! merges ([`Inventory::host_vars`]) are lookups over those tables plus a cache of
//! `group_vars/` and `host_vars/` files.
//!
//! Ansible's behaviour is the spec: `ansible-inventory --list` and `--list-hosts` output
//! is what the tests compare against.

mod address;
pub mod edit;
mod graph;
mod group;
mod host;
mod ini;
mod list_json;
mod literal;
mod pattern;
mod script;
mod sources;
mod tree;
mod vars_dirs;
mod yaml_source;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use indexmap::IndexMap;

use crate::diagnostic::{Error, Result};
use crate::value::{Map, Value};
use graph::{ALL, Graph, LOCALHOST_NAMES};
use pattern::Hit;
use vars_dirs::{Kind, VarsDirs};

pub use literal::parse_value as parse_ini_value;

/// The loaded inventory. Cheap to clone (the vars-file cache is shared).
#[derive(Clone, Debug)]
pub struct Inventory {
    graph: Graph,
    /// Directories whose `group_vars/` and `host_vars/` apply, one per source, in order.
    vars_bases: Vec<PathBuf>,
    vars_dirs: VarsDirs,
    /// Where `@file` limit patterns are resolved from.
    cwd: PathBuf,
    /// The implicit localhost is one host whose name is the first name it was asked
    /// for (`localhost`, `127.0.0.1` or `::1`), as in Ansible.
    implicit_name: OnceLock<String>,
}

impl Inventory {
    /// Load sources as `-i` gives them: a file (INI, YAML, or an executable script run
    /// with `--list`), a directory (every file in it, with Ansible's ignore rules), or a
    /// host list `h1,h2,` (contains a comma, not a path). No sources: implicit localhost only.
    pub fn load(sources: &[String], cwd: &Path) -> Result<Inventory> {
        let mut graph = Graph::new();
        let mut vars_bases: Vec<PathBuf> = Vec::new();
        for source in sources {
            if let Some(base) = sources::load(&mut graph, source, cwd)?
                && !vars_bases.contains(&base)
            {
                vars_bases.push(base);
            }
        }
        graph.reconcile();
        if graph.hosts.is_empty() {
            graph.warn(
                "provided hosts list is empty, only localhost is available. Note that the implicit localhost does not match 'all'"
                    .to_string(),
            );
        }
        Ok(Inventory {
            graph,
            vars_bases,
            vars_dirs: VarsDirs::default(),
            cwd: cwd.to_path_buf(),
            implicit_name: OnceLock::new(),
        })
    }

    /// Parse `text` as the INI inventory at `path` would be parsed, and return its
    /// first error (with file:line). Used to check an edit before it is written.
    pub fn check_ini_text(text: &str, path: &Path) -> Result<()> {
        ini::parse(&mut Graph::new(), text, path)
    }

    /// Warnings Ansible would print while loading (empty inventory, odd group names, …).
    pub fn warnings(&self) -> &[String] {
        &self.graph.warnings
    }

    /// Every host, in the order the sources declared them (the implicit localhost excluded).
    pub fn host_names(&self) -> Vec<String> {
        self.graph.hosts.keys().cloned().collect()
    }

    /// Whether `name` is an inventory host or a name of the implicit localhost.
    pub fn has_host(&self, name: &str) -> bool {
        self.graph.hosts.contains_key(name) || LOCALHOST_NAMES.contains(&name)
    }

    /// Group names, in the order they were declared (`all` and `ungrouped` first).
    pub fn group_names_all(&self) -> Vec<String> {
        self.graph.groups.keys().cloned().collect()
    }

    /// Hosts matching a pattern as `hosts:` / `--limit` take it, in Ansible's order,
    /// deduplicated. Matching nothing is an empty list; a bad regex or an out-of-range
    /// subscript is an error. `@file` terms read one pattern per line from the file.
    pub fn select(&self, pattern: &str) -> Result<Vec<String>> {
        let terms = pattern::expand_limit_files(pattern::split_pattern(pattern), &self.cwd)?;
        let hits = pattern::evaluate(&self.graph, &terms)?;
        Ok(hits
            .into_iter()
            .map(|hit| match hit {
                Hit::Host(h) => self.graph.hosts[h].name.clone(),
                Hit::ImplicitLocalhost => self.implicit_localhost_name(&terms),
            })
            .collect())
    }

    /// The `groups` magic variable: every group → its hosts (descendants' hosts included),
    /// `all` and `ungrouped` first, then groups in the order they were declared.
    pub fn groups_map(&self) -> IndexMap<String, Vec<String>> {
        self.graph
            .groups
            .keys()
            .enumerate()
            .map(|(g, name)| (name.clone(), self.names(&self.graph.group_hosts[g])))
            .collect()
    }

    /// `group_names` for a host: its groups, ancestors included, sorted, without `all`.
    /// As in Ansible, a host in no group has `["ungrouped"]`.
    pub fn group_names(&self, host: &str) -> Vec<String> {
        let Some(h) = self.graph.hosts.get_index_of(host) else {
            return Vec::new();
        };
        let mut names: Vec<String> = self.graph.host_groups[h]
            .iter()
            .filter(|&&g| g != ALL)
            .map(|&g| self.graph.groups[g].name.clone())
            .collect();
        names.sort();
        names
    }

    /// All inventory-side variables of a host, merged in Ansible's precedence order:
    /// inventory-file group vars (`all` < parents < children, then `ansible_group_priority`,
    /// then name) < inventory `group_vars/all` < playbook `group_vars/all` < inventory
    /// `group_vars/*` < playbook `group_vars/*` < inventory-file host vars < inventory
    /// `host_vars/*` < playbook `host_vars/*`. Merging replaces top-level keys
    /// (`hash_behaviour=replace`). `inventory_file`/`inventory_dir` are not included: see
    /// [`Inventory::inventory_file`].
    pub fn host_vars(&self, host: &str, playbook_dir: Option<&Path>) -> Result<Map> {
        let h = self.graph.hosts.get_index_of(host);
        if h.is_none() && !LOCALHOST_NAMES.contains(&host) {
            let known = self.graph.hosts.keys().map(String::as_str);
            let mut err = Error::other(format!("host {host} is not in the inventory"));
            if let Some(near) = crate::diagnostic::nearest(host, known) {
                err = err.with_hint(format!("did you mean {near}?"));
            }
            return Err(err);
        }
        let bases: Vec<&Path> = self
            .vars_bases
            .iter()
            .map(PathBuf::as_path)
            .chain(playbook_dir)
            .collect();
        let groups: Vec<&str> = match h {
            Some(h) => self.graph.host_groups[h]
                .iter()
                .filter(|&&g| g != ALL)
                .map(|&g| self.graph.groups[g].name.as_str())
                .collect(),
            None => Vec::new(),
        };
        let mut vars = self.graph.file_group_vars(h);
        for base in &bases {
            vars.extend(
                self.vars_dirs
                    .get(base, Kind::Group, "all")?
                    .as_ref()
                    .clone(),
            );
        }
        for base in &bases {
            for g in &groups {
                vars.extend(self.vars_dirs.get(base, Kind::Group, g)?.as_ref().clone());
            }
        }
        match h {
            Some(h) => vars.extend(self.graph.hosts[h].vars.clone()),
            None => {
                // The implicit localhost gets `all`'s inventory-file vars at group level
                // (in `file_group_vars`, so `group_vars/all` files win over them, as in
                // ansible-core 2.19), and a local connection.
                vars.insert("ansible_connection".into(), Value::from("local"));
            }
        }
        for base in &bases {
            vars.extend(self.vars_dirs.get(base, Kind::Host, host)?.as_ref().clone());
        }
        Ok(vars)
    }

    /// The `inventory_dir` magic variable: the directory of the source that declared the host.
    pub fn inventory_dir(&self, host: &str) -> Option<PathBuf> {
        self.graph.hosts.get(host)?.source_dir.clone()
    }

    /// The `inventory_file` magic variable: the source that first declared the host.
    pub fn inventory_file(&self, host: &str) -> Option<PathBuf> {
        self.graph.hosts.get(host)?.source.clone()
    }

    /// `add_host` at run time: add (or update) a host, put it in `groups` (created as
    /// needed), and merge `vars` over its own variables.
    pub fn add_host(&mut self, name: &str, groups: &[String], vars: Map) {
        let h = self.graph.add_host(name, Some(ALL), None);
        self.graph.hosts[h].vars.extend(vars);
        for group in groups {
            let g = self.graph.add_group(group);
            self.graph.add_host_to_group(g, h);
        }
        self.graph.reconcile();
    }

    /// Whether [`Inventory::group_by`] would change anything, as Ansible's strategy decides
    /// it: a new group or parent group, a new child link, or the host new in the group.
    pub fn group_by_changes(&self, host: &str, group: &str, parents: &[String]) -> bool {
        let groups = &self.graph.groups;
        let Some(g) = groups.get_index_of(group) else {
            return true;
        };
        let in_group = self
            .graph
            .hosts
            .get_index_of(host)
            .is_some_and(|h| groups[g].hosts.contains(&h));
        !in_group
            || parents.iter().any(|p| {
                groups
                    .get_index_of(p.as_str())
                    .is_none_or(|p| !groups[p].children.contains(&g))
            })
    }

    /// `group_by`: put `host` in `group`, itself a child of each of `parents` (created as
    /// needed; a link that would make a loop is left out).
    pub fn group_by(&mut self, host: &str, group: &str, parents: &[String]) {
        let g = self.graph.add_group(group);
        for parent in parents {
            let p = self.graph.add_group(parent);
            let _ = self.graph.add_child_group(p, g);
        }
        if let Some(h) = self.graph.hosts.get_index_of(host) {
            self.graph.add_host_to_group(g, h);
        }
        self.graph.reconcile();
    }

    /// The JSON `ansible-inventory --list` prints (without `--export`): groups with their
    /// direct hosts and children, and `_meta.hostvars` with each host's merged variables.
    pub fn to_list_json(&self, playbook_dir: Option<&Path>) -> Result<Value> {
        list_json::build(self, playbook_dir)
    }

    /// What `ansible-inventory --list --yaml` prints (before YAML layout): groups nested
    /// under their parents, hosts with their variables at their first appearance.
    pub fn to_list_yaml_value(&self, playbook_dir: Option<&Path>) -> Result<Value> {
        list_json::build_yaml(self, playbook_dir)
    }

    /// The `ansible-inventory --graph GROUP` tree, or `None` when there is no such group.
    pub fn to_graph(&self, group: &str) -> Option<String> {
        tree::build(self, group)
    }

    /// Forget cached `group_vars/`/`host_vars/` files, so that the next
    /// [`Inventory::host_vars`] reads them again.
    pub fn clear_vars_cache(&self) {
        self.vars_dirs.clear();
    }

    fn implicit_localhost_name(&self, terms: &[String]) -> String {
        self.implicit_name
            .get_or_init(|| {
                terms
                    .iter()
                    .map(|t| t.trim_start_matches(['!', '&']))
                    .find(|t| LOCALHOST_NAMES.contains(t))
                    .unwrap_or("localhost")
                    .to_string()
            })
            .clone()
    }

    fn names(&self, hosts: &[usize]) -> Vec<String> {
        hosts
            .iter()
            .map(|&h| self.graph.hosts[h].name.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests;
