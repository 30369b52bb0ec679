//! Evaluation of expressions against a [`Store`]: PromQL semantics (Prometheus 2.42) for
//! metric expressions and LogQL-style pipelines for log expressions.
//!
//! Semantics follow Prometheus 2.42: instant selectors look back 5 m (inclusive) and ignore
//! series whose latest sample is a staleness marker; range selectors take `[t-range, t]`
//! (both ends inclusive, stale markers skipped); `rate`/`increase`/`delta` extrapolate exactly
//! like Prometheus' `extrapolatedRate`; functions and arithmetic drop `__name__` (except
//! `last_over_time`, `label_replace`, `label_join`, `sort*`, comparisons without `bool`, set
//! operators, `topk`/`bottomk`).

mod aggregate;
mod binary;
mod functions;
mod logs;
mod prefilter;
mod select;
mod shared;
mod store;

pub(crate) use logs::{parse_bytes, parse_go_duration};
pub use prefilter::LogPrefilter;
pub(crate) use shared::{Repeated, SharedResults, repeated_nodes};
pub(crate) use store::SeriesId;
pub use store::{Rejected, Store};

use std::collections::HashMap;

use crate::input::{FxHashMap, Labels, is_stale_nan};
use crate::syntax::{Expr, MatrixSelector, UnaryOp, VectorSelector};

/// The staleness look-back of instant vector selectors (5 m, as in Prometheus).
pub const LOOKBACK_DELTA_MS: i64 = 300_000;

/// The most steps one subquery may evaluate (guards against `x[1y:1ms]`).
pub const MAX_SUBQUERY_STEPS: i64 = 100_000;

/// The most subquery steps one evaluation may take in total (nested subqueries multiply).
pub const MAX_SUBQUERY_STEPS_TOTAL: i64 = 250_000;

/// The default subquery resolution when `[range:]` gives none.
pub const DEFAULT_SUBQUERY_STEP_MS: i64 = 60_000;

/// One element of an instant vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The series' labels.
    pub labels: Labels,
    /// The value.
    pub value: f64,
}

/// One element of a range vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The series' labels.
    pub labels: Labels,
    /// `(t_ms, value)` points in time order.
    pub points: Vec<(i64, f64)>,
}

/// The result of an evaluation.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A number.
    Scalar(f64),
    /// An instant vector.
    Vector(Vec<Sample>),
    /// A range vector (or the result of a range evaluation).
    Matrix(Vec<Series>),
    /// A string.
    String(String),
}

/// Why an evaluation failed (Prometheus' runtime errors).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// Two result elements ended up with the same labels.
    #[error("vector cannot contain metrics with the same labelset")]
    DuplicateLabelset,
    /// A vector matching found several series on the "one" side, or similar.
    #[error("{0}")]
    Matching(String),
    /// Something this engine does not evaluate.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A bad argument value (e.g. an invalid regex in label_replace).
    #[error("{0}")]
    Invalid(String),
}

/// Evaluation settings that Prometheus takes from its configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvalOptions {
    /// Staleness look-back of instant selectors (Prometheus `--query.lookback-delta`, 5 m).
    pub lookback_delta_ms: i64,
    /// Subquery resolution when `[range:]` gives none (Prometheus uses the global evaluation
    /// interval; promtool the test file's `evaluation_interval`, 1 m by default).
    pub default_subquery_step_ms: i64,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            lookback_delta_ms: LOOKBACK_DELTA_MS,
            default_subquery_step_ms: DEFAULT_SUBQUERY_STEP_MS,
        }
    }
}

/// Evaluates `expr` at time `t_ms` (an instant query) with the default [`EvalOptions`].
pub fn eval_instant(expr: &Expr, store: &Store, t_ms: i64) -> Result<Value, EvalError> {
    eval_instant_with(expr, store, t_ms, &EvalOptions::default())
}

/// Evaluates `expr` at time `t_ms` with explicit options.
pub fn eval_instant_with(
    expr: &Expr,
    store: &Store,
    t_ms: i64,
    opts: &EvalOptions,
) -> Result<Value, EvalError> {
    eval_at(expr, store, t_ms, *opts, None)
}

/// [`eval_instant`] reusing (and filling) `shared` results of subexpressions: the caller
/// guarantees that what they read did not change since they were computed.
pub(crate) fn eval_instant_shared(
    expr: &Expr,
    store: &Store,
    t_ms: i64,
    shared: &SharedResults,
) -> Result<Value, EvalError> {
    eval_at(expr, store, t_ms, EvalOptions::default(), Some(shared))
}

/// One instant evaluation with a fresh subquery budget.
fn eval_at(
    expr: &Expr,
    store: &Store,
    t_ms: i64,
    opts: EvalOptions,
    shared: Option<&SharedResults>,
) -> Result<Value, EvalError> {
    let budget = std::cell::Cell::new(MAX_SUBQUERY_STEPS_TOTAL);
    Ctx {
        store,
        t: t_ms,
        opts,
        budget: &budget,
        shared,
    }
    .eval(expr)
}

/// Evaluates `expr` at every step from `start_ms` to `end_ms` inclusive (a range query); the
/// result is a matrix (a scalar becomes one series without labels). Series are sorted by
/// labels.
pub fn eval_range(
    expr: &Expr,
    store: &Store,
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
) -> Result<Value, EvalError> {
    eval_range_with(
        expr,
        store,
        start_ms,
        end_ms,
        step_ms,
        &EvalOptions::default(),
    )
}

/// [`eval_range`] with explicit options.
pub fn eval_range_with(
    expr: &Expr,
    store: &Store,
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
    opts: &EvalOptions,
) -> Result<Value, EvalError> {
    if step_ms <= 0 {
        return Err(EvalError::Invalid("step must be positive".into()));
    }
    if (end_ms - start_ms) / step_ms >= 11_000 {
        return Err(EvalError::Invalid(
            "exceeded maximum resolution of 11,000 points per timeseries; use a larger step".into(),
        ));
    }
    let mut out: HashMap<Labels, Vec<(i64, f64)>> = HashMap::new();
    let mut t = start_ms;
    while t <= end_ms {
        match eval_instant_with(expr, store, t, opts)? {
            Value::Scalar(v) => out.entry(Labels::empty()).or_default().push((t, v)),
            Value::Vector(v) => {
                for s in v {
                    out.entry(s.labels).or_default().push((t, s.value));
                }
            }
            Value::Matrix(_) | Value::String(_) => {
                return Err(EvalError::Invalid(
                    "range evaluation needs a scalar or instant vector expression".into(),
                ));
            }
        }
        t += step_ms;
    }
    let mut series: Vec<Series> = out
        .into_iter()
        .map(|(labels, points)| Series { labels, points })
        .collect();
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(Value::Matrix(series))
}

/// Evaluation context: the store and the evaluation time.
pub(crate) struct Ctx<'s> {
    pub store: &'s Store,
    pub t: i64,
    pub opts: EvalOptions,
    /// subquery steps left for this evaluation (nested subqueries multiply)
    pub budget: &'s std::cell::Cell<i64>,
    /// results of shareable subexpressions, when the caller allows reusing them
    pub shared: Option<&'s SharedResults>,
}

impl Ctx<'_> {
    pub(crate) fn eval(&self, e: &Expr) -> Result<Value, EvalError> {
        if let Some(sh) = self.shared
            && shared::shareable(e)
        {
            return sh
                .get_or_eval(e, self.t, || self.eval_vector_uncached(e))
                .map(Value::Vector);
        }
        self.eval_uncached(e)
    }

    /// [`Ctx::eval`] of a node that yields an instant vector, without sharing it.
    fn eval_vector_uncached(&self, e: &Expr) -> Result<Vec<Sample>, EvalError> {
        match self.eval_uncached(e)? {
            Value::Vector(v) => Ok(v),
            other => Err(EvalError::Invalid(format!(
                "expected instant vector, got {}",
                type_name(&other)
            ))),
        }
    }

    fn eval_uncached(&self, e: &Expr) -> Result<Value, EvalError> {
        match e {
            Expr::Number(v) => Ok(Value::Scalar(*v)),
            Expr::String(s) => Ok(Value::String(s.clone())),
            Expr::Vector(vs) => Ok(Value::Vector(self.vector_selector(vs, |_, v| v))),
            Expr::Matrix(ms) => Ok(Value::Matrix(self.matrix_selector(ms))),
            Expr::Subquery(sq) => Ok(Value::Matrix(self.subquery(sq)?)),
            Expr::Unary(op, inner) => {
                let v = self.eval(inner)?;
                Ok(match (op, v) {
                    (UnaryOp::Pos, v) => v,
                    (UnaryOp::Neg, Value::Scalar(x)) => Value::Scalar(-x),
                    (UnaryOp::Neg, Value::Vector(v)) => Value::Vector(
                        v.into_iter()
                            .map(|s| Sample {
                                labels: s.labels.without_metric_name(),
                                value: -s.value,
                            })
                            .collect(),
                    ),
                    (_, other) => other,
                })
            }
            Expr::Binary(b) => binary::eval_binary(self, b),
            Expr::Call(c) => functions::eval_call(self, c),
            Expr::Aggregate(a) => aggregate::eval_aggregate(self, a),
            Expr::LogRange(r) => Ok(Value::Matrix(logs::log_range_matrix(self, r))),
            Expr::Log(_) => Err(EvalError::Unsupported(
                "a log stream query is not a metric; wrap it in count_over_time(... [5m]) or similar"
                    .into(),
            )),
        }
    }

    pub(crate) fn eval_vector(&self, e: &Expr) -> Result<Vec<Sample>, EvalError> {
        match self.eval(e)? {
            Value::Vector(v) => Ok(v),
            other => Err(EvalError::Invalid(format!(
                "expected instant vector, got {}",
                type_name(&other)
            ))),
        }
    }

    pub(crate) fn eval_scalar(&self, e: &Expr) -> Result<f64, EvalError> {
        match self.eval(e)? {
            Value::Scalar(v) => Ok(v),
            other => Err(EvalError::Invalid(format!(
                "expected scalar, got {}",
                type_name(&other)
            ))),
        }
    }

    pub(crate) fn eval_string(&self, e: &Expr) -> Result<String, EvalError> {
        match self.eval(e)? {
            Value::String(v) => Ok(v),
            other => Err(EvalError::Invalid(format!(
                "expected string, got {}",
                type_name(&other)
            ))),
        }
    }

    /// Instant selector; `f(sample_t, value)` maps the selected sample to the output value
    /// (used by `timestamp()`).
    pub(crate) fn vector_selector(
        &self,
        vs: &VectorSelector,
        f: impl Fn(i64, f64) -> f64,
    ) -> Vec<Sample> {
        let ids = self.store.select_cached(vs);
        let reft = vs.ref_time(self.t);
        let mint = reft - self.opts.lookback_delta_ms;
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids.iter() {
            let s = self.store.series(id);
            let idx = store::first_at_or_after(&s.samples, reft.saturating_add(1));
            if idx == 0 {
                continue;
            }
            let (t, v) = s.samples[idx - 1];
            if t < mint || is_stale_nan(v) {
                continue;
            }
            out.push(Sample {
                labels: s.labels.clone(),
                value: f(t, v),
            });
        }
        out
    }

    /// Range selector: points in `[t - offset - range, t - offset]`, stale markers skipped,
    /// series without points left out.
    pub(crate) fn matrix_selector(&self, ms: &MatrixSelector) -> Vec<Series> {
        let mut out = Vec::new();
        self.for_each_range(ms, |s, points| {
            out.push(Series {
                labels: s.labels.clone(),
                points: points.to_vec(),
            })
        });
        out
    }

    /// Calls `f(series, points)` for every selected series with at least one point in the
    /// range; `points` borrows the store's window (copied only when stale markers need
    /// skipping).
    pub(crate) fn for_each_range(
        &self,
        ms: &MatrixSelector,
        f: impl FnMut(&store::MemSeries, &[(i64, f64)]),
    ) {
        let ids = self.store.select_cached(&ms.selector);
        self.for_each_range_of(ms, &ids, f);
    }

    /// [`Ctx::for_each_range`] over the series `ids` (from `select_cached` of the selector).
    pub(crate) fn for_each_range_of(
        &self,
        ms: &MatrixSelector,
        ids: &[SeriesId],
        mut f: impl FnMut(&store::MemSeries, &[(i64, f64)]),
    ) {
        let maxt = ms.selector.ref_time(self.t);
        let mint = maxt - ms.range_ms;
        let mut buf: Vec<(i64, f64)> = Vec::new();
        for &id in ids {
            let s = self.store.series(id);
            let from = store::first_at_or_after(&s.samples, mint);
            let rest = &s.samples[from..];
            let to = store::first_at_or_after(rest, maxt.saturating_add(1));
            let window = &rest[..to];
            let points = if s.stale == 0 {
                window
            } else {
                buf.clear();
                buf.extend(window.iter().filter(|&&(_, v)| !is_stale_nan(v)));
                &buf[..]
            };
            if !points.is_empty() {
                f(s, points);
            }
        }
    }

    fn subquery(&self, sq: &crate::syntax::Subquery) -> Result<Vec<Series>, EvalError> {
        let step = if sq.step_ms > 0 {
            sq.step_ms
        } else {
            self.opts.default_subquery_step_ms.max(1)
        };
        let end = sq.ref_time(self.t);
        let from = end - sq.range_ms;
        if sq.range_ms / step > MAX_SUBQUERY_STEPS {
            return Err(EvalError::Invalid(format!(
                "subquery would evaluate {} steps; at most {MAX_SUBQUERY_STEPS} are allowed",
                sq.range_ms / step
            )));
        }
        let mut start = step * from.div_euclid(step);
        if start < from {
            start += step;
        }
        let mut map: FxHashMap<Labels, Vec<(i64, f64)>> = FxHashMap::default();
        let mut order: Vec<Labels> = Vec::new();
        let mut t = start;
        while t <= end {
            let left = self.budget.get() - 1;
            if left < 0 {
                return Err(EvalError::Invalid(format!(
                    "subqueries would evaluate more than {MAX_SUBQUERY_STEPS_TOTAL} steps in one evaluation"
                )));
            }
            self.budget.set(left);
            let ctx = Ctx {
                store: self.store,
                t,
                opts: self.opts,
                budget: self.budget,
                shared: None,
            };
            match ctx.eval(&sq.expr)? {
                Value::Vector(v) => {
                    for s in v {
                        let e = map.entry(s.labels.clone()).or_default();
                        if e.is_empty() {
                            order.push(s.labels);
                        }
                        e.push((t, s.value));
                    }
                }
                Value::Scalar(v) => {
                    let e = map.entry(Labels::empty()).or_default();
                    if e.is_empty() {
                        order.push(Labels::empty());
                    }
                    e.push((t, v));
                }
                _ => {
                    return Err(EvalError::Invalid(
                        "subquery needs an instant vector".into(),
                    ));
                }
            }
            t += step;
        }
        Ok(order
            .into_iter()
            .map(|l| {
                let points = map.remove(&l).unwrap_or_default();
                Series { labels: l, points }
            })
            .collect())
    }
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Scalar(_) => "scalar",
        Value::Vector(_) => "instant vector",
        Value::Matrix(_) => "range vector",
        Value::String(_) => "string",
    }
}

/// Fails with [`EvalError::DuplicateLabelset`] when two samples share labels.
pub(crate) fn check_unique(v: &[Sample]) -> Result<(), EvalError> {
    if v.len() < 2 {
        return Ok(());
    }
    let mut seen: FxHashMap<&Labels, ()> = FxHashMap::default();
    seen.reserve(v.len());
    for s in v {
        if seen.insert(&s.labels, ()).is_some() {
            return Err(EvalError::DuplicateLabelset);
        }
    }
    Ok(())
}

/// Go's `math.Min` (NaN wins).
pub(crate) fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() { a } else { b }
    } else if a < b {
        a
    } else {
        b
    }
}

/// Go's `math.Max` (NaN wins).
pub(crate) fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_positive() { a } else { b }
    } else if a > b {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests;
