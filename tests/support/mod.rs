//! Helpers shared by the differential test binaries (`compat`, `listing_compat`, `ssh`):
//! running a tool with a time limit, copying a case into a scratch directory and describing
//! a produced file for comparison.
// Each test binary uses a part of this.
#![allow(dead_code)]

pub mod cluster;
pub mod nspawn;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Run `cmd` with no stdin, its output going to `root/stdout.txt` and `root/stderr.txt`
/// (files, not pipes, so a chatty child never blocks on a full pipe; one call at a time
/// per `root`, so the names cannot clash). A run over `limit` is killed and gets rc -1.
pub fn run_with_timeout(mut cmd: Command, root: &Path, limit: Duration) -> (i32, String, String) {
    let (out_path, err_path) = (root.join("stdout.txt"), root.join("stderr.txt"));
    cmd.stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let started = Instant::now();
    let rc = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break -1;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    (rc, read(&out_path), read(&err_path))
}

/// Copy a directory tree (a case) into `to`, following links (`playbooks/roles` is a
/// link to `../roles`, which would dangle in the copy).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A produced file as compared: its kind, mode and contents. A symlink's target is
/// shown relative to the run's output dir, which differs between the two tools' runs.
pub fn describe_file(path: &Path, out: &Path) -> String {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return "missing".into();
    };
    let mode = meta.permissions().mode() & 0o7777;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path).unwrap().display().to_string();
        format!(
            "link -> {}",
            target.replace(&out.display().to_string(), "<out>")
        )
    } else if meta.is_dir() {
        format!("directory {mode:04o}")
    } else {
        let contents = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        format!("file {mode:04o}\n{contents}")
    }
}

/// The ansible-core venv the differential tests compare with: `$SRPLAY_ANSIBLE_VENV`, else
/// `/opt/ansible-venv`; `None` when it has no ansible-playbook.
pub fn find_ansible() -> Option<PathBuf> {
    let venv = std::env::var_os("SRPLAY_ANSIBLE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/ansible-venv"));
    venv.join("bin/ansible-playbook").exists().then_some(venv)
}
