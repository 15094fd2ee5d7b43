//! SSH test hosts for integration tests: a [`Rig`] runs `hack/rig/rig` (see
//! `hack/rig/README.md`) with a state directory of its own and a block of loopback addresses
//! that no other rig holds, and stops everything it started when dropped.
//!
//! Use it from a test binary with `#[path = "support/rig.rs"] mod rig;` and
//! `let Some(rig) = Rig::start_or_skip(3) else { return };`.
// Each test binary uses a part of this.
#![allow(dead_code)]

use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Where rigs on this machine lock the addresses they use, one file per address, so that
/// test threads, test binaries and benchmarks running at once never share a host.
const LOCK_DIR: &str = "/run/lock/srplay-rig";
/// Tests take addresses from 127.0.1.100 up: rigs started by hand begin at 127.0.1.1 and
/// take no locks (tests still skip any address that answers). 200..254 belong to the
/// booted hosts (`tests/support/nspawn.rs`), whose tests use fixed addresses there and
/// boot them when they start: a rig there could take an address from under them.
const FIRST_TEST_HOST: usize = 100;
const LAST_HOST: usize = 199;
const SUDO_USER: &str = "srplay-rig";

/// A running set of SSH hosts `hK`.. on 127.0.1.K.., all logging in with one client key.
pub struct Rig {
    state: tempfile::TempDir,
    first: usize,
    count: usize,
    sudo_password: String,
    /// Held for the rig's life: the addresses 127.0.1.first.. are ours.
    _locks: Vec<Flock<File>>,
}

/// Why this machine cannot run a rig, if it cannot.
pub fn missing_prerequisite() -> Option<String> {
    if !nix::unistd::Uid::effective().is_root() {
        return Some(
            "the SSH test rig needs root (sshd binds port 22 and logs in as others)".into(),
        );
    }
    ["sshd", "ssh", "ssh-keygen", "visudo"]
        .into_iter()
        .find(|tool| !on_path(tool))
        .map(|tool| {
            format!(
                "{tool} not found: the SSH test rig needs openssh-server, openssh-client and sudo"
            )
        })
}

fn on_path(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .any(|dir| dir.join(tool).is_file())
}

/// The pattern for tests that need a machine feature: returns `true` (after printing
/// `skipped: WHY`) when the test should return early, and fails the test under CI,
/// where a skipped test would hide a broken setup.
pub fn skip_unless(missing: Option<String>) -> bool {
    let Some(why) = missing else { return false };
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("CI must be able to run this test, but {why}");
    }
    eprintln!("skipped: {why}");
    true
}

impl Rig {
    /// Starts `n` hosts, or returns `None` (see [`skip_unless`]) when this machine cannot.
    pub fn start_or_skip(n: usize) -> Option<Rig> {
        (!skip_unless(missing_prerequisite())).then(|| Rig::start(n))
    }

    /// Starts `n` hosts on a free block of addresses; panics with the script's output if
    /// they do not start.
    pub fn start(n: usize) -> Rig {
        assert!(
            (1..=LAST_HOST - FIRST_TEST_HOST + 1).contains(&n),
            "a test rig has 1..={} hosts, not {n}",
            LAST_HOST - FIRST_TEST_HOST + 1
        );
        let (first, locks) = reserve_block(n);
        let state = tempfile::Builder::new()
            .prefix("srplay-rig-")
            .tempdir()
            .expect("cannot create the rig's state directory");
        let mut rig = Rig {
            state,
            first,
            count: n,
            sudo_password: String::new(),
            _locks: locks,
        };
        // From here on, Drop stops whatever a failed start left running.
        rig.run(&["start", &n.to_string(), "--first", &first.to_string()]);
        let password_file = rig.state_dir().join("sudo_password");
        rig.sudo_password = std::fs::read_to_string(&password_file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", password_file.display()))
            .trim()
            .to_string();
        rig
    }

    fn run(&self, args: &[&str]) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("hack/rig/rig");
        let out = Command::new(&script)
            .args(args)
            .arg("--state")
            .arg(self.state_dir())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "rig {} failed ({}):\n{}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The host number of host `i` (0-based), checked.
    fn host(&self, i: usize) -> usize {
        assert!(
            i < self.count,
            "the rig has {} hosts, no host #{i}",
            self.count
        );
        self.first + i
    }

    /// The hosts' addresses, `127.0.1.K`, in inventory order.
    pub fn addresses(&self) -> Vec<String> {
        (0..self.count)
            .map(|i| format!("127.0.1.{}", self.host(i)))
            .collect()
    }

    /// The hosts' inventory names, `hK`, in inventory order.
    pub fn host_names(&self) -> Vec<String> {
        (0..self.count)
            .map(|i| format!("h{}", self.host(i)))
            .collect()
    }

    pub fn state_dir(&self) -> &Path {
        self.state.path()
    }

    /// INI inventory (group `rig`) logging in as root with the rig's key.
    pub fn inventory_path(&self) -> PathBuf {
        self.state_dir().join("inventory")
    }

    pub fn inventory(&self) -> String {
        std::fs::read_to_string(self.inventory_path()).expect("the rig's inventory")
    }

    /// Like [`Rig::inventory_path`], logging in as [`Rig::sudo_user`] with
    /// `ansible_become_password` set.
    pub fn sudo_inventory_path(&self) -> PathBuf {
        self.state_dir().join("inventory-sudo")
    }

    /// The client's private key, accepted for root and for the sudo user on every host.
    pub fn key_path(&self) -> PathBuf {
        self.state_dir().join("id_ed25519")
    }

    /// Every host's real host key under its address (until [`Rig::rekey`]).
    pub fn known_hosts_path(&self) -> PathBuf {
        self.state_dir().join("known_hosts")
    }

    /// A non-root user on every host that may run anything with sudo, given its password.
    pub fn sudo_user(&self) -> &str {
        SUDO_USER
    }

    /// The sudo user's password, for sudo and for SSH password logins.
    pub fn sudo_password(&self) -> &str {
        &self.sudo_password
    }

    /// OpenSSH client options for the rig's hosts: strict checking against its known_hosts.
    /// (For an option, ssh takes the first value given: put overrides before these.)
    pub fn ssh_options(&self) -> Vec<String> {
        [
            format!("UserKnownHostsFile={}", self.known_hosts_path().display()),
            "StrictHostKeyChecking=yes".to_string(),
            "ConnectTimeout=10".to_string(),
        ]
        .into_iter()
        .flat_map(|option| ["-o".to_string(), option])
        .collect()
    }

    /// `user@127.0.1.K` for host `i`.
    pub fn destination(&self, i: usize, user: &str) -> String {
        format!("{user}@127.0.1.{}", self.host(i))
    }

    /// An OpenSSH client command logging in to host `i` as `user` with the rig's key and no
    /// prompts; add the remote command with `.arg(..)`.
    pub fn ssh(&self, i: usize, user: &str) -> Command {
        let mut cmd = Command::new("ssh");
        cmd.arg("-i")
            .arg(self.key_path())
            .args(["-o", "BatchMode=yes"])
            .args(self.ssh_options())
            .arg(self.destination(i, user));
        cmd
    }

    /// Stops host `i`: new connections are refused and open sessions end.
    pub fn stop_host(&self, i: usize) {
        self.run(&["stop-host", &self.host(i).to_string()]);
    }

    /// Starts host `i` again, with the same host key.
    pub fn start_host(&self, i: usize) {
        self.run(&["start-host", &self.host(i).to_string()]);
    }

    /// Gives host `i` a new host key and leaves [`Rig::known_hosts_path`] as it was.
    pub fn rekey(&self, i: usize) {
        self.run(&["rekey", &self.host(i).to_string()]);
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("hack/rig/rig");
        let stopped = Command::new(&script)
            .arg("stop")
            .arg("--state")
            .arg(self.state_dir())
            .output();
        // No panic here: a test that is already failing would abort instead of reporting.
        match stopped {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "rig stop failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => eprintln!("cannot run rig stop: {e}"),
        }
    }
}

/// Locks `n` consecutive addresses that no other rig holds and nothing listens on. A
/// machine busy with other rigs may have none free for a moment (seen in CI, not
/// understood yet): it looks again for up to a minute before giving up.
fn reserve_block(n: usize) -> (usize, Vec<Flock<File>>) {
    std::fs::create_dir_all(LOCK_DIR).unwrap_or_else(|e| panic!("cannot create {LOCK_DIR}: {e}"));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(block) = free_block(n) {
            return block;
        }
        if std::time::Instant::now() > deadline {
            panic!(
                "no {n} free consecutive addresses in 127.0.1.{FIRST_TEST_HOST}..{LAST_HOST} for a minute: too many rigs running?"
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// One pass over the range: the first `n` consecutive addresses free now, locked.
fn free_block(n: usize) -> Option<(usize, Vec<Flock<File>>)> {
    let mut first = FIRST_TEST_HOST;
    while first + n - 1 <= LAST_HOST {
        // Collecting stops at the first taken address (dropping the locks taken before it);
        // the next block to try starts after that address.
        match (first..first + n)
            .map(|host| lock_address(host).ok_or(host))
            .collect::<Result<Vec<_>, usize>>()
        {
            Ok(locks) => return Some((first, locks)),
            Err(taken) => first = taken + 1,
        }
    }
    None
}

/// The lock on 127.0.1.`host`, if no other rig holds it and no server answers there.
fn lock_address(host: usize) -> Option<Flock<File>> {
    let path = format!("{LOCK_DIR}/127.0.1.{host}");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("cannot open {path}: {e}"));
    let lock = Flock::lock(file, FlockArg::LockExclusiveNonblock).ok()?;
    let addr: SocketAddr = ([127, 0, 1, host as u8], 22).into();
    let taken = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok();
    (!taken).then_some(lock)
}
