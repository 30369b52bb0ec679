//! The outbox's public data types: entries, dead letters, log records, outcomes, errors.

use notifiers::Notification;

use super::DeadReason;

/// An outbox failure (the database could not be opened, read or written).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// SQLite failed.
    #[error("outbox database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A stored notification could not be decoded.
    #[error("outbox database {path}: entry {id} is corrupt: {source}")]
    Corrupt {
        /// The database file.
        path: String,
        /// Row id.
        id: i64,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The transaction this write was batched into failed to commit: nothing of it was stored.
    #[error("outbox database {path}: commit failed: {message}")]
    Commit {
        /// The database file.
        path: String,
        /// SQLite's message.
        message: String,
    },
    /// The writer thread has stopped (the outbox is being dropped, or the thread died).
    #[error("outbox database {path}: the writer thread has stopped")]
    Closed {
        /// The database file.
        path: String,
    },
}

/// How hard a commit waits for the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// fsync on every commit (`synchronous=FULL`): survives power loss. The default.
    #[default]
    Full,
    /// fsync at WAL checkpoints only (`synchronous=NORMAL`): survives a killed process, may lose
    /// the last commits on power loss.
    Normal,
}

/// A pending notification as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Row id (also the order of enqueueing).
    pub id: i64,
    /// Which configured notifier delivers it (e.g. `team-a/webhook/0`).
    pub target: String,
    /// The notification, idempotency key included.
    pub notification: Notification,
    /// When it was enqueued.
    pub created_ms: i64,
    /// Attempts made so far.
    pub attempts: u32,
    /// Earliest time of the next attempt.
    pub next_attempt_ms: i64,
    /// After this it is dead-lettered as expired.
    pub deadline_ms: i64,
    /// The last failure, if any.
    pub last_error: Option<String>,
}

/// A notification given up.
#[derive(Clone, Debug, PartialEq)]
pub struct DeadLetter {
    /// Row id in the dead-letter table.
    pub id: i64,
    /// Target notifier.
    pub target: String,
    /// The notification.
    pub notification: Notification,
    /// When it was enqueued.
    pub created_ms: i64,
    /// When it was given up.
    pub failed_ms: i64,
    /// Attempts made.
    pub attempts: u32,
    /// `permanent`, `expired` or `unknown-target`.
    pub reason: String,
    /// The last delivery error.
    pub error: String,
}

/// The notification log's record for one group at one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Target notifier.
    pub target: String,
    /// Group key.
    pub group_key: String,
    /// How many notifications were enqueued for this group so far.
    pub sequence: u64,
    /// Idempotency key of the last one.
    pub idempotency_key: String,
    /// Fingerprints of its firing alerts, sorted.
    pub firing: Vec<String>,
    /// Fingerprints of its resolved alerts, sorted.
    pub resolved: Vec<String>,
    /// When the last one was enqueued.
    pub enqueued_ms: i64,
    /// When a notification of this group was last delivered, if ever: the latest one's delivery
    /// time, else the time of an earlier one known delivered when the latest was enqueued.
    pub delivered_ms: Option<i64>,
}

/// How one target stands in the outbox (see [`Outbox::status`](super::Outbox::status)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetStatus {
    /// Target notifier.
    pub target: String,
    /// Notifications not delivered yet.
    pub pending: u64,
    /// Of those, how many failed at least once (waiting for a retry).
    pub retrying: u64,
    /// When the oldest pending one was enqueued.
    pub oldest_pending_ms: Option<i64>,
    /// Delivery records kept (until pruned after the retention).
    pub delivered: u64,
    /// Notifications given up.
    pub dead_letters: u64,
}

/// What [`Outbox::enqueue`](super::Outbox::enqueue) did.
#[derive(Clone, Debug, PartialEq)]
pub enum Enqueued {
    /// Stored as a new pending entry.
    New(std::sync::Arc<Entry>),
    /// The same `(target, idempotency key)` is already pending or was delivered: nothing stored.
    Duplicate,
}

/// The fate of one attempt, for [`Outbox::record`](super::Outbox::record). Entries are named by outbox row id.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Delivered: the entry leaves the outbox and is logged.
    Delivered {
        /// Row id.
        id: i64,
        /// Attempts made, this one included.
        attempts: u32,
        /// Transport detail (status line).
        detail: String,
    },
    /// Failed; retry at `at_ms`.
    Retry {
        /// Row id.
        id: i64,
        /// Attempts made, this one included.
        attempts: u32,
        /// Next attempt time.
        at_ms: i64,
        /// The failure.
        error: String,
    },
    /// Given up: the entry moves to the dead letters.
    Dead {
        /// Row id.
        id: i64,
        /// Attempts made.
        attempts: u32,
        /// Why.
        reason: DeadReason,
        /// The last failure.
        error: String,
    },
}
