//! `pause`: wait `seconds` or `minutes`, or, with neither, until the user presses
//! enter after `prompt`. When standard input is not a terminal a prompt is not
//! waited for (Ansible warns "Not waiting for response to prompt as stdin is not
//! interactive"); a timed pause still waits. Returns `start`, `stop`, `delta` (whole
//! seconds), `stdout` ("Paused for 1.0 seconds"), `user_input`, `echo`, `rc`, `stderr`.
//!
//! Not supported: hiding typed input with `echo: false` (the input is read as typed),
//! interrupting a timed pause with ctrl+C then C/A.

use std::io::{BufRead, IsTerminal, Write};
use std::time::{Duration, Instant};

use chrono::Local;

use crate::modules::output::{python_float, timestamp};
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::Value;

pub struct Pause;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("minutes", Kind::Int),
    Param::new("seconds", Kind::Int),
    Param::new("prompt", Kind::Str),
    Param::new("echo", Kind::Bool).default("yes"),
])
.mutually_exclusive(&[&["minutes", "seconds"]]);

impl Module for Pause {
    fn name(&self) -> &'static str {
        "pause"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn connects(&self) -> bool {
        false
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let (seconds, unit) = match (args.int("minutes"), args.int("seconds")) {
            (Some(m), _) => (Some(m.saturating_mul(60)), "minutes"),
            (None, Some(s)) => (Some(s), "seconds"),
            (None, None) => (None, "minutes"),
        };
        let start = Local::now();
        let started = Instant::now();
        let mut user_input = String::new();
        let mut warnings = Vec::new();
        match seconds {
            Some(s) => std::thread::sleep(Duration::from_secs(s.max(1).unsigned_abs())),
            None if std::io::stdin().is_terminal() => {
                let prompt = args
                    .str("prompt")
                    .unwrap_or("Press enter to continue, Ctrl+C to interrupt");
                let mut stderr = std::io::stderr();
                // The prompt is an interaction, not a report: it goes straight to the terminal.
                let _ = write!(stderr, "[{}]\n{prompt}:", ctx.host);
                let _ = stderr.flush();
                let _ = std::io::stdin().lock().read_line(&mut user_input);
                let trimmed = user_input.trim_end_matches(['\r', '\n']).len();
                user_input.truncate(trimmed);
            }
            None => warnings.push(Value::String(
                "Not waiting for response to prompt as stdin is not interactive".to_string(),
            )),
        }
        let elapsed = started.elapsed().as_secs_f64();
        let duration = if unit == "minutes" {
            (elapsed / 60.0 * 100.0).round() / 100.0
        } else {
            (elapsed * 100.0).round() / 100.0
        };
        let mut result = ModuleResult::ok()
            .with("rc", 0)
            .with("stderr", "")
            .with(
                "stdout",
                format!("Paused for {} {unit}", python_float(duration)),
            )
            .with("start", timestamp(start))
            .with("stop", timestamp(Local::now()))
            .with("delta", elapsed as u64)
            .with("echo", args.bool("echo"))
            .with("user_input", user_input);
        if !warnings.is_empty() {
            result = result.with("warnings", Value::Array(warnings));
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::Harness;
    use serde_json::json;

    #[test]
    fn timed_pause_reports_like_ansible() {
        // `pause: seconds=1` → stdout "Paused for 1.0 seconds", delta 1.
        let mut h = Harness::new();
        let r = h.run(&Pause, json!({"seconds": 1}));
        assert!(!r.changed && !r.failed);
        assert!(
            r.data["stdout"]
                .as_str()
                .unwrap()
                .starts_with("Paused for 1."),
            "{:?}",
            r.data["stdout"]
        );
        assert_eq!(r.data["delta"], json!(1));
        assert_eq!(r.data["echo"], json!(true));
        assert_eq!(r.data["user_input"], json!(""));
    }

    #[test]
    fn minutes_and_seconds_exclude_each_other() {
        let mut h = Harness::new();
        assert!(
            h.try_run(&Pause, json!({"minutes": 1, "seconds": 1}))
                .is_err()
        );
    }
}
