//! Integration tests of rules-engine (one binary): the promtool differential test, log-rule
//! scenarios, error messages and engine behaviour.

mod common;
mod differential;
mod engine;
mod errors;
mod scenarios;
