//! `--resume [ID]`: find the record, check it is a run of the same playbooks and
//! inventory, and turn it into the engine's resume plan.

use std::path::Path;

use crate::diagnostic::{Error, Result};
use crate::engine::ResumePlan;
use crate::output::RunInfo;
use crate::state::runs::{self, Outcome};

/// The record's id and the plan for the run about to start.
pub fn prepare(id: &str, info: &RunInfo, cwd: &Path) -> Result<(String, ResumePlan)> {
    let dir = runs::runs_dir(&info.inventory, cwd);
    let inventory = runs::canonical_sources(&info.inventory, cwd);
    let mut records = runs::read_all(&dir);
    runs::mark_resumed(&mut records);
    let record = if id.is_empty() {
        runs::unfinished(&records, &inventory).ok_or_else(|| {
            Error::options(format!(
                "no run of {} left to resume: every recorded run succeeded or was resumed",
                inventory.join(",")
            ))
            .with_hint("`srplay runs list -i INVENTORY` lists the runs; `--resume ID` picks one")
        })?
    } else {
        let found = runs::find(&dir, id)?;
        records
            .iter()
            .find(|r| r.id == found.id)
            .ok_or_else(|| Error::other(format!("run record {} cannot be read", found.id)))?
    };
    let playbooks: Vec<std::path::PathBuf> = info
        .playbooks
        .iter()
        .map(|p| std::fs::canonicalize(cwd.join(p)).unwrap_or_else(|_| cwd.join(p)))
        .collect();
    for w in runs::check_same_run(record, &playbooks, &inventory, &info.argv)? {
        eprintln!("[WARNING]: {w}");
    }
    let plan = runs::plan(record)?;
    if plan.is_empty() {
        let why = match record.outcome() {
            Outcome::Ok | Outcome::Resumed => "it succeeded".to_string(),
            other => format!(
                "it ended {} with no host failed, unreachable or in the middle of a task",
                other.name()
            ),
        };
        return Err(Error::options(format!(
            "run {} has nothing to resume: {why}",
            record.id
        )));
    }
    let hosts: Vec<&str> = plan.keys().map(String::as_str).collect();
    println!(
        "resuming run {} ({}) on {}: {}",
        record.id,
        record.outcome().name(),
        if hosts.len() == 1 { "1 host" } else { "hosts" },
        hosts.join(", ")
    );
    Ok((record.id.clone(), plan))
}
