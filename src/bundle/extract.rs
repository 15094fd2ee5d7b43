//! `bundle extract`: the reading pass of `verify` writing into a temporary directory
//! beside the target; only a bundle that passed every check is renamed into place, so
//! the target is either untouched or complete. Modes and file times are kept.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};

use super::read::{Sink, Verified, scan};
use crate::diagnostic::{Error, ErrorKind, Result};

/// An extracted bundle.
#[derive(Debug)]
pub struct Extracted {
    pub verified: Verified,
    /// `DIR/srplay-bundle-<version>`.
    pub path: PathBuf,
    /// A non-empty tree that was there and was replaced (with `--force`).
    pub replaced: bool,
}

/// Extract `bundle` as `into/srplay-bundle-<version>`. An existing non-empty target is
/// refused unless `force`, which swaps the new tree in and then removes the old one.
pub fn extract(bundle: &Path, into: &Path, force: bool) -> Result<Extracted> {
    // Refuse an occupied target before reading the whole bundle, when its first entry
    // names it; checked again once the bundle is verified.
    if let Some(top) = first_top_dir(bundle) {
        refuse_occupied(&into.join(top), force)?;
    }
    fs::create_dir_all(into).map_err(|e| write_error(into, &e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".srplay-extract-")
        .tempdir_in(into)
        .map_err(|e| write_error(into, &e))?;
    let mut sink = IntoDir {
        root: tmp.path().to_path_buf(),
        dirs: BTreeMap::new(),
    };
    let verified = scan(bundle, &mut sink)?;

    let built = tmp.path().join(&verified.top);
    let target = into.join(&verified.top);
    let occupied = refuse_occupied(&target, force)?;
    let placed = sink
        .set_dir_modes()
        .map_err(|e| write_error(&built, &e))
        .and_then(|()| put_in_place(&built, &target, occupied));
    // What is left in the temporary directory (the old tree after a swap, or the new
    // one after a failure) may have read-only directories: open them so it goes.
    make_removable(tmp.path());
    drop(tmp);
    placed?;
    Ok(Extracted {
        verified,
        path: target,
        replaced: occupied,
    })
}

/// Whether `target` holds something; an error when it does and `force` is not given.
fn refuse_occupied(target: &Path, force: bool) -> Result<bool> {
    let occupied = match fs::read_dir(target) {
        Ok(mut entries) => entries.next().is_some(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        // Not a directory (a file is there), or unreadable: never replaced silently.
        Err(_) => true,
    };
    if occupied && !force {
        return Err(Error::other(format!(
            "{} already exists and is not empty",
            target.display()
        ))
        .with_hint("pass --force to replace it, or extract elsewhere with -C DIR"));
    }
    Ok(occupied)
}

/// The top directory the bundle's first entry names, if it can be read and is plain;
/// the real checks are `scan`'s.
fn first_top_dir(bundle: &Path) -> Option<String> {
    let gz = flate2::read::GzDecoder::new(io::BufReader::new(fs::File::open(bundle).ok()?));
    let mut archive = tar::Archive::new(gz);
    let first = archive.entries().ok()?.next()?.ok()?;
    let name = String::from_utf8(first.path_bytes().into_owned()).ok()?;
    let top = name.split('/').next()?;
    (top.starts_with("srplay-bundle-") && super::bad_path(top).is_none()).then(|| top.to_string())
}

/// Move the extracted tree to `target`; when a non-empty tree is there, swap the two
/// in one step, so the target is never missing or half written.
fn put_in_place(built: &Path, target: &Path, occupied: bool) -> Result<()> {
    if occupied {
        renameat2(
            AT_FDCWD,
            built,
            AT_FDCWD,
            target,
            RenameFlags::RENAME_EXCHANGE,
        )
        .map_err(|e| write_error(target, &io::Error::from(e)))
    } else {
        // rename(2) replaces an empty directory.
        fs::rename(built, target).map_err(|e| write_error(target, &e))
    }
}

/// Writes entries below `root`. Paths reaching it were checked by the reader (plain,
/// relative, no links anywhere in the bundle), so they cannot lead out of `root`.
struct IntoDir {
    root: PathBuf,
    /// Directory modes, set once every file is written (a read-only directory would
    /// refuse its own files).
    dirs: BTreeMap<PathBuf, u32>,
}

impl IntoDir {
    fn set_dir_modes(&self) -> io::Result<()> {
        // Deepest first, so a directory is closed only after everything below it.
        for (dir, mode) in self.dirs.iter().rev() {
            fs::set_permissions(dir, fs::Permissions::from_mode(*mode))?;
        }
        Ok(())
    }
}

impl Sink for IntoDir {
    fn dir(&mut self, path: &str, mode: u32) -> io::Result<()> {
        let dir = self.root.join(path);
        fs::create_dir_all(&dir)?;
        self.dirs.insert(dir, mode);
        Ok(())
    }

    fn file(&mut self, path: &str, mode: u32, mtime: u64, data: &mut dyn Read) -> io::Result<()> {
        let dest = self.root.join(path);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&dest)?;
        io::copy(data, &mut file)?;
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.set_modified(UNIX_EPOCH + Duration::from_secs(mtime))
    }
}

/// Give the owner write access to every directory below `dir`, so it can be removed.
fn make_removable(dir: &Path) {
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            make_removable(&entry.path());
        }
    }
}

fn write_error(path: &Path, err: &io::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("could not extract into {}: {err}", path.display()),
    )
}
