//! The command line, as ansible-playbook's: the same options, the same meanings.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

use super::bundle_cmd::BundleArgs;
use super::completions_cmd::CompletionsArgs;
use super::inventory_cmd::InventoryArgs;
use super::node_cmd::{NodeAction, NodeArgs};
use super::runs_cmd::RunsArgs;
use super::vault_cmd::VaultArgs;

/// Run Ansible playbooks natively: the same playbooks, inventories and options as
/// ansible-playbook, from one binary, with no Python on the targets.
#[derive(Parser, Debug, Default)]
#[command(
    name = "srplay",
    version = version_line(),
    about,
    max_term_width = 100,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    disable_help_subcommand = true,
    subcommand_value_name = "COMMAND",
    after_help = "`srplay PLAYBOOK...` runs playbooks as ansible-playbook does. A first argument \
                  that names a command (`inventory`, `node`, `runs`, `vault`, `bundle`, `completions`) runs that command instead: to run a \
                  playbook file literally named like one, write `./inventory`. Every run is \
                  recorded in .srplay/runs/ beside the inventory (`srplay runs list`)."
)]
pub struct Cli {
    /// A command other than running playbooks.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Playbook(s) to run, in order.
    #[arg(value_name = "PLAYBOOK", required = true)]
    pub playbooks: Vec<PathBuf>,

    /// Inventory: a file, a directory, or a comma-separated host list ("h1,h2,").
    #[arg(short = 'i', long = "inventory", visible_alias = "inventory-file", value_name = "INVENTORY", action = ArgAction::Append)]
    pub inventory: Vec<String>,

    /// Extra variables: key=value pairs, YAML/JSON, or @file (highest precedence).
    #[arg(short = 'e', long = "extra-vars", value_name = "EXTRA_VARS", action = ArgAction::Append)]
    pub extra_vars: Vec<String>,

    /// Limit the run to hosts matching this pattern (or @file).
    #[arg(short = 'l', long = "limit", value_name = "SUBSET")]
    pub limit: Option<String>,

    /// Only run tasks and plays tagged with these.
    #[arg(short = 't', long = "tags", value_name = "TAGS", action = ArgAction::Append)]
    pub tags: Vec<String>,

    /// Skip tasks and plays tagged with these.
    #[arg(long = "skip-tags", value_name = "SKIP_TAGS", action = ArgAction::Append)]
    pub skip_tags: Vec<String>,

    /// Don't change anything; predict what would change.
    #[arg(short = 'C', long = "check")]
    pub check: bool,

    /// Show the differences in files and templates that change.
    #[arg(short = 'D', long = "diff")]
    pub diff: bool,

    /// How many hosts to work on in parallel.
    #[arg(short = 'f', long = "forks", value_name = "FORKS", value_parser = clap::value_parser!(u32).range(1..))]
    pub forks: Option<u32>,

    /// Check the playbook's syntax and exit.
    #[arg(long = "syntax-check")]
    pub syntax_check: bool,

    /// List the tasks that would run.
    #[arg(long = "list-tasks")]
    pub list_tasks: bool,

    /// List the hosts each play would run on.
    #[arg(long = "list-hosts")]
    pub list_hosts: bool,

    /// List all available tags.
    #[arg(long = "list-tags")]
    pub list_tags: bool,

    /// Start the playbook at the task with this name.
    #[arg(long = "start-at-task", value_name = "START_AT_TASK")]
    pub start_at_task: Option<String>,

    /// Go on with a recorded run that failed: only its failed or unreachable hosts, each
    /// from the task where it stopped (default: the newest unfinished run of this
    /// inventory). Give the same playbooks and inventory; put it after the playbooks or
    /// write --resume=ID.
    #[arg(long = "resume", value_name = "ID", num_args = 0..=1, default_missing_value = "")]
    pub resume: Option<String>,

    /// Run handlers even when a task fails.
    #[arg(long = "force-handlers")]
    pub force_handlers: bool,

    /// How the run is reported on stdout: `human` (Ansible's output) or `json` (one JSON
    /// object per event, see docs/events.md; the human output then goes to stderr).
    #[arg(
        long = "output",
        value_name = "FORMAT",
        value_enum,
        env = "SRPLAY_OUTPUT",
        default_value_t
    )]
    pub output: crate::output::Format,

    /// Verbose output (-v shows results, -vvv more).
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,

    /// Connect as this user.
    #[arg(short = 'u', long = "user", value_name = "REMOTE_USER")]
    pub user: Option<String>,

    /// Run operations with become (privilege escalation).
    #[arg(short = 'b', long = "become")]
    pub become_: bool,

    /// Become this user (default root).
    #[arg(long = "become-user", value_name = "BECOME_USER")]
    pub become_user: Option<String>,

    /// Privilege escalation method (sudo, su).
    #[arg(long = "become-method", value_name = "BECOME_METHOD")]
    pub become_method: Option<String>,

    /// Ask for the privilege escalation password.
    #[arg(short = 'K', long = "ask-become-pass")]
    pub ask_become_pass: bool,

    /// Ask for the connection password.
    #[arg(short = 'k', long = "ask-pass")]
    pub ask_pass: bool,

    /// Use this file to authenticate the connection.
    #[arg(
        long = "private-key",
        visible_alias = "key-file",
        value_name = "PRIVATE_KEY_FILE"
    )]
    pub private_key: Option<String>,

    /// Connection type to use (local, ssh).
    #[arg(short = 'c', long = "connection", value_name = "CONNECTION")]
    pub connection: Option<String>,

    /// Connection timeout in seconds.
    #[arg(short = 'T', long = "timeout", value_name = "TIMEOUT")]
    pub timeout: Option<u64>,

    /// Flush the fact cache (accepted for compatibility; srplay keeps no fact cache).
    #[arg(long = "flush-cache")]
    pub flush_cache: bool,

    /// Module search path (accepted for compatibility; srplay's modules are built in).
    #[arg(short = 'M', long = "module-path", value_name = "MODULE_PATH")]
    pub module_path: Option<String>,

    #[command(flatten)]
    pub vault: VaultPasswordArgs,
}

/// Where vault passwords come from (ansible-playbook's and ansible-vault's options).
#[derive(Args, Debug, Default, Clone)]
pub struct VaultPasswordArgs {
    /// A vault identity: [LABEL@]SOURCE, SOURCE a password file, an executable that
    /// prints the password, or `prompt` (repeatable).
    #[arg(long = "vault-id", value_name = "VAULT_IDS", action = ArgAction::Append)]
    pub vault_ids: Vec<String>,

    /// A vault password file, or an executable that prints the password (repeatable).
    #[arg(
        long = "vault-password-file",
        visible_alias = "vault-pass-file",
        value_name = "VAULT_PASSWORD_FILES",
        action = ArgAction::Append
    )]
    pub vault_password_files: Vec<String>,

    /// Ask for the vault password.
    #[arg(
        short = 'J',
        long = "ask-vault-password",
        visible_alias = "ask-vault-pass"
    )]
    pub ask_vault_pass: bool,
}

/// The commands besides running playbooks.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show the inventory as ansible-inventory does (--list, --graph, --host).
    Inventory(InventoryArgs),
    /// The cluster's node table, kept in its INI inventory: list, show, add, remove, replace.
    Node(NodeArgs),
    /// The records of past runs: list, show.
    Runs(RunsArgs),
    /// Encrypt, decrypt, view, edit and rekey Ansible Vault files, as ansible-vault does.
    Vault(VaultArgs),
    /// The offline bundle: create, verify and extract one .tar.gz with srplay, the playbooks,
    /// roles, inventory and package source.
    Bundle(BundleArgs),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    Completions(CompletionsArgs),
}

impl Command {
    /// Whether the command only reads files and prints: no host is reached.
    pub fn only_prints(&self) -> bool {
        match self {
            Command::Node(args) => {
                matches!(args.action, NodeAction::List | NodeAction::Show { .. })
            }
            _ => true,
        }
    }
}

fn version_line() -> &'static str {
    concat!(
        env!("CARGO_PKG_VERSION"),
        " (runs Ansible playbooks as ansible-core 2.19 does)"
    )
}
