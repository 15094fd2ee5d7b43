//! HTTP requests made from the host, as `get_url` and `uri` make them in Ansible (in
//! an air-gapped site only the host can reach the URL): `curl`, else GNU `wget`, run
//! on the host through the connection. Credentials, headers and the URL go into a
//! 0600 config file in a private scratch directory, never onto a command line; a
//! request body goes on stdin. `file://` URLs are copied on the host without either.

use crate::connection::{Connection, ExecRequest, FileAttrs};
use crate::modules::remote::{self, ScratchDir};

/// One request.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub url: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// Seconds to wait for the connection and between bytes.
    pub timeout: u64,
    pub validate_certs: bool,
    pub username: Option<String>,
    pub password: Option<String>,
    pub follow_redirects: bool,
    /// Go through the host's `*_proxy` environment variables (curl and wget's default).
    pub use_proxy: bool,
}

/// What came back. `status` is `None` for a `file://` URL (as Ansible reports it).
#[derive(Clone, Debug, Default)]
pub struct Response {
    pub status: Option<u16>,
    /// The status line's reason phrase (`Not Found`); empty over HTTP/2.
    pub reason: String,
    /// Header names lowercased, in the order received, of the last response.
    pub headers: Vec<(String, String)>,
    /// The URL the response came from, after redirects.
    pub url: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The file name for a directory `dest`: `Content-Disposition`'s `filename`, else
    /// the last part of the URL's path, else `index.html`.
    pub fn filename(&self) -> String {
        if let Some(name) = self
            .header("content-disposition")
            .and_then(|cd| {
                cd.split(';')
                    .find_map(|p| p.trim().strip_prefix("filename="))
            })
            .map(|n| n.trim_matches('"'))
            .and_then(|n| n.rsplit('/').next())
            .filter(|n| !n.is_empty())
        {
            return name.to_string();
        }
        let path = self.url.split(['?', '#']).next().unwrap_or("");
        let path = path
            .split_once("://")
            .map_or(path, |(_, rest)| rest.find('/').map_or("", |i| &rest[i..]));
        match path.rsplit('/').next() {
            Some(name) if !name.is_empty() => name.to_string(),
            _ => "index.html".to_string(),
        }
    }

    /// Python's `HTTPError` text, which Ansible reports: `HTTP Error 404: Not Found`.
    pub fn http_error(&self) -> String {
        format!("HTTP Error {}: {}", self.status.unwrap_or(0), self.reason)
    }

    /// Ansible's `msg` for a response it accepted: `OK (N bytes)`, from Content-Length.
    pub fn ok_msg(&self) -> String {
        format!(
            "OK ({} bytes)",
            self.header("content-length").unwrap_or("unknown")
        )
    }
}

/// A request that got no HTTP answer at all (DNS, refused, TLS, missing file).
#[derive(Clone, Debug)]
pub struct TransportError(pub String);

/// Make `req` from the host, writing the response body to `out` (a host path).
/// `Err(String)` is a fault of srplay or the host (no tool); `Ok(Err(..))` is a
/// request that failed in transit, which the modules report in Ansible's words.
pub fn fetch(
    conn: &mut dyn Connection,
    req: &Request,
    out: &str,
) -> Result<Result<Response, TransportError>, String> {
    if let Some(path) = req.url.strip_prefix("file://") {
        return copy_local_url(conn, &percent_decode(path), out, &req.url);
    }
    let tool = remote::find_tool(conn, &["curl", "wget"])?.ok_or_else(|| {
        format!(
            "neither curl nor wget is installed on the host: one is needed to fetch {}",
            req.url
        )
    })?;
    let scratch = ScratchDir::create(conn)?;
    let result = match tool.as_str() {
        "curl" => with_curl(conn, req, out, &scratch),
        _ => with_wget(conn, req, out, &scratch),
    };
    scratch.remove(conn)?;
    result
}

/// GET `url` into the host file `out`, as Ansible's `fetch_url` does for the modules
/// that download a file (apt's `deb`, apt_key's and rpm_key's `url`): redirects
/// followed, the host's proxy settings used, 10 s timeout. `Ok(Err(msg))` when the
/// request fails in transit or the server answers other than 2xx (`msg` as Ansible's
/// `info['msg']`: `HTTP Error 404: Not Found`, `Request failed: ...`).
pub fn download(
    conn: &mut dyn Connection,
    url: &str,
    validate_certs: bool,
    out: &str,
) -> Result<Result<(), String>, String> {
    let req = Request {
        url: url.to_string(),
        method: "GET".to_string(),
        timeout: 10,
        validate_certs,
        follow_redirects: true,
        use_proxy: true,
        ..Request::default()
    };
    Ok(match fetch(conn, &req, out)? {
        Err(TransportError(msg)) => Err(format!("Request failed: {msg}")),
        Ok(resp) => match resp.status {
            // Over HTTP/2 there is no reason phrase: no trailing space then.
            Some(code) if !(200..300).contains(&code) => {
                Err(resp.http_error().trim_end().to_string())
            }
            _ => Ok(()),
        },
    })
}

/// The body at `url` as bytes (a key file, binary or armored), fetched by the host
/// into a private scratch file and read back unchanged; errors as [`download`]'s.
pub fn download_bytes(
    conn: &mut dyn Connection,
    url: &str,
    validate_certs: bool,
) -> Result<Result<Vec<u8>, String>, String> {
    let scratch = ScratchDir::create(conn)?;
    let out = scratch.file("body");
    let body = match download(conn, url, validate_certs, &out)? {
        Ok(()) => Ok(conn.read_file(&out)?),
        Err(msg) => Err(msg),
    };
    scratch.remove(conn)?;
    Ok(body)
}

fn copy_local_url(
    conn: &mut dyn Connection,
    path: &str,
    out: &str,
    url: &str,
) -> Result<Result<Response, TransportError>, String> {
    let Some(st) = conn.stat(path, true)? else {
        return Ok(Err(TransportError(format!(
            "<urlopen error [Errno 2] No such file or directory: '{path}'>"
        ))));
    };
    remote::run_ok(conn, &["cp", "--", path, out])?;
    Ok(Ok(Response {
        status: None,
        reason: String::new(),
        headers: vec![("content-length".into(), st.size.to_string())],
        url: url.to_string(),
    }))
}

/// `%20` → space, as a `file://` URL's path is written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A value in a curl config file: double-quoted, with `\` escapes.
fn curl_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn with_curl(
    conn: &mut dyn Connection,
    req: &Request,
    out: &str,
    scratch: &ScratchDir,
) -> Result<Result<Response, TransportError>, String> {
    let headers_file = scratch.file("headers");
    let mut cfg = vec![
        format!("url = {}", curl_quote(&req.url)),
        format!("output = {}", curl_quote(out)),
        format!("dump-header = {}", curl_quote(&headers_file)),
        "silent".to_string(),
        "show-error".to_string(),
        format!("write-out = {}", curl_quote("%{url_effective}")),
        format!("connect-timeout = {}", req.timeout),
        // A stalled transfer (under one byte a second for `timeout` seconds) fails,
        // as a socket read timeout does in Ansible; a slow big download does not.
        format!("speed-time = {}", req.timeout),
        "speed-limit = 1".to_string(),
    ];
    if req.method == "HEAD" {
        cfg.push("head".to_string());
    } else {
        cfg.push(format!("request = {}", curl_quote(&req.method)));
    }
    for (k, v) in &req.headers {
        cfg.push(format!("header = {}", curl_quote(&format!("{k}: {v}"))));
    }
    if let Some(user) = &req.username {
        let pass = req.password.as_deref().unwrap_or("");
        cfg.push(format!("user = {}", curl_quote(&format!("{user}:{pass}"))));
    }
    if !req.validate_certs {
        cfg.push("insecure".to_string());
    }
    if !req.use_proxy {
        cfg.push(format!("noproxy = {}", curl_quote("*")));
    }
    if req.follow_redirects {
        cfg.push("location".to_string());
    }
    if req.body.is_some() {
        cfg.push(format!("data-binary = {}", curl_quote("@-")));
    }
    let cfg_file = scratch.file("curl.conf");
    write_private(conn, &cfg_file, &(cfg.join("\n") + "\n"))?;
    let mut exec = ExecRequest::argv(vec!["curl".into(), "--config".into(), cfg_file]);
    exec.stdin = req.body.clone();
    let ran = remote::run_req(conn, &exec)?;
    if !ran.ok() {
        return Ok(Err(TransportError(ran.message().to_string())));
    }
    let dump = conn.read_file(&headers_file).unwrap_or_default();
    let mut resp = parse_header_dump(&String::from_utf8_lossy(&dump));
    resp.url = match ran.stdout.trim() {
        "" => req.url.clone(),
        effective => effective.to_string(),
    };
    Ok(Ok(resp))
}

fn with_wget(
    conn: &mut dyn Connection,
    req: &Request,
    out: &str,
    scratch: &ScratchDir,
) -> Result<Result<Response, TransportError>, String> {
    // wgetrc values run to the end of the line: a line break would start a new setting.
    let one_line = |what: &str, v: &str| {
        if v.contains(['\n', '\r']) {
            Err(format!("{what} must not contain a line break for wget"))
        } else {
            Ok(v.to_string())
        }
    };
    let mut cfg = vec![
        "server_response = on".to_string(),
        "content_on_error = on".to_string(),
        "quiet = on".to_string(),
        format!("timeout = {}", req.timeout),
        format!("method = {}", one_line("method", &req.method)?),
        format!(
            "max_redirect = {}",
            if req.follow_redirects { 20 } else { 0 }
        ),
    ];
    for (k, v) in &req.headers {
        cfg.push(format!(
            "header = {}",
            one_line("a header", &format!("{k}: {v}"))?
        ));
    }
    if let Some(user) = &req.username {
        cfg.push(format!("user = {}", one_line("url_username", user)?));
        let pass = req.password.as_deref().unwrap_or("");
        cfg.push(format!("password = {}", one_line("url_password", pass)?));
        cfg.push("auth_no_challenge = on".to_string());
    }
    if !req.use_proxy {
        cfg.push("use_proxy = off".to_string());
    }
    if !req.validate_certs {
        cfg.push("check_certificate = off".to_string());
    }
    if req.body.is_some() {
        let body_file = scratch.file("body");
        conn.write_file(
            &body_file,
            req.body.as_deref().unwrap_or_default(),
            &private(),
        )?;
        cfg.push(format!("body_file = {body_file}"));
    }
    let cfg_file = scratch.file("wgetrc");
    let url_file = scratch.file("url");
    write_private(conn, &cfg_file, &(cfg.join("\n") + "\n"))?;
    write_private(
        conn,
        &url_file,
        &format!("{}\n", one_line("url", &req.url)?),
    )?;
    let ran = remote::run(
        conn,
        &[
            "wget",
            &format!("--config={cfg_file}"),
            "-O",
            out,
            "-i",
            &url_file,
        ],
    )?;
    // 8: the server answered with an error status, which is still an answer.
    if ran.rc != 0 && ran.rc != 8 {
        return Ok(Err(TransportError(ran.message().to_string())));
    }
    // `server_response` prints each response's headers indented by two spaces.
    let dump: String = ran
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut resp = parse_header_dump(&dump);
    resp.url = req.url.clone();
    Ok(Ok(resp))
}

fn private() -> FileAttrs {
    FileAttrs {
        mode: Some(0o600),
        ..FileAttrs::default()
    }
}

fn write_private(conn: &mut dyn Connection, path: &str, text: &str) -> Result<(), String> {
    Ok(conn.write_file(path, text.as_bytes(), &private())?)
}

/// The status and headers of the last response in a dump of one or more (redirects
/// and `100 Continue` come first).
fn parse_header_dump(dump: &str) -> Response {
    let mut resp = Response::default();
    for line in dump.lines().map(|l| l.trim_end_matches('\r')) {
        if line.starts_with("HTTP/") {
            let mut parts = line.splitn(3, ' ');
            parts.next();
            resp.status = parts.next().and_then(|s| s.parse().ok());
            resp.reason = parts.next().unwrap_or("").to_string();
            resp.headers.clear();
        } else if let Some((k, v)) = line.split_once(':') {
            resp.headers
                .push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::FakeConnection;

    fn request(url: &str) -> Request {
        Request {
            url: url.into(),
            method: "GET".into(),
            timeout: 10,
            validate_certs: true,
            follow_redirects: true,
            use_proxy: true,
            ..Request::default()
        }
    }

    #[test]
    fn filename_from_disposition_or_url() {
        let mut resp = Response {
            url: "https://h/a/b.tgz?x=1".into(),
            ..Response::default()
        };
        assert_eq!(resp.filename(), "b.tgz");
        resp.url = "https://h".into();
        assert_eq!(resp.filename(), "index.html");
        resp.headers = vec![(
            "content-disposition".into(),
            "attachment; filename=\"c.zip\"".into(),
        )];
        assert_eq!(resp.filename(), "c.zip");
    }

    #[test]
    fn the_last_response_of_a_redirect_chain_counts() {
        let r = parse_header_dump(
            "HTTP/1.1 301 Moved\r\nLocation: /b\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\n",
        );
        assert_eq!(r.status, Some(404));
        assert_eq!(r.reason, "Not Found");
        assert_eq!(r.headers, [("content-length".to_string(), "5".to_string())]);
    }

    #[test]
    fn curl_gets_secrets_in_a_private_config_not_on_the_command_line() {
        let conn = FakeConnection::new()
            .on("command -v curl", 0, "/usr/bin/curl")
            .on("^mktemp", 0, "/tmp/srplay.abc\n")
            .on("^curl", 0, "https://h/x");
        let mut conn = conn;
        let mut req = request("https://h/x");
        req.username = Some("bob".into());
        req.password = Some("s3\"cret".into());
        req.headers = vec![("Authorization".into(), "Bearer t".into())];
        let resp = fetch(&mut conn, &req, "/tmp/out").unwrap().unwrap();
        assert_eq!(resp.url, "https://h/x");
        let curl = conn.ran("^curl");
        assert_eq!(curl, ["curl --config /tmp/srplay.abc/curl.conf"]);
        assert!(conn.log.iter().all(|l| !l.contains("cret")));
        // The scratch directory (and the config in it) is gone afterwards.
        assert!(conn.files.keys().all(|k| !k.starts_with("/tmp/srplay.abc")));
    }

    #[test]
    fn no_tool_is_a_clear_error() {
        let mut conn = FakeConnection::new().on("command -v", 1, "");
        let err = fetch(&mut conn, &request("http://h/"), "/tmp/o").unwrap_err();
        assert!(err.contains("neither curl nor wget"), "{err}");
    }

    #[test]
    fn file_urls_are_copied_on_the_host() {
        let mut conn = FakeConnection::new().file("/srv/a b.txt", "hello\n");
        let resp = fetch(&mut conn, &request("file:///srv/a%20b.txt"), "/tmp/o")
            .unwrap()
            .unwrap();
        assert_eq!(resp.status, None);
        assert_eq!(resp.ok_msg(), "OK (6 bytes)");
        assert_eq!(conn.ran("^cp"), ["cp -- '/srv/a b.txt' /tmp/o"]);
    }
}
