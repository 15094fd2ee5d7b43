//! Plain-scalar resolution as PyYAML's YAML 1.1 `SafeLoader` does it, which is what
//! Ansible reads with: `yes/no/on/off` are booleans, `0644` is octal, `1_000` an int,
//! `1e3` (no dot) a string, `~` null.

use serde_json::{Number, Value};

/// Resolve an untagged plain scalar.
pub fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true);
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        _ => {}
    }
    if let Some(n) = resolve_int(s) {
        return Value::Number(n.into());
    }
    if let Some(f) = resolve_float(s)
        && let Some(n) = Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(s.to_string())
}

fn resolve_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() || body.starts_with('_') {
        return None;
    }
    let value = if let Some(bin) = body.strip_prefix("0b") {
        parse_radix(bin, 2)?
    } else if let Some(hex) = body.strip_prefix("0x") {
        parse_radix(hex, 16)?
    } else if body.len() > 1 && body.starts_with('0') {
        parse_radix(&body[1..], 8)?
    } else if body.contains(':') {
        sexagesimal(body)?
    } else {
        if !body.bytes().next()?.is_ascii_digit() {
            return None;
        }
        parse_radix(body, 10)?
    };
    Some(if neg { -value } else { value })
}

fn parse_radix(digits: &str, radix: u32) -> Option<i64> {
    let cleaned: String = digits.chars().filter(|c| *c != '_').collect();
    if cleaned.is_empty() {
        return None;
    }
    i64::from_str_radix(&cleaned, radix).ok()
}

/// `190:20:30` is an int in YAML 1.1 (base 60).
fn sexagesimal(body: &str) -> Option<i64> {
    let mut parts = body.split(':');
    let first = parts.next()?;
    if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return None;
    }
    let mut value = parse_radix(first, 10)?;
    for part in parts {
        if part.is_empty() || part.len() > 2 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digit: i64 = part.parse().ok()?;
        if digit >= 60 {
            return None;
        }
        value = value.checked_mul(60)?.checked_add(digit)?;
    }
    Some(value)
}

fn resolve_float(s: &str) -> Option<f64> {
    match s {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    // PyYAML: [-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?  (a dot is required)
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let dot = mantissa.find('.')?;
    let (int_part, frac_part) = (&mantissa[..dot], &mantissa[dot + 1..]);
    let digits_ok = |p: &str| p.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    if !digits_ok(int_part) || !digits_ok(frac_part) || int_part.starts_with('_') {
        return None;
    }
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if let Some(exp) = exponent {
        let digits = exp.strip_prefix(['-', '+'])?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    s.replace('_', "").parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_11_booleans() {
        assert_eq!(resolve_plain("yes"), json!(true));
        assert_eq!(resolve_plain("NO"), json!(false));
        assert_eq!(resolve_plain("off"), json!(false));
        assert_eq!(resolve_plain("y"), json!("y"));
    }

    #[test]
    fn yaml_11_numbers() {
        assert_eq!(resolve_plain("0644"), json!(420));
        assert_eq!(resolve_plain("0x1F"), json!(31));
        assert_eq!(resolve_plain("1_000"), json!(1000));
        assert_eq!(resolve_plain("190:20:30"), json!(685230));
        assert_eq!(resolve_plain("-12"), json!(-12));
        assert_eq!(resolve_plain("1.5"), json!(1.5));
        assert_eq!(resolve_plain("1e3"), json!("1e3"));
        assert_eq!(resolve_plain("1.0e+3"), json!(1000.0));
        assert_eq!(resolve_plain("3.10.1"), json!("3.10.1"));
        assert_eq!(resolve_plain("08"), json!("08"));
        assert_eq!(resolve_plain("."), json!("."));
        assert_eq!(resolve_plain("~"), json!(null));
    }
}
