//! `bundle.json`: what a bundle is, for people and for `verify`. It is listed in the
//! manifest like any other file, so it cannot be changed unnoticed.

use serde::{Deserialize, Serialize};

/// The file name of the description, at the top of the bundle.
pub const INFO_NAME: &str = "bundle.json";

/// The layout version this srplay writes and reads. A reader refuses another one
/// rather than guess at a layout it does not know.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleInfo {
    pub format: u32,
    /// The version of the srplay that made the bundle (and that it carries).
    pub srplay_version: String,
    /// When it was made, UTC, RFC 3339 (`SOURCE_DATE_EPOCH` when that is set).
    pub created: String,
    /// The packed files: every file of the manifest except `bundle.json` itself.
    pub files: u64,
    /// Their total size in bytes.
    pub bytes: u64,
}

impl BundleInfo {
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("plain struct serializes");
        text.push('\n');
        text
    }

    pub fn parse(text: &[u8]) -> Result<BundleInfo, String> {
        let info: BundleInfo =
            serde_json::from_slice(text).map_err(|e| format!("{INFO_NAME} is not valid: {e}"))?;
        if info.format != FORMAT {
            return Err(format!(
                "{INFO_NAME} says format {}, this srplay reads format {FORMAT}",
                info.format
            ));
        }
        Ok(info)
    }
}

/// The name of the one top directory every entry of a bundle is under.
pub fn top_dir(version: &str) -> String {
    format!("srplay-bundle-{version}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_unknown_format_refused() {
        let info = BundleInfo {
            format: FORMAT,
            srplay_version: "0.1.0".into(),
            created: "2026-11-23T00:00:00Z".into(),
            files: 3,
            bytes: 42,
        };
        assert_eq!(
            BundleInfo::parse(info.to_json().as_bytes()),
            Ok(info.clone())
        );
        let future = info.to_json().replace("\"format\": 1", "\"format\": 2");
        let err = BundleInfo::parse(future.as_bytes()).unwrap_err();
        assert!(err.contains("format 2"), "{err}");
    }
}
