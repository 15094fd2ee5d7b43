//! The `ansible-inventory --list` JSON shape (not `--export`): each group with its direct
//! `hosts` and its `children` (empty keys and empty groups left out, `all` without
//! `hosts`), and `_meta.hostvars` with every host's merged variables.

use std::collections::HashSet;
use std::path::Path;

use super::Inventory;
use super::graph::ALL;
use crate::diagnostic::Result;
use crate::value::{Map, Value};

pub(crate) fn build(inv: &Inventory, playbook_dir: Option<&Path>) -> Result<Value> {
    let graph = &inv.graph;
    let mut out = Map::new();
    let mut seen = HashSet::new();
    format_group(inv, ALL, &mut seen, &mut out);
    let mut hostvars = Map::new();
    for &h in &graph.group_hosts[ALL] {
        let name = &graph.hosts[h].name;
        let vars = inv.host_vars(name, playbook_dir)?;
        if !vars.is_empty() {
            hostvars.insert(name.clone(), Value::Object(vars));
        }
    }
    let mut meta = Map::new();
    meta.insert("hostvars".into(), Value::Object(hostvars));
    meta.insert("profile".into(), Value::from("inventory_legacy"));
    out.insert("_meta".into(), Value::Object(meta));
    Ok(Value::Object(out))
}

fn format_group(inv: &Inventory, g: usize, seen: &mut HashSet<usize>, out: &mut Map) {
    let group = &inv.graph.groups[g];
    let mut entry = Map::new();
    if g != ALL {
        let hosts: Vec<Value> = group
            .hosts
            .iter()
            .map(|&h| Value::from(inv.graph.hosts[h].name.clone()))
            .collect();
        if !hosts.is_empty() {
            entry.insert("hosts".into(), Value::Array(hosts));
        }
    }
    let mut children = Vec::new();
    let mut nested = Map::new();
    for &c in &group.children {
        children.push(Value::from(inv.graph.groups[c].name.clone()));
        if seen.insert(c) {
            format_group(inv, c, seen, &mut nested);
        }
    }
    if !children.is_empty() {
        entry.insert("children".into(), Value::Array(children));
    }
    if !entry.is_empty() {
        out.insert(group.name.clone(), Value::Object(entry));
    }
    out.extend(nested);
}

/// The `ansible-inventory --list --yaml` shape (`yaml_inventory`): groups nested under
/// their parents' `children`, each group's `hosts` a map of host → variables (given
/// in full at a host's first appearance, `{}` after), empty keys and groups left out.
pub(crate) fn build_yaml(inv: &Inventory, playbook_dir: Option<&Path>) -> Result<Value> {
    let mut seen_groups = HashSet::new();
    let mut seen_hosts = HashSet::new();
    let mut out = Map::new();
    yaml_group(
        inv,
        ALL,
        playbook_dir,
        &mut seen_groups,
        &mut seen_hosts,
        &mut out,
    )?;
    Ok(Value::Object(out))
}

fn yaml_group(
    inv: &Inventory,
    g: usize,
    playbook_dir: Option<&Path>,
    seen_groups: &mut HashSet<usize>,
    seen_hosts: &mut HashSet<usize>,
    out: &mut Map,
) -> Result<()> {
    let group = &inv.graph.groups[g];
    let mut children = Map::new();
    for &c in &group.children {
        if c == ALL {
            continue;
        }
        if seen_groups.contains(&c) {
            children.insert(inv.graph.groups[c].name.clone(), Value::Object(Map::new()));
        } else {
            yaml_group(inv, c, playbook_dir, seen_groups, seen_hosts, &mut children)?;
            seen_groups.insert(c);
        }
    }
    let mut hosts = Map::new();
    if g != ALL {
        for &h in &group.hosts {
            let name = &inv.graph.hosts[h].name;
            let vars = if seen_hosts.insert(h) {
                inv.host_vars(name, playbook_dir)?
            } else {
                Map::new()
            };
            hosts.insert(name.clone(), Value::Object(vars));
        }
    }
    let mut entry = Map::new();
    if !children.is_empty() {
        entry.insert("children".into(), Value::Object(children));
    }
    if !hosts.is_empty() {
        entry.insert("hosts".into(), Value::Object(hosts));
    }
    if !entry.is_empty() {
        out.insert(group.name.clone(), Value::Object(entry));
    }
    Ok(())
}
