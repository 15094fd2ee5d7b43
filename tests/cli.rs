//! The `srplay` command end to end on the local connection: bad input gets a clear
//! error with its location and Ansible's exit code, never a panic; and the basics of
//! a run (output shape, exit codes, idempotency) hold.

use std::path::PathBuf;
use std::process::{Command, Output};

/// A playbook run in a fresh directory: files, arguments, and what to expect.
struct Case {
    dir: tempfile::TempDir,
    args: Vec<String>,
}

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
    dir: PathBuf,
}

impl Case {
    fn new() -> Case {
        let case = Case {
            dir: tempfile::tempdir().expect("temp dir"),
            args: Vec::new(),
        };
        case.file("inventory", "localhost ansible_connection=local\n")
    }

    fn file(self, name: &str, text: &str) -> Case {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    fn playbook(self, text: &str) -> Case {
        self.file("play.yml", text)
            .args(&["play.yml", "-i", "inventory"])
    }

    fn args(mut self, args: &[&str]) -> Case {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    fn run(&self) -> Ran {
        let out: Output = Command::new(env!("CARGO_BIN_EXE_srplay"))
            .args(&self.args)
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("ANSIBLE_CONFIG")
            .output()
            .expect("srplay runs");
        let ran = Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            dir: self.dir.path().to_path_buf(),
        };
        assert!(
            !ran.stderr.contains("panicked"),
            "srplay panicked:\n{}",
            ran.stderr
        );
        ran
    }
}

impl Ran {
    fn code(&self, code: i32) -> &Ran {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    fn stderr_has(&self, text: &str) -> &Ran {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
        self
    }

    fn stdout_has(&self, text: &str) -> &Ran {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}:\n{}",
            self.stdout
        );
        self
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn recap_has(&self, line_part: &str) -> &Ran {
        let recap = self.stdout.split("PLAY RECAP").nth(1).unwrap_or_default();
        assert!(
            recap.contains(line_part),
            "recap lacks {line_part:?}:\n{}",
            self.stdout
        );
        self
    }
}

fn at(file: &str, line: usize) -> String {
    format!("{file}:{line}:")
}

#[test]
fn malformed_yaml_points_at_the_line() {
    Case::new()
        .playbook("- hosts: all\n  tasks:\n    - debug: msg=x\n  bad: [\n")
        .run()
        .code(4)
        .stderr_has("malformed YAML")
        .stderr_has("play.yml:5:");
}

#[test]
fn unquoted_template_value_gets_a_quoting_hint() {
    Case::new()
        .playbook("- hosts: all\n  tasks:\n    - debug:\n        msg: {{ x }}\n")
        .run()
        .code(4)
        .stderr_has(&at("play.yml", 4))
        .stderr_has("must be quoted");
}

#[test]
fn tab_indentation_is_refused() {
    Case::new()
        .playbook("- hosts: all\n  tasks:\n\t- debug: msg=x\n")
        .run()
        .code(4)
        .stderr_has("tab character")
        .stderr_has(&at("play.yml", 3));
}

#[test]
fn unknown_module_names_the_nearest() {
    Case::new()
        .playbook("- hosts: all\n  gather_facts: no\n  tasks:\n    - debugg: msg=x\n")
        .run()
        .code(4)
        .stderr_has("couldn't resolve module/action 'debugg'")
        .stderr_has(&at("play.yml", 4))
        .stderr_has("did you mean 'debug'");
}

#[test]
fn unknown_task_keyword_names_the_nearest() {
    Case::new()
        .playbook(
            "- hosts: all\n  gather_facts: no\n  tasks:\n    - debug: msg=x\n      whn: true\n",
        )
        .run()
        .code(4)
        .stderr_has("'whn' is not a valid attribute for a Task")
        .stderr_has(&at("play.yml", 5))
        .stderr_has("did you mean 'when'");
}

#[test]
fn unknown_play_keyword() {
    Case::new()
        .playbook("- hosts: all\n  taks: []\n")
        .run()
        .code(4)
        .stderr_has("'taks' is not a valid attribute for a Play")
        .stderr_has("did you mean 'tasks'");
}

#[test]
fn unknown_module_parameter_is_caught_before_running() {
    Case::new()
        .playbook("- hosts: all\n  gather_facts: no\n  tasks:\n    - copy: content=x dest=/tmp/x modee=0644\n")
        .run()
        .code(4)
        .stderr_has("modee")
        .stderr_has("did you mean 'mode'");
}

#[test]
fn missing_role_lists_the_search_path() {
    Case::new()
        .playbook("- hosts: all\n  roles: [nope]\n")
        .run()
        .code(1)
        .stderr_has("the role 'nope' was not found")
        .stderr_has("roles/nope");
}

#[test]
fn undefined_variable_in_a_task_fails_the_host() {
    Case::new()
        .playbook("- hosts: all\n  gather_facts: no\n  tasks:\n    - debug: msg={{ nope }}\n    - debug: msg=after\n")
        .run()
        .code(2)
        .stdout_has("fatal: [localhost]: FAILED!")
        .stdout_has("'nope' is undefined")
        .recap_has("failed=1");
}

#[test]
fn undefined_variable_in_a_template_fails_the_host() {
    let ran = Case::new()
        .file("t.j2", "line {{ nope }}\n")
        .playbook("- hosts: all\n  gather_facts: no\n  tasks:\n    - template: src=t.j2 dest={{ playbook_dir }}/out.txt\n")
        .run();
    ran.code(2).stdout_has("'nope' is undefined");
    assert!(!ran.dir.join("out.txt").exists());
}

#[test]
fn template_syntax_error_fails_the_host() {
    Case::new()
        .playbook("- hosts: all\n  gather_facts: no\n  tasks:\n    - debug: msg=\"{{ foo( }}\"\n")
        .run()
        .code(2)
        .stdout_has("fatal: [localhost]: FAILED!");
}

#[test]
fn bad_extra_vars() {
    Case::new()
        .playbook("- hosts: all\n  tasks: []\n")
        .args(&["-e", "{bad"])
        .run()
        .code(4)
        .stderr_has("invalid extra vars");
    Case::new()
        .playbook("- hosts: all\n  tasks: []\n")
        .args(&["-e", "@missing.yml"])
        .run()
        .code(5)
        .stderr_has("could not be found");
}

#[test]
fn missing_playbook() {
    Case::new()
        .args(&["nope.yml"])
        .run()
        .code(1)
        .stderr_has("the playbook: ")
        .stderr_has("could not be found");
}

#[test]
fn empty_playbook() {
    Case::new()
        .playbook("# nothing here\n")
        .run()
        .code(4)
        .stderr_has("Empty playbook");
    Case::new()
        .playbook("[]\n")
        .run()
        .code(4)
        .stderr_has("Empty playbook");
}

#[test]
fn playbook_that_is_not_a_list() {
    Case::new()
        .playbook("hosts: all\n")
        .run()
        .code(4)
        .stderr_has("must be a list of plays")
        .stderr_has(&at("play.yml", 1));
}

#[test]
fn bad_option_is_a_usage_error() {
    Case::new()
        .args(&["--no-such-option", "x.yml"])
        .run()
        .code(2);
    Case::new()
        .playbook("- hosts: all\n  tasks: []\n")
        .args(&["-f", "0"])
        .run()
        .code(2);
}

#[test]
fn limit_matching_nothing() {
    Case::new()
        .playbook("- hosts: all\n  tasks: []\n")
        .args(&["-l", "nosuchhost"])
        .run()
        .code(1)
        .stderr_has("no hosts to target");
}

#[test]
fn unreachable_host_exits_4() {
    Case::new()
        .file("inventory", "localhost ansible_connection=local\nfar ansible_connection=ssh ansible_host=127.0.0.1\n")
        .playbook("- hosts: all\n  gather_facts: no\n  tasks:\n    - ping:\n")
        .run()
        .code(4)
        .stdout_has("fatal: [far]: UNREACHABLE!")
        .stdout_has("ok: [localhost]")
        .recap_has("unreachable=1");
}

#[test]
fn second_run_reports_no_change() {
    let case = Case::new()
        .file("t.j2", "host={{ inventory_hostname }}\n")
        .playbook(concat!(
            "- hosts: all\n  gather_facts: no\n  tasks:\n",
            "    - file: path={{ playbook_dir }}/d state=directory mode=0755\n",
            "    - template: src=t.j2 dest={{ playbook_dir }}/d/t.conf\n",
            "    - copy: content='a\\n' dest={{ playbook_dir }}/d/c.txt\n",
            "    - lineinfile: path={{ playbook_dir }}/d/l.txt line=b create=yes\n",
        ));
    case.run().code(0).recap_has("changed=4");
    let second = case.run();
    second.code(0).recap_has("changed=0");
    assert_eq!(second.file("d/t.conf"), "host=localhost\n");
    assert_eq!(second.file("d/c.txt"), "a\n");
    assert_eq!(second.file("d/l.txt"), "b\n");
}

#[test]
fn failed_host_does_not_stop_the_others() {
    Case::new()
        .file("inventory", "a ansible_connection=local\nb ansible_connection=local\n")
        .playbook("- hosts: all\n  gather_facts: no\n  tasks:\n    - fail: msg=boom\n      when: inventory_hostname == 'a'\n    - debug: msg=next\n")
        .run()
        .code(2)
        .stdout_has("fatal: [a]: FAILED!")
        .stdout_has("ok: [b] => {\n    \"msg\": \"next\"\n}");
}

#[test]
fn list_tasks_and_tags() {
    Case::new()
        .file("roles/r1/tasks/main.yml", "- name: role task\n  debug: msg=r\n  tags: [rt]\n")
        .playbook("- name: first\n  hosts: all\n  tags: [p]\n  roles: [r1]\n  tasks:\n    - debug: msg=x\n      tags: [b, a]\n")
        .args(&["--list-tasks", "--list-tags"])
        .run()
        .code(0)
        .stdout_has("  play #1 (all): first\tTAGS: [p]\n")
        .stdout_has("      r1 : role task\tTAGS: [p, rt]\n")
        .stdout_has("      debug\tTAGS: [a, b, p]\n")
        .stdout_has("      TASK TAGS: [a, b, p, rt]\n");
}

#[test]
fn syntax_check_prints_the_playbook() {
    Case::new()
        .playbook("- hosts: all\n  tasks:\n    - debug: msg=x\n")
        .args(&["--syntax-check"])
        .run()
        .code(0)
        .stdout_has("\nplaybook: play.yml\n");
}

#[test]
fn vars_prompt_takes_extra_vars_or_the_default_without_a_terminal() {
    let case = Case::new().playbook(concat!(
        "- hosts: all\n  gather_facts: no\n  vars_prompt:\n    - name: who\n      prompt: Who\n      default: world\n",
        "  tasks:\n    - debug: msg=\"hello {{ who }}\"\n",
    ));
    case.run().code(0).stdout_has("\"msg\": \"hello world\"");
    Case::new()
        .playbook("- hosts: all\n  gather_facts: no\n  vars_prompt:\n    - name: who\n  tasks:\n    - debug: msg=\"hello {{ who }}\"\n")
        .args(&["-e", "who=x"])
        .run()
        .code(0)
        .stdout_has("\"msg\": \"hello x\"");
}

/// A play of file-module tasks on localhost, run in the case's directory.
fn file_module_tasks(tasks: &str) -> String {
    format!("- hosts: all\n  gather_facts: no\n  tasks:\n{tasks}")
}

#[test]
fn file_module_missing_required_parameter() {
    Case::new()
        .file("conf", "a\n")
        .playbook(&file_module_tasks(
            "    - replace: {path: conf}\n      ignore_errors: true\n    - fetch: {src: conf}\n",
        ))
        .run()
        .code(2)
        .stdout_has("missing required arguments: regexp")
        .stdout_has("missing required arguments: dest")
        .recap_has("failed=1");
}

#[test]
fn file_module_wrong_parameter_type() {
    Case::new()
        .playbook(&file_module_tasks(
            "    - find: {paths: ., depth: deep}\n      ignore_errors: true\n    - blockinfile: {path: conf, create: maybe}\n",
        ))
        .run()
        .code(2)
        .stdout_has("argument 'depth' is of type str and we were unable to convert to int")
        .stdout_has("argument 'create' is of type str and we were unable to convert to bool")
        .recap_has("ignored=1");
}

#[test]
fn file_module_mutually_exclusive_parameters() {
    Case::new()
        .file("conf", "a\n")
        .playbook(&file_module_tasks(
            "    - blockinfile: {path: conf, block: x, insertafter: a, insertbefore: b}\n      ignore_errors: true\n    - unarchive: {src: x.tgz, dest: ., include: [a], exclude: [b]}\n",
        ))
        .run()
        .code(2)
        .stdout_has("parameters are mutually exclusive: insertbefore|insertafter")
        .stdout_has("parameters are mutually exclusive: include|exclude");
}

#[test]
fn file_module_src_that_does_not_exist() {
    Case::new()
        .playbook(&file_module_tasks(
            "    - unarchive: {src: missing.tgz, dest: .}\n      ignore_errors: true\n    - script: missing.sh\n      ignore_errors: true\n    - unarchive: {src: /nonexistent.tgz, dest: ., remote_src: true}\n",
        ))
        .run()
        .code(2)
        .stdout_has("Could not find or access 'missing.tgz'")
        .stdout_has("Could not find or access 'missing.sh'")
        .stdout_has("Source '/nonexistent.tgz' does not exist")
        .recap_has("ignored=2");
}

#[test]
fn file_module_rejected_validate_leaves_the_destination() {
    // The case (and its directory) must outlive the run to read the file after it.
    let case = Case::new()
        .file("conf", "keep\n")
        .playbook(&file_module_tasks(
            "    - blockinfile: {path: conf, block: x, validate: 'false %s'}\n      ignore_errors: true\n    - replace: {path: conf, regexp: keep, replace: lost, validate: 'grep -q nothing %s'}\n      ignore_errors: true\n    - copy: {content: new, dest: conf, validate: 'false %s'}\n      ignore_errors: true\n",
        ));
    let ran = case.run();
    ran.code(0)
        .stdout_has("failed to validate: rc:1 error:")
        .recap_has("ignored=3");
    assert_eq!(ran.file("conf"), "keep\n");
}

/// A `no_log` task's diff shows what it wrote: hidden under `--diff` too, as Ansible does.
#[test]
fn no_log_hides_the_diff() {
    let case = Case::new()
        .playbook(
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - copy:\n        content: \"TOPSECRET-77\\n\"\n        dest: \"{{ playbook_dir }}/s.txt\"\n      no_log: true\n",
        )
        .args(&["--diff"]);
    let ran = case.run();
    ran.code(0).stdout_has("changed: [localhost]");
    assert!(!ran.stdout.contains("TOPSECRET-77"), "{}", ran.stdout);
    assert_eq!(ran.file("s.txt"), "TOPSECRET-77\n");
}

/// `srplay inventory --list | head -1`: the reader closing the pipe early ends srplay as it
/// ends `ls` (SIGPIPE), not with a panic about a failed print.
#[test]
fn a_reader_closing_the_pipe_early_is_no_panic() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let hosts: String = (0..5000)
        .map(|i| format!("host-{i} ansible_connection=local\n"))
        .collect();
    std::fs::write(dir.path().join("inventory"), format!("[many]\n{hosts}")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_srplay"))
        .current_dir(dir.path())
        .args(["inventory", "-i", "inventory", "--list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // Dropping our end closes the pipe with most of the output unread.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.signal(), Some(nix::libc::SIGPIPE), "{stderr}");
}

#[test]
fn loop_items_show_their_results_as_the_verbosity_asks() {
    let case = Case::new().playbook(
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - command: "echo {{ item }}"
      loop: [one, two]
    - command: "sh -c 'echo {{ item }}; exit 3'"
      loop: [bad]
      ignore_errors: true
"#,
    );
    // Verbosity 0: a quiet item is its status line alone; a failed one shows its result.
    let ran = case.run();
    ran.code(0)
        .stdout_has("changed: [localhost] => (item=one)\n")
        .stdout_has("failed: [localhost] (item=bad) => {")
        .stdout_has("\"rc\": 3");
    // -v: every item's result follows it.
    let verbose = case.args(&["-v"]).run();
    verbose
        .code(0)
        .stdout_has("changed: [localhost] => (item=one) => {")
        .stdout_has("\"stdout\": \"two\"");
}
