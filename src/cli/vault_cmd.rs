//! `srplay vault`: ansible-vault's commands on the same files. Files written are
//! replaced atomically; what encrypt and decrypt write is 0600 (`rekey` and `edit`
//! keep the vaulted file's mode, as ansible-vault does). Passwords come only from
//! files, scripts and the terminal.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::Config;
use super::args::VaultPasswordArgs;
use crate::diagnostic::Error;
use crate::state::store::{write_atomic, write_private};
use crate::vault::passwords::{self, PasswordOptions, Prompting};
use crate::vault::secrets::encrypt;
use crate::vault::{Secret, Secrets, is_vaulted};

#[derive(Args, Debug)]
pub struct VaultArgs {
    #[command(subcommand)]
    action: VaultAction,
}

#[derive(Subcommand, Debug)]
enum VaultAction {
    /// Encrypt files in place (or stdin to stdout).
    Encrypt(EncryptArgs),
    /// Decrypt vaulted files in place (or stdin to stdout).
    Decrypt(DecryptArgs),
    /// Print the decrypted content of vaulted files.
    View(FilesArgs),
    /// Edit a vaulted file through $EDITOR; it is encrypted again only if changed.
    Edit(FilesArgs),
    /// Write a new vaulted file through $EDITOR (refused when the file exists).
    Create(CreateArgs),
    /// Encrypt vaulted files again with a new password.
    Rekey(RekeyArgs),
    /// Encrypt strings as `!vault |` values to paste into YAML.
    #[command(name = "encrypt_string")]
    EncryptString(EncryptStringArgs),
}

#[derive(Args, Debug)]
struct EncryptArgs {
    /// Files to encrypt; none, or `-`, reads stdin.
    #[arg(value_name = "FILE")]
    files: Vec<String>,
    /// Write to this file instead (`-` for stdout).
    #[arg(long = "output", value_name = "OUTPUT_FILE")]
    output: Option<String>,
    /// The vault id to encrypt with, when several are given.
    #[arg(long = "encrypt-vault-id", value_name = "ENCRYPT_VAULT_ID")]
    encrypt_vault_id: Option<String>,
    #[command(flatten)]
    passwords: VaultPasswordArgs,
}

#[derive(Args, Debug)]
struct DecryptArgs {
    /// Files to decrypt; none, or `-`, reads stdin.
    #[arg(value_name = "FILE")]
    files: Vec<String>,
    /// Write to this file instead (`-` for stdout).
    #[arg(long = "output", value_name = "OUTPUT_FILE")]
    output: Option<String>,
    #[command(flatten)]
    passwords: VaultPasswordArgs,
}

#[derive(Args, Debug)]
struct FilesArgs {
    /// The vaulted files.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<String>,
    #[command(flatten)]
    passwords: VaultPasswordArgs,
}

#[derive(Args, Debug)]
struct CreateArgs {
    /// The new vaulted file.
    #[arg(value_name = "FILE")]
    file: String,
    /// The vault id to encrypt with, when several are given.
    #[arg(long = "encrypt-vault-id", value_name = "ENCRYPT_VAULT_ID")]
    encrypt_vault_id: Option<String>,
    #[command(flatten)]
    passwords: VaultPasswordArgs,
}

#[derive(Args, Debug)]
struct RekeyArgs {
    /// The vaulted files to encrypt again.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<String>,
    /// The new vault identity: [LABEL@]SOURCE.
    #[arg(long = "new-vault-id", value_name = "NEW_VAULT_ID")]
    new_vault_id: Option<String>,
    /// The new vault password file (or executable).
    #[arg(
        long = "new-vault-password-file",
        value_name = "NEW_VAULT_PASSWORD_FILE"
    )]
    new_vault_password_file: Option<String>,
    /// The vault id to encrypt with, when several are given.
    #[arg(long = "encrypt-vault-id", value_name = "ENCRYPT_VAULT_ID")]
    encrypt_vault_id: Option<String>,
    #[command(flatten)]
    passwords: VaultPasswordArgs,
}

#[derive(Args, Debug)]
struct EncryptStringArgs {
    /// Strings to encrypt; `-` (or none) reads one from stdin.
    #[arg(value_name = "STRING")]
    strings: Vec<String>,
    /// Variable names for the strings, in order (repeatable).
    #[arg(short = 'n', long = "name", value_name = "NAME", action = clap::ArgAction::Append)]
    names: Vec<String>,
    /// Read the string from stdin and name it NAME.
    #[arg(long = "stdin-name", value_name = "NAME")]
    stdin_name: Option<String>,
    /// Ask for the string (and its name) on the terminal.
    #[arg(short = 'p', long = "prompt")]
    prompt: bool,
    /// Show the string typed at the prompt.
    #[arg(long = "show-input")]
    show_input: bool,
    /// Write to this file instead of stdout.
    #[arg(long = "output", value_name = "OUTPUT_FILE")]
    output: Option<String>,
    /// The vault id to encrypt with, when several are given.
    #[arg(long = "encrypt-vault-id", value_name = "ENCRYPT_VAULT_ID")]
    encrypt_vault_id: Option<String>,
    #[command(flatten)]
    passwords: VaultPasswordArgs,
}

/// The password sources of the options, after the config's (`vault_identity_list`
/// first, `vault_password_file` last, as Ansible orders them).
pub fn password_options(args: &VaultPasswordArgs, config: &Config) -> PasswordOptions {
    let mut vault_ids = config.vault_identity_list.clone();
    vault_ids.extend(args.vault_ids.iter().cloned());
    let mut password_files = args.vault_password_files.clone();
    password_files.extend(config.vault_password_file.clone());
    PasswordOptions {
        vault_ids,
        password_files,
        ask_vault_pass: args.ask_vault_pass || config.ask_vault_pass.unwrap_or(false),
    }
}

/// Read the passwords a run (or `srplay inventory`) is given and install them for
/// every loader; no prompt unless asked, as ansible-playbook.
pub fn install_secrets(args: &VaultPasswordArgs, config: &Config) -> Result<(), Error> {
    let list = passwords::load(&password_options(args, config), Prompting::Existing, false)?;
    crate::vault::install(Secrets::new(list));
    Ok(())
}

pub fn run(args: VaultArgs, cwd: &Path) -> Result<i32, Error> {
    let config = Config::load(cwd)?;
    match args.action {
        VaultAction::Encrypt(a) => {
            check_output(&a.output, &a.files)?;
            let secret = encrypt_secret(&a.passwords, &config, a.encrypt_vault_id.as_deref())?;
            if a.files.is_empty() && std::io::stdin().is_terminal() {
                eprintln!("Reading plaintext input from stdin");
            }
            for file in inputs(&a.files) {
                let plain = read_input(&file)?;
                let vaulted = encrypt(&plain, &secret).map_err(|e| e.into_error(&file))?;
                write_output(
                    a.output.as_deref().unwrap_or(&file),
                    vaulted.as_bytes(),
                    true,
                )?;
            }
            say_if_terminal("Encryption successful");
        }
        VaultAction::Decrypt(a) => {
            check_output(&a.output, &a.files)?;
            let secrets = decrypt_secrets(&a.passwords, &config)?;
            if a.files.is_empty() && std::io::stdin().is_terminal() {
                eprintln!("Reading ciphertext input from stdin");
            }
            for file in inputs(&a.files) {
                let plain = decrypt_input(&secrets, &file)?.0;
                write_output(a.output.as_deref().unwrap_or(&file), &plain, true)?;
            }
            say_if_terminal("Decryption successful");
        }
        VaultAction::View(a) => {
            let secrets = decrypt_secrets(&a.passwords, &config)?;
            for file in &a.files {
                let plain = decrypt_input(&secrets, file)?.0;
                page(&plain)?;
            }
        }
        VaultAction::Edit(a) => {
            let secrets = decrypt_secrets(&a.passwords, &config)?;
            for file in &a.files {
                edit(&secrets, file)?;
            }
        }
        VaultAction::Create(a) => create(&a, &config)?,
        VaultAction::Rekey(a) => rekey(&a, &config)?,
        VaultAction::EncryptString(a) => encrypt_strings(&a, &config)?,
    }
    Ok(0)
}

fn check_output(output: &Option<String>, files: &[String]) -> Result<(), Error> {
    if output.is_some() && files.len() > 1 {
        return Err(Error::options(
            "At most one input file may be used with the --output option",
        ));
    }
    Ok(())
}

fn inputs(files: &[String]) -> Vec<String> {
    if files.is_empty() {
        vec!["-".to_string()]
    } else {
        files.to_vec()
    }
}

fn say_if_terminal(message: &str) {
    if std::io::stdout().is_terminal() {
        eprintln!("{message}");
    }
}

/// The secrets to decrypt with: a prompt when no source is named, as ansible-vault.
fn decrypt_secrets(args: &VaultPasswordArgs, config: &Config) -> Result<Secrets, Error> {
    let list = passwords::load(&password_options(args, config), Prompting::Existing, true)?;
    if list.is_empty() {
        return Err(Error::options(
            "A vault password is required to use Ansible's Vault",
        ));
    }
    Ok(Secrets::new(list))
}

/// The one secret to encrypt with: named by `--encrypt-vault-id` (or the config's
/// `vault_encrypt_identity`) when several are given.
fn encrypt_secret(
    args: &VaultPasswordArgs,
    config: &Config,
    encrypt_vault_id: Option<&str>,
) -> Result<Secret, Error> {
    let list = passwords::load(&password_options(args, config), Prompting::New, true)?;
    pick_encrypt_secret(list, encrypt_vault_id, config)
}

fn pick_encrypt_secret(
    list: Vec<Secret>,
    encrypt_vault_id: Option<&str>,
    config: &Config,
) -> Result<Secret, Error> {
    let wanted = encrypt_vault_id.or(config.vault_encrypt_identity.as_deref());
    if list.len() > 1 && wanted.is_none() {
        let ids: Vec<&str> = list.iter().map(|s| s.vault_id.as_str()).collect();
        return Err(Error::options(format!(
            "The vault-ids {} are available to encrypt. Specify the vault-id to encrypt with --encrypt-vault-id",
            ids.join(",")
        )));
    }
    let secrets = Secrets::new(list);
    secrets
        .for_encrypt(wanted)
        .cloned()
        .map_err(|e| Error::options(e.to_string()))
}

fn read_input(file: &str) -> Result<Vec<u8>, Error> {
    if file == "-" {
        let mut data = Vec::new();
        std::io::stdin()
            .read_to_end(&mut data)
            .map_err(|e| Error::other(format!("cannot read stdin: {e}")))?;
        return Ok(data);
    }
    std::fs::read(file).map_err(|e| Error::io(Path::new(file), &e))
}

/// Decrypt a file (or stdin): the plaintext and the vault id its envelope names.
fn decrypt_input(secrets: &Secrets, file: &str) -> Result<(Vec<u8>, Secret), Error> {
    let data = read_input(file)?;
    let shown = if file == "-" { "<stdin>" } else { file };
    if !is_vaulted(&data) {
        return Err(Error::other(format!(
            "Input is not vault encrypted data. for {shown}"
        )));
    }
    let text = String::from_utf8_lossy(&data);
    let decrypted = secrets.decrypt(&text).map_err(|e| e.into_error(shown))?;
    let secret = decrypted.used.relabel(&decrypted.envelope_id);
    Ok((decrypted.plaintext, secret))
}

/// Write `data` to `target` (`-`: stdout): 0600 for new content (`private`), else
/// with the mode the file had.
fn write_output(target: &str, data: &[u8], private: bool) -> Result<(), Error> {
    if target == "-" {
        return write_stdout(data);
    }
    let path = Path::new(target);
    if private {
        write_private(path, data)
    } else {
        write_atomic(path, data)
    }
}

fn write_stdout(data: &[u8]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(data)
        .and_then(|()| out.flush())
        .map_err(|e| Error::other(format!("cannot write to stdout: {e}")))
}

fn rekey(a: &RekeyArgs, config: &Config) -> Result<(), Error> {
    let old = decrypt_secrets(&a.passwords, config)?;
    let wanted = a
        .encrypt_vault_id
        .as_deref()
        .or(config.vault_encrypt_identity.as_deref());
    // As ansible-vault: the new password comes from --new-vault-id /
    // --new-vault-password-file (with the configured identities when an encrypt
    // vault id is named), else from a prompt.
    let mut vault_ids = if wanted.is_some() {
        config.vault_identity_list.clone()
    } else {
        Vec::new()
    };
    vault_ids.extend(a.new_vault_id.clone());
    let new_opts = PasswordOptions {
        vault_ids,
        password_files: a.new_vault_password_file.iter().cloned().collect(),
        ask_vault_pass: a.passwords.ask_vault_pass,
    };
    let new_list = passwords::load(&new_opts, Prompting::New, true)?;
    if new_list.is_empty() {
        return Err(Error::options(
            "A new vault password is required to use Ansible's Vault rekey",
        ));
    }
    let new_secret = Secrets::new(new_list)
        .for_encrypt(wanted)
        .cloned()
        .map_err(|e| Error::options(e.to_string()))?;
    for file in &a.files {
        let (plain, _) = decrypt_input(&old, file)?;
        let vaulted = encrypt(&plain, &new_secret).map_err(|e| e.into_error(file))?;
        write_output(file, vaulted.as_bytes(), false)?;
    }
    eprintln!("Rekey successful");
    Ok(())
}

/// Decrypt into a 0600 file in a private (0700) temp dir, run the editor on it, and
/// encrypt it back — with the password that opened it, under the file's own vault
/// id — only if it changed. The temp dir goes away on every path out.
fn edit(secrets: &Secrets, file: &str) -> Result<(), Error> {
    let (plain, secret) = decrypt_input(secrets, file)?;
    let edited = in_editor(file, &plain)?;
    if edited != plain {
        let vaulted = encrypt(&edited, &secret).map_err(|e| e.into_error(file))?;
        write_output(file, vaulted.as_bytes(), false)?;
    }
    Ok(())
}

/// As `ansible-vault create`: the file must not exist; whatever the editor leaves, even
/// nothing, is encrypted into a new 0600 file.
fn create(a: &CreateArgs, config: &Config) -> Result<(), Error> {
    let path = Path::new(&a.file);
    if path.exists() {
        return Err(Error::options(format!(
            "{} exists, please use 'edit' instead",
            a.file
        )));
    }
    let secret = encrypt_secret(&a.passwords, config, a.encrypt_vault_id.as_deref())?;
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        eprintln!("[WARNING]: {} does not exist, creating...", dir.display());
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, &e))?;
    }
    let plain = in_editor(&a.file, b"")?;
    let vaulted = encrypt(&plain, &secret).map_err(|e| e.into_error(&a.file))?;
    write_output(&a.file, vaulted.as_bytes(), true)
}

/// Let the user edit `plain` with $EDITOR (default vi) in a 0600 file inside a private
/// temp dir, named as `file` so the editor picks the right syntax; the edited bytes.
fn in_editor(file: &str, plain: &[u8]) -> Result<Vec<u8>, Error> {
    let dir = tempfile::Builder::new()
        .prefix("srplay-vault-edit.")
        .tempdir()
        .map_err(|e| Error::other(format!("cannot create a private temp dir: {e}")))?;
    let name = Path::new(file)
        .file_name()
        .map_or_else(|| "vaulted".into(), |n| n.to_os_string());
    let tmp: PathBuf = dir.path().join(name);
    write_private(&tmp, plain)?;
    let editor = std::env::var("EDITOR")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".to_string());
    let status = run_with_file(&editor, &tmp, |cmd| cmd.status())?;
    if !status.success() {
        return Err(Error::other(format!(
            "the editor \"{editor}\" failed ({status}); {file} was left as it was"
        )));
    }
    std::fs::read(&tmp).map_err(|e| Error::io(&tmp, &e))
}

/// Run a user's command line (`$EDITOR`, `$PAGER`: words, shell-quoted) with `arg`
/// appended, through `spawn`.
fn run_with_file<T>(
    command_line: &str,
    arg: &Path,
    spawn: impl FnOnce(&mut std::process::Command) -> std::io::Result<T>,
) -> Result<T, Error> {
    let mut words = shlex::split(command_line)
        .filter(|w| !w.is_empty())
        .ok_or_else(|| Error::options(format!("cannot parse '{command_line}'")))?;
    let program = words.remove(0);
    let mut cmd = std::process::Command::new(&program);
    cmd.args(words);
    if !arg.as_os_str().is_empty() {
        cmd.arg(arg);
    }
    spawn(&mut cmd).map_err(|e| {
        Error::other(format!(
            "Unable to execute the command \"{command_line} {}\": {e}",
            arg.display()
        ))
    })
}

/// `view` as ansible-vault shows it: through `$PAGER` (else `less` with `LESS=FRX` unless
/// set) when stdout is a terminal, else straight to stdout.
fn page(plain: &[u8]) -> Result<(), Error> {
    if !std::io::stdout().is_terminal() {
        return write_stdout(plain);
    }
    let pager = std::env::var("PAGER")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "less".to_string());
    let spawned = run_with_file(&pager, Path::new(""), |cmd| {
        if std::env::var_os("LESS").is_none() {
            cmd.env("LESS", "FRX");
        }
        cmd.stdin(std::process::Stdio::piped()).spawn()
    });
    let Ok(mut child) = spawned else {
        // No pager here: show it plainly, as ansible-vault does.
        return write_stdout(plain);
    };
    // A pager quit early closes its stdin: not an error.
    let _ = child.stdin.take().map(|mut w| w.write_all(plain));
    child
        .wait()
        .map_err(|e| Error::other(format!("the pager \"{pager}\" failed: {e}")))?;
    Ok(())
}

/// Which input a string came from, as ansible-vault names it on stderr.
const FROM_PROMPT: &str = "the interactive prompt";
const FROM_STDIN: &str = "stdin";
const FROM_ARGS: &str = "the command line args";

fn encrypt_strings(a: &EncryptStringArgs, config: &Config) -> Result<(), Error> {
    let read_stdin = a.strings.iter().any(|s| s == "-")
        || a.stdin_name.is_some()
        || (a.strings.is_empty() && !a.prompt);
    if a.prompt && read_stdin {
        return Err(Error::options(
            "The --prompt option is not supported if also reading input from stdin",
        ));
    }
    let secret = encrypt_secret(&a.passwords, config, a.encrypt_vault_id.as_deref())?;
    // (plaintext, where it came from, variable name)
    let mut items: Vec<(Vec<u8>, &str, Option<String>)> = Vec::new();
    if a.prompt {
        let ask = |q: &str, echo: bool| crate::output::prompt::ask(q, echo).map_err(Error::options);
        let name = ask("Variable name (enter for no name): ", true)?;
        let text = if a.show_input {
            ask("String to encrypt:", true)?
        } else {
            ask("String to encrypt (hidden): ", false)?
        };
        if text.is_empty() {
            return Err(Error::options(
                "The plaintext provided from the prompt was empty, not encrypting",
            ));
        }
        items.push((
            text.into_bytes(),
            FROM_PROMPT,
            Some(name).filter(|n| !n.is_empty()),
        ));
    }
    if read_stdin {
        if std::io::stdout().is_terminal() {
            eprintln!(
                "Reading plaintext input from stdin. (ctrl-d to end input, twice if your content does not already have a newline)"
            );
        }
        let text = read_input("-")?;
        if text.is_empty() {
            return Err(Error::options("stdin was empty, not encrypting"));
        }
        items.push((text, FROM_STDIN, a.stdin_name.clone()));
    }
    let args: Vec<&String> = a.strings.iter().filter(|s| *s != "-").collect();
    if !a.names.is_empty() && args.len() > a.names.len() {
        // Vague on purpose: never show a plaintext.
        eprintln!("The number of --name options do not match the number of args.");
        eprintln!(
            "The last named variable will be \"{}\". The rest will not have names.",
            a.names[a.names.len() - 1]
        );
    }
    for (i, text) in args.into_iter().enumerate() {
        if text.is_empty() {
            return Err(Error::options(
                "The plaintext provided from the command line args was empty, not encrypting",
            ));
        }
        items.push((
            text.clone().into_bytes(),
            FROM_ARGS,
            a.names.get(i).cloned(),
        ));
    }
    let numbered = items.len() > 1;
    let mut out = String::new();
    for (i, (plain, from, name)) in items.iter().enumerate() {
        if numbered {
            match name {
                Some(n) => eprintln!(
                    "# The encrypted version of variable (\"{n}\", the string #{} from {from}).",
                    i + 1
                ),
                None => eprintln!(
                    "# The encrypted version of the string #{} from {from}.)",
                    i + 1
                ),
            }
        }
        let vaulted = encrypt(plain, &secret).map_err(|e| e.into_error("the string"))?;
        out.push_str(&yaml_block(&vaulted, name.as_deref()));
        out.push('\n');
    }
    write_output(a.output.as_deref().unwrap_or("-"), out.as_bytes(), true)?;
    say_if_terminal("Encryption successful");
    Ok(())
}

/// A vaulted string as a YAML value: `[NAME: ]!vault |` and the envelope indented by 10.
fn yaml_block(vaulted: &str, name: Option<&str>) -> String {
    let mut lines = vec![match name {
        Some(n) => format!("{n}: !vault |"),
        None => "!vault |".to_string(),
    }];
    lines.extend(vaulted.lines().map(|l| format!("{:10}{l}", "")));
    lines.join("\n")
}
