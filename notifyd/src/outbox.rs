//! The durable outbox: every notification is written here (SQLite, one file) before its first
//! delivery attempt, together with the dead-letter table and the notification log.
//!
//! Tables:
//! - `outbox`: pending notifications with attempts, next attempt time and retry deadline. A row
//!   leaves only in the same transaction that records its fate (delivered or dead-lettered).
//! - `delivered`: `(target, idempotency_key)` of every delivered notification, so enqueueing the
//!   same notification again after a restart is a no-op (no re-flood).
//! - `dead_letters`: notifications given up, with the reason and last error.
//! - `notification_log`: per `(target, group_key)` the last notification enqueued (alert set,
//!   sequence) and when one was last delivered — Alertmanager's nflog, in the same store.
//!
//! Timestamps are unix milliseconds passed in by the caller (see [`crate::clock`]).

pub mod cli;
pub mod policy;
mod query;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use notifiers::{AlertStatus, Notification};
use rusqlite::{Connection, OptionalExtension, params};

pub use policy::DeadReason;

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
    /// When a notification of this group was last delivered, if ever.
    pub delivered_ms: Option<i64>,
}

/// What [`Outbox::enqueue`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum Enqueued {
    /// Stored as a new pending entry.
    New(Box<Entry>),
    /// The same `(target, idempotency key)` is already pending or was delivered: nothing stored.
    Duplicate,
}

/// The fate of one attempt, for [`Outbox::record`].
#[derive(Clone, Copy, Debug)]
pub enum Outcome<'a> {
    /// Delivered: the entry leaves the outbox and is logged.
    Delivered {
        /// The entry.
        entry: &'a Entry,
        /// Attempts made, this one included.
        attempts: u32,
        /// Transport detail (status line).
        detail: &'a str,
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
        error: &'a str,
    },
    /// Given up: the entry moves to the dead letters.
    Dead {
        /// The entry.
        entry: &'a Entry,
        /// Attempts made.
        attempts: u32,
        /// Why.
        reason: DeadReason,
        /// The last failure.
        error: &'a str,
    },
}

/// The outbox store. Cheap operations; share it as `Arc<Outbox>`.
pub struct Outbox {
    conn: Mutex<Connection>,
    path: String,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("path", &self.path).finish()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    group_key TEXT NOT NULL,
    notification TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    deadline_ms INTEGER NOT NULL,
    last_error TEXT,
    UNIQUE (target, idempotency_key)
);
CREATE TABLE IF NOT EXISTS delivered (
    target TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    delivered_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (target, idempotency_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    notification TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    failed_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    reason TEXT NOT NULL,
    error TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS notification_log (
    target TEXT NOT NULL,
    group_key TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    firing TEXT NOT NULL,
    resolved TEXT NOT NULL,
    enqueued_ms INTEGER NOT NULL,
    delivered_ms INTEGER,
    PRIMARY KEY (target, group_key)
) WITHOUT ROWID;
";

const ENTRY_COLUMNS: &str =
    "id, target, notification, created_ms, attempts, next_attempt_ms, deadline_ms, last_error";

impl Outbox {
    /// Opens (creating if needed) the outbox at `path` with [`Durability::Full`].
    pub fn open(path: &Path) -> Result<Outbox, OutboxError> {
        Self::open_with(path, Durability::Full)
    }

    /// Opens (creating if needed) the outbox at `path`.
    pub fn open_with(path: &Path, durability: Durability) -> Result<Outbox, OutboxError> {
        let display = path.display().to_string();
        let err = |source| OutboxError::Sqlite {
            path: display.clone(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        let sync = match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync).map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(Outbox {
            conn: Mutex::new(conn),
            path: display,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sql(&self, source: rusqlite::Error) -> OutboxError {
        OutboxError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Durably stores `notification` for `target` before any delivery attempt. The retry deadline
    /// is `now_ms + deadline`. An empty idempotency key is filled in from the group key, the alert
    /// set and the group's sequence number in the log. Enqueueing a key that is pending or was
    /// delivered is a no-op ([`Enqueued::Duplicate`]).
    pub fn enqueue(
        &self,
        target: &str,
        notification: &Notification,
        now_ms: i64,
        deadline: Duration,
    ) -> Result<Enqueued, OutboxError> {
        let mut out = self.enqueue_many(&[(target, notification)], now_ms, deadline)?;
        Ok(out.pop().unwrap_or(Enqueued::Duplicate))
    }

    /// [`Outbox::enqueue`] for many notifications in one transaction (one disk sync).
    pub fn enqueue_many(
        &self,
        items: &[(&str, &Notification)],
        now_ms: i64,
        deadline: Duration,
    ) -> Result<Vec<Enqueued>, OutboxError> {
        let deadline_ms =
            now_ms.saturating_add(i64::try_from(deadline.as_millis()).unwrap_or(i64::MAX));
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.sql(e))?;
        let mut out = Vec::with_capacity(items.len());
        for (target, notification) in items {
            out.push(self.enqueue_in(&tx, target, notification, now_ms, deadline_ms)?);
        }
        tx.commit().map_err(|e| self.sql(e))?;
        Ok(out)
    }

    fn enqueue_in(
        &self,
        tx: &rusqlite::Transaction<'_>,
        target: &str,
        notification: &Notification,
        now_ms: i64,
        deadline_ms: i64,
    ) -> Result<Enqueued, OutboxError> {
        let previous: Option<i64> = tx
            .prepare_cached(
                "SELECT sequence FROM notification_log WHERE target = ?1 AND group_key = ?2",
            )
            .and_then(|mut st| {
                st.query_row(params![target, notification.group_key], |r| r.get(0))
                    .optional()
            })
            .map_err(|e| self.sql(e))?;
        let sequence = previous.unwrap_or(0) + 1;
        let (firing, resolved) = fingerprints(notification);
        let mut n = notification.clone();
        if n.idempotency_key.is_empty() {
            n.idempotency_key =
                idempotency_key(&n.group_key, &firing, &resolved, sequence.unsigned_abs());
        }
        let seen: bool = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM delivered WHERE target = ?1 AND idempotency_key = ?2)
                 OR EXISTS (SELECT 1 FROM outbox WHERE target = ?1 AND idempotency_key = ?2)",
            )
            .and_then(|mut st| st.query_row(params![target, n.idempotency_key], |r| r.get(0)))
            .map_err(|e| self.sql(e))?;
        if seen {
            return Ok(Enqueued::Duplicate);
        }
        let json = serde_json::to_string(&n).map_err(|source| OutboxError::Corrupt {
            path: self.path.clone(),
            id: 0,
            source,
        })?;
        tx.prepare_cached(
            "INSERT INTO outbox (target, idempotency_key, group_key, notification, created_ms,
                                 next_attempt_ms, deadline_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
        )
        .and_then(|mut st| {
            st.execute(params![
                target,
                n.idempotency_key,
                n.group_key,
                json,
                now_ms,
                deadline_ms
            ])
        })
        .map_err(|e| self.sql(e))?;
        let id = tx.last_insert_rowid();
        tx.prepare_cached(
            "INSERT INTO notification_log (target, group_key, sequence, idempotency_key, firing,
                                           resolved, enqueued_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (target, group_key) DO UPDATE SET sequence = excluded.sequence,
                 idempotency_key = excluded.idempotency_key, firing = excluded.firing,
                 resolved = excluded.resolved, enqueued_ms = excluded.enqueued_ms",
        )
        .and_then(|mut st| {
            st.execute(params![
                target,
                n.group_key,
                sequence,
                n.idempotency_key,
                firing.join(","),
                resolved.join(","),
                now_ms
            ])
        })
        .map_err(|e| self.sql(e))?;
        Ok(Enqueued::New(Box::new(Entry {
            id,
            target: target.to_owned(),
            notification: n,
            created_ms: now_ms,
            attempts: 0,
            next_attempt_ms: now_ms,
            deadline_ms,
            last_error: None,
        })))
    }

    /// Every pending entry with an id greater than `after_id`, oldest first (0 = all).
    pub fn pending_after(&self, after_id: i64) -> Result<Vec<Entry>, OutboxError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM outbox WHERE id > ?1 ORDER BY id"
            ))
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![after_id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, u32>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            })
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, target, json, created_ms, attempts, next_attempt_ms, deadline_ms, last_error) =
                row.map_err(|e| self.sql(e))?;
            let notification =
                serde_json::from_str(&json).map_err(|source| OutboxError::Corrupt {
                    path: self.path.clone(),
                    id,
                    source,
                })?;
            out.push(Entry {
                id,
                target,
                notification,
                created_ms,
                attempts,
                next_attempt_ms,
                deadline_ms,
                last_error,
            });
        }
        Ok(out)
    }

    /// Every pending entry, oldest first.
    pub fn pending(&self) -> Result<Vec<Entry>, OutboxError> {
        self.pending_after(0)
    }

    /// Records a successful delivery: removes the entry and logs it, in one transaction.
    pub fn mark_delivered(
        &self,
        entry: &Entry,
        attempts: u32,
        now_ms: i64,
        detail: &str,
    ) -> Result<(), OutboxError> {
        self.record(
            &[Outcome::Delivered {
                entry,
                attempts,
                detail,
            }],
            now_ms,
        )
    }

    /// Records a failed attempt to be retried at `next_attempt_ms`.
    pub fn reschedule(
        &self,
        id: i64,
        attempts: u32,
        next_attempt_ms: i64,
        error: &str,
    ) -> Result<(), OutboxError> {
        let outcome = Outcome::Retry {
            id,
            attempts,
            at_ms: next_attempt_ms,
            error,
        };
        self.record(&[outcome], next_attempt_ms)
    }

    /// Moves an entry to the dead-letter table, in one transaction.
    pub fn dead_letter(
        &self,
        entry: &Entry,
        attempts: u32,
        now_ms: i64,
        reason: DeadReason,
        error: &str,
    ) -> Result<(), OutboxError> {
        let outcome = Outcome::Dead {
            entry,
            attempts,
            reason,
            error,
        };
        self.record(&[outcome], now_ms)
    }

    /// Records the outcomes of several attempts at `now_ms` in one transaction (one disk sync).
    pub fn record(&self, outcomes: &[Outcome<'_>], now_ms: i64) -> Result<(), OutboxError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.sql(e))?;
        let run = |sql: &str, p: &[&dyn rusqlite::ToSql]| {
            tx.prepare_cached(sql)
                .and_then(|mut st| st.execute(p))
                .map_err(|e| self.sql(e))
        };
        for outcome in outcomes {
            match *outcome {
                Outcome::Delivered {
                    entry,
                    attempts,
                    detail,
                } => {
                    let n = &entry.notification;
                    run("DELETE FROM outbox WHERE id = ?1", params![entry.id])?;
                    run(
                        "INSERT OR REPLACE INTO delivered
                             (target, idempotency_key, delivered_ms, attempts, detail)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![entry.target, n.idempotency_key, now_ms, attempts, detail],
                    )?;
                    run(
                        "UPDATE notification_log SET delivered_ms = ?3
                         WHERE target = ?1 AND group_key = ?2",
                        params![entry.target, n.group_key, now_ms],
                    )?;
                }
                Outcome::Retry {
                    id,
                    attempts,
                    at_ms,
                    error,
                } => {
                    run(
                        "UPDATE outbox SET attempts = ?2, next_attempt_ms = ?3, last_error = ?4
                         WHERE id = ?1",
                        params![id, attempts, at_ms, error],
                    )?;
                }
                Outcome::Dead {
                    entry,
                    attempts,
                    reason,
                    error,
                } => {
                    run(
                        "INSERT INTO dead_letters (target, idempotency_key, notification,
                             created_ms, failed_ms, attempts, reason, error)
                         SELECT target, idempotency_key, notification, created_ms, ?2, ?3, ?4, ?5
                         FROM outbox WHERE id = ?1",
                        params![entry.id, now_ms, attempts, reason.as_str(), error],
                    )?;
                    run("DELETE FROM outbox WHERE id = ?1", params![entry.id])?;
                }
            }
        }
        tx.commit().map_err(|e| self.sql(e))
    }
}

/// Sorted fingerprints of the firing and of the resolved alerts.
fn fingerprints(n: &Notification) -> (Vec<String>, Vec<String>) {
    let mut firing = Vec::new();
    let mut resolved = Vec::new();
    for a in &n.alerts {
        match a.status {
            AlertStatus::Firing => firing.push(a.fingerprint.clone()),
            AlertStatus::Resolved => resolved.push(a.fingerprint.clone()),
        }
    }
    firing.sort();
    resolved.sort();
    (firing, resolved)
}

/// `<group hash>-<alert set hash>-<sequence>` (16 hex digits each, FNV-1a 64), the shape the
/// grouping layer uses, for notifications enqueued without a key.
pub fn idempotency_key(
    group_key: &str,
    firing: &[String],
    resolved: &[String],
    seq: u64,
) -> String {
    let fnv = |parts: &[&[u8]]| {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for p in parts {
            for b in *p {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            h ^= 0xff;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    };
    let mut set: Vec<&[u8]> = vec![b"firing"];
    set.extend(firing.iter().map(|s| s.as_bytes()));
    set.push(b"resolved");
    set.extend(resolved.iter().map(|s| s.as_bytes()));
    format!(
        "{:016x}-{:016x}-{seq}",
        fnv(&[group_key.as_bytes()]),
        fnv(&set)
    )
}

#[cfg(test)]
pub(crate) mod tests;
