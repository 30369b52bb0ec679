//! The template lexer: text and `{{ ... }}` actions ([`Item`]), and the tokens of an action
//! ([`Tok`]).

use std::fmt;

use super::{Ctx, TemplateError};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// A name and its byte offset in the template text (execution errors report it).
    Ident(String, usize),
    Var(String, Vec<String>),
    Dot(Vec<String>),
    /// Fields right after a closing parenthesis: `(pipeline).Field`.
    Chain(Vec<String>),
    /// The value and the literal as written (Go prints the literal in error contexts).
    Str(String, String),
    /// The value, whether it is an integer and the literal as written.
    Num(f64, bool, String),
    LParen,
    RParen,
    Pipe,
    Declare,
    Assign,
    Comma,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(s, _) => write!(f, "{s}"),
            Tok::Var(s, fs) => {
                f.write_str(s)?;
                fs.iter().try_for_each(|x| write!(f, ".{x}"))
            }
            Tok::Dot(fs) if fs.is_empty() => write!(f, "."),
            Tok::Dot(fs) => fs.iter().try_for_each(|x| write!(f, ".{x}")),
            Tok::Chain(fs) => write!(f, ".{}", fs.join(".")),
            Tok::Str(_, raw) => write!(f, "{raw}"),
            Tok::Num(_, _, raw) => write!(f, "{raw}"),
            Tok::LParen => write!(f, "("),
            Tok::RParen => write!(f, ")"),
            Tok::Pipe => write!(f, "|"),
            Tok::Declare => write!(f, ":="),
            Tok::Assign => write!(f, "="),
            Tok::Comma => write!(f, ","),
        }
    }
}

pub(super) enum Item {
    Text(String),
    Action { line: usize, toks: Vec<Tok> },
}

pub(super) fn lex(cx: &Ctx<'_>, text: &str) -> Result<Vec<Item>, TemplateError> {
    let mut items = Vec::new();
    let mut rest = text;
    let mut line = 1;
    let mut trim_next = false;
    while !rest.is_empty() {
        let Some(start) = rest.find("{{") else {
            let mut t = rest.to_string();
            if trim_next {
                t = t.trim_start().to_string();
            }
            items.push(Item::Text(t));
            break;
        };
        let mut t = &rest[..start];
        if trim_next {
            t = t.trim_start();
        }
        let after = &rest[start + 2..];
        let left_trim = after.starts_with("- ")
            || after.starts_with("-\t")
            || after.starts_with("-\n")
            || after.starts_with("-\r");
        let t = if left_trim { t.trim_end() } else { t };
        if !t.is_empty() {
            items.push(Item::Text(t.to_string()));
        }
        line += rest[..start].matches('\n').count();
        let body_start = if left_trim { &after[1..] } else { after };
        // byte offset of the action's body in `text`
        let base = text.len() - body_start.len();
        // find the closing "}}" outside of quotes
        let bytes = body_start.as_bytes();
        let mut i = 0;
        let mut quote: Option<u8> = None;
        let mut close = None;
        while i < bytes.len() {
            let c = bytes[i];
            match quote {
                Some(q) => {
                    if c == b'\\' && q == b'"' {
                        i += 1;
                    } else if c == q {
                        quote = None;
                    } else if c == b'\n' && q == b'"' {
                        return Err(cx.err(line, "unterminated quoted string"));
                    }
                }
                None => {
                    if c == b'"' || c == b'`' || c == b'\'' {
                        quote = Some(c);
                    } else if c == b'}' && bytes.get(i + 1) == Some(&b'}') {
                        close = Some(i);
                        break;
                    }
                }
            }
            i += 1;
        }
        let Some(close) = close else {
            return Err(cx.err(line, "unclosed action"));
        };
        let mut inner = &body_start[..close];
        trim_next = false;
        if inner.ends_with(" -") || inner.ends_with("\t-") || inner.ends_with("\n-") {
            inner = &inner[..inner.len() - 1];
            trim_next = true;
        }
        let trimmed = inner.trim();
        if trimmed.starts_with("/*") {
            if !trimmed.ends_with("*/") {
                return Err(cx.err(line, "unclosed comment"));
            }
        } else {
            let toks = tokenize(cx, line, inner, base)?;
            if toks.is_empty() {
                return Err(cx.err(line, "missing value for command"));
            }
            items.push(Item::Action { line, toks });
        }
        line += inner.matches('\n').count();
        rest = &body_start[close + 2..];
    }
    Ok(items)
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The tokens of one action `s`, which starts at byte `base` of the template text.
fn tokenize(cx: &Ctx<'_>, line: usize, s: &str, base: usize) -> Result<Vec<Tok>, TemplateError> {
    let (offsets, chars): (Vec<usize>, Vec<char>) = s.char_indices().unzip();
    let text = |from: usize, to: usize| -> String { chars[from..to].iter().collect() };
    let mut toks = Vec::new();
    let mut i = 0;
    let fields = |i: &mut usize| -> Vec<String> {
        let mut out = Vec::new();
        while *i < chars.len()
            && chars[*i] == '.'
            && chars.get(*i + 1).is_some_and(|c| ident_char(*c))
        {
            *i += 1;
            let st = *i;
            while *i < chars.len() && ident_char(chars[*i]) {
                *i += 1;
            }
            out.push(chars[st..*i].iter().collect());
        }
        out
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                toks.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                toks.push(Tok::RParen);
                i += 1;
            }
            '|' => {
                toks.push(Tok::Pipe);
                i += 1;
            }
            ',' => {
                toks.push(Tok::Comma);
                i += 1;
            }
            '=' => {
                toks.push(Tok::Assign);
                i += 1;
            }
            ':' if chars.get(i + 1) == Some(&'=') => {
                toks.push(Tok::Declare);
                i += 2;
            }
            '$' => {
                let st = i;
                i += 1;
                while i < chars.len() && ident_char(chars[i]) {
                    i += 1;
                }
                let name: String = chars[st..i].iter().collect();
                let f = fields(&mut i);
                toks.push(Tok::Var(name, f));
            }
            '.' => {
                let chained = i > 0 && chars[i - 1] == ')';
                let f = fields(&mut i);
                if f.is_empty() {
                    i += 1;
                }
                toks.push(if chained && !f.is_empty() {
                    Tok::Chain(f)
                } else {
                    Tok::Dot(f)
                });
            }
            '"' => {
                let st = i;
                i += 1;
                let mut out = String::new();
                loop {
                    let Some(&ch) = chars.get(i) else {
                        return Err(cx.err(line, "unterminated quoted string"));
                    };
                    i += 1;
                    match ch {
                        '"' => break,
                        '\\' => {
                            let e = chars.get(i).copied().unwrap_or('\\');
                            i += 1;
                            out.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                '\\' => '\\',
                                '"' => '"',
                                '\'' => '\'',
                                other => {
                                    return Err(cx.err(line, format!("invalid syntax: \\{other}")));
                                }
                            });
                        }
                        other => out.push(other),
                    }
                }
                toks.push(Tok::Str(out, text(st, i)));
            }
            '`' => {
                i += 1;
                let st = i;
                while i < chars.len() && chars[i] != '`' {
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(cx.err(line, "unterminated raw quoted string"));
                }
                i += 1;
                toks.push(Tok::Str(text(st, i - 1), text(st - 1, i)));
            }
            c if c.is_ascii_digit()
                || ((c == '-' || c == '+')
                    && chars
                        .get(i + 1)
                        .is_some_and(|d| d.is_ascii_digit() || *d == '.')) =>
            {
                let st = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric()
                        || matches!(chars[i], '.' | '_' | '+' | '-')
                            && matches!(chars[i - 1], 'e' | 'E')
                        || chars[i] == '.')
                {
                    i += 1;
                }
                let txt: String = chars[st..i].iter().collect();
                let is_int = !txt.contains(['.', 'e', 'E']) || txt.starts_with("0x");
                let v = if let Some(h) = txt.strip_prefix("0x") {
                    i64::from_str_radix(h, 16).ok().map(|v| v as f64)
                } else {
                    txt.parse::<f64>().ok()
                };
                let Some(v) = v else {
                    return Err(cx.err(line, format!("bad number syntax: {txt:?}")));
                };
                toks.push(Tok::Num(v, is_int, txt));
            }
            c if ident_char(c) => {
                let st = i;
                while i < chars.len() && ident_char(chars[i]) {
                    i += 1;
                }
                toks.push(Tok::Ident(text(st, i), base + offsets[st]));
            }
            other => return Err(cx.err(line, format!("unexpected {other:?} in command"))),
        }
    }
    Ok(toks)
}
