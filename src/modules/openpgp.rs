//! Just enough OpenPGP to tell which keys a key file or keyring holds, without gpg on the
//! host: the packets of an ASCII-armored or binary file are walked, and each public key
//! and public subkey packet's fingerprint computed (SHA-1 over 0x99, the packet's two-byte
//! length and its body: RFC 4880, 12.2; version 4 keys, what gpg makes). `apt_key` and
//! `rpm_key` use it where Ansible runs `gpg --with-colons`.

use base64::Engine;
use sha1::{Digest, Sha1};

use crate::modules::files::hex;

/// A public key or subkey found in a key file.
#[derive(Clone, Debug, PartialEq)]
pub struct PublicKey {
    /// 40 upper-case hex digits.
    pub fingerprint: String,
    /// A primary key (packet tag 6), not a subkey (tag 14).
    pub primary: bool,
}

impl PublicKey {
    /// The long key id gpg shows: the fingerprint's last 16 digits.
    pub fn long_id(&self) -> &str {
        &self.fingerprint[self.fingerprint.len() - 16..]
    }
}

/// Every v4 public key and subkey in `data`, in file order (keys of other versions are
/// left out). An error when `data` is not OpenPGP or holds no key.
pub fn public_keys(data: &[u8]) -> Result<Vec<PublicKey>, String> {
    let binary = if data.trim_ascii_start().starts_with(b"-----BEGIN PGP") {
        dearmor(&String::from_utf8_lossy(data))?
    } else {
        data.to_vec()
    };
    let mut keys = Vec::new();
    let mut rest = binary.as_slice();
    while !rest.is_empty() {
        let (tag, body, next) = packet(rest)?;
        if matches!(tag, 6 | 14) && body.first() == Some(&4) {
            let len = u16::try_from(body.len()).map_err(|_| "key packet too long".to_string())?;
            let mut sha = Sha1::new();
            sha.update([0x99]);
            sha.update(len.to_be_bytes());
            sha.update(body);
            keys.push(PublicKey {
                fingerprint: hex(&sha.finalize()).to_uppercase(),
                primary: tag == 6,
            });
        }
        rest = next;
    }
    if !keys.iter().any(|k| k.primary) {
        return Err("no version 4 public key in it".into());
    }
    Ok(keys)
}

/// The packets of every armored block in `text`, one after another: each block's base64
/// between its armor lines, without the armor headers (`Version: …`, never base64 since
/// they hold a colon) and the CRC-24 checksum line (`=…`).
fn dearmor(text: &str) -> Result<Vec<u8>, String> {
    let mut packets = Vec::new();
    let mut block: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with("-----BEGIN") {
            block = Some(String::new());
        } else if line.starts_with("-----END") {
            let body = block.take().unwrap_or_default();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(body)
                .map_err(|e| format!("bad armor: {e}"))?;
            packets.extend(bytes);
        } else if let Some(body) = block.as_mut()
            && !line.is_empty()
            && !line.contains(':')
            && !line.starts_with('=')
        {
            body.push_str(line);
        }
    }
    Ok(packets)
}

/// The tag and body of the first OpenPGP packet in `data` (old and new header formats),
/// and what follows it.
fn packet(data: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let short = || "truncated packet".to_string();
    let head = *data.first().ok_or_else(short)?;
    if head & 0x80 == 0 {
        return Err("not an OpenPGP packet".into());
    }
    let be = |bytes: &[u8]| bytes.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b));
    let (tag, start, len) = if head & 0x40 != 0 {
        let o1 = usize::from(*data.get(1).ok_or_else(short)?);
        match o1 {
            0..=191 => (head & 0x3f, 2, o1),
            192..=223 => {
                let o2 = usize::from(*data.get(2).ok_or_else(short)?);
                (head & 0x3f, 3, ((o1 - 192) << 8) + o2 + 192)
            }
            255 => (head & 0x3f, 6, be(data.get(2..6).ok_or_else(short)?)),
            // Only data packets are split in parts, and keys hold none.
            _ => return Err("partial packet lengths are not supported".into()),
        }
    } else {
        let tag = (head >> 2) & 0x0f;
        match head & 3 {
            0 => (tag, 2, be(data.get(1..2).ok_or_else(short)?)),
            1 => (tag, 3, be(data.get(1..3).ok_or_else(short)?)),
            2 => (tag, 5, be(data.get(1..5).ok_or_else(short)?)),
            _ => return Err("indeterminate packet lengths are not supported".into()),
        }
    };
    let body = data.get(start..start + len).ok_or_else(short)?;
    Ok((tag, body, &data[start + len..]))
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// The test key `tests/modules_compat/probe-key.asc`, made by gpg (RSA, one user id).
    pub const PROBE_KEY: &str = include_str!("../../tests/modules_compat/probe-key.asc");
    /// Its fingerprint, as `gpg --with-colons --fingerprint` prints it.
    pub const PROBE_FINGERPRINT: &str = "376D14AA118D3AB0F3D540706F5CDFF38273AFB4";

    /// The probe key as a binary (dearmored) key file, as a `.gpg` download would be.
    pub fn probe_key_binary() -> Vec<u8> {
        dearmor(PROBE_KEY).expect("the probe key dearmors")
    }

    /// A v4 key packet (old format, two-byte length) with a made-up body: tag 6 for a
    /// primary key, 14 for a subkey.
    pub fn key_packet(tag: u8, fill: u8) -> Vec<u8> {
        let body: Vec<u8> = [4u8, 0x5f, 0, 0, 0, 22]
            .into_iter()
            .chain(std::iter::repeat_n(fill, 20))
            .collect();
        let mut packet = vec![0x80 | (tag << 2) | 1, 0, body.len() as u8];
        packet.extend(&body);
        packet
    }

    #[test]
    fn a_gpg_made_key_has_gpgs_fingerprint() {
        let keys = public_keys(PROBE_KEY.as_bytes()).unwrap();
        assert_eq!(
            keys,
            [PublicKey {
                fingerprint: PROBE_FINGERPRINT.into(),
                primary: true
            }]
        );
        assert_eq!(keys[0].long_id(), "6F5CDFF38273AFB4");
    }

    #[test]
    fn binary_keyrings_with_subkeys_and_several_keys() {
        let ring: Vec<u8> = [key_packet(6, 1), key_packet(14, 2), key_packet(6, 3)].concat();
        let keys = public_keys(&ring).unwrap();
        assert_eq!(
            keys.iter().map(|k| k.primary).collect::<Vec<_>>(),
            [true, false, true]
        );
        assert_ne!(keys[0].fingerprint, keys[2].fingerprint);
        let mut sha = Sha1::new();
        sha.update([0x99, 0, 26]);
        sha.update(&key_packet(6, 1)[3..]);
        assert_eq!(keys[0].fingerprint, hex(&sha.finalize()).to_uppercase());
    }

    #[test]
    fn several_armored_blocks_in_one_file() {
        let two = format!(
            "{PROBE_KEY}{}",
            include_str!("../../tests/modules_compat/old-probe-key.asc")
        );
        let keys = public_keys(two.as_bytes()).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].fingerprint, PROBE_FINGERPRINT);
    }

    /// The parser meets key files from hosts: cut, flipped or random bytes are an
    /// error or some keys, never a panic.
    #[test]
    fn damaged_key_files_never_panic() {
        let mut rng = fastrand::Rng::with_seed(0x5eed);
        let armored = PROBE_KEY.as_bytes();
        let binary = [key_packet(6, 1), key_packet(14, 2)].concat();
        for round in 0..4000 {
            let mut data = if round % 2 == 0 {
                armored.to_vec()
            } else {
                binary.clone()
            };
            match rng.u8(0..4) {
                0 => data.truncate(rng.usize(0..=data.len())),
                1 => {
                    for _ in 0..rng.usize(1..8) {
                        let at = rng.usize(0..data.len());
                        data[at] ^= rng.u8(1..=255);
                    }
                }
                2 => data = (0..rng.usize(0..64)).map(|_| rng.u8(..)).collect(),
                _ => data.insert(rng.usize(0..=data.len()), rng.u8(..)),
            }
            let _ = public_keys(&data);
        }
    }

    #[test]
    fn what_is_not_a_key() {
        assert!(
            public_keys(b"\x88\x02ab").is_err(),
            "a signature, not a key"
        );
        assert!(public_keys(b"").is_err());
        assert!(public_keys(b"hello").is_err());
        assert!(public_keys(&key_packet(14, 1)).is_err(), "a subkey alone");
    }
}
