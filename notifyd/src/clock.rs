//! The daemon's clock: the only place delivery code reads the wall clock.
//!
//! Outbox timestamps (creation, next attempt, deadline) are unix milliseconds so they survive a
//! restart; the pure scheduling logic in [`crate::outbox::policy`] takes them as parameters.

/// Milliseconds since the unix epoch, now.
#[allow(clippy::disallowed_methods)] // the clock module is where the daemon reads the clock
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
