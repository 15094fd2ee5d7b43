//! Ansible Vault: reading and writing what `ansible-vault` reads and writes.
//!
//! - [`envelope`]: the `$ANSIBLE_VAULT;1.x;AES256[;id]` header and the 80-column body;
//! - [`cipher`]: PBKDF2 → AES-256-CTR + HMAC-SHA256, the format's one cipher;
//! - [`secrets`]: the `(vault id, password)` pairs of a run, tried in Ansible's order;
//! - [`passwords`]: where passwords come from (`--vault-id`, `--vault-password-file`,
//!   `--ask-vault-pass`, their config and environment settings).
//!
//! The run's secrets are installed once, by the CLI, before anything is loaded
//! ([`install`]): every loader of YAML data then decrypts a vaulted file on the way
//! in, as Ansible's `DataLoader` (which holds the secrets for the whole run) does.
//! `!vault` values are decrypted only when a template reads them ([`inline_template`]),
//! so a vaulted variable that is never used needs no password, as in Ansible.

mod cipher;
pub mod envelope;
pub mod passwords;
pub mod secrets;

use std::path::Path;
use std::sync::{Arc, RwLock};

use crate::diagnostic::{Error, Span};

pub use envelope::{DEFAULT_ID, is_vaulted};
pub use secrets::{Decrypted, Secret, Secrets};

/// Why vaulted data could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultError {
    /// Not a well-formed envelope or body (bad header, bad hex, truncated).
    Format(String),
    /// A password was tried and the HMAC did not match (wrong password or altered data).
    HmacMismatch,
    /// No password was given at all.
    NoSecrets,
    /// Every password given was tried and none fits.
    NoMatch {
        envelope_id: String,
        tried: Vec<String>,
    },
    /// Encryption could not be done.
    Encrypt(String),
}

impl std::fmt::Display for VaultError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VaultError::Format(msg) | VaultError::Encrypt(msg) => f.write_str(msg),
            VaultError::HmacMismatch => f.write_str("HMAC verification failed"),
            VaultError::NoSecrets => {
                f.write_str("Attempting to decrypt but no vault secrets found")
            }
            VaultError::NoMatch { envelope_id, tried } => write!(
                f,
                "Decryption failed (no vault secrets were found that could decrypt): \
                 the data names vault id '{envelope_id}', passwords were tried for vault id(s) {}",
                tried.join(", ")
            ),
        }
    }
}

impl VaultError {
    /// A hint for the person running srplay.
    fn hint(&self) -> &'static str {
        match self {
            VaultError::NoSecrets => {
                "give the vault password with --vault-password-file FILE, --vault-id \
                 [LABEL@]SOURCE or --ask-vault-pass"
            }
            VaultError::NoMatch { .. } | VaultError::HmacMismatch => {
                "check that the password is the one the data was encrypted with"
            }
            VaultError::Format(_) => "the vaulted text is damaged: compare it with the original",
            VaultError::Encrypt(_) => {
                "give one vault password, or name one with --encrypt-vault-id"
            }
        }
    }

    /// The error for vaulted data read from `what` (a file, or a file and line).
    pub fn into_error(self, what: &str) -> Error {
        let hint = self.hint();
        Error::other(format!("{what}: {self}")).with_hint(hint)
    }
}

/// The secrets of this run, set once by the CLI before anything is loaded.
static INSTALLED: RwLock<Option<Arc<Secrets>>> = RwLock::new(None);

/// Make `secrets` the ones every loader of this process decrypts with.
pub fn install(secrets: Secrets) {
    if let Ok(mut slot) = INSTALLED.write() {
        *slot = Some(Arc::new(secrets));
    }
}

/// The installed secrets (none when nothing was installed).
pub fn installed() -> Arc<Secrets> {
    INSTALLED
        .read()
        .ok()
        .and_then(|s| s.clone())
        .unwrap_or_default()
}

/// The content of a file read from `path`: decrypted with the run's secrets when
/// it is vaulted, as it is otherwise.
pub fn open_file_bytes(bytes: Vec<u8>, path: &Path) -> Result<Vec<u8>, Error> {
    if !is_vaulted(&bytes) {
        return Ok(bytes);
    }
    let text = String::from_utf8_lossy(&bytes);
    installed()
        .decrypt(&text)
        .map(|d| d.plaintext)
        .map_err(|e| e.into_error(&path.display().to_string()))
}

/// As [`open_file_bytes`], for a text file.
pub fn open_file_text(text: String, path: &Path) -> Result<String, Error> {
    if !is_vaulted(text.as_bytes()) {
        return Ok(text);
    }
    let plain = open_file_bytes(text.into_bytes(), path)?;
    String::from_utf8(plain).map_err(|_| {
        Error::other(format!(
            "{}: the decrypted vault data is not UTF-8 text",
            path.display()
        ))
    })
}

/// A file on the controller that a module ships or a lookup reads: decrypted when
/// it is vaulted and `decrypt` is on (the `decrypt:` parameter of `copy`, `script`,
/// `unarchive`; always for `template` and the `file` lookup, as Ansible's loader).
pub fn read_controller_file(path: &Path, decrypt: bool) -> Result<Vec<u8>, String> {
    let data =
        std::fs::read(path).map_err(|e| format!("could not read {}: {e}", path.display()))?;
    if !decrypt {
        return Ok(data);
    }
    open_file_bytes(data, path).map_err(|e| e.message)
}

/// The name of the template function that decrypts a `!vault` value when read.
pub const TEMPLATE_FUNCTION: &str = "__srplay_vault";

/// The value a `!vault` scalar loads as: a template that decrypts it when a
/// template first reads the variable. Its result is the plaintext, never templated
/// again (Ansible treats decrypted values as data, not as templates). The text goes
/// in as a list of its lines: a string literal with escaped newlines would not
/// survive the trip through the template engine's lexer unchanged.
pub fn inline_template(vaulttext: &str, span: &Span) -> String {
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let lines: Vec<String> = vaulttext.lines().map(quote).collect();
    format!(
        "{{{{ {TEMPLATE_FUNCTION}([{}], {}) }}}}",
        lines.join(", "),
        quote(&span.to_string())
    )
}

/// Decrypt a `!vault` value found at `origin` (`file:line:column`), for the template
/// function of [`inline_template`].
pub fn decrypt_inline(lines: &[String], origin: &str) -> Result<String, String> {
    let decrypted = installed()
        .decrypt(&lines.join("\n"))
        .map_err(|e| format!("Attempt to use undecryptable variable defined at {origin}: {e}"))?;
    String::from_utf8(decrypted.plaintext)
        .map_err(|_| format!("the vaulted value at {origin} does not decrypt to UTF-8 text"))
}

#[cfg(test)]
mod tests;
