//! `--output json`: one JSON object per event on its own line, flushed as it is written,
//! so a program can follow a run live. Every object has `event`, `schema` (bumped on
//! any change a consumer could trip over), `seq` and `time` (UTC); the fields of each
//! event are in `docs/events.md` and `docs/events.schema.json`, which a test holds this
//! file to.
//!
//! Results carry what Ansible would show of them: a `no_log` task's result arrives here
//! already censored (and without its diff), so the stream never holds more than a
//! person would see at `-v`.

use std::io::Write;
use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use super::{Event, HostResult, Output, Status};
use crate::diagnostic::Error;
use crate::value::Value;

/// The `schema` every object carries.
pub const SCHEMA_VERSION: u32 = 1;

/// Writes the event stream to one writer (stdout for `--output json`).
pub struct JsonOutput {
    out: Box<dyn Write + Send>,
    show_diff: bool,
    seq: u64,
    /// The title of the last task announced: results and host events name their task.
    task: String,
}

impl JsonOutput {
    pub fn new(show_diff: bool, out: Box<dyn Write + Send>) -> JsonOutput {
        JsonOutput {
            out,
            show_diff,
            seq: 0,
            task: String::new(),
        }
    }

    /// The event's name and its own fields.
    fn fields(&mut self, event: &Event<'_>) -> (&'static str, Value) {
        match event {
            Event::RunStart(info) => (
                "run_start",
                json!({
                    "srplay_version": env!("CARGO_PKG_VERSION"),
                    "argv": crate::state::runs::redact_argv(&info.argv),
                    "playbooks": info.playbooks.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
                    "inventory": info.inventory,
                    "check": info.check,
                    "diff": self.show_diff,
                }),
            ),
            Event::PlayStart { name, hosts } => {
                ("play_start", json!({"name": name, "hosts": hosts}))
            }
            Event::NoHostsMatched => ("no_hosts_matched", json!({})),
            Event::TaskStart(task) => {
                self.task = task.name.to_string();
                (
                    "task_start",
                    json!({
                        "name": task.name,
                        "action": task.action,
                        "file": task.span.map(|s| s.file.display().to_string()),
                        "line": task.span.map(|s| s.line),
                        "handler": task.handler,
                    }),
                )
            }
            Event::HostStart { host, task, .. } => {
                ("host_start", json!({"host": host, "task": task}))
            }
            Event::Resumed {
                host,
                task,
                span,
                position,
                skipped,
            } => (
                "resumed",
                json!({
                    "host": host,
                    "task": task,
                    "file": span.map(|s| s.file.display().to_string()),
                    "line": span.map(|s| s.line),
                    "position": position,
                    "skipped": skipped,
                }),
            ),
            Event::HostDone { host, task } => ("host_done", json!({"host": host, "task": task})),
            Event::Included { file, hosts, label } => (
                "include",
                json!({"file": file, "hosts": hosts, "item": label}),
            ),
            Event::Result(r) => ("result", self.result(r)),
            Event::Warning(msg) => ("warning", json!({"message": msg})),
            Event::Retry {
                host,
                task,
                retries_left,
            } => (
                "retry",
                json!({"host": host, "task": task, "retries_left": retries_left}),
            ),
            Event::Recap { stats } => ("recap", json!({ "hosts": stats })),
            Event::RunEnd { exit_code, error } => (
                "run_end",
                json!({"exit_code": exit_code, "error": error.map(error_value)}),
            ),
        }
    }

    fn result(&self, r: &HostResult) -> Value {
        let changed = r.status == Status::Changed
            || r.result.get("changed").and_then(Value::as_bool) == Some(true);
        let diff: Vec<Value> = if self.show_diff {
            r.diff.iter().map(|d| d.to_event_value()).collect()
        } else {
            Vec::new()
        };
        json!({
            "host": r.host,
            "task": self.task,
            "delegated_to": r.delegated_to,
            "status": status_name(r.status),
            "changed": changed,
            "ignored": r.ignored,
            "item": r.item_label,
            "loop_summary": r.is_loop_summary,
            "started": utc(r.started),
            "duration": r.duration.as_secs_f64(),
            "result": r.result,
            "diff": diff,
        })
    }
}

impl Output for JsonOutput {
    fn event(&mut self, event: &Event<'_>) {
        let (name, fields) = self.fields(event);
        self.seq += 1;
        let mut line = json!({
            "event": name,
            "schema": SCHEMA_VERSION,
            "seq": self.seq,
            "time": utc(SystemTime::now()),
        });
        if let (Value::Object(line), Value::Object(fields)) = (&mut line, fields) {
            line.extend(fields);
        }
        // A consumer that went away (a closed pipe) does not stop the run: the stream
        // is a report, as the human output is.
        let _ = serde_json::to_writer(&mut self.out, &line);
        let _ = self.out.write_all(b"\n");
        let _ = self.out.flush();
    }
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::Changed => "changed",
        Status::Skipped => "skipped",
        Status::Failed => "failed",
        Status::Unreachable => "unreachable",
    }
}

/// RFC 3339 in UTC to the millisecond: `2026-11-23T09:41:07.123Z`.
fn utc(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn error_value(e: &Error) -> Value {
    json!({
        "message": e.message,
        "file": e.span.as_ref().map(|s| s.file.display().to_string()),
        "line": e.span.as_ref().map(|s| s.line),
        "column": e.span.as_ref().map(|s| s.column),
        "hint": e.hint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::testing::Buf;
    use crate::output::{RunInfo, TaskInfo};
    use crate::value::Map;
    use std::time::Duration;

    fn lines(buf: &Buf) -> Vec<Value> {
        let text = buf.text();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn result(status: Status) -> HostResult {
        HostResult {
            host: "h1".into(),
            delegated_to: None,
            status,
            ignored: false,
            item_label: None,
            is_loop_summary: false,
            result: Map::new(),
            verbose_always: false,
            diff: vec![crate::modules::Diff {
                before: "a\n".into(),
                after: "b\n".into(),
                ..Default::default()
            }],
            span: None,
            started: SystemTime::UNIX_EPOCH,
            duration: Duration::from_millis(1500),
        }
    }

    #[test]
    fn every_line_carries_the_envelope_and_results_name_their_task() {
        let buf = Buf::default();
        let mut out = JsonOutput::new(false, Box::new(buf.clone()));
        out.event(&Event::RunStart(&RunInfo {
            argv: vec!["srplay".into(), "-e".into(), "password=hunter2".into()],
            playbooks: vec!["site.yml".into()],
            inventory: vec!["hosts".into()],
            check: false,
            started: SystemTime::now(),
        }));
        out.event(&Event::TaskStart(TaskInfo {
            name: "install",
            action: "apt",
            span: None,
            handler: false,
        }));
        out.event(&Event::Result(&result(Status::Changed)));
        let lines = lines(&buf);
        assert_eq!(lines.len(), 2 + 1);
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(line["schema"], SCHEMA_VERSION);
            assert_eq!(line["seq"], i as u64 + 1);
            assert!(line["time"].as_str().unwrap().ends_with('Z'), "{line}");
        }
        // The command line is not in the stream: it may hold secrets.
        assert!(!lines[0].to_string().contains("hunter2"));
        assert_eq!(lines[2]["event"], "result");
        assert_eq!(lines[2]["task"], "install");
        assert_eq!(lines[2]["status"], "changed");
        assert_eq!(lines[2]["changed"], true);
        assert_eq!(lines[2]["duration"], 1.5);
        assert_eq!(lines[2]["started"], "1970-01-01T00:00:00.000Z");
        // Diffs only with --diff.
        assert_eq!(lines[2]["diff"], json!([]));
    }

    #[test]
    fn diffs_with_diff_and_errors_at_the_end() {
        let buf = Buf::default();
        let mut out = JsonOutput::new(true, Box::new(buf.clone()));
        out.event(&Event::Result(&result(Status::Ok)));
        let err = Error::other("the playbook could not be read").with_hint("check the path");
        out.event(&Event::RunEnd {
            exit_code: 1,
            error: Some(&err),
        });
        let lines = lines(&buf);
        assert_eq!(lines[0]["diff"][0]["after"], "b\n");
        assert_eq!(lines[1]["event"], "run_end");
        assert_eq!(
            lines[1]["error"]["message"],
            "the playbook could not be read"
        );
        assert_eq!(lines[1]["error"]["hint"], "check the path");
        assert_eq!(lines[1]["error"]["line"], Value::Null);
    }
}
