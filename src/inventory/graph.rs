//! The host/group graph every source feeds, with Ansible's rules (`InventoryData`):
//! `all` and `ungrouped` always exist, every top-level group becomes a child of `all`,
//! a host in no group (or only `all`) lands in `ungrouped`.
//!
//! After each change [`Graph::reconcile`] recomputes the derived tables (group depth,
//! each group's host list, each host's sorted ancestor groups), so that patterns and
//! variable merges are lookups, not graph walks.

use std::collections::HashSet;
use std::path::PathBuf;

use indexmap::IndexMap;

use super::group::{Group, has_invalid_chars};
use super::host::Host;
use crate::value::{Map, Value};

pub(crate) const ALL: usize = 0;
pub(crate) const UNGROUPED: usize = 1;

/// Names that resolve to the implicit localhost (`C.LOCALHOST`).
pub(crate) const LOCALHOST_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

#[derive(Clone, Debug)]
pub(crate) struct Graph {
    pub hosts: IndexMap<String, Host>,
    pub groups: IndexMap<String, Group>,
    /// The source being parsed and its directory: new hosts record them as their
    /// `inventory_file` and `inventory_dir`.
    pub current_source: Option<(PathBuf, Option<PathBuf>)>,
    pub warnings: Vec<String>,
    warned_group_chars: bool,
    /// Derived: `depth[g]` is the longest path from `all` to `g`.
    pub depth: Vec<usize>,
    /// Derived: `Group.get_hosts()` of each group (its hosts, then its descendants', breadth first).
    pub group_hosts: Vec<Vec<usize>>,
    /// Derived: every group of each host, ancestors included, sorted by (depth, priority, name).
    pub host_groups: Vec<Vec<usize>>,
}

impl Graph {
    pub fn new() -> Graph {
        let mut g = Graph {
            hosts: IndexMap::new(),
            groups: IndexMap::new(),
            current_source: None,
            warnings: Vec::new(),
            warned_group_chars: false,
            depth: Vec::new(),
            group_hosts: Vec::new(),
            host_groups: Vec::new(),
        };
        g.add_group("all");
        g.add_group("ungrouped");
        // Cannot fail: two fresh groups.
        let _ = g.add_child_group(ALL, UNGROUPED);
        g
    }

    pub fn warn(&mut self, msg: String) {
        if !self.warnings.contains(&msg) {
            self.warnings.push(msg);
        }
    }

    /// The group's index, creating it if needed.
    pub fn add_group(&mut self, name: &str) -> usize {
        if let Some(i) = self.groups.get_index_of(name) {
            return i;
        }
        if has_invalid_chars(name) && !self.warned_group_chars {
            self.warned_group_chars = true;
            self.warn(format!(
                "Invalid characters were found in group names but not replaced: {name:?}"
            ));
        }
        self.groups.insert(name.to_string(), Group::new(name));
        self.groups.len() - 1
    }

    /// The host's index, creating it if needed; `port` only counts for a new host, as in Ansible.
    pub fn add_host(&mut self, name: &str, group: Option<usize>, port: Option<u16>) -> usize {
        let h = match self.hosts.get_index_of(name) {
            Some(h) => h,
            None => {
                let mut host = Host::new(name, self.current_source.clone());
                if let Some(port) = port {
                    host.vars.insert("ansible_port".into(), Value::from(port));
                }
                self.hosts.insert(name.to_string(), host);
                self.hosts.len() - 1
            }
        };
        if let Some(g) = group {
            self.add_host_to_group(g, h);
        }
        h
    }

    pub fn add_host_to_group(&mut self, g: usize, h: usize) {
        let group = &mut self.groups[g];
        if !group.hosts.contains(&h) {
            group.hosts.push(h);
        }
        let host = &mut self.hosts[h];
        if !host.groups.contains(&g) {
            host.groups.push(g);
        }
    }

    fn remove_host_from_group(&mut self, g: usize, h: usize) {
        self.groups[g].hosts.retain(|&x| x != h);
        self.hosts[h].groups.retain(|&x| x != g);
    }

    /// Make `child` a child group of `parent`, refusing loops as Ansible does.
    pub fn add_child_group(&mut self, parent: usize, child: usize) -> Result<(), String> {
        if parent == child {
            return Err(format!(
                "can't add group '{}' to itself",
                self.groups[parent].name
            ));
        }
        if self.groups[parent].children.contains(&child) {
            return Ok(());
        }
        if self.is_descendant(parent, child) {
            return Err(format!(
                "Adding group '{}' as child to '{}' creates a recursive dependency loop.",
                self.groups[child].name, self.groups[parent].name
            ));
        }
        self.groups[parent].children.push(child);
        if !self.groups[child].parents.contains(&parent) {
            self.groups[child].parents.push(parent);
        }
        Ok(())
    }

    /// Whether `g` is `root` or below it.
    fn is_descendant(&self, g: usize, root: usize) -> bool {
        let mut stack = vec![root];
        let mut seen = HashSet::new();
        while let Some(x) = stack.pop() {
            if x == g {
                return true;
            }
            if seen.insert(x) {
                stack.extend(&self.groups[x].children);
            }
        }
        false
    }

    /// `Group.set_variable`: `ansible_group_priority` sets the priority instead of a var.
    pub fn set_group_var(&mut self, g: usize, key: &str, value: Value) {
        if key == "ansible_group_priority" {
            match priority_of(&value) {
                Some(p) => self.groups[g].priority = p,
                None => {
                    let name = self.groups[g].name.clone();
                    self.warn(format!(
                        "ignoring ansible_group_priority {} for group {name}: not an integer",
                        crate::value::to_display_string(&value)
                    ));
                }
            }
            return;
        }
        self.groups[g].vars.insert(key.to_string(), value);
    }

    pub fn set_host_var(&mut self, h: usize, key: &str, value: Value) {
        self.hosts[h].vars.insert(key.to_string(), value);
    }

    /// `InventoryData.reconcile_inventory` plus the derived tables.
    pub fn reconcile(&mut self) {
        for g in 1..self.groups.len() {
            if self.groups[g].parents.is_empty() {
                // Cannot fail: `all` is nobody's child.
                let _ = self.add_child_group(ALL, g);
            }
        }
        for h in 0..self.hosts.len() {
            let groups = &self.hosts[h].groups;
            let in_ungrouped = groups.contains(&UNGROUPED);
            let others = groups.iter().any(|&g| g != ALL && g != UNGROUPED);
            if in_ungrouped && others {
                self.remove_host_from_group(UNGROUPED, h);
            } else if !in_ungrouped && !others {
                self.add_host_to_group(UNGROUPED, h);
            }
        }
        let clashes: Vec<String> = self
            .hosts
            .keys()
            .filter(|h| self.groups.contains_key(*h))
            .cloned()
            .collect();
        for name in clashes {
            self.warn(format!("Found both group and host with same name: {name}"));
        }
        self.derive();
    }

    fn derive(&mut self) {
        self.depth = self.depths();
        self.group_hosts = (0..self.groups.len())
            .map(|g| self.hosts_below(g))
            .collect();
        self.host_groups = (0..self.hosts.len())
            .map(|h| {
                let mut groups = self.ancestors_of_host(h);
                groups.sort_by(|&a, &b| self.group_order(a, b));
                groups
            })
            .collect();
    }

    /// The order group variables merge in (`sort_groups`): depth, priority, name.
    pub fn group_order(&self, a: usize, b: usize) -> std::cmp::Ordering {
        let key = |g: usize| (self.depth[g], self.groups[g].priority, &self.groups[g].name);
        key(a).cmp(&key(b))
    }

    /// Longest path from a root, in topological order (the graph is acyclic by construction).
    fn depths(&self) -> Vec<usize> {
        let n = self.groups.len();
        let mut depth = vec![0; n];
        let mut pending: Vec<usize> = self.groups.values().map(|g| g.parents.len()).collect();
        let mut queue: Vec<usize> = (0..n).filter(|&g| pending[g] == 0).collect();
        while let Some(g) = queue.pop() {
            for &c in &self.groups[g].children {
                depth[c] = depth[c].max(depth[g] + 1);
                pending[c] -= 1;
                if pending[c] == 0 {
                    queue.push(c);
                }
            }
        }
        depth
    }

    /// `Group.get_hosts()`: direct hosts of the group, then of its descendants breadth first.
    fn hosts_below(&self, g: usize) -> Vec<usize> {
        let mut order = vec![g];
        let mut seen: HashSet<usize> = HashSet::from([g]);
        let mut i = 0;
        while i < order.len() {
            for &c in &self.groups[order[i]].children {
                if seen.insert(c) {
                    order.push(c);
                }
            }
            i += 1;
        }
        let mut hosts_seen = HashSet::new();
        order
            .iter()
            .flat_map(|&k| self.groups[k].hosts.iter().copied())
            .filter(|h| hosts_seen.insert(*h))
            .collect()
    }

    fn ancestors_of_host(&self, h: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut stack: Vec<usize> = self.hosts[h].groups.clone();
        while let Some(g) = stack.pop() {
            if seen.insert(g) {
                out.push(g);
                stack.extend(&self.groups[g].parents);
            }
        }
        out
    }

    /// The inventory's own localhost-like host, which stands in for the implicit one.
    pub fn localhost(&self) -> Option<usize> {
        self.hosts
            .keys()
            .position(|n| LOCALHOST_NAMES.contains(&n.as_str()))
    }

    /// The group vars from inventory files for host `h` (or the implicit localhost, `None`).
    pub fn file_group_vars(&self, h: Option<usize>) -> Map {
        let mut out = self.groups[ALL].vars.clone();
        if let Some(h) = h {
            for &g in &self.host_groups[h] {
                if g != ALL {
                    out.extend(self.groups[g].vars.clone());
                }
            }
        }
        out
    }
}

/// `int(value)` as Python would take it for a priority.
fn priority_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
