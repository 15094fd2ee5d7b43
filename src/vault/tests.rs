//! Known vectors made with `ansible-vault` (ansible-core 2.19), checked in under
//! `tests/fixtures/vault/`: `plain.yml` encrypted with the password `pw1` (label
//! `default`, 1.1) or `pw2` (label `dev`, 1.2); the `-salted` ones with
//! `ANSIBLE_VAULT_ENCRYPT_SALT=srplay-fixture-salt`, so that encrypting can be
//! compared byte for byte.

use super::secrets::encrypt;
use super::*;

const SALT: &[u8] = b"srplay-fixture-salt";

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vault")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn plain() -> Vec<u8> {
    fixture("plain.yml").into_bytes()
}

fn both() -> Secrets {
    Secrets::new(vec![
        Secret::new("default", "pw1"),
        Secret::new("dev", "pw2"),
    ])
}

#[test]
fn decrypts_what_ansible_vault_wrote() {
    for name in [
        "v11.vault",
        "v11-salted.vault",
        "v12-dev.vault",
        "v12-dev-salted.vault",
    ] {
        let got = both().decrypt(&fixture(name)).unwrap();
        assert_eq!(got.plaintext, plain(), "{name}");
    }
    let got = both().decrypt(&fixture("v12-dev.vault")).unwrap();
    assert_eq!(
        (got.envelope_id.as_str(), got.used.vault_id.as_str()),
        ("dev", "dev")
    );
    let empty = both().decrypt(&fixture("empty.vault")).unwrap();
    assert!(empty.plaintext.is_empty());
    let utf8 = Secrets::new(vec![Secret::new("default", "päss wörd")]);
    assert_eq!(
        utf8.decrypt(&fixture("utf8pw.vault")).unwrap().plaintext,
        plain()
    );
}

#[test]
fn encrypts_byte_for_byte_as_ansible_vault() {
    let body = cipher::encrypt_with_salt(&plain(), b"pw1", SALT);
    assert_eq!(
        envelope::format(&body, "default"),
        fixture("v11-salted.vault")
    );
    let body = cipher::encrypt_with_salt(&plain(), b"pw2", SALT);
    assert_eq!(
        envelope::format(&body, "dev"),
        fixture("v12-dev-salted.vault")
    );
}

#[test]
fn round_trips_with_a_random_salt() {
    let secret = Secret::new("prod", "s3");
    let a = encrypt(b"value", &secret).unwrap();
    let b = encrypt(b"value", &secret).unwrap();
    assert_ne!(a, b, "every encryption has its own salt");
    assert!(a.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"));
    assert!(a.lines().skip(1).all(|l| l.len() <= 80));
    let secrets = Secrets::new(vec![secret]);
    assert_eq!(secrets.decrypt(&a).unwrap().plaintext, b"value");
}

#[test]
fn a_wrong_password_names_the_ids_tried() {
    let secrets = Secrets::new(vec![Secret::new("default", "nope")]);
    let err = secrets.decrypt(&fixture("v12-dev.vault")).unwrap_err();
    assert_eq!(
        err,
        VaultError::NoMatch {
            envelope_id: "dev".into(),
            tried: vec!["default".into()]
        }
    );
    let shown = err.into_error("group_vars/all.yml").message;
    assert!(
        shown.starts_with("group_vars/all.yml: Decryption failed"),
        "{shown}"
    );
    assert!(shown.contains("vault id 'dev'"), "{shown}");
    assert!(
        !shown.contains("nope"),
        "the password is never shown: {shown}"
    );
}

#[test]
fn no_password_at_all_is_its_own_error() {
    let err = Secrets::default()
        .decrypt(&fixture("v11.vault"))
        .unwrap_err();
    assert_eq!(err, VaultError::NoSecrets);
}

#[test]
fn the_envelope_id_is_tried_first_then_every_other() {
    // The file says `dev` but was encrypted with the `default` password: still read.
    let relabelled = fixture("v11.vault").replacen("1.1;AES256", "1.2;AES256;dev", 1);
    let got = both().decrypt(&relabelled).unwrap();
    assert_eq!(
        (got.envelope_id.as_str(), got.used.vault_id.as_str()),
        ("dev", "default")
    );
}

#[test]
fn a_tampered_body_fails_the_hmac_check() {
    let text = fixture("v11-salted.vault");
    let env = envelope::parse(&text).unwrap();
    // Flip one hex digit of the ciphertext (the body's last line holds its end).
    let inner = String::from_utf8(hex::decode(&env.body).unwrap()).unwrap();
    let mut tampered = inner.into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
    let text = envelope::format(&hex::encode(tampered), "default");
    let secrets = Secrets::new(vec![Secret::new("default", "pw1")]);
    assert!(matches!(
        secrets.decrypt(&text),
        Err(VaultError::NoMatch { .. })
    ));
    assert_eq!(
        cipher::decrypt(&envelope::parse(&text).unwrap().body, b"pw1"),
        Err(VaultError::HmacMismatch)
    );
}

#[test]
fn bad_hex_and_truncation_are_format_errors() {
    let secrets = both();
    let bad_hex = fixture("v11.vault").replacen("\n3", "\nzz", 1);
    assert!(
        matches!(secrets.decrypt(&bad_hex), Err(VaultError::Format(m)) if m.contains("unhexlify"))
    );
    let header_only = "$ANSIBLE_VAULT;1.1;AES256\n";
    assert!(
        matches!(secrets.decrypt(header_only), Err(VaultError::Format(m)) if m.contains("truncated"))
    );
    let text = fixture("v11.vault");
    let cut: String = text.lines().take(3).collect::<Vec<_>>().join("\n");
    assert!(matches!(secrets.decrypt(&cut), Err(VaultError::Format(_))));
    let bad_header = text.replacen("AES256", "AES128", 1);
    assert!(
        matches!(secrets.decrypt(&bad_header), Err(VaultError::Format(m)) if m.contains("AES128"))
    );
}

#[test]
fn already_encrypted_input_is_refused() {
    let err = encrypt(
        fixture("v11.vault").as_bytes(),
        &Secret::new("default", "x"),
    )
    .unwrap_err();
    assert_eq!(
        err,
        VaultError::Encrypt("input is already encrypted".into())
    );
}

#[test]
fn encrypt_secret_choice_follows_encrypt_vault_id() {
    let s = both();
    assert_eq!(s.for_encrypt(None).unwrap().vault_id, "default");
    assert_eq!(s.for_encrypt(Some("dev")).unwrap().vault_id, "dev");
    assert!(
        matches!(s.for_encrypt(Some("prod")), Err(VaultError::Encrypt(m)) if m.contains("prod"))
    );
}

#[test]
fn inline_values_decrypt_when_read_and_fail_with_their_origin() {
    let span = Span::new(Arc::new("vars.yml".into()), 3, 7);
    let tpl = inline_template(&fixture("v11.vault"), &span);
    assert!(
        tpl.starts_with("{{ __srplay_vault([\"$ANSIBLE_VAULT;1.1;AES256\", \""),
        "{tpl}"
    );
    let lines: Vec<String> = fixture("v11.vault").lines().map(String::from).collect();
    let err = decrypt_inline(&lines, "vars.yml:3:7").unwrap_err();
    assert!(
        err.starts_with("Attempt to use undecryptable variable defined at vars.yml:3:7"),
        "{err}"
    );
}
