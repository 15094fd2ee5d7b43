//! The output of `gather.sh`: sections that start with a line `@@name`.

use indexmap::IndexMap;

#[derive(Debug, Default)]
pub struct Sections {
    by_name: IndexMap<String, String>,
}

impl Sections {
    pub fn parse(text: &str) -> Sections {
        let mut by_name: IndexMap<String, String> = IndexMap::new();
        let mut current: Option<String> = None;
        for line in text.split_inclusive('\n') {
            let bare = line.strip_suffix('\n').unwrap_or(line);
            if let Some(name) = bare.strip_prefix("@@") {
                by_name.entry(name.to_string()).or_default();
                current = Some(name.to_string());
            } else if let Some(name) = &current {
                by_name[name.as_str()].push_str(line);
            }
        }
        // Each section marker is printed after a newline of its own, so a section
        // ends with one newline that was not part of the content.
        for text in by_name.values_mut() {
            if text.ends_with('\n') {
                text.pop();
            }
        }
        Sections { by_name }
    }

    /// A section's text, `None` when the script did not print it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.by_name.get(name).map(String::as_str)
    }

    /// The content of a file the script printed with `f`; `None` when it does not exist.
    pub fn file(&self, path: &str) -> Option<&str> {
        self.get(&format!("file {path}"))
    }

    /// A file's content stripped of surrounding whitespace, as Ansible's
    /// `get_file_content` returns it; `None` when missing or empty.
    pub fn file_value(&self, path: &str) -> Option<&str> {
        self.file(path).map(str::trim).filter(|s| !s.is_empty())
    }

    pub fn lines(&self, name: &str) -> impl Iterator<Item = &str> {
        self.get(name).unwrap_or_default().lines()
    }

    /// Line `i` of a section, trimmed; empty when absent.
    pub fn line(&self, name: &str, i: usize) -> &str {
        self.lines(name).nth(i).map(str::trim).unwrap_or_default()
    }

    /// Whether the `exists` (or `virt_exists`) section lists `path`.
    pub fn exists(&self, section: &str, path: &str) -> bool {
        self.lines(section).any(|l| l == path)
    }

    /// Sections whose name starts with `prefix`, with the rest of the name.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.by_name
            .iter()
            .filter_map(move |(k, v)| Some((k.strip_prefix(prefix)?, v.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_keep_content_and_drop_the_separator_newline() {
        let s = Sections::parse("\n@@a\none\ntwo\n@@file /x\n\n@@file /empty\n\n@@b\nlast");
        assert_eq!(s.get("a"), Some("one\ntwo"));
        assert_eq!(s.file("/x"), Some(""));
        assert_eq!(s.file("/empty"), Some(""));
        assert_eq!(s.file("/missing"), None);
        assert_eq!(s.get("b"), Some("last"));
        assert_eq!(s.line("a", 1), "two");
        assert_eq!(s.line("a", 5), "");
    }
}
