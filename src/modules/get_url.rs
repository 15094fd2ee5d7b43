//! `get_url`: download a URL to a file on the host, from the host (see [`http`](crate::modules::http)).
//!
//! As Ansible: an existing `dest` with a matching `checksum` is not downloaded again;
//! without `force` an existing file is asked for with `If-Modified-Since` (a `304`
//! keeps it); a download replaces `dest` only when its sha1 differs, after the
//! `checksum` (`algo:hex`) is verified; `dest` may be a directory (the name then comes
//! from `Content-Disposition` or the URL). Check mode asks with `HEAD` and reports a
//! change unless the file is known to be current. Checksums are computed on the host.
//!
//! Not supported: a checksum given as a URL, `tmp_dest`, `ciphers`, `decompress`
//! (curl never decompresses unasked), `use_netrc`, `unredirected_headers`, client
//! certificates, GSSAPI, SELinux attributes.

use chrono::{DateTime, Utc};

use crate::connection::Connection;
use crate::modules::files::{self, AttrParams};
use crate::modules::http::{self, Request, Response};
use crate::modules::remote::{self, ScratchDir};
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param, content,
};
use crate::value::{Map, Value};

pub struct GetUrl;

const ALGORITHMS: &[&str] = &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("url", Kind::Str).required(),
    Param::new("dest", Kind::Path).required(),
    Param::new("backup", Kind::Bool).default("no"),
    Param::new("checksum", Kind::Str).default(""),
    Param::new("force", Kind::Bool).default("no"),
    Param::new("timeout", Kind::Int).default("10"),
    Param::new("headers", Kind::Dict),
    Param::new("validate_certs", Kind::Bool).default("yes"),
    Param::new("url_username", Kind::Str).aliases(&["username"]),
    Param::new("url_password", Kind::Str).aliases(&["password"]),
    Param::new("force_basic_auth", Kind::Bool).default("no"),
    Param::new("http_agent", Kind::Str).default("ansible-httpget"),
    Param::new("use_proxy", Kind::Bool).default("yes"),
    Param::new("mode", Kind::Mode),
    Param::new("owner", Kind::Str),
    Param::new("group", Kind::Str),
]);

impl Module for GetUrl {
    fn name(&self) -> &'static str {
        "get_url"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let url = args.str("url").unwrap_or_default().to_string();
        let dest = files::expand_user(ctx.conn, args.str("dest").unwrap_or_default())?;
        let base = ModuleResult::ok()
            .with("url", url.clone())
            .with("dest", dest.clone())
            .with("elapsed", 0)
            .with("checksum_dest", Value::Null)
            .with("checksum_src", Value::Null);
        let checksum = match parse_checksum(args.str("checksum").unwrap_or_default()) {
            Ok(c) => c,
            Err(msg) => return Ok(failed(base, msg)),
        };
        let mut download = Download {
            args,
            url,
            dest,
            checksum,
            result: base,
        };
        download.run(ctx)
    }
}

/// `sha256:AB12…` → (`sha256`, `ab12…`); `""` → none.
fn parse_checksum(text: &str) -> Result<Option<(String, String)>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let Some((algorithm, hex)) = text.split_once(':') else {
        return Err("The checksum parameter has to be in format <algorithm>:<checksum>".into());
    };
    if hex.contains("://") {
        return Err(
            "a checksum given as a URL is not supported by srplay: give <algorithm>:<hex>".into(),
        );
    }
    if !ALGORITHMS.contains(&algorithm) {
        return Err(format!(
            "Unsupported hash algorithm '{algorithm}', choose one of: {}",
            ALGORITHMS.join(", ")
        ));
    }
    // Ansible drops separators (`ab:cd`, spaces) before checking the hex.
    let hex: String = hex
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("The checksum format is invalid".into());
    }
    Ok(Some((algorithm.to_string(), hex)))
}

fn failed(mut result: ModuleResult, msg: impl Into<String>) -> ModuleResult {
    result.failed = true;
    result.msg = Some(msg.into());
    result
}

struct Download<'a> {
    args: &'a Args,
    url: String,
    dest: String,
    checksum: Option<(String, String)>,
    result: ModuleResult,
}

impl Download<'_> {
    fn run(&mut self, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let conn = &mut *ctx.conn;
        let dest_stat = conn.stat(&self.dest, true)?;
        let dest_is_dir = dest_stat
            .as_ref()
            .is_some_and(|st| st.kind == crate::connection::FileKind::Dir);
        let mut force = self.args.bool("force");
        let mut if_modified_since = None;
        if let Some(st) = dest_stat.as_ref().filter(|_| !dest_is_dir) {
            if let (false, Some((algorithm, wanted))) = (force, &self.checksum) {
                if remote::digest(conn, algorithm, &self.dest)? == *wanted {
                    return self.already_there(ctx);
                }
                force = true;
            }
            if !force {
                if_modified_since = DateTime::<Utc>::from_timestamp(st.mtime as i64, 0);
            }
        }
        let scratch = ScratchDir::create(conn)?;
        let tmpsrc = scratch.file("download");
        let outcome = self.download(ctx, &tmpsrc, if_modified_since, dest_is_dir);
        scratch.remove(ctx.conn)?;
        outcome
    }

    /// The file is there with the right checksum: only its attributes may change.
    fn already_there(&mut self, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let attrs = AttrParams::from_args(self.args);
        let changed =
            files::apply_attrs(ctx.conn, &self.dest, &attrs, true, ctx.check_mode)?.changed;
        let mut result = std::mem::take(&mut self.result);
        result.changed = changed;
        result.msg = Some(if changed {
            "file already exists but file attributes changed".into()
        } else {
            "file already exists".into()
        });
        add_path_info(ctx.conn, result, &self.dest)
    }

    fn request(&self, method: &str, if_modified_since: Option<DateTime<Utc>>) -> Request {
        let mut headers: Vec<(String, String)> = self
            .args
            .dict("headers")
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.clone(), crate::value::to_display_string(v)))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(agent) = self.args.str("http_agent") {
            headers.push(("User-Agent".into(), agent.to_string()));
        }
        if let Some(t) = if_modified_since {
            headers.push((
                "If-Modified-Since".into(),
                t.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
            ));
        }
        Request {
            url: self.url.clone(),
            method: method.to_string(),
            headers,
            body: None,
            timeout: self.args.int("timeout").unwrap_or(10).max(1) as u64,
            validate_certs: self.args.bool("validate_certs"),
            username: self.args.str("url_username").map(str::to_string),
            password: self.args.str("url_password").map(str::to_string),
            follow_redirects: true,
            use_proxy: self.args.bool("use_proxy"),
        }
    }

    fn download(
        &mut self,
        ctx: &mut ModuleContext<'_>,
        tmpsrc: &str,
        if_modified_since: Option<DateTime<Utc>>,
        dest_is_dir: bool,
    ) -> Result<ModuleResult, ModuleError> {
        let method = if ctx.check_mode { "HEAD" } else { "GET" };
        let req = self.request(method, if_modified_since);
        let start = std::time::Instant::now();
        let answer = http::fetch(ctx.conn, &req, tmpsrc)?;
        let elapsed = start.elapsed().as_secs();
        self.result.data.insert("elapsed".into(), elapsed.into());
        // A request that failed reports no checksums, as Ansible's `url_get` exits early.
        if !matches!(&answer, Ok(r) if r.status == Some(200) || self.url.starts_with("file:/")) {
            self.result.data.shift_remove("checksum_src");
            self.result.data.shift_remove("checksum_dest");
        }
        let resp = match answer {
            Err(e) => {
                let result = std::mem::take(&mut self.result);
                return Ok(failed(result, format!("Request failed: {}", e.0)));
            }
            Ok(resp) => resp,
        };
        if resp.status == Some(304) {
            let result = std::mem::take(&mut self.result)
                .with("status_code", 304)
                .with_msg("HTTP Error 304: Not Modified");
            return add_path_info(ctx.conn, result, &self.dest);
        }
        let is_file_url = self.url.starts_with("file:/");
        if resp.status != Some(200) && !is_file_url {
            let result = std::mem::take(&mut self.result)
                .with("status_code", status_value(&resp))
                .with("response", resp.http_error());
            return Ok(failed(result, "Request failed"));
        }
        if dest_is_dir {
            self.dest = format!("{}/{}", self.dest.trim_end_matches('/'), resp.filename());
            self.result
                .data
                .insert("dest".into(), self.dest.clone().into());
        }
        self.result.data.insert("src".into(), tmpsrc.into());
        self.install(ctx, tmpsrc, &resp)
    }

    /// Verify the download and put it in place if it differs from `dest`.
    fn install(
        &mut self,
        ctx: &mut ModuleContext<'_>,
        tmpsrc: &str,
        resp: &Response,
    ) -> Result<ModuleResult, ModuleError> {
        let conn = &mut *ctx.conn;
        // In check mode a HEAD brought no body: there is nothing to compare.
        let checksum_src = if ctx.check_mode && conn.stat(tmpsrc, true)?.is_none() {
            files::sha1_hex(b"")
        } else {
            remote::digest(conn, "sha1", tmpsrc)?
        };
        self.result
            .data
            .insert("checksum_src".into(), checksum_src.clone().into());
        let existing = conn.stat(&self.dest, true)?;
        let checksum_dest = match &existing {
            Some(_) => Some(remote::digest(conn, "sha1", &self.dest)?),
            None => {
                let parent = files::parent_dir(&self.dest);
                if conn.stat(&parent, true)?.is_none() {
                    let result = std::mem::take(&mut self.result);
                    return Ok(failed(
                        result,
                        format!("Destination {parent} does not exist"),
                    ));
                }
                None
            }
        };
        if let Some(sum) = &checksum_dest {
            self.result
                .data
                .insert("checksum_dest".into(), sum.clone().into());
        }
        let differs = checksum_dest.as_deref() != Some(checksum_src.as_str());
        if ctx.check_mode {
            let mut result = std::mem::take(&mut self.result).with_msg(resp.ok_msg());
            result.changed = differs;
            return Ok(result);
        }
        if let Some((algorithm, wanted)) = &self.checksum {
            let got = remote::digest(conn, algorithm, tmpsrc)?;
            if got != *wanted {
                let result = std::mem::take(&mut self.result);
                return Ok(failed(
                    result,
                    format!("The checksum for {tmpsrc} did not match {wanted}; it was {got}."),
                ));
            }
        }
        let attrs = AttrParams::from_args(self.args);
        let mut changed = false;
        if differs {
            if self.args.bool("backup") && existing.is_some() {
                let backup = content::backup_name(&self.dest);
                remote::run_ok(conn, &["cp", "-p", "--", &self.dest, &backup])?;
                self.result.data.insert("backup_file".into(), backup.into());
            }
            let wanted = attrs.for_replacement(existing.as_ref())?;
            remote::install(conn, tmpsrc, &self.dest, &wanted)?;
            changed = true;
        }
        changed |= files::apply_attrs(conn, &self.dest, &attrs, true, false)?.changed;
        let md5 = remote::digest(conn, "md5", &self.dest)?;
        let mut result = std::mem::take(&mut self.result)
            .with("md5sum", md5)
            .with("status_code", status_value(resp))
            .with_msg(resp.ok_msg());
        result.changed = changed;
        add_path_info(conn, result, &self.dest)
    }
}

fn status_value(resp: &Response) -> Value {
    resp.status.map_or(Value::Null, Value::from)
}

/// Ansible adds the path facts (`mode`, `owner`, `size`, `state`…) of `dest` to a result.
fn add_path_info(
    conn: &mut dyn Connection,
    mut result: ModuleResult,
    dest: &str,
) -> Result<ModuleResult, ModuleError> {
    let info: Map = files::path_info(conn, dest)?;
    if info.get("state").and_then(Value::as_str) != Some("absent") {
        result.data.extend(info);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    fn host() -> FakeConnection {
        FakeConnection::new()
            .on("command -v curl", 0, "/usr/bin/curl")
            .on("^mktemp -d", 0, "/tmp/srplay.s\n")
            .on("^mktemp /srv/", 0, "/srv/.f.tar.abc\n")
    }

    #[test]
    fn checksums_parse_as_ansible() {
        assert_eq!(
            parse_checksum("sha256:AB:cd").unwrap(),
            Some(("sha256".into(), "abcd".into()))
        );
        assert!(
            parse_checksum("abcd")
                .unwrap_err()
                .contains("<algorithm>:<checksum>")
        );
        assert!(
            parse_checksum("sha256:xyz")
                .unwrap_err()
                .contains("invalid")
        );
        assert!(
            parse_checksum("crc:12")
                .unwrap_err()
                .contains("Unsupported")
        );
    }

    #[test]
    fn a_matching_checksum_skips_the_download() {
        let conn = host().file("/srv/f.tar", "data").on(
            "^sha256sum -- /srv/f.tar",
            0,
            "abcd  /srv/f.tar\n",
        );
        let mut h = Harness::fake(conn);
        let r = h.run(
            &GetUrl,
            json!({"url": "https://h/f.tar", "dest": "/srv/f.tar", "checksum": "sha256:ABCD"}),
        );
        assert!(!r.changed && !r.failed);
        assert_eq!(r.msg.as_deref(), Some("file already exists"));
        assert!(h.conn.ran("curl").is_empty());
    }

    #[test]
    fn a_new_download_is_verified_then_moved_into_place() {
        let conn = host()
            .dir("/srv")
            .on("^curl", 0, "https://h/f.tar")
            .writing("/tmp/srplay.s/headers", "HTTP/1.1 200 OK\r\n\r\n")
            .on("^sha1sum -- /tmp/srplay.s/download", 0, "1111  x\n")
            .on("^sha256sum -- /tmp/srplay.s/download", 0, "abcd  x\n")
            .on("^md5sum", 0, "m5  x\n")
            .on("^mv", 0, "")
            .writing("/srv/f.tar", "data");
        let mut h = Harness::fake(conn);
        let r = h.run(
            &GetUrl,
            json!({"url": "https://h/f.tar", "dest": "/srv/", "checksum": "sha256:abcd", "mode": "0755"}),
        );
        assert!(r.changed, "{r:?}");
        assert_eq!(r.data["dest"], json!("/srv/f.tar"));
        assert_eq!(r.data["checksum_src"], json!("1111"));
        assert_eq!(r.data["md5sum"], json!("m5"));
        assert_eq!(
            h.conn.ran("^(cp|mv)"),
            [
                "cp -- /tmp/srplay.s/download /srv/.f.tar.abc",
                "mv -f -- /srv/.f.tar.abc /srv/f.tar"
            ]
        );
    }

    #[test]
    fn a_bad_checksum_fails_and_leaves_dest_alone() {
        let conn = host()
            .dir("/srv")
            .on("^curl", 0, "")
            .writing("/tmp/srplay.s/headers", "HTTP/1.1 200 OK\r\n\r\n")
            .on("^sha1sum", 0, "1111  x\n")
            .on("^sha256sum", 0, "ffff  x\n");
        let mut h = Harness::fake(conn);
        let r = h.run(
            &GetUrl,
            json!({"url": "https://h/f.tar", "dest": "/srv/f.tar", "checksum": "sha256:abcd"}),
        );
        assert!(r.failed);
        assert!(r.msg.unwrap().contains("did not match abcd; it was ffff"));
        assert!(h.conn.ran("^mv").is_empty());
    }

    #[test]
    fn an_existing_file_is_asked_for_if_modified() {
        let conn = host().file("/srv/f.tar", "data").on("^curl", 0, "");
        let mut h = Harness::fake(conn);
        h.run(
            &GetUrl,
            json!({"url": "https://h/f.tar", "dest": "/srv/f.tar"}),
        );
        // The header went into the config file, not on the command line.
        assert_eq!(
            h.conn.ran("^curl"),
            ["curl --config /tmp/srplay.s/curl.conf"]
        );
        assert!(h.conn.ran("If-Modified-Since").is_empty());
    }
}
