//! The durable outbox: every notification is written here (SQLite, one file) before its first
//! delivery attempt, together with the dead-letter table and the notification log.
//!
//! Tables (see `outbox/schema.rs`):
//! - `outbox`: every notification with attempts, next attempt time and retry deadline; pending
//!   while `delivered_ms` is null. Delivery is recorded on the row itself (`delivered_ms`, the
//!   transport detail; the stored body is dropped), in the transaction that records the outcome,
//!   so enqueueing the same `(target, idempotency_key)` again after a restart is a no-op (no
//!   re-flood) until the record is pruned. A dead-lettered row leaves in the transaction that
//!   moves it to `dead_letters`.
//! - `dead_letters`: notifications given up, with the reason and last error.
//! - `notification_log`: per `(target, group_key)` the last notification enqueued (alert set,
//!   sequence) and when one was last delivered — Alertmanager's nflog, in the same store. A
//!   delivery does not write the log: its time is read from the latest notification's row
//!   (carried over to the log row by the group's next enqueue). A group's log expires with its
//!   latest notification's record (pruned after the retention), as nflog entries do.
//!
//! Writes go through one writer thread (`outbox/writer.rs`) that owns the write connection and
//! group-commits everything queued to it — enqueues and delivery outcomes alike — in one
//! transaction per batch (WAL mode, so one sync per batch). A write is answered only after its
//! batch committed: an acknowledged enqueue is on disk. Blocking methods (`enqueue`, `record`, ...)
//! wait on the calling thread; the `*_async` ones let a task wait without holding a thread. Reads
//! use a separate connection and never wait for a commit in progress.
//!
//! Timestamps are unix milliseconds passed in by the caller (see [`crate::clock`]).

pub mod cli;
pub mod policy;
mod query;
mod schema;
mod types;
mod writer;

use std::future::Future;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use notifiers::{AlertStatus, Notification};
use rusqlite::Connection;

pub use policy::DeadReason;
pub use types::{
    DeadLetter, Durability, Enqueued, Entry, LogEntry, OutboxError, Outcome, TargetStatus,
};

/// The outbox store; share it as `Arc<Outbox>`. Writes go to one writer thread that commits
/// whatever is queued in one transaction (see the module docs); reads use a connection of their
/// own.
pub struct Outbox {
    writer: Option<std::sync::mpsc::Sender<writer::Op>>,
    thread: Option<std::thread::JoinHandle<()>>,
    reader: Mutex<Connection>,
    path: String,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("path", &self.path).finish()
    }
}

impl Outbox {
    /// Opens (creating if needed) the outbox at `path` with [`Durability::Full`].
    pub fn open(path: &Path) -> Result<Outbox, OutboxError> {
        Self::open_with(path, Durability::Full)
    }

    /// Opens (creating if needed) the outbox at `path` and starts its writer thread.
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
        // Checkpoint every 4000 WAL pages (16 MiB at 4 KiB pages) instead of SQLite's 1000: the
        // hot pages (index roots, the notification log, the id sequence) are rewritten by every
        // commit, and a checkpoint copies each page once however often it was rewritten, so
        // fewer checkpoints copy fewer pages. Durability is unchanged (commits still fsync the WAL).
        conn.pragma_update(None, "wal_autocheckpoint", 4000)
            .map_err(err)?;
        // A 16 MiB page cache (SQLite's default is 2 MiB): pages of recent rows, which the
        // delivery updates touch, stay cached instead of being read back from the WAL.
        conn.pragma_update(None, "cache_size", -16384)
            .map_err(err)?;
        schema::create_or_migrate(&conn).map_err(err)?;
        let reader = Connection::open(path).map_err(err)?;
        reader.busy_timeout(Duration::from_secs(5)).map_err(err)?;
        reader
            .pragma_update(None, "query_only", true)
            .map_err(err)?;
        let (tx, rx) = std::sync::mpsc::channel();
        let thread_path = display.clone();
        let thread = std::thread::Builder::new()
            .name("outbox-writer".into())
            .spawn(move || writer::run(conn, rx, thread_path))
            .map_err(|e| OutboxError::Commit {
                path: display.clone(),
                message: format!("cannot start the writer thread: {e}"),
            })?;
        Ok(Outbox {
            writer: Some(tx),
            thread: Some(thread),
            reader: Mutex::new(reader),
            path: display,
        })
    }

    /// The read connection (reads never wait for the writer: WAL).
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sql(&self, source: rusqlite::Error) -> OutboxError {
        OutboxError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn closed(&self) -> OutboxError {
        OutboxError::Closed {
            path: self.path.clone(),
        }
    }

    /// Queues `make(reply)` to the writer and blocks this thread until its batch committed.
    fn write_blocking<T: Send + 'static>(
        &self,
        make: impl FnOnce(writer::Reply<T>) -> writer::Op,
    ) -> Result<T, OutboxError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.submit(make(Box::new(move |r| {
            let _ = tx.send(r);
        })))
        .map_err(|_| self.closed())?;
        rx.recv().map_err(|_| self.closed())?
    }

    /// Queues `make(reply)` to the writer at once; the future resolves when its batch committed.
    fn write_async<T: Send + 'static>(
        &self,
        make: impl FnOnce(writer::Reply<T>) -> writer::Op,
    ) -> impl Future<Output = Result<T, OutboxError>> + Send + 'static {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let submitted = self
            .submit(make(Box::new(move |r| {
                let _ = tx.send(r);
            })))
            .map_err(|_| self.closed());
        let closed = self.closed();
        async move {
            submitted?;
            rx.await.map_err(|_| closed)?
        }
    }

    /// Queues `op`; gives it back if the writer is gone.
    fn submit(&self, op: writer::Op) -> Result<(), writer::Op> {
        match &self.writer {
            Some(w) => w.send(op).map_err(|e| e.0),
            None => Err(op),
        }
    }

    /// Durably stores `notification` for `target` before any delivery attempt. The retry deadline
    /// is `now_ms + deadline`. An empty idempotency key is filled in from the group key, the alert
    /// set and the group's sequence number in the log. Enqueueing a key that is pending or was
    /// delivered is a no-op ([`Enqueued::Duplicate`]). Blocks until committed.
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

    /// [`Outbox::enqueue`] for many notifications, committed together. Blocks until committed.
    pub fn enqueue_many(
        &self,
        items: &[(&str, &Notification)],
        now_ms: i64,
        deadline: Duration,
    ) -> Result<Vec<Enqueued>, OutboxError> {
        let items = items
            .iter()
            .map(|(t, n)| writer::Item::new((*t).to_owned(), (*n).clone(), &self.path))
            .collect::<Result<Vec<_>, _>>()?;
        let deadline_ms = deadline_ms(now_ms, deadline);
        self.write_blocking(move |reply| writer::Op::Enqueue {
            items,
            now_ms,
            deadline_ms,
            reply,
        })
    }

    /// [`Outbox::enqueue_many`] without blocking the thread: serialized and queued to the writer
    /// when called, the future resolves once committed. Concurrent callers share one transaction
    /// and one sync.
    pub fn enqueue_many_async(
        &self,
        items: Vec<(String, Notification)>,
        now_ms: i64,
        deadline: Duration,
    ) -> impl Future<Output = Result<Vec<Enqueued>, OutboxError>> + Send + 'static {
        let deadline_ms = deadline_ms(now_ms, deadline);
        let items = items
            .into_iter()
            .map(|(t, n)| writer::Item::new(t, n, &self.path))
            .collect::<Result<Vec<_>, _>>();
        let queued = items.map(|items| {
            self.write_async(move |reply| writer::Op::Enqueue {
                items,
                now_ms,
                deadline_ms,
                reply,
            })
        });
        async move { queued?.await }
    }

    /// Records a successful delivery: the entry is no longer pending and its row becomes the
    /// delivery record (until pruned), logged in the same transaction.
    pub fn mark_delivered(
        &self,
        entry: &Entry,
        attempts: u32,
        now_ms: i64,
        detail: &str,
    ) -> Result<(), OutboxError> {
        let outcome = Outcome::Delivered {
            id: entry.id,
            attempts,
            detail: detail.to_owned(),
        };
        self.record(vec![outcome], now_ms)
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
            error: error.to_owned(),
        };
        self.record(vec![outcome], next_attempt_ms)
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
            id: entry.id,
            attempts,
            reason,
            error: error.to_owned(),
        };
        self.record(vec![outcome], now_ms)
    }

    /// Records the outcomes of several attempts at `now_ms`, committed together. Blocks until
    /// committed.
    pub fn record(&self, outcomes: Vec<Outcome>, now_ms: i64) -> Result<(), OutboxError> {
        self.write_blocking(move |reply| writer::Op::Record {
            outcomes,
            now_ms,
            reply,
        })
    }

    /// [`Outbox::record`] without waiting: `done` runs on the writer thread once the batch is
    /// committed (keep it short: a channel send).
    pub fn record_then(
        &self,
        outcomes: Vec<Outcome>,
        now_ms: i64,
        done: impl FnOnce(Result<(), OutboxError>) + Send + 'static,
    ) {
        let op = writer::Op::Record {
            outcomes,
            now_ms,
            reply: Box::new(done),
        };
        if let Err(e) = self.submit(op)
            && let writer::Op::Record { reply, .. } = e
        {
            reply(Err(self.closed()));
        }
    }

    /// [`Outbox::record`] without blocking the thread: queued when called, resolves once
    /// committed.
    pub fn record_async(
        &self,
        outcomes: Vec<Outcome>,
        now_ms: i64,
    ) -> impl Future<Output = Result<(), OutboxError>> + Send + 'static {
        self.write_async(move |reply| writer::Op::Record {
            outcomes,
            now_ms,
            reply,
        })
    }

    /// Moves dead letters back into the outbox as fresh pending entries (no attempts yet, due at
    /// `now_ms`, retried until `now_ms + deadline`): the ones with these dead-letter `ids`, or
    /// all of them with `None`. Returns the new outbox ids. A running dispatcher picks them up at
    /// its next rescan. A key that is pending again (or was delivered since) is skipped.
    pub fn requeue(
        &self,
        ids: Option<Vec<i64>>,
        now_ms: i64,
        deadline: Duration,
    ) -> Result<Vec<i64>, OutboxError> {
        let deadline_ms = deadline_ms(now_ms, deadline);
        self.write_blocking(move |reply| writer::Op::Requeue {
            ids,
            now_ms,
            deadline_ms,
            reply,
        })
    }

    /// Forgets delivery records older than `before_ms` (the log of groups stays). Returns how
    /// many were removed.
    pub fn prune_delivered(&self, before_ms: i64) -> Result<usize, OutboxError> {
        self.write_blocking(move |reply| writer::Op::Prune { before_ms, reply })
    }

    /// [`Outbox::prune_delivered`] without blocking the thread (queued when called).
    pub fn prune_delivered_async(
        &self,
        before_ms: i64,
    ) -> impl Future<Output = Result<usize, OutboxError>> + Send + 'static {
        self.write_async(move |reply| writer::Op::Prune { before_ms, reply })
    }
}

impl Drop for Outbox {
    /// Lets the writer finish what is queued, then waits for it to close its connection.
    fn drop(&mut self) {
        self.writer = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn deadline_ms(now_ms: i64, deadline: Duration) -> i64 {
    now_ms.saturating_add(i64::try_from(deadline.as_millis()).unwrap_or(i64::MAX))
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
    format!(
        "{}{seq}",
        idempotency_key_prefix(group_key, firing, resolved)
    )
}

/// [`idempotency_key`] up to the sequence number: `<group hash>-<alert set hash>-`.
fn idempotency_key_prefix(group_key: &str, firing: &[String], resolved: &[String]) -> String {
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
    format!("{:016x}-{:016x}-", fnv(&[group_key.as_bytes()]), fnv(&set))
}

#[cfg(test)]
pub(crate) mod tests;
