//! An input series line (`metric{labels} values`) read the way promtool 2.42 reads it: its
//! PromQL lexer in series-description mode and its grammar, so sequences mean the same
//! (`1+2x3` = four values, `_x3` = three gaps, `0x10` = eleven zeros) and errors read the same
//! (`1:7: parse error: unexpected "x"`, `... in series values`).

use super::notation::SeqValue;
use crate::input::{Labels, METRIC_NAME, STALE_NAN};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// A keyword or aggregator as the lexer names it (`<by>`, `<aggr:sum>`).
    Word(String, String),
    Number(String),
    Str(String, String),
    LBrace,
    RBrace,
    Comma,
    Eql,
    /// Another operator (`<op:=~>`).
    Op(String),
    Space(String),
    Add,
    Sub,
    Times,
    Blank,
    Eof,
    Err(String),
}

fn q(s: &str) -> String {
    super::notation::go_quote(s)
}

impl Tok {
    /// The parser's `Item.desc()`.
    fn desc(&self) -> String {
        match self {
            Tok::Ident(s) => format!("identifier {}", q(s)),
            Tok::Word(_, d) => d.clone(),
            Tok::Number(s) => format!("number {}", q(s)),
            Tok::Str(raw, _) => format!("string {}", q(raw)),
            Tok::LBrace => q("{"),
            Tok::RBrace => q("}"),
            Tok::Comma => q(","),
            Tok::Eql => q("="),
            Tok::Op(o) => format!("<op:{o}>"),
            Tok::Space(s) => q(s),
            Tok::Add => "<op:+>".into(),
            Tok::Sub => "<op:->".into(),
            Tok::Times => q("x"),
            Tok::Blank => q("_"),
            Tok::Eof => "end of input".into(),
            Tok::Err(m) => m.clone(),
        }
    }
}

fn go_rune(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        '\\' => "'\\\\'".into(),
        '\t' => "'\\t'".into(),
        '\n' => "'\\n'".into(),
        c => format!("'{c}'"),
    }
}

fn is_alpha(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_alnum(c: char) -> bool {
    is_alpha(c) || c.is_ascii_digit()
}

const KEYWORDS: [&str; 10] = [
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "start",
    "end",
];

#[derive(PartialEq)]
enum Mode {
    Start,
    Braces,
    Values,
}

/// Lexes `s` like Prometheus in series-description mode: tokens with byte offsets, ending
/// with `Eof` or `Err`.
fn lex(s: &str) -> Vec<(usize, Tok)> {
    let b: Vec<(usize, char)> = s.char_indices().collect();
    let at = |i: usize| b.get(i).map(|x| x.1);
    let off = |i: usize| b.get(i).map_or(s.len(), |x| x.0);
    let mut out = Vec::new();
    let mut i = 0;
    let mut mode = Mode::Start;
    loop {
        let start = i;
        let Some(c) = at(i) else {
            out.push((
                off(i),
                if mode == Mode::Braces {
                    Tok::Err("unexpected end of input inside braces".into())
                } else {
                    Tok::Eof
                },
            ));
            return out;
        };
        let tok = match mode {
            Mode::Braces => {
                i += 1;
                match c {
                    ' ' | '\t' | '\n' | '\r' => continue,
                    c if is_alpha(c) => {
                        while at(i).is_some_and(is_alnum) {
                            i += 1;
                        }
                        Tok::Ident(s[off(start)..off(i)].to_string())
                    }
                    ',' => Tok::Comma,
                    '"' | '\'' | '`' => {
                        let mut val = String::new();
                        loop {
                            match at(i) {
                                None | Some('\n') if c != '`' => {
                                    break Tok::Err("unterminated quoted string".into());
                                }
                                None => break Tok::Err("unterminated raw string".into()),
                                Some(d) if d == c => {
                                    i += 1;
                                    break Tok::Str(s[off(start)..off(i)].to_string(), val);
                                }
                                Some('\\') if c != '`' => {
                                    i += 1;
                                    let e = at(i);
                                    i += 1;
                                    match e {
                                        Some('n') => val.push('\n'),
                                        Some('t') => val.push('\t'),
                                        Some('r') => val.push('\r'),
                                        Some('a') => val.push('\u{7}'),
                                        Some('b') => val.push('\u{8}'),
                                        Some('f') => val.push('\u{c}'),
                                        Some('v') => val.push('\u{b}'),
                                        Some(d) if d == '\\' || d == c => val.push(d),
                                        None => {
                                            break Tok::Err(
                                                "escape sequence not terminated".into(),
                                            );
                                        }
                                        Some(d) => {
                                            break Tok::Err(format!(
                                                "unknown escape sequence U+{:04X} {}",
                                                d as u32,
                                                go_rune(d)
                                            ));
                                        }
                                    }
                                }
                                Some(d) => {
                                    val.push(d);
                                    i += 1;
                                }
                            }
                        }
                    }
                    '=' => {
                        if at(i) == Some('~') {
                            i += 1;
                            Tok::Op("=~".into())
                        } else {
                            Tok::Eql
                        }
                    }
                    '!' => match at(i) {
                        Some('~') => {
                            i += 1;
                            Tok::Op("!~".into())
                        }
                        Some('=') => {
                            i += 1;
                            Tok::Op("!=".into())
                        }
                        d => Tok::Err(format!(
                            "unexpected character after '!' inside braces: {}",
                            d.map_or("U+FFFFFFFF".into(), go_rune)
                        )),
                    },
                    '{' => Tok::Err("unexpected left brace '{'".into()),
                    '}' => {
                        mode = Mode::Values;
                        Tok::RBrace
                    }
                    c => Tok::Err(format!(
                        "unexpected character inside braces: {}",
                        go_rune(c)
                    )),
                }
            }
            Mode::Start | Mode::Values => {
                i += 1;
                match c {
                    ' ' | '\t' | '\n' | '\r' => {
                        while at(i).is_some_and(|d| matches!(d, ' ' | '\t' | '\n' | '\r')) {
                            i += 1;
                        }
                        if mode == Mode::Start {
                            continue;
                        }
                        Tok::Space(c.to_string())
                    }
                    '{' if mode == Mode::Start => {
                        mode = Mode::Braces;
                        Tok::LBrace
                    }
                    '+' if mode == Mode::Values => Tok::Add,
                    '-' if mode == Mode::Values => Tok::Sub,
                    'x' if mode == Mode::Values => Tok::Times,
                    '_' if mode == Mode::Values => Tok::Blank,
                    c if c.is_ascii_digit()
                        || c == '.' && at(i).is_some_and(|d| d.is_ascii_digit()) =>
                    {
                        // scanNumber without hex: digits [. digits] [e [+-] digits], then
                        // not alphanumeric unless it is the `x` of a repetition
                        i = start;
                        let digits = |i: &mut usize| {
                            while at(*i).is_some_and(|d| d.is_ascii_digit()) {
                                *i += 1;
                            }
                        };
                        digits(&mut i);
                        if at(i) == Some('.') {
                            i += 1;
                            digits(&mut i);
                        }
                        if matches!(at(i), Some('e' | 'E')) {
                            i += 1;
                            if matches!(at(i), Some('+' | '-')) {
                                i += 1;
                            }
                            digits(&mut i);
                        }
                        let text = s[off(start)..off(i)].to_string();
                        match at(i) {
                            Some('x') => Tok::Number(text),
                            Some(d) if is_alnum(d) => {
                                Tok::Err(format!("bad number syntax: {}", q(&text)))
                            }
                            _ => Tok::Number(text),
                        }
                    }
                    c if is_alpha(c) || c == ':' && mode == Mode::Start => {
                        while at(i).is_some_and(|d| is_alnum(d) || d == ':') {
                            i += 1;
                        }
                        let w = s[off(start)..off(i)].to_string();
                        let lw = w.to_ascii_lowercase();
                        let t = if lw == "inf" || lw == "nan" {
                            Tok::Number(w)
                        } else if ["and", "or", "unless", "atan2"].contains(&lw.as_str()) {
                            Tok::Word(w.clone(), format!("<op:{w}>"))
                        } else if crate::syntax::AGGREGATORS.contains(&lw.as_str()) {
                            Tok::Word(w.clone(), format!("<aggr:{w}>"))
                        } else if KEYWORDS.contains(&lw.as_str()) {
                            Tok::Word(w.clone(), format!("<{w}>"))
                        } else {
                            Tok::Ident(w)
                        };
                        mode = if at(i) == Some('{') {
                            Mode::Start
                        } else {
                            Mode::Values
                        };
                        t
                    }
                    c if mode == Mode::Values => Tok::Err(format!(
                        "unexpected character in series sequence: {}",
                        go_rune(c)
                    )),
                    c => Tok::Err(format!("unexpected character: {}", go_rune(c))),
                }
            }
        };
        let done = matches!(tok, Tok::Err(_));
        out.push((off(start), tok));
        if done {
            return out;
        }
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)` then `ParseFloat`, as the PromQL parser reads numbers.
fn number(s: &str) -> Result<f64, String> {
    let oct = s.len() > 1 && s.starts_with('0') && s.bytes().all(|c| c.is_ascii_digit());
    if oct && let Ok(v) = i64::from_str_radix(&s[1..], 8) {
        return Ok(v as f64);
    }
    if !oct && let Ok(v) = s.parse::<i64>() {
        return Ok(v as f64);
    }
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "inf" | "+inf" | "infinity" => return Ok(f64::INFINITY),
        "nan" => return Ok(f64::NAN),
        _ => {}
    }
    let valid = s.bytes().any(|c| c.is_ascii_digit())
        && !s.ends_with(['e', 'E', '+', '-'])
        && s.parse::<f64>().is_ok();
    if valid {
        s.parse::<f64>().map_err(|e| e.to_string())
    } else {
        Err(format!(
            "error parsing number: strconv.ParseFloat: parsing {}: invalid syntax",
            q(s)
        ))
    }
}

/// Reads one input series line (`series` and `values` joined by a space, trimmed) like
/// promtool: the labels and the expanded values, or promtool's error text.
pub fn parse_series_desc(series: &str, values: &str) -> Result<(Labels, Vec<SeqValue>), String> {
    let line = format!("{series} {values}");
    let line = line.trim();
    let toks = lex(line);
    let mut k = 0;
    let err = |(at, t): &(usize, Tok), ctx: &str| -> String {
        let col = at + 1;
        match t {
            Tok::Err(m) => format!("1:{col}: parse error: {m}"),
            t => format!("1:{col}: parse error: unexpected {}{ctx}", t.desc()),
        }
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    // metric name and label set
    if let Tok::Ident(w) | Tok::Word(w, _) = &toks[k].1 {
        pairs.push((METRIC_NAME.into(), w.clone()));
        k += 1;
    }
    if toks[k].1 == Tok::LBrace {
        k += 1;
        loop {
            match &toks[k].1 {
                Tok::RBrace => {
                    k += 1;
                    break;
                }
                Tok::Ident(name) => {
                    k += 1;
                    if toks[k].1 != Tok::Eql {
                        return Err(err(&toks[k], " in label set, expected \"=\""));
                    }
                    k += 1;
                    let Tok::Str(_, v) = &toks[k].1 else {
                        return Err(err(&toks[k], " in label set, expected string"));
                    };
                    pairs.push((name.clone(), v.clone()));
                    k += 1;
                    match toks[k].1 {
                        Tok::Comma => k += 1,
                        Tok::RBrace => {}
                        _ => return Err(err(&toks[k], " in label set, expected \",\" or \"}\"")),
                    }
                }
                _ => {
                    return Err(err(&toks[k], " in label set, expected identifier or \"}\""));
                }
            }
        }
    }
    let ctx = " in series values";
    let uint = |t: &(usize, Tok)| -> Result<u64, String> {
        match &t.1 {
            Tok::Number(n) => n.parse::<u64>().map_err(|_| {
                let why = if n.bytes().all(|c| c.is_ascii_digit()) {
                    "value out of range"
                } else {
                    "invalid syntax"
                };
                format!(
                    "1:{}: parse error: invalid repetition in series values: strconv.ParseUint: parsing {}: {why}",
                    t.0 + 1,
                    q(n)
                )
            }),
            _ => Err(err(t, ctx)),
        }
    };
    let num = |t: &(usize, Tok)| -> Result<f64, String> {
        match &t.1 {
            Tok::Number(n) => number(n).map_err(|m| format!("1:{}: parse error: {m}", t.0 + 1)),
            _ => Err(err(t, ctx)),
        }
    };
    let mut out = Vec::new();
    let mut first = true;
    loop {
        match &toks[k].1 {
            Tok::Eof => break,
            Tok::Space(_) => k += 1,
            _ => return Err(err(&toks[k], if first { ctx } else { "" })),
        }
        first = false;
        match &toks[k].1 {
            Tok::Eof => break,
            Tok::Blank => {
                k += 1;
                if toks[k].1 == Tok::Times {
                    k += 1;
                    let n = uint(&toks[k])?;
                    k += 1;
                    out.extend((0..n).map(|_| SeqValue::Omitted));
                } else {
                    out.push(SeqValue::Omitted);
                }
            }
            Tok::Number(_) | Tok::Add | Tok::Sub | Tok::Ident(_) => {
                let v = match &toks[k].1 {
                    Tok::Ident(w) if w == "stale" => STALE_NAN,
                    Tok::Ident(_) => {
                        return Err(err(
                            &toks[k],
                            " in series values, expected number or \"stale\"",
                        ));
                    }
                    Tok::Add => {
                        k += 1;
                        num(&toks[k])?
                    }
                    Tok::Sub => {
                        k += 1;
                        -num(&toks[k])?
                    }
                    _ => num(&toks[k])?,
                };
                k += 1;
                match &toks[k].1 {
                    Tok::Times => {
                        k += 1;
                        let n = uint(&toks[k])?;
                        k += 1;
                        out.extend((0..=n).map(|_| SeqValue::Value(v)));
                    }
                    Tok::Add | Tok::Sub => {
                        let neg = toks[k].1 == Tok::Sub;
                        k += 1;
                        let d = num(&toks[k])?;
                        let d = if neg { -d } else { d };
                        k += 1;
                        if toks[k].1 != Tok::Times {
                            return Err(err(&toks[k], ctx));
                        }
                        k += 1;
                        let n = uint(&toks[k])?;
                        k += 1;
                        let mut cur = v;
                        out.push(SeqValue::Value(cur));
                        for _ in 0..n {
                            cur += d;
                            out.push(SeqValue::Value(cur));
                        }
                    }
                    _ => out.push(SeqValue::Value(v)),
                }
            }
            _ => return Err(err(&toks[k], "")),
        }
    }
    Ok((Labels::from_pairs(pairs), out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(s: &str, v: &str) -> String {
        parse_series_desc(s, v).unwrap_err()
    }

    #[test]
    fn errors_read_like_promtool() {
        for (s, v, want) in [
            ("a", "1 2 x", "1:7: parse error: unexpected \"x\""),
            (
                "a{",
                "1",
                "1:4: parse error: unexpected character inside braces: '1'",
            ),
            (
                "a",
                "1+2",
                "1:6: parse error: unexpected end of input in series values",
            ),
            ("a", "1 1.2.3", "1:8: parse error: unexpected number \".3\""),
            (
                "a",
                "abc",
                "1:3: parse error: unexpected identifier \"abc\" in series values, expected number or \"stale\"",
            ),
            (
                "a",
                "1xabc",
                "1:5: parse error: unexpected identifier \"abc\" in series values",
            ),
            (
                "a",
                "_x2.5",
                "1:5: parse error: invalid repetition in series values: strconv.ParseUint: parsing \"2.5\": invalid syntax",
            ),
            (
                "a",
                "1 + 2",
                "1:6: parse error: unexpected \" \" in series values",
            ),
            (
                "a",
                "1 2 $",
                "1:7: parse error: unexpected character in series sequence: '$'",
            ),
            (
                "a",
                "1e",
                "1:3: parse error: error parsing number: strconv.ParseFloat: parsing \"1e\": invalid syntax",
            ),
            ("a", "1_000", "1:3: parse error: bad number syntax: \"1\""),
            (
                "a{b=c}",
                "1",
                "1:5: parse error: unexpected identifier \"c\" in label set, expected string",
            ),
            (
                "a{b}",
                "1",
                "1:4: parse error: unexpected \"}\" in label set, expected \"=\"",
            ),
            (
                "",
                "1",
                "1:1: parse error: unexpected number \"1\" in series values",
            ),
            ("a", "1 _1", "1:6: parse error: unexpected number \"1\""),
            (
                "a{b=\"c\\q\"}",
                "1",
                "1:5: parse error: unknown escape sequence U+0071 'q'",
            ),
        ] {
            assert_eq!(e(s, v), want, "{s} {v}");
        }
    }

    #[test]
    fn values_like_promtool() {
        let (l, v) = parse_series_desc("a{b='c'}", "0x2 _x2 1+1x1 stale -1").unwrap();
        assert_eq!(l.to_string(), "{__name__=\"a\", b=\"c\"}");
        assert_eq!(v.len(), 3 + 2 + 2 + 1 + 1);
        assert_eq!(v[0], SeqValue::Value(0.0));
        assert_eq!(v[3], SeqValue::Omitted);
        assert_eq!(v[6], SeqValue::Value(2.0));
        assert_eq!(v[8], SeqValue::Value(-1.0));
        assert!(parse_series_desc("sum", "Inf NaN -Inf 010").is_ok());
        assert_eq!(
            parse_series_desc("a", "010").unwrap().1,
            [SeqValue::Value(8.0)]
        );
    }
}
