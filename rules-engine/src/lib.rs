//! rules-engine: Prometheus-compatible alert rules over metric and log streams (parse, compile,
//! evaluate). The crate does no I/O and reads no clock: inputs and `now` are passed in.
//!
//! # Expression API
//! - [`input`]: [`input::Labels`] (immutable, sorted, cheap to clone, precomputed hash),
//!   [`input::Sample`], [`input::LogRecord`], staleness markers.
//! - [`syntax`]: [`syntax::parse_expr`] parses PromQL- and LogQL-style expressions into an
//!   [`syntax::Expr`]; errors carry `line:col` and what was expected; `Display` prints a
//!   canonical form that parses back to the same tree; [`syntax::Expr::kind`] tells metric
//!   from log expressions.
//! - [`eval`]: [`eval::Store`] holds series and log streams; [`eval::eval_instant`] and
//!   [`eval::eval_range`] evaluate with Prometheus 2.42 semantics; [`eval::LogPrefilter`] scans
//!   a log line once for the line filters of all rules.

pub mod eval;
pub mod input;
pub mod syntax;

// Rules, alerts and tooling (built on the expression API above).
pub mod alert;
pub mod diagnostic;
pub mod engine;
pub mod error;
pub mod gofmt;
pub mod rule;
pub mod template;
pub mod unittest;
pub mod yaml;
