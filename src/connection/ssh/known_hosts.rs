//! OpenSSH `known_hosts` files: which keys a host may present.
//!
//! Parsed here rather than through libssh2's own known-hosts support because srplay
//! must know, before the handshake, which key *types* are known for a host (so the
//! handshake asks for one of them, as OpenSSH does), and because OpenSSH files use
//! wildcard patterns, negations and `[host]:port` forms that libssh2 does not match.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// One key a `known_hosts` line accepts for a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownKey {
    /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, …
    pub key_type: String,
    /// The decoded key blob.
    pub blob: Vec<u8>,
    /// `file:line`, for messages.
    pub origin: String,
    /// A `@revoked` line: this key must be refused.
    pub revoked: bool,
}

/// The keys the files in `paths` list for `host` on `port` (missing files are skipped).
pub fn keys_for(paths: &[String], host: &str, port: u16) -> Vec<KnownKey> {
    let mut keys = Vec::new();
    for path in paths {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            if let Some(key) = parse_line(line, host, port, &format!("{path}:{}", i + 1)) {
                keys.push(key);
            }
        }
    }
    keys
}

fn parse_line(line: &str, host: &str, port: u16, origin: &str) -> Option<KnownKey> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_whitespace();
    let mut first = fields.next()?;
    let mut revoked = false;
    if let Some(marker) = first.strip_prefix('@') {
        match marker {
            "revoked" => revoked = true,
            // Certificate authorities sign host certificates; libssh2 cannot check those.
            _ => return None,
        }
        first = fields.next()?;
    }
    let key_type = fields.next()?;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(fields.next()?)
        .ok()?;
    if !revoked && !hosts_match(first, host, port) {
        return None;
    }
    Some(KnownKey {
        key_type: key_type.to_string(),
        blob,
        origin: origin.to_string(),
        revoked,
    })
}

/// The name a host is recorded under: `host`, or `[host]:port` off port 22.
fn lookup_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// Does the comma-separated pattern list (or hashed name) of a line name this host?
/// A matching negated pattern (`!pat`) rules the line out, as in OpenSSH.
fn hosts_match(patterns: &str, host: &str, port: u16) -> bool {
    let name = lookup_name(host, port);
    if let Some(hashed) = patterns.strip_prefix("|1|") {
        return hashed_match(hashed, &name);
    }
    let mut matched = false;
    for pattern in patterns.split(',') {
        let (negated, pattern) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern),
        };
        if wildcard_match(&pattern.to_ascii_lowercase(), &name.to_ascii_lowercase()) {
            if negated {
                return false;
            }
            matched = true;
        }
    }
    matched
}

/// `|1|salt|hash`: HMAC-SHA1 of the name keyed with the salt (`HashKnownHosts yes`).
fn hashed_match(hashed: &str, name: &str) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    let Some((salt, hash)) = hashed.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (b64.decode(salt), b64.decode(hash)) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(&salt) else {
        return false;
    };
    mac.update(name.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

/// OpenSSH's `*` and `?` patterns.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// OpenSSH's fingerprint of a key blob: `SHA256:<base64 without padding>`.
pub fn fingerprint(blob: &[u8]) -> String {
    let digest = Sha256::digest(blob);
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    )
}

/// The host-key algorithms to offer in the handshake for the known key types, best
/// first (an RSA key may be presented with SHA-2 signatures).
pub fn algorithms_for(keys: &[KnownKey]) -> Vec<&'static str> {
    let mut algs = Vec::new();
    for key in keys.iter().filter(|k| !k.revoked) {
        let names: &[&'static str] = match key.key_type.as_str() {
            "ssh-ed25519" => &["ssh-ed25519"],
            "ecdsa-sha2-nistp256" => &["ecdsa-sha2-nistp256"],
            "ecdsa-sha2-nistp384" => &["ecdsa-sha2-nistp384"],
            "ecdsa-sha2-nistp521" => &["ecdsa-sha2-nistp521"],
            "ssh-rsa" => &["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
            _ => &[],
        };
        for name in names {
            if !algs.contains(name) {
                algs.push(*name);
            }
        }
    }
    algs
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

    #[test]
    fn plain_wildcard_negated_and_port_forms() {
        let line = format!("web*,!web3,10.0.0.1 ssh-ed25519 {ED}");
        assert!(parse_line(&line, "web1", 22, "f:1").is_some());
        assert!(parse_line(&line, "web3", 22, "f:1").is_none());
        assert!(parse_line(&line, "10.0.0.1", 22, "f:1").is_some());
        assert!(parse_line(&line, "10.0.0.1", 2222, "f:1").is_none());
        let ported = format!("[127.0.1.5]:2222 ssh-ed25519 {ED}");
        assert!(parse_line(&ported, "127.0.1.5", 2222, "f:1").is_some());
        assert!(parse_line(&ported, "127.0.1.5", 22, "f:1").is_none());
        assert!(parse_line("# comment", "web1", 22, "f").is_none());
        assert!(parse_line(&format!("@cert-authority * ssh-ed25519 {ED}"), "a", 22, "f").is_none());
        assert!(
            parse_line(&format!("@revoked * ssh-ed25519 {ED}"), "a", 22, "f")
                .unwrap()
                .revoked
        );
    }

    #[test]
    fn hashed_names_match_as_openssh_writes_them() {
        // `ssh-keygen -H` output for the name "127.0.1.1".
        let b64 = base64::engine::general_purpose::STANDARD;
        let salt = [7u8; 20];
        let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(&salt).unwrap();
        mac.update(b"127.0.1.1");
        let hash = mac.finalize().into_bytes();
        let line = format!(
            "|1|{}|{} ssh-ed25519 {ED}",
            b64.encode(salt),
            b64.encode(hash)
        );
        assert!(parse_line(&line, "127.0.1.1", 22, "f").is_some());
        assert!(parse_line(&line, "127.0.1.2", 22, "f").is_none());
    }

    #[test]
    fn fingerprints_and_algorithms() {
        let blob = base64::engine::general_purpose::STANDARD
            .decode(ED)
            .unwrap();
        assert!(fingerprint(&blob).starts_with("SHA256:"));
        let key = |t: &str| KnownKey {
            key_type: t.into(),
            blob: Vec::new(),
            origin: String::new(),
            revoked: false,
        };
        assert_eq!(
            algorithms_for(&[key("ssh-rsa"), key("ssh-ed25519")]),
            ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", "ssh-ed25519"]
        );
    }
}
