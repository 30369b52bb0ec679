//! The outbox's single writer: one thread owns the SQLite write connection and group-commits
//! everything queued to it (enqueues, delivery outcomes, requeues, prunes) in one transaction per
//! batch, so one disk sync covers every write that arrived while the previous batch was syncing.
//!
//! A batch first runs as one plain transaction. Should an operation fail, that transaction is
//! rolled back and the batch runs again with each operation in its own savepoint, so the failing
//! operation is rolled back alone and the rest still commits (savepoints copy every page they
//! touch, so the common case does without them). A caller is answered only after the batch's
//! `COMMIT` returned: an enqueue that was acknowledged is on disk (with `synchronous=FULL`,
//! synced).

use std::collections::VecDeque;
use std::sync::mpsc;

use notifiers::Notification;
use rusqlite::{CachedStatement, Connection, OptionalExtension, params};

use super::{Enqueued, Entry, OutboxError, Outcome, fingerprints, idempotency_key_prefix};

/// How a finished operation's result reaches its caller.
pub(super) type Reply<T> = Box<dyn FnOnce(Result<T, OutboxError>) + Send>;

/// Most operations in one transaction (bounds how long one batch holds its callers).
const MAX_BATCH: usize = 1024;

/// A batch stops taking operations once it holds this many notifications and outcomes, when the
/// writer has just been idle. Nothing of a batch can be delivered before its commit, so the first
/// slice of a burst is small and its deliveries start while the rest is being written; each
/// following batch (the writer busy throughout) may be twice as large, up to
/// [`MAX_SLICE_ITEMS`], so a long burst needs few commits (each one a disk sync).
const FIRST_SLICE_ITEMS: usize = 256;

/// The largest slice a busy writer grows to.
const MAX_SLICE_ITEMS: usize = 4096;

/// A notification to store, prepared by the caller (off the writer thread): serialized, its
/// alert set hashed.
pub(super) struct Item {
    /// Target notifier name.
    target: String,
    /// The notification; an empty idempotency key is filled in once stored.
    pub(super) notification: Notification,
    /// Its JSON (an empty key stays empty there: readers take the key from its column).
    json: String,
    /// The generated idempotency key up to its sequence number (see [`super::idempotency_key`]).
    key_prefix: String,
    /// Fingerprints of the firing alerts, sorted, comma-separated (for the log).
    firing: String,
    /// Fingerprints of the resolved alerts, likewise.
    resolved: String,
}

impl Item {
    /// Prepares `notification` for `target`.
    pub(super) fn new(
        target: String,
        notification: Notification,
        path: &str,
    ) -> Result<Item, OutboxError> {
        let json = serde_json::to_string(&notification).map_err(|source| OutboxError::Corrupt {
            path: path.to_owned(),
            id: 0,
            source,
        })?;
        let (firing, resolved) = fingerprints(&notification);
        let key_prefix = idempotency_key_prefix(&notification.group_key, &firing, &resolved);
        Ok(Item {
            target,
            notification,
            json,
            key_prefix,
            firing: firing.join(","),
            resolved: resolved.join(","),
        })
    }
}

/// One write, queued to the writer thread.
pub(super) enum Op {
    /// Store notifications (see [`super::Outbox::enqueue_many`]).
    Enqueue {
        items: Vec<Item>,
        now_ms: i64,
        deadline_ms: i64,
        reply: Reply<Vec<Enqueued>>,
    },
    /// Record attempt outcomes (see [`super::Outbox::record`]).
    Record {
        outcomes: Vec<Outcome>,
        now_ms: i64,
        reply: Reply<()>,
    },
    /// Move dead letters back into the outbox (see [`super::Outbox::requeue`]).
    Requeue {
        ids: Option<Vec<i64>>,
        now_ms: i64,
        deadline_ms: i64,
        reply: Reply<Vec<i64>>,
    },
    /// Forget delivery records older than `before_ms`.
    Prune { before_ms: i64, reply: Reply<usize> },
}

impl Op {
    /// How many notifications or outcomes it writes (requeues and prunes count as one).
    fn items(&self) -> usize {
        match self {
            Op::Enqueue { items, .. } => items.len(),
            Op::Record { outcomes, .. } => outcomes.len(),
            Op::Requeue { .. } | Op::Prune { .. } => 1,
        }
    }
}

/// What an operation did inside the transaction, to be answered once it commits.
enum Done {
    /// Per item: its row id and, if the key was generated, that key; `None` for a duplicate.
    Enqueued(Vec<Option<(i64, Option<String>)>>),
    Recorded,
    Requeued(Vec<i64>),
    Pruned(usize),
}

/// Why the fast path gave up on a batch.
enum Failed {
    /// An operation failed: run the batch again op by op.
    Op,
    /// The transaction could not begin or commit: every operation fails with this message.
    Transaction(String),
}

/// The writer thread's loop: runs until every sender is gone and everything queued is written.
///
/// Each batch takes every queued delivery outcome first (they are small, and an outcome can only
/// be queued after its notification committed, so this never reorders writes to one entry; until
/// they commit, the dispatcher holds back further attempts), then the other operations in arrival
/// order: at least one, and more up to a slice of [`FIRST_SLICE_ITEMS`] after an idle moment,
/// doubling while the writer stays busy.
pub(super) fn run(mut conn: Connection, rx: mpsc::Receiver<Op>, path: String) {
    let w = Writer { path };
    let mut queued: VecDeque<Op> = VecDeque::new();
    let mut open = true;
    let mut slice = FIRST_SLICE_ITEMS;
    loop {
        let mut drain = |queued: &mut VecDeque<Op>| {
            while open {
                match rx.try_recv() {
                    Ok(op) => queued.push_back(op),
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => open = false,
                }
            }
        };
        drain(&mut queued);
        if queued.is_empty() {
            // Idle: the next burst starts with a small slice.
            slice = FIRST_SLICE_ITEMS;
            match rx.recv() {
                Ok(op) => queued.push_back(op),
                Err(_) => return,
            }
            drain(&mut queued);
        }
        let batch = take_batch(&mut queued, slice);
        w.commit_batch(&mut conn, batch);
        // Still busy after this batch: the next slice may be larger.
        slice = (slice * 2).min(MAX_SLICE_ITEMS);
    }
}

/// The next batch out of `queued`: every outcome, then the other operations in order (at least
/// one; more while the batch holds fewer than `slice` items).
pub(super) fn take_batch(queued: &mut VecDeque<Op>, slice: usize) -> Vec<Op> {
    let mut batch = Vec::new();
    let mut rest = VecDeque::with_capacity(queued.len());
    for op in queued.drain(..) {
        match op {
            Op::Record { .. } if batch.len() < MAX_BATCH => batch.push(op),
            op => rest.push_back(op),
        }
    }
    // At least one other operation per batch, so outcomes never starve enqueues.
    let mut items: usize = batch.iter().map(Op::items).sum();
    let mut taken = 0;
    while batch.len() < MAX_BATCH && (taken == 0 || items < slice) {
        let Some(op) = rest.pop_front() else {
            break;
        };
        items += op.items();
        taken += 1;
        batch.push(op);
    }
    *queued = rest;
    batch
}

/// Records a delivery on the notification's row; the body is no longer needed.
const DELIVERED: &str = "UPDATE outbox SET delivered_ms = ?2, attempts = ?3, detail = ?4,
                             notification = '', last_error = NULL
                         WHERE id = ?1 AND delivered_ms IS NULL";

/// The statements an enqueue runs per notification, prepared once per operation.
struct EnqueueStmts<'c> {
    /// The group's last sequence number.
    sequence: CachedStatement<'c>,
    /// The notification, unless its key is pending or delivered (the unique `(target,
    /// idempotency_key)` index covers both, so a conflict inserts nothing: the insert is the
    /// duplicate check).
    insert: CachedStatement<'c>,
    /// The group's log row.
    log: CachedStatement<'c>,
}

impl<'c> EnqueueStmts<'c> {
    fn prepare(tx: &'c Connection) -> rusqlite::Result<Self> {
        Ok(Self {
            sequence: tx.prepare_cached(
                "SELECT sequence FROM notification_log WHERE target = ?1 AND group_key = ?2",
            )?,
            insert: tx.prepare_cached(
                "INSERT INTO outbox (target, idempotency_key, group_key, notification, created_ms,
                                     next_attempt_ms, deadline_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)
                 ON CONFLICT (target, idempotency_key) DO NOTHING",
            )?,
            log: tx.prepare_cached(
                "INSERT INTO notification_log (target, group_key, sequence, idempotency_key,
                                               firing, resolved, enqueued_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (target, group_key) DO UPDATE SET sequence = excluded.sequence,
                     idempotency_key = excluded.idempotency_key, firing = excluded.firing,
                     resolved = excluded.resolved, enqueued_ms = excluded.enqueued_ms,
                     delivered_ms = coalesce((SELECT o.delivered_ms FROM outbox o
                         WHERE o.target = notification_log.target
                           AND o.idempotency_key = notification_log.idempotency_key),
                         notification_log.delivered_ms)",
            )?,
        })
    }
}

/// The writer's state: the database path, for error messages.
pub(super) struct Writer {
    pub(super) path: String,
}

impl Writer {
    fn sql(&self, source: rusqlite::Error) -> OutboxError {
        OutboxError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn commit_error(&self, message: &str) -> OutboxError {
        OutboxError::Commit {
            path: self.path.clone(),
            message: message.to_owned(),
        }
    }

    /// Applies and commits `batch`, then answers every caller.
    pub(super) fn commit_batch(&self, conn: &mut Connection, batch: Vec<Op>) {
        let results = match self.fast(conn, &batch) {
            Ok(results) => results,
            Err(Failed::Op) => self.one_by_one(conn, &batch),
            Err(Failed::Transaction(message)) => {
                let results = batch.iter().map(|_| Err(self.commit_error(&message)));
                results.collect()
            }
        };
        for (op, result) in batch.into_iter().zip(results) {
            self.answer(op, result);
        }
    }

    /// The whole batch in one transaction without savepoints.
    fn fast(
        &self,
        conn: &mut Connection,
        batch: &[Op],
    ) -> Result<Vec<Result<Done, OutboxError>>, Failed> {
        let tx = conn
            .transaction()
            .map_err(|e| Failed::Transaction(e.to_string()))?;
        let mut done = Vec::with_capacity(batch.len());
        for op in batch {
            // Dropping `tx` rolls everything back; the batch then runs op by op.
            done.push(Ok(self.apply(&tx, op).map_err(|_| Failed::Op)?));
        }
        tx.commit()
            .map_err(|e| Failed::Transaction(e.to_string()))?;
        Ok(done)
    }

    /// The batch in one transaction, each operation in its own savepoint: a failing one is
    /// rolled back alone.
    fn one_by_one(&self, conn: &mut Connection, batch: &[Op]) -> Vec<Result<Done, OutboxError>> {
        let mut tx = match conn.transaction() {
            Ok(tx) => tx,
            Err(e) => {
                let message = e.to_string();
                return batch
                    .iter()
                    .map(|_| Err(self.commit_error(&message)))
                    .collect();
            }
        };
        let mut results = Vec::with_capacity(batch.len());
        for op in batch {
            let result = match tx.savepoint() {
                Ok(mut sp) => {
                    let result = self.apply(&sp, op);
                    if result.is_err() {
                        let _ = sp.rollback();
                    }
                    let _ = sp.commit(); // releases the savepoint (or it was rolled back)
                    result
                }
                Err(e) => Err(self.sql(e)),
            };
            results.push(result);
        }
        match tx.commit() {
            Ok(()) => results,
            Err(e) => {
                let message = e.to_string();
                results
                    .into_iter()
                    .map(|_| Err(self.commit_error(&message)))
                    .collect()
            }
        }
    }

    /// Runs `op` on `tx` (a transaction or a savepoint in one).
    fn apply(&self, tx: &Connection, op: &Op) -> Result<Done, OutboxError> {
        match op {
            Op::Enqueue {
                items,
                now_ms,
                deadline_ms,
                ..
            } => {
                // Prepared once for all the operation's items (a cache lookup hashes the SQL).
                let mut stmts = EnqueueStmts::prepare(tx).map_err(|e| self.sql(e))?;
                items
                    .iter()
                    .map(|item| self.enqueue(tx, &mut stmts, item, *now_ms, *deadline_ms))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Done::Enqueued)
            }
            Op::Record {
                outcomes, now_ms, ..
            } => {
                let mut delivered = tx.prepare_cached(DELIVERED).map_err(|e| self.sql(e))?;
                outcomes
                    .iter()
                    .try_for_each(|o| self.record(tx, &mut delivered, o, *now_ms))
                    .map(|()| Done::Recorded)
            }
            Op::Requeue {
                ids,
                now_ms,
                deadline_ms,
                ..
            } => self
                .requeue(tx, ids.as_deref(), *now_ms, *deadline_ms)
                .map(Done::Requeued),
            Op::Prune { before_ms, .. } => self.prune(tx, *before_ms).map(Done::Pruned),
        }
    }

    /// Gives the caller of `op` its committed result.
    fn answer(&self, op: Op, result: Result<Done, OutboxError>) {
        let mismatch = || self.commit_error("internal error: an answer of the wrong kind");
        match (op, result) {
            (
                Op::Enqueue {
                    items,
                    now_ms,
                    deadline_ms,
                    reply,
                },
                Ok(Done::Enqueued(stored)),
            ) => reply(Ok(items
                .into_iter()
                .zip(stored)
                .map(|(item, stored)| match stored {
                    None => Enqueued::Duplicate,
                    Some((id, generated)) => {
                        let mut notification = item.notification;
                        if let Some(key) = generated {
                            notification.idempotency_key = key;
                        }
                        Enqueued::New(std::sync::Arc::new(Entry {
                            id,
                            target: item.target,
                            notification,
                            created_ms: now_ms,
                            attempts: 0,
                            next_attempt_ms: now_ms,
                            deadline_ms,
                            last_error: None,
                        }))
                    }
                })
                .collect())),
            (Op::Record { reply, .. }, Ok(Done::Recorded)) => reply(Ok(())),
            (Op::Requeue { reply, .. }, Ok(Done::Requeued(ids))) => reply(Ok(ids)),
            (Op::Prune { reply, .. }, Ok(Done::Pruned(n))) => reply(Ok(n)),
            (Op::Enqueue { reply, .. }, r) => reply(r.and_then(|_| Err(mismatch()))),
            (Op::Record { reply, .. }, r) => reply(r.and_then(|_| Err(mismatch()))),
            (Op::Requeue { reply, .. }, r) => reply(r.and_then(|_| Err(mismatch()))),
            (Op::Prune { reply, .. }, r) => reply(r.and_then(|_| Err(mismatch()))),
        }
    }

    /// Stores one item; `None` if its key is pending or was delivered already.
    fn enqueue(
        &self,
        tx: &Connection,
        stmts: &mut EnqueueStmts<'_>,
        item: &Item,
        now_ms: i64,
        deadline_ms: i64,
    ) -> Result<Option<(i64, Option<String>)>, OutboxError> {
        let (target, n) = (&item.target, &item.notification);
        let previous: Option<i64> = stmts
            .sequence
            .query_row(params![target, n.group_key], |r| r.get(0))
            .optional()
            .map_err(|e| self.sql(e))?;
        let sequence = previous.unwrap_or(0) + 1;
        let generated = n
            .idempotency_key
            .is_empty()
            .then(|| format!("{}{sequence}", item.key_prefix));
        let key = generated.as_deref().unwrap_or(&n.idempotency_key);
        // The duplicate check is the insert itself: the unique (target, idempotency_key) index
        // covers pending and delivered (not pruned yet) rows, and a conflict inserts nothing.
        let inserted = stmts
            .insert
            .execute(params![
                target,
                key,
                n.group_key,
                item.json,
                now_ms,
                deadline_ms
            ])
            .map_err(|e| self.sql(e))?;
        if inserted == 0 {
            return Ok(None);
        }
        let id = tx.last_insert_rowid();
        stmts
            .log
            .execute(params![
                target,
                n.group_key,
                sequence,
                key,
                item.firing,
                item.resolved,
                now_ms
            ])
            .map_err(|e| self.sql(e))?;
        Ok(Some((id, generated)))
    }

    fn record(
        &self,
        tx: &Connection,
        delivered: &mut CachedStatement<'_>,
        outcome: &Outcome,
        now_ms: i64,
    ) -> Result<(), OutboxError> {
        let run = |sql: &str, p: &[&dyn rusqlite::ToSql]| {
            tx.prepare_cached(sql)
                .and_then(|mut st| st.execute(p))
                .map_err(|e| self.sql(e))
        };
        match outcome {
            Outcome::Delivered {
                id,
                attempts,
                detail,
            } => {
                // The row stays as the delivery record (its body is no longer needed).
                delivered
                    .execute(params![id, now_ms, attempts, detail])
                    .map_err(|e| self.sql(e))?;
                // The group's log row is not touched: it names this row by its key, and reads
                // take the delivery time from here (see `log_entry`), so a delivery costs one
                // row update rather than two at unrelated places in the file.
            }
            Outcome::Retry {
                id,
                attempts,
                at_ms,
                error,
            } => {
                run(
                    "UPDATE outbox SET attempts = ?2, next_attempt_ms = ?3, last_error = ?4
                     WHERE id = ?1 AND delivered_ms IS NULL",
                    params![id, attempts, at_ms, error],
                )?;
            }
            Outcome::Dead {
                id,
                attempts,
                reason,
                error,
            } => {
                run(
                    "INSERT INTO dead_letters (target, idempotency_key, notification,
                         created_ms, failed_ms, attempts, reason, error)
                     SELECT target, idempotency_key, notification, created_ms, ?2, ?3, ?4, ?5
                     FROM outbox WHERE id = ?1 AND delivered_ms IS NULL",
                    params![id, now_ms, attempts, reason.as_str(), error],
                )?;
                run(
                    "DELETE FROM outbox WHERE id = ?1 AND delivered_ms IS NULL",
                    params![id],
                )?;
            }
        }
        Ok(())
    }

    /// Forgets delivery records older than `before_ms`, and, as Alertmanager's nflog expires
    /// its entries after the retention, the log of every group whose latest notification is
    /// neither pending nor among the records kept (so the log does not grow with every group
    /// ever seen; such a group's next notification starts a new sequence).
    fn prune(&self, tx: &Connection, before_ms: i64) -> Result<usize, OutboxError> {
        tx.prepare_cached(
            "DELETE FROM notification_log
             WHERE enqueued_ms < ?1 AND coalesce(delivered_ms, 0) < ?1
               AND NOT EXISTS (SELECT 1 FROM outbox o
                   WHERE o.target = notification_log.target
                     AND o.idempotency_key = notification_log.idempotency_key
                     AND (o.delivered_ms IS NULL OR o.delivered_ms >= ?1))",
        )
        .and_then(|mut st| st.execute(params![before_ms]))
        .map_err(|e| self.sql(e))?;
        tx.prepare_cached("DELETE FROM outbox WHERE delivered_ms < ?1")
            .and_then(|mut st| st.execute(params![before_ms]))
            .map_err(|e| self.sql(e))
    }

    /// Moves dead letters (`ids`, or all) back into the outbox as fresh entries due at `now_ms`;
    /// returns the new outbox ids. A key pending again (or delivered since) is skipped (its dead
    /// letter stays).
    fn requeue(
        &self,
        tx: &Connection,
        ids: Option<&[i64]>,
        now_ms: i64,
        deadline_ms: i64,
    ) -> Result<Vec<i64>, OutboxError> {
        let dead: Vec<i64> = match ids {
            Some(ids) => ids.to_vec(),
            None => tx
                .prepare("SELECT id FROM dead_letters ORDER BY id")
                .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
                .map_err(|e| self.sql(e))?,
        };
        let mut out = Vec::new();
        for id in dead {
            let inserted = tx
                .execute(
                    "INSERT OR IGNORE INTO outbox (target, idempotency_key, group_key,
                         notification, created_ms, next_attempt_ms, deadline_ms)
                     SELECT target, idempotency_key,
                            coalesce(json_extract(notification, '$.group_key'), ''),
                            notification, ?2, ?2, ?3
                     FROM dead_letters WHERE id = ?1",
                    params![id, now_ms, deadline_ms],
                )
                .map_err(|e| self.sql(e))?;
            if inserted == 1 {
                out.push(tx.last_insert_rowid());
                tx.execute("DELETE FROM dead_letters WHERE id = ?1", params![id])
                    .map_err(|e| self.sql(e))?;
            }
        }
        Ok(out)
    }
}
