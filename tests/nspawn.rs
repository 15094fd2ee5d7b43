//! Packages and services on a real booted Debian host: `hack/rig/nspawn` boots one
//! systemd-nspawn host whose only apt source is a local repository (hello, sl,
//! libncurses6), then srplay runs `tests/nspawn/site.yml` on it over SSH. The playbook
//! checks what each step reported (changed once, unchanged the second time); this test
//! checks the recap and then the host itself, over ssh.
//!
//! Needs root, systemd-nspawn, debootstrap and dpkg-dev, and network for the first
//! base image and repository (both cached under ~/.cache/srplay). Skipped with a message
//! otherwise; `SRPLAY_NSPAWN=1` forces it (missing tools then fail it), `SRPLAY_NSPAWN=0`
//! skips it. About 90 s the first time (debootstrap), 15 s after.

mod support;

use std::process::Command;
use std::time::Duration;

use support::nspawn::{Hosts, cache_dir, hack, manifest_dir, skip_reason};

/// The host's address is 127.0.1.240: clear of the rig's default (200) a developer may run.
const HOST: u32 = 240;

#[test]
fn packages_and_services_on_a_booted_host() {
    if let Some(why) = skip_reason() {
        eprintln!("nspawn test skipped: {why} (SRPLAY_NSPAWN=1 forces it)");
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let repo = cache_dir().join("nspawn-repo");
    if !repo.join("Packages.gz").exists() {
        let dir = repo.to_string_lossy().into_owned();
        hack(
            "rig/nspawn",
            &["repo", &dir, "hello", "sl", "libncurses6"],
            scratch.path(),
            Duration::from_secs(300),
        );
    }
    let repo_arg = repo.to_string_lossy().into_owned();
    let host = Hosts::start(1, HOST, &["--repo", &repo_arg], scratch.path());
    let state = host.state.clone();
    let addr = format!("127.0.1.{HOST}");
    let ssh = |command: &str| host.ssh(&addr, command).1;

    let mut srplay = Command::new(env!("CARGO_BIN_EXE_srplay"));
    srplay
        .arg("-i")
        .arg(state.join("inventory"))
        .arg(manifest_dir().join("tests/nspawn/site.yml"));
    let (rc, out, err) =
        support::run_with_timeout(srplay, scratch.path(), Duration::from_secs(300));
    let recap: String = out
        .lines()
        .find(|l| l.starts_with(&format!("h{HOST} ")))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    assert!(
        rc == 0 && recap.contains("ok=15 changed=7 unreachable=0 failed=0"),
        "srplay rc {rc}, recap '{recap}'\n{out}\n{err}"
    );

    assert_eq!(ssh("systemctl is-active sleeper"), "active");
    assert_eq!(ssh("systemctl is-enabled sleeper"), "enabled");
    assert_eq!(ssh("hello"), "Hello, world!");
    // sl has no configuration files, so removing it leaves dpkg no record of it.
    assert_eq!(
        ssh("dpkg-query -W sl >/dev/null 2>&1 && echo installed || echo gone"),
        "gone"
    );
}
