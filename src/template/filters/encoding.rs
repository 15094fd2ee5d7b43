//! Encodings and digests: `b64encode`/`b64decode`, `hash`, `checksum`, `md5`, `sha1`.

use super::add_filter;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use md5::Md5;
use minijinja::value::{Kwargs, Value as MjValue};
use minijinja::{Environment, Error};
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use super::py_str;
use crate::template::errors::plugin_error;

pub(super) fn register(env: &mut Environment<'static>) {
    add_filter(env, "b64encode", b64encode);
    add_filter(env, "b64decode", b64decode);
    add_filter(env, "hash", hash);
    add_filter(env, "checksum", |v: &MjValue| digest_of(v, "sha1"));
    add_filter(env, "sha1", |v: &MjValue| digest_of(v, "sha1"));
    add_filter(env, "md5", |v: &MjValue| digest_of(v, "md5"));
}

fn b64encode(v: &MjValue, encoding: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let encoding = kwargs.get::<Option<String>>("encoding")?.or(encoding);
    kwargs.assert_all_used()?;
    let text = py_str(v)?;
    let bytes = match encoding.as_deref() {
        Some("utf-16-le") => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        _ => text.into_bytes(),
    };
    Ok(STANDARD.encode(bytes))
}

fn b64decode(v: &MjValue, encoding: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let encoding = kwargs.get::<Option<String>>("encoding")?.or(encoding);
    kwargs.assert_all_used()?;
    let text = py_str(v)?;
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|e| plugin_error(format!("b64decode: {e}")))?;
    Ok(match encoding.as_deref() {
        Some("utf-16-le") => String::from_utf16_lossy(
            &bytes
                .chunks(2)
                .map(|c| u16::from_le_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect::<Vec<_>>(),
        ),
        _ => String::from_utf8_lossy(&bytes).into_owned(),
    })
}

fn hash(v: &MjValue, algorithm: Option<String>) -> Result<String, Error> {
    digest_of(v, algorithm.as_deref().unwrap_or("sha1"))
}

fn hex<D: Digest>(data: &[u8]) -> String {
    D::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

fn digest_of(v: &MjValue, algorithm: &str) -> Result<String, Error> {
    let text = py_str(v)?;
    let data = text.as_bytes();
    Ok(match algorithm {
        "md5" => hex::<Md5>(data),
        "sha1" => hex::<Sha1>(data),
        "sha224" => hex::<Sha224>(data),
        "sha256" => hex::<Sha256>(data),
        "sha384" => hex::<Sha384>(data),
        "sha512" => hex::<Sha512>(data),
        other => return Err(plugin_error(format!("unsupported hash type {other}"))),
    })
}
