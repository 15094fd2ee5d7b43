//! Turning `-i` arguments into hosts and groups, choosing a format per source the way
//! Ansible's enabled plugins do (`host_list`, `script`, `yaml`, `ini`, in that order).
//!
//! Deliberate difference: a source that does not exist, or an explicitly named file that
//! no format accepts, is an error (Ansible warns and carries on with fewer hosts).
//! Unparsable files inside an inventory directory are warnings, as in Ansible.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use super::address::parse_address;
use super::graph::{Graph, UNGROUPED};
use super::yaml_source::NotYaml;
use super::{ini, script, yaml_source};
use crate::diagnostic::{Error, Result};

/// Entries of an inventory directory that are never sources (`IGNORED_ALWAYS`, the
/// default `INVENTORY_IGNORE_EXTS`: `REJECT_EXTS` plus `.orig`, `.cfg`, `.retry`).
static IGNORED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\.|^host_vars$|^group_vars$|^vars_plugins$|(?:\.pyc|\.pyo|\.swp|\.bak|~|\.rpm|\.md|\.txt|\.rst|\.orig|\.cfg|\.retry)$",
    )
    .expect("valid regex")
});

/// Load one `-i` source; returns the directory whose `group_vars/`/`host_vars/` apply.
pub(crate) fn load(graph: &mut Graph, source: &str, cwd: &Path) -> Result<Option<PathBuf>> {
    let path = resolve(source, cwd);
    if !path.exists() {
        if source.contains(',') {
            load_host_list(graph, source);
            return Ok(None);
        }
        return Err(Error::options(format!(
            "inventory source {} does not exist",
            path.display()
        ))
        .with_hint("-i takes an inventory file, a directory, or a comma-separated host list such as 'web1,web2,'"));
    }
    if path.is_dir() {
        load_dir(graph, &path)?;
        Ok(Some(path))
    } else {
        load_file(graph, &path)?;
        Ok(path.parent().map(Path::to_path_buf))
    }
}

/// An absolute, normalized path, symlinks resolved as Ansible's `unfrackpath` does.
fn resolve(source: &str, cwd: &Path) -> PathBuf {
    let expanded = match source.strip_prefix("~/") {
        Some(rest) => {
            std::env::var_os("HOME").map_or(PathBuf::from(source), |h| Path::new(&h).join(rest))
        }
        None => PathBuf::from(source),
    };
    let joined = cwd.join(expanded);
    joined.canonicalize().unwrap_or(joined)
}

/// `h1,h2:2222,[::1]:22` — every entry goes to `ungrouped`.
fn load_host_list(graph: &mut Graph, list: &str) {
    graph.current_source = Some((PathBuf::from(list), None));
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (host, port) = parse_address(entry, false).unwrap_or((entry.to_string(), None));
        if !graph.hosts.contains_key(&host) {
            graph.add_host(&host, Some(UNGROUPED), port);
        }
    }
    graph.current_source = None;
}

fn load_dir(graph: &mut Graph, dir: &Path) -> Result<()> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, &e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names.into_iter().filter(|n| !IGNORED.is_match(n)) {
        let path = dir.join(&name);
        if path.is_dir() {
            load_dir(graph, &path)?;
            continue;
        }
        // A file another format could not read is skipped with a warning, as in Ansible;
        // changes it made before failing are rolled back.
        let before = graph.clone();
        if let Err(err) = load_file(graph, &path) {
            *graph = before;
            graph.warn(format!(
                "Unable to parse {} as an inventory source: {err}",
                path.display()
            ));
        }
    }
    Ok(())
}

fn load_file(graph: &mut Graph, path: &Path) -> Result<()> {
    let dir = path.parent().map(Path::to_path_buf);
    graph.current_source = Some((path.to_path_buf(), dir));
    let result = parse_file(graph, path);
    graph.current_source = None;
    result
}

fn parse_file(graph: &mut Graph, path: &Path) -> Result<()> {
    if !is_executable(path) {
        return parse_text_file(graph, path);
    }
    // As Ansible does, an executable that is not a working script (an INI file with the
    // x bit set, say) is tried as a text inventory next.
    let before = graph.clone();
    let script_err = match script::parse(graph, path) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    *graph = before;
    let is_script = std::fs::read(path).is_ok_and(|b| b.starts_with(b"#!"));
    match parse_text_file(graph, path) {
        Ok(()) => Ok(()),
        Err(_) if is_script => Err(script_err),
        Err(e) => Err(e),
    }
}

fn parse_text_file(graph: &mut Graph, path: &Path) -> Result<()> {
    let ext = path.extension().map(|e| e.to_string_lossy().into_owned());
    if ext.as_deref() == Some("toml") {
        return Err(Error::parse(format!(
            "{}: TOML inventories are not supported",
            path.display()
        ))
        .with_hint("convert it to YAML: ansible-inventory -i FILE --list -y"));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    let bytes = crate::vault::open_file_bytes(bytes, path)?;
    let text = decode(bytes, path)?;
    let yaml_ext = matches!(ext.as_deref(), None | Some("yml" | "yaml" | "json"));
    if !yaml_ext {
        return ini::parse(graph, &text, path);
    }
    let yaml_failure = match crate::yaml::load_str(&text, path) {
        Ok(root) => {
            let before = graph.clone();
            match yaml_source::parse(graph, root, path) {
                Ok(()) => return Ok(()),
                Err(NotYaml::Invalid(e)) => return Err(e),
                Err(NotYaml::Format(e)) => {
                    *graph = before;
                    e
                }
            }
        }
        Err(e) => e,
    };
    match ini::parse(graph, &text, path) {
        Ok(()) => Ok(()),
        // A .yml file, or one that reads like YAML: the YAML error says more.
        Err(_) if ext.is_some() || looks_like_yaml(&text) => Err(yaml_failure),
        Err(e) => Err(e),
    }
}

/// Whether the first meaningful line is a YAML document start or mapping key.
fn looks_like_yaml(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with(['#', ';']))
        .is_some_and(|l| l.starts_with("---") || l.ends_with(':'))
}

/// The file as text. Like Ansible, non-UTF-8 bytes are tolerated in comment lines only
/// (they become empty lines, so that line numbers stay right).
fn decode(bytes: Vec<u8>, path: &Path) -> Result<String> {
    let bytes = match String::from_utf8(bytes) {
        Ok(text) => return Ok(text),
        Err(e) => e.into_bytes(),
    };
    let mut text = String::with_capacity(bytes.len());
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            text.push('\n');
        }
        match std::str::from_utf8(line) {
            Ok(l) => text.push_str(l),
            Err(_) if matches!(line.first(), Some(b'#' | b';')) => {}
            Err(_) => {
                return Err(Error::parse("this line is not valid UTF-8")
                    .at(crate::diagnostic::Span::new(
                        std::sync::Arc::new(path.to_path_buf()),
                        i + 1,
                        1,
                    ))
                    .with_hint("save the inventory as UTF-8"));
            }
        }
    }
    Ok(text)
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_path: &Path) -> bool {
    false
}
