//! Booted Debian hosts from `hack/rig/nspawn`, for the tests that need real systemd and apt
//! (`nspawn`, `installer`): the gate that skips them, the rig script, and the hosts' lifetime.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Why the booted-host tests cannot run here, or `None`. `SRPLAY_NSPAWN=1` forces them
/// (missing tools then fail them), `SRPLAY_NSPAWN=0` skips them.
pub fn skip_reason() -> Option<String> {
    match std::env::var("SRPLAY_NSPAWN").as_deref() {
        Ok("1") => return None,
        Ok("0") => return Some("SRPLAY_NSPAWN=0".into()),
        _ => {}
    }
    if !nix::unistd::Uid::effective().is_root() {
        return Some("not root".into());
    }
    ["systemd-nspawn", "debootstrap", "dpkg-scanpackages"]
        .into_iter()
        .find(|tool| {
            !Command::new("sh")
                .args(["-c", "command -v \"$1\" >/dev/null", "sh", tool])
                .status()
                .is_ok_and(|s| s.success())
        })
        .map(|tool| format!("{tool} is not installed"))
}

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where cached test material (package repositories) lives between runs.
pub fn cache_dir() -> PathBuf {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    Path::new(&home).join(".cache/srplay")
}

/// Run a script of the repository's `hack/`; panics with its output when it fails.
pub fn hack(script: &str, args: &[&str], scratch: &Path, limit: Duration) {
    let mut cmd = Command::new(manifest_dir().join("hack").join(script));
    cmd.args(args);
    let (rc, out, err) = super::run_with_timeout(cmd, scratch, limit);
    assert_eq!(rc, 0, "hack/{script} {args:?} failed:\n{out}\n{err}");
}

/// A local apt repository (for `Hosts::start`'s `--repo`) holding the full python3 and
/// python3-apt with their dependencies: what ansible-playbook needs on a host, where the
/// base image has only python3-minimal. Built once into `~/.cache/srplay/python-repo`
/// (about 30 MiB, needs network the first time), through a temp dir renamed into place so
/// that tests running at once never see half of it.
pub fn python_repo(scratch: &Path) -> PathBuf {
    let repo = cache_dir().join("python-repo");
    if !repo.join("Packages.gz").exists() {
        std::fs::create_dir_all(cache_dir()).unwrap();
        let tmp = tempfile::tempdir_in(cache_dir()).unwrap();
        let dir = tmp.path().join("repo");
        let dir_arg = dir.to_string_lossy().into_owned();
        let packages = ["repo", &dir_arg, "python3", "python3-apt", "--with-deps"];
        hack("rig/nspawn", &packages, scratch, Duration::from_secs(600));
        // Another test may have won the race; its copy is as good.
        let _ = std::fs::rename(&dir, &repo);
    }
    repo
}

/// Hosts booted with `nspawn start` into their own state dir; dropping this shuts them
/// down (by the PIDs the script recorded), also when the test panics.
pub struct Hosts {
    pub state: PathBuf,
    scratch: PathBuf,
}

impl Hosts {
    /// Boot `count` hosts hK.. on 127.0.1.K.. (K = `first`), with `extra` start arguments.
    pub fn start(count: u32, first: u32, extra: &[&str], scratch: &Path) -> Hosts {
        let state = scratch.join("state");
        let (count, first) = (count.to_string(), first.to_string());
        let state_arg = state.to_string_lossy().into_owned();
        let mut args = vec!["start", &count, "--first", &first, "--state", &state_arg];
        args.extend_from_slice(extra);
        // Stop whatever did boot if the start fails half way.
        let hosts = Hosts {
            state,
            scratch: scratch.to_path_buf(),
        };
        hack("rig/nspawn", &args, scratch, Duration::from_secs(900));
        hosts
    }

    /// `ssh` to the host at `addr` as root with the hosts' key and known_hosts, to run
    /// `command`: for a caller that reads its output as it comes.
    pub fn ssh_command(&self, addr: &str, command: &str) -> Command {
        let mut cmd = Command::new("ssh");
        cmd.arg("-i")
            .arg(self.state.join("id"))
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                self.state.join("known_hosts").display()
            ))
            .args(["-o", "BatchMode=yes", &format!("root@{addr}"), command]);
        cmd
    }

    /// Run `command` on the host at `addr` as root; its stdout, trimmed, and whether it succeeded.
    pub fn ssh(&self, addr: &str, command: &str) -> (bool, String) {
        let out = self.ssh_command(addr, command).output().expect("ssh");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        )
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        let state = self.state.to_string_lossy().into_owned();
        let mut cmd = Command::new(manifest_dir().join("hack/rig/nspawn"));
        cmd.args(["stop", "--state", &state]);
        super::run_with_timeout(cmd, &self.scratch, Duration::from_secs(120));
    }
}
