//! `srplay vault` against `ansible-vault`, both ways: what one encrypts the other
//! decrypts, for 1.1 (no vault id) and 1.2 (a vault id) envelopes, files and
//! `encrypt_string` values; a rekey by srplay is read by ansible-vault. Skipped with a
//! note when no ansible-core venv is found (`SRPLAY_ANSIBLE_VENV`, default
//! `/opt/ansible-venv`), except with `CI=true`, where that fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const PLAIN: &str = "db_password: s3cr3t\nport: 5432\n";

fn ansible_vault_or_skip() -> Option<PathBuf> {
    let venv = std::env::var_os("SRPLAY_ANSIBLE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/ansible-venv"));
    let tool = venv.join("bin/ansible-vault");
    if tool.exists() {
        return Some(tool);
    }
    let note = "vault_compat: ansible-vault not found (set SRPLAY_ANSIBLE_VENV to a venv with \
                ansible-core 2.19): skipped";
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{note}, but CI=true"
    );
    eprintln!("{note}");
    None
}

/// A temp dir with two password files: `pw-default` and `pw-dev`.
struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("pw-default"), "first password\n").unwrap();
        std::fs::write(tmp.path().join("pw-dev"), "dev password\n").unwrap();
        Dir { tmp }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }
}

fn run(program: &Path, dir: &Dir, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(dir.tmp.path())
        .env("ANSIBLE_CONFIG", dir.path("no-such.cfg"))
        .env("HOME", dir.tmp.path())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn srplay(dir: &Dir, args: &[&str], stdin: Option<&str>) -> Output {
    let mut full = vec!["vault"];
    full.extend_from_slice(args);
    run(Path::new(env!("CARGO_BIN_EXE_srplay")), dir, &full, stdin)
}

/// The identities a test encrypts with: (vault-id option, header it gives).
const IDENTITIES: [(&str, &str); 2] = [
    ("default@pw-default", "$ANSIBLE_VAULT;1.1;AES256"),
    ("dev@pw-dev", "$ANSIBLE_VAULT;1.2;AES256;dev"),
];

#[test]
fn files_encrypted_by_ansible_vault_are_read_by_srplay() {
    let Some(ansible) = ansible_vault_or_skip() else {
        return;
    };
    let dir = Dir::new();
    for (id, header) in IDENTITIES {
        dir.write("f.yml", PLAIN);
        ok(
            run(
                &ansible,
                &dir,
                &["encrypt", "--vault-id", id, "f.yml"],
                None,
            ),
            "ansible-vault encrypt",
        );
        assert!(dir.read("f.yml").starts_with(header));
        // Both passwords given, as a run would: the envelope's id picks the right one.
        let both = [
            "--vault-id",
            "default@pw-default",
            "--vault-id",
            "dev@pw-dev",
        ];
        let mut view = vec!["view", "f.yml"];
        view.extend(both);
        assert_eq!(ok(srplay(&dir, &view, None), "srplay vault view"), PLAIN);
        let mut decrypt = vec!["decrypt", "f.yml", "--output", "out.yml"];
        decrypt.extend(both);
        ok(srplay(&dir, &decrypt, None), "srplay vault decrypt");
        assert_eq!(dir.read("out.yml"), PLAIN);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path("out.yml"))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "decrypted output is private");
    }
}

#[test]
fn files_encrypted_by_srplay_are_read_by_ansible_vault() {
    let Some(ansible) = ansible_vault_or_skip() else {
        return;
    };
    let dir = Dir::new();
    for (id, header) in IDENTITIES {
        dir.write("f.yml", PLAIN);
        ok(
            srplay(&dir, &["encrypt", "--vault-id", id, "f.yml"], None),
            "srplay vault encrypt",
        );
        assert!(dir.read("f.yml").starts_with(header));
        let shown = ok(
            run(&ansible, &dir, &["view", "--vault-id", id, "f.yml"], None),
            "ansible-vault view",
        );
        assert_eq!(shown, PLAIN);
        // From stdin to stdout too.
        let vaulted = ok(
            srplay(&dir, &["encrypt", "--vault-id", id], Some(PLAIN)),
            "srplay vault encrypt -",
        );
        let plain = ok(
            run(
                &ansible,
                &dir,
                &["decrypt", "--vault-id", id, "--output", "-"],
                Some(&vaulted),
            ),
            "ansible-vault decrypt -",
        );
        assert_eq!(plain, PLAIN);
    }
}

/// The envelope inside an `encrypt_string` block (`NAME: !vault |` + indented lines).
fn envelope_of(block: &str) -> String {
    block
        .lines()
        .skip(1)
        .map(|l| format!("{}\n", l.trim()))
        .collect()
}

#[test]
fn encrypt_string_values_go_both_ways() {
    let Some(ansible) = ansible_vault_or_skip() else {
        return;
    };
    let dir = Dir::new();
    for (id, header) in IDENTITIES {
        let ours = ok(
            srplay(
                &dir,
                &["encrypt_string", "--vault-id", id, "-n", "token", "abc 123"],
                None,
            ),
            "srplay vault encrypt_string",
        );
        assert!(
            ours.starts_with("token: !vault |\n          $ANSIBLE_VAULT"),
            "{ours}"
        );
        let env = envelope_of(&ours);
        assert!(env.starts_with(header));
        let plain = ok(
            run(
                &ansible,
                &dir,
                &["decrypt", "--vault-id", id, "--output", "-"],
                Some(&env),
            ),
            "ansible-vault decrypt of srplay's string",
        );
        assert_eq!(plain, "abc 123");

        let theirs = ok(
            run(
                &ansible,
                &dir,
                &["encrypt_string", "--vault-id", id, "--stdin-name", "token"],
                Some("xyz"),
            ),
            "ansible-vault encrypt_string",
        );
        let plain = ok(
            srplay(
                &dir,
                &["decrypt", "--vault-id", id, "--output", "-"],
                Some(&envelope_of(&theirs)),
            ),
            "srplay vault decrypt of ansible's string",
        );
        assert_eq!(plain, "xyz");
    }
}

#[test]
fn a_rekey_by_srplay_is_read_by_ansible_vault() {
    let Some(ansible) = ansible_vault_or_skip() else {
        return;
    };
    let dir = Dir::new();
    dir.write("f.yml", PLAIN);
    ok(
        run(
            &ansible,
            &dir,
            &["encrypt", "--vault-id", "default@pw-default", "f.yml"],
            None,
        ),
        "encrypt",
    );
    let out = srplay(
        &dir,
        &[
            "rekey",
            "--vault-id",
            "default@pw-default",
            "--new-vault-id",
            "dev@pw-dev",
            "f.yml",
        ],
        None,
    );
    ok(out, "srplay vault rekey");
    assert!(
        dir.read("f.yml")
            .starts_with("$ANSIBLE_VAULT;1.2;AES256;dev\n")
    );
    let shown = ok(
        run(
            &ansible,
            &dir,
            &["view", "--vault-id", "dev@pw-dev", "f.yml"],
            None,
        ),
        "view",
    );
    assert_eq!(shown, PLAIN);
    // The old password no longer opens it, in either tool.
    let old = ["view", "--vault-id", "default@pw-default", "f.yml"];
    assert_eq!(run(&ansible, &dir, &old, None).status.code(), Some(1));
    assert_eq!(srplay(&dir, &old, None).status.code(), Some(1));
}

#[test]
fn bad_passwords_fail_as_ansible_vault_does() {
    let Some(ansible) = ansible_vault_or_skip() else {
        return;
    };
    let dir = Dir::new();
    dir.write("f.yml", PLAIN);
    ok(
        run(
            &ansible,
            &dir,
            &["encrypt", "--vault-id", "dev@pw-dev", "f.yml"],
            None,
        ),
        "encrypt",
    );
    for args in [
        vec!["view", "--vault-password-file", "pw-default", "f.yml"],
        vec!["view", "--vault-password-file", "no-such-file", "f.yml"],
    ] {
        let theirs = run(&ansible, &dir, &args, None);
        let ours = srplay(&dir, &args, None);
        assert_eq!(ours.status.code(), theirs.status.code(), "{args:?}");
        let err = String::from_utf8_lossy(&ours.stderr);
        assert!(
            err.contains("f.yml") || err.contains("no-such-file"),
            "{err}"
        );
        assert!(!err.contains("first password"), "a password leaked: {err}");
    }
    // Encrypting with two identities and no --encrypt-vault-id is refused by both (exit 5).
    let two = [
        "encrypt_string",
        "--vault-id",
        "a@pw-default",
        "--vault-id",
        "b@pw-dev",
        "x",
    ];
    assert_eq!(
        srplay(&dir, &two, None).status.code(),
        run(&ansible, &dir, &two, None).status.code()
    );
}

#[test]
fn edit_encrypts_again_only_a_changed_file_and_leaves_no_temp() {
    let Some(ansible) = ansible_vault_or_skip() else {
        return;
    };
    let dir = Dir::new();
    dir.write("f.yml", PLAIN);
    ok(
        run(
            &ansible,
            &dir,
            &["encrypt", "--vault-id", "dev@pw-dev", "f.yml"],
            None,
        ),
        "encrypt",
    );
    let tmp = dir.path("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let edit = |editor: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_srplay"));
        cmd.args(["vault", "edit", "--vault-id", "dev@pw-dev", "f.yml"])
            .current_dir(dir.tmp.path())
            .env("EDITOR", editor)
            .env("TMPDIR", &tmp)
            .stdin(Stdio::null());
        ok(cmd.output().unwrap(), "srplay vault edit")
    };
    let before = dir.read("f.yml");
    edit("true");
    assert_eq!(
        dir.read("f.yml"),
        before,
        "an unchanged file is not rewritten"
    );
    edit("sed -i s/5432/6543/");
    let after = dir.read("f.yml");
    assert!(
        after.starts_with("$ANSIBLE_VAULT;1.2;AES256;dev\n"),
        "the file keeps its vault id"
    );
    let shown = ok(
        run(
            &ansible,
            &dir,
            &["view", "--vault-id", "dev@pw-dev", "f.yml"],
            None,
        ),
        "view",
    );
    assert_eq!(shown, PLAIN.replace("5432", "6543"));
    let failed = {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_srplay"));
        cmd.args(["vault", "edit", "--vault-id", "dev@pw-dev", "f.yml"])
            .current_dir(dir.tmp.path())
            .env("EDITOR", "false")
            .env("TMPDIR", &tmp);
        cmd.output().unwrap()
    };
    assert!(!failed.status.success());
    assert_eq!(dir.read("f.yml"), after, "a failed editor changes nothing");
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "the temp dir is gone"
    );
}

#[test]
fn create_writes_a_new_private_vaulted_file_and_refuses_an_existing_one() {
    use std::os::unix::fs::PermissionsExt;
    let Some(ansible) = ansible_vault_or_skip() else {
        return;
    };
    let dir = Dir::new();
    let create = |program: &Path, file: &str, editor: &str| {
        let mut cmd = Command::new(program);
        if program.ends_with("srplay") {
            cmd.arg("vault");
        }
        cmd.args(["create", "--vault-id", "dev@pw-dev", file])
            .current_dir(dir.tmp.path())
            .env("ANSIBLE_CONFIG", dir.path("no-such.cfg"))
            .env("HOME", dir.tmp.path())
            .env("EDITOR", editor)
            .stdin(Stdio::null());
        cmd.output().unwrap()
    };
    let srplay = Path::new(env!("CARGO_BIN_EXE_srplay"));
    // The editor gets the temp file as its last argument ($0 of this sh -c).
    let writer = r#"sh -c 'printf "db_password: s3cret\n" > "$0"'"#;
    ok(
        create(srplay, "new/secrets.yml", writer),
        "srplay vault create",
    );
    let path = dir.path("new/secrets.yml");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        dir.read("new/secrets.yml")
            .starts_with("$ANSIBLE_VAULT;1.2;AES256;dev\n")
    );
    let shown = ok(
        run(
            &ansible,
            &dir,
            &["view", "--vault-id", "dev@pw-dev", "new/secrets.yml"],
            None,
        ),
        "ansible-vault view",
    );
    assert_eq!(shown, "db_password: s3cret\n");
    // An existing file: both refuse with the same exit code and leave it as it was.
    let before = dir.read("new/secrets.yml");
    let ours = create(srplay, "new/secrets.yml", writer);
    let theirs = create(&ansible, "new/secrets.yml", writer);
    assert!(!ours.status.success());
    assert_eq!(ours.status.code(), theirs.status.code());
    assert!(String::from_utf8_lossy(&ours.stderr).contains("please use 'edit' instead"));
    assert_eq!(dir.read("new/secrets.yml"), before);
}
