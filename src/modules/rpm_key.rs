//! `rpm_key`: import a GPG key into the rpm database (`rpm --import`) or drop it
//! (`rpm --erase --allmatches gpg-pubkey-ID`). `key` is a URL (downloaded by the host
//! with curl or wget), a key id (`0xDEADBEEF`, only for `absent` or to check), or a
//! path on the host. Whether it is imported already is decided from `rpm -q gpg-pubkey`,
//! whose versions are the keys' short ids.
//!
//! Ansible reads the key id with gpg on the host; srplay computes it from the key itself
//! (the SHA-1 fingerprint of a v4 OpenPGP public key), so the host needs no gpg.
//! `fingerprint` is compared with the primary key's fingerprint only (Ansible's also
//! accepts a subkey's).
//!
//! No RPM host exists in the test rig: this module is tested with a fake host only.

use base64::Engine;
use sha1::{Digest, Sha1};

use crate::connection::{Connection, FileAttrs};
use crate::modules::files::hex;
use crate::modules::system::{Run, has_command, run};
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};

pub struct RpmKey;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("key", Kind::Str).required(),
    Param::new("state", Kind::Str)
        .default("present")
        .choices(&["absent", "present"]),
    Param::new("fingerprint", Kind::List),
    Param::new("validate_certs", Kind::Bool).default("yes"),
]);

impl Module for RpmKey {
    fn name(&self) -> &'static str {
        "rpm_key"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let key = args.str("key").unwrap_or_default().trim();
        // As Ansible decides: a URL, else something that starts like a key id, else a file.
        let (data, keyid) = if key.contains("://") {
            let data = match fetch(ctx.conn, key, args.bool("validate_certs"))? {
                Ok(data) => data,
                Err(msg) => return Ok(ModuleResult::failed(msg)),
            };
            (Some(data), None)
        } else if is_keyid(key) {
            (None, Some(normalize_keyid(key)))
        } else if ctx.conn.stat(key, true)?.is_some() {
            (Some(ctx.conn.read_file(key)?), None)
        } else {
            return Ok(ModuleResult::failed(format!("Not a valid key {key}")));
        };
        let fingerprint = match &data {
            Some(d) => match primary_fingerprint(d) {
                Ok(f) => Some(f),
                Err(e) => {
                    return Ok(ModuleResult::failed(format!(
                        "Not a public key: {key} ({e})"
                    )));
                }
            },
            None => None,
        };
        let keyid = keyid
            .or_else(|| fingerprint.as_ref().map(|f| f[f.len() - 16..].to_string()))
            .unwrap_or_default();
        let short = keyid[keyid.len().saturating_sub(8)..].to_lowercase();
        let imported = imported_ids(ctx.conn)?.contains(&short);

        if args.str("state") == Some("absent") {
            if !imported {
                return Ok(ModuleResult::ok());
            }
            if !ctx.check_mode {
                let package = format!("gpg-pubkey-{short}");
                let r = run(ctx.conn, &["rpm", "--erase", "--allmatches", &package])?;
                if !r.success() {
                    return Ok(ModuleResult::failed(r.stderr.trim().to_string()));
                }
            }
            return Ok(ModuleResult::changed(true));
        }
        if imported {
            return Ok(ModuleResult::ok());
        }
        let Some(data) = data else {
            return Ok(ModuleResult::failed(
                "When importing a key, a valid file must be given",
            ));
        };
        let wanted: Vec<String> = args
            .list("fingerprint")
            .iter()
            .map(|f| f.replace(' ', "").to_uppercase())
            .collect();
        let actual = fingerprint.unwrap_or_default();
        if !wanted.is_empty() && wanted.iter().any(|f| *f != actual) {
            return Ok(ModuleResult::failed(format!(
                "The specified fingerprint, '{}', does not match any key fingerprints in '{actual}'",
                wanted.join(", ")
            )));
        }
        if !ctx.check_mode {
            let r = import(ctx.conn, key, &data)?;
            if !r.success() {
                return Ok(ModuleResult::failed(r.stderr.trim().to_string()));
            }
        }
        Ok(ModuleResult::changed(true))
    }
}

/// `0xDEADBEEF…` or `deadbeef…`: eight hex digits at the start, as Ansible's test.
fn is_keyid(key: &str) -> bool {
    let digits = key
        .strip_prefix("0x")
        .or_else(|| key.strip_prefix("0X"))
        .unwrap_or(key);
    digits.len() >= 8 && digits.chars().take(8).all(|c| c.is_ascii_hexdigit())
}

fn normalize_keyid(key: &str) -> String {
    let upper = key.trim().to_uppercase();
    upper.strip_prefix("0X").unwrap_or(&upper).to_string()
}

/// The short ids of the keys rpm holds (`gpg-pubkey` packages are versioned by them).
fn imported_ids(conn: &mut dyn Connection) -> Result<Vec<String>, String> {
    let r = run(conn, &["rpm", "-q", "gpg-pubkey", "--qf", "%{VERSION}\\n"])?;
    if !r.success() {
        return Ok(Vec::new()); // no key is installed
    }
    Ok(r.stdout.lines().map(|l| l.trim().to_lowercase()).collect())
}

/// `rpm --import` the key: the host's own file, or a downloaded key put in a temporary file.
fn import(conn: &mut dyn Connection, key: &str, data: &[u8]) -> Result<Run, String> {
    if !key.contains("://") {
        return run(conn, &["rpm", "--import", key]);
    }
    let tmp = run(conn, &["mktemp"])?;
    if !tmp.success() {
        return Ok(tmp);
    }
    let path = tmp.stdout.trim().to_string();
    conn.write_file(&path, data, &FileAttrs::default())?;
    let r = run(conn, &["rpm", "--import", &path]);
    conn.remove(&path, false)?;
    r
}

/// The body at `url`, fetched by the host; `Ok(Err(msg))` when it cannot be.
fn fetch(
    conn: &mut dyn Connection,
    url: &str,
    validate_certs: bool,
) -> Result<Result<Vec<u8>, String>, String> {
    let r = if has_command(conn, "curl")? {
        let insecure = if validate_certs {
            None
        } else {
            Some("--insecure")
        };
        let argv: Vec<&str> = ["curl", "-fsSL"]
            .into_iter()
            .chain(insecure)
            .chain([url])
            .collect();
        run(conn, &argv)?
    } else if has_command(conn, "wget")? {
        let insecure = if validate_certs {
            None
        } else {
            Some("--no-check-certificate")
        };
        let argv: Vec<&str> = ["wget", "-q", "-O", "-"]
            .into_iter()
            .chain(insecure)
            .chain([url])
            .collect();
        run(conn, &argv)?
    } else {
        return Ok(Err(format!(
            "cannot download {url}: neither curl nor wget is installed on the host"
        )));
    };
    if !r.success() {
        return Ok(Err(format!(
            "failed to fetch key at {url} , error was: {}",
            r.output().trim()
        )));
    }
    Ok(Ok(r.stdout.into_bytes()))
}

/// The fingerprint (40 upper-case hex digits) of the first public key in an
/// ASCII-armored or binary OpenPGP key: SHA-1 over 0x99, the packet's two-byte length
/// and its body (RFC 4880, 12.2; version 4 keys).
fn primary_fingerprint(data: &[u8]) -> Result<String, String> {
    let binary = if data.starts_with(b"-----BEGIN PGP PUBLIC KEY BLOCK-----") {
        dearmor(&String::from_utf8_lossy(data))?
    } else {
        data.to_vec()
    };
    let (tag, body) = first_packet(&binary)?;
    if tag != 6 {
        return Err(format!("the first packet is not a public key (tag {tag})"));
    }
    if body.first() != Some(&4) {
        return Err("only version 4 keys are supported".into());
    }
    let len = u16::try_from(body.len()).map_err(|_| "key packet too long".to_string())?;
    let mut sha = Sha1::new();
    sha.update([0x99]);
    sha.update(len.to_be_bytes());
    sha.update(body);
    Ok(hex(&sha.finalize()).to_uppercase())
}

/// The base64 between the armor lines, without the armor headers (`Version: …`, never
/// base64 since they hold a colon) and the CRC-24 checksum line (`=…`).
fn dearmor(text: &str) -> Result<Vec<u8>, String> {
    let body: String = text
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END") && !l.starts_with('='))
        .filter(|l| !l.is_empty() && !l.contains(':'))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| format!("bad armor: {e}"))
}

/// The tag and body of the first OpenPGP packet (old and new header formats).
fn first_packet(data: &[u8]) -> Result<(u8, &[u8]), String> {
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
    Ok((tag, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    /// A v4 public key packet (old format, two-byte length) with a made-up body.
    fn key_packet() -> Vec<u8> {
        let body: Vec<u8> = [4u8, 0x5f, 0, 0, 0, 22]
            .into_iter()
            .chain(0..20u8)
            .collect();
        let mut packet = vec![0x99, 0, body.len() as u8];
        packet.extend(&body);
        packet
    }

    fn armored(binary: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(binary);
        format!(
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: test\n\n{b64}\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n"
        )
    }

    fn expected_fingerprint() -> String {
        let packet = key_packet();
        let mut sha = Sha1::new();
        sha.update([0x99, 0, packet[2]]);
        sha.update(&packet[3..]);
        hex(&sha.finalize()).to_uppercase()
    }

    #[test]
    fn fingerprints_of_armored_and_binary_keys() {
        let fp = expected_fingerprint();
        assert_eq!(primary_fingerprint(&key_packet()).unwrap(), fp);
        assert_eq!(
            primary_fingerprint(armored(&key_packet()).as_bytes()).unwrap(),
            fp
        );
        assert!(
            primary_fingerprint(b"\x88\x02ab").is_err(),
            "a signature, not a key"
        );
        assert!(primary_fingerprint(b"").is_err());
    }

    #[test]
    fn imports_a_host_file_once() {
        let fp = expected_fingerprint();
        let short = fp[32..].to_lowercase();
        let conn = FakeConnection::new()
            .file("/etc/pki/key.asc", &armored(&key_packet()))
            .once(
                "^rpm -q gpg-pubkey",
                1,
                "package gpg-pubkey is not installed\n",
            )
            .on("^rpm -q gpg-pubkey", 0, &format!("{short}\n"));
        let mut h = Harness::fake(conn);
        let r = h.run(
            &RpmKey,
            json!({"key": "/etc/pki/key.asc", "fingerprint": fp}),
        );
        assert!(r.changed);
        assert_eq!(h.conn.ran("^rpm --import /etc/pki/key.asc$").len(), 1);
        assert!(!h.run(&RpmKey, json!({"key": "/etc/pki/key.asc"})).changed);
    }

    #[test]
    fn a_url_key_goes_through_a_temporary_file() {
        let conn = FakeConnection::new()
            .on("sh curl$", 0, "/usr/bin/curl\n")
            .on(
                "^curl -fsSL https://ex.org/key$",
                0,
                &armored(&key_packet()),
            )
            .on("^rpm -q gpg-pubkey", 1, "")
            .on("^mktemp$", 0, "/tmp/tmp.k\n");
        let mut h = Harness::fake(conn);
        assert!(h.run(&RpmKey, json!({"key": "https://ex.org/key"})).changed);
        assert_eq!(h.conn.ran("^rpm --import /tmp/tmp.k$").len(), 1);
        assert!(h.conn.files.is_empty(), "the temporary file is removed");
    }

    #[test]
    fn absent_by_key_id_erases_all_matches() {
        let conn = FakeConnection::new().on("^rpm -q gpg-pubkey", 0, "deadbeef\n");
        let mut h = Harness::fake(conn);
        let r = h.run(&RpmKey, json!({"key": "0xDEADBEEF", "state": "absent"}));
        assert!(r.changed);
        assert_eq!(
            h.conn
                .ran("^rpm --erase --allmatches gpg-pubkey-deadbeef$")
                .len(),
            1
        );
        let r = h.run(&RpmKey, json!({"key": "0x12345678", "state": "absent"}));
        assert!(!r.changed);
    }

    #[test]
    fn wrong_fingerprints_ids_without_files_and_check_mode() {
        let conn = FakeConnection::new()
            .file("/k.asc", &armored(&key_packet()))
            .on("^rpm -q gpg-pubkey", 1, "");
        let mut h = Harness::fake(conn).check();
        let r = h.run(&RpmKey, json!({"key": "/k.asc", "fingerprint": "AAAA"}));
        assert!(r.failed);
        assert!(
            h.run(&RpmKey, json!({"key": "DEADBEEF"})).failed,
            "nothing to import"
        );
        assert!(h.run(&RpmKey, json!({"key": "/k.asc"})).changed);
        assert!(h.conn.ran("^rpm --import").is_empty());
        assert!(h.run(&RpmKey, json!({"key": "/nonexistent"})).failed);
    }
}
