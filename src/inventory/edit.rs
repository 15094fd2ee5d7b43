//! Format-preserving edits of an INI inventory, line by line.
//!
//! [`IniDoc`] keeps every line of the file as it was read, with its own line ending,
//! and knows only what an edit needs: which section each line is in and which host a
//! host line declares. Adding a host inserts one line after the last entry of its
//! section (or appends the section at the end of the file); removing a host deletes the
//! lines that declare it. Every other byte — comments, blank lines, spacing, unknown
//! groups, `[g:vars]` and `[g:children]` sections, line endings — is written back as it
//! was. The parser in `ini.rs` stays the judge of what the file means; this only edits.

use std::sync::LazyLock;

use regex::Regex;

use super::address::expand_host_pattern;
use super::ini::shlex_split;

static SECTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$").expect("valid regex"));

/// One physical line of the file.
#[derive(Clone, Debug)]
struct Line {
    /// The text without its line ending.
    text: String,
    /// `"\n"`, `"\r\n"`, or `""` for a last line without one.
    eol: String,
    kind: LineKind,
}

#[derive(Clone, Debug, PartialEq)]
enum LineKind {
    Blank,
    Comment,
    /// `[name]` (`kind` "hosts"), `[name:children]`, `[name:vars]`, ….
    Section {
        name: String,
        kind: String,
    },
    /// A host, child or variable line, depending on its section.
    Entry,
}

/// Where a host is declared: 1-based line number, the group of its section, and the text.
#[derive(Clone, Debug, PartialEq)]
pub struct HostLine {
    pub line: usize,
    pub group: String,
    pub text: String,
}

/// An INI inventory held as its lines.
#[derive(Clone, Debug)]
pub struct IniDoc {
    lines: Vec<Line>,
    /// The line ending new lines get: the file's first one, else `\n`.
    eol: String,
}

impl IniDoc {
    pub fn parse(text: &str) -> IniDoc {
        let mut lines = Vec::new();
        for raw in text.split_inclusive('\n') {
            let (body, eol) = match raw.strip_suffix("\r\n") {
                Some(b) => (b, "\r\n"),
                None => match raw.strip_suffix('\n') {
                    Some(b) => (b, "\n"),
                    None => (raw, ""),
                },
            };
            lines.push(Line {
                text: body.to_string(),
                eol: eol.to_string(),
                kind: classify(body),
            });
        }
        let eol = lines
            .iter()
            .map(|l| l.eol.as_str())
            .find(|e| !e.is_empty())
            .unwrap_or("\n")
            .to_string();
        IniDoc { lines, eol }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for l in &self.lines {
            out.push_str(&l.text);
            out.push_str(&l.eol);
        }
        out
    }

    /// The hosts section each line is in (`None` for `:vars`/`:children` and other kinds);
    /// lines before the first section are in `ungrouped`.
    fn host_sections(&self) -> Vec<Option<&str>> {
        let mut current = Some("ungrouped");
        self.lines
            .iter()
            .map(|l| {
                if let LineKind::Section { name, kind } = &l.kind {
                    current = (kind == "hosts").then_some(name.as_str());
                }
                current
            })
            .collect()
    }

    /// Every line that declares host `name`, in file order.
    pub fn host_lines(&self, name: &str) -> Vec<HostLine> {
        let sections = self.host_sections();
        self.lines
            .iter()
            .enumerate()
            .filter(|(i, l)| {
                l.kind == LineKind::Entry && sections[*i].is_some() && declares(&l.text, name)
            })
            .map(|(i, l)| HostLine {
                line: i + 1,
                group: sections[i].unwrap_or_default().to_string(),
                text: l.text.clone(),
            })
            .collect()
    }

    /// Whether a `[group]` hosts section exists.
    pub fn has_section(&self, group: &str) -> bool {
        self.section_header(group).is_some()
    }

    fn section_header(&self, group: &str) -> Option<usize> {
        self.lines.iter().position(|l| {
            matches!(&l.kind, LineKind::Section { name, kind } if name == group && kind == "hosts")
        })
    }

    /// Add `entry` (a host line) to `[group]`: after the section's last entry, or right
    /// after its header when it has none. A missing section is appended at the end of the
    /// file, after a blank line. Returns the new line's 1-based number.
    pub fn add_host_line(&mut self, group: &str, entry: &str) -> usize {
        let at = match self.section_header(group) {
            Some(header) => {
                let end = self.lines[header + 1..]
                    .iter()
                    .position(|l| matches!(l.kind, LineKind::Section { .. }))
                    .map_or(self.lines.len(), |n| header + 1 + n);
                (header + 1..end)
                    .rev()
                    .find(|&i| self.lines[i].kind == LineKind::Entry)
                    .map_or(header + 1, |i| i + 1)
            }
            None => {
                if !self.lines.is_empty()
                    && self.lines.last().is_some_and(|l| l.kind != LineKind::Blank)
                {
                    self.push_line("");
                }
                self.push_line(&format!("[{group}]"));
                self.lines.len()
            }
        };
        self.insert_line(at, entry);
        at + 1
    }

    /// Delete every line that declares host `name` in a hosts section; returns how many.
    pub fn remove_host(&mut self, name: &str) -> usize {
        self.remove_lines(self.host_lines(name))
    }

    /// Delete the lines that declare host `name` in `[group]`; returns how many.
    pub fn remove_host_from(&mut self, group: &str, name: &str) -> usize {
        let lines = self
            .host_lines(name)
            .into_iter()
            .filter(|h| h.group == group)
            .collect();
        self.remove_lines(lines)
    }

    fn remove_lines(&mut self, lines: Vec<HostLine>) -> usize {
        let doomed: Vec<usize> = lines.iter().map(|h| h.line - 1).collect();
        for &i in doomed.iter().rev() {
            self.lines.remove(i);
        }
        doomed.len()
    }

    fn push_line(&mut self, text: &str) {
        let at = self.lines.len();
        self.insert_line(at, text);
    }

    fn insert_line(&mut self, at: usize, text: &str) {
        // The line before gains an ending if it was the unterminated last line.
        if let Some(prev) = at.checked_sub(1).and_then(|p| self.lines.get_mut(p))
            && prev.eol.is_empty()
        {
            prev.eol = self.eol.clone();
        }
        self.lines.insert(
            at,
            Line {
                text: text.to_string(),
                eol: self.eol.clone(),
                kind: classify(text),
            },
        );
    }
}

fn classify(body: &str) -> LineKind {
    let t = body.trim();
    if t.is_empty() {
        LineKind::Blank
    } else if t.starts_with(['#', ';']) {
        LineKind::Comment
    } else if let Some(c) = SECTION.captures(t) {
        LineKind::Section {
            name: c[1].to_string(),
            kind: c.get(2).map_or("hosts", |m| m.as_str()).to_string(),
        }
    } else {
        LineKind::Entry
    }
}

/// Whether a host line declares exactly the host `name` (a range never does).
fn declares(text: &str, name: &str) -> bool {
    let Ok(tokens) = shlex_split(text.trim()) else {
        return false;
    };
    let Some(first) = tokens.first() else {
        return false;
    };
    matches!(expand_host_pattern(first), Ok((names, _)) if names.len() == 1 && names[0] == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# cluster nodes
[manage]
m1   ansible_host=10.0.0.1 ip=10.0.0.1   # first

[new-compute]
; nobody yet

[compute:vars]
x = 1
[weird]
m1:2222
";

    #[test]
    fn round_trips_untouched() {
        for text in [SAMPLE, "", "a", "a\r\nb\r\n", "\n\n[x]\n  y  \n"] {
            assert_eq!(IniDoc::parse(text).render(), text);
        }
    }

    #[test]
    fn finds_host_lines_in_hosts_sections_only() {
        let doc = IniDoc::parse(SAMPLE);
        let lines = doc.host_lines("m1");
        assert_eq!(
            lines
                .iter()
                .map(|h| (h.line, h.group.as_str()))
                .collect::<Vec<_>>(),
            [(3, "manage"), (11, "weird")]
        );
        assert!(doc.host_lines("x").is_empty());
    }

    #[test]
    fn adds_after_the_last_entry_or_the_header() {
        let mut doc = IniDoc::parse(SAMPLE);
        assert_eq!(doc.add_host_line("manage", "m2 ip=10.0.0.2"), 4);
        assert_eq!(doc.add_host_line("new-compute", "c1"), 7);
        let text = doc.render();
        assert_eq!(
            text,
            SAMPLE
                .replace("# first\n", "# first\nm2 ip=10.0.0.2\n")
                .replace("[new-compute]\n", "[new-compute]\nc1\n")
        );
    }

    #[test]
    fn appends_a_missing_section_at_the_end() {
        let mut doc = IniDoc::parse("[a]\nh1");
        doc.add_host_line("etcd", "h1");
        assert_eq!(doc.render(), "[a]\nh1\n\n[etcd]\nh1\n");
        let mut empty = IniDoc::parse("");
        empty.add_host_line("g", "h");
        assert_eq!(empty.render(), "[g]\nh\n");
    }

    #[test]
    fn keeps_crlf() {
        let mut doc = IniDoc::parse("[a]\r\nh1\r\n");
        doc.add_host_line("a", "h2");
        assert_eq!(doc.render(), "[a]\r\nh1\r\nh2\r\n");
    }

    #[test]
    fn removes_every_declaration_and_nothing_else() {
        let mut doc = IniDoc::parse(SAMPLE);
        assert_eq!(doc.remove_host("m1"), 2);
        assert_eq!(
            doc.render(),
            SAMPLE
                .replace("m1   ansible_host=10.0.0.1 ip=10.0.0.1   # first\n", "")
                .replace("m1:2222\n", "")
        );
        assert_eq!(doc.remove_host("m1"), 0);
    }

    #[test]
    fn removes_from_one_group() {
        let mut doc = IniDoc::parse(SAMPLE);
        assert_eq!(doc.remove_host_from("weird", "m1"), 1);
        assert_eq!(doc.render(), SAMPLE.replace("m1:2222\n", ""));
    }

    #[test]
    fn add_then_remove_is_identity() {
        let mut doc = IniDoc::parse(SAMPLE);
        doc.add_host_line("manage", "n9");
        doc.add_host_line("weird", "n9 a=1");
        doc.remove_host("n9");
        assert_eq!(doc.render(), SAMPLE);
    }

    #[test]
    fn a_range_is_not_a_host() {
        let doc = IniDoc::parse("[a]\nn[1:3]\nn1\n");
        assert_eq!(doc.host_lines("n1").len(), 1);
    }
}
