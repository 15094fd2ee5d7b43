//! `--output json` end to end: real playbooks on the local connection (and one host
//! that cannot be reached), every line checked against `docs/events.schema.json`, the
//! order of events, the recap against the results, and a `no_log` secret nowhere.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const SECRET: &str = "TOPSECRET-4242";

const INVENTORY: &str = "\
[web]
h1 ansible_connection=local
h2 ansible_connection=local

[down]
gone ansible_connection=ssh ansible_host=127.0.1.250 ansible_port=1
";

/// One of each kind of result: ok, changed, skipped, a loop, an ignored failure,
/// `no_log`, a retry, an include, a failed host, an unreachable one, a handler, and a
/// warning (a notify of a handler that does not exist).
const PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: false
  vars:
    hidden: "TOPSECRET-4242"
  tasks:
    - name: say hello
      debug:
        msg: hello
    - name: write a file
      copy:
        content: "{{ inventory_hostname }}\n"
        dest: "{{ out }}/{{ inventory_hostname }}.txt"
      notify: [restart, no such handler]
    - name: never
      command: "true"
      when: false
    - name: a loop
      command: "echo {{ item }}"
      loop: [a, b]
    - name: ignored failure
      command: "false"
      ignore_errors: true
    - name: hidden
      command: "echo {{ hidden }}"
      no_log: true
    - name: hidden loop
      debug:
        msg: "{{ item }}"
      loop: ["{{ hidden }}"]
      no_log: true
    - name: second time lucky
      shell: "echo x >> {{ out }}/{{ inventory_hostname }}.count; wc -l < {{ out }}/{{ inventory_hostname }}.count"
      register: tries
      until: tries.stdout | int >= 2
      retries: 3
      delay: 0
    - include_tasks: more.yml
    - name: h2 fails
      fail:
        msg: boom
      when: inventory_hostname == 'h2'
    - name: after
      debug:
        msg: done
  handlers:
    - name: restart
      debug:
        msg: restarted
"#;

const MORE: &str = "- name: included\n  debug:\n    msg: included\n";

fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in [
        ("inventory", INVENTORY),
        ("play.yml", PLAYBOOK),
        ("more.yml", MORE),
        ("broken.yml", "- hosts: all\n  tasks:\n    - debug: [\n"),
    ] {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

struct Stream {
    code: i32,
    stdout: String,
    stderr: String,
    events: Vec<Value>,
}

fn run_json(dir: &Path, playbook: &str) -> Stream {
    let out = Command::new(env!("CARGO_BIN_EXE_srplay"))
        .args([playbook, "-i", "inventory", "-e"])
        .arg(format!("out={}", dir.display()))
        .current_dir(dir)
        .env("SRPLAY_OUTPUT", "json")
        .env("NO_COLOR", "1")
        .env("HOME", dir)
        .env_remove("ANSIBLE_CONFIG")
        .output()
        .expect("srplay runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let events = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    Stream {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        stdout,
        events,
    }
}

fn schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/events.schema.json")
}

/// Every line is one of the documented objects.
fn assert_valid(events: &[Value]) {
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    let schema = compiler
        .compile(schema_path().to_str().unwrap(), &mut schemas)
        .unwrap_or_else(|e| panic!("the schema does not compile: {e:#}"));
    for event in events {
        if let Err(e) = schemas.validate(event, schema) {
            panic!("{event}\ndoes not follow docs/events.schema.json: {e}");
        }
    }
}

fn kind(e: &Value) -> &str {
    e["event"].as_str().unwrap()
}

fn named<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| kind(e) == name).collect()
}

#[test]
fn a_run_streams_valid_events_in_order() {
    let dir = workdir();
    let s = run_json(dir.path(), "play.yml");
    assert!(!s.events.is_empty(), "no events; stderr:\n{}", s.stderr);
    assert_valid(&s.events);

    // Framing: run_start first, run_end last with the exit code, seq counts up.
    assert_eq!(kind(&s.events[0]), "run_start");
    let end = s.events.last().unwrap();
    assert_eq!(kind(end), "run_end");
    assert_eq!(end["exit_code"], s.code);
    assert_eq!(
        s.code, 4,
        "unreachable wins over failed; stderr:\n{}",
        s.stderr
    );
    for (i, e) in s.events.iter().enumerate() {
        assert_eq!(e["seq"], i as u64 + 1);
    }
    assert_eq!(
        named(&s.events, "play_start")[0]["hosts"],
        serde_json::json!(["h1", "h2", "gone"])
    );

    // A result comes under its task's start, after its host started that task.
    let mut task: Option<&str> = None;
    let mut started: Vec<(&str, &str)> = Vec::new();
    for e in &s.events {
        match kind(e) {
            "task_start" => {
                task = e["name"].as_str();
                started.clear();
            }
            "host_start" => {
                started.push((e["host"].as_str().unwrap(), e["task"].as_str().unwrap()))
            }
            "result" => {
                let (host, name) = (e["host"].as_str().unwrap(), e["task"].as_str().unwrap());
                assert_eq!(Some(name), task, "{e}");
                assert!(
                    started.contains(&(host, name)),
                    "result before host_start: {e}"
                );
            }
            _ => {}
        }
    }

    // The recap counts what the results said: a host's loop items together count once
    // for the task (failed if one failed, else changed if one changed), and an include
    // counts ok for each of its hosts.
    let mut outcomes: HashMap<(String, u64), Vec<&Value>> = HashMap::new();
    let mut counted: HashMap<String, HashMap<&str, u64>> = HashMap::new();
    let mut task_seq = 0;
    for e in &s.events {
        match kind(e) {
            "task_start" => task_seq = e["seq"].as_u64().unwrap(),
            "result" => outcomes
                .entry((e["host"].as_str().unwrap().to_string(), task_seq))
                .or_default()
                .push(e),
            "include" => {
                for h in e["hosts"].as_array().unwrap() {
                    let c = counted.entry(h.as_str().unwrap().to_string()).or_default();
                    *c.entry("ok").or_default() += 1;
                }
            }
            _ => {}
        }
    }
    for ((host, _), results) in &outcomes {
        let any = |status: &str| results.iter().any(|r| r["status"] == status);
        let status = ["unreachable", "failed", "changed", "ok"]
            .into_iter()
            .find(|s| any(s))
            .unwrap_or("skipped");
        let ignored = results.iter().any(|r| r["ignored"] == true);
        let counts: &[&str] = match (status, ignored) {
            ("ok" | "changed", _) => &["ok"],
            ("skipped", _) => &["skipped"],
            ("failed", false) => &["failed"],
            ("unreachable", false) => &["unreachable"],
            ("failed" | "unreachable", true) => &["ok", "ignored"],
            (other, _) => panic!("status {other}"),
        };
        let c = counted.entry(host.clone()).or_default();
        for k in counts {
            *c.entry(k).or_default() += 1;
        }
        // As Ansible counts: a change counts unless the host failed (an ignored failure
        // that changed something, as `command: false`, counts as changed too).
        if counts.contains(&"ok") && results.iter().any(|r| r["changed"] == true) {
            *c.entry("changed").or_default() += 1;
        }
    }
    let recap = &named(&s.events, "recap")[0]["hosts"];
    for host in ["h1", "h2", "gone"] {
        for k in [
            "ok",
            "changed",
            "unreachable",
            "failed",
            "skipped",
            "ignored",
        ] {
            let from_results = counted[host].get(k).copied().unwrap_or(0);
            assert_eq!(
                recap[host][k], from_results,
                "{host} {k}: recap {}",
                recap[host]
            );
        }
    }

    // Each kind of result was seen.
    let results = named(&s.events, "result");
    let has = |host: &str, task: &str, status: &str| {
        results
            .iter()
            .any(|r| r["host"] == host && r["task"] == task && r["status"] == status)
    };
    assert!(has("h1", "say hello", "ok"));
    assert!(has("h1", "write a file", "changed"));
    assert!(has("gone", "write a file", "unreachable"));
    assert!(has("h1", "never", "skipped"));
    assert!(has("h1", "ignored failure", "failed"));
    assert!(has("h2", "h2 fails", "failed"));
    assert!(has("h1", "restart", "ok"), "the handler ran for h1");
    // The stream reads every result in full, quiet loop items too (the human output at
    // verbosity 0 does not, and the engine leaves those maps out when no sink reads them).
    let item_b = results
        .iter()
        .find(|r| r["task"] == "a loop" && r["item"] == "b")
        .expect("the loop's item b");
    assert_eq!(item_b["status"], "changed");
    assert_eq!(item_b["result"]["stdout"], "b");
    assert_eq!(item_b["result"]["item"], "b");
    let handler = named(&s.events, "task_start")
        .into_iter()
        .find(|t| t["name"] == "restart")
        .expect("the handler's task_start");
    assert_eq!(handler["handler"], true);
    assert_eq!(handler["action"], "debug");
    let include = &named(&s.events, "include")[0];
    assert!(
        include["file"].as_str().unwrap().ends_with("more.yml"),
        "{include}"
    );
    assert_eq!(include["hosts"], serde_json::json!(["h1", "h2"]));
    assert!(results.iter().any(|r| r["task"] == "included"));
    let retries = named(&s.events, "retry");
    assert_eq!(retries.len(), 2, "one retry each for h1 and h2");
    assert_eq!(retries[0]["task"], "second time lucky");
    assert!(
        named(&s.events, "warning")
            .iter()
            .any(|w| w["message"].as_str().unwrap().contains("no such handler"))
    );
    let task = named(&s.events, "task_start")
        .into_iter()
        .find(|t| t["name"] == "h2 fails")
        .unwrap();
    assert!(task["file"].as_str().unwrap().ends_with("play.yml"));
    assert!(task["line"].as_u64().unwrap() > 1);

    // The human output went to stderr, the secret nowhere.
    assert!(s.stderr.contains("PLAY RECAP"), "{}", s.stderr);
    assert!(!s.stdout.contains(SECRET), "the secret is in the stream");
    assert!(
        !s.stderr.contains(SECRET),
        "the secret is in the human output"
    );
    let hidden = results.iter().find(|r| r["task"] == "hidden").unwrap();
    assert!(hidden["result"]["censored"].is_string(), "{hidden}");
}

#[test]
fn a_playbook_that_does_not_load_still_ends_the_stream() {
    let dir = workdir();
    let s = run_json(dir.path(), "broken.yml");
    assert_valid(&s.events);
    let kinds: Vec<&str> = s.events.iter().map(kind).collect();
    assert_eq!(kinds, ["run_start", "run_end"], "{}", s.stdout);
    let end = &s.events[1];
    assert_eq!(end["exit_code"], s.code);
    assert_ne!(s.code, 0);
    assert!(
        end["error"]["file"]
            .as_str()
            .unwrap()
            .ends_with("broken.yml"),
        "{end}"
    );
    assert!(!end["error"]["message"].as_str().unwrap().is_empty());
    // The person still gets the error on stderr.
    assert!(s.stderr.contains("broken.yml"), "{}", s.stderr);
}

/// The consumer example in docs/ reads a real stream (when Python is here).
#[test]
fn the_consumer_example_reads_the_stream() {
    if !python3_present() {
        eprintln!("skipped: no python3 to run docs/events-consumer.py");
        return;
    }
    let dir = workdir();
    let s = run_json(dir.path(), "play.yml");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/events-consumer.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args(["--slow", "0"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(s.stdout.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("FAILED h2: h2 fails: boom"), "{text}");
    assert!(text.contains("UNREACHABLE gone: write a file"), "{text}");
    assert!(
        !text.contains("h1: ignored failure"),
        "ignored failures are not failures: {text}"
    );
    assert!(text.contains("slowest tasks"), "{text}");
    assert!(text.contains("exit code 4"), "{text}");
}

fn python3_present() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}
