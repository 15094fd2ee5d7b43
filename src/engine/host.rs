//! What the run knows about one host across plays: its variables from the inventory,
//! facts, `set_fact`/`register` results, `include_vars`, and its open connection.

use std::sync::Arc;

use crate::connection::{ConnError, Connection, LocalConnection};
use crate::value::{self, Map, Value};

pub struct HostState {
    pub name: String,
    /// Inventory variables (group/host vars and their files) for the current play's dir.
    pub inventory_vars: Arc<Map>,
    /// Facts as variables (`ansible_facts` and `ansible_*`).
    pub facts_layer: Arc<Map>,
    pub facts: Map,
    /// `set_fact` and `register` results (Ansible's non-persistent fact cache).
    pub set_facts: Arc<Map>,
    pub include_vars: Arc<Map>,
    pub conn: Option<Box<dyn Connection>>,
}

impl HostState {
    pub fn new(name: &str) -> HostState {
        HostState {
            name: name.to_string(),
            inventory_vars: Arc::new(Map::new()),
            facts_layer: Arc::new(Map::new()),
            facts: Map::new(),
            set_facts: Arc::new(Map::new()),
            include_vars: Arc::new(Map::new()),
            conn: None,
        }
    }

    pub fn set_fact(&mut self, key: &str, v: Value) {
        Arc::make_mut(&mut self.set_facts).insert(key.to_string(), v);
    }

    pub fn add_facts(&mut self, facts: &Map) {
        for (k, v) in facts {
            // Ansible's namespace_facts: `ansible_local` keeps its prefix.
            let k = match k.strip_prefix("ansible_") {
                Some(bare) if k != "ansible_local" => bare,
                _ => k,
            };
            self.facts.insert(k.to_string(), v.clone());
        }
        self.facts_layer = Arc::new(crate::vars::facts_layer(&self.facts));
    }

    pub fn clear_facts(&mut self) {
        self.facts.clear();
        self.facts_layer = Arc::new(Map::new());
    }
}

/// Open the connection a host's variables ask for.
pub fn connect(
    host: &str,
    vars: &Map,
    default: Option<&str>,
) -> Result<Box<dyn Connection>, ConnError> {
    let kind = vars
        .get("ansible_connection")
        .map(value::to_display_string)
        .or_else(|| default.map(str::to_string));
    let is_local_name = matches!(host, "localhost" | "127.0.0.1" | "::1");
    match kind.as_deref() {
        Some("local") => Ok(Box::new(LocalConnection::default())),
        None | Some("smart") if is_local_name => Ok(Box::new(LocalConnection::default())),
        Some(other @ ("ssh" | "paramiko" | "smart")) | Some(other) => {
            let _ = other;
            Err(ConnError::unreachable(format!(
                "Failed to connect to the host via {}: this srplay build runs the local connection only; SSH transport is not available yet",
                kind.as_deref().unwrap_or("ssh")
            )))
        }
        None => Err(ConnError::unreachable(
            "Failed to connect to the host via ssh: this srplay build runs the local connection only; SSH transport is not available yet",
        )),
    }
}
