//! `apt_key`, done the way Debian now recommends instead of with the deprecated `apt-key`
//! (which needs gpg on the host and is gone from newer releases): the key is a keyring
//! file apt reads on its own, `/etc/apt/trusted.gpg.d/ID.asc` (`.gpg` for a binary key),
//! or the `keyring` path when given. The key comes from `data`, from `file` (a path on
//! the host) or from `url` (downloaded by the host with curl or wget).
//!
//! As Ansible's, it decides by key id: the `id` given, else the key's own (read from the
//! key, [`openpgp`]), looked for among the keys of every keyring apt trusts
//! (`/etc/apt/trusted.gpg` and `trusted.gpg.d/*.asc|*.gpg`, or only `keyring`): an 8-digit
//! id is compared with the keys' short ids, a longer one with their long ids. Returned as
//! Ansible's: `id`, `short_id`, `fp`, `key_id`. `state: absent` removes the keyring files
//! that hold the key and no other (as `apt-key del` does); a key in a keyring with other
//! keys (such as `apt-key add`'s `/etc/apt/trusted.gpg`) is refused: taking one key out
//! needs gpg.
//!
//! Not supported: `keyserver`. Not returned: `before` and `after` (Ansible's lists of every
//! key apt trusts, as `apt-key` prints them).

use crate::connection::{Connection, FileAttrs, FileKind};
use crate::modules::http;
use crate::modules::openpgp::{self, PublicKey};
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};

pub struct AptKey;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("id", Kind::Str),
    Param::new("data", Kind::Str),
    Param::new("file", Kind::Path),
    Param::new("url", Kind::Str),
    Param::new("keyring", Kind::Path),
    Param::new("state", Kind::Str)
        .default("present")
        .choices(&["absent", "present"]),
    Param::new("validate_certs", Kind::Bool).default("yes"),
])
.mutually_exclusive(&[&["data", "file", "url"]]);

const TRUSTED_FILE: &str = "/etc/apt/trusted.gpg";
const KEY_DIR: &str = "/etc/apt/trusted.gpg.d";

impl Module for AptKey {
    fn name(&self) -> &'static str {
        "apt_key"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let present = args.str("state") != Some("absent");
        // The key itself is needed to add it, and, as Ansible, to learn its id when none is given.
        let key = if present || args.str("id").is_none() {
            match load_key(args, ctx.conn)? {
                Ok(key) => key,
                Err(msg) => return Ok(ModuleResult::failed(msg)),
            }
        } else {
            None
        };
        let key_keys = match &key {
            Some(data) => match openpgp::public_keys(data) {
                Ok(keys) => keys,
                Err(e) => {
                    let from = args.str("file").unwrap_or("inline data");
                    return Ok(ModuleResult::failed(format!(
                        "Unable to extract key from '{from}': {e}"
                    )));
                }
            },
            None => Vec::new(),
        };
        let given = args
            .str("id")
            .map(str::to_string)
            .or_else(|| key_keys.first().map(|k| k.long_id().to_string()));
        let Some(given) = given else {
            return Ok(ModuleResult::failed("key_id is required when state=absent"));
        };
        let Some(id) = KeyId::parse(&given) else {
            return Ok(ModuleResult::failed("Invalid key_id").with("id", given));
        };
        let mut result = ModuleResult::ok()
            .with("id", given.as_str())
            .with("short_id", id.short())
            .with("fp", id.long())
            .with("key_id", id.full.as_str());

        let keyrings = read_keyrings(ctx.conn, args.str("keyring"))?;
        let holding: Vec<&Keyring> = keyrings
            .iter()
            .filter(|k| k.keys.iter().any(|key| id.matches(key)))
            .collect();
        if !present {
            if holding.is_empty() {
                return Ok(result);
            }
            if let Some(shared) = holding.iter().find(|k| k.primaries() > 1) {
                return Ok(ModuleResult::failed(format!(
                    "the key {} is in {} with other keys: srplay removes only the keyring files \
                     that hold that key alone (taking one key out of a keyring needs gpg: \
                     apt-key del or gpg --delete-keys)",
                    id.full, shared.path
                )));
            }
            result.changed = true;
            if !ctx.check_mode {
                for keyring in holding {
                    ctx.conn.remove(&keyring.path, false)?;
                }
            }
            return Ok(result);
        }

        if !holding.is_empty() {
            return Ok(result);
        }
        let key = key.unwrap_or_default();
        if !key_keys.iter().any(|k| id.matches(k)) {
            return Ok(ModuleResult::failed(format!(
                "the key does not have the id {} (check that the id is correct and *not* a subkey)",
                id.full
            )));
        }
        let path = match args.str("keyring") {
            Some(keyring) => {
                if keyrings.iter().any(|k| k.path == keyring) {
                    return Ok(ModuleResult::failed(format!(
                        "{keyring} already holds other keys: srplay writes one key per keyring \
                         file and does not merge keys into one (that needs gpg)"
                    )));
                }
                keyring.to_string()
            }
            None => {
                let armored = key.trim_ascii_start().starts_with(b"-----BEGIN PGP");
                format!(
                    "{KEY_DIR}/{}.{}",
                    id.full,
                    if armored { "asc" } else { "gpg" }
                )
            }
        };
        result.changed = true;
        if !ctx.check_mode {
            let dir = path.rsplit_once('/').map_or("/", |(dir, _)| dir);
            if !dir.is_empty() {
                ctx.conn.mkdir_all(dir, Some(0o755))?;
            }
            let attrs = FileAttrs {
                mode: Some(0o644),
                ..FileAttrs::default()
            };
            ctx.conn.write_file(&path, &key, &attrs)?;
        }
        Ok(result)
    }
}

/// The key's bytes from `data`, `file` or `url`; `None` when none is given.
fn load_key(
    args: &Args,
    conn: &mut dyn Connection,
) -> Result<Result<Option<Vec<u8>>, String>, String> {
    if let Some(data) = args.str("data") {
        Ok(Ok(Some(data.as_bytes().to_vec())))
    } else if let Some(file) = args.str("file") {
        if conn.stat(file, true)?.is_none() {
            return Ok(Err(format!(
                "Unable to extract key from '{file}': no such file"
            )));
        }
        Ok(Ok(Some(conn.read_file(file)?)))
    } else if let Some(url) = args.str("url") {
        Ok(fetch(conn, url, args.bool("validate_certs"))?.map(Some))
    } else if args.str("state") == Some("absent") {
        Ok(Ok(None))
    } else {
        Ok(Err(
            "srplay's apt_key needs the key itself: data, file or url (keyserver is not supported)"
                .into(),
        ))
    }
}

/// A key id as Ansible takes it: 8, 16 or more hex digits, `0x` or not, any case.
struct KeyId {
    /// Upper case, without `0x`.
    full: String,
}

impl KeyId {
    fn parse(id: &str) -> Option<KeyId> {
        let upper = id.trim().to_uppercase();
        let full = upper.strip_prefix("0X").unwrap_or(&upper).to_string();
        let hex = !full.is_empty() && full.chars().all(|c| c.is_ascii_hexdigit());
        (hex && (full.len() == 8 || full.len() >= 16)).then_some(KeyId { full })
    }

    fn short(&self) -> &str {
        &self.full[self.full.len() - 8..]
    }

    /// The long id (16 digits) of a longer id; an 8-digit id as it is.
    fn long(&self) -> &str {
        &self.full[self.full.len().saturating_sub(16)..]
    }

    /// Whether `key` (a key or subkey) has this id: Ansible compares an 8-digit id with
    /// short ids, a longer one with long ids.
    fn matches(&self, key: &PublicKey) -> bool {
        if self.full.len() == 8 {
            key.long_id().ends_with(&self.full)
        } else {
            key.long_id() == self.long()
        }
    }
}

/// A keyring file apt reads, and the keys in it.
struct Keyring {
    path: String,
    keys: Vec<PublicKey>,
}

impl Keyring {
    fn primaries(&self) -> usize {
        self.keys.iter().filter(|k| k.primary).count()
    }
}

/// The keyrings apt trusts, as apt-key lists them (`trusted.gpg`, then `trusted.gpg.d`'s
/// `*.asc` and `*.gpg` in name order), or only `keyring` when given. Files that are not
/// OpenPGP keyrings (gpg's keybox format, say) hold no key apt reads: left out.
fn read_keyrings(conn: &mut dyn Connection, keyring: Option<&str>) -> Result<Vec<Keyring>, String> {
    let mut paths = Vec::new();
    if let Some(keyring) = keyring {
        paths.push(keyring.to_string());
    } else {
        paths.push(TRUSTED_FILE.to_string());
        if conn.stat(KEY_DIR, true)?.is_some() {
            let mut names = conn.list_dir(KEY_DIR)?;
            names.sort();
            paths.extend(
                names
                    .iter()
                    .filter(|n| n.ends_with(".asc") || n.ends_with(".gpg"))
                    .map(|n| format!("{KEY_DIR}/{n}")),
            );
        }
    }
    let mut keyrings = Vec::new();
    for path in paths {
        if conn
            .stat(&path, true)?
            .is_none_or(|s| s.kind != FileKind::File)
        {
            continue;
        }
        if let Ok(keys) = openpgp::public_keys(&conn.read_file(&path)?) {
            keyrings.push(Keyring { path, keys });
        }
    }
    Ok(keyrings)
}

/// The key at `url`, fetched by the host; `Ok(Err(msg))` when it cannot be.
fn fetch(
    conn: &mut dyn Connection,
    url: &str,
    validate_certs: bool,
) -> Result<Result<Vec<u8>, String>, String> {
    Ok(http::download_bytes(conn, url, validate_certs)?
        .map_err(|msg| format!("Failed to download key at {url}: {msg}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::openpgp::tests::{PROBE_FINGERPRINT, PROBE_KEY};
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    const FILE: &str = "/etc/apt/trusted.gpg.d/8273AFB4.asc";

    #[test]
    fn data_becomes_a_keyring_file_named_after_the_id() {
        let mut h = Harness::fake(FakeConnection::new());
        let r = h.run(&AptKey, json!({"id": "0x8273afb4", "data": PROBE_KEY}));
        assert!(r.changed);
        assert_eq!(r.data["short_id"], json!("8273AFB4"));
        assert_eq!(r.data["key_id"], json!("8273AFB4"));
        assert_eq!(h.conn.files[FILE], (PROBE_KEY.as_bytes().to_vec(), 0o644));
        let r = h.run(&AptKey, json!({"id": "8273AFB4", "data": PROBE_KEY}));
        assert!(!r.changed);
        let r = h.run(&AptKey, json!({"id": "8273AFB4", "state": "absent"}));
        assert!(r.changed);
        assert!(h.conn.files.is_empty());
    }

    #[test]
    fn the_id_is_read_from_the_key_and_found_in_any_keyring_file() {
        let conn = FakeConnection::new()
            .file("/tmp/key.asc", PROBE_KEY)
            .file(FILE, PROBE_KEY);
        let mut h = Harness::fake(conn);
        let r = h.run(&AptKey, json!({"file": "/tmp/key.asc"}));
        assert!(!r.changed, "the same key under another file name");
        assert_eq!(r.data["id"], json!(&PROBE_FINGERPRINT[24..]));
        assert_eq!(r.data["fp"], json!(&PROBE_FINGERPRINT[24..]));
        let r = h.run(&AptKey, json!({"id": PROBE_FINGERPRINT, "state": "absent"}));
        assert!(r.changed, "a full fingerprint finds it by its long id");
        assert!(!h.conn.files.contains_key(FILE));
    }

    #[test]
    fn keys_from_a_url_into_a_given_keyring() {
        let conn = FakeConnection::new().serving(2, "200 OK", "body", PROBE_KEY);
        let mut h = Harness::fake(conn);
        let keyring = "/etc/apt/keyrings/ex.asc";
        let r = h.run(
            &AptKey,
            json!({"url": "https://ex.org/key", "keyring": keyring}),
        );
        assert!(r.changed);
        assert_eq!(h.conn.files[keyring].0, PROBE_KEY.as_bytes());
        // The URL went into curl's config file, not on its command line.
        assert!(h.conn.ran("ex.org").is_empty());
        let r = h.run(
            &AptKey,
            json!({"url": "https://ex.org/key", "keyring": keyring}),
        );
        assert!(!r.changed, "same key, same file");
        assert!(
            h.conn.files.keys().all(|f| !f.starts_with("/tmp/")),
            "the scratch files are removed"
        );
    }

    #[test]
    fn a_binary_key_from_a_url_is_kept_byte_for_byte() {
        let binary = crate::modules::openpgp::tests::probe_key_binary();
        assert!(std::str::from_utf8(&binary).is_err(), "not text");
        let conn = FakeConnection::new().serving(1, "200 OK", "body", &binary);
        let mut h = Harness::fake(conn);
        let r = h.run(&AptKey, json!({"url": "https://ex.org/key.gpg"}));
        assert!(r.changed, "{r:?}");
        let written: Vec<_> = h
            .conn
            .files
            .iter()
            .filter(|(f, _)| f.ends_with(".gpg"))
            .collect();
        assert_eq!(
            written.len(),
            1,
            "one keyring file: {:?}",
            h.conn.files.keys()
        );
        assert_eq!(written[0].1.0, binary);
    }

    #[test]
    fn a_url_that_answers_404_fails_in_ansibles_words() {
        let conn = FakeConnection::new().serving(1, "404 Not Found", "body", "no such key");
        let mut h = Harness::fake(conn);
        let r = h.run(&AptKey, json!({"url": "https://ex.org/nokey"}));
        assert!(r.failed);
        assert_eq!(
            r.msg.as_deref(),
            Some("Failed to download key at https://ex.org/nokey: HTTP Error 404: Not Found")
        );
    }

    #[test]
    fn check_mode_and_what_is_refused() {
        let mut h = Harness::fake(FakeConnection::new()).check();
        assert!(h.run(&AptKey, json!({"data": PROBE_KEY})).changed);
        assert!(h.conn.files.is_empty());
        let r = h.run(&AptKey, json!({"id": "DEADBEEF", "data": PROBE_KEY}));
        assert!(r.failed, "an id the key does not have");
        let r = h.run(&AptKey, json!({"id": "ABC", "data": PROBE_KEY}));
        assert_eq!(r.msg.as_deref(), Some("Invalid key_id"));
        let r = h.run(&AptKey, json!({"id": "AB", "data": "not a key"}));
        assert!(r.failed);
        let err = h
            .try_run(&AptKey, json!({"id": "AB", "keyserver": "x"}))
            .unwrap_err();
        assert!(err.contains("unsupported parameter"), "{err}");
    }

    #[test]
    fn a_key_sharing_a_keyring_with_others_is_not_removed() {
        let two = format!(
            "{PROBE_KEY}{}",
            include_str!("../../tests/modules_compat/old-probe-key.asc")
        );
        let conn = FakeConnection::new().file(TRUSTED_FILE, &two);
        let mut h = Harness::fake(conn);
        let r = h.run(&AptKey, json!({"id": "8273AFB4", "state": "absent"}));
        assert!(r.failed);
        assert!(h.conn.files.contains_key(TRUSTED_FILE));
    }
}
