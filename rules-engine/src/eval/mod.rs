//! Evaluation of expressions against a [`Store`]: PromQL semantics (Prometheus 2.42) for
//! metric expressions and LogQL-style pipelines for log expressions.

mod prefilter;
mod store;

pub use prefilter::LogPrefilter;
pub use store::{Rejected, Store};

use crate::input::Labels;
use crate::syntax::Expr;

/// The staleness look-back of instant vector selectors (5 m, as in Prometheus).
pub const LOOKBACK_DELTA_MS: i64 = 300_000;

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
    /// A vector matching found several series on the "one" side.
    #[error("{0}")]
    Matching(String),
    /// Something this engine does not evaluate.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A bad argument value (e.g. a regex in label_replace).
    #[error("{0}")]
    Invalid(String),
}

/// Evaluates `expr` at time `t_ms` (an instant query).
pub fn eval_instant(expr: &Expr, store: &Store, t_ms: i64) -> Result<Value, EvalError> {
    let _ = (expr, store, t_ms);
    Err(EvalError::Unsupported(
        "evaluation not implemented yet".into(),
    ))
}

/// Evaluates `expr` at every step from `start_ms` to `end_ms` (a range query); the result is a
/// matrix (a scalar expression becomes one series without labels).
pub fn eval_range(
    expr: &Expr,
    store: &Store,
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
) -> Result<Value, EvalError> {
    let _ = (expr, store, start_ms, end_ms, step_ms);
    Err(EvalError::Unsupported(
        "evaluation not implemented yet".into(),
    ))
}
