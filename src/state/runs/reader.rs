//! Reading a record back: tolerant of the torn last line a killed run leaves.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::line::{Line, ResultLine, RunLine, StatusName};
use crate::diagnostic::{Error, Result};

/// A record as read.
#[derive(Debug)]
pub struct Record {
    pub id: String,
    pub path: PathBuf,
    /// The `run` line (missing only when killed before it was written).
    pub run: Option<RunLine>,
    pub lines: Vec<Line>,
    /// Lines that are not whole JSON: a run killed mid-write tears its last line.
    pub unreadable: usize,
    /// Its run still holds the lock.
    pub running: bool,
    /// A later successful run resumed it (set by `mark_resumed`).
    pub resumed: bool,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Running,
    /// No end line and no lock: the process died (SIGKILL, a crash, the machine).
    Killed,
    Ok,
    Failed,
    Unreachable,
    /// Ctrl-C (exit 99).
    Interrupted,
    /// Stopped by an error before or between plays (exit 1 and others).
    Error(i32),
    /// Did not succeed, but a later run resumed it and succeeded.
    Resumed,
}

impl Outcome {
    pub fn name(self) -> String {
        match self {
            Outcome::Running => "running".into(),
            Outcome::Killed => "killed".into(),
            Outcome::Ok => "ok".into(),
            Outcome::Failed => "failed".into(),
            Outcome::Unreachable => "unreachable".into(),
            Outcome::Interrupted => "interrupted".into(),
            Outcome::Error(code) => format!("error (exit {code})"),
            Outcome::Resumed => "resumed".into(),
        }
    }
}

/// What one host did in a run.
#[derive(Clone, Debug, Default)]
pub struct HostSummary {
    /// Results per status (loop items count once, in their task's result).
    pub counts: IndexMap<StatusName, u32>,
    /// The last result, with the index of its play.
    pub last: Option<(usize, ResultLine)>,
    /// The last failure that was not ignored, with the index of its play.
    pub failure: Option<(usize, ResultLine)>,
    /// A task the host started and has no result for (where a killed run stopped).
    pub running: Option<Started>,
}

/// A task a host started.
#[derive(Clone, Debug)]
pub struct Started {
    pub play: usize,
    pub task: String,
    pub position: Option<usize>,
    pub at: String,
}

impl Record {
    pub fn read(path: &Path) -> Result<Record> {
        let file = File::open(path).map_err(|e| Error::io(path, &e))?;
        let running = super::is_locked(&file);
        let id = path
            .file_name()
            .map(|n| {
                n.to_string_lossy()
                    .trim_end_matches(super::SUFFIX)
                    .to_string()
            })
            .unwrap_or_default();
        Ok(Record::parse(id, path, BufReader::new(file), running))
    }

    fn parse(id: String, path: &Path, text: impl BufRead, running: bool) -> Record {
        let mut record = Record {
            id,
            path: path.to_path_buf(),
            run: None,
            lines: Vec::new(),
            unreadable: 0,
            running,
            resumed: false,
        };
        for raw in text.split(b'\n') {
            let Ok(raw) = raw else { break };
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Line>(&raw) {
                Ok(Line::Run(run)) if record.run.is_none() => record.run = Some(run),
                Ok(line) => record.lines.push(line),
                Err(_) => record.unreadable += 1,
            }
        }
        record
    }

    /// The exit code, when the run ended.
    pub fn exit_code(&self) -> Option<i32> {
        self.lines.iter().rev().find_map(|l| match l {
            Line::End { exit_code, .. } => Some(*exit_code),
            _ => None,
        })
    }

    pub fn ended_at(&self) -> Option<&str> {
        self.lines.iter().rev().find_map(|l| match l {
            Line::End { at, .. } => Some(at.as_str()),
            _ => None,
        })
    }

    pub fn outcome(&self) -> Outcome {
        let outcome = match self.exit_code() {
            None if self.running => Outcome::Running,
            None => Outcome::Killed,
            Some(0) => Outcome::Ok,
            Some(2) => Outcome::Failed,
            Some(4) => Outcome::Unreachable,
            Some(99) => Outcome::Interrupted,
            Some(code) => Outcome::Error(code),
        };
        if self.resumed && outcome != Outcome::Ok {
            Outcome::Resumed
        } else {
            outcome
        }
    }

    /// The recap's counts per host, when the run got that far.
    pub fn recap(&self) -> Option<&IndexMap<String, crate::output::Stats>> {
        self.lines.iter().rev().find_map(|l| match l {
            Line::Recap { stats } => Some(stats),
            _ => None,
        })
    }

    /// Every host the run's plays named, in the order first seen.
    pub fn hosts(&self) -> IndexMap<String, HostSummary> {
        let mut hosts: IndexMap<String, HostSummary> = IndexMap::new();
        let mut play = 0;
        for line in &self.lines {
            match line {
                Line::Play {
                    index, hosts: hs, ..
                } => {
                    play = *index;
                    for h in hs {
                        hosts.entry(h.clone()).or_default();
                    }
                }
                Line::HostStart {
                    host,
                    task,
                    position,
                    at,
                } => {
                    hosts.entry(host.clone()).or_default().running = Some(Started {
                        play,
                        task: task.clone(),
                        position: *position,
                        at: at.clone(),
                    });
                }
                Line::Result(r) => {
                    let h = hosts.entry(r.host.clone()).or_default();
                    h.running = None;
                    *h.counts.entry(r.status).or_default() += 1;
                    if r.is_failure() {
                        h.failure = Some((play, r.clone()));
                    }
                    h.last = Some((play, r.clone()));
                }
                _ => {}
            }
        }
        hosts
    }

    /// The results in the order they came, with their play's index.
    pub fn results(&self) -> impl Iterator<Item = (usize, &ResultLine)> {
        let mut play = 0;
        self.lines.iter().filter_map(move |l| match l {
            Line::Play { index, .. } => {
                play = *index;
                None
            }
            Line::Result(r) => Some((play, r)),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{"type":"run","id":"x","format":1,"srplay":"0","argv":[],"cwd":"/","playbooks":[],"inventory":[],"check":false,"started":"t"}
{"type":"play","index":0,"name":"p","hosts":["h1","h2"],"at":"t"}
{"type":"task","name":"one","action":"command","place":"site.yml:4","at":"t"}
{"type":"host_start","host":"h1","task":"one","position":1,"at":"t"}
{"type":"host_start","host":"h2","task":"one","position":1,"at":"t"}
{"type":"result","host":"h1","task":"one","action":"command","position":1,"status":"changed","started":"t","duration":0.1}
{"type":"result","host":"h2","task":"one","action":"command","position":1,"status":"failed","started":"t","duration":0.1,"msg":"boom"}
{"type":"task","name":"two","action":"pause","place":"site.yml:6","at":"t"}
{"type":"host_start","host":"h1","task":"two","position":2,"at":"t"}
{"type":"result","host":"h1","task":"tw"#;

    #[test]
    fn a_torn_last_line_is_skipped_and_the_rest_read() {
        let r = Record::parse("x".into(), Path::new("x.jsonl"), RECORD.as_bytes(), false);
        assert_eq!(r.unreadable, 1);
        assert_eq!(r.outcome(), Outcome::Killed);
        assert!(r.run.is_some());
        let hosts = r.hosts();
        assert_eq!(hosts.keys().collect::<Vec<_>>(), ["h1", "h2"]);
        let h1 = &hosts["h1"];
        assert_eq!(h1.counts[&StatusName::Changed], 1);
        let running = h1.running.as_ref().expect("h1 was running a task");
        assert_eq!((running.task.as_str(), running.position), ("two", Some(2)));
        let (_, failure) = hosts["h2"].failure.as_ref().expect("h2 failed");
        assert_eq!(failure.msg.as_deref(), Some("boom"));
        assert!(hosts["h2"].running.is_none());
    }

    #[test]
    fn an_ended_run_has_its_exit_code() {
        let whole: Vec<&str> = RECORD.lines().take(7).collect();
        let text = format!(
            "{}\n{{\"type\":\"end\",\"exit_code\":2,\"at\":\"t\"}}\n",
            whole.join("\n")
        );
        let r = Record::parse("x".into(), Path::new("x.jsonl"), text.as_bytes(), false);
        assert_eq!(r.outcome(), Outcome::Failed);
        assert_eq!(r.unreadable, 0);
        let mut resumed = r;
        resumed.resumed = true;
        assert_eq!(resumed.outcome(), Outcome::Resumed);
    }
}
