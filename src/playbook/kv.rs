//! Ansible's `k=v` argument strings (`copy: src=a dest="b c"`): `split_args` keeps
//! quoted strings and Jinja2 blocks together, `parse_kv` turns the tokens into
//! parameters, leaving free-form words in `_raw_params`.

use crate::value::{Map, Value};

/// Options that free-form modules (`command`, `shell`…) accept in `k=v` form; any
/// other `k=v` stays part of their command line.
const FREE_FORM_OPTIONS: &[&str] = &[
    "creates",
    "removes",
    "chdir",
    "executable",
    "warn",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

/// Split on unquoted whitespace, keeping `'…'`, `"…"` and `{{ … }}`/`{% … %}`/`{# … #}` whole.
pub fn split_args(s: &str) -> Vec<String> {
    token_spans(s)
        .into_iter()
        .map(|r| s[r].to_string())
        .collect()
}

/// Where [`split_args`]'s tokens are in `s` (byte ranges), so that free-form text can be
/// kept as written between them.
fn token_spans(s: &str) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    let mut start: Option<usize> = None;
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let next = chars.get(i + 1).map(|&(_, n)| n);
        if depth == 0 && quote.is_none() && c.is_whitespace() {
            if let Some(from) = start.take() {
                spans.push(from..at);
            }
            i += 1;
            continue;
        }
        start.get_or_insert(at);
        if let Some(q) = quote {
            if c == '\\' && next.is_some() {
                i += 1;
            } else if c == q {
                quote = None;
            }
        } else if c == '{' && matches!(next, Some('{' | '%' | '#')) {
            depth += 1;
            i += 1;
        } else if depth > 0 && matches!(c, '}' | '%' | '#') && next == Some('}') {
            depth -= 1;
            i += 1;
        } else if (c == '"' || c == '\'') && depth == 0 {
            quote = Some(c);
        }
        i += 1;
    }
    if let Some(from) = start {
        spans.push(from..s.len());
    }
    spans
}

/// Remove one pair of matching surrounding quotes.
pub fn unquote(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// Parse `k=v` tokens into parameters. With `free_form`, only [`FREE_FORM_OPTIONS`]
/// are taken as parameters and everything else is kept as `_raw_params`: the text as
/// written, its newlines and spacing included (a `shell: |` script with an `x=1` line
/// stays a script), less the parameters taken out, as Ansible's `join_args` gives it.
pub fn parse_kv(s: &str, free_form: bool) -> Map {
    let mut options = Map::new();
    let mut raw = String::new();
    let mut kept_from = 0;
    for span in token_spans(s) {
        let token = &s[span.clone()];
        // Parameters get escapes decoded; free-form text is kept as written.
        let decoded = decode_escapes(token);
        match find_unescaped_eq(&decoded) {
            Some(pos) if !free_form || FREE_FORM_OPTIONS.contains(&&decoded[..pos]) => {
                let key = decoded[..pos].trim().to_string();
                let value = unquote(decoded[pos + 1..].trim()).to_string();
                options.insert(key, Value::String(value));
                // The parameter goes, with the spaces before it (a newline stays).
                let before = s[kept_from..span.start].trim_end_matches([' ', '\t']);
                raw.push_str(before);
                kept_from = span.end;
            }
            // Only escaped `=` (`a\=b`): the word with them unescaped, as Ansible's.
            None if token.contains("\\=") => {
                raw.push_str(&s[kept_from..span.start]);
                raw.push_str(&decoded.replace("\\=", "="));
                kept_from = span.end;
            }
            _ => {}
        }
    }
    raw.push_str(&s[kept_from..]);
    let raw = raw.trim_start();
    if !raw.trim().is_empty() {
        options.insert("_raw_params".to_string(), Value::String(raw.to_string()));
    }
    options
}

/// Python escape sequences in `k=v` text (`\n`, `\t`, `\x41`, `\u00e9`, `\101`…)
/// become the characters they name, as Ansible's `_decode_escapes` does.
pub fn decode_escapes(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let hex = |from: usize, len: usize| -> Option<char> {
        let text: String = chars.get(from..from + len)?.iter().collect();
        char::from_u32(u32::from_str_radix(&text, 16).ok()?)
    };
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' || i + 1 == chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let next = chars[i + 1];
        let simple = match next {
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            _ => None,
        };
        if let Some(ch) = simple {
            out.push(ch);
            i += 2;
            continue;
        }
        let (decoded, len) = match next {
            'x' => (hex(i + 2, 2), 4),
            'u' => (hex(i + 2, 4), 6),
            'U' => (hex(i + 2, 8), 10),
            '0'..='7' => {
                let digits: String = chars[i + 1..]
                    .iter()
                    .take(3)
                    .take_while(|c| c.is_digit(8))
                    .collect();
                (
                    u32::from_str_radix(&digits, 8)
                        .ok()
                        .and_then(char::from_u32),
                    1 + digits.len(),
                )
            }
            _ => (None, 0),
        };
        match decoded {
            Some(ch) => {
                out.push(ch);
                i += len;
            }
            None => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The position of the first `=` that is not escaped and not inside quotes or `{{ }}`:
/// a key never contains those.
fn find_unescaped_eq(token: &str) -> Option<usize> {
    let bytes = token.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'=' if i > 0 && bytes[i - 1] != b'\\' => return Some(i),
            b'"' | b'\'' | b'{' | b' ' => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_quotes_and_jinja_together() {
        assert_eq!(
            split_args(r#"a=1 b="x y" c={{ foo | default('p q') }}"#),
            vec!["a=1", "b=\"x y\"", "c={{ foo | default('p q') }}"]
        );
    }

    #[test]
    fn parses_kv_with_quotes() {
        let m = parse_kv(r#"src=a.j2 dest="/tmp/b c" mode=0644"#, false);
        assert_eq!(
            Value::Object(m),
            json!({"src": "a.j2", "dest": "/tmp/b c", "mode": "0644"})
        );
    }

    #[test]
    fn free_form_keeps_command_line() {
        let m = parse_kv("echo a=b chdir=/tmp creates=/x", true);
        assert_eq!(
            Value::Object(m),
            json!({"chdir": "/tmp", "creates": "/x", "_raw_params": "echo a=b"})
        );
    }

    #[test]
    fn escapes_are_decoded() {
        assert_eq!(
            decode_escapes(r"a\nb\t\x41\u00e9\101\\z\q"),
            "a\nb\tAéA\\z\\q"
        );
        let m = parse_kv(r"content='a\n' dest=/x", false);
        assert_eq!(m["content"], json!("a\n"));
    }

    #[test]
    fn free_form_keeps_newlines_and_spacing() {
        let script = "set -eu\nkept=/tmp/x\nfor f in a b; do\n  echo \"$f\"  done\ndone\n";
        let m = parse_kv(&format!("{script}creates=/y"), true);
        assert_eq!(m["_raw_params"], json!(script));
        assert_eq!(m["creates"], json!("/y"));
        let m = parse_kv("chdir=/tmp echo 'a  b'   c\\n", true);
        assert_eq!(m["_raw_params"], json!("echo 'a  b'   c\\n"));
        let m = parse_kv("echo a\\=b", true);
        assert_eq!(m["_raw_params"], json!("echo a=b"));
    }

    #[test]
    fn words_without_equals_are_raw() {
        let m = parse_kv("msg=hello world", false);
        assert_eq!(
            Value::Object(m),
            json!({"msg": "hello", "_raw_params": "world"})
        );
    }
}
