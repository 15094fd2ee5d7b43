//! The `srplay` command: reads options, config, inventory and playbooks, then runs
//! them (or lists or checks them), and maps the outcome to ansible-playbook's exit codes.

mod args;
mod config;
mod extra_vars;
mod inventory_cmd;
mod listing;
mod node_cmd;

use std::path::Path;

use clap::Parser;

use crate::diagnostic::{self, Error};
use crate::engine::{RunOptions, Runner, TagFilter, exit};
use crate::inventory::Inventory;
use crate::output::HumanOutput;
use crate::playbook::Loader;
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
    match cli.command.take() {
        Some(Command::Inventory(args)) => return inventory_cmd::run(args, &cwd),
        Some(Command::Node(args)) => return node_cmd::run(args, &cwd),
        None => {}
    }
    let config = Config::load(&cwd)?;
    let opts = options(&cli, &config, &cwd)?;
    let sources = inventory_sources(&cli.inventory, &config);
    let inventory = Inventory::load(&sources, &cwd)?;
    let loader = Loader::new(config.roles_path.clone());
    let mut playbooks = Vec::new();
    for path in &cli.playbooks {
        let full = if path.is_absolute() {
            path.clone()
        } else {
            cwd.join(path)
        };
        playbooks.push((path.display().to_string(), loader.load_playbook(&full)?));
    }
    if cli.syntax_check || cli.list_tasks || cli.list_hosts || cli.list_tags {
        let what = listing::ListWhat {
            hosts: cli.list_hosts,
            tasks: cli.list_tasks,
            tags: cli.list_tags,
        };
        let filter = TagFilter::new(&opts.tags, &opts.skip_tags);
        for (shown, pb) in &playbooks {
            if cli.syntax_check && !(cli.list_tasks || cli.list_hosts || cli.list_tags) {
                println!("\nplaybook: {shown}");
            } else {
                print!(
                    "{}",
                    listing::list(
                        pb,
                        shown,
                        what,
                        &inventory,
                        opts.limit.as_deref(),
                        &filter,
                        &opts.extra_vars
                    )?
                );
            }
        }
        return Ok(exit::OK);
    }
    for w in inventory.warnings() {
        eprintln!("[WARNING]: {w}");
    }
    if let Some(limit) = &opts.limit
        && inventory.select(limit)?.is_empty()
    {
        return Err(Error::other("Specified inventory, host pattern and/or --limit leaves us with no hosts to target.")
                .with_hint(format!("no host matches --limit '{limit}'; `srplay --list-hosts PLAYBOOK -i INVENTORY` shows what the plays target")));
    }
    let out = Box::new(HumanOutput::new(opts.verbosity, opts.diff));
    let runner = Runner::new(opts, inventory, loader, out)?;
    for (_, pb) in &playbooks {
        runner.run_playbook(pb)?;
        if runner.stopped() {
            break;
        }
    }
    let code = runner.finish();
    if crate::engine::INTERRUPTED.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("[ERROR]: User interrupted execution");
        return Ok(exit::USER_INTERRUPTED);
    }
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
        rpassword_prompt(&prompt)
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
    })
}

/// Read a password from the terminal without echo.
fn rpassword_prompt(prompt: &str) -> Result<String, Error> {
    use std::io::{BufRead, Write};
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| {
            Error::options(format!(
                "cannot prompt for a password without a terminal: {e}"
            ))
        })?;
    let mut writer = tty.try_clone().map_err(|e| Error::other(e.to_string()))?;
    let _ = write!(writer, "{prompt}");
    let _ = writer.flush();
    let echo_off = std::process::Command::new("stty")
        .arg("-echo")
        .stdin(tty.try_clone().map_err(|e| Error::other(e.to_string()))?)
        .status();
    let mut line = String::new();
    let read = std::io::BufReader::new(tty.try_clone().map_err(|e| Error::other(e.to_string()))?)
        .read_line(&mut line);
    if echo_off.is_ok() {
        let _ = std::process::Command::new("stty")
            .arg("echo")
            .stdin(tty)
            .status();
    }
    let _ = writeln!(writer);
    read.map_err(|e| Error::options(format!("could not read the password: {e}")))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Ctrl-C stops starting new tasks; the run ends with exit code 99.
fn install_interrupt_handler() {
    extern "C" fn on_sigint(_: nix::libc::c_int) {
        crate::engine::INTERRUPTED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let action = nix::sys::signal::SigAction::new(
        nix::sys::signal::SigHandler::Handler(on_sigint),
        nix::sys::signal::SaFlags::empty(),
        nix::sys::signal::SigSet::empty(),
    );
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    let _ = unsafe { nix::sys::signal::sigaction(nix::sys::signal::Signal::SIGINT, &action) };
}
