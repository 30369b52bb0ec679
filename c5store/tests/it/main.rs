//! Integration tests of c5store through its public API (one test binary; modules per area).
// Tests may unwrap/print: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

mod access;
mod api;
mod env;
mod errors;
mod index;
mod live;
mod merge_laws;
mod no_panic;
mod provenance;
mod secrets;
mod sources;
mod support;
mod watch;
