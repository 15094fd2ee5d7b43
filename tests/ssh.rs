//! srplay over SSH, on the rig's real sshd hosts (`hack/rig/README.md`): differential runs
//! against `ansible-playbook` on the same hosts, and the failures a network brings (a host
//! going down mid-run, a changed host key, a wrong key or a closed port, a wrong sudo
//! password). Ansible comes from `$SRPLAY_ANSIBLE_VENV` (default `/opt/ansible-venv`).
//! Without root, sshd or ansible the tests print `skipped: ...`, except under CI, where
//! they fail. Ansible is slow: each test runs it at most once.

#[path = "compat/output.rs"]
mod output;
#[path = "support/rig.rs"]
mod rig;
mod support;

use rig::{Rig, skip_unless};
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Far longer than any run takes on a quiet machine (ansible on ten hosts: ~30 s), so that
/// a loaded one still passes: a run that hangs fails the test instead of hanging it.
const RUN_LIMIT: Duration = Duration::from_secs(600);

#[derive(Clone, Copy, Debug)]
enum Tool {
    Ansible,
    Srplay,
}

/// One run of one tool: exit code, output and what the output parser makes of it.
struct Run {
    rc: i32,
    stdout: String,
    stderr: String,
    report: output::Report,
}

impl Run {
    /// Everything a failed assertion should show.
    fn dump(&self) -> String {
        format!(
            "rc {}\n--- stdout\n{}--- stderr\n{}",
            self.rc, self.stdout, self.stderr
        )
    }

    /// The recap line of `host` as `ok=1 changed=0 ...`.
    fn recap(&self, host: &str) -> String {
        let counts = self.report.recap.get(host).map(Vec::as_slice);
        counts
            .unwrap_or_default()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn count(&self, host: &str, name: &str) -> Option<u64> {
        let counts = self.report.recap.get(host)?;
        counts.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
    }

    /// The statuses of `host`'s results, in order.
    fn statuses(&self, host: &str) -> Vec<String> {
        let events = self.report.events.get(host).map(Vec::as_slice);
        events
            .unwrap_or_default()
            .iter()
            .map(|e| e.status.clone())
            .collect()
    }

    /// The `msg` of `host`'s result for the task named `task`.
    fn msg(&self, host: &str, task: &str) -> Option<String> {
        let events = self.report.events.get(host)?;
        let event = events
            .iter()
            .find(|e| e.task.ends_with(&format!(" {task}")))?;
        event.msg.clone()
    }
}

/// A scratch directory holding a playbook (`site.yml`), the tools' homes and their output
/// dirs. Everything in it is readable by the rig's sudo user, who logs in on some hosts.
struct Scratch {
    dir: tempfile::TempDir,
    ansible: Option<PathBuf>,
    runs: std::sync::atomic::AtomicUsize,
}

impl Scratch {
    /// A scratch dir with `site.yml` and the given extra files (relative path, contents).
    fn new(playbook: &str, files: &[(&str, &str)]) -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix("srplay-ssh-")
            .tempdir()
            .expect("cannot create a scratch dir");
        std::fs::set_permissions(dir.path(), PermissionsExt::from_mode(0o755)).unwrap();
        std::fs::write(dir.path().join("site.yml"), playbook).unwrap();
        for (path, contents) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
        }
        Scratch {
            dir,
            ansible: None,
            runs: 0.into(),
        }
    }

    /// The same, for a differential test: `None` (skipped) without ansible-playbook.
    fn with_ansible(playbook: &str, files: &[(&str, &str)]) -> Option<Scratch> {
        let venv =
            std::env::var_os("SRPLAY_ANSIBLE_VENV").unwrap_or_else(|| "/opt/ansible-venv".into());
        let bin = PathBuf::from(venv).join("bin/ansible-playbook");
        let missing = (!bin.is_file())
            .then(|| format!("{} not found (set SRPLAY_ANSIBLE_VENV)", bin.display()));
        if skip_unless(missing) {
            return None;
        }
        Some(Scratch {
            ansible: Some(bin),
            ..Scratch::new(playbook, files)
        })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A write-for-all output dir `name` (hosts may log in as the sudo user).
    fn out(&self, name: &str) -> PathBuf {
        let out = self.path().join(name);
        std::fs::create_dir_all(&out).unwrap();
        std::fs::set_permissions(&out, PermissionsExt::from_mode(0o777)).unwrap();
        out
    }

    /// Writes an inventory file `name` and returns its path.
    fn inventory(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Runs `tool` on `site.yml` with `-i inventory -e out=OUT` and `args`; `env` is set on
    /// top of the usual environment (no colours, no retry files, homes in the scratch dir).
    fn run(
        &self,
        tool: Tool,
        inventory: &Path,
        out: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Run {
        let mut cmd = match tool {
            Tool::Ansible => {
                let mut cmd = Command::new(self.ansible.as_ref().expect("a differential scratch"));
                // Each task opens its own connection: no ControlPersist masters (and their
                // sessions on the hosts) outliving the run or a stopped host.
                cmd.env("ANSIBLE_SSH_ARGS", "-o ControlMaster=no")
                    // One connection per task instead of three or four (put, chmod, run).
                    .env("ANSIBLE_PIPELINING", "True");
                cmd
            }
            Tool::Srplay => Command::new(env!("CARGO_BIN_EXE_srplay")),
        };
        let n = self.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let logs = self.path().join(format!("run-{n}"));
        let home = logs.join("home");
        std::fs::create_dir_all(&home).unwrap();
        cmd.current_dir(self.path())
            .arg("-i")
            .arg(inventory)
            .arg("site.yml")
            .arg("-e")
            .arg(format!("out={}", out.display()))
            .args(args)
            .env("HOME", &home)
            .env("ANSIBLE_HOME", home.join(".ansible"))
            .env("ANSIBLE_LOCAL_TEMP", home.join("tmp"))
            .env("ANSIBLE_NOCOLOR", "1")
            .env("NO_COLOR", "1")
            .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
            .env("ANSIBLE_DEPRECATION_WARNINGS", "0")
            .env("ANSIBLE_STDOUT_CALLBACK", "default")
            .env_remove("ANSIBLE_CONFIG")
            .env_remove("SSH_AUTH_SOCK");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let (rc, stdout, stderr) = support::run_with_timeout(cmd, &logs, RUN_LIMIT);
        let report = output::parse(&stdout);
        let run = Run {
            rc,
            stdout,
            stderr,
            report,
        };
        assert_ne!(
            run.rc,
            -1,
            "{tool:?} ran over {RUN_LIMIT:?}:\n{}",
            run.dump()
        );
        run
    }
}

/// Every file under `out`, as `support::describe_file` shows it, by relative path.
fn snapshot(out: &Path) -> BTreeMap<String, String> {
    fn walk(dir: &Path, out: &Path, files: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.strip_prefix(out).unwrap().display().to_string();
            files.insert(name, support::describe_file(&path, out));
            if path.is_dir() && !path.is_symlink() {
                walk(&path, out, files);
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(out, out, &mut files);
    files
}

/// A run as the comparison sees it: rc, each host's results in order, the recap.
fn summary(run: &Run) -> String {
    let mut text = format!("rc {}\n", run.rc);
    for (host, events) in &run.report.events {
        for event in events {
            text.push_str(&format!("{host}: {event}\n"));
        }
    }
    for host in run.report.recap.keys() {
        text.push_str(&format!("recap {host}: {}\n", run.recap(host)));
    }
    text
}

fn diff(what: &str, ansible: &str, srplay: &str) -> String {
    let diff = similar::TextDiff::from_lines(ansible, srplay);
    let text = diff.unified_diff().header("ansible", "srplay").to_string();
    format!("{what} differ:\n{text}")
}

/// srplay's run must match ansible's in rc, per-host results (with debug messages) and recap.
fn assert_same_run(ansible: &Run, srplay: &Run) {
    let (a, b) = (summary(ansible), summary(srplay));
    assert!(
        a == b,
        "{}\n=== ansible\n{}\n=== srplay\n{}",
        diff("results", &a, &b),
        ansible.dump(),
        srplay.dump()
    );
}

fn assert_same_files(ansible_out: &Path, srplay_out: &Path) {
    let show = |files: BTreeMap<String, String>| -> String {
        files
            .into_iter()
            .map(|(path, what)| format!("{path}: {what}\n"))
            .collect()
    };
    let (a, b) = (show(snapshot(ansible_out)), show(snapshot(srplay_out)));
    assert!(!a.is_empty(), "ansible wrote no files");
    assert!(a == b, "{}", diff("files", &a, &b));
}

/// The rig's inventory with the hosts at `sudo_hosts` (0-based) logging in as the sudo user
/// (with its become password) instead of root.
fn mixed_inventory(rig: &Rig, sudo_hosts: &[usize]) -> String {
    let root = rig.inventory();
    let sudo = std::fs::read_to_string(rig.sudo_inventory_path()).unwrap();
    let host_lines = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with('h'))
            .map(str::to_string)
            .collect()
    };
    let (root, sudo) = (host_lines(&root), host_lines(&sudo));
    let mut text = String::from("[rig]\n");
    for (i, line) in root.iter().enumerate() {
        text.push_str(if sudo_hosts.contains(&i) {
            &sudo[i]
        } else {
            line
        });
        text.push('\n');
    }
    text
}

const DIFFERENTIAL_PLAYBOOK: &str = r#"
- name: over ssh
  hosts: rig
  gather_facts: false
  vars:
    dir: "{{ out }}/{{ inventory_hostname }}"
  handlers:
    - name: note the trigger
      copy:
        content: "handled on {{ inventory_hostname }}\n"
        dest: "{{ dir }}/handled.txt"
        mode: "0644"
  tasks:
    - name: host dir
      file:
        path: "{{ dir }}"
        state: directory
        mode: "0755"
    - name: command
      command: echo hello {{ inventory_hostname }}
      register: hello
      changed_when: false
    - name: shell with a pipe
      shell: printf 'pear\napple\nfig\n' | sort | head -n 2
      register: piped
      changed_when: false
    - name: copy content
      copy:
        content: "host {{ inventory_hostname }}\n"
        dest: "{{ dir }}/copied.txt"
        mode: "0640"
    - name: template
      template:
        src: hosts.j2
        dest: "{{ dir }}/hosts.txt"
        mode: "0644"
    - name: lineinfile
      lineinfile:
        path: "{{ dir }}/lines.txt"
        line: "added by lineinfile"
        create: true
        mode: "0644"
    - name: link
      file:
        src: "{{ dir }}/copied.txt"
        dest: "{{ dir }}/link"
        state: link
    - name: stat
      stat:
        path: "{{ dir }}/copied.txt"
      register: st
    - name: show registered
      debug:
        msg: "{{ hello.stdout }} / {{ piped.stdout_lines | join(',') }} / size {{ st.stat.size }} mode {{ st.stat.mode }}"
      when: st.stat.exists
    - name: fails on the second host
      command: test {{ inventory_hostname }} != {{ groups.rig[1] }}
      changed_when: false
      ignore_errors: true
    - name: loop
      copy:
        content: "{{ item }}\n"
        dest: "{{ dir }}/item-{{ item }}"
        mode: "0600"
      loop: [one, two]
    - name: notify on the first host
      copy:
        content: "trigger\n"
        dest: "{{ dir }}/trigger.txt"
        mode: "0644"
      when: inventory_hostname == groups.rig[0]
      notify: note the trigger
    - name: set_fact
      set_fact:
        doubled: "{{ (hello.stdout | length) * 2 }}"
    - name: become
      command: id -un
      become: true
      register: who
      changed_when: false
    - name: show become
      debug:
        msg: "{{ ansible_user }} became {{ who.stdout }}, doubled {{ doubled }}"
"#;

const HOSTS_TEMPLATE: &str = "\
{% for h in groups['rig'] %}
{{ h }} {{ hostvars[h].ansible_host }} {{ hostvars[h].ansible_user }}
{% endfor %}
me: {{ inventory_hostname }}, first: {{ groups.rig | first }}
";

#[test]
fn playbook_on_ten_hosts_matches_ansible_and_converges() {
    let Some(scratch) = Scratch::with_ansible(
        DIFFERENTIAL_PLAYBOOK,
        &[("templates/hosts.j2", HOSTS_TEMPLATE)],
    ) else {
        return;
    };
    let Some(rig) = Rig::start_or_skip(10) else {
        return;
    };
    // The last two hosts log in as the sudo user: become needs its password there.
    let inventory = scratch.inventory("inventory", &mixed_inventory(&rig, &[8, 9]));
    let (ansible_out, srplay_out) = (scratch.out("out-ansible"), scratch.out("out-srplay"));

    let ansible = scratch.run(Tool::Ansible, &inventory, &ansible_out, &[], &[]);
    assert_eq!(ansible.rc, 0, "ansible:\n{}", ansible.dump());
    let srplay = scratch.run(Tool::Srplay, &inventory, &srplay_out, &[], &[]);
    assert_same_run(&ansible, &srplay);
    assert_same_files(&ansible_out, &srplay_out);

    let names = rig.host_names();
    let doubled = format!("hello {}", names[9]).len() * 2;
    assert_eq!(
        srplay.msg(&names[9], "show become"),
        Some(format!("srplay-rig became root, doubled {doubled}"))
    );
    assert_eq!(srplay.count(&names[1], "ignored"), Some(1));

    let again = scratch.run(Tool::Srplay, &inventory, &srplay_out, &[], &[]);
    assert_eq!(again.rc, 0, "{}", again.dump());
    for name in &names {
        assert_eq!(again.count(name, "changed"), Some(0), "{}", again.dump());
    }
}

const STOPPED_HOST_PLAYBOOK: &str = r#"
- name: one host goes down
  hosts: rig
  gather_facts: false
  tasks:
    - name: started
      copy:
        content: "started\n"
        dest: "{{ out }}/{{ inventory_hostname }}.started"
    - name: the test stops a host meanwhile
      shell: touch {{ out }}/{{ inventory_hostname }}.sleeping && sleep 5
      changed_when: false
    - name: after
      copy:
        content: "done\n"
        dest: "{{ out }}/{{ inventory_hostname }}.done"
    - name: last
      command: "true"
      changed_when: false
"#;

/// Runs `tool` and stops host `down` while it sleeps in the second task. (The first task's
/// file is no signal: ansible still has work on the host after the file appears, such as
/// removing its temp dir, and would find the host gone in that task.)
fn run_stopping_a_host(
    scratch: &Scratch,
    rig: &Rig,
    tool: Tool,
    inventory: &Path,
    out: &Path,
    down: usize,
) -> Run {
    let marker = out.join(format!("{}.sleeping", rig.host_names()[down]));
    std::thread::scope(|s| {
        let running = s.spawn(|| scratch.run(tool, inventory, out, &[], &[]));
        let deadline = Instant::now() + RUN_LIMIT;
        while !marker.exists() && !running.is_finished() {
            assert!(
                Instant::now() < deadline,
                "no {} from {tool:?}",
                marker.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        rig.stop_host(down);
        running.join().unwrap()
    })
}

#[test]
fn host_stopped_mid_run_is_unreachable_and_a_rerun_converges() {
    let Some(scratch) = Scratch::with_ansible(STOPPED_HOST_PLAYBOOK, &[]) else {
        return;
    };
    let Some(rig) = Rig::start_or_skip(4) else {
        return;
    };
    let inventory = rig.inventory_path();
    let names = rig.host_names();
    let (ansible_out, srplay_out) = (scratch.out("out-ansible"), scratch.out("out-srplay"));

    let ansible = run_stopping_a_host(&scratch, &rig, Tool::Ansible, &inventory, &ansible_out, 2);
    rig.start_host(2);
    assert_eq!(ansible.rc, 4, "ansible:\n{}", ansible.dump());
    assert_eq!(ansible.count(&names[2], "unreachable"), Some(1));

    let srplay = run_stopping_a_host(&scratch, &rig, Tool::Srplay, &inventory, &srplay_out, 2);
    rig.start_host(2);
    assert_same_run(&ansible, &srplay);
    for (i, name) in names.iter().enumerate() {
        let done = srplay_out.join(format!("{name}.done")).exists();
        assert_eq!(done, i != 2, "{name}.done: {}", srplay.dump());
    }

    let again = scratch.run(Tool::Srplay, &inventory, &srplay_out, &[], &[]);
    assert_eq!(again.rc, 0, "{}", again.dump());
    for (i, name) in names.iter().enumerate() {
        assert_eq!(
            again.count(name, "unreachable"),
            Some(0),
            "{}",
            again.dump()
        );
        // The host that was down runs `after` for the first time.
        let changed = if i == 2 { 1 } else { 0 };
        assert_eq!(
            again.count(name, "changed"),
            Some(changed),
            "{}",
            again.dump()
        );
    }
}

const ID_PLAYBOOK: &str = r#"
- name: who
  hosts: rig
  gather_facts: false
  tasks:
    - name: id
      command: id -un
      register: id
      changed_when: false
    - name: show id
      debug:
        msg: "{{ id.stdout }}"
"#;

/// `ssh-keygen -lf` of host `hK`'s public host key: `SHA256:...`.
fn host_key_fingerprint(rig: &Rig, host: &str) -> String {
    let key = rig.state_dir().join(host).join("ssh_host_ed25519_key.pub");
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "ssh-keygen -lf {}", key.display());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace().nth(1).unwrap().to_string()
}

#[test]
fn changed_host_key_is_refused_unless_host_key_checking_is_off() {
    let Some(rig) = Rig::start_or_skip(2) else {
        return;
    };
    let scratch = Scratch::new(ID_PLAYBOOK, &[]);
    let out = scratch.out("out");
    let names = rig.host_names();
    rig.rekey(0);
    let fingerprint = host_key_fingerprint(&rig, &names[0]);

    let run = scratch.run(Tool::Srplay, &rig.inventory_path(), &out, &[], &[]);
    assert_eq!(run.rc, 4, "{}", run.dump());
    assert_eq!(run.statuses(&names[0]), ["unreachable"], "{}", run.dump());
    assert_eq!(run.statuses(&names[1]), ["ok", "ok"], "{}", run.dump());
    let refusal = run
        .stdout
        .lines()
        .find(|l| l.contains("UNREACHABLE"))
        .unwrap();
    assert!(refusal.contains(&fingerprint), "{refusal}");
    let known_hosts = rig.known_hosts_path().display().to_string();
    assert!(refusal.contains(&known_hosts), "{refusal}");

    let env = [("ANSIBLE_HOST_KEY_CHECKING", "False")];
    let run = scratch.run(Tool::Srplay, &rig.inventory_path(), &out, &[], &env);
    assert_eq!(run.rc, 0, "{}", run.dump());
    assert_eq!(run.msg(&names[0], "show id").as_deref(), Some("root"));
}

#[test]
fn wrong_key_and_closed_port_are_unreachable_with_the_reason() {
    let Some(rig) = Rig::start_or_skip(1) else {
        return;
    };
    let scratch = Scratch::new(ID_PLAYBOOK, &[]);
    let out = scratch.out("out");
    let name = &rig.host_names()[0];

    let key = scratch.path().join("not_the_key");
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(keygen.status.success(), "ssh-keygen failed");
    let key = key.display().to_string();
    let run = scratch.run(
        Tool::Srplay,
        &rig.inventory_path(),
        &out,
        &["-e", &format!("ansible_ssh_private_key_file={key}")],
        &[],
    );
    assert_eq!(run.rc, 4, "{}", run.dump());
    assert_eq!(run.statuses(name), ["unreachable"], "{}", run.dump());
    let refusal = run
        .stdout
        .lines()
        .find(|l| l.contains("UNREACHABLE"))
        .unwrap();
    assert!(refusal.contains("Permission denied"), "{refusal}");
    assert!(refusal.contains(&key), "{refusal}");

    // A port nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = scratch.run(
        Tool::Srplay,
        &rig.inventory_path(),
        &out,
        &[
            "-e",
            "ansible_host=127.0.0.1",
            "-e",
            &format!("ansible_port={port}"),
        ],
        &[],
    );
    assert_eq!(run.rc, 4, "{}", run.dump());
    assert_eq!(run.statuses(name), ["unreachable"], "{}", run.dump());
    let refusal = run
        .stdout
        .lines()
        .find(|l| l.contains("UNREACHABLE"))
        .unwrap();
    assert!(refusal.contains("Connection refused"), "{refusal}");
}

const SUDO_PLAYBOOK: &str = r#"
- name: become with a password
  hosts: rig
  gather_facts: false
  tasks:
    - name: uid
      command: id -u
      register: plain
      changed_when: false
    - name: uid with become
      command: id -u
      become: true
      register: became
      changed_when: false
    - name: show uids
      debug:
        msg: "{{ plain.stdout }} {{ became.stdout }}"
    - name: write as root
      copy:
        content: "root's\n"
        dest: "{{ out }}/by-root.txt"
        mode: "0644"
      become: true
    - name: the test scans the processes meanwhile
      command: sleep 2.25
      become: true
      changed_when: false
"#;

/// Every process's command line, arguments joined with spaces.
fn command_lines() -> Vec<String> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .filter_map(|p| std::fs::read(p.ok()?.path().join("cmdline")).ok())
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .collect()
}

#[test]
fn sudo_password_works_and_shows_in_no_command_line() {
    let Some(rig) = Rig::start_or_skip(1) else {
        return;
    };
    let scratch = Scratch::new(SUDO_PLAYBOOK, &[]);
    let out = scratch.out("out");
    let name = &rig.host_names()[0];
    let password = rig.sudo_password();
    let inventory = rig.sudo_inventory_path();

    let (run, saw_sleep, leaks) = std::thread::scope(|s| {
        let running = s.spawn(|| scratch.run(Tool::Srplay, &inventory, &out, &[], &[]));
        let (mut saw_sleep, mut leaks) = (false, Vec::new());
        while !running.is_finished() {
            for line in command_lines() {
                saw_sleep |= line.contains("sleep 2.25");
                if line.contains(password) {
                    leaks.push(line);
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        (running.join().unwrap(), saw_sleep, leaks)
    });
    assert_eq!(run.rc, 0, "{}", run.dump());
    assert!(
        leaks.is_empty(),
        "the sudo password is on a command line: {leaks:?}"
    );
    assert!(saw_sleep, "the scan never saw the become task running");
    let uid = nix::unistd::User::from_name(rig.sudo_user())
        .unwrap()
        .unwrap()
        .uid;
    assert_eq!(
        run.msg(name, "show uids"),
        Some(format!("{uid} 0")),
        "{}",
        run.dump()
    );
    let owner = std::fs::metadata(out.join("by-root.txt")).unwrap().uid();
    assert_eq!(owner, 0, "the file written with become is not root's");

    let started = Instant::now();
    let run = scratch.run(
        Tool::Srplay,
        &inventory,
        &out,
        &["-e", "ansible_become_password=not-the-password"],
        &[],
    );
    // sudo asks again after a wrong password: srplay must fail, not wait for an answer.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{}",
        run.dump()
    );
    assert_eq!(run.rc, 2, "{}", run.dump());
    assert_eq!(run.statuses(name), ["ok", "fatal"], "{}", run.dump());
    assert!(
        run.stdout.contains("Incorrect sudo password"),
        "{}",
        run.dump()
    );
}

#[test]
fn password_login_without_a_key() {
    let Some(rig) = Rig::start_or_skip(1) else {
        return;
    };
    let scratch = Scratch::new(ID_PLAYBOOK, &[]);
    let out = scratch.out("out");
    let name = &rig.host_names()[0];
    let inventory = scratch.inventory(
        "inventory",
        &format!(
            "{name} ansible_host={} ansible_user={} ansible_password='{}' \
             ansible_ssh_common_args='-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes'\n\
             [rig]\n{name}\n",
            rig.addresses()[0],
            rig.sudo_user(),
            rig.sudo_password(),
            rig.known_hosts_path().display()
        ),
    );
    let run = scratch.run(Tool::Srplay, &inventory, &out, &[], &[]);
    assert_eq!(run.rc, 0, "{}", run.dump());
    assert_eq!(run.msg(name, "show id").as_deref(), Some(rig.sudo_user()));
}

const SERIAL_PLAYBOOK: &str = r#"
- name: in batches
  hosts: rig
  gather_facts: false
  serial: 2
  max_fail_percentage: 49
  tasks:
    - name: first
      command: "true"
      changed_when: false
    - name: fails on the third host
      fail:
        msg: third
      when: inventory_hostname == groups.rig[2]
    - name: after
      debug:
        msg: "after on {{ inventory_hostname }}"
"#;

#[test]
fn serial_batches_and_max_fail_percentage_match_ansible() {
    let Some(scratch) = Scratch::with_ansible(SERIAL_PLAYBOOK, &[]) else {
        return;
    };
    let Some(rig) = Rig::start_or_skip(5) else {
        return;
    };
    let inventory = rig.inventory_path();
    let (ansible_out, srplay_out) = (scratch.out("out-ansible"), scratch.out("out-srplay"));
    let ansible = scratch.run(Tool::Ansible, &inventory, &ansible_out, &[], &[]);
    // The second batch fails half its hosts (more than 49%): the fifth host never runs.
    assert_eq!(ansible.rc, 2, "ansible:\n{}", ansible.dump());
    assert!(ansible.statuses(&rig.host_names()[4]).is_empty());
    let srplay = scratch.run(Tool::Srplay, &inventory, &srplay_out, &[], &[]);
    assert_same_run(&ansible, &srplay);
}

/// The modules a cluster installer uses, over SSH on two hosts, run twice: the first run
/// changes things, the second must report `changed=0` everywhere (srplay alone: several
/// of these are `ansible.posix` modules, which ansible-core does not ship).
#[test]
fn every_module_converges_on_a_second_run() {
    let Some(rig) = Rig::start_or_skip(2) else {
        return;
    };
    let playbook = r#"
- hosts: all
  gather_facts: true
  vars:
    d: "{{ out }}/{{ inventory_hostname }}"
  tasks:
    - file: {path: "{{ d }}/etc", state: directory, mode: "0755"}
    - file: {path: "{{ d }}/touched", state: touch, modification_time: preserve, access_time: preserve}
    - file: {path: "{{ d }}/link", src: "{{ d }}/touched", state: link}
    - copy: {content: "a=1\n", dest: "{{ d }}/etc/app.conf", mode: "0640", force: false}
    - copy: {src: tree/, dest: "{{ d }}/tree/"}
    - template: {src: app.j2, dest: "{{ d }}/etc/app.ini", force: false}
    - copy: {content: "welcome\n", dest: "{{ d }}/etc/motd", mode: "0644"}
    - template: {src: app.j2, dest: "{{ d }}/etc/rendered.ini", mode: "0600"}
    - lineinfile: {path: "{{ d }}/etc/app.conf", line: "b=2"}
    - lineinfile: {path: "{{ d }}/etc/app.conf", regexp: "^a=", line: "a=3"}
    - blockinfile: {path: "{{ d }}/etc/app.conf", block: "c=4\nd=5"}
    - replace: {path: "{{ d }}/etc/app.ini", regexp: "^mode=.*$", replace: "mode=cluster"}
    - stat: {path: "{{ d }}/etc/app.conf"}
      register: st
    - assert: {that: ["st.stat.exists", "st.stat.mode == '0640'"]}
    - slurp: {src: "{{ d }}/etc/app.conf"}
      register: slurped
    - fetch: {src: "{{ d }}/etc/app.conf", dest: "{{ out }}/fetched"}
    - find: {paths: "{{ d }}/tree", patterns: "*.txt", recurse: true}
      register: found
    - assert: {that: ["found.matched == 2"]}
    - file: {path: "{{ d }}/unpacked", state: directory}
    - unarchive: {src: bundle.tar.gz, dest: "{{ d }}/unpacked"}
    - script: {cmd: "setup.sh {{ d }}/scripted", creates: "{{ d }}/scripted"}
    - command: {cmd: "touch {{ d }}/commanded", creates: "{{ d }}/commanded"}
    - shell: {cmd: "echo done > {{ d }}/shelled", creates: "{{ d }}/shelled"}
    - command: {cmd: "false", removes: "{{ d }}/never-made"}
      register: guarded
    - assert: {that: ["guarded is not changed", "guarded.stdout == 'skipped, since ' ~ d ~ '/never-made does not exist'"]}
    - get_url: {url: "file://{{ d }}/etc/app.conf", dest: "{{ d }}/downloaded.conf", mode: "0600"}
    - wait_for: {path: "{{ d }}/downloaded.conf", timeout: 5}
    - sysctl: {name: net.ipv4.ip_forward, value: "1", sysctl_file: "{{ d }}/sysctl.conf", reload: false}
    - authorized_key: {user: root, key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test", path: "{{ d }}/authorized_keys", manage_dir: false}
    - cron: {name: backup, minute: "5", job: "/bin/true", cron_file: "{{ d }}/cron", user: root}
    - set_fact: {conf_size: "{{ st.stat.size }}"}
    - debug: {msg: "{{ conf_size }} bytes, {{ slurped.content | b64decode | length }} read"}
"#;
    let scratch = Scratch::new(
        playbook,
        &[
            (
                "templates/app.j2",
                "host={{ inventory_hostname }}\nmode=single\nos={{ ansible_os_family }}\n",
            ),
            ("files/tree/a.txt", "a\n"),
            ("files/tree/sub/b.txt", "b\n"),
            ("files/setup.sh", "#!/bin/sh\necho scripted > \"$1\"\n"),
        ],
    );
    // A tarball for unarchive, made here with the machine's tar.
    let src = scratch.path().join("bundle");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("inside.txt"), "inside\n").unwrap();
    let tar = Command::new("tar")
        .current_dir(scratch.path())
        .args(["czf", "files/bundle.tar.gz", "bundle"])
        .status()
        .unwrap();
    assert!(tar.success());
    let out = scratch.out("out");
    let inventory = rig.inventory_path();
    let first = scratch.run(Tool::Srplay, &inventory, &out, &[], &[]);
    assert_eq!(first.rc, 0, "first run:\n{}", first.dump());
    let second = scratch.run(Tool::Srplay, &inventory, &out, &[], &[]);
    assert_eq!(second.rc, 0, "second run:\n{}", second.dump());
    for host in rig.host_names() {
        assert!(
            first.count(&host, "changed").unwrap_or(0) > 10,
            "{}",
            first.dump()
        );
        assert_eq!(
            second.count(&host, "changed"),
            Some(0),
            "{host} changed on the second run:\n{}",
            second.dump()
        );
        let d = out.join(&host);
        assert_eq!(
            std::fs::read_to_string(d.join("unpacked/bundle/inside.txt")).unwrap(),
            "inside\n"
        );
        assert_eq!(
            std::fs::read_to_string(d.join("scripted")).unwrap(),
            "scripted\n"
        );
        let conf = std::fs::read_to_string(d.join("etc/app.conf")).unwrap();
        assert!(
            conf.contains("a=3\nb=2\n") && conf.contains("c=4\nd=5\n"),
            "{conf}"
        );
        let ini = std::fs::read_to_string(d.join("etc/app.ini")).unwrap();
        assert!(
            ini.contains("mode=cluster") && ini.contains("os=Debian"),
            "{ini}"
        );
    }
}
