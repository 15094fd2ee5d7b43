//! Run records and `--resume` (issue 8, acceptance 1): a 50-task run where one of five
//! hosts fails at task 30 is resumed for that host alone from task 30; both runs are
//! in `srplay runs list`; a run killed with SIGKILL mid-task leaves a record that
//! `srplay runs show` reads accurately up to the kill.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use srplay::state::runs::{self, Line, Outcome, Record, StatusName};

const HOSTS: [&str; 5] = ["h1", "h2", "h3", "h4", "h5"];

/// A project directory: `hosts` (five local hosts), playbooks, and a marker directory
/// in which every host but `h3` has its file.
struct Project {
    dir: tempfile::TempDir,
}

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut hosts = String::from("[all]\n");
        for h in HOSTS {
            hosts.push_str(h);
            hosts.push('\n');
        }
        hosts.push_str("[all:vars]\nansible_connection=local\n");
        std::fs::write(dir.path().join("hosts"), hosts).unwrap();
        std::fs::create_dir(dir.path().join("markers")).unwrap();
        let p = Project { dir };
        for h in HOSTS.iter().filter(|h| **h != "h3") {
            p.mark(h);
        }
        p
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn mark(&self, host: &str) {
        std::fs::write(self.path().join("markers").join(host), "").unwrap();
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path().join(name), text).unwrap();
    }

    fn runs_dir(&self) -> PathBuf {
        self.path().join(".srplay/runs")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_srplay"));
        cmd.args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env_remove("ANSIBLE_CONFIG")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Ran {
        let out = self.command(args).output().expect("srplay runs");
        let ran = Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(!ran.stderr.contains("panicked"), "panic:\n{}", ran.stderr);
        ran
    }

    /// The records, oldest first, with `resumed` marked.
    fn records(&self) -> Vec<Record> {
        let mut all = runs::read_all(&self.runs_dir());
        runs::mark_resumed(&mut all);
        all
    }
}

/// 50 tasks; task 30 checks the host's marker file.
fn fifty_tasks() -> String {
    let mut text = String::from("- hosts: all\n  gather_facts: no\n  tasks:\n");
    for i in 1..=50 {
        if i == 30 {
            text.push_str(
                "    - name: task 30\n      command: test -f {{ playbook_dir }}/markers/{{ inventory_hostname }}\n",
            );
        } else {
            text.push_str(&format!("    - name: task {i}\n      command: \"true\"\n"));
        }
    }
    text
}

/// The line number of `- name: task 30` in [`fifty_tasks`].
fn task_30_line(playbook: &str) -> usize {
    playbook
        .lines()
        .position(|l| l.contains("name: task 30"))
        .expect("task 30")
        + 1
}

/// Each host's recorded (position, status) results, in order.
fn results_of(record: &Record, host: &str) -> Vec<(usize, StatusName)> {
    record
        .results()
        .filter(|(_, r)| r.host == host)
        .map(|(_, r)| (r.position.expect("a task, not a handler"), r.status))
        .collect()
}

#[test]
fn a_host_that_failed_at_task_30_resumes_there_alone() {
    let p = Project::new();
    let playbook = fifty_tasks();
    p.write("site.yml", &playbook);

    let first = p.run(&["site.yml", "-i", "hosts", "-e", "db_password=hunter2"]);
    assert_eq!(first.code, 2, "{}{}", first.stdout, first.stderr);
    let records = p.records();
    assert_eq!(records.len(), 1);
    let old = &records[0];
    assert_eq!(old.outcome(), Outcome::Failed);
    let hosts = old.hosts();
    let (_, failure) = hosts["h3"].failure.as_ref().expect("h3 failed");
    assert_eq!(
        (failure.position, failure.task.as_str()),
        (Some(30), "task 30")
    );
    assert!(
        failure
            .place
            .as_deref()
            .unwrap()
            .ends_with(&format!("site.yml:{}", task_30_line(&playbook)))
    );
    assert_eq!(results_of(old, "h3").len(), 30);
    for h in ["h1", "h2", "h4", "h5"] {
        assert_eq!(results_of(old, h).len(), 50, "{h} ran every task");
    }
    // The secret given with -e is in no record.
    let text = std::fs::read_to_string(&old.path).unwrap();
    assert!(!text.contains("hunter2"));
    assert!(text.contains("db_password='<redacted>'"));

    // `runs show` names the failed task with its place and message.
    let show = p.run(&["runs", "show", "-i", "hosts"]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(
        show.stdout.contains(&format!(
            "h3: failed at 'task 30' (site.yml:{}): non-zero return code",
            task_30_line(&playbook)
        )),
        "{}",
        show.stdout
    );

    p.mark("h3");
    let resumed = p.run(&[
        "site.yml",
        "-i",
        "hosts",
        "-e",
        "db_password=hunter2",
        "--resume",
    ]);
    assert_eq!(resumed.code, 0, "{}{}", resumed.stdout, resumed.stderr);
    assert!(
        resumed.stdout.contains(&format!(
            "resuming h3 at task 30 (site.yml:{}), skipping 29 tasks",
            task_30_line(&playbook)
        )),
        "{}",
        resumed.stdout
    );
    assert!(!resumed.stdout.contains("TASK [task 29]"));
    for h in ["h1", "h2", "h4", "h5"] {
        assert!(
            !resumed.stdout.contains(&format!("[{h}]")),
            "{h} ran:\n{}",
            resumed.stdout
        );
    }
    assert!(
        resumed
            .stdout
            .contains("h3                         : ok=21   changed=21")
    );

    let records = p.records();
    assert_eq!(records.len(), 2);
    let new = &records[1];
    assert_eq!(
        new.run.as_ref().unwrap().resumes.as_deref(),
        Some(old.id.as_str())
    );
    let h3: Vec<usize> = results_of(new, "h3").iter().map(|(pos, _)| *pos).collect();
    assert_eq!(h3, (30..=50).collect::<Vec<_>>(), "h3 ran tasks 30-50 only");
    assert_eq!(
        new.hosts().keys().collect::<Vec<_>>(),
        ["h3"],
        "no other host ran"
    );
    assert!(new.lines.iter().any(|l| matches!(l,
        Line::Resumed { host, position: 30, skipped: 29, .. } if host == "h3")));
    assert_eq!(records[0].outcome(), Outcome::Resumed);

    let list = p.run(&["runs", "list", "-i", "hosts"]);
    let rows: Vec<&str> = list.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{}", list.stdout);
    assert!(
        rows[0].starts_with(&old.id)
            && rows[0].contains("resumed")
            && rows[0].contains("5 (1 failed)")
    );
    assert!(rows[1].starts_with(&new.id) && rows[1].contains(&format!("ok (resumes {})", old.id)));

    // Nothing is left to resume.
    let again = p.run(&["site.yml", "-i", "hosts", "--resume"]);
    assert_eq!(again.code, 5, "{}", again.stderr);
    assert!(again.stderr.contains("no run of"), "{}", again.stderr);
}

#[test]
fn records_are_private() {
    let p = Project::new();
    p.write(
        "site.yml",
        "- hosts: h1\n  gather_facts: no\n  tasks:\n    - ping:\n",
    );
    assert_eq!(p.run(&["site.yml", "-i", "hosts"]).code, 0);
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&p.path().join(".srplay")), 0o700);
    assert_eq!(mode(&p.runs_dir()), 0o700);
    let record = &p.records()[0];
    assert_eq!(mode(&record.path), 0o600);
    assert_eq!(record.outcome(), Outcome::Ok);
}

#[test]
fn an_edit_of_the_failed_task_resumes_but_a_changed_structure_is_refused() {
    let p = Project::new();
    let playbook = fifty_tasks();
    p.write("site.yml", &playbook);
    assert_eq!(p.run(&["site.yml", "-i", "hosts"]).code, 2);

    // A task removed before task 30: task 30's position holds another task now.
    let shorter = playbook.replace("    - name: task 10\n      command: \"true\"\n", "");
    p.write("site.yml", &shorter);
    let refused = p.run(&["site.yml", "-i", "hosts", "--resume"]);
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused
            .stderr
            .contains("cannot resume h3: task 30 of play 1 was 'task 30'"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("--start-at-task 'task 30'"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("site.yml changed since run"),
        "{}",
        refused.stderr
    );

    // Another playbook, or another inventory, is not that run.
    p.write("other.yml", &playbook);
    let other = p.run(&["other.yml", "-i", "hosts", "--resume"]);
    assert_eq!(other.code, 5, "{}", other.stderr);
    assert!(
        other.stderr.contains("a resume runs the same playbooks"),
        "{}",
        other.stderr
    );

    // The failing task's arguments changed: it resumes there.
    let first = p.records()[0].id.clone();
    p.write(
        "site.yml",
        &playbook.replace("test -f {{ playbook_dir }}", "test -e {{ playbook_dir }}"),
    );
    p.mark("h3");
    let resumed = p.run(&["site.yml", "-i", "hosts", &format!("--resume={first}")]);
    assert_eq!(resumed.code, 0, "{}{}", resumed.stdout, resumed.stderr);
    assert!(
        resumed.stdout.contains("resuming h3 at task 30"),
        "{}",
        resumed.stdout
    );
}

#[test]
fn a_killed_run_is_read_up_to_the_kill_and_resumed_from_the_task_it_was_in() {
    let p = Project::new();
    p.write(
        "site.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - name: first\n      command: \"true\"\n    - name: second\n      set_fact:\n        x: 1\n    - name: long sleep\n      command: sleep {{ nap }}\n    - name: after\n      command: \"true\"\n",
    );
    let mut child = p
        .command(&["site.yml", "-i", "hosts", "-e", "nap=20"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill once every host has started the sleep (the record says so).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let started = p
            .records()
            .first()
            .map(|r| {
                r.lines
                    .iter()
                    .filter(|l| matches!(l, Line::HostStart { task, .. } if task == "long sleep"))
                    .count()
            })
            .unwrap_or(0);
        if started == HOSTS.len() {
            break;
        }
        assert!(Instant::now() < deadline, "the sleep never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    // While it runs, the record says so.
    assert_eq!(p.records()[0].outcome(), Outcome::Running);
    child.kill().unwrap();
    child.wait().unwrap();

    let record = &p.records()[0];
    assert_eq!(record.outcome(), Outcome::Killed);
    for (host, h) in record.hosts() {
        assert_eq!(
            results_of(record, &host),
            [(1, StatusName::Changed), (2, StatusName::Ok)],
            "{host}: the tasks done before the kill"
        );
        let running = h.running.expect("the task it was in");
        assert_eq!(
            (running.task.as_str(), running.position),
            ("long sleep", Some(3))
        );
    }
    let show = p.run(&["runs", "show", "--tasks", "-i", "hosts"]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(
        show.stdout
            .starts_with(&format!("run {}: killed", record.id)),
        "{}",
        show.stdout
    );
    let row = |host: &str, status: &str, task: &str| {
        show.stdout
            .lines()
            .any(|l| l.starts_with(host) && l.contains(status) && l.contains(task))
    };
    for h in HOSTS {
        assert!(row(h, "changed", "first (site.yml:4)"), "{}", show.stdout);
        assert!(row(h, "ok", "second (site.yml:6)"), "{}", show.stdout);
        assert!(row(h, "killed", "long sleep"), "{}", show.stdout);
        assert!(!row(h, "", "after"), "{}", show.stdout);
    }
    let list = p.run(&["runs", "list", "-i", "hosts"]);
    assert!(
        list.stdout.lines().nth(1).unwrap().contains("killed"),
        "{}",
        list.stdout
    );

    // Resumed: every host goes on from the sleep it was killed in.
    let resumed = p.run(&["site.yml", "-i", "hosts", "-e", "nap=0", "--resume"]);
    assert_eq!(resumed.code, 0, "{}{}", resumed.stdout, resumed.stderr);
    for h in HOSTS {
        assert!(
            resumed.stdout.contains(&format!(
                "resuming {h} at long sleep (site.yml:9), skipping 1 task"
            )),
            "{}",
            resumed.stdout
        );
    }
    assert!(!resumed.stdout.contains("TASK [first]"));
    assert!(
        resumed.stdout.contains("TASK [second]"),
        "set_fact runs before the resume point"
    );
    assert!(
        resumed.stderr.contains("the arguments differ"),
        "{}",
        resumed.stderr
    );
}

#[test]
fn no_log_results_and_secret_extra_vars_stay_out_of_records() {
    let p = Project::new();
    p.write(
        "site.yml",
        "- hosts: h1\n  gather_facts: no\n  tasks:\n    - name: leaky\n      command: sh -c 'echo s3cr3t-out; echo s3cr3t-err >&2; exit 1'\n      no_log: true\n      ignore_errors: true\n    - name: also\n      fail:\n        msg: \"{{ api_token }}\"\n      no_log: true\n",
    );
    let ran = p.run(&[
        "site.yml",
        "-i",
        "hosts",
        "-e",
        r#"{"api_token": "s3cr3t-tok"}"#,
    ]);
    assert_eq!(ran.code, 2, "{}{}", ran.stdout, ran.stderr);
    let record = &p.records()[0];
    let text = std::fs::read_to_string(&record.path).unwrap();
    assert_eq!(text.matches("s3cr3t").count(), 0, "{text}");
    let (_, failure) = record.hosts()["h1"].failure.clone().expect("h1 failed");
    assert_eq!(failure.task, "also");
    let show = p.run(&["runs", "show", "--tasks", "-i", "hosts"]);
    assert!(!show.stdout.contains("s3cr3t"), "{}", show.stdout);
}
