//! The text notations of promtool's test files: series descriptions (`up{job="a"}`), value
//! sequences (`1+2x3 _ stale`), and Go's ways of printing durations and quoted strings.

use crate::input::{Labels, METRIC_NAME, STALE_NAN};

/// One value of an expanded sequence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SeqValue {
    /// No sample at this step (`_`).
    Omitted,
    /// A sample (a staleness marker for `stale`).
    Value(f64),
}

fn parse_number(s: &str) -> Option<(f64, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let sign = if s.starts_with('-') { -1.0 } else { 1.0 };
    let rest = &s[i..];
    for (word, v) in [
        ("Inf", f64::INFINITY),
        ("inf", f64::INFINITY),
        ("NaN", f64::NAN),
        ("nan", f64::NAN),
    ] {
        if let Some(r) = rest.strip_prefix(word) {
            return Some((sign * v, r));
        }
    }
    let start = i;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
        i += 1;
    }
    if i == start {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let ds = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > ds {
            i = j;
        }
    }
    s[..i].parse::<f64>().ok().map(|v| (v, &s[i..]))
}

fn parse_times(s: &str, item: &str) -> Result<u64, String> {
    s.parse::<u64>()
        .map_err(|_| format!("parse error: unexpected {item:?} in series values"))
}

/// Expands a value sequence (`1 2 _ 3+1x4 stale _x2 -1-2x3 Inf`).
pub fn parse_values(s: &str) -> Result<Vec<SeqValue>, String> {
    let mut out = Vec::new();
    for item in s.split_whitespace() {
        if item == "_" {
            out.push(SeqValue::Omitted);
            continue;
        }
        if let Some(n) = item.strip_prefix("_x") {
            let n = parse_times(n, item)?;
            out.extend((0..n).map(|_| SeqValue::Omitted));
            continue;
        }
        if item == "stale" {
            out.push(SeqValue::Value(STALE_NAN));
            continue;
        }
        let bad = || format!("parse error: unexpected {item:?} in series values");
        let (a, rest) = parse_number(item).ok_or_else(bad)?;
        if rest.is_empty() {
            out.push(SeqValue::Value(a));
        } else if let Some(n) = rest.strip_prefix('x') {
            let n = parse_times(n, item)?;
            out.extend((0..=n).map(|_| SeqValue::Value(a)));
        } else if rest.starts_with('+') || rest.starts_with('-') {
            let (b, rest2) = parse_number(rest).ok_or_else(bad)?;
            let n = rest2.strip_prefix('x').ok_or_else(bad)?;
            let n = parse_times(n, item)?;
            let mut v = a;
            out.push(SeqValue::Value(v));
            for _ in 0..n {
                v += b;
                out.push(SeqValue::Value(v));
            }
        } else {
            return Err(bad());
        }
    }
    Ok(out)
}

fn is_name_start(c: char, metric: bool) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (metric && c == ':')
}

fn is_name_char(c: char, metric: bool) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || (metric && c == ':')
}

/// Parses a series description `name{a="b", c='d'}` (name optional) into labels.
pub fn parse_metric(s: &str) -> Result<Labels, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let err = |i: usize, m: &str| format!("1:{}: parse error: {m}", i + 1);
    let skip_ws = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    skip_ws(&mut i);
    if i < chars.len() && is_name_start(chars[i], true) {
        let st = i;
        while i < chars.len() && is_name_char(chars[i], true) {
            i += 1;
        }
        pairs.push((METRIC_NAME.into(), chars[st..i].iter().collect()));
    }
    skip_ws(&mut i);
    if i < chars.len() && chars[i] == '{' {
        i += 1;
        loop {
            skip_ws(&mut i);
            if i >= chars.len() {
                return Err(err(i, "unexpected end of input inside braces"));
            }
            if chars[i] == '}' {
                i += 1;
                break;
            }
            if !is_name_start(chars[i], false) {
                return Err(err(
                    i,
                    &format!("unexpected character inside braces: {:?}", chars[i]),
                ));
            }
            let st = i;
            while i < chars.len() && is_name_char(chars[i], false) {
                i += 1;
            }
            let name: String = chars[st..i].iter().collect();
            skip_ws(&mut i);
            if i >= chars.len() || chars[i] != '=' {
                return Err(err(i, "unexpected end of input inside braces"));
            }
            i += 1;
            skip_ws(&mut i);
            let Some(&q) = chars.get(i) else {
                return Err(err(i, "unexpected end of input inside braces"));
            };
            if q != '"' && q != '\'' && q != '`' {
                return Err(err(i, "unexpected character inside braces"));
            }
            i += 1;
            let mut val = String::new();
            loop {
                let Some(&c) = chars.get(i) else {
                    return Err(err(i, "unterminated quoted string"));
                };
                i += 1;
                if c == q {
                    break;
                }
                if c == '\\' && q != '`' {
                    let e = chars.get(i).copied().unwrap_or('\\');
                    i += 1;
                    val.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        other => other,
                    });
                } else {
                    val.push(c);
                }
            }
            pairs.push((name, val));
            skip_ws(&mut i);
            match chars.get(i) {
                Some(',') => i += 1,
                Some('}') => {}
                None => return Err(err(i, "unexpected end of input inside braces")),
                Some(c) => {
                    return Err(err(
                        i,
                        &format!("unexpected character inside braces: {c:?}"),
                    ));
                }
            }
        }
    }
    skip_ws(&mut i);
    if i < chars.len() {
        return Err(err(i, &format!("unexpected character: {:?}", chars[i])));
    }
    if pairs.is_empty() && !s.trim().starts_with('{') {
        return Err(err(0, "unexpected end of input"));
    }
    Ok(Labels::from_pairs(pairs))
}

pub use crate::gofmt::go_quote;

/// Prometheus' `labels.Labels.String()` for a list of pairs (kept as given, empty values too).
pub fn pairs_string(pairs: &[(String, String)]) -> String {
    let items: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// Go's `time.Duration.String()` for a millisecond count.
pub fn go_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let neg = ms < 0;
    let ms = ms.unsigned_abs();
    let sign = if neg { "-" } else { "" };
    if ms < 1000 {
        return format!("{sign}{ms}ms");
    }
    let (h, m, s, frac) = (
        ms / 3_600_000,
        (ms / 60_000) % 60,
        (ms / 1000) % 60,
        ms % 1000,
    );
    let mut secs = s.to_string();
    if frac > 0 {
        let f = format!("{frac:03}");
        secs.push('.');
        secs.push_str(f.trim_end_matches('0'));
    }
    if h > 0 {
        format!("{sign}{h}h{m}m{secs}s")
    } else if m > 0 {
        format!("{sign}{m}m{secs}s")
    } else {
        format!("{sign}{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_sequences() {
        let v = parse_values("1+2x2 _ stale -1-1x1 3x1 _x2 Inf").unwrap();
        let f: Vec<String> = v
            .iter()
            .map(|x| match x {
                SeqValue::Omitted => "_".to_string(),
                SeqValue::Value(v) if crate::input::is_stale_nan(*v) => "stale".into(),
                SeqValue::Value(v) => v.to_string(),
            })
            .collect();
        assert_eq!(
            f,
            [
                "1", "3", "5", "_", "stale", "-1", "-2", "3", "3", "_", "_", "inf"
            ]
        );
        assert!(parse_values("1 2 x").is_err());
    }

    #[test]
    fn metrics() {
        let l = parse_metric(r#"up{job="a", instance='x:1',}"#).unwrap();
        assert_eq!(l.to_string(), r#"{__name__="up", instance="x:1", job="a"}"#);
        assert!(parse_metric(r#"up{job="a""#).is_err());
        assert_eq!(parse_metric("{}").unwrap().len(), 0);
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(60_000), "1m0s");
        assert_eq!(go_duration(90_000), "1m30s");
        assert_eq!(go_duration(3_600_000), "1h0m0s");
        assert_eq!(go_duration(1500), "1.5s");
    }
}
