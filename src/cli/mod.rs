//! The `srplay` command: reads options, config, inventory and playbooks, then runs
//! them (or lists or checks them), and maps the outcome to ansible-playbook's exit codes.

mod args;
mod bundle_cmd;
mod completions_cmd;
mod config;
mod extra_vars;
mod inventory_cmd;
mod listing;
mod node_cmd;
mod resume;
mod runs_cmd;
mod vault_cmd;

use std::path::Path;

use clap::Parser;

use crate::diagnostic::{self, Error};
use crate::engine::{ResumePlan, RunOptions, Runner, TagFilter, exit};
use crate::inventory::Inventory;
use crate::output::{self, Event, Format, Output, RunInfo, Shared};
use crate::playbook::Loader;
use crate::state::runs;
use crate::value::Map;

pub use args::{Cli, Command};
pub use config::Config;

/// Entry point: parse the command line, run, and return the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    install_interrupt_handler();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprint!("{}", diagnostic::render(&err));
            eprintln!();
            err.kind.exit_code()
        }
    }
}

fn run(mut cli: Cli) -> Result<i32, Error> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::other(format!("cannot read the current directory: {e}")))?;
    let listing = cli.syntax_check || cli.list_tasks || cli.list_hosts || cli.list_tags;
    let command = cli.command.take();
    if listing || command.as_ref().is_some_and(Command::only_prints) {
        quiet_on_closed_pipe();
    }
    match command {
        Some(Command::Inventory(args)) => return inventory_cmd::run(args, &cwd),
        Some(Command::Node(args)) => return node_cmd::run(args, &cwd),
        Some(Command::Runs(args)) => return runs_cmd::run(args, &cwd),
        Some(Command::Vault(args)) => return vault_cmd::run(args, &cwd),
        Some(Command::Bundle(args)) => return bundle_cmd::run(args, &cwd),
        Some(Command::Completions(args)) => return Ok(completions_cmd::run(args)),
        None => {}
    }
    let config = Config::load(&cwd)?;
    let sources = inventory_sources(&cli.inventory, &config);
    let info = RunInfo {
        argv: std::env::args().collect(),
        playbooks: cli.playbooks.clone(),
        inventory: sources.clone(),
        check: cli.check,
        started: std::time::SystemTime::now(),
    };
    // Listings print text. A run reports to its sinks from here on, so that one that
    // stops on an error (a playbook that does not load) still ends its JSON stream.
    let format = if listing { Format::Human } else { cli.output };
    let mut sinks = output::for_run(format, cli.verbose, cli.diff);
    // A run (not a listing) is recorded beside its inventory, linked to the run it resumes.
    let resume = match &cli.resume {
        Some(id) if !listing => Some(resume::prepare(id, &info, &cwd)?),
        _ => None,
    };
    if !listing
        && let Some(record) = runs::start_record(
            &info.inventory,
            &cwd,
            resume.as_ref().map(|(id, _)| id.clone()),
        )
    {
        sinks.0.push(Box::new(record));
    }
    let mut out = Shared::new(Box::new(sinks));
    out.event(&Event::RunStart(&info));
    let plan = resume.map(|(_, plan)| plan);
    let result = run_playbooks(&cli, &config, &cwd, sources, listing, out.clone(), plan);
    if let Err(e) = &result {
        out.event(&Event::RunEnd {
            exit_code: e.kind.exit_code(),
            error: Some(e),
        });
    }
    result
}

/// Load the inventory and playbooks, then list them or run them.
fn run_playbooks(
    cli: &Cli,
    config: &Config,
    cwd: &Path,
    sources: Vec<String>,
    listing: bool,
    out: Shared,
    resume: Option<ResumePlan>,
) -> Result<i32, Error> {
    // Vault passwords first: `-e @file`, the inventory and the playbooks may be vaulted.
    vault_cmd::install_secrets(&cli.vault, config)?;
    let opts = options(cli, config, cwd)?;
    let inventory = Inventory::load(&sources, cwd)?;
    // As ansible-playbook: a --limit that leaves no host fails before any playbook is
    // read, listings and --syntax-check included.
    for w in inventory.warnings() {
        eprintln!("[WARNING]: {w}");
    }
    if let Some(limit) = &opts.limit
        && inventory.select(limit)?.is_empty()
    {
        return Err(Error::other("Specified inventory, host pattern and/or --limit leaves us with no hosts to target.")
                .with_hint(format!("no host matches --limit '{limit}'; `srplay --list-hosts PLAYBOOK -i INVENTORY` shows what the plays target")));
    }
    // A listing shows every use of a role, as Ansible's does: repeats are dropped only
    // when the play runs.
    let loader = Loader::new(config.roles_path.clone()).keeping_repeated_roles(listing);
    let mut playbooks = Vec::new();
    for path in &cli.playbooks {
        let full = if path.is_absolute() {
            path.clone()
        } else {
            cwd.join(path)
        };
        playbooks.push((path.display().to_string(), loader.load_playbook(&full)?));
    }
    if listing {
        // `--syntax-check` wins over the list flags: it prints the playbook names only.
        let what = if cli.syntax_check {
            listing::ListWhat::default()
        } else {
            listing::ListWhat {
                hosts: cli.list_hosts,
                tasks: cli.list_tasks,
                tags: cli.list_tags,
            }
        };
        // `--list-tags` without `--tags`/`--skip-tags` shows every tag, `never` ones
        // too: ansible-playbook then selects `never,all`, for the tasks it lists as well.
        let filter = if cli.list_tags && opts.tags.is_empty() && opts.skip_tags.is_empty() {
            TagFilter::new(&["never".into(), "all".into()], &[])
        } else {
            TagFilter::new(&opts.tags, &opts.skip_tags)
        };
        let ctx = listing::ListContext {
            inventory: &inventory,
            limit: opts.limit.as_deref(),
            filter: &filter,
            extra_vars: &opts.extra_vars,
        };
        // Every playbook is checked before anything is printed, as ansible-playbook
        // validates all its plays first.
        let mut text = String::new();
        for (shown, pb) in &playbooks {
            text.push_str(&listing::list(pb, shown, what, &ctx)?);
        }
        print!("{text}");
        return Ok(exit::OK);
    }
    let mut runner = Runner::new(opts, inventory, loader, Box::new(out))?;
    if let Some(plan) = resume {
        runner = runner.resuming(plan);
    }
    for (_, pb) in &playbooks {
        runner.run_playbook(pb)?;
        if runner.stopped() {
            break;
        }
    }
    let mut code = runner.finish();
    if crate::interrupt::requested() {
        eprintln!("[ERROR]: User interrupted execution");
        code = exit::USER_INTERRUPTED;
    }
    runner.emit(&Event::RunEnd {
        exit_code: code,
        error: None,
    });
    Ok(code)
}

/// The `-i` sources given, else the config file's, else `/etc/ansible/hosts` when it exists.
fn inventory_sources(given: &[String], config: &Config) -> Vec<String> {
    if !given.is_empty() {
        given.to_vec()
    } else if !config.inventory.is_empty() {
        config.inventory.clone()
    } else if Path::new("/etc/ansible/hosts").is_file() {
        vec!["/etc/ansible/hosts".to_string()]
    } else {
        Vec::new()
    }
}

/// CLI over environment over config file over Ansible's defaults.
fn options(cli: &Cli, config: &Config, cwd: &Path) -> Result<RunOptions, Error> {
    let mut extra = Map::new();
    for e in &cli.extra_vars {
        extra.extend(extra_vars::parse(e, cwd)?);
    }
    let limit = match cli.limit.as_deref() {
        Some(l) if l.starts_with('@') => {
            let path = cwd.join(&l[1..]);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                Error::options(format!(
                    "the limit file {} could not be read: {e}",
                    path.display()
                ))
            })?;
            Some(
                text.lines()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(","),
            )
        }
        other => other.map(str::to_string),
    };
    let ask = |what: &str| -> Result<String, Error> {
        let prompt = format!("{what}: ");
        crate::output::prompt::ask(&prompt, false).map_err(Error::options)
    };
    let become_password = if cli.ask_become_pass || config.become_ask_pass.unwrap_or(false) {
        Some(ask("BECOME password")?)
    } else {
        None
    };
    let connection_password = if cli.ask_pass || config.ask_pass.unwrap_or(false) {
        Some(ask("SSH password")?)
    } else {
        None
    };
    Ok(RunOptions {
        check: cli.check,
        diff: cli.diff,
        forks: cli.forks.or(config.forks).unwrap_or(5) as usize,
        verbosity: cli.verbose,
        tags: cli.tags.clone(),
        skip_tags: cli.skip_tags.clone(),
        limit,
        start_at_task: cli.start_at_task.clone(),
        extra_vars: extra,
        force_handlers: cli.force_handlers || config.force_handlers.unwrap_or(false),
        become_: cli.become_ || config.become_.unwrap_or(false),
        become_user: cli
            .become_user
            .clone()
            .or_else(|| config.become_user.clone()),
        become_method: cli
            .become_method
            .clone()
            .or_else(|| config.become_method.clone())
            .unwrap_or_else(|| "sudo".into()),
        become_password,
        connection: cli.connection.clone(),
        remote_user: cli.user.clone().or_else(|| config.remote_user.clone()),
        timeout: cli.timeout.or(config.timeout).unwrap_or(10),
        private_key_file: cli
            .private_key
            .clone()
            .or_else(|| config.private_key_file.clone()),
        connection_password,
        host_key_checking: config.host_key_checking.unwrap_or(true),
        strategy: config.strategy.clone(),
    })
}

/// Ctrl-C stops starting new tasks; the run ends with exit code 99.
/// For the commands that only print (`inventory --list | head`, `runs show | less`): a
/// reader that stops early ends srplay quietly, as it ends `ls`, instead of Rust's print
/// macros panicking on EPIPE. Commands that talk to hosts keep SIGPIPE ignored, so a
/// dropped SSH socket stays an error they report.
fn quiet_on_closed_pipe() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: restoring the default disposition installs no handler code.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

fn install_interrupt_handler() {
    extern "C" fn on_sigint(_: nix::libc::c_int) {
        crate::interrupt::request();
    }
    let action = nix::sys::signal::SigAction::new(
        nix::sys::signal::SigHandler::Handler(on_sigint),
        nix::sys::signal::SaFlags::empty(),
        nix::sys::signal::SigSet::empty(),
    );
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    let _ = unsafe { nix::sys::signal::sigaction(nix::sys::signal::Signal::SIGINT, &action) };
}
