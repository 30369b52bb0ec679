//! Expression syntax: the tree ([`Expr`]), the nom parser ([`parse_expr`]) and the canonical
//! printer (`Display` for [`Expr`]). nom types never leave this module.

mod ast;
mod functions;
mod lex;
mod logparse;
mod parse;
mod print;
mod promerr;

pub use ast::*;
pub use functions::Function;
pub use print::{format_duration, format_number};
pub use promerr::prometheus_message;

/// PromQL's aggregation operators, as Prometheus' lexer names them (for its error texts).
pub(crate) const AGGREGATORS: [&str; 12] = [
    "sum",
    "avg",
    "count",
    "min",
    "max",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "count_values",
    "quantile",
];

/// A parse error with a 1-based position in the expression source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: {message}")]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub col: usize,
    /// Byte offset into the source.
    pub offset: usize,
    /// Human-readable message, including what was expected.
    pub message: String,
    /// What would have been accepted at this position (may be empty when the message says it).
    pub expected: Vec<String>,
}

/// Parses a metric (PromQL-style) or log (LogQL-style) expression.
///
/// ```
/// use rules_engine::syntax::{parse_expr, ExprKind};
/// let e = parse_expr(r#"sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) > 0.1"#).unwrap();
/// assert_eq!(e.kind(), ExprKind::Metric);
/// let l = parse_expr(r#"count_over_time({app="api"} |= "error" | json | status >= 500 [5m])"#).unwrap();
/// assert_eq!(l.kind(), ExprKind::Log);
/// let err = parse_expr("rate(foo[5m]").unwrap_err();
/// assert_eq!(err.to_string(), r#"1:13: unexpected end of input; expected "," or ")" or operator"#);
/// ```
pub fn parse_expr(src: &str) -> Result<Expr, ParseError> {
    match parse::expr_all(src) {
        Ok((_, e)) => Ok(e),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(to_error(src, e)),
        Err(nom::Err::Incomplete(_)) => Err(to_error(
            src,
            lex::PErr {
                rest_len: 0,
                expected: vec![],
                message: Some("incomplete input".into()),
            },
        )),
    }
}

fn to_error(src: &str, e: lex::PErr) -> ParseError {
    let offset = src.len().saturating_sub(e.rest_len);
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let message = match e.message {
        Some(m) => m,
        None => {
            let found = lex::describe(&src[offset..]);
            if e.expected.is_empty() {
                format!("unexpected {found}")
            } else {
                format!("unexpected {found}; expected {}", e.expected.join(" or "))
            }
        }
    };
    ParseError {
        line,
        col,
        offset,
        message,
        expected: e.expected,
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
