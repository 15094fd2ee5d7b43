//! What the run knows about one host across plays: its variables from the inventory,
//! facts, `set_fact`/`register` results, `include_vars`, and its open connection.

use std::sync::Arc;

use crate::connection::ssh::{ConnVars, SshConnection, SshDefaults, SshTarget};
use crate::connection::{ConnError, Connection, LocalConnection};
use crate::engine::options::RunOptions;
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
            let k = k.strip_prefix("ansible_").unwrap_or(k);
            self.facts.insert(k.to_string(), v.clone());
        }
        self.facts_layer = Arc::new(crate::vars::facts_layer(&self.facts));
    }

    pub fn clear_facts(&mut self) {
        self.facts.clear();
        self.facts_layer = Arc::new(Map::new());
    }
}

/// The variables that say how to reach a host (templated before use).
pub const CONNECTION_VARS: &[&str] = &[
    "ansible_connection",
    "ansible_host",
    "ansible_ssh_host",
    "ansible_port",
    "ansible_ssh_port",
    "ansible_user",
    "ansible_ssh_user",
    "ansible_ssh_private_key_file",
    "ansible_private_key_file",
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_ssh_password",
    "ansible_ssh_timeout",
    "ansible_timeout",
    "ansible_host_key_checking",
    "ansible_ssh_host_key_checking",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
    "ansible_ssh_args",
];

impl ConnVars for Map {
    fn get_str(&self, name: &str) -> Option<String> {
        self.get(name)
            .filter(|v| !v.is_null())
            .map(value::to_display_string)
    }
}

/// Open the connection a host's variables ask for: local for `ansible_connection=local`
/// (and the implicit localhost names), else SSH, authenticated before this returns so
/// that an unreachable host is known before its first task acts.
pub fn connect(
    host: &str,
    vars: &Map,
    opts: &RunOptions,
    remote_user: Option<String>,
) -> Result<Box<dyn Connection>, ConnError> {
    let kind = vars
        .get_str("ansible_connection")
        .or_else(|| opts.connection.clone());
    let is_local_name = matches!(host, "localhost" | "127.0.0.1" | "::1");
    match kind.as_deref() {
        Some("local") => Ok(Box::new(LocalConnection::default())),
        None | Some("smart") if is_local_name => Ok(Box::new(LocalConnection::default())),
        None | Some("ssh" | "smart" | "paramiko" | "srplay_ssh") => {
            let defaults = SshDefaults {
                remote_user: remote_user.or_else(|| opts.remote_user.clone()),
                private_key_file: opts.private_key_file.clone(),
                password: opts.connection_password.clone(),
                timeout_secs: opts.timeout,
                host_key_checking: opts.host_key_checking,
            };
            let target = SshTarget::from_vars(host, vars, &defaults)?;
            let mut conn = SshConnection::new(target);
            conn.connect()?;
            Ok(Box::new(conn))
        }
        Some(other) => Err(ConnError::unreachable(format!(
            "the connection type '{other}' is not supported by srplay (supported: ssh, local)"
        ))),
    }
}
