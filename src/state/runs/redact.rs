//! The command line as a record keeps it: `-e` values whose keys look secret are
//! replaced, everything else is kept as given.

use crate::playbook::kv::parse_kv;
use crate::value::Value;

/// What a secret value becomes.
pub const REDACTED: &str = "<redacted>";

/// Parts of variable names that mark a secret (matched case-insensitively anywhere in
/// the name: `db_password`, `ansible_become_pass`, `api_token`, `vault_x`).
const SECRET_WORDS: [&str; 6] = ["pass", "secret", "token", "key", "vault", "credential"];

/// Whether a variable with this name holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| lower.contains(w))
}

/// `argv` with the values of secret-looking extra variables replaced by [`REDACTED`].
/// `-e @file` and option values other than `-e` are kept (a vault password *file* path
/// is no secret); an inline value that cannot be read is replaced whole.
pub fn redact_argv(argv: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    let mut args = argv.iter();
    while let Some(arg) = args.next() {
        if arg == "-e" || arg == "--extra-vars" {
            out.push(arg.clone());
            if let Some(value) = args.next() {
                out.push(redact_extra_vars(value));
            }
        } else if let Some(value) = arg.strip_prefix("--extra-vars=") {
            out.push(format!("--extra-vars={}", redact_extra_vars(value)));
        } else if let Some(value) = arg.strip_prefix("-e").filter(|v| !v.is_empty()) {
            out.push(format!("-e{}", redact_extra_vars(value)));
        } else {
            out.push(arg.clone());
        }
    }
    out
}

/// One `-e` value, in the forms `cli::extra_vars` reads: `@file`, inline YAML/JSON, `k=v`.
fn redact_extra_vars(value: &str) -> String {
    let trimmed = value.trim();
    if trimmed.starts_with('@') {
        return value.to_string();
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return match crate::yaml::load_str(trimmed, std::path::Path::new("<extra vars>")) {
            Ok(node) => {
                let mut v = node.map_or(Value::Null, |n| n.to_value());
                redact_value(&mut v);
                serde_json::to_string(&v).unwrap_or_else(|_| REDACTED.into())
            }
            Err(_) => REDACTED.into(),
        };
    }
    let pairs = parse_kv(trimmed, false);
    if pairs.contains_key("_raw_params") {
        // Not k=v: srplay refuses it, but it may still be someone's secret.
        return REDACTED.into();
    }
    if !pairs.keys().any(|k| is_secret_name(k)) {
        return value.to_string();
    }
    pairs
        .iter()
        .map(|(k, v)| {
            let shown = if is_secret_name(k) {
                REDACTED.to_string()
            } else {
                crate::value::to_display_string(v)
            };
            format!(
                "{k}={}",
                shlex::try_quote(&shown).map_or_else(|_| REDACTED.into(), |q| q.into_owned())
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Replace the values of secret keys at any depth.
fn redact_value(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, inner) in map.iter_mut() {
                if is_secret_name(k) {
                    *inner = Value::String(REDACTED.into());
                } else {
                    redact_value(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn secret_pairs_are_redacted_and_others_kept() {
        let got = redact_argv(&argv(&[
            "srplay",
            "site.yml",
            "-e",
            "db_password=hunter2 region=eu",
            "--extra-vars=api_token=abc",
            "-eansible_become_pass=x",
            "-e",
            "release=1.2",
        ]));
        assert_eq!(
            got,
            argv(&[
                "srplay",
                "site.yml",
                "-e",
                "db_password='<redacted>' region=eu",
                "--extra-vars=api_token='<redacted>'",
                "-eansible_become_pass='<redacted>'",
                "-e",
                "release=1.2",
            ])
        );
    }

    #[test]
    fn inline_mappings_keep_keys_and_hide_secret_values() {
        let got = redact_argv(&argv(&[
            "-e",
            r#"{"user": "ops", "creds": {"Secret": "s3", "vault_id": "v"}, "list": [{"token": 1}]}"#,
        ]));
        assert_eq!(
            got[1],
            r#"{"user":"ops","creds":{"Secret":"<redacted>","vault_id":"<redacted>"},"list":[{"token":"<redacted>"}]}"#
        );
        assert_eq!(redact_argv(&argv(&["-e", "{broken"]))[1], REDACTED);
    }

    #[test]
    fn files_and_other_options_are_kept() {
        let args = argv(&[
            "-e",
            "@secrets.yml",
            "--vault-password-file",
            "pw.txt",
            "--limit",
            "web",
        ]);
        assert_eq!(redact_argv(&args), args);
        assert_eq!(redact_argv(&argv(&["-e", "justaword"]))[1], REDACTED);
        assert!(redact_argv(&argv(&["-e"])).len() == 1);
    }
}
