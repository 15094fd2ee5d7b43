//! Inventories: hosts, groups and their variables, and host patterns.
//! (Minimal stand-in: host lists and simple INI; the full layer replaces it.)

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::diagnostic::{Error, Result};
use crate::value::{Map, Value};

#[derive(Clone, Debug, Default)]
pub struct Inventory {
    hosts: IndexMap<String, Map>,
    groups: IndexMap<String, Vec<String>>,
    file: Option<PathBuf>,
    warnings: Vec<String>,
}

impl Inventory {
    pub fn load(sources: &[String], cwd: &Path) -> Result<Inventory> {
        let mut inv = Inventory::default();
        for src in sources {
            if src.contains(',') && !Path::new(src).exists() {
                for h in src.split(',').map(str::trim).filter(|h| !h.is_empty()) {
                    inv.hosts.entry(h.to_string()).or_default();
                    inv.groups
                        .entry("ungrouped".into())
                        .or_default()
                        .push(h.to_string());
                }
                continue;
            }
            let path = cwd.join(src);
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, &e))?;
            inv.file = Some(path);
            let mut group = "ungrouped".to_string();
            let mut vars_group: Option<String> = None;
            for line in text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
            {
                if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                    vars_group = name.strip_suffix(":vars").map(str::to_string);
                    group = name.to_string();
                    continue;
                }
                let mut parts = line.split_whitespace();
                let first = parts.next().unwrap_or_default().to_string();
                if let Some(g) = &vars_group {
                    let (k, v) = line.split_once('=').unwrap_or((line, ""));
                    let targets = if g == "all" {
                        inv.hosts.keys().cloned().collect()
                    } else {
                        inv.groups.get(g).cloned().unwrap_or_default()
                    };
                    for h in targets {
                        inv.hosts
                            .entry(h)
                            .or_default()
                            .entry(k.trim().to_string())
                            .or_insert(Value::String(v.trim().to_string()));
                    }
                    continue;
                }
                let vars = inv.hosts.entry(first.clone()).or_default();
                for kv in parts {
                    if let Some((k, v)) = kv.split_once('=') {
                        vars.insert(k.to_string(), crate::yaml::resolve_plain(v));
                    }
                }
                inv.groups.entry(group.clone()).or_default().push(first);
            }
        }
        Ok(inv)
    }
    pub fn host_names(&self) -> Vec<String> {
        self.hosts.keys().cloned().collect()
    }
    pub fn has_host(&self, name: &str) -> bool {
        self.hosts.contains_key(name)
    }
    pub fn select(&self, pattern: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for p in pattern.split([',', ':']).map(str::trim) {
            if p == "all" || p == "*" {
                out.extend(self.host_names());
            } else if let Some(hs) = self.groups.get(p) {
                out.extend(hs.iter().cloned());
            } else if self.hosts.contains_key(p) || p == "localhost" {
                out.push(p.to_string());
            }
        }
        let mut seen = indexmap::IndexSet::new();
        out.retain(|h| seen.insert(h.clone()));
        Ok(out)
    }
    pub fn groups_map(&self) -> IndexMap<String, Vec<String>> {
        let mut m = IndexMap::new();
        m.insert("all".to_string(), self.host_names());
        for (g, hs) in &self.groups {
            m.insert(g.clone(), hs.clone());
        }
        m
    }
    pub fn group_names(&self, host: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .groups
            .iter()
            .filter(|(g, hs)| *g != "ungrouped" && hs.iter().any(|h| h == host))
            .map(|(g, _)| g.clone())
            .collect();
        v.sort();
        v
    }
    pub fn host_vars(&self, host: &str, _playbook_dir: Option<&Path>) -> Result<Map> {
        let mut m = self.hosts.get(host).cloned().unwrap_or_default();
        if host == "localhost" && !self.hosts.contains_key(host) {
            m.insert("ansible_connection".into(), Value::String("local".into()));
        }
        Ok(m)
    }
    pub fn inventory_dir(&self, _host: &str) -> Option<PathBuf> {
        self.file
            .as_ref()
            .and_then(|f| f.parent().map(Path::to_path_buf))
    }
    pub fn inventory_file(&self, _host: &str) -> Option<PathBuf> {
        self.file.clone()
    }
    pub fn add_host(&mut self, name: &str, groups: &[String], vars: Map) {
        self.hosts.entry(name.to_string()).or_default().extend(vars);
        for g in groups {
            self.groups
                .entry(g.clone())
                .or_default()
                .push(name.to_string());
        }
    }
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}
