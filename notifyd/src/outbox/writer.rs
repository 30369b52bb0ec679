//! The outbox's single writer: one thread owns the SQLite write connection and group-commits
//! everything queued to it (enqueues, delivery outcomes, requeues, prunes) in one transaction per
//! batch, so one disk sync covers every write that arrived while the previous batch was syncing.
//!
//! Each operation runs inside its own savepoint, so a failing operation is rolled back alone and
//! the rest of the batch still commits. A caller is answered only after the batch's `COMMIT`
//! returned: an enqueue that was acknowledged is on disk (with `synchronous=FULL`, synced).

use std::sync::mpsc;

use notifiers::Notification;
use rusqlite::{Connection, OptionalExtension, Savepoint, params};

use super::{Enqueued, Entry, OutboxError, Outcome, fingerprints, idempotency_key};

/// How a finished operation's result reaches its caller.
pub(super) type Reply<T> = Box<dyn FnOnce(Result<T, OutboxError>) + Send>;

/// Most operations in one transaction (bounds how long one batch holds its callers).
const MAX_BATCH: usize = 1024;

/// One write, queued to the writer thread.
pub(super) enum Op {
    /// Store notifications (see [`super::Outbox::enqueue_many`]).
    Enqueue {
        items: Vec<(String, Notification)>,
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

/// An answer held back until its batch commits.
type Held = Box<dyn FnOnce(Option<&str>) + Send>;

fn hold<T: Send + 'static>(reply: Reply<T>, result: Result<T, OutboxError>, path: &str) -> Held {
    let path = path.to_owned();
    Box::new(
        move |commit_error: Option<&str>| match (commit_error, result) {
            (None, result) => reply(result),
            (Some(message), _) => reply(Err(OutboxError::Commit {
                path,
                message: message.to_owned(),
            })),
        },
    )
}

/// The writer thread's loop: runs until every sender is gone.
pub(super) fn run(mut conn: Connection, rx: mpsc::Receiver<Op>, path: String) {
    let w = Writer { path };
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let mut held: Vec<Held> = Vec::with_capacity(batch.len());
        let commit = match conn.transaction() {
            Ok(mut tx) => {
                for op in batch.drain(..) {
                    held.push(w.apply(&mut tx, op));
                }
                tx.commit()
            }
            Err(e) => Err(e),
        };
        let error = commit.err().map(|e| e.to_string());
        for answer in held {
            answer(error.as_deref());
        }
        // Operations that never got a transaction are answered with its error.
        for op in batch {
            let message = error.clone().unwrap_or_default();
            w.fail(op, &message);
        }
    }
}

struct Writer {
    path: String,
}

impl Writer {
    fn sql(&self, source: rusqlite::Error) -> OutboxError {
        OutboxError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Runs `op` in a savepoint of `tx`; returns its answer, to be given after the commit.
    fn apply(&self, tx: &mut rusqlite::Transaction<'_>, op: Op) -> Held {
        let mut sp = match tx.savepoint() {
            Ok(sp) => sp,
            Err(e) => return self.fail_later(op, &e.to_string()),
        };
        let held = match op {
            Op::Enqueue {
                items,
                now_ms,
                deadline_ms,
                reply,
            } => {
                let r = items
                    .into_iter()
                    .map(|(t, n)| self.enqueue(&sp, t, n, now_ms, deadline_ms))
                    .collect::<Result<Vec<_>, _>>();
                self.settle(&mut sp, reply, r)
            }
            Op::Record {
                outcomes,
                now_ms,
                reply,
            } => {
                let r = outcomes
                    .iter()
                    .try_for_each(|o| self.record(&sp, o, now_ms));
                self.settle(&mut sp, reply, r)
            }
            Op::Requeue {
                ids,
                now_ms,
                deadline_ms,
                reply,
            } => {
                let r = self.requeue(&sp, ids.as_deref(), now_ms, deadline_ms);
                self.settle(&mut sp, reply, r)
            }
            Op::Prune { before_ms, reply } => {
                let r = sp
                    .execute(
                        "DELETE FROM delivered WHERE delivered_ms < ?1",
                        params![before_ms],
                    )
                    .map_err(|e| self.sql(e));
                self.settle(&mut sp, reply, r)
            }
        };
        let _ = sp.commit(); // releases the savepoint (or it was rolled back)
        held
    }

    /// Rolls the savepoint back if the operation failed; holds the answer for the commit.
    fn settle<T: Send + 'static>(
        &self,
        sp: &mut Savepoint<'_>,
        reply: Reply<T>,
        result: Result<T, OutboxError>,
    ) -> Held {
        if result.is_err() {
            let _ = sp.rollback();
        }
        hold(reply, result, &self.path)
    }

    fn fail_later(&self, op: Op, message: &str) -> Held {
        let (path, message) = (self.path.clone(), message.to_owned());
        Box::new(move |_| {
            Writer { path }.fail(op, &message);
        })
    }

    fn fail(&self, op: Op, message: &str) {
        let err = || OutboxError::Commit {
            path: self.path.clone(),
            message: message.to_owned(),
        };
        match op {
            Op::Enqueue { reply, .. } => reply(Err(err())),
            Op::Record { reply, .. } => reply(Err(err())),
            Op::Requeue { reply, .. } => reply(Err(err())),
            Op::Prune { reply, .. } => reply(Err(err())),
        }
    }

    fn enqueue(
        &self,
        tx: &Connection,
        target: String,
        mut n: Notification,
        now_ms: i64,
        deadline_ms: i64,
    ) -> Result<Enqueued, OutboxError> {
        let previous: Option<i64> = tx
            .prepare_cached(
                "SELECT sequence FROM notification_log WHERE target = ?1 AND group_key = ?2",
            )
            .and_then(|mut st| {
                st.query_row(params![target, n.group_key], |r| r.get(0))
                    .optional()
            })
            .map_err(|e| self.sql(e))?;
        let sequence = previous.unwrap_or(0) + 1;
        let (firing, resolved) = fingerprints(&n);
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
            target,
            notification: n,
            created_ms: now_ms,
            attempts: 0,
            next_attempt_ms: now_ms,
            deadline_ms,
            last_error: None,
        })))
    }

    fn record(&self, tx: &Connection, outcome: &Outcome, now_ms: i64) -> Result<(), OutboxError> {
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
                run(
                    "INSERT OR REPLACE INTO delivered
                         (target, idempotency_key, delivered_ms, attempts, detail)
                     SELECT target, idempotency_key, ?2, ?3, ?4 FROM outbox WHERE id = ?1",
                    params![id, now_ms, attempts, detail],
                )?;
                run(
                    "UPDATE notification_log SET delivered_ms = ?2
                     WHERE (target, group_key) = (SELECT target, group_key FROM outbox WHERE id = ?1)",
                    params![id, now_ms],
                )?;
                run("DELETE FROM outbox WHERE id = ?1", params![id])?;
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
                id,
                attempts,
                reason,
                error,
            } => {
                run(
                    "INSERT INTO dead_letters (target, idempotency_key, notification,
                         created_ms, failed_ms, attempts, reason, error)
                     SELECT target, idempotency_key, notification, created_ms, ?2, ?3, ?4, ?5
                     FROM outbox WHERE id = ?1",
                    params![id, now_ms, attempts, reason.as_str(), error],
                )?;
                run("DELETE FROM outbox WHERE id = ?1", params![id])?;
            }
        }
        Ok(())
    }

    /// Moves dead letters (`ids`, or all) back into the outbox as fresh entries due at `now_ms`;
    /// returns the new outbox ids. A key already pending again is skipped (its dead letter stays).
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
