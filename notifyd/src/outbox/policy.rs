//! Pure retry and rate-limit policy: exponential backoff with jitter, retry deadlines and a
//! token bucket. No I/O, no clock: time (unix ms) and the jitter seed are parameters.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

/// How transient failures are retried.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Delay before the second attempt.
    pub initial: Duration,
    /// Growth factor per attempt.
    pub multiplier: f64,
    /// Upper bound of one delay.
    pub max: Duration,
    /// Fraction of each delay that is randomised away, 0.0..=1.0: a delay `d` becomes a value in
    /// `d * (1 - jitter) ..= d` so receivers recovering from an outage are not hit in lockstep.
    pub jitter: f64,
    /// How long after enqueueing a notification is still retried (default 24 h); then it is
    /// dead-lettered as expired.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            multiplier: 2.0,
            max: Duration::from_secs(300),
            jitter: 0.2,
            deadline: Duration::from_secs(24 * 3600),
        }
    }
}

/// What to do with a notification after an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Delivered: drop from the outbox, record in the log.
    Delivered,
    /// Try again at this unix-ms time.
    Retry {
        /// When.
        at_ms: i64,
    },
    /// Give up: move to the dead-letter table.
    DeadLetter(DeadReason),
}

/// Why a notification was given up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadReason {
    /// The receiver rejected it in a way retrying cannot fix.
    Permanent,
    /// The retry deadline passed.
    Expired,
    /// No notifier is configured for its target.
    UnknownTarget,
}

impl DeadReason {
    /// The word stored in the dead-letter table.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadReason::Permanent => "permanent",
            DeadReason::Expired => "expired",
            DeadReason::UnknownTarget => "unknown-target",
        }
    }
}

/// How an attempt ended, reduced to what the policy needs (from `DeliveryError`'s predicates).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptResult {
    /// Delivered.
    Ok,
    /// Failed; a retry may succeed. `retry_after` is the receiver's hint.
    Transient {
        /// Receiver's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// Failed; retrying is pointless.
    Permanent,
}

impl RetryPolicy {
    /// The delay after failed attempt number `attempt` (1 = the first attempt failed), jittered by
    /// `seed` (any value; the same seed gives the same delay).
    pub fn delay(&self, attempt: u32, seed: u64) -> Duration {
        let exp = self
            .multiplier
            .max(1.0)
            .powi(attempt.saturating_sub(1).min(64) as i32);
        let base = (self.initial.as_secs_f64() * exp).min(self.max.as_secs_f64());
        let frac = (seed % 10_000) as f64 / 10_000.0;
        let jitter = self.jitter.clamp(0.0, 1.0);
        Duration::from_secs_f64(base * (1.0 - jitter * frac))
    }

    /// Decides what follows attempt number `attempt` of a notification with deadline
    /// `deadline_ms`, which ended with `result` at `now_ms`.
    pub fn decide(
        &self,
        result: AttemptResult,
        attempt: u32,
        seed: u64,
        now_ms: i64,
        deadline_ms: i64,
    ) -> Decision {
        match result {
            AttemptResult::Ok => Decision::Delivered,
            AttemptResult::Permanent => Decision::DeadLetter(DeadReason::Permanent),
            AttemptResult::Transient { retry_after } => {
                if now_ms >= deadline_ms {
                    return Decision::DeadLetter(DeadReason::Expired);
                }
                let delay = self
                    .delay(attempt, seed)
                    .max(retry_after.unwrap_or_default());
                let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
                // One last attempt at the deadline rather than none.
                Decision::Retry {
                    at_ms: now_ms.saturating_add(delay_ms).min(deadline_ms),
                }
            }
        }
    }
}

/// A jitter seed for attempt `attempt` of the notification with `key`: deterministic, but
/// different across notifications so retries spread out.
pub fn jitter_seed(key: &str, attempt: u32) -> u64 {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    attempt.hash(&mut h);
    h.finish()
}

/// A per-receiver rate limit: `per_second` sustained, bursts of up to `burst`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Sustained deliveries per second.
    pub per_second: f64,
    /// Deliveries allowed back to back.
    pub burst: u32,
}

/// Token bucket state for one receiver.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    last_ms: i64,
}

impl TokenBucket {
    /// A full bucket at `now_ms`.
    pub fn new(limit: RateLimit, now_ms: i64) -> Self {
        Self {
            limit,
            tokens: f64::from(limit.burst.max(1)),
            last_ms: now_ms,
        }
    }

    /// Takes one token at `now_ms`, or says how many ms until one is available.
    pub fn try_acquire(&mut self, now_ms: i64) -> Result<(), i64> {
        let rate = self.limit.per_second.max(f64::MIN_POSITIVE);
        let elapsed = (now_ms - self.last_ms).max(0) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * rate).min(f64::from(self.limit.burst.max(1)));
        self.last_ms = now_ms.max(self.last_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err((((1.0 - self.tokens) / rate) * 1000.0).ceil().max(1.0) as i64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_millis(100),
            multiplier: 2.0,
            max: Duration::from_secs(1),
            jitter: 0.2,
            deadline: Duration::from_secs(10),
        }
    }

    #[test]
    fn delays_grow_exponentially_with_bounded_jitter_up_to_max() {
        let p = policy();
        let mut last = Duration::ZERO;
        for attempt in 1..=4 {
            let nominal = 100.0 * 2f64.powi(attempt as i32 - 1);
            for seed in [0, 1234, 9_999, u64::MAX] {
                let d = p.delay(attempt, seed).as_secs_f64() * 1000.0;
                assert!(
                    d <= nominal + 1e-6 && d >= nominal * 0.8 - 1e-6,
                    "{attempt} {d}"
                );
            }
            let d = p.delay(attempt, jitter_seed("k", attempt));
            assert!(d > last, "attempt {attempt}: {d:?} after {last:?}");
            last = d;
        }
        assert!(p.delay(30, 0) <= Duration::from_secs(1));
        assert_eq!(p.delay(3, 77), p.delay(3, 77), "deterministic");
    }

    #[test]
    fn decisions() {
        let p = policy();
        let t = AttemptResult::Transient { retry_after: None };
        assert_eq!(
            p.decide(AttemptResult::Ok, 1, 0, 0, 10_000),
            Decision::Delivered
        );
        assert_eq!(
            p.decide(AttemptResult::Permanent, 1, 0, 0, 10_000),
            Decision::DeadLetter(DeadReason::Permanent)
        );
        assert_eq!(
            p.decide(t, 1, 0, 5_000, 10_000),
            Decision::Retry { at_ms: 5_100 }
        );
        assert_eq!(
            p.decide(t, 9, 0, 9_900, 10_000),
            Decision::Retry { at_ms: 10_000 },
            "last attempt at the deadline"
        );
        assert_eq!(
            p.decide(t, 9, 0, 10_000, 10_000),
            Decision::DeadLetter(DeadReason::Expired)
        );
        let hinted = AttemptResult::Transient {
            retry_after: Some(Duration::from_secs(3)),
        };
        assert_eq!(
            p.decide(hinted, 1, 0, 0, 10_000),
            Decision::Retry { at_ms: 3_000 }
        );
    }

    #[test]
    fn token_bucket_allows_burst_then_rate() {
        let mut b = TokenBucket::new(
            RateLimit {
                per_second: 10.0,
                burst: 2,
            },
            0,
        );
        assert_eq!(b.try_acquire(0), Ok(()));
        assert_eq!(b.try_acquire(0), Ok(()));
        assert_eq!(b.try_acquire(0), Err(100));
        assert_eq!(b.try_acquire(50), Err(50));
        assert_eq!(b.try_acquire(100), Ok(()));
        assert!(b.try_acquire(100).is_err());
        assert_eq!(
            b.try_acquire(10_000),
            Ok(()),
            "refills up to the burst only"
        );
        assert_eq!(b.try_acquire(10_000), Ok(()));
        assert!(b.try_acquire(10_000).is_err());
    }
}
