//! From a record to a resume plan: which hosts go on, and from which task.

use std::path::PathBuf;

use super::reader::{Outcome, Record};
use crate::diagnostic::{Error, Result};
use crate::engine::{ResumePlan, ResumePoint};

/// Where each host of `record` stopped: a host that failed or was unreachable, at the
/// task that failed it; in a killed or interrupted run also a host that was in the
/// middle of a task, at that task.
pub fn plan(record: &Record) -> Result<ResumePlan> {
    let outcome = record.outcome();
    let cut_short = matches!(outcome, Outcome::Killed | Outcome::Interrupted);
    // A finished run's recap says which hosts failed: a failure a rescue handled does not count.
    let failed_in_recap = |host: &str| {
        record
            .recap()
            .and_then(|r| r.get(host))
            .is_some_and(|s| s.failed > 0 || s.unreachable > 0)
    };
    let mut plan = ResumePlan::new();
    for (host, summary) in record.hosts() {
        let point = match (&summary.running, &summary.failure) {
            (Some(started), _) if cut_short => {
                let Some(position) = started.position else {
                    return Err(in_handler(&record.id, &host, &started.task));
                };
                ResumePoint {
                    play: started.play,
                    position,
                    task: started.task.clone(),
                    action: None,
                    place: None,
                }
            }
            (_, Some((play, failed))) if cut_short || failed_in_recap(&host) => {
                let Some(position) = failed.position else {
                    return Err(in_handler(&record.id, &host, &failed.task));
                };
                ResumePoint {
                    play: *play,
                    position,
                    task: failed.task.clone(),
                    action: Some(failed.action.clone()),
                    place: failed.place.clone(),
                }
            }
            _ => continue,
        };
        plan.insert(host, point);
    }
    Ok(plan)
}

fn in_handler(id: &str, host: &str, task: &str) -> Error {
    Error::other(format!(
        "cannot resume run {id}: {host} stopped in the handler '{task}', and handlers are not resumed"
    ))
    .with_hint(format!(
        "run the playbook again for it: `--limit {host}` (the handler runs when its task reports a change)"
    ))
}

/// The newest run of this inventory that did not succeed and was not resumed since.
pub fn unfinished<'a>(records: &'a [Record], inventory: &[String]) -> Option<&'a Record> {
    records.iter().rev().find(|r| {
        r.run
            .as_ref()
            .is_some_and(|run| run.inventory.iter().map(|c| &c.path).eq(inventory.iter()))
            && !matches!(
                r.outcome(),
                Outcome::Ok | Outcome::Resumed | Outcome::Running
            )
    })
}

/// Refuse to resume a run of other playbooks or another inventory; say (as warnings)
/// what else differs: changed files, other arguments.
pub fn check_same_run(
    record: &Record,
    playbooks: &[PathBuf],
    inventory: &[String],
    argv: &[String],
) -> Result<Vec<String>> {
    let Some(run) = &record.run else {
        return Err(Error::other(format!(
            "run record {} has no header: it cannot be resumed",
            record.id
        )));
    };
    if record.outcome() == Outcome::Running {
        return Err(Error::other(format!("run {} is still running", record.id))
            .with_hint("wait for it to end (or stop it) before resuming it"));
    }
    let cwd = PathBuf::from(&run.cwd);
    let shown = |v: Vec<String>| v.join(" ");
    let given: Vec<String> = playbooks.iter().map(|p| p.display().to_string()).collect();
    let recorded: Vec<String> = run
        .playbooks
        .iter()
        .map(|p| {
            std::fs::canonicalize(cwd.join(&p.path))
                .map(|c| c.display().to_string())
                .unwrap_or_else(|_| p.path.clone())
        })
        .collect();
    if given != recorded {
        return Err(Error::options(format!(
            "run {} ran {}, not {}: a resume runs the same playbooks",
            record.id,
            shown(recorded),
            shown(given)
        ))
        .with_hint("give the same playbooks, or resume another run: `srplay runs list`"));
    }
    let recorded_inventory: Vec<String> = run.inventory.iter().map(|c| c.path.clone()).collect();
    if recorded_inventory != inventory {
        return Err(Error::options(format!(
            "run {} used the inventory {}, not {}: a resume uses the same inventory",
            record.id,
            shown(recorded_inventory),
            shown(inventory.to_vec())
        )));
    }
    let mut warnings = Vec::new();
    for file in run.playbooks.iter().chain(&run.inventory) {
        let now = super::writer::checksummed(&cwd.join(&file.path));
        if file.sha256.is_some() && now.sha256 != file.sha256 {
            warnings.push(format!(
                "{} changed since run {}: hosts resume at the same task position",
                file.path, record.id
            ));
        }
    }
    if without_resume(&run.argv) != without_resume(&super::redact_argv(argv)) {
        warnings.push(format!(
            "the arguments differ from run {}'s: {}",
            record.id,
            shown(without_resume(&run.argv))
        ));
    }
    Ok(warnings)
}

/// A command line without its program name and `--resume [ID]`.
fn without_resume(argv: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut args = argv.iter().skip(1).peekable();
    while let Some(a) = args.next() {
        if a == "--resume" {
            // Its optional value: an ID starts with the year.
            if args
                .peek()
                .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
            {
                args.next();
            }
        } else if !a.starts_with("--resume=") {
            out.push(a.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_arguments_do_not_count_as_a_difference() {
        let v = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            without_resume(&v("srplay site.yml --resume 20261123T0933 -i hosts")),
            without_resume(&v("/bin/srplay site.yml -i hosts"))
        );
        assert_eq!(
            without_resume(&v("srplay --resume=2026 site.yml")),
            v("site.yml")
        );
    }
}
