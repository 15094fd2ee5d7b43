//! Ansible's default stdout callback, line for line: banners padded with `*` to 80
//! columns, `ok: [host]`, `changed: [host] => (item=x)`, `fatal: [host]: FAILED! => {...}`,
//! `...ignoring`, and the recap. Colours only on a terminal, never with `NO_COLOR`.

use std::io::Write;

use console::Style;

use super::{Event, HostResult, Output, Status};
use crate::value::{Map, Value, json_dumps};

/// Renders events for a person: lines to one stream (stdout, or stderr under
/// `--output json`), warnings to stderr.
pub struct HumanOutput {
    verbosity: u8,
    show_diff: bool,
    colors: bool,
    out: Box<dyn Write + Send>,
    warnings: Box<dyn Write + Send>,
}

impl HumanOutput {
    /// To stdout, coloured when stdout is a terminal.
    pub fn new(verbosity: u8, show_diff: bool) -> HumanOutput {
        HumanOutput::with_streams(
            verbosity,
            show_diff,
            console::colors_enabled(),
            Box::new(std::io::stdout()),
            Box::new(std::io::stderr()),
        )
    }

    /// Lines to `out`, warnings to `warnings`: the streams the caller chose (stderr
    /// for a JSON run, writers that step around the progress view on a terminal).
    pub fn with_streams(
        verbosity: u8,
        show_diff: bool,
        colors: bool,
        out: Box<dyn Write + Send>,
        warnings: Box<dyn Write + Send>,
    ) -> HumanOutput {
        HumanOutput {
            verbosity,
            show_diff,
            colors,
            out,
            warnings,
        }
    }

    /// Render into any writer, without colours (tests).
    pub fn to_writer(verbosity: u8, show_diff: bool, out: Box<dyn Write + Send>) -> HumanOutput {
        HumanOutput::with_streams(
            verbosity,
            show_diff,
            false,
            out,
            Box::new(std::io::stderr()),
        )
    }

    fn style(&self, s: &str, style: Style) -> String {
        if self.colors {
            style.apply_to(s).to_string()
        } else {
            s.to_string()
        }
    }

    fn line(&mut self, s: &str) {
        let _ = writeln!(self.out, "{s}");
    }

    fn banner(&mut self, title: &str) {
        let stars = 80usize.saturating_sub(title.chars().count() + 1).max(3);
        self.line("");
        let text = format!("{title} {}", "*".repeat(stars));
        self.line(&text);
    }

    fn result(&mut self, r: &HostResult) {
        if self.show_diff {
            for d in &r.diff {
                let text = render_diff(d);
                if !text.is_empty() {
                    let _ = write!(self.out, "{text}");
                }
            }
        }
        let host = match &r.delegated_to {
            Some(d) if d != &r.host => format!("[{} -> {d}]", r.host),
            _ => format!("[{}]", r.host),
        };
        let item = r
            .item_label
            .as_ref()
            .map(|l| format!(" => (item={l})"))
            .unwrap_or_default();
        let dump =
            |indent: bool| json_dumps(&Value::Object(r.result.clone()), indent.then_some(4), true);
        let verbose_indent = r.verbose_always || self.verbosity > 2;
        match r.status {
            Status::Failed => {
                let (label, item) = match &r.item_label {
                    Some(l) => ("failed", format!(" (item={l})")),
                    None => ("fatal", String::new()),
                };
                let sep = if r.item_label.is_some() {
                    ""
                } else {
                    ": FAILED!"
                };
                let text = format!("{label}: {host}{item}{sep} => {}", dump(self.verbosity > 2));
                let text = self.style(&text, Style::new().red());
                self.line(&text);
                if r.ignored {
                    let text = self.style("...ignoring", Style::new().cyan());
                    self.line(&text);
                }
            }
            Status::Unreachable => {
                let text = format!(
                    "fatal: {host}: UNREACHABLE! => {}",
                    dump(self.verbosity > 2)
                );
                let text = self.style(&text, Style::new().red());
                self.line(&text);
                if r.ignored {
                    let text = self.style("...ignoring", Style::new().cyan());
                    self.line(&text);
                }
            }
            Status::Skipped => {
                let text = match (&r.item_label, self.verbosity) {
                    (Some(_), 0) => format!("skipping: {host}{item} "),
                    (None, 0) => format!("skipping: {host}"),
                    _ => format!("skipping: {host}{item} => {}", dump(verbose_indent)),
                };
                let text = self.style(&text, Style::new().cyan());
                self.line(&text);
            }
            Status::Ok | Status::Changed => {
                let label = if r.status == Status::Changed {
                    "changed"
                } else {
                    "ok"
                };
                let show = r.verbose_always || self.verbosity > 0;
                let text = if show {
                    format!("{label}: {host}{item} => {}", dump(verbose_indent))
                } else {
                    format!("{label}: {host}{item}")
                };
                let style = if r.status == Status::Changed {
                    Style::new().yellow()
                } else {
                    Style::new().green()
                };
                let text = self.style(&text, style);
                self.line(&text);
            }
        }
    }
}

/// A unified diff as Ansible prints it for `--diff`.
pub fn render_diff(d: &crate::modules::Diff) -> String {
    // `prepared` (the package modules' plan) follows the before/after diff, as printed.
    let prepared = d
        .prepared
        .as_ref()
        .map(|p| format!("{p}\n"))
        .unwrap_or_default();
    if d.before == d.after {
        return prepared;
    }
    // Ansible names the sides `before: HEADER`, or plain `before` when the module gave none.
    let header = |side: &str, h: &Option<String>| match h {
        Some(h) => format!("{side}: {h}"),
        None => side.to_string(),
    };
    let diff = similar::TextDiff::from_lines(&d.before, &d.after);
    let mut out = format!(
        "--- {}\n+++ {}\n",
        header("before", &d.before_header),
        header("after", &d.after_header)
    );
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        out.push_str(&hunk.to_string());
    }
    out.push('\n');
    out + &prepared
}

impl Output for HumanOutput {
    /// At verbosity 0 a quiet result is its status line alone (see `result`).
    fn reads_quiet_results(&self) -> bool {
        self.verbosity > 0
    }

    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::PlayStart { name, .. } => self.banner(&format!("PLAY [{name}]")),
            Event::NoHostsMatched => self.line("skipping: no hosts matched"),
            Event::TaskStart(task) => {
                let kind = if task.handler {
                    "RUNNING HANDLER"
                } else {
                    "TASK"
                };
                self.banner(&format!("{kind} [{}]", task.name));
            }
            Event::Included { file, hosts, label } => {
                let item = label.map(|l| format!(" => (item={l})")).unwrap_or_default();
                let text = format!("included: {file} for {}{item}", hosts.join(", "));
                self.line(&text);
            }
            Event::Result(r) => self.result(r),
            Event::Resumed {
                host,
                task,
                span,
                skipped,
                ..
            } => {
                let place = span
                    .map(|s| format!(" ({}:{})", shown_path(s.path()), s.line))
                    .unwrap_or_default();
                let text = format!(
                    "resuming {host} at {task}{place}, skipping {skipped} task{}",
                    if *skipped == 1 { "" } else { "s" }
                );
                self.line(&text);
            }
            // A person sees the banners and results; these are for records and progress.
            Event::RunStart(_)
            | Event::HostStart { .. }
            | Event::HostDone { .. }
            | Event::RunEnd { .. } => {}
            Event::Retry {
                host,
                task,
                retries_left,
            } => {
                let text =
                    format!("FAILED - RETRYING: [{host}]: {task} ({retries_left} retries left).");
                self.line(&text);
            }
            Event::Warning(msg) => {
                let text = self.style(&format!("[WARNING]: {msg}"), Style::new().magenta());
                let _ = writeln!(self.warnings, "{text}");
                let _ = self.warnings.flush();
            }
            Event::Recap { stats } => {
                self.banner("PLAY RECAP");
                // Sorted by name, as Ansible's recap is.
                let mut hosts: Vec<_> = stats.iter().collect();
                hosts.sort_by(|a, b| a.0.cmp(b.0));
                for (host, s) in hosts {
                    let field = |name: &str, n: u32| format!("{name}={n:<4}");
                    let text = format!(
                        "{host:<26} : {} {} {} {} {} {} {}",
                        field("ok", s.ok),
                        field("changed", s.changed),
                        field("unreachable", s.unreachable),
                        field("failed", s.failed),
                        field("skipped", s.skipped),
                        field("rescued", s.rescued),
                        field("ignored", s.ignored),
                    );
                    self.line(&text);
                }
                self.line("");
            }
        }
        let _ = self.out.flush();
    }
}

/// A path relative to the current directory when it is under it.
fn shown_path(path: &std::path::Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Keys Ansible never shows in a result line.
pub fn clean_result(result: &mut Map) {
    result.retain(|k, _| !k.starts_with("_ansible") && k != "invocation" && k != "diff");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::testing::Buf;

    #[test]
    fn banners_are_80_columns_and_recap_is_aligned() {
        let buf = Buf::default();
        let mut out = HumanOutput::to_writer(0, false, Box::new(buf.clone()));
        out.event(&Event::TaskStart(super::super::TaskInfo {
            name: "debug",
            action: "debug",
            span: None,
            handler: false,
        }));
        let mut stats = indexmap::IndexMap::new();
        stats.insert(
            "h1".to_string(),
            super::super::Stats {
                ok: 9,
                changed: 2,
                ..Default::default()
            },
        );
        out.event(&Event::Recap { stats: &stats });
        let text = buf.text();
        assert!(
            text.contains(&format!("TASK [debug] {}", "*".repeat(67))),
            "{text}"
        );
        assert!(text.contains("h1                         : ok=9    changed=2    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   \n"), "{text}");
    }

    #[test]
    fn diff_headers_name_a_side_only_when_the_module_did() {
        use crate::modules::Diff;
        let plain = Diff {
            before: "hostname = a\n".into(),
            after: "hostname = b\n".into(),
            ..Diff::default()
        };
        assert!(render_diff(&plain).starts_with("--- before\n+++ after\n@@"));
        let named = Diff {
            before_header: Some("/etc/x".into()),
            after_header: Some("/etc/x".into()),
            ..plain
        };
        assert!(render_diff(&named).starts_with("--- before: /etc/x\n+++ after: /etc/x\n"));
        // apt's plan prints as it is, after the before/after diff when there is one.
        assert_eq!(render_diff(&Diff::prepared("1 upgraded")), "1 upgraded\n");
    }
}
