//! srplay: a native, agentless runner for Ansible playbooks.
//!
//! Layers, each a folder (see ARCHITECTURE.md): `cli` → `inventory` + `playbook`
//! (loaded with `yaml`) → `engine` (with `vars`, `template`, `modules`, `connection`)
//! → `output`. Errors are `diagnostic::Error` values rendered once at the edge.

pub mod bundle;
pub mod cli;
pub mod connection;
pub mod diagnostic;
pub mod engine;
pub mod facts;
pub mod interrupt;
pub mod inventory;
pub mod modules;
pub mod output;
pub mod playbook;
pub mod state;
pub mod template;
pub mod value;
pub mod vars;
pub mod vault;
pub mod yaml;
