//! End-to-end tests across the c5 crates live in `tests/tests/`; this library holds nothing yet.
