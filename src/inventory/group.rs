//! A group as the inventory sources declare it.

use crate::value::Map;

/// One inventory group. Children, parents and hosts are indices into the inventory's
/// group and host tables, kept in the order they were added (which decides host order).
#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub name: String,
    pub vars: Map,
    pub children: Vec<usize>,
    pub parents: Vec<usize>,
    pub hosts: Vec<usize>,
    /// `ansible_group_priority`: among groups of equal depth, higher merges later.
    pub priority: i64,
}

impl Group {
    pub fn new(name: &str) -> Group {
        Group {
            name: name.to_string(),
            vars: Map::new(),
            children: Vec::new(),
            parents: Vec::new(),
            hosts: Vec::new(),
            priority: 1,
        }
    }
}

/// Whether Ansible would call the group name invalid (`[^\w]` or a leading digit); it
/// warns but keeps the name as written (TRANSFORM_INVALID_GROUP_CHARS=never).
pub(crate) fn has_invalid_chars(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_digit())
        || name.chars().any(|c| !(c.is_alphanumeric() || c == '_'))
}
