//! Secrets stay secret (issue 8, acceptance 3): a `no_log` secret, a vaulted variable
//! and a secret `-e` value are used by a real run at `-vvvv --diff` with the JSON stream
//! on; then every place a run leaves text is searched for them: stdout (the JSON
//! stream), stderr (the human output), the run record and `srplay runs show --tasks`.

use std::path::Path;
use std::process::{Command, Output};

const NO_LOG_SECRET: &str = "NOLOG-SECRET-5512";
const VAULTED: &str = "VAULTED-PLAINTEXT-8431";
const EXTRA_PASSWORD: &str = "EXTRA-PASS-7731";
const VAULT_PASSWORD: &str = "vault-pw-for-the-test";

const INVENTORY: &str = "\
[web]
h1 ansible_connection=local
h2 ansible_connection=local
";

const PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: false
  vars_files: [secret.yml]
  vars:
    nolog_secret: "NOLOG-SECRET-5512"
  tasks:
    - name: the vaulted value written to a file
      copy:
        content: "{{ vault_token }}\n"
        dest: "{{ out }}/{{ inventory_hostname }}.tok"
        mode: "0600"
      no_log: true
    - name: a command with the secret
      command: "echo {{ nolog_secret }} {{ db_password }}"
      register: echoed
      no_log: true
    - name: a loop over secrets
      debug:
        msg: "{{ item }}"
      loop: ["{{ nolog_secret }}", "{{ vault_token }}"]
      no_log: true
    - name: a failure that prints the secret
      shell: "echo {{ nolog_secret }} >&2; exit 3"
      no_log: true
      ignore_errors: true
    - name: the registered secret, used later under no_log
      assert:
        that: echoed.stdout is search(nolog_secret)
      no_log: true
"#;

fn srplay(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_srplay"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("srplay runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every file under `dir`, as text.
fn all_files(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            found.extend(all_files(&path));
        } else {
            let body = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            found.push((path.display().to_string(), body));
        }
    }
    found
}

fn assert_secret_free(place: &str, body: &str) {
    for secret in [NO_LOG_SECRET, VAULTED, EXTRA_PASSWORD, VAULT_PASSWORD] {
        assert_eq!(
            body.matches(secret).count(),
            0,
            "{secret} shows in {place}:\n{body}"
        );
    }
}

#[test]
fn no_log_and_vaulted_values_appear_in_no_output_stream_or_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out_dir = dir.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::write(dir.join("hosts"), INVENTORY).unwrap();
    std::fs::write(dir.join("site.yml"), PLAYBOOK).unwrap();
    std::fs::write(dir.join("vault-pass"), format!("{VAULT_PASSWORD}\n")).unwrap();
    std::fs::write(dir.join("secret.yml"), format!("vault_token: {VAULTED}\n")).unwrap();
    let enc = srplay(
        dir,
        &[
            "vault",
            "encrypt",
            "secret.yml",
            "--vault-password-file",
            "vault-pass",
        ],
    );
    assert!(enc.status.success(), "{}", text(&enc));
    let vaulted = std::fs::read_to_string(dir.join("secret.yml")).unwrap();
    assert!(
        vaulted.starts_with("$ANSIBLE_VAULT;1.1;AES256"),
        "{vaulted}"
    );

    let out_var = format!("out={}", out_dir.display());
    let extra = format!("db_password={EXTRA_PASSWORD}");
    let run = srplay(
        dir,
        &[
            "site.yml",
            "-i",
            "hosts",
            "--vault-password-file",
            "vault-pass",
            "-e",
            &out_var,
            "-e",
            &extra,
            "-vvvv",
            "--diff",
            "--output",
            "json",
        ],
    );
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert_eq!(run.status.code(), Some(0), "{stdout}\n{stderr}");
    // The secrets were really used: the vaulted value reached the hosts' files.
    for h in ["h1", "h2"] {
        let tok = std::fs::read_to_string(out_dir.join(format!("{h}.tok"))).unwrap();
        assert_eq!(tok, format!("{VAULTED}\n"));
    }
    assert!(stdout.contains("\"event\":\"result\""), "{stdout}");
    assert!(stderr.contains("PLAY RECAP"), "{stderr}");
    assert_secret_free("the JSON stream (stdout)", &stdout);
    assert_secret_free("the human output at -vvvv (stderr)", &stderr);

    let records = all_files(&dir.join(".srplay"));
    assert!(
        records.iter().any(|(p, _)| p.ends_with(".jsonl")),
        "no run record in {records:?}"
    );
    for (path, body) in &records {
        assert_secret_free(path, body);
    }
    let show = srplay(dir, &["runs", "show", "--tasks", "-i", "hosts"]);
    assert!(show.status.success(), "{}", text(&show));
    assert!(
        text(&show).contains("a command with the secret"),
        "{}",
        text(&show)
    );
    assert_secret_free("srplay runs show --tasks", &text(&show));
}
