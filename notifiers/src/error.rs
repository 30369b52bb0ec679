//! Delivery errors: opaque, classified only through predicates that drive retries.

use std::fmt;
use std::time::Duration;

/// Why a delivery failed. Retry logic must use only the predicates, never the message text.
#[derive(Debug)]
pub struct DeliveryError {
    kind: Kind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    retry_after: Option<Duration>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Transient,
    Timeout,
    Permanent,
}

impl DeliveryError {
    /// A failure worth retrying (connection refused, SMTP 4xx, HTTP 5xx/429).
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Transient,
            message: message.into(),
            source: None,
            retry_after: None,
        }
    }
    /// The receiver did not answer in time (retryable).
    pub fn timeout(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Timeout,
            message: message.into(),
            source: None,
            retry_after: None,
        }
    }
    /// A failure that will not succeed on retry (SMTP 5xx, HTTP 4xx other than 408/429).
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Permanent,
            message: message.into(),
            source: None,
            retry_after: None,
        }
    }
    /// Attaches the underlying error.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
    /// Records the receiver's `Retry-After` hint.
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }
    /// The receiver's `Retry-After` hint, if it sent one: the earliest sensible next attempt.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
    /// True when a retry may succeed (includes timeouts).
    pub fn is_transient(&self) -> bool {
        matches!(self.kind, Kind::Transient | Kind::Timeout)
    }
    /// True when retrying is pointless.
    pub fn is_permanent(&self) -> bool {
        self.kind == Kind::Permanent
    }
    /// True when the receiver did not answer in time.
    pub fn is_timeout(&self) -> bool {
        self.kind == Kind::Timeout
    }
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeliveryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// A notifier configuration that cannot work (bad URL, bad address, plain SMTP to a remote host).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct BuildError {
    message: String,
}

impl BuildError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}
