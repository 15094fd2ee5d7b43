//! The vault passwords of a run: `(vault id, password)` pairs in the order they were
//! given, tried as Ansible tries them.

use std::collections::HashMap;
use std::sync::Mutex;

use super::envelope;
use super::{VaultError, cipher};

/// One password and the vault id (label) it was given for.
#[derive(Clone)]
pub struct Secret {
    pub vault_id: String,
    password: Vec<u8>,
}

impl Secret {
    pub fn new(vault_id: impl Into<String>, password: impl Into<Vec<u8>>) -> Secret {
        Secret {
            vault_id: vault_id.into(),
            password: password.into(),
        }
    }

    /// The same password under another vault id (`edit` keeps the file's own id).
    pub fn relabel(&self, vault_id: &str) -> Secret {
        Secret::new(vault_id, self.password.clone())
    }
}

// Never print a password, not even in a debug dump.
impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({}, <redacted>)", self.vault_id)
    }
}

/// What decrypting gave, and which vault id's password did it.
#[derive(Debug, Clone)]
pub struct Decrypted {
    pub plaintext: Vec<u8>,
    /// The vault id named in the envelope (kept when the text is encrypted again).
    pub envelope_id: String,
    /// The password that worked.
    pub used: Secret,
}

/// The passwords known to this run.
#[derive(Debug, Default)]
pub struct Secrets {
    list: Vec<Secret>,
    /// Decrypted texts by vaulted text: a `!vault` value is read once per play or
    /// host, and each try costs a 10000-round key derivation.
    cache: Mutex<HashMap<String, Decrypted>>,
}

impl Secrets {
    pub fn new(list: Vec<Secret>) -> Secrets {
        Secrets {
            list,
            cache: Mutex::default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The vault ids known, in order (for error messages).
    pub fn ids(&self) -> Vec<String> {
        self.list.iter().map(|s| s.vault_id.clone()).collect()
    }

    /// Decrypt vaulted text: the passwords given for the envelope's vault id first,
    /// then every other one, in the order given (Ansible's default, with
    /// `vault_id_match` off).
    pub fn decrypt(&self, vaulttext: &str) -> Result<Decrypted, VaultError> {
        if let Some(hit) = self.cache_get(vaulttext) {
            return Ok(hit);
        }
        let env = envelope::parse(vaulttext)?;
        if self.list.is_empty() {
            return Err(VaultError::NoSecrets);
        }
        let (matching, others): (Vec<&Secret>, Vec<&Secret>) =
            self.list.iter().partition(|s| s.vault_id == env.vault_id);
        for secret in matching.into_iter().chain(others) {
            match cipher::decrypt(&env.body, &secret.password) {
                Ok(plaintext) => {
                    let found = Decrypted {
                        plaintext,
                        envelope_id: env.vault_id.clone(),
                        used: secret.clone(),
                    };
                    if let Ok(mut c) = self.cache.lock() {
                        c.insert(vaulttext.to_string(), found.clone());
                    }
                    return Ok(found);
                }
                // Another password may fit; a malformed body fits none.
                Err(VaultError::HmacMismatch) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(VaultError::NoMatch {
            envelope_id: env.vault_id,
            tried: self.ids(),
        })
    }

    fn cache_get(&self, vaulttext: &str) -> Option<Decrypted> {
        self.cache.lock().ok()?.get(vaulttext).cloned()
    }

    /// The secret to encrypt with: the one for `vault_id` when named (an error when
    /// there is none), else the first given.
    pub fn for_encrypt(&self, vault_id: Option<&str>) -> Result<&Secret, VaultError> {
        match vault_id {
            Some(id) => self.list.iter().find(|s| s.vault_id == id).ok_or_else(|| {
                VaultError::Encrypt(format!(
                    "did not find a match for --encrypt-vault-id={id} in the known vault ids {:?}",
                    self.ids()
                ))
            }),
            None => self.list.first().ok_or_else(|| {
                VaultError::Encrypt("a vault password must be specified to encrypt data".into())
            }),
        }
    }
}

/// Encrypt `plaintext` into a whole envelope under `secret`'s vault id.
pub fn encrypt(plaintext: &[u8], secret: &Secret) -> Result<String, VaultError> {
    if envelope::is_vaulted(plaintext) {
        return Err(VaultError::Encrypt("input is already encrypted".into()));
    }
    let body = cipher::encrypt(plaintext, &secret.password)?;
    Ok(envelope::format(&body, &secret.vault_id))
}
