//! Integration tests of rules-engine (one binary): the promtool differential test, log-rule
//! scenarios, error messages and engine behaviour.

// a failing unwrap in a test helper is a failing test
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod differential;
mod engine;
mod errors;
mod scenarios;
