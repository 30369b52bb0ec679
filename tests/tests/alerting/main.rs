//! The alerting pipeline end to end, through real parts: a Prometheus rule file loaded by
//! rules-engine, samples and log records observed with explicit timestamps, `evaluate(now)` at
//! stepped times, notifyd's routing/grouping/silences, its durable outbox and dispatcher, and
//! delivery to a real HTTP server (axum) and a real SMTP server (aiosmtpd) on loopback.
//!
//! One test binary (one link) for all scenarios; each test starts its own servers.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test
#![allow(clippy::disallowed_methods)] // the HMAC timestamp check compares with the real clock

mod alert_pipeline;
mod common;
mod log_rules;
mod secrets;
