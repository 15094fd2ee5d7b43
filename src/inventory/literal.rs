//! INI inventory values as Ansible types them: Python's `ast.literal_eval`, falling back to
//! the raw string when the text is not a Python literal.
//!
//! So `22` is an int, `True` a bool, `"a b"` the string `a b`, `[1, 2]` a list, but `yes`,
//! `022` (a syntax error in Python 3) and `1+2` stay strings.

use crate::value::{Map, Value};

/// Type an INI value as `InventoryModule._parse_value` does.
pub fn parse_value(text: &str) -> Value {
    literal_eval(text).unwrap_or_else(|| Value::String(text.to_string()))
}

/// `ast.literal_eval` for the literals that map onto data: `None` when it would raise.
pub fn literal_eval(text: &str) -> Option<Value> {
    let mut p = Parser {
        chars: text.trim_start_matches([' ', '\t']).chars().collect(),
        pos: 0,
        depth: 0,
    };
    let value = p.expr()?;
    p.skip_space(true);
    (p.pos == p.chars.len()).then_some(value)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

/// Deep enough for any real inventory, shallow enough not to overflow the stack.
const MAX_DEPTH: usize = 64;

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }

    /// Skip blanks; inside brackets newlines too; a trailing `# comment` ends the input.
    fn skip_space(&mut self, allow_comment: bool) {
        while let Some(c) = self.peek() {
            if c == ' ' || c == '\t' || (self.depth > 0 && (c == '\n' || c == '\r')) {
                self.pos += 1;
            } else if c == '#' && allow_comment {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space(true);
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Option<Value> {
        self.skip_space(true);
        let c = self.peek()?;
        match c {
            '[' => self.sequence('[', ']').map(Value::Array),
            '(' => self.paren(),
            '{' => self.brace(),
            '+' | '-' => {
                self.pos += 1;
                self.skip_space(true);
                let neg = c == '-';
                // `-(1)` is fine in Python: the parentheses leave no trace in the AST.
                let operand = if self.peek() == Some('(') {
                    self.paren()?
                } else {
                    self.number()?
                };
                match operand {
                    Value::Number(n) if neg => negate(&n),
                    n @ Value::Number(_) => Some(n),
                    _ => None, // only numbers take a sign
                }
            }
            '.' if self.peek_at(1) == Some('.') && self.peek_at(2) == Some('.') => {
                self.pos += 3;
                Some(Value::String("...".to_string()))
            }
            c if c.is_ascii_digit() || c == '.' => self.number(),
            _ => self.string_or_name(),
        }
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn sequence(&mut self, open: char, close: char) -> Option<Vec<Value>> {
        self.nested(|p| {
            p.pos += 1;
            debug_assert!(p.chars[p.pos - 1] == open);
            let mut items = Vec::new();
            loop {
                if p.eat(close) {
                    return Some(items);
                }
                items.push(p.expr()?);
                if !p.eat(',') {
                    return p.eat(close).then_some(items);
                }
            }
        })
    }

    /// `()` and `(a, b)` are tuples (lists here); `(a)` is just `a`.
    fn paren(&mut self) -> Option<Value> {
        self.nested(|p| {
            p.pos += 1;
            if p.eat(')') {
                return Some(Value::Array(Vec::new()));
            }
            let first = p.expr()?;
            if p.eat(')') {
                return Some(first);
            }
            let mut items = vec![first];
            while p.eat(',') {
                if p.eat(')') {
                    return Some(Value::Array(items));
                }
                items.push(p.expr()?);
            }
            p.eat(')').then_some(Value::Array(items))
        })
    }

    /// A dict, or a set (which Ansible turns into a list).
    fn brace(&mut self) -> Option<Value> {
        self.nested(|p| {
            p.pos += 1;
            if p.eat('}') {
                return Some(Value::Object(Map::new()));
            }
            let first = p.expr()?;
            if p.eat(':') {
                let mut map = Map::new();
                let mut key = first;
                loop {
                    let value = p.expr()?;
                    map.insert(key_string(&key)?, value);
                    if p.eat('}') {
                        return Some(Value::Object(map));
                    }
                    if !p.eat(',') {
                        return None;
                    }
                    if p.eat('}') {
                        return Some(Value::Object(map));
                    }
                    key = p.expr()?;
                    if !p.eat(':') {
                        return None;
                    }
                }
            }
            let mut items = vec![first];
            while p.eat(',') {
                if p.eat('}') {
                    return Some(Value::Array(items));
                }
                items.push(p.expr()?);
            }
            p.eat('}').then_some(Value::Array(items))
        })
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            let exp_sign = (c == '+' || c == '-')
                && matches!(self.chars.get(self.pos - 1), Some('e' | 'E'))
                && !self.chars[start..self.pos]
                    .iter()
                    .any(|c| matches!(c, 'x' | 'X' | 'b' | 'B'));
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' || exp_sign {
                self.pos += 1;
            } else {
                break;
            }
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        number_value(&text)
    }

    fn string_or_name(&mut self) -> Option<Value> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        match (word.as_str(), self.peek()) {
            ("True", _) => Some(Value::Bool(true)),
            ("False", _) => Some(Value::Bool(false)),
            ("None", _) => Some(Value::Null),
            (prefix, Some('\'' | '"')) => {
                let prefix = prefix.to_ascii_lowercase();
                if !matches!(prefix.as_str(), "" | "r" | "u" | "b" | "br" | "rb") {
                    return None;
                }
                let mut s = self.string_body(prefix.contains('r'))?;
                // Adjacent literals concatenate, as in Python.
                loop {
                    let save = self.pos;
                    self.skip_space(false);
                    let mut p = self.pos;
                    while self.chars.get(p).is_some_and(|c| c.is_ascii_alphabetic()) {
                        p += 1;
                    }
                    if p - self.pos <= 2 && matches!(self.chars.get(p), Some('\'' | '"')) {
                        let pre: String = self.chars[self.pos..p].iter().collect();
                        let pre = pre.to_ascii_lowercase();
                        if !matches!(pre.as_str(), "" | "r" | "u" | "b" | "br" | "rb") {
                            self.pos = save;
                            break;
                        }
                        self.pos = p;
                        s.push_str(&self.string_body(pre.contains('r'))?);
                    } else {
                        self.pos = save;
                        break;
                    }
                }
                Some(Value::String(s))
            }
            _ => None,
        }
    }

    /// A quoted body starting at the opening quote; triple quotes allowed.
    fn string_body(&mut self, raw: bool) -> Option<String> {
        let q = self.peek()?;
        let triple = self.peek_at(1) == Some(q) && self.peek_at(2) == Some(q);
        self.pos += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            if c == q && (!triple || (self.peek_at(1) == Some(q) && self.peek_at(2) == Some(q))) {
                self.pos += if triple { 3 } else { 1 };
                return Some(out);
            }
            if c == '\n' && !triple {
                return None;
            }
            self.pos += 1;
            if c != '\\' {
                out.push(c);
                continue;
            }
            let e = self.peek()?;
            self.pos += 1;
            if raw {
                out.push('\\');
                out.push(e);
                continue;
            }
            match e {
                '\n' => {}
                '\\' | '\'' | '"' => out.push(e),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'a' => out.push('\u{7}'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'v' => out.push('\u{b}'),
                '0'..='7' => {
                    let mut n = e.to_digit(8)?;
                    for _ in 0..2 {
                        match self.peek().and_then(|c| c.to_digit(8)) {
                            Some(d) => {
                                n = n * 8 + d;
                                self.pos += 1;
                            }
                            None => break,
                        }
                    }
                    out.push(char::from_u32(n)?);
                }
                'x' | 'u' | 'U' => {
                    let len = match e {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let hex: String = self.chars.get(self.pos..self.pos + len)?.iter().collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    self.pos += len;
                }
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        }
    }
}

fn negate(n: &serde_json::Number) -> Option<Value> {
    if let Some(i) = n.as_i64() {
        return Some(Value::from(i.checked_neg()?));
    }
    n.as_f64().map(|f| Value::from(-f))
}

/// A Python number token: decimal (no leading zeros), 0x/0o/0b, underscores, floats.
fn number_value(text: &str) -> Option<Value> {
    if text.ends_with(['j', 'J']) {
        return None; // complex: Ansible shows str(); rare enough to keep the raw text
    }
    let digits_ok = |s: &str, radix: u32| {
        !s.is_empty()
            && !s.starts_with('_')
            && !s.ends_with('_')
            && !s.contains("__")
            && s.chars().all(|c| c == '_' || c.is_digit(radix))
    };
    let lower = text.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(body) = lower.strip_prefix(prefix) {
            let body = body.strip_prefix('_').unwrap_or(body);
            if !digits_ok(body, radix) {
                return None;
            }
            return i64::from_str_radix(&body.replace('_', ""), radix)
                .ok()
                .map(Value::from);
        }
    }
    if digits_ok(&lower, 10) {
        let clean = lower.replace('_', "");
        if clean.len() > 1 && clean.starts_with('0') && clean.chars().any(|c| c != '0') {
            return None; // `022` is a syntax error in Python 3
        }
        return clean
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| clean.parse::<u64>().map(Value::from))
            .ok();
    }
    // float: mantissa with one dot and/or an exponent
    let (mantissa, exponent) = match lower.split_once('e') {
        Some((m, e)) => (m, Some(e)),
        None => (lower.as_str(), None),
    };
    if exponent.is_none() && !mantissa.contains('.') {
        return None;
    }
    let (int_part, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac.is_empty() {
        return None;
    }
    let part_ok = |s: &str| s.is_empty() || digits_ok(s, 10);
    if !part_ok(int_part) || !part_ok(frac) {
        return None;
    }
    if let Some(e) = exponent {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        if !digits_ok(e, 10) {
            return None;
        }
    }
    let f: f64 = lower.replace('_', "").parse().ok()?;
    serde_json::Number::from_f64(f).map(Value::Number)
}

/// A dict key as Ansible ends up with it: strings as they are, scalars as Python's `str()`.
fn key_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(_) | Value::Object(_) => None, // unhashable in Python
        other => Some(crate::value::to_display_string(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Expectations checked with: python -c 'import ast; print(repr(ast.literal_eval(...)))'
    // and `ansible-inventory -i hosts.ini --list` for the string fallbacks.
    #[test]
    fn python_literals_are_typed() {
        assert_eq!(parse_value("22"), json!(22));
        assert_eq!(parse_value("-3"), json!(-3));
        assert_eq!(parse_value("0x10"), json!(16));
        assert_eq!(parse_value("0o17"), json!(15));
        assert_eq!(parse_value("1_000"), json!(1000));
        assert_eq!(parse_value("1.5"), json!(1.5));
        assert_eq!(parse_value("1e3"), json!(1000.0));
        assert_eq!(parse_value("True"), json!(true));
        assert_eq!(parse_value("None"), Value::Null);
        assert_eq!(parse_value("'q'"), json!("q"));
        assert_eq!(parse_value(r#""a\tb""#), json!("a\tb"));
        assert_eq!(parse_value("[1, 'a', (2, 3)]"), json!([1, "a", [2, 3]]));
        assert_eq!(
            parse_value("{'a': 1, 2: [None]}"),
            json!({"a": 1, "2": [null]})
        );
        assert_eq!(parse_value("(1)"), json!(1));
        assert_eq!(parse_value("'a' 'b'"), json!("ab"));
        assert_eq!(parse_value("..."), json!("..."));
        assert_eq!(parse_value("[...]"), json!(["..."]));
        // python3 -c 'import ast; print(ast.literal_eval(S))' for each S
        let cases = [
            ("1E-2", json!(0.01)),
            ("-0.5", json!(-0.5)),
            (".5", json!(0.5)),
            ("5.", json!(5.0)),
            ("00", json!(0)),
            ("0_0", json!(0)),
            ("1_0.5_1", json!(10.51)),
            ("0b101", json!(5)),
            ("0O17", json!(15)),
            ("0xFF_FF", json!(65535)),
            ("+7", json!(7)),
            ("- 3", json!(-3)),
            ("-(1)", json!(-1)),
            ("(1,)", json!([1])),
            ("[1,]", json!([1])),
            ("{'a':1,}", json!({"a": 1})),
            ("{1,2}", json!([1, 2])),
            (r"r'\n'", json!("\\n")),
            ("b'x'", json!("x")),
            ("u'x'", json!("x")),
            (r"'\x41\u00e9'", json!("A\u{e9}")),
            ("'''tri'''", json!("tri")),
            ("True ", json!(true)),
            ("  42", json!(42)),
            ("'it''s'", json!("its")),
            ("1 # c", json!(1)),
            ("'#' # c", json!("#")),
            ("{'a': 1, 'a': 2}", json!({"a": 2})),
        ];
        for (text, want) in cases {
            assert_eq!(parse_value(text), want, "{text:?}");
        }
    }

    #[test]
    fn non_literals_stay_strings() {
        for s in [
            "yes",
            "true",
            "022",
            "1+2",
            "a b",
            "",
            "web01",
            "10.0.0.1",
            "{{ x }}",
            "[1,",
            "inf",
            "1__0",
            "1.2.3",
            "'unterminated",
            "f'x'",
        ] {
            assert_eq!(parse_value(s), json!(s), "{s:?}");
        }
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let deep = "[".repeat(10_000);
        assert_eq!(parse_value(&deep), json!(deep));
    }
}
