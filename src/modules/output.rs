//! How command-like modules shape what they report: `rc` and output, `*_lines`, the `start`/`end`
//! timestamps and `delta`, as Python's `datetime` prints them.

use std::time::Duration;

use chrono::{DateTime, Local};

use crate::value::Value;

/// The result of a command as `command`, `shell` and `raw` report it: `changed`, `rc`,
/// `stdout(_lines)`, `stderr(_lines)`, and a failure on a non-zero return code.
pub fn command_result(rc: i32, stdout: String, stderr: String) -> crate::modules::ModuleResult {
    let mut result = crate::modules::ModuleResult::changed(true)
        .with("rc", rc)
        .with("stdout_lines", lines(&stdout))
        .with("stdout", stdout)
        .with("stderr_lines", lines(&stderr))
        .with("stderr", stderr);
    if rc != 0 {
        result.failed = true;
        result.msg = Some("non-zero return code".to_string());
    }
    result
}

/// Text split into lines as Python's `splitlines()` does, for `stdout_lines` and kin.
pub fn lines(text: &str) -> Value {
    Value::Array(text.lines().map(|l| Value::String(l.to_string())).collect())
}

/// Python's `str(datetime.now())`: `2026-11-23 04:02:13.709507`.
pub fn timestamp(t: DateTime<Local>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

/// Python's `str(timedelta)`: `0:00:00.003405`, `0:01:05` (no fraction when zero).
pub fn delta(d: Duration) -> String {
    let secs = d.as_secs();
    let days = secs / 86_400;
    let (h, m, s) = ((secs % 86_400) / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    if days > 0 {
        out.push_str(&format!("{days} day{}, ", if days == 1 { "" } else { "s" }));
    }
    out.push_str(&format!("{h}:{m:02}:{s:02}"));
    let micros = d.subsec_micros();
    if micros > 0 {
        out.push_str(&format!(".{micros:06}"));
    }
    out
}

/// Python's `repr()` of a float: always with a fractional part (`1.0`, `0.25`).
pub fn python_float(v: f64) -> String {
    let s = v.to_string();
    if s.contains(['.', 'e', 'i', 'N']) {
        s
    } else {
        format!("{s}.0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_as_python_prints_it() {
        assert_eq!(delta(Duration::from_micros(3405)), "0:00:00.003405");
        assert_eq!(delta(Duration::from_secs(65)), "0:01:05");
        assert_eq!(delta(Duration::from_secs(86_400 + 1)), "1 day, 0:00:01");
    }

    #[test]
    fn floats_keep_a_fraction() {
        assert_eq!(python_float(1.0), "1.0");
        assert_eq!(python_float(1.01), "1.01");
    }

    #[test]
    fn lines_drop_line_ends() {
        assert_eq!(lines("a\r\nb\n"), serde_json::json!(["a", "b"]));
    }
}
