//! The text around a vault body: a header line `$ANSIBLE_VAULT;1.1;AES256` (or
//! `$ANSIBLE_VAULT;1.2;AES256;<vault-id>` when a vault id other than `default` is
//! named), then the hex body in lines of 80 characters, each ended by a newline.

use super::VaultError;

/// What every vaulted text starts with.
pub const HEADER: &str = "$ANSIBLE_VAULT";
const WIDTH: usize = 80;
/// The one cipher Ansible reads and writes.
const CIPHER: &str = "AES256";
/// The vault id of a 1.1 envelope, and of a password given without a label.
pub const DEFAULT_ID: &str = "default";

/// A parsed envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// `1.1` or `1.2`, as written.
    pub version: String,
    /// The vault id named in a 1.2 header, else `default`.
    pub vault_id: String,
    /// The hex body, its lines joined.
    pub body: String,
}

/// Whether `text` is vaulted data (Ansible looks at the header only).
pub fn is_vaulted(text: &[u8]) -> bool {
    text.starts_with(HEADER.as_bytes())
}

/// Split a vaulted text into header fields and body.
pub fn parse(text: &str) -> Result<Envelope, VaultError> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default().trim();
    let fields: Vec<&str> = header.split(';').map(str::trim).collect();
    if fields[0] != HEADER || fields.len() < 3 {
        return Err(VaultError::Format(format!(
            "vault envelope format error: the header '{header}' is not \
             '$ANSIBLE_VAULT;VERSION;CIPHER[;VAULT_ID]'"
        )));
    }
    if fields[2] != CIPHER {
        return Err(VaultError::Format(format!(
            "cipher '{}' could not be found (only {CIPHER} is known)",
            fields[2]
        )));
    }
    let vault_id = fields
        .get(3)
        .filter(|id| !id.is_empty())
        .map_or(DEFAULT_ID, |id| id)
        .to_string();
    let body: String = lines.collect();
    if body.is_empty() {
        return Err(VaultError::Format(
            "the vaulted data has a header but no body (truncated?)".into(),
        ));
    }
    Ok(Envelope {
        version: fields[1].to_string(),
        vault_id,
        body,
    })
}

/// The envelope `ansible-vault` writes for `body` encrypted under `vault_id`.
pub fn format(body: &str, vault_id: &str) -> String {
    let mut out = if vault_id == DEFAULT_ID {
        format!("{HEADER};1.1;{CIPHER}\n")
    } else {
        format!("{HEADER};1.2;{CIPHER};{vault_id}\n")
    };
    // The body is hex, so byte chunks are character chunks.
    for chunk in body.as_bytes().chunks(WIDTH) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}
