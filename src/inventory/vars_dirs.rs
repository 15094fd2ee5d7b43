//! `group_vars/` and `host_vars/` beside an inventory source or a playbook, as Ansible's
//! `host_group_vars` vars plugin finds them: for entity `NAME`, the first of `NAME`,
//! `NAME.yml`, `NAME.yaml`, `NAME.json` that exists; when it is a directory, every file
//! under it (sorted, recursively, skipping hidden files and `~` backups) merged in order.
//!
//! Results are cached per (directory, entity): `host_vars` runs once per host and play.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::diagnostic::{Error, Result};
use crate::value::{Map, Value};

const EXTENSIONS: [&str; 3] = [".yml", ".yaml", ".json"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Group,
    Host,
}

impl Kind {
    fn subdir(self) -> &'static str {
        match self {
            Kind::Group => "group_vars",
            Kind::Host => "host_vars",
        }
    }
}

/// Which vars one cache entry holds: (base directory, kind, entity name).
type CacheKey = (PathBuf, Kind, String);

/// A shared cache of merged vars per base directory, kind and entity.
#[derive(Clone, Default, Debug)]
pub(crate) struct VarsDirs {
    cache: Arc<RwLock<HashMap<CacheKey, Arc<Map>>>>,
}

impl VarsDirs {
    /// The variables for `name` from `base/group_vars` or `base/host_vars`.
    pub fn get(&self, base: &Path, kind: Kind, name: &str) -> Result<Arc<Map>> {
        let key = (base.to_path_buf(), kind, name.to_string());
        if let Some(hit) = self.cache.read().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(hit);
        }
        let vars = Arc::new(load(base, kind, name)?);
        if let Ok(mut c) = self.cache.write() {
            c.insert(key, vars.clone());
        }
        Ok(vars)
    }

    /// Forget everything read so far (for `meta: refresh_inventory`).
    pub fn clear(&self) {
        if let Ok(mut c) = self.cache.write() {
            c.clear();
        }
    }
}

fn load(base: &Path, kind: Kind, name: &str) -> Result<Map> {
    // Ansible skips entities named like absolute paths ('chroot' style hosts).
    if name.is_empty() || name.starts_with('/') {
        return Ok(Map::new());
    }
    let dir = base.join(kind.subdir());
    if !dir.is_dir() {
        return Ok(Map::new());
    }
    let mut out = Map::new();
    for file in find_vars_files(&dir, name) {
        let value = crate::yaml::load_value_file(&file)?;
        match value {
            Value::Object(map) => out.extend(map),
            Value::Null => {}
            other => {
                return Err(Error::parse(format!(
                    "{} must contain a mapping of variables, not a {}",
                    file.display(),
                    type_name(&other)
                ))
                .with_hint("write the file as `name: value` lines"));
            }
        }
    }
    Ok(out)
}

/// `DataLoader.find_vars_files`: the first existing candidate wins.
fn find_vars_files(dir: &Path, name: &str) -> Vec<PathBuf> {
    let base = dir.join(name);
    let candidates = std::iter::once(base.clone()).chain(
        EXTENSIONS
            .iter()
            .map(|ext| PathBuf::from(format!("{}{ext}", base.display()))),
    );
    for path in candidates {
        if path.is_dir() {
            let mut found = Vec::new();
            dir_vars_files(&path, &mut found);
            return found;
        }
        if path.exists() {
            return vec![path];
        }
    }
    Vec::new()
}

fn dir_vars_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in names {
        if n.starts_with('.') || n.ends_with('~') {
            continue;
        }
        let path = dir.join(&n);
        let ext = Path::new(&n)
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()));
        if path.is_dir() && ext.is_none() {
            dir_vars_files(&path, found);
        } else if path.is_file() && ext.as_deref().is_none_or(|e| EXTENSIONS.contains(&e)) {
            found.push(path);
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "list",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        _ => "value",
    }
}
