//! Canonical printing of expressions: the output parses back to an equal tree.

use std::fmt::{self, Display, Formatter, Write};

use super::ast::*;
use crate::input::write_quoted;

/// Formats milliseconds like Prometheus' `model.Duration` (`1h30m`, `5m`, `1d`, `500ms`, `0s`).
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = ms.unsigned_abs();
    if ms < 0 {
        out.push('-');
    }
    const UNITS: [(&str, u64, bool); 7] = [
        ("y", 365 * 24 * 3_600_000, true),
        ("w", 7 * 24 * 3_600_000, true),
        ("d", 24 * 3_600_000, false),
        ("h", 3_600_000, false),
        ("m", 60_000, false),
        ("s", 1000, false),
        ("ms", 1, false),
    ];
    for (unit, mult, exact) in UNITS {
        if exact && !rest.is_multiple_of(mult) {
            continue;
        }
        let v = rest / mult;
        if v > 0 {
            let _ = write!(out, "{v}{unit}");
            rest -= v * mult;
        }
    }
    out
}

/// Formats a number so that it parses back to the same `f64`.
pub fn format_number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "Inf" } else { "-Inf" }.to_string()
    } else if v == 0.0 || (1e-4..1e15).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

fn write_labels(f: &mut Formatter<'_>, labels: &[String]) -> fmt::Result {
    f.write_char('(')?;
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        f.write_str(l)?;
    }
    f.write_char(')')
}

fn write_matchers(f: &mut Formatter<'_>, ms: &[Matcher]) -> fmt::Result {
    f.write_char('{')?;
    for (i, m) in ms.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{}{}", m.name, m.op.as_str())?;
        write_quoted(f, &m.value)?;
    }
    f.write_char('}')
}

/// ` @ 100.000`, ` @ start()`, ` @ end()` (Prometheus prints seconds with three decimals).
fn write_at(f: &mut Formatter<'_>, at: Option<AtModifier>) -> fmt::Result {
    match at {
        None => Ok(()),
        Some(AtModifier::Start) => f.write_str(" @ start()"),
        Some(AtModifier::End) => f.write_str(" @ end()"),
        Some(AtModifier::Time(ms)) => {
            let sign = if ms < 0 { "-" } else { "" };
            let a = ms.unsigned_abs();
            write!(f, " @ {sign}{}.{:03}", a / 1000, a % 1000)
        }
    }
}

fn write_offset(f: &mut Formatter<'_>, ms: i64) -> fmt::Result {
    if ms != 0 {
        write!(f, " offset {}", format_duration(ms))?;
    }
    Ok(())
}

impl Display for VectorSelector {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(n) = &self.name {
            f.write_str(n)?;
        }
        if self.name.is_none() || !self.matchers.is_empty() {
            write_matchers(f, &self.matchers)?;
        }
        write_at(f, self.at)?;
        write_offset(f, self.offset_ms)
    }
}

impl Display for MatrixSelector {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let s = &self.selector;
        if let Some(n) = &s.name {
            f.write_str(n)?;
        }
        if s.name.is_none() || !s.matchers.is_empty() {
            write_matchers(f, &s.matchers)?;
        }
        write!(f, "[{}]", format_duration(self.range_ms))?;
        write_at(f, s.at)?;
        write_offset(f, s.offset_ms)
    }
}

impl Display for LabelFilterExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            LabelFilterExpr::Str(m) => {
                write!(f, "{}{}", m.name, m.op.as_str())?;
                write_quoted(f, &m.value)
            }
            LabelFilterExpr::Duration { name, op, text, .. }
            | LabelFilterExpr::Bytes { name, op, text, .. } => {
                write!(f, "{name} {} {text}", cmp_str(*op))
            }
            LabelFilterExpr::Num { name, op, value } => {
                let op = match op {
                    CmpOp::Eq => "==",
                    CmpOp::Ne => "!=",
                    CmpOp::Gt => ">",
                    CmpOp::Ge => ">=",
                    CmpOp::Lt => "<",
                    CmpOp::Le => "<=",
                    CmpOp::Regex => "=~",
                    CmpOp::NotRegex => "!~",
                };
                write!(f, "{name} {op} {}", format_number(*value))
            }
            LabelFilterExpr::And(a, b) => {
                write_lf_operand(f, a, false)?;
                f.write_str(" and ")?;
                write_lf_operand(f, b, true)
            }
            LabelFilterExpr::Or(a, b) => {
                write!(f, "{a} or ")?;
                write_lf_operand(f, b, true)
            }
        }
    }
}

fn cmp_str(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "==",
        CmpOp::Ne => "!=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Regex => "=~",
        CmpOp::NotRegex => "!~",
    }
}

fn write_lf_operand(f: &mut Formatter<'_>, e: &LabelFilterExpr, rhs: bool) -> fmt::Result {
    let paren =
        matches!(e, LabelFilterExpr::Or(..)) || (rhs && matches!(e, LabelFilterExpr::And(..)));
    if paren {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

impl Display for Stage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Line(l) => {
                write!(f, "{} ", l.op.as_str())?;
                write_quoted(f, &l.pattern)
            }
            Stage::Json => f.write_str("| json"),
            Stage::Logfmt => f.write_str("| logfmt"),
            Stage::Regexp(r) => {
                f.write_str("| regexp ")?;
                write_quoted(f, &r.source)
            }
            Stage::Pattern(r) => {
                f.write_str("| pattern ")?;
                write_quoted(f, &r.source)
            }
            Stage::LabelFilter(e) => write!(f, "| {e}"),
            Stage::Unwrap(u) => match u.conv {
                UnwrapConv::None => write!(f, "| unwrap {}", u.label),
                UnwrapConv::Duration => write!(f, "| unwrap duration({})", u.label),
                UnwrapConv::Bytes => write!(f, "| unwrap bytes({})", u.label),
            },
        }
    }
}

impl Display for LogSelector {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_matchers(f, &self.matchers)?;
        for s in &self.pipeline {
            write!(f, " {s}")?;
        }
        Ok(())
    }
}

/// Is `e` printed with a leading minus sign (unary or negative literal)?
fn is_negated(e: &Expr) -> bool {
    match e {
        Expr::Unary(..) => true,
        Expr::Number(v) => v.is_sign_negative() && !v.is_nan(),
        _ => false,
    }
}

fn write_operand(f: &mut Formatter<'_>, parent: BinOp, child: &Expr, rhs: bool) -> fmt::Result {
    let paren = match child {
        Expr::Binary(b) => {
            let (cp, pp) = (b.op.precedence(), parent.precedence());
            cp < pp || (cp == pp && (rhs != parent.is_right_assoc()))
        }
        _ => !rhs && parent == BinOp::Pow && is_negated(child),
    };
    if paren {
        write!(f, "({child})")
    } else {
        write!(f, "{child}")
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Number(v) => f.write_str(&format_number(*v)),
            Expr::String(s) => write_quoted(f, s),
            Expr::Vector(v) => write!(f, "{v}"),
            Expr::Matrix(m) => write!(f, "{m}"),
            Expr::Subquery(s) => {
                let simple = matches!(
                    *s.expr,
                    Expr::Vector(_) | Expr::Call(_) | Expr::Aggregate(_) | Expr::Number(_)
                ) && !is_negated(&s.expr);
                if simple {
                    write!(f, "{}", s.expr)?;
                } else {
                    write!(f, "({})", s.expr)?;
                }
                f.write_char('[')?;
                f.write_str(&format_duration(s.range_ms))?;
                f.write_char(':')?;
                if s.step_ms != 0 {
                    f.write_str(&format_duration(s.step_ms))?;
                }
                f.write_char(']')?;
                write_at(f, s.at)?;
                write_offset(f, s.offset_ms)
            }
            Expr::Unary(op, e) => {
                f.write_char(if *op == UnaryOp::Neg { '-' } else { '+' })?;
                let paren = match &**e {
                    Expr::Binary(b) => b.op != BinOp::Pow,
                    e => is_negated(e),
                };
                if paren {
                    write!(f, "({e})")
                } else {
                    write!(f, "{e}")
                }
            }
            Expr::Binary(b) => {
                write_operand(f, b.op, &b.lhs, false)?;
                write!(f, " {}", b.op.as_str())?;
                if b.return_bool {
                    f.write_str(" bool")?;
                }
                if let Some(m) = &b.matching {
                    f.write_str(if m.on { " on" } else { " ignoring" })?;
                    write_labels(f, &m.labels)?;
                    match &m.card {
                        Cardinality::OneToOne => {}
                        Cardinality::ManyToOne(l) => {
                            f.write_str(" group_left")?;
                            write_labels(f, l)?;
                        }
                        Cardinality::OneToMany(l) => {
                            f.write_str(" group_right")?;
                            write_labels(f, l)?;
                        }
                    }
                }
                f.write_char(' ')?;
                write_operand(f, b.op, &b.rhs, true)
            }
            Expr::Call(c) => {
                write!(f, "{}(", c.func.name())?;
                for (i, a) in c.args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_char(')')
            }
            Expr::Aggregate(a) => {
                f.write_str(a.op.as_str())?;
                if let Some(g) = &a.grouping {
                    f.write_str(if g.without { " without " } else { " by " })?;
                    write_labels(f, &g.labels)?;
                    f.write_char(' ')?;
                }
                f.write_char('(')?;
                if let Some(p) = &a.param {
                    write!(f, "{p}, ")?;
                }
                write!(f, "{})", a.expr)
            }
            Expr::Log(s) => write!(f, "{s}"),
            Expr::LogRange(r) => {
                write!(f, "{} [{}]", r.selector, format_duration(r.range_ms))?;
                write_offset(f, r.offset_ms)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_prometheus() {
        for (ms, s) in [
            (0, "0s"),
            (90 * 60_000, "1h30m"),
            (86_400_000, "1d"),
            (7 * 86_400_000, "1w"),
            (8 * 86_400_000, "8d"),
            (1500, "1s500ms"),
            (-300_000, "-5m"),
            (365 * 86_400_000, "1y"),
        ] {
            assert_eq!(format_duration(ms), s);
        }
    }

    #[test]
    fn numbers_round_trip() {
        for v in [
            0.0,
            1.0,
            -2.5,
            1e300,
            1e-300,
            123456.789,
            f64::INFINITY,
            0.1 + 0.2,
        ] {
            let s = format_number(v);
            let back: f64 = match s.as_str() {
                "Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                s => s.parse().unwrap(),
            };
            assert_eq!(back.to_bits(), v.to_bits(), "{s}");
        }
    }
}
