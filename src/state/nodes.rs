//! The node table of a cluster, as its INI inventory and srplay's state file say it.
//!
//! Group membership is the truth Ansible sees: a node not yet installed is in
//! `new-<role>` for each of its roles, an installed one in `<role>`, and an installed
//! manage node also in `etcd`. Its host line, in the reference client's style, is
//! `ID ansible_host=ADDR ip=ADDR port=PORT role=manage,compute` (plus `ansible_port=`
//! when the SSH port is not 22 and `ansible_user=` when a user was given).
//!
//! What groups cannot say (installing, failed and the task that failed, removing, when it
//! changed) is kept in the state file (see `store`). A state that contradicts the groups
//! (say a record `installed` for a node only in `new-*`, after someone edited the file by
//! hand) yields to the groups.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::diagnostic::{Error, ErrorKind, Result, Span, nearest};
use crate::inventory::Inventory;
use crate::inventory::edit::IniDoc;
use crate::value::Value;

/// What a node does in the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Manage,
    Gateway,
    Compute,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Manage, Role::Gateway, Role::Compute];

    pub fn name(self) -> &'static str {
        match self {
            Role::Manage => "manage",
            Role::Gateway => "gateway",
            Role::Compute => "compute",
        }
    }

    /// The group of installed nodes with this role.
    pub fn group(self) -> &'static str {
        self.name()
    }

    /// The group of nodes with this role that are not installed yet.
    pub fn new_group(self) -> String {
        format!("new-{}", self.name())
    }

    fn parse(s: &str) -> Result<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                let names = Role::ALL.map(Role::name);
                let hint = match nearest(s, names) {
                    Some(near) => format!("did you mean {near}?"),
                    None => format!("a role is one of: {}", names.join(", ")),
                };
                Error::options(format!("unknown role '{s}'")).with_hint(hint)
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Roles as `--role a,b --role c` gives them: deduplicated, in the order manage, gateway, compute.
pub fn parse_roles(given: &[String]) -> Result<Vec<Role>> {
    let mut roles = Vec::new();
    for part in given.iter().flat_map(|g| g.split(',')) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let role = Role::parse(part)?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    if roles.is_empty() {
        return Err(Error::options("a node needs at least one role")
            .with_hint("--role compute, --role manage,compute, …"));
    }
    roles.sort();
    Ok(roles)
}

pub fn roles_text(roles: &[Role]) -> String {
    roles.iter().map(|r| r.name()).collect::<Vec<_>>().join(",")
}

/// Where a node is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    New,
    Installing,
    Installed,
    Failed,
    Removing,
}

impl fmt::Display for NodeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NodeState::New => "new",
            NodeState::Installing => "installing",
            NodeState::Installed => "installed",
            NodeState::Failed => "failed",
            NodeState::Removing => "removing",
        })
    }
}

/// One node's entry in the state file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub state: NodeState,
    /// When the state last changed (UTC, RFC 3339).
    pub updated: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_task: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The record of the run that set this state (`srplay runs show ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

impl NodeRecord {
    pub fn new(state: NodeState) -> NodeRecord {
        NodeRecord {
            state,
            updated: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            failed_task: None,
            message: None,
            run: None,
        }
    }
}

/// `.srplay/<inventory>.nodes.json`: `{"version": 1, "nodes": {ID: NodeRecord}}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StateFile {
    #[serde(default = "version_one")]
    pub version: u32,
    #[serde(default)]
    pub nodes: BTreeMap<String, NodeRecord>,
}

fn version_one() -> u32 {
    1
}

impl StateFile {
    /// The state file at `path`, or an empty one when there is none yet.
    pub fn read(path: &Path) -> Result<StateFile> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                Error::parse(format!("{}: not a srplay state file: {e}", path.display())).with_hint(
                    "restore it from version control, or delete it: states then follow the groups",
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StateFile {
                version: 1,
                nodes: BTreeMap::new(),
            }),
            Err(e) => Err(Error::io(path, &e)),
        }
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// A node as the inventory and the state file describe it.
#[derive(Clone, Debug)]
pub struct Node {
    pub id: String,
    pub address: String,
    pub port: u16,
    pub user: Option<String>,
    pub roles: Vec<Role>,
    pub state: NodeState,
    pub record: Option<NodeRecord>,
    /// Groups the host is in directly or not, sorted (`group_names`).
    pub groups: Vec<String>,
}

impl Node {
    /// Whether this node is an etcd member: an installed manage node.
    pub fn installed_manage(&self) -> bool {
        matches!(self.state, NodeState::Installed | NodeState::Removing)
            && self.roles.contains(&Role::Manage)
    }
}

/// Every node of the cluster, with the inventory it came from.
pub struct NodeTable {
    pub path: PathBuf,
    pub inventory: Inventory,
    pub doc: IniDoc,
    pub nodes: Vec<Node>,
}

impl NodeTable {
    /// Read the table from the inventory at `path` (whose text is `text`) and its state.
    /// The inventory is parsed by the same parser as a run, so a malformed line is
    /// reported with its file:line.
    pub fn load(path: &Path, text: &str, state: &StateFile) -> Result<NodeTable> {
        let cwd = path.parent().unwrap_or(Path::new("."));
        let inventory = Inventory::load(&[path.display().to_string()], cwd)?;
        let mut nodes = Vec::new();
        for host in inventory.host_names() {
            let groups = inventory.group_names(&host);
            let mut roles = Vec::new();
            let mut installed = false;
            for role in Role::ALL {
                let now = groups.iter().any(|g| g == role.group());
                let new = groups.iter().any(|g| *g == role.new_group());
                installed |= now;
                if now || new {
                    roles.push(role);
                }
            }
            if roles.is_empty() {
                continue;
            }
            let vars = inventory.host_vars(&host, None)?;
            let text_var = |k: &str| vars.get(k).map(crate::value::to_display_string);
            let address = text_var("ansible_host")
                .or_else(|| text_var("ip"))
                .unwrap_or_else(|| host.clone());
            let port = ["ansible_port", "port"]
                .iter()
                .find_map(|k| match vars.get(*k) {
                    Some(Value::Number(n)) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
                    Some(Value::String(s)) => s.parse().ok(),
                    _ => None,
                })
                .unwrap_or(22);
            let record = state.nodes.get(&host).cloned();
            let derived = if installed {
                NodeState::Installed
            } else {
                NodeState::New
            };
            let state = match record.as_ref().map(|r| r.state) {
                Some(NodeState::Removing) => NodeState::Removing,
                Some(s @ (NodeState::Installing | NodeState::Failed | NodeState::New))
                    if !installed =>
                {
                    s
                }
                _ => derived,
            };
            nodes.push(Node {
                id: host.clone(),
                address,
                port,
                user: text_var("ansible_user"),
                roles,
                state,
                record,
                groups,
            });
        }
        Ok(NodeTable {
            path: path.to_path_buf(),
            inventory,
            doc: IniDoc::parse(text),
            nodes,
        })
    }

    pub fn get(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The node `id`, or an error with the nearest known id.
    pub fn find(&self, id: &str) -> Result<&Node> {
        self.get(id).ok_or_else(|| {
            let mut err = Error::options(format!(
                "no node '{id}' in {} (a node is a host in a manage, gateway or compute group, or their new- groups)",
                self.path.display()
            ));
            if let Some(near) = nearest(id, self.nodes.iter().map(|n| n.id.as_str())) {
                err = err.with_hint(format!("did you mean {near}?"));
            } else {
                err = err.with_hint("`srplay node list` shows the nodes");
            }
            err
        })
    }

    fn span_of(&self, host: &str, needle: &str) -> Option<Span> {
        let first = self.doc.host_lines(host).into_iter().next()?;
        let column = first.text.find(needle).map_or(1, |i| i + 1);
        Some(Span::new(Arc::new(self.path.clone()), first.line, column))
    }

    /// Refuse a new node whose id or address is already taken by any host.
    pub fn check_new(&self, id: &str, address: &str) -> Result<()> {
        if self.inventory.host_names().iter().any(|h| h == id) {
            let err = Error::options(format!(
                "a host named '{id}' is already in the inventory"
            ))
            .with_hint("node ids are unique: pick another --id, or `srplay node remove` the old one first");
            return Err(err.or_at(self.span_of(id, id).as_ref()));
        }
        if self.inventory.group_names_all().iter().any(|g| g == id) {
            return Err(
                Error::options(format!("'{id}' is already a group name in the inventory"))
                    .with_hint(
                        "a host and a group with the same name confuse patterns: pick another --id",
                    ),
            );
        }
        for host in self.inventory.host_names() {
            let vars = self.inventory.host_vars(&host, None)?;
            let taken = host == address
                || ["ansible_host", "ip"].iter().any(|k| {
                    vars.get(*k)
                        .is_some_and(|v| crate::value::to_display_string(v) == address)
                });
            if taken {
                let err = Error::options(format!(
                    "address {address} is already used by host '{host}'"
                ))
                .with_hint(
                    "one address, one node: check --address, or remove the other host first",
                );
                return Err(err.or_at(self.span_of(&host, address).as_ref()));
            }
        }
        Ok(())
    }

    /// Manage nodes other than `except`, and how many of them are installed (etcd members).
    fn manage_counts(&self, except: Option<&str>) -> (usize, usize) {
        let others = self
            .nodes
            .iter()
            .filter(|n| Some(n.id.as_str()) != except && n.roles.contains(&Role::Manage));
        let all = others.clone().count();
        let installed = others.filter(|n| n.installed_manage()).count();
        (all, installed)
    }

    /// Refuse to remove the last manage node, or an etcd member when the cluster would
    /// lose quorum (`force` allows the latter); warnings to print otherwise.
    pub fn check_remove(&self, node: &Node, force: bool) -> Result<Vec<String>> {
        let mut warnings = Vec::new();
        if !node.roles.contains(&Role::Manage) {
            return Ok(warnings);
        }
        let (left, installed_left) = self.manage_counts(Some(&node.id));
        if left == 0 || (node.installed_manage() && installed_left == 0) {
            return Err(Error::options(format!(
                "'{}' is the last manage node: removing it would leave the cluster without etcd",
                node.id
            ))
            .with_hint(
                "add and install another manage node first (`srplay node replace` is planned)",
            ));
        }
        if node.installed_manage() {
            let members = installed_left + 1;
            if members <= 2 && !force {
                return Err(Error::options(format!(
                    "removing '{}' would leave etcd with {installed_left} member(s) out of {members}: a cluster of {members} cannot lose a member and keep quorum",
                    node.id
                ))
                .with_hint("add a manage node first so that etcd keeps a quorum, or pass --force if the node is already gone"));
            }
        }
        if left % 2 == 0 {
            warnings.push(format!(
                "after removing '{}' there are {left} manage nodes: etcd wants an odd number (3, 5, …)",
                node.id
            ));
        }
        Ok(warnings)
    }

    /// Warnings for adding a node with `roles`.
    pub fn add_warnings(&self, roles: &[Role]) -> Vec<String> {
        let (count, _) = self.manage_counts(None);
        if roles.contains(&Role::Manage) && (count + 1) % 2 == 0 {
            vec![format!(
                "with this node there are {} manage nodes: etcd wants an odd number (3, 5, …)",
                count + 1
            )]
        } else {
            Vec::new()
        }
    }
}

/// A node id is written as an INI host name: letters, digits, `.`, `_`, `-`.
pub fn validate_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 253
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::options(format!("invalid node id '{id}'")).with_hint(
            "an id is a name or a UUID: letters, digits, '.', '_' and '-', starting with a letter or digit",
        ))
    }
}

/// An address is an IPv4 address, an IPv6 address, or a DNS host name (RFC 1123 labels).
pub fn validate_address(address: &str) -> Result<()> {
    let bad = |why: &str| {
        Error::options(format!("invalid address '{address}': {why}"))
            .with_hint("an address is an IPv4 address (10.0.0.5), an IPv6 address (fd00::5) or a host name (node-5.example.com)")
    };
    if address.parse::<Ipv4Addr>().is_ok() || address.parse::<Ipv6Addr>().is_ok() {
        return Ok(());
    }
    if address.contains(':') {
        return Err(bad("not a valid IPv6 address"));
    }
    let name = address.strip_suffix('.').unwrap_or(address);
    let labels: Vec<&str> = name.split('.').collect();
    if labels
        .iter()
        .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(bad("not a valid IPv4 address"));
    }
    if name.is_empty() || name.len() > 253 {
        return Err(bad("a host name is 1 to 253 characters"));
    }
    for label in labels {
        if label.is_empty() || label.len() > 63 {
            return Err(bad("each dot-separated label is 1 to 63 characters"));
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(bad("a host name has only letters, digits, '-' and '.'"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad("a label cannot start or end with '-'"));
        }
    }
    Ok(())
}

/// The host line of a node, in the reference client's style.
pub fn host_line(id: &str, address: &str, port: u16, user: Option<&str>, roles: &[Role]) -> String {
    let mut line = format!(
        "{id} ansible_host={address} ip={address} port={port} role={}",
        roles_text(roles)
    );
    if port != 22 {
        line.push_str(&format!(" ansible_port={port}"));
    }
    if let Some(user) = user {
        line.push_str(&format!(" ansible_user={user}"));
    }
    line
}

/// A user name safe to write unquoted on a host line.
pub fn validate_user(user: &str) -> Result<()> {
    let ok = !user.is_empty()
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Options,
            format!("invalid user name '{user}'"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        for good in [
            "10.0.0.1",
            "::1",
            "fd00::5",
            "node-1.example.com",
            "a",
            "host.",
        ] {
            assert!(validate_address(good).is_ok(), "{good}");
        }
        for bad in [
            "10.0.0.256",
            "10.0.0",
            "1.2.3.4.5",
            "fd00:::1",
            "-a.b",
            "a-.b",
            "a..b",
            "a_b",
            "",
            "a b",
        ] {
            assert!(validate_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roles() {
        assert_eq!(
            parse_roles(&["compute,manage".into(), "compute".into()]).unwrap(),
            [Role::Manage, Role::Compute]
        );
        let err = parse_roles(&["compte".into()]).unwrap_err();
        assert_eq!(err.hint.as_deref(), Some("did you mean compute?"));
        assert!(parse_roles(&[",".into()]).is_err());
    }

    #[test]
    fn ids() {
        assert!(validate_id("550e8400-e29b-41d4-a716-446655440000").is_ok());
        assert!(validate_id("node_1.a").is_ok());
        for bad in ["", "-x", "a b", "a=b", "a:1", "a[1]", "a#"] {
            assert!(validate_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_lines() {
        assert_eq!(
            host_line("n1", "10.0.0.1", 22, None, &[Role::Manage, Role::Compute]),
            "n1 ansible_host=10.0.0.1 ip=10.0.0.1 port=22 role=manage,compute"
        );
        assert_eq!(
            host_line("n1", "h", 2222, Some("ops"), &[Role::Gateway]),
            "n1 ansible_host=h ip=h port=2222 role=gateway ansible_port=2222 ansible_user=ops"
        );
    }
}
