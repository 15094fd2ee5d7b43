//! Vault's `AES256` cipher, byte for byte as `ansible-vault` writes it.
//!
//! A random 32-byte salt and the password give, through PBKDF2-HMAC-SHA256 with
//! 10000 iterations, 80 bytes: the AES-256 key, the HMAC-SHA256 key and the CTR
//! counter's initial block. The plaintext is PKCS#7-padded to the AES block, encrypted
//! in CTR mode, and authenticated with an HMAC over the ciphertext. The body is
//! `hex(salt) \n hex(hmac) \n hex(ciphertext)`, hexlified once more (a quirk of the
//! format that Ansible keeps for compatibility).

use aes::Aes256;
use ctr::Ctr128BE;
use ctr::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::VaultError;

const ITERATIONS: u32 = 10_000;
const KEY_LEN: usize = 32;
const BLOCK: usize = 16;
const SALT_LEN: usize = 32;

struct Keys {
    aes: [u8; KEY_LEN],
    mac: [u8; KEY_LEN],
    iv: [u8; BLOCK],
}

fn derive(password: &[u8], salt: &[u8]) -> Keys {
    let mut out = [0u8; 2 * KEY_LEN + BLOCK];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, ITERATIONS, &mut out);
    let mut keys = Keys {
        aes: [0; KEY_LEN],
        mac: [0; KEY_LEN],
        iv: [0; BLOCK],
    };
    keys.aes.copy_from_slice(&out[..KEY_LEN]);
    keys.mac.copy_from_slice(&out[KEY_LEN..2 * KEY_LEN]);
    keys.iv.copy_from_slice(&out[2 * KEY_LEN..]);
    keys
}

fn apply_ctr(keys: &Keys, data: &mut [u8]) {
    let mut ctr = Ctr128BE::<Aes256>::new(&keys.aes.into(), &keys.iv.into());
    ctr.apply_keystream(data);
}

fn mac(keys: &Keys) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(&keys.mac).expect("HMAC takes a key of any length")
}

/// Encrypt `plaintext` with a fresh random salt from the operating system: the hex
/// body of a vault envelope.
pub fn encrypt(plaintext: &[u8], password: &[u8]) -> Result<String, VaultError> {
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt)
        .map_err(|e| VaultError::Encrypt(format!("no random salt from the system: {e}")))?;
    Ok(encrypt_with_salt(plaintext, password, &salt))
}

/// Encrypt with a given salt (Ansible's `vault_encrypt_salt`; tests compare with
/// `ansible-vault`'s output byte for byte).
pub fn encrypt_with_salt(plaintext: &[u8], password: &[u8], salt: &[u8]) -> String {
    let keys = derive(password, salt);
    let pad = BLOCK - plaintext.len() % BLOCK;
    let mut data = Vec::with_capacity(plaintext.len() + pad);
    data.extend_from_slice(plaintext);
    data.resize(plaintext.len() + pad, pad as u8);
    apply_ctr(&keys, &mut data);
    let mut m = mac(&keys);
    m.update(&data);
    let tag = m.finalize().into_bytes();
    let inner = format!(
        "{}\n{}\n{}",
        hex::encode(salt),
        hex::encode(tag),
        hex::encode(&data)
    );
    hex::encode(inner)
}

/// Decrypt the hex body of an envelope. The HMAC is checked, in constant time,
/// before anything is decrypted: a wrong password fails there.
pub fn decrypt(body: &str, password: &[u8]) -> Result<Vec<u8>, VaultError> {
    let inner = unhex(body.as_bytes())?;
    let mut parts = inner.splitn(3, |b| *b == b'\n');
    let (Some(salt), Some(tag), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(VaultError::Format(
            "the vault body does not hold a salt, an HMAC and a ciphertext".into(),
        ));
    };
    let (salt, tag, mut data) = (unhex(salt)?, unhex(tag)?, unhex(data)?);
    let keys = derive(password, &salt);
    let mut m = mac(&keys);
    m.update(&data);
    m.verify_slice(&tag).map_err(|_| VaultError::HmacMismatch)?;
    apply_ctr(&keys, &mut data);
    unpad(data)
}

fn unhex(data: &[u8]) -> Result<Vec<u8>, VaultError> {
    hex::decode(data).map_err(|e| VaultError::Format(format!("vault format unhexlify error: {e}")))
}

fn unpad(mut data: Vec<u8>) -> Result<Vec<u8>, VaultError> {
    let pad = data.last().copied().unwrap_or(0) as usize;
    let valid = (1..=BLOCK).contains(&pad)
        && data.len() >= pad
        && data.len().is_multiple_of(BLOCK)
        && data[data.len() - pad..].iter().all(|b| *b as usize == pad);
    if !valid {
        return Err(VaultError::Format(
            "invalid padding in the decrypted data".into(),
        ));
    }
    data.truncate(data.len() - pad);
    Ok(data)
}
