//! Label matchers with Alertmanager's syntax and semantics: `=`, `!=`, `=~`, `!~`.
//!
//! Parsing follows Alertmanager 0.25's `labels.ParseMatchers` (optional braces, comma-separated,
//! optionally quoted values with `\"`, `\\` and `\n` escapes). Regexes are anchored (`^(?:re)$`).
//! A missing label matches as the empty string, so `team!="a"` matches alerts without `team`.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;

/// Alert labels: name → value, sorted by name.
pub type LabelSet = BTreeMap<String, String>;

/// The four matcher operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// A matcher could not be parsed or its regex did not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MatcherError(pub String);

/// One label matcher.
#[derive(Clone, Debug)]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// Operator.
    pub op: MatchOp,
    /// Value as written (the regex source for regex operators).
    pub value: String,
    re: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}
impl Eq for Matcher {}

impl Matcher {
    /// Builds a matcher, compiling the anchored regex for `=~` and `!~`.
    pub fn new(name: &str, op: MatchOp, value: &str) -> Result<Self, MatcherError> {
        let re = match op {
            MatchOp::Regex | MatchOp::NotRegex => {
                Some(
                    Regex::new(&format!("^(?:{})$", go_classes(value))).map_err(|e| {
                        // The regex crate's message spans several lines; keep the last (the reason).
                        let msg = e.to_string();
                        let reason = msg
                            .lines()
                            .last()
                            .unwrap_or("")
                            .trim_start_matches("error: ");
                        MatcherError(format!("invalid regex {value:?}: {reason}"))
                    })?,
                )
            }
            _ => None,
        };
        Ok(Matcher {
            name: name.to_string(),
            op,
            value: value.to_string(),
            re,
        })
    }

    /// Whether `value` (empty when the label is missing) satisfies the matcher.
    pub fn matches_value(&self, value: &str) -> bool {
        match (self.op, &self.re) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(value),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(value),
            (_, None) => false,
        }
    }

    /// Whether the label set satisfies the matcher.
    pub fn matches(&self, labels: &LabelSet) -> bool {
        self.matches_value(labels.get(&self.name).map_or("", String::as_str))
    }

    /// Alertmanager's sort order: name, then value, then operator.
    pub fn cmp_am(&self, other: &Self) -> Ordering {
        self.name
            .cmp(&other.name)
            .then_with(|| self.value.cmp(&other.value))
            .then_with(|| self.op.cmp(&other.op))
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut v = String::with_capacity(self.value.len());
        for c in self.value.chars() {
            match c {
                '\\' => v.push_str("\\\\"),
                '\n' => v.push_str("\\n"),
                '"' => v.push_str("\\\""),
                c => v.push(c),
            }
        }
        write!(f, "{}{}\"{}\"", self.name, self.op.as_str(), v)
    }
}

/// Rewrites the Perl classes `\d \w \s` (and negations) to ASCII classes, as in Go's RE2, where
/// they never match non-ASCII digits, letters or spaces (Rust's are Unicode-aware).
fn go_classes(re: &str) -> String {
    let mut out = String::with_capacity(re.len());
    let mut it = re.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('d') => out.push_str("[0-9]"),
            Some('D') => out.push_str("[^0-9]"),
            Some('w') => out.push_str("[0-9A-Za-z_]"),
            Some('W') => out.push_str("[^0-9A-Za-z_]"),
            Some('s') => out.push_str("[\\t\\n\\f\\r ]"),
            Some('S') => out.push_str("[^\\t\\n\\f\\r ]"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Whether every matcher matches.
pub fn all_match(matchers: &[Matcher], labels: &LabelSet) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

/// Formats matchers as Alertmanager does: `{a="1",b=~"x"}`.
pub fn format_matchers(matchers: &[Matcher]) -> String {
    let inner: Vec<String> = matchers.iter().map(ToString::to_string).collect();
    format!("{{{}}}", inner.join(","))
}

/// Whether `name` is a valid Prometheus label name.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses a comma-separated list such as `{team="a", sev=~"crit|page"}` (braces optional).
pub fn parse_matchers(s: &str) -> Result<Vec<Matcher>, MatcherError> {
    let s = s.strip_prefix('{').unwrap_or(s);
    let s = s.strip_suffix('}').unwrap_or(s);
    let mut tokens = Vec::new();
    let (mut inside_quotes, mut escaped) = (false, false);
    let mut token = String::new();
    for c in s.chars() {
        match c {
            ',' if !inside_quotes => {
                tokens.push(std::mem::take(&mut token));
                continue;
            }
            ',' => {}
            '"' => {
                if escaped {
                    escaped = false;
                } else {
                    inside_quotes = !inside_quotes;
                }
            }
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
        token.push(c);
    }
    if !token.trim().is_empty() {
        tokens.push(token.trim().to_string());
    }
    tokens.iter().map(|t| parse_matcher(t)).collect()
}

/// Parses one matcher such as `team="a"` or `sev=~crit`.
pub fn parse_matcher(s: &str) -> Result<Matcher, MatcherError> {
    let bad = || MatcherError(format!("bad matcher format: {s}"));
    let t = s.trim_start();
    let name_len = t
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()))
        })
        .map_or(t.len(), |(i, _)| i);
    if name_len == 0 {
        return Err(bad());
    }
    let name = &t[..name_len];
    let rest = t[name_len..].trim_start();
    let (op, rest) = if let Some(r) = rest.strip_prefix("=~") {
        (MatchOp::Regex, r)
    } else if let Some(r) = rest.strip_prefix("!=") {
        (MatchOp::NotEqual, r)
    } else if let Some(r) = rest.strip_prefix("!~") {
        (MatchOp::NotRegex, r)
    } else if let Some(r) = rest.strip_prefix('=') {
        (MatchOp::Equal, r)
    } else {
        return Err(bad());
    };
    let raw_full = rest.trim();
    let (raw, mut expect_quote) = match raw_full.strip_prefix('"') {
        Some(r) => (r, true),
        None => (raw_full, false),
    };
    let unescaped_quote = || {
        MatcherError(format!(
            "matcher value contains unescaped double quote: {raw_full}"
        ))
    };
    let mut value = String::with_capacity(raw.len());
    let mut escaped = false;
    let mut it = raw.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let last = it.peek().is_none();
        if escaped {
            escaped = false;
            match c {
                'n' => value.push('\n'),
                '"' | '\\' => value.push(c),
                c => {
                    value.push('\\');
                    value.push(c);
                }
            }
            continue;
        }
        match c {
            '\\' if !last => escaped = true,
            '\\' => value.push('\\'),
            '"' => {
                if !expect_quote || !last {
                    return Err(unescaped_quote());
                }
                expect_quote = false;
            }
            c => value.push(c),
        }
        let _ = i;
    }
    if expect_quote {
        return Err(unescaped_quote());
    }
    Matcher::new(name, op, &value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(input: &str, expect: &str) {
        let got = match parse_matchers(input) {
            Ok(ms) => format_matchers(&ms),
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(got, expect, "input: {input}");
    }

    fn labels(pairs: &[(&str, &str)]) -> LabelSet {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_alertmanager_syntax() {
        check(
            r#"{team="a", sev=~"crit|page"}"#,
            r#"{team="a",sev=~"crit|page"}"#,
        );
        check("foo=bar", r#"{foo="bar"}"#);
        check(r#"foo!~"a,b", x = "y z" "#, r#"{foo!~"a,b",x="y z"}"#);
        check(r#"d="q\"""#, r#"{d="q\""}"#);
        check(r#"d="a\nb\\c\x""#, r#"{d="a\nb\\c\\x"}"#);
        check("", "{}");
        check("foo", "error: bad matcher format: foo");
        check("1a=b", "error: bad matcher format: 1a=b");
        check(
            r#"a="b"c""#,
            r#"error: matcher value contains unescaped double quote: "b"c""#,
        );
        check(
            r#"a="b"#,
            r#"error: matcher value contains unescaped double quote: "b"#,
        );
        check(r#"a=~"(""#, "error: invalid regex \"(\": unclosed group");
    }

    #[test]
    fn matching_semantics() {
        let l = labels(&[("team", "a"), ("sev", "crit")]);
        let m = |s: &str| parse_matcher(s).unwrap().matches(&l);
        assert!(m(r#"team="a""#));
        assert!(!m(r#"team!="a""#));
        assert!(m(r#"env!="prod""#), "missing label is empty, so != matches");
        assert!(m(r#"env="""#));
        assert!(m(r#"sev=~"crit|page""#));
        assert!(!m(r#"sev=~"cri""#), "regexes are anchored");
        assert!(m(r#"sev!~"page""#));
        assert!(m(r#"env=~".*""#));
        let re = |pattern: &str, v: &str| {
            Matcher::new("x", MatchOp::Regex, pattern)
                .unwrap()
                .matches_value(v)
        };
        assert!(re(r"db\d+", "db12"));
        assert!(!re(r"db\d+", "db\u{663}"), "Go's \\d is ASCII only");
        assert!(re(r"[\d_]+", "1_2"), "inside a class too");
        assert!(re(r"a\\d", "a\\d"), "an escaped backslash stays literal");
        assert!(!re(r"\w", "é") && re(r"\W", "é") && re(r"\s\S", " x"));
        assert!(!m(r#"env=~".+""#));
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(
            name in "[a-z_][a-z0-9_]{0,6}",
            op in 0usize..4,
            value in "[ -~\n]{0,12}",
        ) {
            let op = [MatchOp::Equal, MatchOp::NotEqual, MatchOp::Regex, MatchOp::NotRegex][op];
            let op = if Matcher::new(&name, op, &value).is_err() { MatchOp::Equal } else { op };
            let m = Matcher::new(&name, op, &value).unwrap();
            let back = parse_matchers(&m.to_string()).unwrap();
            prop_assert_eq!(back, vec![m]);
        }

        #[test]
        fn negation_is_complement(value in "[a-c]{0,3}", probe in "[a-c]{0,3}") {
            let eq = Matcher::new("l", MatchOp::Equal, &value).unwrap();
            let ne = Matcher::new("l", MatchOp::NotEqual, &value).unwrap();
            let re = Matcher::new("l", MatchOp::Regex, &value).unwrap();
            let nre = Matcher::new("l", MatchOp::NotRegex, &value).unwrap();
            prop_assert_ne!(eq.matches_value(&probe), ne.matches_value(&probe));
            prop_assert_ne!(re.matches_value(&probe), nre.matches_value(&probe));
        }
    }
}
