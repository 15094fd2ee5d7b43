//! What a run was asked to do: the options of `ansible-playbook` after the CLI and
//! `ansible.cfg` have been read.

use crate::value::Map;

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub check: bool,
    pub diff: bool,
    pub forks: usize,
    pub verbosity: u8,
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    pub limit: Option<String>,
    pub start_at_task: Option<String>,
    pub extra_vars: Map,
    pub force_handlers: bool,
    pub become_: bool,
    pub become_user: Option<String>,
    pub become_method: String,
    pub become_password: Option<String>,
    pub connection: Option<String>,
    pub remote_user: Option<String>,
    pub timeout: u64,
    pub private_key_file: Option<String>,
    pub connection_password: Option<String>,
    pub host_key_checking: bool,
    /// The default `strategy:` (`linear` or `free`).
    pub strategy: Option<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            check: false,
            diff: false,
            forks: 5,
            verbosity: 0,
            tags: Vec::new(),
            skip_tags: Vec::new(),
            limit: None,
            start_at_task: None,
            extra_vars: Map::new(),
            force_handlers: false,
            become_: false,
            become_user: None,
            become_method: "sudo".into(),
            become_password: None,
            connection: None,
            remote_user: None,
            timeout: 10,
            private_key_file: None,
            connection_password: None,
            host_key_checking: true,
            strategy: None,
        }
    }
}
