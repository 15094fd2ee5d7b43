//! Host identifiers as inventory sources write them: `name`, `name:port`, `[v6::addr]:port`,
//! and ranges such as `web[01:10].example.com`, `db-[a:c]` or `n[1:10:2]`.
//!
//! Mirrors `ansible.parsing.utils.addresses.parse_address` and
//! `ansible.plugins.inventory.expand_hostname_range`: a string that does not parse as an
//! address is kept whole as the host name (Ansible only warns at -vvv).

use std::sync::LazyLock;

use regex::Regex;

/// A `[...]` range as it may appear inside a hostname label.
const ALNUM_RANGE: &str = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]";
const NUM_RANGE: &str = r"\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]";
const HEX_RANGE: &str = r"\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]";

static BRACKETED_HOSTPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[(.+)\]:([0-9]+)$").expect("valid regex"));
static HOSTPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$").expect("valid regex"));
static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    let c = format!(r"(?:[01]?[0-9]{{1,2}}|2[0-4][0-9]|25[0-5]|{NUM_RANGE})");
    Regex::new(&format!(r"(?i)^(?:{c}\.){{3}}{c}$")).expect("valid regex")
});
static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    let c = format!(r"(?:[0-9a-f]{{1,4}}|{HEX_RANGE})");
    let alts = [
        format!(r"(?:{c}:){{7}}{c}"),
        format!(r"(?:{c}:){{1,6}}:"),
        format!(r"(?:{c}:)(?::{c}){{1,6}}"),
        format!(r"(?:{c}:){{2}}(?::{c}){{1,5}}"),
        format!(r"(?:{c}:){{3}}(?::{c}){{1,4}}"),
        format!(r"(?:{c}:){{4}}(?::{c}){{1,3}}"),
        format!(r"(?:{c}:){{5}}(?::{c}){{1,2}}"),
        format!(r"(?:{c}:){{6}}(?::{c})"),
        format!(r":(?::{c}){{1,6}}"),
        format!(r"{c}?::"),
        format!(r"(?:0:){{6}}(?:{c}\.){{3}}{c}"),
        format!(r"::(?:ffff:)?(?:{c}\.){{3}}{c}"),
        format!(r"(?:0:){{5}}ffff:(?:{c}\.){{3}}{c}"),
    ];
    Regex::new(&format!("(?i)^(?:{})$", alts.join("|"))).expect("valid regex")
});
static LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)^(?:\w|{ALNUM_RANGE})(?:[\w-]|{ALNUM_RANGE})*$"
    ))
    .expect("valid regex")
});

/// Split `host:port` / `[host]:port`; `None` when the host part is not a valid address.
pub fn parse_address(address: &str, allow_ranges: bool) -> Option<(String, Option<u16>)> {
    let mut host = address;
    let mut port = None;
    for re in [&*BRACKETED_HOSTPORT, &*HOSTPORT] {
        if let Some(c) = re.captures(host) {
            port = Some(c.get(2)?.as_str().parse::<u16>().ok()?);
            host = c.get(1)?.as_str();
        }
    }
    let valid = IPV4.is_match(host) || IPV6.is_match(host) || is_hostname(host);
    if !valid || (!allow_ranges && host.contains('[')) {
        return None;
    }
    Some((host.to_string(), port))
}

/// A dotted hostname whose labels do not end with `-` or `_` (Python's negative lookbehind).
fn is_hostname(host: &str) -> bool {
    !host.is_empty()
        && host
            .split('.')
            .all(|l| LABEL.is_match(l) && !l.ends_with(['-', '_']))
}

/// Host names and port for one host entry: the address is parsed when it can be,
/// then any `[x:y]` ranges are expanded.
pub fn expand_host_pattern(pattern: &str) -> Result<(Vec<String>, Option<u16>), String> {
    let (name, port) = match parse_address(pattern, true) {
        Some((h, p)) => (h, p),
        None => (pattern.to_string(), None),
    };
    if pattern.trim().ends_with(':') && port.is_none() {
        return Err(format!(
            "Invalid host pattern '{pattern}' supplied, ending in ':' is not allowed, this character is reserved to provide a port."
        ));
    }
    let names = if name.contains('[') {
        expand_range(&name)?
    } else {
        vec![name]
    };
    if names.iter().any(|n| n.trim() == "---") {
        return Err(format!(
            "Invalid host pattern '{pattern}' supplied, '---' is normally a sign this is a YAML file."
        ));
    }
    Ok((names, port))
}

/// Expand the first `[beg:end(:step)]` of `line`, recursively for the rest.
pub fn expand_range(line: &str) -> Result<Vec<String>, String> {
    let Some(open) = line.find('[') else {
        return Ok(vec![line.to_string()]);
    };
    let head = &line[..open];
    let rest = &line[open + 1..];
    let Some(close) = rest.find(']') else {
        return Err(format!("unterminated host range in '{line}'"));
    };
    let range = &rest[..close];
    let tail = &rest[close + 1..];
    if tail.contains('[') && !tail.contains(']') {
        return Err(format!("unterminated host range in '{line}'"));
    }
    let bounds: Vec<&str> = range.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err("host range must be begin:end or begin:end:step".to_string());
    }
    let beg = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    let step: usize = match bounds.get(2) {
        Some(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("invalid step '{s}' in host range '[{range}]'"))?,
        None => 1,
    };
    if step == 0 {
        return Err("host range step must not be zero".to_string());
    }
    if end.is_empty() {
        return Err("host range must specify end value".to_string());
    }
    let width = if beg.starts_with('0') && beg.len() > 1 {
        if beg.len() != end.len() {
            return Err("host range must specify equal-length begin and end formats".to_string());
        }
        beg.len()
    } else {
        0
    };
    let items: Vec<String> = match (single_letter(beg), single_letter(end)) {
        (Some(b), Some(e)) => {
            let letters = ASCII_LETTERS.as_bytes();
            let (ib, ie) = (letter_index(b), letter_index(e));
            if ib > ie {
                return Err("host range must have begin <= end".to_string());
            }
            (ib..=ie)
                .step_by(step)
                .map(|i| format!("{:0>width$}", letters[i] as char))
                .collect()
        }
        _ => {
            let b: i64 = beg
                .trim()
                .parse()
                .map_err(|_| format!("invalid host range '[{range}]'"))?;
            let e: i64 = end
                .trim()
                .parse()
                .map_err(|_| format!("invalid host range '[{range}]'"))?;
            if e.saturating_sub(b) > 1_000_000 {
                return Err(format!("host range '[{range}]' is too large"));
            }
            (b..=e)
                .step_by(step)
                .map(|i| format!("{i:0>width$}"))
                .collect()
        }
    };
    let mut out = Vec::new();
    for item in items {
        out.extend(expand_range(&format!("{head}{item}{tail}"))?);
    }
    Ok(out)
}

/// Python's `string.ascii_letters`: the alphabet a letter range walks.
const ASCII_LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn single_letter(s: &str) -> Option<char> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_alphabetic() => Some(c),
        _ => None,
    }
}

fn letter_index(c: char) -> usize {
    ASCII_LETTERS.find(c).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(p: &str) -> Vec<String> {
        expand_host_pattern(p).unwrap().0
    }

    #[test]
    fn ports_are_split_off() {
        assert_eq!(
            parse_address("db-1:2200", true),
            Some(("db-1".into(), Some(2200)))
        );
        assert_eq!(
            parse_address("[::1]:22", true),
            Some(("::1".into(), Some(22)))
        );
        assert_eq!(
            parse_address("fe80::1", true),
            Some(("fe80::1".into(), None))
        );
        assert_eq!(
            parse_address("10.0.0.1:22", false),
            Some(("10.0.0.1".into(), Some(22)))
        );
        assert_eq!(parse_address("bad-:22", true), None);
        assert_eq!(parse_address("a@b", true), None);
    }

    #[test]
    fn unparsable_addresses_are_kept_whole() {
        assert_eq!(
            expand_host_pattern("user@host:22").unwrap(),
            (vec!["user@host:22".to_string()], None)
        );
    }

    #[test]
    fn numeric_alpha_and_stepped_ranges() {
        // ansible-inventory -i 'web[01:03].example.com' style entries, checked with --list
        assert_eq!(
            names("web[01:03].example.com"),
            [
                "web01.example.com",
                "web02.example.com",
                "web03.example.com"
            ]
        );
        assert_eq!(names("alpha[a:c]"), ["alphaa", "alphab", "alphac"]);
        assert_eq!(names("n[1:10:4]"), ["n1", "n5", "n9"]);
        assert_eq!(names("r[1:2]-[a:b]"), ["r1-a", "r1-b", "r2-a", "r2-b"]);
        assert_eq!(names("x[:2]"), ["x0", "x1", "x2"]);
    }

    #[test]
    fn bad_ranges_are_errors() {
        assert!(expand_host_pattern("n[01:100]").is_err());
        assert!(expand_host_pattern("n[1:]").is_err());
        assert!(expand_host_pattern("n[1:2:3:4]").is_err());
        assert!(expand_host_pattern("n[c:a]").is_err());
        assert!(expand_host_pattern("n[1:3:0]").is_err());
        assert!(expand_host_pattern("host:").is_err());
        assert!(expand_host_pattern("---").is_err());
    }
}
