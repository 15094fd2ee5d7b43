//! `srplay node list|show|add|remove`: the cluster's node table, kept in its INI
//! inventory (see `state::nodes` for the layout and `state::store` for the safety of
//! each edit). `add` and `remove` run the role's playbook on the node unless `--no-run`.

use std::path::{Path, PathBuf};

use clap::{ArgAction, Args, Subcommand};

use super::{Cli, Config};
use crate::diagnostic::{Error, Result};
use crate::engine::{Runner, exit};
use crate::inventory::Inventory;
use crate::output::{Event, HumanOutput, Output, RunInfo, Tee};
use crate::playbook::Loader;
use crate::state::nodes::{
    self, Node, NodeRecord, NodeState, NodeTable, Role, StateFile, host_line, roles_text,
};
use crate::state::runs::{self, Record};
use crate::state::store::Store;

/// The environment variable `node add` reads the node's SSH password from.
const PASSWORD_ENV: &str = "SRPLAY_NODE_PASSWORD";

#[derive(Args, Debug)]
#[command(after_help = "\
The inventory stays plain Ansible INI: nodes not yet installed are in [new-<role>], installed \
ones in [<role>] (manage nodes also in [etcd]). srplay keeps what groups cannot say (failed, \
the failing task, timestamps) in .srplay/<inventory>.nodes.json beside the inventory, locks \
edits with .srplay/<inventory>.lock, keeps backups in .srplay/backups/ and the record of each \
playbook run in .srplay/runs/ (`srplay runs list`).")]
pub struct NodeArgs {
    /// The cluster's INI inventory.
    #[arg(
        id = "node_inventory",
        short = 'i',
        long = "inventory",
        value_name = "INVENTORY",
        default_value = "inventory/hosts",
        global = true
    )]
    pub inventory: PathBuf,

    #[command(subcommand)]
    pub action: NodeAction,
}

#[derive(Subcommand, Debug)]
pub enum NodeAction {
    /// List the nodes: id, address, roles, state.
    List,
    /// Show everything known about one node.
    Show {
        /// The node's id.
        id: String,
    },
    /// Add a node under [new-<role>], run its role's playbook, then move it to [<role>].
    Add(AddArgs),
    /// Run the removal playbook (if there is one), then drop the node from every group.
    Remove(RemoveArgs),
    /// Add a new node in place of an old one, then remove the old one once the new one is
    /// installed: never two membership changes at once.
    Replace(ReplaceArgs),
}

#[derive(Args, Debug)]
#[command(after_help = "\
Example:
  srplay node replace -i inventory/hosts old-node --id new-node --address 10.0.0.8

The new node gets the old one's roles unless --role says otherwise. If the new node fails to \
install, the old one is left as it is; run the same command again to resume.")]
pub struct ReplaceArgs {
    /// The node to replace.
    pub old: String,

    #[command(flatten)]
    pub add: AddArgs,

    /// The removal playbook for the old node (default: delnode.yml when it exists).
    #[arg(long = "remove-playbook", value_name = "PLAYBOOK")]
    pub remove_playbook: Option<PathBuf>,
}

#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  srplay node add -i inventory/hosts --address 10.0.0.7 --role compute
  srplay node add -i inventory/hosts --id node-7 --address 10.0.0.7 --role manage,compute --no-run
  SRPLAY_NODE_PASSWORD=... srplay node add --address 10.0.0.7 --role gateway

The password is never taken on the command line (other users can read it there): use \
--password-file, the SRPLAY_NODE_PASSWORD variable, or --ask-pass. It is used for the run and \
never written anywhere. Before the inventory is touched, the node must answer over SSH with the inventory's connection settings (skip with --no-check). Running the same command again resumes a node that failed.")]
pub struct AddArgs {
    /// The node's id: a name or a UUID (default: a new UUID).
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,

    /// The node's address: IPv4, IPv6 or a host name.
    #[arg(long, value_name = "ADDRESS")]
    pub address: String,

    /// Roles: manage, gateway, compute (comma-separated or repeated).
    #[arg(long, value_name = "ROLES", action = ArgAction::Append)]
    pub role: Vec<String>,

    /// SSH port.
    #[arg(long, value_name = "PORT", default_value_t = 22)]
    pub port: u16,

    /// SSH user (written as ansible_user; default: Ansible's).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,

    /// Read the SSH password from this file (its first line).
    #[arg(long = "password-file", value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// Prompt for the SSH password on the terminal.
    #[arg(short = 'k', long = "ask-pass")]
    pub ask_pass: bool,

    /// Only edit the inventory: the node stays new.
    #[arg(long = "no-run")]
    pub no_run: bool,

    /// Add the node without first checking that it answers over SSH.
    #[arg(long = "no-check")]
    pub no_check: bool,

    /// The playbook to run (default: addmaster.yml for manage, gateway.yml for gateway,
    /// addnode.yml for compute, in the current directory or its playbooks/).
    #[arg(long, value_name = "PLAYBOOK", action = ArgAction::Append)]
    pub playbook: Vec<PathBuf>,

    /// Verbose playbook output.
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Args, Debug)]
pub struct RemoveArgs {
    /// The node's id.
    pub id: String,

    /// Only edit the inventory: run no removal playbook.
    #[arg(long = "no-run")]
    pub no_run: bool,

    /// The removal playbook (default: delnode.yml in the current directory or its playbooks/, when it exists).
    #[arg(long, value_name = "PLAYBOOK")]
    pub playbook: Option<PathBuf>,

    /// Remove an etcd member even if the cluster would lose quorum (the node is already gone).
    #[arg(long)]
    pub force: bool,

    /// Verbose playbook output.
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,
}

pub fn run(args: NodeArgs, cwd: &Path) -> Result<i32> {
    let store = Store::open(&cwd.join(&args.inventory))?;
    match args.action {
        NodeAction::List => list(&store),
        NodeAction::Show { id } => show(&store, &id),
        NodeAction::Add(add_args) => add(&store, add_args, cwd),
        NodeAction::Remove(remove_args) => remove(&store, remove_args, cwd),
        NodeAction::Replace(replace_args) => replace(&store, replace_args, cwd),
    }
}

fn read_table(store: &Store) -> Result<NodeTable> {
    let (text, state) = store.read()?;
    NodeTable::load(&store.inventory, &text, &state)
}

fn list(store: &Store) -> Result<i32> {
    let table = read_table(store)?;
    let rows: Vec<[String; 4]> = table
        .nodes
        .iter()
        .map(|n| {
            [
                n.id.clone(),
                n.address.clone(),
                roles_text(&n.roles),
                n.state.to_string(),
            ]
        })
        .collect();
    let header = ["ID", "ADDRESS", "ROLES", "STATE"].map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
    Ok(exit::OK)
}

fn show(store: &Store, id: &str) -> Result<i32> {
    let table = read_table(store)?;
    let node = table.find(id)?;
    println!("id:       {}", node.id);
    println!("address:  {}", node.address);
    println!("port:     {}", node.port);
    if let Some(user) = &node.user {
        println!("user:     {user}");
    }
    println!("roles:    {}", roles_text(&node.roles));
    println!("state:    {}", node.state);
    println!("groups:   {}", node.groups.join(", "));
    if let Some(record) = &node.record {
        println!("updated:  {}", record.updated);
        if let Some(task) = &record.failed_task {
            println!("failed task: {task}");
        }
        if let Some(msg) = &record.message {
            println!("message:  {msg}");
        }
        if let Some(run) = &record.run {
            println!(
                "run:      {run} (`srplay runs show {run} -i {}`)",
                store.inventory.display()
            );
        }
    }
    for line in table.doc.host_lines(id) {
        println!(
            "declared: {}:{} [{}]",
            store.inventory.display(),
            line.line,
            line.group
        );
    }
    Ok(exit::OK)
}

/// Lock, load the table, apply `f` to it and the state, check the result still parses,
/// write both. `f`'s warnings are printed once the edit is durable.
fn edit<T>(
    store: &Store,
    f: impl FnOnce(&mut NodeTable, &mut StateFile) -> Result<T>,
) -> Result<T> {
    let locked = store.lock()?;
    let mut table = NodeTable::load(&store.inventory, &locked.text, &locked.state)?;
    let mut state = locked.state.clone();
    let out = f(&mut table, &mut state)?;
    // Records of nodes someone deleted from the file by hand are dropped.
    state
        .nodes
        .retain(|id, _| !table.doc.host_lines(id).is_empty());
    let text = table.doc.render();
    Inventory::check_ini_text(&text, &store.inventory).map_err(|e| {
        e.with_hint(
            "srplay's edit would break the inventory: nothing was written; please report this",
        )
    })?;
    locked.commit(&text, &state)?;
    Ok(out)
}

fn set_state(state: &mut StateFile, id: &str, new: NodeState) {
    state.nodes.insert(id.to_string(), NodeRecord::new(new));
}

fn add(store: &Store, args: AddArgs, cwd: &Path) -> Result<i32> {
    let id = match &args.id {
        Some(id) => id.clone(),
        None => new_uuid(),
    };
    nodes::validate_id(&id)?;
    nodes::validate_address(&args.address)?;
    let roles = nodes::parse_roles(&args.role)?;
    if let Some(user) = &args.user {
        nodes::validate_user(user)?;
    }
    let playbooks = if args.no_run {
        Vec::new()
    } else {
        add_playbooks(&args, &roles, cwd)?
    };
    let password = read_password(&args)?;
    if !args.no_check {
        check_reachable(store, cwd, &id, &args, &roles, password.clone())?;
    }
    let line = host_line(&id, &args.address, args.port, args.user.as_deref(), &roles);
    let running = !playbooks.is_empty();
    let (resumed, warnings) = edit(store, |table, state| {
        if let Some(node) = table.get(&id) {
            let same = node.address == args.address && node.roles == roles;
            if same && node.state != NodeState::Installed && node.state != NodeState::Removing {
                if running {
                    set_state(state, &id, NodeState::Installing);
                }
                return Ok((true, Vec::new()));
            }
        }
        table.check_new(&id, &args.address)?;
        let warnings = table.add_warnings(&roles);
        for role in &roles {
            table.doc.add_host_line(&role.new_group(), &line);
        }
        set_state(
            state,
            &id,
            if running {
                NodeState::Installing
            } else {
                NodeState::New
            },
        );
        Ok((false, warnings))
    })?;
    for w in &warnings {
        eprintln!("[WARNING]: {w}");
    }
    let groups: Vec<String> = roles
        .iter()
        .map(|r| format!("[{}]", r.new_group()))
        .collect();
    if resumed {
        println!("node {id} is already in {}: resuming it", groups.join(" "));
    } else {
        println!(
            "added node {id} ({}, roles {}) to {}: {}",
            args.address,
            roles_text(&roles),
            store.inventory.display(),
            groups.join(" ")
        );
    }
    if !running {
        println!("node {id} is new: its playbook was not run (--no-run)");
        return Ok(exit::OK);
    }
    let outcome = run_playbooks(
        cwd,
        store,
        &id,
        &playbooks,
        &roles_text(&roles),
        password,
        args.verbose,
    );
    match outcome {
        Ok(()) => {
            edit(store, |table, state| {
                let Some(first) = table.doc.host_lines(&id).into_iter().next() else {
                    return Err(Error::other(format!(
                        "node {id} was removed from the inventory while its playbook ran"
                    ))
                    .with_hint("add it again if it should stay"));
                };
                let text = first.text.trim().to_string();
                for role in &roles {
                    table.doc.remove_host_from(&role.new_group(), &id);
                    if !has_in(table, role.group(), &id) {
                        table.doc.add_host_line(role.group(), &text);
                    }
                }
                if roles.contains(&Role::Manage) && !has_in(table, "etcd", &id) {
                    table.doc.add_host_line("etcd", &text);
                }
                set_state(state, &id, NodeState::Installed);
                Ok(())
            })?;
            let groups: Vec<String> = roles.iter().map(|r| format!("[{}]", r.group())).collect();
            println!("node {id} installed: now in {}", groups.join(" "));
            Ok(exit::OK)
        }
        Err(failure) => {
            edit(store, |_, state| {
                let mut record = NodeRecord::new(NodeState::Failed);
                record.failed_task = failure.task.clone();
                record.message = Some(failure.message.clone());
                record.run = failure.run.clone();
                state.nodes.insert(id.clone(), record);
                Ok(())
            })?;
            Err(failure.into_error(&id, "install"))
        }
    }
}

fn has_in(table: &NodeTable, group: &str, id: &str) -> bool {
    table.doc.host_lines(id).iter().any(|h| h.group == group)
}

fn remove(store: &Store, args: RemoveArgs, cwd: &Path) -> Result<i32> {
    let playbook = if args.no_run {
        None
    } else {
        match &args.playbook {
            Some(p) => Some(existing(cwd, p)?),
            None => default_playbook(cwd, "delnode.yml"),
        }
    };
    let id = args.id.clone();
    let ran = playbook.is_some();
    if let Some(playbook) = playbook {
        let node = edit(store, |table, state| {
            let node: Node = table.find(&id)?.clone();
            table.check_remove(&node, args.force)?;
            set_state(state, &id, NodeState::Removing);
            Ok(node)
        })?;
        if let Err(failure) = run_playbooks(
            cwd,
            store,
            &id,
            &[playbook],
            &roles_text(&node.roles),
            None,
            args.verbose,
        ) {
            edit(store, |_, state| {
                let mut record = NodeRecord::new(NodeState::Removing);
                record.failed_task = failure.task.clone();
                record.message = Some(failure.message.clone());
                record.run = failure.run.clone();
                state.nodes.insert(id.clone(), record);
                Ok(())
            })?;
            return Err(failure.into_error(&id, "remove"));
        }
    }
    let (removed, warnings) = edit(store, |table, state| {
        // Checked (again): another edit may have run while the playbook did.
        let node = table.find(&id)?.clone();
        let warnings = table.check_remove(&node, args.force || ran)?;
        let n = table.doc.remove_host(&id);
        state.nodes.remove(&id);
        Ok((n, warnings))
    })?;
    for w in &warnings {
        eprintln!("[WARNING]: {w}");
    }
    println!(
        "removed node {id} from {} ({removed} line{})",
        store.inventory.display(),
        if removed == 1 { "" } else { "s" }
    );
    Ok(exit::OK)
}

fn replace(store: &Store, mut args: ReplaceArgs, cwd: &Path) -> Result<i32> {
    let old = read_table(store)?.find(&args.old)?.clone();
    if args.add.role.is_empty() {
        args.add.role = vec![roles_text(&old.roles)];
    }
    if args.add.id.as_deref() == Some(old.id.as_str()) {
        return Err(
            Error::options(format!("the new node needs an id other than '{}'", old.id))
                .with_hint("leave --id out for a new UUID"),
        );
    }
    let remove_args = RemoveArgs {
        id: old.id.clone(),
        no_run: args.add.no_run,
        playbook: args.remove_playbook.take(),
        // The new member has just installed: an etcd of two that both answer can drop
        // one. The last-manage-node refusal still holds.
        force: true,
        verbose: args.add.verbose,
    };
    add(store, args.add, cwd)?;
    remove(store, remove_args, cwd)
}

/// The playbooks `node add` runs: `--playbook`, or each role's default (`default_playbook`).
fn add_playbooks(args: &AddArgs, roles: &[Role], cwd: &Path) -> Result<Vec<PathBuf>> {
    if !args.playbook.is_empty() {
        return args.playbook.iter().map(|p| existing(cwd, p)).collect();
    }
    let mut v: Vec<PathBuf> = Vec::new();
    for role in roles {
        let name = match role {
            Role::Manage => "addmaster.yml",
            Role::Gateway => "gateway.yml",
            Role::Compute => "addnode.yml",
        };
        let p = default_playbook(cwd, name).ok_or_else(|| not_found(&cwd.join(name)))?;
        if !v.contains(&p) {
            v.push(p);
        }
    }
    Ok(v)
}

/// A default playbook: in `cwd` (a bundle's root) or in `cwd/playbooks` (the repository's
/// root).
fn default_playbook(cwd: &Path, name: &str) -> Option<PathBuf> {
    [cwd.join(name), cwd.join("playbooks").join(name)]
        .into_iter()
        .find(|p| p.is_file())
}

fn existing(cwd: &Path, p: &Path) -> Result<PathBuf> {
    let full = cwd.join(p);
    if full.is_file() {
        Ok(full)
    } else {
        Err(not_found(&full))
    }
}

fn not_found(playbook: &Path) -> Error {
    Error::options(format!("playbook {} not found", playbook.display())).with_hint(
        "run from the directory that holds the cluster's playbooks (or its playbooks/), pass --playbook FILE, or --no-run to only edit the inventory",
    )
}

/// The SSH password from `--password-file`, `$SRPLAY_NODE_PASSWORD` or a prompt; never argv.
fn read_password(args: &AddArgs) -> Result<Option<String>> {
    if let Some(file) = &args.password_file {
        let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, &e))?;
        return Ok(Some(text.lines().next().unwrap_or_default().to_string()));
    }
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        return Ok(Some(p));
    }
    if args.ask_pass {
        return crate::output::prompt::ask("SSH password: ", false)
            .map(Some)
            .map_err(Error::options);
    }
    Ok(None)
}

fn new_uuid() -> String {
    let mut bytes = [0u8; 16];
    fastrand::fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// Why a playbook run on a node did not succeed.
struct Failure {
    task: Option<String>,
    message: String,
    /// The run's record.
    run: Option<String>,
}

impl Failure {
    fn into_error(self, id: &str, what: &str) -> Error {
        let at = match &self.task {
            Some(task) => format!(" at task '{task}'"),
            None => String::new(),
        };
        Error::other(format!(
            "node {id} failed to {what}{at}: {}",
            self.message
        ))
        .with_hint(format!(
            "`srplay node show {id}` shows the recorded failure; fix the cause and run the same command again (with `--id {id}`) to resume"
        ))
    }
}

/// Reach the new node as its playbook will (the inventory's group variables, the
/// node's address, port and user, `ansible.cfg`), and run `true` there: a node that
/// cannot be reached is refused before anything is written.
fn check_reachable(
    store: &Store,
    cwd: &Path,
    id: &str,
    args: &AddArgs,
    roles: &[Role],
    password: Option<String>,
) -> Result<()> {
    let config = Config::load(cwd)?;
    let cli = Cli {
        inventory: vec![store.inventory.display().to_string()],
        ..Cli::default()
    };
    let mut opts = super::options(&cli, &config, cwd)?;
    opts.connection_password = password;
    let mut inventory = Inventory::load(&cli.inventory, cwd)?;
    let mut own = crate::value::Map::new();
    own.insert("ansible_host".into(), args.address.clone().into());
    own.insert("ansible_port".into(), args.port.into());
    if let Some(user) = &args.user {
        own.insert("ansible_user".into(), user.clone().into());
    }
    if !inventory.has_host(id) {
        let groups: Vec<String> = roles.iter().map(|r| r.new_group()).collect();
        inventory.add_host(id, &groups, own.clone());
    }
    let mut vars = inventory.host_vars(id, Some(cwd))?;
    vars.extend(own);
    let unreachable = |why: String| {
        Error::other(format!(
            "node {id} ({}) does not answer over SSH, so it was not added: {why}",
            args.address
        ))
        .with_hint("check its address, port, user and password or key; --no-check adds it anyway")
    };
    let mut conn =
        crate::engine::connect(id, &vars, &opts, None).map_err(|e| unreachable(e.message))?;
    let out = conn
        .exec(&crate::connection::ExecRequest::shell("true"))
        .map_err(|e| unreachable(e.message))?;
    if out.rc != 0 {
        return Err(unreachable(format!(
            "`true` exited with {}: {}",
            out.rc,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// The hosts a node's playbooks may act on: the node and every installed node, since
/// adding or removing one changes what the others list (/etc/hosts, scrape targets, etcd
/// members, backends). Nodes still new, other than this one, are left out.
fn node_limit(id: &str) -> String {
    let installed = Role::ALL.map(Role::group);
    format!("{id}:{}", installed.join(":"))
}

/// Run `playbooks` as the plain `srplay PLAYBOOK --limit LIMIT -e noderule=ROLES -e node_id=ID`
/// would (`node_limit`; `node_id` tells the playbooks which of the hosts is the node added or
/// removed, since the limit also holds every installed node), with a run record; a failure is the node's failing task and message as
/// the record has them.
fn run_playbooks(
    cwd: &Path,
    store: &Store,
    id: &str,
    playbooks: &[PathBuf],
    noderule: &str,
    password: Option<String>,
    verbose: u8,
) -> std::result::Result<(), Failure> {
    let load_failure = |e: Error| Failure {
        task: None,
        message: e.to_string(),
        run: None,
    };
    let config = Config::load(cwd).map_err(load_failure)?;
    let cli = Cli {
        inventory: vec![store.inventory.display().to_string()],
        extra_vars: vec![format!("noderule={noderule}"), format!("node_id={id}")],
        limit: Some(node_limit(id)),
        verbose,
        ..Cli::default()
    };
    let mut opts = super::options(&cli, &config, cwd).map_err(load_failure)?;
    opts.connection_password = password;
    let inventory = Inventory::load(&cli.inventory, cwd).map_err(load_failure)?;
    let loader = Loader::new(config.roles_path.clone());
    let books = playbooks
        .iter()
        .map(|p| loader.load_playbook(p).map(|pb| (p, pb)))
        .collect::<Result<Vec<_>>>()
        .map_err(load_failure)?;
    let info = RunInfo {
        argv: std::env::args().collect(),
        playbooks: playbooks.to_vec(),
        inventory: cli.inventory.clone(),
        check: false,
        started: std::time::SystemTime::now(),
    };
    let mut sinks: Vec<Box<dyn Output>> =
        vec![Box::new(HumanOutput::new(opts.verbosity, opts.diff))];
    let mut recorded = None;
    if let Some(record) = runs::start_record(&info.inventory, cwd, None) {
        recorded = Some((record.id.clone(), record.path.clone()));
        sinks.push(Box::new(record));
    }
    let out = Box::new(Tee(sinks));
    let runner = Runner::new(opts, inventory, loader, out).map_err(load_failure)?;
    runner.emit(&Event::RunStart(&info));
    for (path, pb) in &books {
        println!(
            "running {} --limit {} -e noderule={noderule} -e node_id={id}",
            path.display(),
            node_limit(id)
        );
        if let Err(e) = runner.run_playbook(pb) {
            runner.emit(&Event::RunEnd {
                exit_code: e.kind.exit_code(),
                error: Some(&e),
            });
            return Err(load_failure(e));
        }
        if runner.stopped() {
            break;
        }
    }
    let mut code = runner.finish();
    if crate::interrupt::requested() {
        code = exit::USER_INTERRUPTED;
    }
    runner.emit(&Event::RunEnd {
        exit_code: code,
        error: None,
    });
    drop(runner);
    if code == exit::OK {
        return Ok(());
    }
    // The node's failure as its run's record has it.
    let failed = recorded
        .as_ref()
        .and_then(|(_, path)| Record::read(path).ok())
        .and_then(|r| r.hosts().shift_remove(id))
        .and_then(|h| h.failure)
        .map(|(_, f)| f);
    let message = if code == exit::USER_INTERRUPTED {
        "interrupted (Ctrl-C)".to_string()
    } else {
        failed
            .as_ref()
            .and_then(|f| f.msg.clone())
            .unwrap_or_else(|| format!("the playbook run ended with exit code {code}"))
    };
    Err(Failure {
        task: failed.map(|f| f.task),
        message,
        run: recorded.map(|(id, _)| id),
    })
}
