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
    let mut tokens = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if let Some(q) = quote {
            cur.push(c);
            if c == '\\' {
                if let Some(n) = next {
                    cur.push(n);
                    i += 1;
                }
            } else if c == q {
                quote = None;
            }
        } else if c == '{' && matches!(next, Some('{' | '%' | '#')) {
            depth += 1;
            cur.push(c);
            cur.push(next.unwrap_or('{'));
            i += 1;
        } else if depth > 0 && matches!(c, '}' | '%' | '#') && next == Some('}') {
            depth -= 1;
            cur.push(c);
            cur.push('}');
            i += 1;
        } else if depth == 0 && c.is_whitespace() {
            if !cur.is_empty() {
                tokens.push(std::mem::take(&mut cur));
            }
        } else {
            if (c == '"' || c == '\'') && depth == 0 {
                quote = Some(c);
            }
            cur.push(c);
        }
        i += 1;
    }
    if !cur.is_empty() {
        tokens.push(cur);
    }
    tokens
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
/// are taken as parameters and everything else is kept, in order, as `_raw_params`.
pub fn parse_kv(s: &str, free_form: bool) -> Map {
    let mut options = Map::new();
    let mut raw = Vec::new();
    for token in split_args(s) {
        // Parameters get escapes decoded; free-form text is kept as written.
        let decoded = decode_escapes(&token);
        match find_unescaped_eq(&decoded) {
            Some(pos) if !free_form || FREE_FORM_OPTIONS.contains(&&decoded[..pos]) => {
                let key = decoded[..pos].trim().to_string();
                let value = unquote(decoded[pos + 1..].trim()).to_string();
                options.insert(key, Value::String(value));
            }
            Some(_) => raw.push(token),
            None => raw.push(decoded.replace("\\=", "=")),
        }
    }
    if !raw.is_empty() {
        options.insert("_raw_params".to_string(), Value::String(raw.join(" ")));
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
    fn words_without_equals_are_raw() {
        let m = parse_kv("msg=hello world", false);
        assert_eq!(
            Value::Object(m),
            json!({"msg": "hello", "_raw_params": "world"})
        );
    }
}
