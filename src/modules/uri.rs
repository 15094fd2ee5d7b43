//! `uri`: an HTTP request made from the host (see [`http`](crate::modules::http)), returning what Ansible
//! returns: `status`, `url`, `redirected`, `msg`, every response header as a key
//! (`content_type`…), `cookies`, `json` for a JSON answer, `content` with
//! `return_content`, and with `dest` the body saved there (`path` and its facts).
//! A status not in `status_code` fails. Not run in check mode, as in Ansible.
//!
//! Not supported: `body_format: form-multipart`, `src`, `unix_socket`, `ca_path`,
//! client certificates, `ciphers`, `decompress`, `use_netrc`,
//! `unredirected_headers`.

use crate::connection::FileAttrs;
use crate::modules::files::{self, AttrParams};
use crate::modules::http::{self, Request};
use crate::modules::remote::{self, ScratchDir};
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::{self, Map, Value};

pub struct Uri;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("url", Kind::Str).required(),
    Param::new("method", Kind::Str).default("GET"),
    Param::new("body", Kind::Raw),
    Param::new("body_format", Kind::Str)
        .default("raw")
        .choices(&["form-urlencoded", "json", "raw"]),
    Param::new("headers", Kind::Dict),
    Param::new("status_code", Kind::List).default("200"),
    Param::new("return_content", Kind::Bool).default("no"),
    Param::new("dest", Kind::Path),
    Param::new("creates", Kind::Path),
    Param::new("removes", Kind::Path),
    Param::new("timeout", Kind::Int).default("30"),
    Param::new("validate_certs", Kind::Bool).default("yes"),
    Param::new("url_username", Kind::Str).aliases(&["user"]),
    Param::new("url_password", Kind::Str).aliases(&["password"]),
    Param::new("force_basic_auth", Kind::Bool).default("no"),
    Param::new("follow_redirects", Kind::Str)
        .default("safe")
        .choices(&["all", "no", "none", "safe", "urllib2", "yes"]),
    Param::new("http_agent", Kind::Str).default("ansible-httpget"),
    Param::new("use_proxy", Kind::Bool).default("yes"),
    Param::new("mode", Kind::Mode),
    Param::new("owner", Kind::Str),
    Param::new("group", Kind::Str),
]);

impl Module for Uri {
    fn name(&self) -> &'static str {
        "uri"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        if ctx.check_mode {
            return Ok(ModuleResult::not_in_check_mode(self.name()));
        }
        let url = args.str("url").unwrap_or_default().to_string();
        let method = args.str("method").unwrap_or("GET").to_ascii_uppercase();
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Ok(ModuleResult::failed(
                "Parameter 'method' needs to be a single word in uppercase, like GET or POST.",
            ));
        }
        let mut status_codes = Vec::new();
        for code in args.list("status_code") {
            match code.trim().parse::<i64>() {
                Ok(c) => status_codes.push(c),
                Err(_) => {
                    return Ok(ModuleResult::failed(format!(
                        "status_code: '{code}' is not an int"
                    )));
                }
            }
        }
        if let Some(skip) = creates_or_removes(ctx, args)? {
            return Ok(skip);
        }
        let mut headers: Vec<(String, String)> = args
            .dict("headers")
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.clone(), value::to_display_string(v)))
                    .collect()
            })
            .unwrap_or_default();
        let body = match encode_body(args, &mut headers) {
            Ok(body) => body,
            Err(msg) => return Ok(ModuleResult::failed(msg).with("elapsed", 0)),
        };
        if let Some(agent) = args.str("http_agent") {
            headers.push(("User-Agent".into(), agent.to_string()));
        }
        let follow = match args.str("follow_redirects").unwrap_or("safe") {
            "no" | "none" => false,
            "safe" => matches!(method.as_str(), "GET" | "HEAD"),
            _ => true,
        };
        let req = Request {
            url: url.clone(),
            method,
            headers,
            body,
            timeout: args.int("timeout").unwrap_or(30).max(1) as u64,
            validate_certs: args.bool("validate_certs"),
            username: args.str("url_username").map(str::to_string),
            password: args.str("url_password").map(str::to_string),
            follow_redirects: follow,
            use_proxy: args.bool("use_proxy"),
        };
        let scratch = ScratchDir::create(ctx.conn)?;
        let result = request(ctx, args, &req, &status_codes, &scratch);
        scratch.remove(ctx.conn)?;
        result
    }
}

/// `creates`/`removes`: the request is not made, as `command`'s are.
fn creates_or_removes(
    ctx: &mut ModuleContext<'_>,
    args: &Args,
) -> Result<Option<ModuleResult>, String> {
    if let Some(path) = args.str("creates")
        && ctx.conn.stat(path, true)?.is_some()
    {
        return Ok(Some(
            ModuleResult::ok().with("stdout", format!("skipped, since '{path}' exists")),
        ));
    }
    if let Some(path) = args.str("removes")
        && ctx.conn.stat(path, true)?.is_none()
    {
        return Ok(Some(ModuleResult::ok().with(
            "stdout",
            format!("skipped, since '{path}' does not exist"),
        )));
    }
    Ok(None)
}

/// The request body as `body_format` says, with the Content-Type it implies unless a
/// header gives one.
fn encode_body(
    args: &Args,
    headers: &mut Vec<(String, String)>,
) -> Result<Option<Vec<u8>>, String> {
    let Some(body) = args.get("body") else {
        return Ok(None);
    };
    let (text, content_type) = match args.str("body_format").unwrap_or("raw") {
        "json" => (
            match body {
                Value::String(s) => s.clone(),
                other => value::json_dumps_with(
                    other,
                    &value::JsonFormat {
                        ensure_ascii: true,
                        ..value::JsonFormat::default()
                    },
                ),
            },
            Some("application/json"),
        ),
        "form-urlencoded" => (
            match body {
                Value::String(s) => s.clone(),
                Value::Object(map) => form_urlencode(map),
                _ => return Err("failed to parse body as form_urlencoded: expected a dict".into()),
            },
            Some("application/x-www-form-urlencoded"),
        ),
        _ => (value::to_display_string(body), None),
    };
    if let Some(ct) = content_type
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("Content-Type".into(), ct.into()));
    }
    Ok(Some(text.into_bytes()))
}

/// Python's `urlencode(..., doseq=True)`: `k=v&k=w` with `+` for spaces.
fn form_urlencode(map: &Map) -> String {
    let quote = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b' ' => "+".to_string(),
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                    (b as char).to_string()
                }
                b => format!("%{b:02X}"),
            })
            .collect()
    };
    let mut pairs = Vec::new();
    for (k, v) in map {
        let values = match v {
            Value::Array(items) => items.iter().map(value::to_display_string).collect(),
            other => vec![value::to_display_string(other)],
        };
        for v in values {
            pairs.push(format!("{}={}", quote(k), quote(&v)));
        }
    }
    pairs.join("&")
}

fn request(
    ctx: &mut ModuleContext<'_>,
    args: &Args,
    req: &Request,
    status_codes: &[i64],
    scratch: &ScratchDir,
) -> Result<ModuleResult, ModuleError> {
    let body_file = scratch.file("body");
    let start = std::time::Instant::now();
    let answer = http::fetch(ctx.conn, req, &body_file)?;
    let elapsed = start.elapsed().as_secs();
    let codes = format!(
        "[{}]",
        status_codes
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let resp = match answer {
        Ok(resp) => resp,
        Err(e) => {
            return Ok(ModuleResult::failed(format!(
                "Status code was -1 and not {codes}: Request failed: {}",
                e.0
            ))
            .with("elapsed", elapsed)
            .with("redirected", false)
            .with("status", -1)
            .with("url", req.url.clone()));
        }
    };
    let status = resp.status.map_or(-1, i64::from);
    let accepted = status_codes.contains(&status);
    let mut result = ModuleResult::ok();
    let mut cookies = Map::new();
    for (name, v) in &resp.headers {
        let key = name.replace('-', "_");
        let joined = match result.data.get(&key).and_then(Value::as_str) {
            Some(prev) => format!("{prev}, {v}"),
            None => v.clone(),
        };
        result.data.insert(key, joined.into());
        if name == "set-cookie"
            && let Some((cname, cvalue)) = v.split(';').next().and_then(|c| c.split_once('='))
        {
            cookies.insert(cname.trim().into(), cvalue.trim().into());
        }
    }
    if let Some(location) = result.data.get("location").and_then(Value::as_str) {
        let joined = join_url(&req.url, location);
        result.data.insert("location".into(), joined.into());
    }
    let cookies_string = cookies
        .iter()
        .map(|(k, v)| format!("{k}={}", value::to_display_string(v)))
        .collect::<Vec<_>>()
        .join("; ");
    // Python's urllib reports cookies only for a response it did not raise on.
    if status < 400 {
        result = result
            .with("cookies_string", cookies_string)
            .with("cookies", cookies);
    }
    result = result
        .with("elapsed", elapsed)
        .with("redirected", resp.url != req.url)
        .with("status", status)
        .with("url", resp.url.clone());
    let content_type = resp
        .header("content-type")
        .unwrap_or("application/octet-stream");
    let subtype = content_type
        .split(';')
        .next()
        .and_then(|t| t.split_once('/'))
        .map(|(_, sub)| {
            sub.rsplit('+')
                .next()
                .unwrap_or(sub)
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let maybe_json = matches!(subtype.as_str(), "json" | "javascript");
    let return_content = args.bool("return_content");
    let content = if maybe_json || return_content || !accepted {
        let data = ctx.conn.read_file(&body_file).unwrap_or_default();
        Some(String::from_utf8_lossy(&data).into_owned())
    } else {
        None
    };
    if let Some(dest) = args.str("dest") {
        let dest = files::expand_user(ctx.conn, dest)?;
        let dest = match ctx.conn.stat(&dest, true)? {
            Some(st) if st.kind == crate::connection::FileKind::Dir => {
                format!("{}/{}", dest.trim_end_matches('/'), resp.filename())
            }
            _ => dest,
        };
        if accepted && status != 304 {
            if ctx.conn.stat(&body_file, true)?.is_none() {
                ctx.conn
                    .write_file(&body_file, b"", &FileAttrs::default())?;
            }
            let attrs = AttrParams::from_args(args);
            let existing = ctx.conn.stat(&dest, true)?;
            let wanted = attrs.for_replacement(existing.as_ref())?;
            remote::install(ctx.conn, &body_file, &dest, &wanted)?;
            result.changed = true;
            result.data.extend(files::path_info(ctx.conn, &dest)?);
        }
        result.data.insert("path".into(), dest.into());
    }
    if let (true, Some(text)) = (maybe_json, &content)
        && let Ok(json) = serde_json::from_str::<Value>(text)
    {
        result.data.insert("json".into(), json);
    }
    if return_content && let Some(text) = content {
        result.data.insert("content".into(), text.into());
    }
    if accepted {
        result.msg = Some(resp.ok_msg());
    } else {
        result.failed = true;
        result.msg = Some(format!(
            "Status code was {status} and not {codes}: HTTP Error {status}: {}",
            resp.reason
        ));
    }
    Ok(result)
}

/// A `Location` header made absolute against the request URL, as `urljoin` does for
/// the usual cases (absolute URL, `/path`, relative path).
fn join_url(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    let host = rest.split('/').next().unwrap_or(rest);
    if location.starts_with('/') {
        return format!("{scheme}://{host}{location}");
    }
    let path = rest.split(['?', '#']).next().unwrap_or(rest);
    let dir = path.rsplit_once('/').map_or(host, |(d, _)| d);
    format!("{scheme}://{dir}/{location}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{FakeConnection, Harness};
    use serde_json::json;

    /// The dump curl leaves in the request's own scratch directory (the second one).
    const HEADERS: &str = "/tmp/srplay.f/headers";

    fn host(dump: &str, body: &str) -> FakeConnection {
        FakeConnection::new()
            .on("command -v curl", 0, "/usr/bin/curl")
            .once("^mktemp -d", 0, "/tmp/srplay.u\n")
            .on("^mktemp -d", 0, "/tmp/srplay.f\n")
            .on("^curl", 0, "http://api/v1/x")
            .writing(HEADERS, dump)
            .writing("/tmp/srplay.u/body", body)
    }

    #[test]
    fn a_json_answer_is_parsed_and_headers_become_keys() {
        let conn = host(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 8\r\nSet-Cookie: sid=abc; Path=/\r\n\r\n",
            "{\"a\": 1}",
        );
        let mut h = Harness::fake(conn);
        let r = h.run(&Uri, json!({"url": "http://api/v1/x"}));
        assert!(!r.failed && !r.changed, "{r:?}");
        assert_eq!(r.data["json"], json!({"a": 1}));
        assert_eq!(r.data["content_type"], json!("application/json"));
        assert_eq!(r.data["cookies"], json!({"sid": "abc"}));
        assert_eq!(r.data["status"], json!(200));
        assert_eq!(r.msg.as_deref(), Some("OK (8 bytes)"));
        assert!(!r.data.contains_key("content"));
    }

    #[test]
    fn an_unexpected_status_fails_with_ansibles_message() {
        let conn = host("HTTP/1.1 404 Not Found\r\n\r\n", "nope");
        let mut h = Harness::fake(conn);
        let r = h.run(
            &Uri,
            json!({"url": "http://api/v1/x", "status_code": [200, 201], "return_content": true}),
        );
        assert!(r.failed);
        assert_eq!(
            r.msg.as_deref(),
            Some("Status code was 404 and not [200, 201]: HTTP Error 404: Not Found")
        );
        assert_eq!(r.data["content"], json!("nope"));
    }

    #[test]
    fn bodies_are_encoded_as_body_format_says() {
        let mut h = Harness::fake(host("HTTP/1.1 201 Created\r\n\r\n", ""));
        let r = h.run(
            &Uri,
            json!({"url": "http://api/v1/x", "method": "post", "body_format": "json",
                   "body": {"name": "é"}, "status_code": "201"}),
        );
        assert!(!r.failed, "{r:?}");
        assert_eq!(
            encode_body(
                &SPEC.validate("uri", json!({"url": "u", "body": {"k": "a b", "l": [1, 2]}, "body_format": "form-urlencoded"}).as_object().unwrap()).unwrap(),
                &mut Vec::new()
            )
            .unwrap()
            .unwrap(),
            b"k=a+b&l=1&l=2"
        );
    }

    #[test]
    fn check_mode_skips_and_creates_short_circuits() {
        let mut h = Harness::fake(FakeConnection::new()).check();
        assert!(h.run(&Uri, json!({"url": "http://x/"})).skipped);
        let mut h = Harness::fake(FakeConnection::new().file("/done", ""));
        let r = h.run(&Uri, json!({"url": "http://x/", "creates": "/done"}));
        assert_eq!(r.data["stdout"], json!("skipped, since '/done' exists"));
        assert!(h.conn.log.is_empty());
    }

    #[test]
    fn locations_are_made_absolute() {
        assert_eq!(join_url("http://h:8/a/b?q", "/c"), "http://h:8/c");
        assert_eq!(join_url("http://h/a/b", "c"), "http://h/a/c");
        assert_eq!(join_url("http://h/a", "https://o/"), "https://o/");
    }
}
