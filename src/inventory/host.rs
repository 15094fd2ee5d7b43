//! A host as the inventory sources declare it.

use std::path::PathBuf;

use crate::value::Map;

/// One inventory host: its own variables (inventory-file host vars, `add_host` vars) and
/// the groups it was put in directly. Ancestor groups are derived, see `graph`.
#[derive(Clone, Debug)]
pub(crate) struct Host {
    pub name: String,
    pub vars: Map,
    /// Indices of the groups this host was added to directly, in the order it was added.
    pub groups: Vec<usize>,
    /// The source that first declared the host (`inventory_file`); `None` for `add_host`.
    pub source: Option<PathBuf>,
    /// The directory of that source (`inventory_dir`); `None` for a host list.
    pub source_dir: Option<PathBuf>,
}

impl Host {
    pub fn new(name: &str, source: Option<(PathBuf, Option<PathBuf>)>) -> Host {
        let (source, source_dir) = match source {
            Some((file, dir)) => (Some(file), dir),
            None => (None, None),
        };
        Host {
            name: name.to_string(),
            vars: Map::new(),
            groups: Vec::new(),
            source,
            source_dir,
        }
    }
}
