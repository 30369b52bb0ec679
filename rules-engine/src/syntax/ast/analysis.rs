//! What an expression tree tells about itself: its kind (metric or log), a pre-order walk,
//! the log selectors it reads, the look-back it needs and its value type.

use super::{AtModifier, Expr, ExprKind, LogSelector, ValueType};

impl Expr {
    /// Metric vs log expression.
    pub fn kind(&self) -> ExprKind {
        match self {
            Expr::Log(_) => ExprKind::LogStream,
            _ => {
                let mut log = false;
                self.walk(&mut |e| {
                    if matches!(e, Expr::LogRange(_) | Expr::Log(_)) {
                        log = true;
                    }
                });
                if log { ExprKind::Log } else { ExprKind::Metric }
            }
        }
    }

    /// Calls `f` on this node and every descendant (pre-order).
    pub fn walk(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Number(_)
            | Expr::String(_)
            | Expr::Vector(_)
            | Expr::Matrix(_)
            | Expr::Log(_)
            | Expr::LogRange(_) => {}
            Expr::Subquery(s) => s.expr.walk(f),
            Expr::Unary(_, e) => e.walk(f),
            Expr::Binary(b) => {
                b.lhs.walk(f);
                b.rhs.walk(f);
            }
            Expr::Call(c) => c.args.iter().for_each(|a| a.walk(f)),
            Expr::Aggregate(a) => {
                if let Some(p) = &a.param {
                    p.walk(f);
                }
                a.expr.walk(f);
            }
        }
    }

    /// The log selectors (with their pipelines) this expression reads, in order.
    pub fn log_selectors(&self) -> Vec<&LogSelector> {
        let mut out = Vec::new();
        collect_logs(self, &mut out);
        out
    }

    /// The longest look-back this expression needs at one evaluation, in milliseconds (ranges,
    /// offsets and the 5 m staleness look-back). Stores keep at least this much history.
    pub fn max_lookback_ms(&self) -> i64 {
        lookback(self, crate::eval::LOOKBACK_DELTA_MS)
    }

    /// The type of the expression's value (as far as it can be known statically).
    pub fn value_type(&self) -> ValueType {
        match self {
            Expr::Number(_) => ValueType::Scalar,
            Expr::String(_) => ValueType::String,
            Expr::Vector(_) => ValueType::Vector,
            Expr::Matrix(_) | Expr::Subquery(_) | Expr::LogRange(_) => ValueType::Matrix,
            Expr::Log(_) => ValueType::Streams,
            Expr::Unary(_, e) => e.value_type(),
            Expr::Binary(b) => {
                if b.lhs.value_type() == ValueType::Scalar
                    && b.rhs.value_type() == ValueType::Scalar
                {
                    ValueType::Scalar
                } else {
                    ValueType::Vector
                }
            }
            Expr::Call(c) => c.func.return_type(),
            Expr::Aggregate(_) => ValueType::Vector,
        }
    }
}

fn collect_logs<'a>(e: &'a Expr, out: &mut Vec<&'a LogSelector>) {
    match e {
        Expr::Log(s) => out.push(s),
        Expr::LogRange(r) => out.push(&r.selector),
        Expr::Subquery(s) => collect_logs(&s.expr, out),
        Expr::Unary(_, e) => collect_logs(e, out),
        Expr::Binary(b) => {
            collect_logs(&b.lhs, out);
            collect_logs(&b.rhs, out);
        }
        Expr::Call(c) => c.args.iter().for_each(|a| collect_logs(a, out)),
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                collect_logs(p, out);
            }
            collect_logs(&a.expr, out);
        }
        Expr::Number(_) | Expr::String(_) | Expr::Vector(_) | Expr::Matrix(_) => {}
    }
}

/// History a fixed `@ <time>` may need: all of it.
const UNBOUNDED_MS: i64 = i64::MAX / 4;

fn lookback(e: &Expr, delta: i64) -> i64 {
    let fixed = |at: Option<AtModifier>| matches!(at, Some(AtModifier::Time(_)));
    match e {
        Expr::Vector(v) if fixed(v.at) => UNBOUNDED_MS,
        Expr::Matrix(m) if fixed(m.selector.at) => UNBOUNDED_MS,
        Expr::Subquery(s) if fixed(s.at) => UNBOUNDED_MS,
        Expr::Number(_) | Expr::String(_) => 0,
        Expr::Vector(v) => v.offset_ms.max(0) + delta,
        Expr::Matrix(m) => m.selector.offset_ms.max(0) + m.range_ms,
        Expr::LogRange(r) => r.offset_ms.max(0) + r.range_ms,
        Expr::Log(_) => delta,
        Expr::Subquery(s) => s.offset_ms.max(0) + s.range_ms + lookback(&s.expr, delta),
        Expr::Unary(_, e) => lookback(e, delta),
        Expr::Binary(b) => lookback(&b.lhs, delta).max(lookback(&b.rhs, delta)),
        Expr::Call(c) => c.args.iter().map(|a| lookback(a, delta)).max().unwrap_or(0),
        Expr::Aggregate(a) => {
            let p = a.param.as_ref().map_or(0, |p| lookback(p, delta));
            p.max(lookback(&a.expr, delta))
        }
    }
}
