//! The log half of the expression tree: LogQL-style stream selectors, line filters, parser
//! stages and label filters.

use regex::Regex;

use super::Matcher;

/// A log stream selector with its pipeline.
#[derive(Clone, Debug, PartialEq)]
pub struct LogSelector {
    /// Stream matchers (`{app="api"}`).
    pub matchers: Vec<Matcher>,
    /// Pipeline stages in order.
    pub pipeline: Vec<Stage>,
}

/// `log selector [range] offset d`.
#[derive(Clone, Debug, PartialEq)]
pub struct LogRange {
    /// The selector.
    pub selector: LogSelector,
    /// The range in milliseconds.
    pub range_ms: i64,
    /// Offset in milliseconds.
    pub offset_ms: i64,
}

/// Line filter operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LineFilterOp {
    /// `|=` contains
    Contains,
    /// `!=` does not contain
    NotContains,
    /// `|~` regex matches somewhere in the line
    Regex,
    /// `!~` regex matches nowhere in the line
    NotRegex,
}

impl LineFilterOp {
    /// The token.
    pub fn as_str(self) -> &'static str {
        match self {
            LineFilterOp::Contains => "|=",
            LineFilterOp::NotContains => "!=",
            LineFilterOp::Regex => "|~",
            LineFilterOp::NotRegex => "!~",
        }
    }
}

/// A line filter; regex filters carry their compiled (unanchored) regex.
#[derive(Clone, Debug)]
pub struct LineFilter {
    /// Operator.
    pub op: LineFilterOp,
    /// Literal or regex source.
    pub pattern: String,
    /// Compiled regex for `|~` / `!~`.
    pub regex: Option<Regex>,
}

impl PartialEq for LineFilter {
    fn eq(&self, other: &Self) -> bool {
        self.op == other.op && self.pattern == other.pattern
    }
}

impl LineFilter {
    /// Builds a filter, compiling the regex for `|~` / `!~`.
    pub fn new(op: LineFilterOp, pattern: &str) -> Result<LineFilter, regex::Error> {
        let regex = match op {
            LineFilterOp::Regex | LineFilterOp::NotRegex => Some(Regex::new(pattern)?),
            _ => None,
        };
        Ok(LineFilter {
            op,
            pattern: pattern.to_string(),
            regex,
        })
    }

    /// Does `line` pass the filter?
    pub fn matches(&self, line: &str) -> bool {
        match self.op {
            LineFilterOp::Contains => line.contains(self.pattern.as_str()),
            LineFilterOp::NotContains => !line.contains(self.pattern.as_str()),
            LineFilterOp::Regex => self.regex.as_ref().is_some_and(|r| r.is_match(line)),
            LineFilterOp::NotRegex => !self.regex.as_ref().is_some_and(|r| r.is_match(line)),
        }
    }
}

/// A pipeline stage.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// A line filter.
    Line(LineFilter),
    /// `| json`: top-level (and nested, joined with `_`) fields become labels.
    Json,
    /// `| logfmt`: `key=value` pairs become labels.
    Logfmt,
    /// `| regexp "(?P<name>...)"`: named groups become labels.
    Regexp(PatternRegex),
    /// `| pattern "<ip> - <_> ..."`: named captures become labels.
    Pattern(PatternRegex),
    /// A label filter `| status >= 500`, `| level="error" and x != "y"`.
    LabelFilter(LabelFilterExpr),
    /// `| unwrap label` (optionally `duration(label)` / `bytes(label)`).
    Unwrap(Unwrap),
}

/// A regex (from `regexp` or compiled from a `pattern`) with its source text.
#[derive(Clone, Debug)]
pub struct PatternRegex {
    /// The text as written in the expression.
    pub source: String,
    /// The compiled regex.
    pub regex: Regex,
}

impl PartialEq for PatternRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

/// `| unwrap [conv(]label[)]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unwrap {
    /// The label whose value becomes the sample value.
    pub label: String,
    /// Conversion.
    pub conv: UnwrapConv,
}

/// Conversion of an unwrapped label value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnwrapConv {
    /// Plain float.
    None,
    /// A Go duration (`1.5s`, `250ms`) converted to seconds.
    Duration,
    /// A byte size (`10KB`, `3MiB`) converted to bytes.
    Bytes,
}

/// Label filter comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=` / `==`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

/// A label filter expression.
#[derive(Clone, Debug, PartialEq)]
pub enum LabelFilterExpr {
    /// `name op "string"` (=, !=, =~, !~) — a string matcher.
    Str(Matcher),
    /// `name op number` (==, !=, >, >=, <, <=) — numeric; lines whose label is not a number fail.
    Num {
        /// Label name.
        name: String,
        /// Operator.
        op: CmpOp,
        /// The number.
        value: f64,
    },
    /// `name op 250ms` — the label is parsed as a Go duration and compared in seconds.
    Duration {
        /// Label name.
        name: String,
        /// Operator.
        op: CmpOp,
        /// The duration in seconds.
        seconds: f64,
        /// The literal as written (printed back).
        text: String,
    },
    /// `name op 10KB` — the label is parsed as a byte size and compared in bytes.
    Bytes {
        /// Label name.
        name: String,
        /// Operator.
        op: CmpOp,
        /// The size in bytes.
        bytes: f64,
        /// The literal as written (printed back).
        text: String,
    },
    /// `a and b` (also written `a , b` or `a | b` chained).
    And(Box<LabelFilterExpr>, Box<LabelFilterExpr>),
    /// `a or b`.
    Or(Box<LabelFilterExpr>, Box<LabelFilterExpr>),
}
