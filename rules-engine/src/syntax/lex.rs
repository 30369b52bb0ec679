//! Tokens for the nom parser: whitespace and comments, identifiers, numbers, strings,
//! durations, and the error type that remembers what was expected where.

use nom::IResult;
use nom::Parser;
use nom::bytes::complete::{take_while, take_while1};
use nom::error::{ErrorKind, ParseError as NomParseError};

/// The parser's internal error: where (bytes left in the input) and what was expected.
#[derive(Debug, Clone)]
pub(crate) struct PErr {
    /// Length of the remaining input at the error (smaller = further into the source).
    pub rest_len: usize,
    /// Tokens or constructs that would have been accepted here.
    pub expected: Vec<String>,
    /// A specific message (when the problem is not just "expected X").
    pub message: Option<String>,
}

impl<'a> NomParseError<&'a str> for PErr {
    fn from_error_kind(input: &'a str, _kind: ErrorKind) -> Self {
        PErr {
            rest_len: input.len(),
            expected: Vec::new(),
            message: None,
        }
    }

    fn append(_input: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }

    fn or(self, other: Self) -> Self {
        use std::cmp::Ordering::*;
        match self.rest_len.cmp(&other.rest_len) {
            Less => self,
            Greater => other,
            Equal => {
                let mut e = self;
                for x in other.expected {
                    if !e.expected.contains(&x) {
                        e.expected.push(x);
                    }
                }
                e.message = e.message.or(other.message);
                e
            }
        }
    }
}

/// Parser result type.
pub(crate) type Res<'a, T> = IResult<&'a str, T, PErr>;

/// A recoverable error: "expected one of `expected` at `i`".
pub(crate) fn expected<'a, T>(i: &'a str, expected: &[&str]) -> Res<'a, T> {
    Err(nom::Err::Error(PErr {
        rest_len: i.len(),
        expected: expected.iter().map(|s| s.to_string()).collect(),
        message: None,
    }))
}

/// A fatal error with a message at `i`.
pub(crate) fn fail<'a, T>(i: &'a str, message: impl Into<String>) -> Res<'a, T> {
    Err(nom::Err::Failure(PErr {
        rest_len: i.len(),
        expected: Vec::new(),
        message: Some(message.into()),
    }))
}

/// A fatal "expected one of …" error at `i`.
pub(crate) fn fail_expected<'a, T>(i: &'a str, exp: &[&str]) -> Res<'a, T> {
    Err(nom::Err::Failure(PErr {
        rest_len: i.len(),
        expected: exp.iter().map(|s| s.to_string()).collect(),
        message: None,
    }))
}

/// Turns recoverable errors into fatal ones (nom's `cut`).
pub(crate) fn cut_err<T>(r: Res<'_, T>) -> Res<'_, T> {
    match r {
        Err(nom::Err::Error(e)) => Err(nom::Err::Failure(e)),
        other => other,
    }
}

/// Skips whitespace and `#` comments.
pub(crate) fn ws(mut i: &str) -> &str {
    loop {
        let t = i.trim_start();
        if let Some(rest) = t.strip_prefix('#') {
            i = rest.find('\n').map_or("", |p| &rest[p..]);
        } else {
            return t;
        }
    }
}

/// Describes what is at the start of `i` for an "unexpected …" message.
pub(crate) fn describe(i: &str) -> String {
    let i = ws(i);
    match i.chars().next() {
        None => "end of input".to_string(),
        Some(c) if c.is_alphanumeric() || c == '_' || c == ':' => {
            let w: String = i
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':' || *c == '.')
                .take(40)
                .collect();
            format!("\"{w}\"")
        }
        Some(c) => {
            const OPS: [&str; 14] = [
                "==", "!=", ">=", "<=", "=~", "!~", "|=", "|~", "[", "]", "(", ")", "{", "}",
            ];
            match OPS.iter().find(|o| i.starts_with(**o)) {
                Some(o) => format!("\"{o}\""),
                None => format!("\"{c}\""),
            }
        }
    }
}

/// Consumes the exact symbol `s` after whitespace.
pub(crate) fn sym<'a>(i: &'a str, s: &'static str) -> Res<'a, ()> {
    let t = ws(i);
    match t.strip_prefix(s) {
        Some(rest) => Ok((rest, ())),
        None => expected(t, &[&format!("\"{s}\"")]),
    }
}

/// Peeks for symbol `s` after whitespace.
pub(crate) fn peek_sym(i: &str, s: &str) -> bool {
    ws(i).starts_with(s)
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A metric-name-like identifier (letters, digits, `_`, `:`), after whitespace.
pub(crate) fn metric_ident(i: &str) -> Res<'_, &str> {
    let t = ws(i);
    match t.chars().next() {
        Some(c) if is_ident_start(c) || c == ':' => {
            take_while1(|c: char| is_ident_char(c) || c == ':').parse(t)
        }
        _ => expected(t, &["identifier"]),
    }
}

/// A label name (letters, digits, `_`), after whitespace.
pub(crate) fn label_name(i: &str) -> Res<'_, &str> {
    let t = ws(i);
    match t.chars().next() {
        Some(c) if is_ident_start(c) => take_while1(is_ident_char).parse(t),
        _ => expected(t, &["label name"]),
    }
}

/// Peeks the identifier at the start of `i` (after whitespace), if any.
pub(crate) fn peek_ident(i: &str) -> Option<&str> {
    metric_ident(i).ok().map(|(_, w)| w)
}

/// Consumes keyword `kw` (case-insensitive, not followed by an identifier character).
pub(crate) fn keyword<'a>(i: &'a str, kw: &'static str) -> Res<'a, ()> {
    let t = ws(i);
    match metric_ident(t) {
        Ok((rest, w)) if w.eq_ignore_ascii_case(kw) => Ok((rest, ())),
        _ => expected(t, &[kw]),
    }
}

/// A string literal (`"…"`, `'…'` with Go escapes, or `` `…` `` raw), after whitespace.
pub(crate) fn string_lit(i: &str) -> Res<'_, String> {
    let t = ws(i);
    let Some(q) = t.chars().next().filter(|c| matches!(c, '"' | '\'' | '`')) else {
        return expected(t, &["string"]);
    };
    let body = &t[1..];
    if q == '`' {
        return match body.find('`') {
            Some(end) => Ok((&body[end + 1..], body[..end].to_string())),
            None => fail(t, "unterminated raw string"),
        };
    }
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((pos, c)) = chars.next() {
        match c {
            c if c == q => return Ok((&body[pos + 1..], out)),
            '\n' => return fail(&body[pos..], "unterminated quoted string"),
            '\\' => {
                let Some((epos, e)) = chars.next() else {
                    return fail(&body[pos..], "unterminated quoted string");
                };
                let simple = match e {
                    'a' => Some('\x07'),
                    'b' => Some('\x08'),
                    'f' => Some('\x0c'),
                    'n' => Some('\n'),
                    'r' => Some('\r'),
                    't' => Some('\t'),
                    'v' => Some('\x0b'),
                    '\\' => Some('\\'),
                    '"' => Some('"'),
                    '\'' => Some('\''),
                    _ => None,
                };
                if let Some(s) = simple {
                    out.push(s);
                    continue;
                }
                let (digits, radix) = match e {
                    'x' => (2, 16),
                    'u' => (4, 16),
                    'U' => (8, 16),
                    '0'..='7' => (3, 8),
                    _ => {
                        return fail(&body[pos..], format!("unknown escape sequence \"\\{e}\""));
                    }
                };
                let start = if radix == 8 { epos } else { epos + 1 };
                let hex = body.get(start..start + digits).unwrap_or("");
                let code = u32::from_str_radix(hex, radix)
                    .ok()
                    .filter(|_| hex.len() == digits);
                match code.and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => return fail(&body[pos..], "invalid escape sequence"),
                }
                let skip = if radix == 8 { digits - 1 } else { digits };
                for _ in 0..skip {
                    chars.next();
                }
            }
            c => out.push(c),
        }
    }
    fail(t, "unterminated quoted string")
}

/// A number literal: decimal/scientific, hex `0x…`, `Inf`, `NaN` (no sign), after whitespace.
pub(crate) fn number_lit(i: &str) -> Res<'_, f64> {
    let t = ws(i);
    if let Ok((rest, w)) = metric_ident(t) {
        if w.eq_ignore_ascii_case("inf") {
            return Ok((rest, f64::INFINITY));
        }
        if w.eq_ignore_ascii_case("nan") {
            return Ok((rest, f64::NAN));
        }
        return expected(t, &["number"]);
    }
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        let (rest, digits) = take_while1(|c: char| c.is_ascii_hexdigit()).parse(h)?;
        return match u64::from_str_radix(digits, 16) {
            Ok(v) => Ok((rest, v as f64)),
            Err(_) => fail(t, "hex number out of range"),
        };
    }
    let bytes = t.as_bytes();
    let mut n = 0;
    let digits = |n: &mut usize| {
        let s = *n;
        while *n < bytes.len() && bytes[*n].is_ascii_digit() {
            *n += 1;
        }
        *n - s
    };
    let int = digits(&mut n);
    let mut frac = 0;
    if n < bytes.len() && bytes[n] == b'.' {
        n += 1;
        frac = digits(&mut n);
    }
    if int + frac == 0 {
        return expected(t, &["number"]);
    }
    if n < bytes.len() && (bytes[n] == b'e' || bytes[n] == b'E') {
        let mut m = n + 1;
        if m < bytes.len() && (bytes[m] == b'+' || bytes[m] == b'-') {
            m += 1;
        }
        if digits(&mut m) > 0 {
            n = m;
        }
    }
    match t[..n].parse::<f64>() {
        Ok(v) => Ok((&t[n..], v)),
        Err(_) => expected(t, &["number"]),
    }
}

/// A duration like `5m`, `1h30m`, `250ms`, `1y2w` in milliseconds, after whitespace.
pub(crate) fn duration_lit(i: &str) -> Res<'_, i64> {
    let t = ws(i);
    const UNITS: [(&str, i64); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("ms", 1),
        ("m", 60_000),
        ("s", 1000),
    ];
    // order of units as they must appear
    const ORDER: [&str; 7] = ["y", "w", "d", "h", "m", "s", "ms"];
    let mut rest = t;
    let mut total: i64 = 0;
    let mut last_unit: Option<usize> = None;
    loop {
        let (r, digits) = take_while::<_, _, PErr>(|c: char| c.is_ascii_digit()).parse(rest)?;
        if digits.is_empty() {
            break;
        }
        let Some((unit, mult)) = UNITS.iter().find(|(u, _)| r.starts_with(u)) else {
            return fail(r, "expected a duration unit (ms, s, m, h, d, w, y)");
        };
        let after = &r[unit.len()..];
        if after.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return fail(r, "expected a duration unit (ms, s, m, h, d, w, y)");
        }
        let idx = ORDER.iter().position(|u| u == unit).unwrap_or(0);
        if last_unit.is_some_and(|l| idx <= l) {
            return fail(
                rest,
                format!(
                    "duration units out of order in \"{}\"",
                    &t[..t.len() - after.len()]
                ),
            );
        }
        last_unit = Some(idx);
        let v: i64 = match digits.parse::<i64>() {
            Ok(v) => v,
            Err(_) => return fail(rest, "duration out of range"),
        };
        total = match v.checked_mul(*mult).and_then(|x| total.checked_add(x)) {
            Some(x) => x,
            None => return fail(rest, "duration out of range"),
        };
        rest = after;
    }
    if last_unit.is_none() {
        return expected(t, &["duration"]);
    }
    Ok((rest, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_unescape() {
        assert_eq!(
            string_lit(r#" "a\"b\n\x41\u00e9" rest"#).unwrap(),
            (" rest", "a\"b\nAé".to_string())
        );
        assert_eq!(string_lit(r"'it\'s'").unwrap().1, "it's");
        assert_eq!(string_lit(r"`raw\d`").unwrap().1, r"raw\d");
        assert_eq!(string_lit(r#""\101""#).unwrap().1, "A");
        assert!(string_lit("\"open").is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(number_lit("1.5e3x").unwrap(), ("x", 1500.0));
        assert_eq!(number_lit("0x1f").unwrap().1, 31.0);
        assert_eq!(number_lit(".5").unwrap().1, 0.5);
        assert!(number_lit("Inf").unwrap().1.is_infinite());
        assert!(number_lit("nan").unwrap().1.is_nan());
        assert!(number_lit("abc").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(duration_lit("5m]").unwrap(), ("]", 300_000));
        assert_eq!(duration_lit("1h30m").unwrap().1, 5_400_000);
        assert_eq!(duration_lit("250ms").unwrap().1, 250);
        assert_eq!(duration_lit("1y").unwrap().1, 365 * 86_400_000);
        assert!(duration_lit("5x").is_err());
        assert!(duration_lit("30m1h").is_err());
    }

    #[test]
    fn comments_are_whitespace() {
        assert_eq!(ws("  # c\n  x"), "x");
    }
}
