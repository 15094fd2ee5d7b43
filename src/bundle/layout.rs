//! What goes into a bundle, read from the source tree: `srplay`, `ansible.cfg`, every
//! `playbooks/*.yml` at the top, `roles/`, `inventory/`, and the package source as
//! `repo/`; in path order, so the same tree always gives the same list.
//!
//! Skipped: `.srplay/` state directories, `.git/`, editor backups. Symlinks are
//! followed while they stay inside their tree (the installer root, or the package
//! source for `repo/`) and packed as what they point to; one that leads out of it,
//! points at nothing, or loops back to a directory above it is refused.

use std::fs::Metadata;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::diagnostic::{Error, Result};

/// One entry of the bundle, below its top directory.
#[derive(Debug)]
pub struct Item {
    /// `/`-separated, relative to the top directory.
    pub path: String,
    pub kind: ItemKind,
    /// Permission bits only: set-id and sticky bits are not carried to other hosts.
    pub mode: u32,
    pub mtime: u64,
}

#[derive(Debug)]
pub enum ItemKind {
    Dir,
    File { source: PathBuf, size: u64 },
}

/// Where the pieces of a bundle come from.
pub struct Sources<'a> {
    pub root: &'a Path,
    pub repo: &'a Path,
    pub binary: &'a Path,
    /// `SOURCE_DATE_EPOCH`: every entry gets this mtime instead of its file's.
    pub epoch: Option<u64>,
}

/// Every entry of the bundle, sorted by path.
pub fn collect(src: &Sources) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    let root = Tree::new(src.root, src.epoch)?;
    check_repo(src.repo)?;
    let repo = Tree::new(src.repo, src.epoch)?;

    let binary = std::fs::metadata(src.binary).map_err(|e| Error::io(src.binary, &e))?;
    items.push(Item {
        path: "srplay".into(),
        kind: ItemKind::File {
            source: src.binary.to_path_buf(),
            size: binary.len(),
        },
        mode: 0o755,
        mtime: root.mtime(&binary),
    });
    let cfg = src.root.join("ansible.cfg");
    if cfg.symlink_metadata().is_ok() {
        root.add(&cfg, "ansible.cfg".into(), &mut items)?;
    }
    let playbooks = required_dir(src.root, "playbooks")?;
    let before = items.len();
    for (name, path) in sorted_entries(&playbooks)? {
        let is_playbook = name.ends_with(".yml") || name.ends_with(".yaml");
        if is_playbook && !skipped(&name) {
            root.add(&path, name, &mut items)?;
        }
    }
    if items.len() == before {
        return Err(Error::other(format!(
            "{} has no playbook (*.yml)",
            playbooks.display()
        ))
        .with_hint("a bundle carries the installer's playbooks: srplay bundle create --root DIR, where DIR holds playbooks/ and roles/"));
    }
    root.add(
        &required_dir(src.root, "roles")?,
        "roles".into(),
        &mut items,
    )?;
    let inventory = src.root.join("inventory");
    if inventory.symlink_metadata().is_ok() {
        root.add(&inventory, "inventory".into(), &mut items)?;
    }
    repo.add(src.repo, "repo".into(), &mut items)?;

    items.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(pair) = items.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(Error::other(format!(
            "two files would be packed as {}",
            pair[0].path
        )));
    }
    Ok(items)
}

/// `root/name`, which must be a directory.
fn required_dir(root: &Path, name: &str) -> Result<PathBuf> {
    let dir = root.join(name);
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(
            Error::other(format!("{} is not a directory", dir.display())).with_hint(format!(
                "--root must be the installer's tree, with playbooks/ and roles/ (it is {})",
                root.display()
            )),
        )
    }
}

/// A flat apt repository: the `.deb` files and their index.
fn check_repo(repo: &Path) -> Result<()> {
    if repo.join("Packages.gz").is_file() || repo.join("Packages").is_file() {
        return Ok(());
    }
    Err(Error::other(format!(
        "{} is not a package source: it has no Packages.gz or Packages index",
        repo.display()
    ))
    .with_hint("build it with `hack/offline/build-repo DIR` and pass --repo DIR"))
}

/// Names the bundle never carries: srplay's state, version control, editor leftovers.
fn skipped(name: &str) -> bool {
    matches!(name, ".srplay" | ".git")
        || name.ends_with('~')
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
        || [".swp", ".swo", ".swx"]
            .iter()
            .any(|ext| name.starts_with('.') && name.ends_with(ext))
}

/// A directory's entries as (UTF-8 name, path), sorted by name.
fn sorted_entries(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, &e))? {
        let entry = entry.map_err(|e| Error::io(dir, &e))?;
        let path = entry.path();
        let name = entry.file_name().into_string().map_err(|_| {
            Error::other(format!("{} has a name that is not UTF-8", path.display()))
                .with_hint("rename it: bundle manifests list UTF-8 paths")
        })?;
        entries.push((name, path));
    }
    entries.sort();
    Ok(entries)
}

/// A source tree that links must not leave.
struct Tree {
    /// Canonical, to compare with where links lead.
    bound: PathBuf,
    epoch: Option<u64>,
}

impl Tree {
    fn new(dir: &Path, epoch: Option<u64>) -> Result<Tree> {
        let bound = dir.canonicalize().map_err(|e| {
            Error::other(format!("{} cannot be read: {e}", dir.display()))
                .with_hint("--root and --repo must be existing directories")
        })?;
        Ok(Tree { bound, epoch })
    }

    fn mtime(&self, meta: &Metadata) -> u64 {
        self.epoch.unwrap_or_else(|| {
            meta.modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs())
        })
    }

    /// Add `path` as `bundle_path`, and what is below it when it is a directory.
    fn add(&self, path: &Path, bundle_path: String, items: &mut Vec<Item>) -> Result<()> {
        self.add_below(path, bundle_path, items, &mut Vec::new())
    }

    /// `above`: the canonical directories being walked, to catch a link looping back.
    fn add_below(
        &self,
        path: &Path,
        bundle_path: String,
        items: &mut Vec<Item>,
        above: &mut Vec<PathBuf>,
    ) -> Result<()> {
        if let Some(why) = super::bad_path(&bundle_path) {
            return Err(Error::other(format!(
                "{} cannot be packed: {why}",
                path.display()
            )));
        }
        let (real, meta) = self.resolve(path)?;
        let mode = meta.permissions().mode() & 0o777;
        let mtime = self.mtime(&meta);
        if meta.is_file() {
            items.push(Item {
                path: bundle_path,
                kind: ItemKind::File {
                    source: path.to_path_buf(),
                    size: meta.len(),
                },
                mode,
                mtime,
            });
            return Ok(());
        }
        if !meta.is_dir() {
            return Err(Error::other(format!(
                "{} is neither a file nor a directory (a socket, pipe or device)",
                path.display()
            ))
            .with_hint("remove it from the tree: a bundle holds only files and directories"));
        }
        if above.contains(&real) {
            return Err(Error::other(format!(
                "{} is a link back to {}, a directory it is inside of",
                path.display(),
                real.display()
            ))
            .with_hint("packing it would never end: remove the link or point it elsewhere"));
        }
        items.push(Item {
            path: bundle_path.clone(),
            kind: ItemKind::Dir,
            mode,
            mtime,
        });
        above.push(real);
        for (name, child) in sorted_entries(path)? {
            if !skipped(&name) {
                self.add_below(&child, format!("{bundle_path}/{name}"), items, above)?;
            }
        }
        above.pop();
        Ok(())
    }

    /// The canonical path and metadata of what `path` is or leads to, refusing a link
    /// that leads out of the tree or nowhere.
    fn resolve(&self, path: &Path) -> Result<(PathBuf, Metadata)> {
        let own = path.symlink_metadata().map_err(|e| Error::io(path, &e))?;
        let real = path.canonicalize();
        if own.file_type().is_symlink() {
            let target = std::fs::read_link(path).unwrap_or_default();
            let real = real.map_err(|_| {
                Error::other(format!(
                    "{} is a link to {}, which does not exist",
                    path.display(),
                    target.display()
                ))
                .with_hint("remove the link or make it point at a file in the tree")
            })?;
            if !real.starts_with(&self.bound) {
                return Err(Error::other(format!(
                    "{} is a link to {}, outside {}",
                    path.display(),
                    real.display(),
                    self.bound.display()
                ))
                .with_hint(
                    "a bundle follows no link out of its tree: copy the file into the tree instead",
                ));
            }
            let meta = std::fs::metadata(&real).map_err(|e| Error::io(&real, &e))?;
            return Ok((real, meta));
        }
        let real = real.map_err(|e| Error::io(path, &e))?;
        Ok((real, own))
    }
}

#[cfg(test)]
mod tests {
    use super::skipped;

    #[test]
    fn state_vcs_and_editor_backups_are_skipped() {
        for name in [
            ".srplay",
            ".git",
            "main.yml~",
            ".main.yml.swp",
            "#main.yml#",
            ".#main.yml",
        ] {
            assert!(skipped(name), "{name} kept");
        }
        for name in ["main.yml", ".hidden", "swp", "a#b"] {
            assert!(!skipped(name), "{name} skipped");
        }
    }
}
