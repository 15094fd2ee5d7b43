//! System and package modules against Ansible on booted hosts: two twin Debian hosts
//! (`support::nspawn`, 127.0.1.236 for ansible-playbook, .237 for srplay) start from the
//! same state, and `tests/modules_compat/site.yml` (apt, apt_repository, apt_key, rpm_key,
//! systemd, service, user, group, cron, hostname, sysctl, mount, authorized_key, timezone,
//! modprobe) runs on each three
//! times: `--check --diff` first, then twice for real with `--diff`. The test compares per
//! task what each tool reported in each run, the return values the playbook's last task
//! prints, and then the hosts themselves (packages, units, accounts, files with their
//! modes and owners); the second real run must change nothing but the tasks named
//! "(always changes)".
//!
//! The hosts' apt source is a local repository: full python3, python3-apt, cron, kmod, gpg
//! and rpm (what ansible-playbook and the playbook need on a host; built once into
//! `~/.cache/srplay/modules-repo-2`, see [`REPO_PACKAGES`]) plus small packages the test
//! builds with `dpkg-deb`. The OpenPGP keys apt_key and rpm_key use are fixed test keys,
//! `tests/modules_compat/*.asc`.
//! Ansible's collection modules (ansible.posix, community.general) come from the PyPI
//! package `ansible` 12, unpacked once into `~/.cache/srplay/ansible-collections`.
//!
//! Same gate as `tests/nspawn.rs` (root, systemd-nspawn, debootstrap, dpkg-dev;
//! `SRPLAY_NSPAWN=0|1`), and ansible-core in `SRPLAY_ANSIBLE_VENV`. Deliberate
//! differences are listed in [`DELIBERATE`] and in docs/differences.md.

#[path = "compat/output.rs"]
mod output;
mod support;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::nspawn::{Hosts, cache_dir, hack, manifest_dir, skip_reason};

/// The twin hosts: 127.0.1.236 and .237 (this test owns .236 to .239).
const FIRST_HOST: u32 = 236;

/// What the cached repository holds besides the test's own packages (with their
/// dependencies): the full python3 and python3-apt for ansible-playbook, cron and kmod for
/// the cron and modprobe modules, gpg and its agent for Ansible's apt_key (`apt-key add`
/// runs gpg, which starts gpg-agent) and rpm for both tools' rpm_key.
const REPO_PACKAGES: &[&str] = &[
    "python3",
    "python3-apt",
    "cron",
    "kmod",
    "gpg",
    "libnpth0",
    "pinentry-curses",
    "rpm",
];

/// Fetched without their dependencies (which [`REPO_PACKAGES`] brings): gpg-agent depends
/// on any pinentry, and fetching every one would bring GTK and Qt.
const REPO_PACKAGES_NO_DEPS: &[&str] = &["gpg-agent"];

/// The cache dir of that repository: a new name whenever [`REPO_PACKAGES`] changes, so that
/// a cache built from an older list is not used.
const REPO_CACHE: &str = "modules-repo-2";

/// Return keys left out of the comparison: Ansible's bookkeeping (and its Python
/// traceback), and command output whose wording is the tools' own (apt's progress lines).
const NOISE_KEYS: &[&str] = &[
    "invocation",
    "warnings",
    "deprecations",
    "_ansible_no_log",
    "stdout",
    "stdout_lines",
    "stderr",
    "stderr_lines",
    "cache_update_time",
    "exception",
];

/// The properties of a systemd result's `status` compared.
const UNIT_STATES: &[&str] = &["LoadState", "ActiveState", "SubState", "UnitFileState"];

/// Return values where srplay differs on purpose: `(result, key, why)`; docs/differences.md
/// says the same.
const DELIBERATE: &[(&str, &str, &str)] = &[
    (
        "apt_deb",
        "diff",
        "srplay installs a .deb with apt-get, Ansible with dpkg -i: `prepared` shows apt-get's \
         plan, not dpkg's log (and nothing, not \"\", when nothing was done)",
    ),
    // apt_key: Ansible's `apt-key add` puts the key into /etc/apt/trusted.gpg, srplay writes
    // a keyring file of its own into /etc/apt/trusted.gpg.d (what Debian recommends now
    // that apt-key is deprecated); which keys apt trusts is compared on the hosts instead.
    (
        "aptkey_data",
        "before",
        "Ansible lists every key apt trusts as apt-key prints them; srplay, which does not \
         run apt-key, returns no such list",
    ),
    ("aptkey_data", "after", "as `before`"),
    ("aptkey_file", "before", "as `before` of aptkey_data"),
    ("aptkey_absent", "before", "as `before` of aptkey_data"),
    ("aptkey_absent", "after", "as `before` of aptkey_data"),
    (
        "modprobe",
        "msg",
        "srplay reads /proc/modules with cat on the host: its error says so, not Python's",
    ),
];

/// Tasks whose `--diff` output differs on purpose: `(task, why)`.
const DELIBERATE_DIFFS: &[(&str, &str)] = &[(
    "apt deb from a file on the host",
    "srplay installs a .deb with apt-get (which also fetches its dependencies), Ansible with \
     dpkg -i after installing them: apt-get's plan is shown instead of dpkg's log",
)];

#[derive(Clone, Copy, PartialEq)]
enum Tool {
    Ansible,
    Srplay,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Ansible => "ansible",
            Tool::Srplay => "srplay",
        }
    }

    fn addr(self) -> String {
        match self {
            Tool::Ansible => format!("127.0.1.{FIRST_HOST}"),
            Tool::Srplay => format!("127.0.1.{}", FIRST_HOST + 1),
        }
    }
}

/// One run of the playbook by one tool.
struct Run {
    label: &'static str,
    rc: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// The three runs, in order, with their extra arguments.
const RUNS: &[(&str, &[&str])] = &[
    ("check", &["--check", "--diff"]),
    ("first", &["--diff"]),
    ("second", &["--diff"]),
];

#[test]
fn system_modules_match_ansible_on_booted_hosts() {
    if let Some(why) = skip_reason() {
        eprintln!("modules_compat skipped: {why} (SRPLAY_NSPAWN=1 forces it)");
        return;
    }
    let Some(venv) = support::find_ansible() else {
        eprintln!("modules_compat skipped: ansible-playbook not found (SRPLAY_ANSIBLE_VENV)");
        return;
    };
    let started = Instant::now();
    let scratch_dir = tempfile::tempdir().unwrap();
    let scratch = scratch_dir.path();
    let repo = probe_repo(scratch);
    let collections = ansible_collections(&venv, scratch);
    let repo_arg = repo.to_string_lossy().into_owned();
    let hosts = Hosts::start(2, FIRST_HOST, &["--repo", &repo_arg], scratch);
    eprintln!("modules_compat: hosts up after {:.1}s", secs(started));

    let [ansible, srplay] = std::thread::scope(|s| {
        [Tool::Ansible, Tool::Srplay]
            .map(|tool| {
                let (hosts, venv, collections) = (&hosts, &venv, &collections);
                s.spawn(move || {
                    prepare(hosts, tool);
                    let dir = scratch.join(tool.name());
                    std::fs::create_dir_all(&dir).unwrap();
                    RUNS.iter()
                        .map(|(label, args)| run(tool, label, args, hosts, venv, collections, &dir))
                        .collect::<Vec<Run>>()
                })
            })
            .map(|h| h.join().unwrap())
    });
    for (a, b) in ansible.iter().zip(&srplay) {
        eprintln!(
            "modules_compat: {} run: ansible {:.1}s, srplay {:.1}s",
            a.label,
            a.elapsed.as_secs_f64(),
            b.elapsed.as_secs_f64()
        );
    }

    let mut problems = String::new();
    // Ansible must get through every run, or the comparison would be of two failures.
    for run in ansible.iter().filter(|r| r.rc != 0) {
        let _ = writeln!(
            problems,
            "ansible's {} run failed (rc {}): the case is broken\n{}",
            run.label, run.rc, run.stdout
        );
    }
    for (a, b) in ansible.iter().zip(&srplay) {
        compare_run(a, b, &mut problems);
    }
    let second = output::parse(&ansible[2].stdout);
    for event in second.events.get("target").into_iter().flatten() {
        if event.status == "changed" && !event.task.ends_with("(always changes)") {
            let _ = writeln!(
                problems,
                "ansible's second run changed '{}': the playbook is not idempotent",
                event.task
            );
        }
    }
    let second = output::parse(&srplay[2].stdout);
    for event in second.events.get("target").into_iter().flatten() {
        if event.status == "changed" && !event.task.ends_with("(always changes)") {
            let _ = writeln!(problems, "srplay's second run changed '{}'", event.task);
        }
    }
    let (want, got) = (
        host_state(&hosts, Tool::Ansible),
        host_state(&hosts, Tool::Srplay),
    );
    if want != got {
        let _ = writeln!(problems, "the hosts differ:\n{}", line_diff(&want, &got));
    }
    eprintln!("modules_compat: done in {:.1}s", secs(started));
    drop(hosts);
    if !problems.is_empty() {
        // Each run's output is in the scratch dir (`ansible/check.out`...): keep it.
        let _ = writeln!(problems, "outputs kept in {}", scratch_dir.keep().display());
    }
    assert!(
        problems.is_empty(),
        "srplay differs from ansible-playbook:\n{problems}\n\
         srplay's last run:\n{}\n{}",
        srplay[2].stdout,
        srplay[2].stderr
    );
}

fn secs(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

/// The same start state on both hosts, set up over ssh rather than by either tool: the
/// full python3 and python3-apt (for ansible-playbook; srplay's host gets them too so that
/// the hosts stay twins), cron and kmod (the tools the cron and modprobe modules drive), an
/// old srplay-probe to upgrade, a package, an account, a group, a cron job and an fstab
/// entry for the playbook to remove, and two units: `spare` where packages put theirs, since a unit in /etc cannot be
/// masked. For apt_repository: empty repositories under /srv, one listed for removal and one
/// listed commented out; for apt_key and rpm_key: the probe key in a file, and the old probe
/// key trusted by apt (a keyring file of its own) and imported into rpm, both to remove.
fn prepare(hosts: &Hosts, tool: Tool) {
    const PROBE_KEY: &str = include_str!("modules_compat/probe-key.asc");
    const OLD_KEY: &str = include_str!("modules_compat/old-probe-key.asc");
    const UNIT: &str = "[Unit]\nDescription=srplay probe\n[Service]\n\
        ExecStart=/bin/sleep infinity\nExecReload=/bin/true\n\
        [Install]\nWantedBy=multi-user.target\n";
    let script = format!(
        "set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends python3 python3-apt cron kmod gpg gpg-agent rpm \
  srplay-probe=1.0 srplay-spare >/dev/null
for repo in extra extra2 extra3 old; do mkdir -p /srv/$repo; : >/srv/$repo/Packages; done
echo 'deb [trusted=yes] file:/srv/old ./' >/etc/apt/sources.list.d/old.list
echo '#deb [trusted=yes] file:/srv/extra3 ./ # kept off' >/etc/apt/sources.list.d/disabled.list
cat >/root/probe-key.asc <<'EOF'
{PROBE_KEY}EOF
cat >/etc/apt/trusted.gpg.d/old-probe.asc <<'EOF'
{OLD_KEY}EOF
rpm --import /etc/apt/trusted.gpg.d/old-probe.asc
printf '{UNIT}' >/etc/systemd/system/probe.service
printf '{UNIT}' >/usr/lib/systemd/system/spare.service
hostnamectl set-hostname twin
systemctl daemon-reload
systemctl enable --now spare.service 2>/dev/null
useradd --create-home olduser
groupadd oldgroup
printf '#Ansible: old job\n0 1 * * * /bin/false\n' | crontab -
echo 'tmpfs /mnt/gone tmpfs defaults 0 0' >>/etc/fstab
"
    );
    let (ok, out) = hosts.ssh(&tool.addr(), &script);
    assert!(ok, "preparing {}'s host failed: {out}", tool.name());
}

/// Run the playbook once with `tool` on its host, the inventory naming it `target`.
fn run(
    tool: Tool,
    label: &'static str,
    args: &[&str],
    hosts: &Hosts,
    venv: &Path,
    collections: &Path,
    dir: &Path,
) -> Run {
    let state = &hosts.state;
    let inventory = dir.join("inventory");
    std::fs::write(
        &inventory,
        format!(
            "target ansible_host={addr} ansible_user=root ansible_ssh_private_key_file={key} \
             ansible_ssh_common_args='-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes'\n",
            addr = tool.addr(),
            key = state.join("id").display(),
            known = state.join("known_hosts").display(),
        ),
    )
    .unwrap();
    let mut cmd = match tool {
        Tool::Ansible => {
            let mut cmd = Command::new(venv.join("bin/ansible-playbook"));
            cmd.env("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3")
                .env("ANSIBLE_COLLECTIONS_PATH", collections)
                .env("ANSIBLE_PIPELINING", "1");
            cmd
        }
        Tool::Srplay => Command::new(env!("CARGO_BIN_EXE_srplay")),
    };
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    cmd.current_dir(dir)
        .arg("-i")
        .arg(&inventory)
        .arg(manifest_dir().join("tests/modules_compat/site.yml"))
        .args(args)
        .env("HOME", &home)
        .env("ANSIBLE_HOME", home.join(".ansible"))
        .env("ANSIBLE_LOCAL_TEMP", home.join("tmp"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("NO_COLOR", "1")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
        .env("ANSIBLE_DEPRECATION_WARNINGS", "0")
        .env("ANSIBLE_STDOUT_CALLBACK", "default")
        .env_remove("ANSIBLE_CONFIG");
    let started = Instant::now();
    let (rc, stdout, stderr) = support::run_with_timeout(cmd, dir, Duration::from_secs(300));
    std::fs::write(dir.join(format!("{label}.out")), &stdout).unwrap();
    std::fs::write(dir.join(format!("{label}.err")), &stderr).unwrap();
    Run {
        label,
        rc,
        stdout,
        stderr,
        elapsed: started.elapsed(),
    }
}

/// What one run of each tool must agree on: exit code, each task's status, and the
/// return values the last task prints.
fn compare_run(want: &Run, got: &Run, problems: &mut String) {
    let label = want.label;
    if want.rc != got.rc {
        let _ = writeln!(
            problems,
            "[{label}] exit code: ansible {} srplay {}\n{}",
            want.rc, want.rc, got.stderr
        );
    }
    let (wr, gr) = (output::parse(&want.stdout), output::parse(&got.stdout));
    let events = |r: &output::Report| -> Vec<output::Event> {
        r.events.get("target").cloned().unwrap_or_default()
    };
    let (we, ge) = (events(&wr), events(&gr));
    let statuses = |e: &[output::Event]| -> String {
        e.iter()
            .map(|e| format!("{} => {}\n", e.task, e.status))
            .collect()
    };
    let (a, b) = (statuses(&we), statuses(&ge));
    if a != b {
        let _ = writeln!(problems, "[{label}] task results:\n{}", line_diff(&a, &b));
    }
    let (a, b) = (failures(&want.stdout), failures(&got.stdout));
    if a != b {
        let _ = writeln!(
            problems,
            "[{label}] failure messages:\n{}",
            line_diff(&a, &b)
        );
    }
    let (a, b) = (diffs(&want.stdout), diffs(&got.stdout));
    if a != b {
        let _ = writeln!(problems, "[{label}] --diff output:\n{}", line_diff(&a, &b));
    }
    let results = |e: &[output::Event]| -> Value {
        e.iter()
            .rev()
            .find(|e| e.task.ends_with("TASK results"))
            .and_then(|e| e.msg.as_deref())
            .and_then(|m| serde_json::from_str(m).ok())
            .unwrap_or(Value::Null)
    };
    let (a, b) = (results(&we), results(&ge));
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        let _ = writeln!(
            problems,
            "[{label}] no results printed: ansible {a} srplay {b}"
        );
        return;
    };
    for (name, want) in a {
        let got = b.get(name).unwrap_or(&Value::Null);
        compare_result(label, name, want, got, problems);
    }
}

/// Each failed task's name and `msg` (the output parser reads statuses, not failures).
/// Ignored failures are left out: their registered results are compared instead.
fn failures(stdout: &str) -> String {
    let mut task = "";
    let mut text = String::new();
    let mut last = String::new();
    for line in stdout.lines() {
        if let Some(name) = line.strip_prefix("TASK [") {
            task = name.split("] ").next().unwrap_or(name);
        } else if let Some(body) = line.strip_prefix("fatal: [target]: FAILED! => ") {
            let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
            last = format!("{task}: {}\n", body["msg"]);
            text.push_str(&last);
        } else if line == "...ignoring" {
            text.truncate(text.len() - last.len());
            last.clear();
        }
    }
    text
}

/// What `--diff` printed for each task (the lines between its banner and its result),
/// each prefixed with the task's name, but for the tasks [`DELIBERATE_DIFFS`] lists.
fn diffs(stdout: &str) -> String {
    let mut task: Option<&str> = None;
    let mut text = String::new();
    for line in stdout.lines() {
        if let Some(name) = line.strip_prefix("TASK [") {
            let name = name.split("] ").next().unwrap_or(name);
            let deliberate = DELIBERATE_DIFFS.iter().any(|(t, _)| *t == name);
            task = (!deliberate).then_some(name);
        } else if [
            "ok:",
            "changed:",
            "fatal:",
            "skipping:",
            "[ERROR]",
            "[WARNING]",
        ]
        .iter()
        .any(|p| line.starts_with(p))
        {
            // The diff comes before the result; what follows is not diff.
            task = None;
        } else if let Some(name) = task.filter(|_| !line.is_empty()) {
            let _ = writeln!(text, "{name}: {line}");
        }
    }
    text
}

/// One registered result: every key Ansible returns (but [`NOISE_KEYS`]) must be there
/// with the same value, unless [`DELIBERATE`] says why not.
fn compare_result(label: &str, name: &str, want: &Value, got: &Value, problems: &mut String) {
    if want == got {
        return;
    }
    let (Some(want), Some(got)) = (want.as_object(), got.as_object()) else {
        let _ = writeln!(problems, "[{label}] {name}: ansible {want} srplay {got}");
        return;
    };
    let keys: BTreeSet<&String> = want.keys().chain(got.keys()).collect();
    for key in keys {
        if NOISE_KEYS.contains(&key.as_str())
            || DELIBERATE.iter().any(|(r, k, _)| *r == name && k == key)
        {
            continue;
        }
        let (mut want, mut got) = (want.get(key).cloned(), got.get(key).cloned());
        if key == "status" {
            // systemd's whole `systemctl show`: timestamps, PIDs and list orders differ
            // between any two hosts; the states are what the module decides by.
            for v in [&mut want, &mut got].into_iter().flatten() {
                *v = UNIT_STATES
                    .iter()
                    .map(|k| (k.to_string(), v[k].clone()))
                    .collect();
            }
        }
        match (want.as_ref(), got.as_ref()) {
            (Some(w), Some(g)) if w == g => {}
            (Some(w), None) => {
                let _ = writeln!(
                    problems,
                    "[{label}] {name}.{key}: srplay lacks it (ansible {w})"
                );
            }
            (None, Some(g)) => {
                let _ = writeln!(problems, "[{label}] {name}.{key}: only srplay has it ({g})");
            }
            (w, g) => {
                let _ = writeln!(
                    problems,
                    "[{label}] {name}.{key}: ansible {} srplay {}",
                    w.unwrap(),
                    g.unwrap()
                );
            }
        }
    }
}

/// What the playbook leaves on a host, as text to compare between the twins: packages,
/// units, accounts, and the files the modules wrote with their modes and owners.
fn host_state(hosts: &Hosts, tool: Tool) -> String {
    let script = r#"
files="/etc/cron.d/probe /var/spool/cron/crontabs/root /etc/hostname /etc/timezone
  /etc/sysctl.d/90-probe.conf /etc/fstab /home/alice /home/alice/.ssh
  /home/alice/.ssh/authorized_keys /home/olduser $(ls -d /etc/apt/sources.list.d/*)"
echo "--- apt trusts"; apt-key adv --list-public-keys --with-colons 2>/dev/null | grep '^fpr' | sort -u
echo "--- rpm keys"; rpm -q gpg-pubkey 2>&1
dpkg-query -W -f='${Package} ${Version} ${db:Status-Abbrev}\n' \
  srplay-probe srplay-extra srplay-spare srplay-recommended srplay-deb 2>&1
for unit in probe spare; do
  echo "$unit $(systemctl is-active $unit) $(systemctl is-enabled $unit 2>&1)"
done
getent passwd alice olduser svc-probe; getent shadow alice | cut -d: -f1,2; getent group ops oldgroup users adm svc-probe; id alice
echo "--- crontab"; crontab -l 2>&1
for f in $files; do
  echo "--- $f"; stat -c '%F %a %U %G' "$f" 2>&1
  [ -f "$f" ] && cat "$f"
done
echo "--- mounts"; findmnt -n -o TARGET,FSTYPE,OPTIONS /mnt/live; stat -c '%n %F %a %U %G' /mnt/live /mnt/gone 2>&1
echo "--- hostname $(hostname)"
echo "--- localtime $(readlink /etc/localtime)"
echo "--- modprobe.d"; ls /etc/modprobe.d /etc/modules-load.d 2>&1
"#;
    let (_, out) = hosts.ssh(&tool.addr(), script);
    // crontab(1) heads the table with the file it installed and when: not the module's doing.
    out.lines()
        .filter(|l| !(l.starts_with("# (") && l.contains(" installed on ")))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Lines only in `want` (`-`) or only in `got` (`+`), in order.
fn line_diff(want: &str, got: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let mut text = String::new();
    for l in &a {
        if !b.contains(l) {
            let _ = writeln!(text, "  - ansible: {l}");
        }
    }
    for l in &b {
        if !a.contains(l) {
            let _ = writeln!(text, "  + srplay:  {l}");
        }
    }
    text
}

/// The hosts' apt repository: the cached one with [`REPO_PACKAGES`], linked into the scratch dir beside the packages the playbook installs, built here.
fn probe_repo(scratch: &Path) -> PathBuf {
    let cached = cache_dir().join(REPO_CACHE);
    if !cached.join("Packages.gz").exists() {
        std::fs::create_dir_all(cache_dir()).unwrap();
        let tmp = tempfile::tempdir_in(cache_dir()).unwrap();
        let dir = tmp.path().join("repo");
        let dir_arg = dir.to_string_lossy().into_owned();
        let mut args = vec!["repo", &dir_arg];
        args.extend(REPO_PACKAGES);
        args.push("--with-deps");
        hack("rig/nspawn", &args, scratch, Duration::from_secs(600));
        let mut args = vec!["repo", &dir_arg];
        args.extend(REPO_PACKAGES_NO_DEPS);
        hack("rig/nspawn", &args, scratch, Duration::from_secs(600));
        // Another test may have won the race; its copy is as good.
        let _ = std::fs::rename(&dir, &cached);
    }
    let repo = scratch.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    for entry in std::fs::read_dir(&cached).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "deb") {
            let to = repo.join(path.file_name().unwrap());
            if std::fs::hard_link(&path, &to).is_err() {
                std::fs::copy(&path, &to).unwrap();
            }
        }
    }
    let packages: &[(&str, &str, &str)] = &[
        ("srplay-probe", "1.0", ""),
        ("srplay-probe", "1.1", ""),
        ("srplay-extra", "1.0", "Recommends: srplay-recommended\n"),
        ("srplay-recommended", "1.0", ""),
        ("srplay-spare", "1.0", ""),
        ("srplay-deb", "1.0", ""),
    ];
    for (name, version, extra) in packages {
        build_deb(&repo, scratch, name, version, extra);
    }
    let mut scan = Command::new("sh");
    scan.current_dir(&repo).args([
        "-c",
        "dpkg-scanpackages --multiversion . 2>/dev/null | gzip -9n >Packages.gz",
    ]);
    let (rc, _, err) = support::run_with_timeout(scan, scratch, Duration::from_secs(60));
    assert_eq!(rc, 0, "dpkg-scanpackages: {err}");
    repo
}

/// A package holding one file, `/usr/share/NAME/VERSION`.
fn build_deb(repo: &Path, scratch: &Path, name: &str, version: &str, extra: &str) {
    let root = scratch.join(format!("deb-{name}-{version}"));
    let share = root.join("usr/share").join(name);
    std::fs::create_dir_all(&share).unwrap();
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::write(share.join("VERSION"), format!("{version}\n")).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: {name}\nVersion: {version}\nArchitecture: all\n\
             Maintainer: srplay tests <tests@srplay.invalid>\n{extra}\
             Description: srplay module test package\n"
        ),
    )
    .unwrap();
    let mut cmd = Command::new("dpkg-deb");
    cmd.args(["--root-owner-group", "-Zgzip", "--build"])
        .arg(&root)
        .arg(repo.join(format!("{name}_{version}_all.deb")));
    let (rc, out, err) = support::run_with_timeout(cmd, scratch, Duration::from_secs(60));
    assert_eq!(rc, 0, "dpkg-deb {name} {version}: {out}{err}");
}

/// A collections path holding ansible.posix and community.general, taken from the PyPI
/// package `ansible` 12 (the release that goes with ansible-core 2.19) with the venv's
/// pip: only those two are unpacked, into `~/.cache/srplay/ansible-collections`.
fn ansible_collections(venv: &Path, scratch: &Path) -> PathBuf {
    let path = cache_dir().join("ansible-collections");
    if path.join("ansible_collections/community/general").exists() {
        return path;
    }
    let download = scratch.join("wheel");
    let mut pip = Command::new(venv.join("bin/pip"));
    pip.args(["download", "--no-deps", "-q", "ansible>=12,<13", "-d"])
        .arg(&download);
    let (rc, out, err) = support::run_with_timeout(pip, scratch, Duration::from_secs(600));
    assert_eq!(rc, 0, "pip download ansible: {out}{err}");
    let tmp = tempfile::tempdir_in(cache_dir()).unwrap();
    let unpack = "import sys, zipfile, glob\n\
        wheel = zipfile.ZipFile(glob.glob(sys.argv[1] + '/ansible-*.whl')[0])\n\
        prefixes = ('ansible_collections/ansible/posix/', 'ansible_collections/community/general/')\n\
        wheel.extractall(sys.argv[2], [n for n in wheel.namelist() if n.startswith(prefixes)])\n";
    let mut python = Command::new(venv.join("bin/python3"));
    python
        .args(["-c", unpack])
        .arg(&download)
        .arg(tmp.path().join("c"));
    let (rc, out, err) = support::run_with_timeout(python, scratch, Duration::from_secs(120));
    assert_eq!(rc, 0, "unpacking the collections: {out}{err}");
    // Another test may have won the race; its copy is as good.
    let _ = std::fs::rename(tmp.path().join("c"), &path);
    path
}
