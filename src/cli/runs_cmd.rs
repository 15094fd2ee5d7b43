//! `srplay runs list|show`: the records of past runs of an inventory (see
//! `state::runs` and `docs/records.md`).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::Config;
use crate::diagnostic::{Error, Result};
use crate::engine::exit;
use crate::state::runs::{self, HostSummary, Line, Outcome, Record, StatusName};

#[derive(Args, Debug)]
#[command(after_help = "\
Every playbook run writes a record in .srplay/runs/ beside its inventory (inside an inventory \
directory; in the current directory for a host list): the command line with secrets redacted, \
checksums of the playbooks and inventory, and each host's tasks with their status and failure \
message. The newest 200 records are kept. `srplay PLAYBOOK -i INVENTORY --resume [ID]` goes on \
with a run that failed.")]
pub struct RunsArgs {
    /// The inventory whose runs to show (default: the configured one, else the current directory).
    #[arg(
        id = "runs_inventory",
        short = 'i',
        long = "inventory",
        value_name = "INVENTORY",
        global = true
    )]
    pub inventory: Option<String>,

    #[command(subcommand)]
    pub action: RunsAction,
}

#[derive(Subcommand, Debug)]
pub enum RunsAction {
    /// List the runs, oldest first: id, start, duration, playbooks, result, hosts.
    List,
    /// Show one run (default: the newest): per host the last task reached, status counts
    /// and the failed task with its place and message.
    Show {
        /// The run's id, or a unique prefix of it.
        id: Option<String>,
        /// Show every task of every host.
        #[arg(long)]
        tasks: bool,
    },
}

pub fn run(args: RunsArgs, cwd: &Path) -> Result<i32> {
    let sources = match &args.inventory {
        Some(i) => vec![i.clone()],
        None => super::inventory_sources(&[], &Config::load(cwd)?),
    };
    let dir = runs::runs_dir(&sources, cwd);
    let inventory = runs::canonical_sources(&sources, cwd);
    let mut records: Vec<Record> = runs::read_all(&dir)
        .into_iter()
        .filter(|r| {
            inventory.is_empty()
                || r.run
                    .as_ref()
                    .is_none_or(|run| run.inventory.iter().map(|c| &c.path).eq(&inventory))
        })
        .collect();
    runs::mark_resumed(&mut records);
    match args.action {
        RunsAction::List => {
            if records.is_empty() {
                println!("no runs recorded in {}", dir.display());
            } else {
                print!("{}", list(&records));
            }
        }
        RunsAction::Show { id, tasks } => {
            let record = match &id {
                Some(id) => {
                    let found = runs::find(&dir, id)?;
                    records
                        .into_iter()
                        .find(|r| r.id == found.id)
                        .unwrap_or(found)
                }
                None => records.pop().ok_or_else(|| {
                    Error::options(format!("no runs recorded in {}", dir.display()))
                })?,
            };
            print!("{}", show(&record, tasks));
        }
    }
    Ok(exit::OK)
}

fn list(records: &[Record]) -> String {
    let rows: Vec<[String; 6]> = records
        .iter()
        .map(|r| {
            let hosts = r.hosts();
            let failed = hosts.iter().filter(|(n, h)| stopped(r, n, h)).count();
            let hosts_text = if failed > 0 {
                format!("{} ({failed} failed)", hosts.len())
            } else {
                hosts.len().to_string()
            };
            let playbooks = r
                .run
                .as_ref()
                .map(|run| {
                    run.playbooks
                        .iter()
                        .map(|p| file_name(&p.path))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            let mut result = r.outcome().name();
            if let Some(old) = r.run.as_ref().and_then(|run| run.resumes.as_ref()) {
                result.push_str(&format!(" (resumes {old})"));
            }
            [
                r.id.clone(),
                started(r),
                duration(r),
                result,
                hosts_text,
                playbooks,
            ]
        })
        .collect();
    table(
        &["ID", "STARTED", "DURATION", "RESULT", "HOSTS", "PLAYBOOKS"],
        &rows,
    )
}

fn show(r: &Record, tasks: bool) -> String {
    let mut out = format!("run {}: {}\n", r.id, r.outcome().name());
    out.push_str(&format!("started:   {}\n", started(r)));
    out.push_str(&format!("duration:  {}\n", duration(r)));
    if let Some(run) = &r.run {
        out.push_str(&format!("command:   {}\n", run.argv.join(" ")));
        out.push_str(&format!("directory: {}\n", run.cwd));
        for (what, files) in [("playbook", &run.playbooks), ("inventory", &run.inventory)] {
            for f in files {
                let sum = f.sha256.as_deref().map_or(String::new(), |s| {
                    format!(" (sha256 {})", &s[..16.min(s.len())])
                });
                out.push_str(&format!("{what:<10} {}{sum}\n", f.path));
            }
        }
        out.push_str(&format!("srplay:    {}\n", run.srplay));
        if let Some(old) = &run.resumes {
            out.push_str(&format!("resumes:   {old}\n"));
        }
    }
    if r.unreadable > 0 {
        out.push_str(&format!(
            "({} unreadable line{} left out: the run was killed while writing)\n",
            r.unreadable,
            if r.unreadable == 1 { "" } else { "s" }
        ));
    }
    let outcome = r.outcome();
    let hosts = r.hosts();
    out.push('\n');
    let rows: Vec<[String; 4]> = hosts
        .iter()
        .map(|(name, h)| {
            let counts = StatusName::ALL
                .iter()
                .map(|s| format!("{}={}", s.name(), h.counts.get(s).copied().unwrap_or(0)))
                .collect::<Vec<_>>()
                .join(" ");
            let (state, last) = host_state(r, h, outcome, stopped(r, name, h));
            [name.clone(), state, last, counts]
        })
        .collect();
    out.push_str(&table(&["HOST", "STATE", "LAST TASK", "COUNTS"], &rows));
    for (name, h) in &hosts {
        if let Some((_, f)) = &h.failure {
            out.push_str(&format!(
                "\n{name}: failed at {}: {}\n",
                labelled(r, &format!("'{}'", f.task), f.place.as_deref()),
                f.msg.as_deref().unwrap_or("failed")
            ));
        }
    }
    if tasks {
        out.push('\n');
        out.push_str(&task_rows(r, outcome));
    }
    out
}

/// A host's state in the run, and the last task it reached.
fn host_state(r: &Record, h: &HostSummary, outcome: Outcome, stopped: bool) -> (String, String) {
    if let Some(started) = &h.running {
        let state = if outcome == Outcome::Running {
            "running"
        } else {
            "killed"
        };
        return (
            state.into(),
            format!("{} (since {})", started.task, started.at),
        );
    }
    let last = h
        .last
        .as_ref()
        .map(|(_, l)| labelled(r, &l.task, l.place.as_deref()))
        .unwrap_or_else(|| "-".into());
    let state = if stopped {
        h.failure
            .as_ref()
            .map_or("failed", |(_, f)| f.status.name())
            .to_string()
    } else if h.last.is_none() {
        "not started".into()
    } else {
        "ok".into()
    };
    (state, last)
}

/// Whether the host ended the run failed or unreachable: as the recap says, or (a run
/// cut short has none) when its last result was a failure.
fn stopped(r: &Record, host: &str, h: &HostSummary) -> bool {
    match r.recap() {
        Some(recap) => recap
            .get(host)
            .is_some_and(|s| s.failed > 0 || s.unreachable > 0),
        None => h.last.as_ref().is_some_and(|(_, l)| l.is_failure()),
    }
}

/// Every task row of `--tasks`: results, and the tasks a killed run left unfinished.
fn task_rows(r: &Record, outcome: Outcome) -> String {
    let mut rows = Vec::new();
    let mut play = 0;
    for line in &r.lines {
        match line {
            Line::Play { index, .. } => play = *index + 1,
            Line::Result(res) => rows.push([
                res.host.clone(),
                play.to_string(),
                res.position.map_or("handler".into(), |p| p.to_string()),
                if res.ignored {
                    format!("{} (ignored)", res.status.name())
                } else {
                    res.status.name().to_string()
                },
                format!("{:.1}s", res.duration),
                labelled(r, &res.task, res.place.as_deref()),
            ]),
            Line::Resumed {
                host,
                task,
                skipped,
                ..
            } => rows.push([
                host.clone(),
                play.to_string(),
                "-".into(),
                "resumed".into(),
                "-".into(),
                format!(
                    "{task}: {skipped} task{} skipped before it",
                    if *skipped == 1 { "" } else { "s" }
                ),
            ]),
            _ => {}
        }
    }
    for (host, h) in r.hosts() {
        if let Some(s) = h.running {
            let state = if outcome == Outcome::Running {
                "running"
            } else {
                "killed"
            };
            rows.push([
                host,
                (s.play + 1).to_string(),
                s.position.map_or("handler".into(), |p| p.to_string()),
                state.into(),
                "-".into(),
                format!("{} (since {})", s.task, s.at),
            ]);
        }
    }
    table(&["HOST", "PLAY", "TASK#", "STATUS", "TIME", "TASK"], &rows)
}

/// A task with its `file:line`, the file relative to the run's directory when under it.
fn labelled(r: &Record, task: &str, place: Option<&str>) -> String {
    let Some(place) = place else {
        return task.to_string();
    };
    let relative = r
        .run
        .as_ref()
        .and_then(|run| place.strip_prefix(run.cwd.as_str()))
        .and_then(|p| p.strip_prefix('/'))
        .unwrap_or(place);
    format!("{task} ({relative})")
}

fn started(r: &Record) -> String {
    r.run
        .as_ref()
        .map(|run| run.started.replace('T', " "))
        .unwrap_or_else(|| "?".into())
}

fn duration(r: &Record) -> String {
    let parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
    let start = r.run.as_ref().and_then(|run| parse(&run.started));
    let end = r.ended_at().and_then(parse);
    match (start, end) {
        (Some(s), Some(e)) => format!("{:.1}s", (e - s).num_milliseconds() as f64 / 1000.0),
        _ => "-".into(),
    }
}

fn file_name(path: &str) -> String {
    PathBuf::from(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

/// Left-aligned columns, two spaces apart.
fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push = |cells: Vec<&str>| {
        let line: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    };
    push(header.to_vec());
    for row in rows {
        push(row.iter().map(String::as_str).collect());
    }
    out
}
