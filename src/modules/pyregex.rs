//! Python `re` patterns and replacement templates on the `regex` crate, for the
//! modules whose parameters are Python regular expressions (`lineinfile`,
//! `blockinfile`, `replace`).
//!
//! What is translated: `\Z` (Python's end of text) becomes `\z`; `(?P<name>…)` and
//! inline flags are the same in both. What the `regex` crate cannot do, and fails with
//! a clear message: backreferences in the pattern (`\1`, `(?P=name)`) and lookaround
//! (`(?=…)`, `(?!…)`, `(?<=…)`, `(?<!…)`). Classes such as `\d`, `\w` match Unicode
//! here where Python's bytes patterns match ASCII only.

use regex::bytes::{Captures, Regex, RegexBuilder};

/// Compile a Python pattern with Python's `re` flags: `multiline` (`re.MULTILINE`),
/// `dotall` (`re.DOTALL`).
pub fn compile(pattern: &str, multiline: bool, dotall: bool) -> Result<Regex, String> {
    RegexBuilder::new(&translate(pattern))
        .multi_line(multiline)
        .dot_matches_new_line(dotall)
        .build()
        .map_err(|e| format!("cannot use regular expression '{pattern}': {e}"))
}

/// Whether a pattern turns on `re.MULTILINE` itself with a leading `(?m)`-style group
/// (Python accepts global inline flags only at the start).
pub fn sets_multiline(pattern: &str) -> bool {
    pattern
        .strip_prefix("(?")
        .and_then(|rest| rest.split_once([')', ':']))
        .is_some_and(|(flags, _)| {
            flags.chars().all(|c| c.is_ascii_alphabetic()) && flags.contains('m')
        })
}

/// Python-only escapes rewritten for the `regex` crate, leaving escaped backslashes alone.
fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Z') => out.push_str("\\z"),
            Some(next) => {
                out.push('\\');
                out.push(next);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A line without its final `\n`, for matching one line: Python's `$` matches before a
/// final newline, the `regex` crate's (without multi-line) only at the very end.
pub fn line_body(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n").unwrap_or(line)
}

/// Python's `match.expand(template)` (and `re.sub`'s replacement): `\1`, `\g<1>`,
/// `\g<name>`, and the escapes `\n`, `\t`, `\r`, `\\`; a group that did not take part
/// is empty.
pub fn expand(caps: &Captures<'_>, template: &[u8]) -> Result<Vec<u8>, String> {
    let group = |name: &str| -> Result<Vec<u8>, String> {
        let found = match name.parse::<usize>() {
            Ok(i) if i < caps.len() => caps.get(i),
            Ok(i) => return Err(format!("invalid group reference {i}")),
            Err(_) => match caps.name(name) {
                Some(m) => Some(m),
                None => return Err(format!("unknown group name '{name}'")),
            },
        };
        Ok(found.map(|m| m.as_bytes().to_vec()).unwrap_or_default())
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < template.len() {
        let c = template[i];
        if c != b'\\' || i + 1 == template.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let next = template[i + 1];
        match next {
            b'0'..=b'9' => {
                let digits = template[i + 1..]
                    .iter()
                    .take(2)
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                let name = String::from_utf8_lossy(&template[i + 1..i + 1 + digits]).into_owned();
                out.extend(group(&name)?);
                i += 1 + digits;
            }
            b'g' if template.get(i + 2) == Some(&b'<') => {
                let rest = &template[i + 3..];
                let Some(close) = rest.iter().position(|b| *b == b'>') else {
                    return Err("missing >, unterminated name".to_string());
                };
                out.extend(group(&String::from_utf8_lossy(&rest[..close]))?);
                i += 3 + close + 1;
            }
            b'n' | b't' | b'r' | b'\\' => {
                out.push(match next {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'r' => b'\r',
                    _ => b'\\',
                });
                i += 2;
            }
            _ => {
                out.extend([c, next]);
                i += 2;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_end_of_text_and_flags() {
        let re = compile(r"b\Z", false, false).unwrap();
        assert!(re.is_match(b"ab") && !re.is_match(b"ab\n"));
        assert!(compile(r"a\\Z", false, false).unwrap().is_match(b"a\\Z"));
        assert!(sets_multiline("(?m)^x") && sets_multiline("(?sm:x)"));
        assert!(!sets_multiline("(?P<m>x)") && !sets_multiline("^x"));
        let err = compile(r"(a)\1", false, false).unwrap_err();
        assert!(
            err.starts_with("cannot use regular expression '(a)\\1'"),
            "{err}"
        );
    }

    #[test]
    fn expand_groups_and_escapes() {
        let re = compile(r"(?P<k>\w+)=(\d+)?", false, false).unwrap();
        let caps = re.captures(b"port=").unwrap();
        assert_eq!(expand(&caps, br"\g<k>:\2\t\\").unwrap(), b"port:\t\\");
        assert!(expand(&caps, br"\3").is_err());
        assert!(expand(&caps, br"\g<nope>").is_err());
    }
}
