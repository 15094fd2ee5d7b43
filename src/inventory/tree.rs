//! The `ansible-inventory --graph` tree: `@group:` lines, children first, then the
//! group's direct hosts, each level indented by `  |` and introduced by `--`.

use super::Inventory;
use super::graph::ALL;

pub(crate) fn build(inv: &Inventory, group: &str) -> Option<String> {
    let g = inv.graph.groups.get_index_of(group)?;
    let mut lines = Vec::new();
    walk(inv, g, 0, &mut lines);
    Some(lines.join("\n"))
}

fn walk(inv: &Inventory, g: usize, depth: usize, lines: &mut Vec<String>) {
    let group = &inv.graph.groups[g];
    lines.push(name_at(&format!("@{}:", group.name), depth));
    for &child in &group.children {
        walk(inv, child, depth + 1, lines);
    }
    if g != ALL {
        for &h in &group.hosts {
            lines.push(name_at(&inv.graph.hosts[h].name, depth + 1));
        }
    }
}

fn name_at(name: &str, depth: usize) -> String {
    if depth == 0 {
        name.to_string()
    } else {
        format!("{}--{name}", "  |".repeat(depth))
    }
}
