//! Where vault passwords come from, as Ansible's CLI gathers them: each
//! `--vault-id [LABEL@]SOURCE` (SOURCE a file, an executable script, or `prompt`),
//! each `--vault-password-file FILE` (label `default`), `--ask-vault-pass`.
//! Passwords are read from files, scripts' stdout and the terminal, never from a
//! command line, and never shown.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{DEFAULT_ID, Secret, Secrets};
use crate::diagnostic::Error;

/// The password sources named by options, config and environment.
#[derive(Clone, Debug, Default)]
pub struct PasswordOptions {
    /// `[LABEL@]SOURCE` slugs: the config's `vault_identity_list` first, then `--vault-id`s.
    pub vault_ids: Vec<String>,
    /// `--vault-password-file`s, then the config's `vault_password_file`.
    pub password_files: Vec<String>,
    pub ask_vault_pass: bool,
}

/// Whether prompts ask for a password to decrypt with or a new one (asked twice).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prompting {
    Existing,
    New,
}

/// The source `prompt` of `--vault-id`; `--ask-vault-pass` gets the older prompt wording.
const PROMPT: &str = "prompt";
const ASK_VAULT_PASS: &str = "prompt_ask_vault_pass";

/// Read every password the options name, in Ansible's order: vault ids, then password
/// files, then `--ask-vault-pass` (or a prompt when `auto_prompt` and nothing else
/// was given, as `ansible-vault` does). A source that cannot be read is a warning
/// while another one works, an error when none does.
pub fn load(
    opts: &PasswordOptions,
    prompting: Prompting,
    auto_prompt: bool,
) -> Result<Vec<Secret>, Error> {
    let mut slugs = opts.vault_ids.clone();
    slugs.extend(
        opts.password_files
            .iter()
            .map(|f| format!("{DEFAULT_ID}@{f}")),
    );
    if opts.ask_vault_pass || (slugs.is_empty() && auto_prompt) {
        slugs.push(format!("{DEFAULT_ID}@{ASK_VAULT_PASS}"));
    }
    let mut secrets: Vec<Secret> = Vec::new();
    let mut last_error = None;
    for slug in &slugs {
        let (label, source) = match slug.split_once('@') {
            Some((label, source)) => (Some(label), source),
            None => (None, slug.as_str()),
        };
        let vault_id = label.unwrap_or(DEFAULT_ID).to_string();
        if source == PROMPT || source == ASK_VAULT_PASS {
            let password = ask(&vault_id, source == ASK_VAULT_PASS, prompting)?;
            secrets.push(Secret::new(vault_id, password));
            continue;
        }
        // A password file may itself be vaulted with a password given before it.
        let known = Secrets::new(secrets.clone());
        match read_source(Path::new(source), label, &known) {
            Ok(password) => secrets.push(Secret::new(vault_id, password)),
            Err(e) => {
                eprintln!("[WARNING]: Error getting vault password file ({vault_id}): {e}");
                last_error = Some(e);
            }
        }
    }
    match last_error {
        Some(e) if secrets.is_empty() => Err(Error::other(e)),
        _ => Ok(secrets),
    }
}

/// A password from a file, or from the stdout of an executable file.
fn read_source(path: &Path, label: Option<&str>, known: &Secrets) -> Result<Vec<u8>, String> {
    let path = absolute(path);
    let meta = std::fs::metadata(&path)
        .map_err(|_| format!("The vault password file {} was not found", path.display()))?;
    if meta.is_dir() {
        return Err(format!(
            "The vault password file provided '{}' can not be a directory",
            path.display()
        ));
    }
    let password = if meta.permissions().mode() & 0o111 != 0 {
        run_script(&path, label)?
    } else {
        let data = std::fs::read(&path)
            .map_err(|e| format!("Could not read vault password file {}: {e}", path.display()))?;
        let data = data.trim_ascii().to_vec();
        if super::is_vaulted(&data) {
            known
                .decrypt(&String::from_utf8_lossy(&data))
                .map_err(|e| format!("{}: {e}", path.display()))?
                .plaintext
        } else {
            data
        }
    };
    let password = trim_newlines(password);
    if password.is_empty() {
        return Err(format!(
            "Invalid vault password was provided from {} ({})",
            if meta.permissions().mode() & 0o111 != 0 {
                "script"
            } else {
                "file"
            },
            path.display()
        ));
    }
    Ok(password)
}

fn absolute(path: &Path) -> PathBuf {
    let expanded = match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    };
    std::path::absolute(&expanded).unwrap_or(expanded)
}

/// Run a password script: its stdout is the password. A script named `*-client`
/// (or `*-client.EXT`) is told the vault id with `--vault-id LABEL`, and its exit
/// code 2 means it has no password for that id.
fn run_script(path: &Path, label: Option<&str>) -> Result<Vec<u8>, String> {
    let client = path
        .file_stem()
        .is_some_and(|s| s.to_string_lossy().ends_with("-client"));
    let mut cmd = Command::new(path);
    cmd.stdin(Stdio::inherit()).stdout(Stdio::piped());
    // A plain script may prompt on stderr; a client's stderr goes into the error.
    cmd.stderr(if client {
        Stdio::piped()
    } else {
        Stdio::inherit()
    });
    if client && let Some(label) = label {
        cmd.args(["--vault-id", label]);
    }
    let out = cmd.output().map_err(|e| {
        format!(
            "Problem running vault password script {} ({e}). If this is not a script, \
             remove the executable bit from the file.",
            path.display()
        )
    })?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => Ok(out.stdout),
        Some(2) if client => Err(format!(
            "Vault password client script {} did not find a secret for vault-id={}: {stderr}",
            path.display(),
            label.unwrap_or(DEFAULT_ID)
        )),
        code => Err(format!(
            "Vault password script {} returned non-zero ({}): {stderr}",
            path.display(),
            code.map_or_else(|| "killed".to_string(), |c| c.to_string())
        )),
    }
}

fn trim_newlines(mut data: Vec<u8>) -> Vec<u8> {
    while data.last().is_some_and(|b| matches!(b, b'\r' | b'\n')) {
        data.pop();
    }
    let start = data
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    data.drain(..start);
    data
}

/// Ask on the terminal, with Ansible's prompts; a new password is asked twice.
fn ask(vault_id: &str, ask_vault_pass: bool, prompting: Prompting) -> Result<Vec<u8>, Error> {
    let prompts: Vec<String> = match (prompting, ask_vault_pass) {
        (Prompting::Existing, true) => vec!["Vault password: ".into()],
        (Prompting::Existing, false) => vec![format!("Vault password ({vault_id}): ")],
        (Prompting::New, true) => vec![
            "New Vault password: ".into(),
            "Confirm New Vault password: ".into(),
        ],
        (Prompting::New, false) => vec![
            format!("New vault password ({vault_id}): "),
            format!("Confirm new vault password ({vault_id}): "),
        ],
    };
    let mut answers = Vec::new();
    for prompt in &prompts {
        let answer = crate::output::prompt::ask(prompt, false).map_err(Error::options)?;
        let answer = answer.trim().to_string();
        if answer.is_empty() {
            return Err(Error::options("Invalid vault password was provided"));
        }
        answers.push(answer);
    }
    if answers.iter().any(|a| *a != answers[0]) {
        return Err(Error::options("Passwords do not match"));
    }
    Ok(answers.swap_remove(0).into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts_with_file(path: &Path) -> PasswordOptions {
        PasswordOptions {
            password_files: vec![path.display().to_string()],
            ..Default::default()
        }
    }

    #[test]
    fn a_file_password_is_stripped() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "  hunter2 \n\n").unwrap();
        let secrets = load(&opts_with_file(&file), Prompting::Existing, false).unwrap();
        assert_eq!(format!("{:?}", secrets), "[Secret(default, <redacted>)]");
        assert_eq!(secrets[0].vault_id, "default");
    }

    #[test]
    fn a_script_password_is_its_stdout_and_a_client_gets_the_label() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("pw-client.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\n[ \"$1 $2\" = '--vault-id dev' ] && echo s3 || exit 2\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
        let opts = PasswordOptions {
            vault_ids: vec![format!("dev@{}", script.display())],
            ..Default::default()
        };
        let secrets = Secrets::new(load(&opts, Prompting::Existing, false).unwrap());
        let text = super::super::secrets::encrypt(b"x", &Secret::new("dev", "s3")).unwrap();
        assert_eq!(secrets.decrypt(&text).unwrap().plaintext, b"x");
        let other = PasswordOptions {
            vault_ids: vec![format!("prod@{}", script.display())],
            ..Default::default()
        };
        let err = load(&other, Prompting::Existing, false).unwrap_err();
        assert!(
            err.message
                .contains("did not find a secret for vault-id=prod"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let err = load(
            &opts_with_file(Path::new("/nonexistent/pw")),
            Prompting::Existing,
            false,
        )
        .unwrap_err();
        assert!(
            err.message
                .contains("The vault password file /nonexistent/pw was not found")
        );
    }

    #[test]
    fn an_empty_password_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "\n").unwrap();
        let err = load(&opts_with_file(&file), Prompting::Existing, false).unwrap_err();
        assert!(err.message.contains("Invalid vault password"));
    }
}
