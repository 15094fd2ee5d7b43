//! A parser for the default stdout callback of `ansible-playbook` (and srplay, which
//! must print the same): task results per host and the recap.
//!
//! It reads only the lines it knows and ignores the rest ([ERROR]/[WARNING] blocks,
//! diffs, pause prompts), so that the comparison is about what happened, not about
//! the wording of error messages.

use std::collections::BTreeMap;

/// One result line for one host, e.g. `changed: [h1 -> localhost] => (item=a)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// `PLAY name / TASK name`, or `PLAY name / HANDLER name` for handlers.
    pub task: String,
    /// ok, changed, skipping, failed (a loop item), fatal, unreachable, ignored
    /// (a fatal followed by `...ignoring`), included, retrying.
    pub status: String,
    /// The label after `(item=`, for loop results.
    pub item: Option<String>,
    /// The host after `->` for delegated results.
    pub delegated_to: Option<String>,
    /// The `msg` of an ok/changed/skipping result body (what `debug` prints).
    pub msg: Option<String>,
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} => {}", self.task, self.status)?;
        if let Some(d) = &self.delegated_to {
            write!(f, " -> {d}")?;
        }
        if let Some(i) = &self.item {
            write!(f, " (item={i})")?;
        }
        if let Some(m) = &self.msg {
            write!(f, " msg={m}")?;
        }
        Ok(())
    }
}

/// Everything the comparison looks at in one run's stdout.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Results in printed order, per host (hosts of one task run in parallel, so only
    /// the order within a host is meaningful).
    pub events: BTreeMap<String, Vec<Event>>,
    /// `PLAY RECAP` counts per host, e.g. `ok=3 changed=1 ...` as (name, count) pairs.
    pub recap: BTreeMap<String, Vec<(String, u64)>>,
}

pub fn parse(stdout: &str) -> Report {
    let mut report = Report::default();
    let mut play = String::new();
    let mut task = String::new();
    let mut in_recap = false;
    // The last failure, which a later `...ignoring` turns into `ignored` (for a loop,
    // ansible prints it after the last item, not after the failed one).
    let mut last_failure: Option<(String, usize)> = None;
    let mut lines = stdout.lines();
    while let Some(line) = lines.next() {
        if let Some(name) = bracketed(line, "PLAY [") {
            play = name;
            in_recap = false;
        } else if line.starts_with("PLAY RECAP ") {
            in_recap = true;
        } else if let Some(name) = bracketed(line, "TASK [") {
            task = format!("PLAY {play} / TASK {name}");
        } else if let Some(name) = bracketed(line, "RUNNING HANDLER [") {
            task = format!("PLAY {play} / HANDLER {name}");
        } else if line == "...ignoring" {
            if let Some((host, i)) = last_failure.take() {
                report.events.get_mut(&host).unwrap()[i].status = "ignored".into();
            }
        } else if in_recap {
            if let Some((host, counts)) = recap_line(line) {
                report.recap.insert(host, counts);
            }
        } else if let Some(included) = line.strip_prefix("included: ") {
            // `included: /path/file.yml for h1, h2 => (item=x)`
            let (rest, item) = match included.split_once(" => (item=") {
                Some((rest, label)) => (
                    rest,
                    Some(label.trim_end().trim_end_matches(')').to_string()),
                ),
                None => (included, None),
            };
            if let Some((_, hosts)) = rest.rsplit_once(" for ") {
                for host in hosts.split(", ") {
                    let event = new_event(&task, "included", item.clone(), None);
                    push(&mut report, host.trim(), event);
                }
            }
        } else if let Some(rest) = line.strip_prefix("FAILED - RETRYING: [") {
            if let Some((host, _)) = rest.split_once("]: ") {
                push(&mut report, host, new_event(&task, "retrying", None, None));
            }
        } else if let Some((status, host, delegated, rest)) = result_line(line) {
            let (rest, status) = match rest.strip_prefix(": UNREACHABLE!") {
                Some(r) => (r, "unreachable"),
                None => (rest.strip_prefix(": FAILED!").unwrap_or(rest), status),
            };
            let (rest, item) = split_item(rest.strip_prefix(" =>").unwrap_or(rest));
            let mut event = new_event(&task, status, item, delegated);
            // Bodies of ok/changed/skipping results are pretty-printed over several
            // lines, ending with a `}` alone on its line; failures are one line.
            let body = match rest.trim() {
                "{" => {
                    let mut text = String::from("{\n");
                    for l in lines.by_ref() {
                        text.push_str(l);
                        text.push('\n');
                        if l == "}" {
                            break;
                        }
                    }
                    Some(text)
                }
                "" => None,
                other => Some(other.to_string()),
            };
            if matches!(status, "ok" | "changed" | "skipping") {
                event.msg = body.as_deref().and_then(body_msg);
            }
            let failed = matches!(status, "fatal" | "failed");
            let index = push(&mut report, &host, event);
            if failed {
                last_failure = Some((host, index));
            }
        }
    }
    report
}

fn new_event(task: &str, status: &str, item: Option<String>, to: Option<String>) -> Event {
    let task = task.to_string();
    let status = status.to_string();
    Event {
        task,
        status,
        item,
        delegated_to: to,
        msg: None,
    }
}

fn push(report: &mut Report, host: &str, event: Event) -> usize {
    let list = report.events.entry(host.to_string()).or_default();
    list.push(event);
    list.len() - 1
}

/// `TASK [name] *****` → `name`.
fn bracketed(line: &str, prefix: &str) -> Option<String> {
    let rest = line.strip_prefix(prefix)?;
    let end = rest
        .rfind("] ")
        .or_else(|| rest.strip_suffix(']').map(str::len))?;
    Some(rest[..end].to_string())
}

/// `ok: [h1 -> localhost] => ...` → (status, host, delegated, rest after `]`).
fn result_line(line: &str) -> Option<(&str, String, Option<String>, &str)> {
    let (status, rest) = line.split_once(": [")?;
    if !matches!(status, "ok" | "changed" | "skipping" | "fatal" | "failed") {
        return None;
    }
    let (target, rest) = rest.split_once(']')?;
    let (host, delegated) = match target.split_once(" -> ") {
        Some((h, d)) => (h.to_string(), Some(d.to_string())),
        None => (target.to_string(), None),
    };
    Some((status, host, delegated, rest))
}

/// ` (item=label) => {..}` → (` {..}`, Some(label)); anything else unchanged.
fn split_item(rest: &str) -> (&str, Option<String>) {
    let Some(start) = rest.find("(item=") else {
        return (rest, None);
    };
    let after = &rest[start + "(item=".len()..];
    // The label may itself contain parentheses: it ends before ` => {` or at the
    // final `)`.
    let (label_part, tail) = match after.find(") => {") {
        Some(i) => (&after[..i], &after[i + 4..]),
        None => (after.trim_end().strip_suffix(')').unwrap_or(after), ""),
    };
    (tail, Some(label_part.to_string()))
}

fn body_msg(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    match value.get("msg")? {
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// `h1    : ok=1    changed=0 ...` → (h1, [(ok, 1), (changed, 0), ...]).
fn recap_line(line: &str) -> Option<(String, Vec<(String, u64)>)> {
    let (host, counts) = line.split_once(" : ")?;
    let counts = counts
        .split_whitespace()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect::<Vec<_>>();
    (!counts.is_empty()).then(|| (host.trim().to_string(), counts))
}
