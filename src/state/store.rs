//! Safe edits of a maintained inventory file and the state file beside it.
//!
//! Files srplay owns live in a hidden `.srplay/` directory beside the inventory (Ansible
//! skips hidden entries when it reads an inventory directory), named after the inventory
//! file so that several inventories can share a directory:
//!
//! - `.srplay/<name>.lock`: the lock file. Every edit holds an exclusive lock on it
//!   (never on the inventory, which is renamed over) from before it reads until after
//!   it has written, so two concurrent edits run one after the other and neither is lost.
//! - `.srplay/<name>.nodes.json`: node state that group membership cannot say.
//! - `.srplay/backups/<name>.<UTC timestamp>`: the inventory as it was before each edit
//!   (the newest [`BACKUPS_KEPT`] are kept).
//!
//! `.srplay/` and its directories are 0700 and its files 0600: they name hosts, tasks
//! and failures. Every file is replaced atomically: a temporary file in the same directory, written and
//! fsynced, renamed over the old one, then the directory fsynced. A process killed at any
//! instant leaves the old inventory or the new one, never a mix.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::diagnostic::{Error, ErrorKind, Result};

use super::nodes::StateFile;

/// How many backups of each inventory are kept.
pub const BACKUPS_KEPT: usize = 20;

/// Test hook: sleep this many milliseconds between the steps of an edit, so that a test
/// can kill the process in the middle of one.
const TEST_DELAY_ENV: &str = "SRPLAY_TEST_EDIT_DELAY_MS";

/// A maintained inventory file and the files srplay keeps beside it.
#[derive(Clone, Debug)]
pub struct Store {
    pub inventory: PathBuf,
    dir: PathBuf,
    name: String,
}

/// The inventory and state as read under the lock; dropping it releases the lock.
pub struct Locked<'a> {
    store: &'a Store,
    _lock: File,
    pub text: String,
    pub state: StateFile,
}

impl Store {
    /// The store for an INI inventory file (which must exist).
    pub fn open(inventory: &Path) -> Result<Store> {
        let meta = fs::metadata(inventory).map_err(|e| Error::io(inventory, &e))?;
        if !meta.is_file() {
            return Err(Error::options(format!(
                "{} is not a file: srplay node edits one INI inventory file",
                inventory.display()
            ))
            .with_hint("pass the cluster's INI file, e.g. `-i inventory/hosts`"));
        }
        if let Some(ext) = inventory.extension().and_then(|e| e.to_str())
            && ["yml", "yaml", "json"].contains(&ext)
        {
            return Err(Error::options(format!(
                "{} is a YAML/JSON inventory: srplay node edits INI inventories only",
                inventory.display()
            )));
        }
        let dir = inventory
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let name = inventory
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "hosts".into());
        Ok(Store {
            inventory: inventory.to_path_buf(),
            dir,
            name,
        })
    }

    fn own_dir(&self) -> PathBuf {
        self.dir.join(".srplay")
    }

    pub fn state_path(&self) -> PathBuf {
        self.own_dir().join(format!("{}.nodes.json", self.name))
    }

    pub fn backups_dir(&self) -> PathBuf {
        self.own_dir().join("backups")
    }

    /// Read the inventory and the state without a lock (each file is always whole).
    pub fn read(&self) -> Result<(String, StateFile)> {
        let text =
            fs::read_to_string(&self.inventory).map_err(|e| Error::io(&self.inventory, &e))?;
        Ok((text, StateFile::read(&self.state_path())?))
    }

    /// Take the exclusive lock (waiting for another edit to finish), then read.
    pub fn lock(&self) -> Result<Locked<'_>> {
        let own = self.own_dir();
        private_dir(&own)?;
        let lock_path = own.join(format!("{}.lock", self.name));
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| write_err(&lock_path, &e))?;
        lock.lock().map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("could not lock {}: {e}", lock_path.display()),
            )
        })?;
        // Temporary files of an edit that was killed; only a lock holder writes them.
        remove_stale_temps(&self.dir, &self.name, false);
        remove_stale_temps(&own, &format!("{}.nodes.json", self.name), false);
        remove_stale_temps(&self.backups_dir(), &self.name, true);
        let (text, state) = self.read()?;
        test_delay();
        Ok(Locked {
            store: self,
            _lock: lock,
            text,
            state,
        })
    }
}

impl Locked<'_> {
    /// Write the new inventory (after a backup of the old one), then the new state.
    /// The lock is released when `self` is dropped, after both are durable.
    pub fn commit(self, new_text: &str, state: &StateFile) -> Result<()> {
        let store = self.store;
        if new_text != self.text {
            let backups = store.backups_dir();
            private_dir(&backups)?;
            let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
            write_atomic(
                &backups.join(format!("{}.{stamp}", store.name)),
                self.text.as_bytes(),
            )?;
            prune_backups(&backups, &store.name);
            test_delay();
            write_atomic(&store.inventory, new_text.as_bytes())?;
            test_delay();
        }
        write_atomic(&store.state_path(), state.to_json().as_bytes())?;
        test_delay();
        Ok(())
    }
}

/// Create `dir` and its missing parents 0700, and make `dir` and its `.srplay` parent
/// 0700 when an older srplay (or a umask) left them open.
pub fn private_dir(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| write_err(dir, &e))?;
    let top = dir
        .ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == ".srplay"))
        .unwrap_or(dir);
    for d in dir.ancestors() {
        let _ = fs::set_permissions(d, fs::Permissions::from_mode(0o700));
        if d == top {
            break;
        }
    }
    Ok(())
}

/// Replace `path` with `bytes` atomically and durably: temp file in the same directory,
/// fsync, rename, fsync the directory. The file keeps the old file's permissions.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_as(path, bytes, true)
}

/// As [`write_atomic`], but the file is 0600 whatever the old one was (secrets, such
/// as a decrypted vault file, never pass through a readable temp file).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_as(path, bytes, false)
}

fn write_atomic_as(path: &Path, bytes: &[u8], keep_permissions: bool) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let prefix = format!(
        ".{}.",
        path.file_name()
            .map_or("srplay".into(), |n| n.to_string_lossy())
    );
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| write_err(dir, &e))?;
    // The temp file is created 0600.
    if keep_permissions && let Ok(old) = fs::metadata(path) {
        let _ = tmp.as_file().set_permissions(old.permissions());
    }
    tmp.write_all(bytes).map_err(|e| write_err(path, &e))?;
    tmp.as_file().sync_all().map_err(|e| write_err(path, &e))?;
    test_delay();
    tmp.persist(path).map_err(|e| write_err(path, &e.error))?;
    if let Ok(d) = File::open(dir) {
        // Some filesystems refuse to sync a directory; the rename is then as durable as it gets.
        let _ = d.sync_all();
    }
    Ok(())
}

/// Remove the temporary files [`write_atomic`] leaves when killed: `.NAME.RANDOM.tmp`
/// (`.NAME.STAMP.RANDOM.tmp` for backups), and no other inventory's.
fn remove_stale_temps(dir: &Path, name: &str, stamped: bool) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(|e| e.ok()) {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(middle) = file
            .strip_prefix('.')
            .and_then(|f| f.strip_prefix(name))
            .and_then(|f| f.strip_prefix('.'))
            .and_then(|f| f.strip_suffix(".tmp"))
        else {
            continue;
        };
        let ours = match middle.rsplit_once('.') {
            None => !stamped,
            Some((stamp, _)) => stamped && stamp.starts_with(|c: char| c.is_ascii_digit()),
        };
        if ours {
            let _ = fs::remove_file(e.path());
        }
    }
}

fn prune_backups(dir: &Path, name: &str) {
    let prefix = format!("{name}.");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut backups: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .strip_prefix(&prefix)
                .is_some_and(|stamp| stamp.starts_with(|c: char| c.is_ascii_digit()))
        })
        .map(|e| e.path())
        .collect();
    backups.sort();
    let excess = backups.len().saturating_sub(BACKUPS_KEPT);
    for old in &backups[..excess] {
        let _ = fs::remove_file(old);
    }
}

fn write_err(path: &Path, e: &std::io::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("could not write {}: {e}", path.display()),
    )
}

fn test_delay() {
    if let Some(ms) = std::env::var(TEST_DELAY_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(Duration::from_millis(ms));
    }
}
