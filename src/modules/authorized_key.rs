//! `authorized_key` (`ansible.posix.authorized_key`): SSH public keys in a user's
//! `authorized_keys` (or `path`). A key already there is matched by its key data: a
//! different type, options or comment rewrites its line in place; a new key is
//! appended; `exclusive` drops every other key; `absent` removes it. Other lines
//! (comments, blank) are kept. With `manage_dir` the file's directory is created
//! 0700 and both belong to the user; the file is 0600. `--diff` shows the file.
//!
//! Not supported: a `key` given as a URL (`validate_certs` is accepted and echoed).

use crate::connection::FileAttrs;
use crate::modules::accounts;
use crate::modules::files;
use crate::modules::remote;
use crate::modules::{
    ArgSpec, Args, Diff, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};

pub struct AuthorizedKey;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("user", Kind::Str).required(),
    Param::new("key", Kind::Str).required(),
    Param::new("path", Kind::Path),
    Param::new("manage_dir", Kind::Bool).default("yes"),
    Param::new("state", Kind::Str)
        .default("present")
        .choices(&["absent", "present"]),
    Param::new("key_options", Kind::Str),
    Param::new("exclusive", Kind::Bool).default("no"),
    Param::new("comment", Kind::Str),
    Param::new("follow", Kind::Bool).default("no"),
    // Only for a key given as a URL, which srplay refuses: accepted and echoed.
    Param::new("validate_certs", Kind::Bool).default("yes"),
]);

/// The key types an `authorized_keys` line may carry.
const KEY_TYPES: &[&str] = &[
    "ssh-rsa",
    "ssh-dss",
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "ssh-rsa-cert-v01@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com",
];

/// One key line, split.
#[derive(Clone, Debug, PartialEq)]
struct Key {
    options: Option<String>,
    kind: String,
    data: String,
    comment: Option<String>,
}

impl Key {
    /// `[options] type data [comment]`; `None` for a comment, blank or unknown line.
    fn parse(line: &str) -> Option<Key> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let (options, rest) = if KEY_TYPES.iter().any(|t| line.starts_with(&format!("{t} "))) {
            (None, line)
        } else {
            let end = options_end(line)?;
            (Some(line[..end].to_string()), line[end..].trim_start())
        };
        let mut parts = rest.splitn(3, char::is_whitespace);
        let kind = parts.next()?.to_string();
        let data = parts.next()?.to_string();
        if !KEY_TYPES.contains(&kind.as_str()) {
            return None;
        }
        let comment = parts
            .next()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty());
        Some(Key {
            options,
            kind,
            data,
            comment,
        })
    }

    fn line(&self) -> String {
        let mut out = String::new();
        if let Some(o) = &self.options {
            out.push_str(o);
            out.push(' ');
        }
        out.push_str(&self.kind);
        out.push(' ');
        out.push_str(&self.data);
        if let Some(c) = &self.comment {
            out.push(' ');
            out.push_str(c);
        }
        out
    }
}

/// Where the options field ends: the first space outside double quotes.
fn options_end(line: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ' ' | '\t' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

impl Module for AuthorizedKey {
    fn name(&self) -> &'static str {
        "authorized_key"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let user = args.str("user").unwrap_or_default().to_string();
        let key_text = args.str("key").unwrap_or_default().to_string();
        let present = args.str("state") == Some("present");
        if key_text.starts_with("http://") || key_text.starts_with("https://") {
            return Ok(ModuleResult::failed(
                "a key given as a URL is not supported by srplay: give the key text (e.g. with lookup('url', ...))",
            ));
        }
        let account = accounts::passwd(ctx.conn, &user)?;
        // Check mode with an explicit `path` needs no account: the user may be created by
        // an earlier task that check mode did not run (as Ansible allows).
        let keyfile = match (args.str("path"), &account) {
            (Some(p), Some(_)) => files::expand_user(ctx.conn, p)?,
            (Some(p), None) if ctx.check_mode => files::expand_user(ctx.conn, p)?,
            (None, Some(account)) => format!(
                "{}/.ssh/authorized_keys",
                account.home.trim_end_matches('/')
            ),
            (None, None) if ctx.check_mode => {
                return Ok(ModuleResult::failed(
                    "Either user must exist or you must provide full path to key file in check mode",
                ));
            }
            _ => {
                return Ok(ModuleResult::failed(format!(
                    "Failed to lookup user {user}: getpwnam(): name not found: '{user}'"
                )));
            }
        };
        // `follow`: act on the file a symlinked authorized_keys points to, not replace the link.
        let keyfile = if args.bool("follow") {
            let real = remote::run(ctx.conn, &["readlink", "-f", "--", &keyfile])?;
            match real.stdout.trim() {
                "" => keyfile,
                path => path.to_string(),
            }
        } else {
            keyfile
        };
        let mut wanted = Vec::new();
        for line in key_text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim().starts_with('#'))
        {
            let Some(mut key) = Key::parse(line) else {
                return Ok(ModuleResult::failed(format!(
                    "invalid key specified: {line}"
                )));
            };
            if let Some(options) = args.str("key_options") {
                key.options = Some(options.to_string());
            }
            if let Some(comment) = args.str("comment") {
                key.comment = Some(comment.to_string());
            }
            wanted.push(key);
        }
        let exists = ctx.conn.stat(&keyfile, true)?.is_some();
        let before = if exists {
            String::from_utf8_lossy(&ctx.conn.read_file(&keyfile)?).into_owned()
        } else {
            String::new()
        };
        let after = edit(&before, &wanted, present, args.bool("exclusive"));
        let changed = after != before;
        let mut result = ModuleResult::changed(changed)
            .with("user", user.clone())
            .with("key", key_text)
            .with(
                "key_options",
                args.get("key_options").cloned().unwrap_or_default(),
            )
            .with("keyfile", keyfile.clone())
            .with("path", args.get("path").cloned().unwrap_or_default())
            .with("manage_dir", args.bool("manage_dir"))
            .with("state", if present { "present" } else { "absent" })
            .with("exclusive", args.bool("exclusive"))
            .with("comment", args.get("comment").cloned().unwrap_or_default())
            .with("follow", args.bool("follow"))
            .with("validate_certs", args.bool("validate_certs"));
        if changed && ctx.diff_mode {
            result.diff.push(Diff {
                before,
                after: after.clone(),
                before_header: Some(keyfile.clone()),
                after_header: Some(keyfile.clone()),
                ..Diff::default()
            });
        }
        let Some(account) = account.filter(|_| !ctx.check_mode && (changed || present)) else {
            return with_path_info(ctx, args, result);
        };
        let owner = FileAttrs {
            mode: None,
            owner: Some(account.uid.to_string()),
            group: Some(account.gid.to_string()),
        };
        if present && args.bool("manage_dir") {
            let dir = files::parent_dir(&keyfile);
            ctx.conn.mkdir_all(&dir, Some(0o700))?;
            ctx.conn.set_attrs(
                &dir,
                &FileAttrs {
                    mode: Some(0o700),
                    ..owner.clone()
                },
                true,
            )?;
        }
        let file_attrs = FileAttrs {
            mode: Some(0o600),
            ..owner
        };
        if changed {
            ctx.conn
                .write_file(&keyfile, after.as_bytes(), &file_attrs)?;
        } else if present {
            ctx.conn.set_attrs(&keyfile, &file_attrs, true)?;
        }
        with_path_info(ctx, args, result)
    }
}

/// With a `path` given, the result carries the file's facts (owner, mode, size, `state:
/// file`…) when it exists, as every Ansible module's result with a `path` key does.
fn with_path_info(
    ctx: &mut ModuleContext<'_>,
    args: &Args,
    mut result: ModuleResult,
) -> Result<ModuleResult, ModuleError> {
    if let Some(path) = args.str("path") {
        let path = files::expand_user(ctx.conn, path)?;
        let info = files::path_info(ctx.conn, &path)?;
        if info.get("state").and_then(|s| s.as_str()) != Some("absent") {
            result.data.extend(info);
        }
    }
    Ok(result)
}

/// The file with `wanted` keys present (replacing lines of the same key data,
/// appending new ones) or removed; with `exclusive`, no other key lines.
fn edit(before: &str, wanted: &[Key], present: bool, exclusive: bool) -> String {
    let mut placed = vec![false; wanted.len()];
    let mut lines: Vec<String> = Vec::new();
    for line in before.lines() {
        let Some(existing) = Key::parse(line) else {
            lines.push(line.to_string());
            continue;
        };
        match wanted.iter().position(|k| k.data == existing.data) {
            Some(i) if present => {
                if !placed[i] {
                    placed[i] = true;
                    lines.push(if existing == wanted[i] {
                        line.to_string()
                    } else {
                        wanted[i].line()
                    });
                }
            }
            Some(_) => {}
            None if present && exclusive => {}
            None => lines.push(line.to_string()),
        }
    }
    if present {
        for (key, done) in wanted.iter().zip(placed) {
            if !done {
                lines.push(key.line());
            }
        }
    }
    if lines.is_empty() {
        return String::new();
    }
    lines.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    const KEYS: &str = "/home/bob/.ssh/authorized_keys";
    const A: &str = "ssh-ed25519 AAAAC3NzaA alice@x";
    const B: &str = "ssh-rsa AAAAB3NzaB bob@y";

    fn host() -> FakeConnection {
        FakeConnection::new().on(
            "^getent passwd bob",
            0,
            "bob:x:1001:1001::/home/bob:/bin/sh\n",
        )
    }

    #[test]
    fn keys_with_options_parse() {
        let k = Key::parse(r#"from="10.0.0.1,host a",no-pty ssh-rsa AAAA c d"#).unwrap();
        assert_eq!(
            k.options.as_deref(),
            Some(r#"from="10.0.0.1,host a",no-pty"#)
        );
        assert_eq!((k.kind.as_str(), k.data.as_str()), ("ssh-rsa", "AAAA"));
        assert_eq!(k.comment.as_deref(), Some("c d"));
        assert_eq!(Key::parse("# comment"), None);
    }

    #[test]
    fn a_new_key_creates_dir_and_file_then_is_idempotent() {
        let mut h = Harness::fake(host()).diff();
        let r = h.run(&AuthorizedKey, json!({"user": "bob", "key": A}));
        assert!(r.changed);
        assert_eq!(h.conn.files[KEYS], (format!("{A}\n").into_bytes(), 0o600));
        assert!(h.conn.dirs.contains(&"/home/bob/.ssh".to_string()));
        assert_eq!(r.diff[0].after, format!("{A}\n"));
        assert!(
            !h.run(&AuthorizedKey, json!({"user": "bob", "key": A}))
                .changed
        );
    }

    #[test]
    fn options_rewrite_in_place_exclusive_drops_others_absent_removes() {
        let mut h = Harness::fake(host().file(KEYS, &format!("# keep\n{B}\n{A}\n")));
        h.run(
            &AuthorizedKey,
            json!({"user": "bob", "key": A, "key_options": "no-pty"}),
        );
        assert_eq!(
            String::from_utf8_lossy(&h.conn.files[KEYS].0),
            format!("# keep\n{B}\nno-pty {A}\n")
        );
        h.run(
            &AuthorizedKey,
            json!({"user": "bob", "key": A, "key_options": "no-pty", "exclusive": true}),
        );
        assert_eq!(
            String::from_utf8_lossy(&h.conn.files[KEYS].0),
            format!("# keep\nno-pty {A}\n")
        );
        let r = h.run(
            &AuthorizedKey,
            json!({"user": "bob", "key": A, "state": "absent"}),
        );
        assert!(r.changed);
        assert_eq!(String::from_utf8_lossy(&h.conn.files[KEYS].0), "# keep\n");
    }

    #[test]
    fn check_mode_and_bad_input() {
        let mut h = Harness::fake(host()).check();
        assert!(
            h.run(&AuthorizedKey, json!({"user": "bob", "key": A}))
                .changed
        );
        assert!(h.conn.files.is_empty());
        let r = h.run(&AuthorizedKey, json!({"user": "bob", "key": "not a key"}));
        assert_eq!(r.msg.as_deref(), Some("invalid key specified: not a key"));
        let r = h.run(
            &AuthorizedKey,
            json!({"user": "bob", "key": "https://h/bob.keys"}),
        );
        assert!(r.msg.unwrap().contains("not supported"));
    }
}
