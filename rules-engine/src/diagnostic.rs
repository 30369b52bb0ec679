//! Diagnostics: things that went wrong with data or evaluation that never fail the engine
//! (late samples, evaluation errors, template errors at fire time, limits).

use std::fmt;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Severity {
    /// Data was dropped or a result is degraded.
    Warning,
    /// A rule could not be evaluated.
    Error,
}

/// What kind of problem a diagnostic reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum DiagnosticKind {
    /// A sample or log record arrived later than the out-of-order tolerance and was dropped.
    LateDropped,
    /// The store refused a sample (e.g. a duplicate timestamp with another value).
    Rejected,
    /// A rule's expression failed to evaluate.
    EvalError,
    /// A rule produced two series with the same labels after applying its labels.
    DuplicateLabels,
    /// A group's `limit` was exceeded; the rule's results were discarded.
    LimitExceeded,
    /// A template failed at render time (the text holds the error).
    Template,
}

/// One diagnostic with the time it refers to.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// How bad.
    pub severity: Severity,
    /// What kind.
    pub kind: DiagnosticKind,
    /// The rule concerned, if any (`group/name`).
    pub rule: Option<String>,
    /// Time (ms) the diagnostic refers to: the evaluation time or the sample's timestamp.
    pub t_ms: i64,
    /// Human-readable detail.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        match &self.rule {
            Some(r) => write!(f, "{sev}: rule {r} at {}ms: {}", self.t_ms, self.message),
            None => write!(f, "{sev}: at {}ms: {}", self.t_ms, self.message),
        }
    }
}
