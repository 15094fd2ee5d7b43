//! Offline bundles: one `.tar.gz` holding this srplay binary, the roles, playbooks,
//! inventory and local package source of an installer tree, with the SHA-256 sum of
//! every file (`docs/bundle.md` is the user's guide).
//!
//! - [`create`] packs a source tree, deterministically and atomically.
//! - [`verify`] streams a bundle and checks every entry against the manifest.
//! - [`extract`] does the same checks while writing into a temporary directory beside
//!   the target, and renames it into place only when everything matched.
//!
//! A bundle holds only directories and regular files under one top directory: links
//! inside the source tree are packed as the files they point to, links out of it are
//! refused, and a reader refuses any link, device or path that is not plainly inside.

mod create;
mod extract;
mod info;
mod layout;
mod manifest;
mod read;

pub use create::{CreateOptions, Created, create};
pub use extract::{Extracted, extract};
pub use info::{BundleInfo, top_dir};
pub use read::{Verified, verify};

/// Why `path` (relative, `/`-separated) cannot name an entry of a bundle, if it cannot:
/// the one rule for what create packs, what the manifest lists and what readers accept.
fn bad_path(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("an empty path");
    }
    if path.starts_with('/') {
        return Some("an absolute path");
    }
    // `sha256sum` escapes names with a backslash or a newline; such names are refused
    // rather than escaped, so the manifest stays one plain line per file.
    if path.chars().any(|c| c == '\\' || c.is_control()) {
        return Some("a backslash or control character in the name");
    }
    for part in path.split('/') {
        match part {
            "" => return Some("an empty path component (`//`)"),
            "." | ".." => return Some("a `.` or `..` path component"),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::bad_path;

    #[test]
    fn only_plain_relative_paths_are_accepted() {
        assert_eq!(bad_path("srplay-bundle-1/roles/a/tasks/main.yml"), None);
        assert_eq!(bad_path("a/.hidden"), None);
        for bad in [
            "",
            "/etc/passwd",
            "a/../../etc",
            "..",
            "./a",
            "a//b",
            "a/b\nc",
            "a\\b",
        ] {
            assert!(bad_path(bad).is_some(), "{bad:?} accepted");
        }
    }
}
