//! rules-engine: Prometheus-compatible alert rules over metric and log streams (parse, compile,
//! evaluate). The crate does no I/O and reads no clock: inputs and `now` are passed in.
//!
//! # Expression API
//! - [`input`]: [`input::Labels`] (immutable, sorted, cheap to clone, precomputed hash),
//!   [`input::Sample`], [`input::LogRecord`], staleness markers ([`input::STALE_NAN`]).
//! - [`syntax`]: [`syntax::parse_expr`] parses PromQL- and LogQL-style expressions into an
//!   [`syntax::Expr`]; errors ([`syntax::ParseError`]) carry `line:col`, a message and what was
//!   expected; `Display` prints a canonical form that parses back to the same tree;
//!   [`syntax::Expr::kind`] tells metric from log expressions, [`syntax::Expr::log_selectors`]
//!   lists the log selectors and [`syntax::Expr::max_lookback_ms`] the history it needs.
//! - [`eval`]: [`eval::Store`] holds series (`add_sample`, `add_stale`, out-of-order tolerance,
//!   `set_retention` + `gc`) and log streams (`add_log`); [`eval::eval_instant`] and
//!   [`eval::eval_range`] (and the `_with` variants taking [`eval::EvalOptions`]) evaluate with
//!   Prometheus 2.42 semantics into an [`eval::Value`]; [`eval::LogPrefilter`] scans a log line
//!   (or a block of lines, `scan_text`) once for the line filters of all rules.
//!
//! ```
//! use rules_engine::eval::{Store, Value, eval_instant};
//! use rules_engine::input::Labels;
//! use rules_engine::syntax::parse_expr;
//!
//! let mut store = Store::new();
//! let up = Labels::from_pairs([("__name__", "up"), ("job", "api")]);
//! for (t, v) in [(0, 0.0), (15_000, 1.0), (30_000, 1.0)] {
//!     store.add_sample(&up, t, v).unwrap();
//! }
//! let e = parse_expr(r#"max_over_time(up{job="api"}[1m]) == 1"#).unwrap();
//! let Value::Vector(v) = eval_instant(&e, &store, 30_000).unwrap() else { unreachable!() };
//! assert_eq!(v[0].labels.to_string(), r#"{job="api"}"#);
//! ```

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
