//! `apt_key`, done the way Debian now recommends instead of with the deprecated `apt-key`
//! (which needs gpg on the host and is gone from newer releases): the key is a keyring
//! file apt reads on its own, `/etc/apt/trusted.gpg.d/ID.asc` (`.gpg` for a binary key),
//! or the `keyring` path when given. The key comes from `data`, from `file` (a path on
//! the host) or from `url` (downloaded by the host with curl or wget). Changed only
//! when the file's content changes; `state: absent` removes that file.
//!
//! A deliberate difference from Ansible: the key's id is not checked against the key
//! (that would need gpg), and keys added to `/etc/apt/trusted.gpg` by `apt-key` are not
//! seen or removed. Not supported: `keyserver`.

use crate::connection::{Connection, FileAttrs};
use crate::modules::system::{has_command, run};
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

const KEY_DIR: &str = "/etc/apt/trusted.gpg.d";

impl Module for AptKey {
    fn name(&self) -> &'static str {
        "apt_key"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        // Ansible's form of an id: no `0x`, upper case.
        let id = args.str("id").map(|id| {
            id.strip_prefix("0x")
                .or_else(|| id.strip_prefix("0X"))
                .unwrap_or(id)
                .to_uppercase()
        });
        if args.str("state") == Some("absent") {
            let Some(id) = id else {
                return Ok(ModuleResult::failed("key_id is required when state=absent"));
            };
            let candidates = match args.str("keyring") {
                Some(k) => vec![k.to_string()],
                None => vec![format!("{KEY_DIR}/{id}.asc"), format!("{KEY_DIR}/{id}.gpg")],
            };
            let mut result = ModuleResult::ok();
            for path in candidates {
                if ctx.conn.stat(&path, false)?.is_some() {
                    result.changed = true;
                    if !ctx.check_mode {
                        ctx.conn.remove(&path, false)?;
                    }
                }
            }
            return Ok(result);
        }

        let key = if let Some(data) = args.str("data") {
            data.as_bytes().to_vec()
        } else if let Some(file) = args.str("file") {
            ctx.conn.read_file(file)?
        } else if let Some(url) = args.str("url") {
            match fetch(ctx.conn, url, args.bool("validate_certs"))? {
                Ok(key) => key,
                Err(msg) => return Ok(ModuleResult::failed(msg)),
            }
        } else {
            return Ok(ModuleResult::failed(
                "srplay's apt_key needs the key itself: data, file or url (keyserver is not supported)",
            ));
        };
        let armored = key.starts_with(b"-----BEGIN PGP");
        let path = match (args.str("keyring"), &id) {
            (Some(keyring), _) => keyring.to_string(),
            (None, Some(id)) => format!("{KEY_DIR}/{id}.{}", if armored { "asc" } else { "gpg" }),
            (None, None) => {
                return Ok(ModuleResult::failed(
                    "srplay's apt_key needs id (the key file is named after it) or keyring",
                ));
            }
        };
        let current = match ctx.conn.stat(&path, true)? {
            Some(_) => Some(ctx.conn.read_file(&path)?),
            None => None,
        };
        if current.as_deref() == Some(key.as_slice()) {
            return Ok(ModuleResult::ok());
        }
        if !ctx.check_mode {
            ctx.conn.mkdir_all(KEY_DIR, Some(0o755))?;
            let attrs = FileAttrs {
                mode: Some(0o644),
                ..FileAttrs::default()
            };
            ctx.conn.write_file(&path, &key, &attrs)?;
        }
        Ok(ModuleResult::changed(true))
    }
}

/// The body at `url`, fetched by the host; `Ok(Err(msg))` when it cannot be.
fn fetch(
    conn: &mut dyn Connection,
    url: &str,
    validate_certs: bool,
) -> Result<Result<Vec<u8>, String>, String> {
    let insecure = !validate_certs;
    let r = if has_command(conn, "curl")? {
        let mut argv = vec!["curl", "-fsSL"];
        if insecure {
            argv.push("--insecure");
        }
        argv.push(url);
        run(conn, &argv)?
    } else if has_command(conn, "wget")? {
        let mut argv = vec!["wget", "-q", "-O", "-"];
        if insecure {
            argv.push("--no-check-certificate");
        }
        argv.push(url);
        run(conn, &argv)?
    } else {
        return Ok(Err(format!(
            "cannot download {url}: neither curl nor wget is installed on the host"
        )));
    };
    if !r.success() {
        return Ok(Err(format!(
            "Failed to download key at {url}: {}",
            r.output().trim()
        )));
    }
    Ok(Ok(r.stdout.into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    const KEY: &str =
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\nabc\n-----END PGP PUBLIC KEY BLOCK-----\n";

    #[test]
    fn data_becomes_a_keyring_file_named_after_the_id() {
        let mut h = Harness::fake(FakeConnection::new());
        let r = h.run(&AptKey, json!({"id": "0xabcd1234", "data": KEY}));
        assert!(r.changed);
        assert_eq!(
            h.conn.files["/etc/apt/trusted.gpg.d/ABCD1234.asc"].0,
            KEY.as_bytes()
        );
        assert!(
            !h.run(&AptKey, json!({"id": "ABCD1234", "data": KEY}))
                .changed
        );
        let r = h.run(&AptKey, json!({"id": "ABCD1234", "state": "absent"}));
        assert!(r.changed);
        assert!(h.conn.files.is_empty());
    }

    #[test]
    fn keys_from_a_host_file_or_url_into_a_given_keyring() {
        let conn = FakeConnection::new()
            .file("/tmp/key.asc", KEY)
            .on("sh curl$", 0, "/usr/bin/curl\n")
            .on("^curl -fsSL https://ex.org/key$", 0, KEY);
        let mut h = Harness::fake(conn);
        let r = h.run(
            &AptKey,
            json!({"file": "/tmp/key.asc", "keyring": "/etc/apt/keyrings/ex.asc"}),
        );
        assert!(r.changed);
        let r = h.run(
            &AptKey,
            json!({"url": "https://ex.org/key", "keyring": "/etc/apt/keyrings/ex.asc"}),
        );
        assert!(!r.changed, "same key, same file");
    }

    #[test]
    fn check_mode_and_what_is_refused() {
        let mut h = Harness::fake(FakeConnection::new()).check();
        assert!(h.run(&AptKey, json!({"id": "AB", "data": KEY})).changed);
        assert!(h.conn.files.is_empty());
        assert!(
            h.run(&AptKey, json!({"data": KEY})).failed,
            "no id nor keyring"
        );
        let err = h
            .try_run(&AptKey, json!({"id": "AB", "keyserver": "x"}))
            .unwrap_err();
        assert!(err.contains("unsupported parameter"), "{err}");
    }
}
