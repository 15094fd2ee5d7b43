//! `rpm_key`: import a GPG key into the rpm database (`rpm --import`) or drop it
//! (`rpm --erase --allmatches gpg-pubkey-ID`). `key` is a URL (downloaded by the host
//! with curl or wget), a key id (`0xDEADBEEF`, only for `absent` or to check), or a
//! path on the host. Whether it is imported already is decided from `rpm -q gpg-pubkey`,
//! whose versions are the keys' short ids.
//!
//! Ansible reads the key id and fingerprints with gpg on the host; srplay computes them
//! from the key itself ([`openpgp`]), so the host needs no gpg. Every `fingerprint` given
//! must be the key's or one of its subkeys', as Ansible's.
//!
//! tests/modules_compat.rs compares it with Ansible's on Debian hosts with rpm installed.

use std::collections::BTreeSet;

use crate::connection::{Connection, FileAttrs};
use crate::modules::http;
use crate::modules::openpgp;
use crate::modules::system::{Run, run};
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
        let keys = match &data {
            Some(d) => match openpgp::public_keys(d) {
                Ok(keys) => keys,
                Err(e) => {
                    return Ok(ModuleResult::failed(format!(
                        "Not a public key: {key} ({e})"
                    )));
                }
            },
            None => Vec::new(),
        };
        let keyid = keyid
            .or_else(|| keys.first().map(|k| k.long_id().to_string()))
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
        let wanted: BTreeSet<String> = args
            .list("fingerprint")
            .iter()
            .map(|f| f.replace(' ', "").to_uppercase())
            .collect();
        let actual: BTreeSet<String> = keys.into_iter().map(|k| k.fingerprint).collect();
        if !wanted.is_subset(&actual) {
            return Ok(ModuleResult::failed(format!(
                "The specified fingerprint, '{}', does not match any key fingerprints in '{}'",
                python_set(&wanted),
                python_set(&actual)
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

/// A set of strings as Python prints it, which Ansible's message does: `{'A', 'B'}`
/// (Python's order is its hashes'; sorted here).
fn python_set(set: &BTreeSet<String>) -> String {
    let items: Vec<String> = set.iter().map(|s| format!("'{s}'")).collect();
    format!("{{{}}}", items.join(", "))
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

/// The key at `url`, fetched by the host; `Ok(Err(msg))` when it cannot be.
fn fetch(
    conn: &mut dyn Connection,
    url: &str,
    validate_certs: bool,
) -> Result<Result<Vec<u8>, String>, String> {
    Ok(http::download_bytes(conn, url, validate_certs)?
        .map_err(|msg| format!("failed to fetch key at {url} , error was: {msg}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    use crate::modules::openpgp::tests::{PROBE_FINGERPRINT, PROBE_KEY, key_packet};

    #[test]
    fn imports_a_host_file_once() {
        let fp = PROBE_FINGERPRINT;
        let short = fp[32..].to_lowercase();
        let conn = FakeConnection::new()
            .file("/etc/pki/key.asc", PROBE_KEY)
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
            .serving(1, "200 OK", "body", PROBE_KEY)
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
            .file("/k.asc", PROBE_KEY)
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

    #[test]
    fn a_subkeys_fingerprint_is_the_keys_too() {
        let ring = [key_packet(6, 1), key_packet(14, 2)].concat();
        let keys = openpgp::public_keys(&ring).unwrap();
        let mut conn = FakeConnection::new().on("^rpm -q gpg-pubkey", 1, "");
        conn.files.insert("/k.gpg".into(), (ring, 0o644));
        let mut h = Harness::fake(conn).check();
        let r = h.run(
            &RpmKey,
            json!({"key": "/k.gpg", "fingerprint": keys[1].fingerprint}),
        );
        assert!(r.changed && !r.failed, "{:?}", r.msg);
        let r = h.run(
            &RpmKey,
            json!({"key": "/k.gpg", "fingerprint": PROBE_FINGERPRINT}),
        );
        let mut all = [keys[0].fingerprint.as_str(), keys[1].fingerprint.as_str()];
        all.sort();
        // Python's set repr, as Ansible's message has it.
        let want = format!(
            "The specified fingerprint, '{{'{PROBE_FINGERPRINT}'}}', does not match any key \
             fingerprints in '{{'{}', '{}'}}'",
            all[0], all[1]
        );
        assert_eq!(r.msg.as_deref(), Some(want.as_str()));
    }
}
