//! Emulation of Prometheus 2.42's PromQL lexer, reduced to what error messages need: the
//! lexer errors it reports and how its parser describes each token.

use crate::gofmt::go_quote;

/// A Prometheus lexer item, reduced to what error messages need.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    /// End of input.
    Eof,
    /// A lexer error with Prometheus' message.
    Error(String),
    /// Any other token and how the parser describes it (`identifier "foo"`, `<op:+>`, `"("`).
    Token(String),
}

const KEYWORDS: [&str; 9] = [
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "atan2",
];

/// Go's `%q` for a rune.
fn go_rune(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        '\\' => "'\\\\'".into(),
        '\n' => "'\\n'".into(),
        '\t' => "'\\t'".into(),
        '\r' => "'\\r'".into(),
        c if (c as u32) < 0x20 => format!("'\\x{:02x}'", c as u32),
        c => format!("'{c}'"),
    }
}

/// `Item.desc()` for a token of type `ty` with text `val`.
fn desc(ty: &str, val: &str) -> String {
    let quoted = if val.chars().count() > 10 {
        let head: String = val.chars().take(10).collect();
        format!("{}...", go_quote(&head))
    } else {
        go_quote(val)
    };
    match ty {
        "identifier" | "metric identifier" | "number" | "duration" | "string" => {
            format!("{ty} {quoted}")
        }
        "keyword" => format!("<{val}>"),
        "op" => format!("<op:{val}>"),
        "aggr" => format!("<aggr:{val}>"),
        _ => quoted,
    }
}

fn is_alpha(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_alnum(c: char) -> bool {
    is_alpha(c) || c.is_ascii_digit()
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

struct Lexer<'a> {
    s: &'a str,
    pos: usize,
    paren: i32,
    brace: bool,
    bracket: bool,
    colon: bool,
    duration_next: bool,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn accept(&mut self, set: &str) -> bool {
        match self.peek() {
            Some(c) if set.contains(c) => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, set: &str) {
        while self.accept(set) {}
    }

    /// Prometheus 2.42 `scanNumber`.
    fn scan_number(&mut self) -> bool {
        let mut digits = "0123456789";
        if self.accept("0") && self.accept("xX") {
            digits = "0123456789abcdefABCDEF";
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789");
        }
        !self.peek().is_some_and(is_alnum)
    }

    fn remaining_duration(&mut self) -> bool {
        if !self.accept("smhdwy") {
            return false;
        }
        self.accept("s");
        while self.accept("0123456789") {
            self.accept_run("0123456789");
            if !self.accept("smhdw") {
                return false;
            }
            self.accept("s");
        }
        // Go reads the next rune (kept in an error's text, backed up on success)
        let c = self.next();
        !c.is_some_and(is_alnum)
    }

    /// Steps back over the rune `remaining_duration` read last (not at the end of input).
    fn backup_after_duration(&mut self) {
        if let Some(c) = self.s[..self.pos].chars().next_back()
            && !(self.pos == self.s.len() && is_alnum(c))
        {
            self.pos -= c.len_utf8();
        }
    }

    fn string(&mut self, start: usize, quote: char) -> (usize, Item) {
        loop {
            match self.next() {
                None | Some('\n') if quote != '`' => {
                    return (start, Item::Error("unterminated quoted string".into()));
                }
                None => return (start, Item::Error("unterminated raw string".into())),
                Some('\\') if quote != '`' => match self.next() {
                    Some('a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\') => {}
                    Some(c) if c == quote => {}
                    Some(c @ ('0'..='7' | 'x' | 'u' | 'U')) => {
                        let (n, base) = match c {
                            'x' => (2, 16),
                            'u' => (4, 16),
                            'U' => (8, 16),
                            _ => (2, 8),
                        };
                        for _ in 0..n {
                            match self.next() {
                                Some(d) if d.is_digit(base) => {}
                                None => {
                                    return (
                                        start,
                                        Item::Error("escape sequence not terminated".into()),
                                    );
                                }
                                Some(d) => {
                                    return (
                                        start,
                                        Item::Error(format!(
                                            "illegal character U+{:04X} '{d}' in escape sequence",
                                            d as u32
                                        )),
                                    );
                                }
                            }
                        }
                    }
                    None => {
                        return (start, Item::Error("escape sequence not terminated".into()));
                    }
                    Some(c) => {
                        return (
                            start,
                            Item::Error(format!(
                                "unknown escape sequence U+{:04X} '{c}'",
                                c as u32
                            )),
                        );
                    }
                },
                Some(c) if c == quote => {
                    return (start, Item::Token(desc("string", &self.s[start..self.pos])));
                }
                Some(_) => {}
            }
        }
    }

    /// The next item and where it starts.
    /// Prometheus 2.42 `lexDuration`, right after `[` (and its spaces).
    fn duration(&mut self) -> (usize, Item) {
        while self.peek().is_some_and(is_space) {
            self.next();
        }
        let start = self.pos;
        if self.scan_number() {
            return (
                start,
                Item::Error("missing unit character in duration".into()),
            );
        }
        if !self.remaining_duration() {
            return (
                start,
                Item::Error(format!(
                    "bad duration syntax: {}",
                    go_quote(&self.s[start..self.pos])
                )),
            );
        }
        self.backup_after_duration();
        (
            start,
            Item::Token(desc("duration", &self.s[start..self.pos])),
        )
    }

    fn item(&mut self) -> (usize, Item) {
        if std::mem::take(&mut self.duration_next) {
            return self.duration();
        }
        loop {
            let start = self.pos;
            if self.brace {
                let Some(c) = self.next() else {
                    return (
                        start,
                        Item::Error("unexpected end of input inside braces".into()),
                    );
                };
                return match c {
                    c if is_space(c) => continue,
                    c if is_alpha(c) => {
                        while self.peek().is_some_and(is_alnum) {
                            self.next();
                        }
                        (
                            start,
                            Item::Token(desc("identifier", &self.s[start..self.pos])),
                        )
                    }
                    ',' => (start, Item::Token(desc("", ","))),
                    '"' | '\'' | '`' => self.string(start, c),
                    '=' => {
                        let v = if self.accept("~") { "=~" } else { "=" };
                        (
                            start,
                            Item::Token(desc(if v == "=" { "" } else { "op" }, v)),
                        )
                    }
                    '!' => match self.next() {
                        Some('~') => (start, Item::Token(desc("op", "!~"))),
                        Some('=') => (start, Item::Token(desc("op", "!="))),
                        other => (
                            start,
                            Item::Error(format!(
                                "unexpected character after '!' inside braces: {}",
                                other.map_or("U+FFFFFFFF".into(), go_rune)
                            )),
                        ),
                    },
                    '{' => (start, Item::Error("unexpected left brace '{'".into())),
                    '}' => {
                        self.brace = false;
                        (start, Item::Token(desc("", "}")))
                    }
                    c => (
                        start,
                        Item::Error(format!(
                            "unexpected character inside braces: {}",
                            go_rune(c)
                        )),
                    ),
                };
            }
            if self.s[self.pos..].starts_with('#') {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.next();
                }
                continue;
            }
            let Some(c) = self.next() else {
                if self.paren != 0 {
                    return (start, Item::Error("unclosed left parenthesis".into()));
                }
                if self.bracket {
                    return (start, Item::Error("unclosed left bracket".into()));
                }
                return (start, Item::Eof);
            };
            let op = |v: &str| (start, Item::Token(desc("op", v)));
            return match c {
                c if is_space(c) => continue,
                ',' => (start, Item::Token(desc("", ","))),
                '*' | '/' | '%' | '+' | '-' | '^' => op(&c.to_string()),
                '=' => match self.peek() {
                    Some('=') => {
                        self.next();
                        op("==")
                    }
                    Some('~') => (
                        start,
                        Item::Error("unexpected character after '=': '~'".into()),
                    ),
                    _ => (start, Item::Token(desc("", "="))),
                },
                '!' => match self.next() {
                    Some('=') => op("!="),
                    other => (
                        start,
                        Item::Error(format!(
                            "unexpected character after '!': {}",
                            other.map_or("U+FFFFFFFF".into(), go_rune)
                        )),
                    ),
                },
                '<' | '>' => {
                    if self.accept("=") {
                        op(&format!("{c}="))
                    } else {
                        op(&c.to_string())
                    }
                }
                c if c.is_ascii_digit()
                    || c == '.' && self.peek().is_some_and(|d| d.is_ascii_digit()) =>
                {
                    self.pos = start;
                    if self.scan_number() {
                        return (start, Item::Token(desc("number", &self.s[start..self.pos])));
                    }
                    if self.remaining_duration() {
                        self.backup_after_duration();
                        return (
                            start,
                            Item::Token(desc("duration", &self.s[start..self.pos])),
                        );
                    }
                    (
                        start,
                        Item::Error(format!(
                            "bad number or duration syntax: {}",
                            go_quote(&self.s[start..self.pos])
                        )),
                    )
                }
                '"' | '\'' | '`' => self.string(start, c),
                c if is_alpha(c) || c == ':' => {
                    if self.bracket {
                        if self.colon {
                            return (start, Item::Error("unexpected colon ':'".into()));
                        }
                        self.colon = true;
                        return (start, Item::Token(desc("", ":")));
                    }
                    while self.peek().is_some_and(|c| is_alnum(c) || c == ':') {
                        self.next();
                    }
                    let w = &self.s[start..self.pos];
                    let lw = w.to_ascii_lowercase();
                    let ty = if lw == "inf" || lw == "nan" {
                        "number"
                    } else if ["and", "or", "unless", "atan2"].contains(&lw.as_str()) {
                        "op"
                    } else if crate::syntax::AGGREGATORS.contains(&lw.as_str()) {
                        "aggr"
                    } else if KEYWORDS.contains(&lw.as_str()) || lw == "start" || lw == "end" {
                        "keyword"
                    } else if w.contains(':') {
                        "metric identifier"
                    } else {
                        "identifier"
                    };
                    (start, Item::Token(desc(ty, w)))
                }
                '(' => {
                    self.paren += 1;
                    (start, Item::Token(desc("", "(")))
                }
                ')' => {
                    self.paren -= 1;
                    if self.paren < 0 {
                        // Prometheus emits the parenthesis first: the error is after it
                        return (
                            start + 1,
                            Item::Error("unexpected right parenthesis ')'".into()),
                        );
                    }
                    (start, Item::Token(desc("", ")")))
                }
                '{' => {
                    self.brace = true;
                    (start, Item::Token(desc("", "{")))
                }
                '[' => {
                    if self.bracket {
                        return (start, Item::Error("unexpected left bracket '['".into()));
                    }
                    self.colon = false;
                    self.bracket = true;
                    self.duration_next = true;
                    (start, Item::Token(desc("", "[")))
                }
                ']' => {
                    if !self.bracket {
                        return (start, Item::Error("unexpected right bracket ']'".into()));
                    }
                    self.bracket = false;
                    (start, Item::Token(desc("", "]")))
                }
                '@' => op("@"),
                c => (
                    start,
                    Item::Error(format!("unexpected character: {}", go_rune(c))),
                ),
            };
        }
    }
}

/// The items of `src` up to the first error or the end, with their byte offsets.
pub(crate) fn lex(src: &str) -> Vec<(usize, Item)> {
    let mut l = Lexer {
        s: src,
        pos: 0,
        paren: 0,
        brace: false,
        bracket: false,
        colon: false,
        duration_next: false,
    };
    let mut out = Vec::new();
    loop {
        let (at, it) = l.item();
        let done = matches!(it, Item::Eof | Item::Error(_));
        out.push((at, it));
        if done {
            return out;
        }
    }
}
