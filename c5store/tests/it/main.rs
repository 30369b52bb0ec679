//! Integration tests of c5store through its public API (one test binary; modules per area).
// Tests may unwrap/print: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

mod api;
