//! Read-side queries of the outbox (on the read connection): pending entries, dead letters, the
//! notification log, delivery records.

use notifiers::Notification;
use rusqlite::{OptionalExtension, params};

use super::{DeadLetter, Entry, LogEntry, Outbox, OutboxError, TargetStatus};

const ENTRY_COLUMNS: &str = "id, target, notification, created_ms, attempts, next_attempt_ms, \
                             deadline_ms, last_error, idempotency_key";

impl Outbox {
    /// Every pending entry with an id greater than `after_id`, oldest first (0 = all).
    pub fn pending_after(&self, after_id: i64) -> Result<Vec<Entry>, OutboxError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM outbox WHERE id > ?1 AND delivered_ms IS NULL ORDER BY id"
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
                    r.get::<_, String>(8)?,
                ))
            })
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (
                id,
                target,
                json,
                created_ms,
                attempts,
                next_attempt_ms,
                deadline_ms,
                last_error,
                key,
            ) = row.map_err(|e| self.sql(e))?;
            let notification = self.decode(id, &json, key)?;
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

    /// A stored notification's JSON and its row's idempotency key (the JSON of a notification
    /// whose key was generated when it was stored has none); a row that does not decode is
    /// reported as corrupt.
    fn decode(&self, id: i64, json: &str, key: String) -> Result<Notification, OutboxError> {
        let mut n: Notification =
            serde_json::from_str(json).map_err(|source| OutboxError::Corrupt {
                path: self.path.clone(),
                id,
                source,
            })?;
        if n.idempotency_key.is_empty() {
            n.idempotency_key = key;
        }
        Ok(n)
    }

    /// Every pending entry, oldest first.
    pub fn pending(&self) -> Result<Vec<Entry>, OutboxError> {
        self.pending_after(0)
    }

    /// Every dead letter, oldest first.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>, OutboxError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT id, target, notification, created_ms, failed_ms, attempts, reason, error,
                        idempotency_key
                 FROM dead_letters ORDER BY id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, u32>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                ))
            })
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, target, json, created_ms, failed_ms, attempts, reason, error, key) =
                row.map_err(|e| self.sql(e))?;
            let notification = self.decode(id, &json, key)?;
            out.push(DeadLetter {
                id,
                target,
                notification,
                created_ms,
                failed_ms,
                attempts,
                reason,
                error,
            });
        }
        Ok(out)
    }

    /// The log record of `group_key` at `target`, if a notification was ever enqueued for it.
    pub fn log_entry(
        &self,
        target: &str,
        group_key: &str,
    ) -> Result<Option<LogEntry>, OutboxError> {
        let split = |s: String| -> Vec<String> {
            s.split(',')
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect()
        };
        self.lock()
            .query_row(
                // The latest notification's delivery record; while it is pending, the time
                // carried on the log row from an earlier notification.
                "SELECT n.sequence, n.idempotency_key, n.firing, n.resolved, n.enqueued_ms,
                        coalesce((SELECT o.delivered_ms FROM outbox o
                                  WHERE o.target = n.target
                                    AND o.idempotency_key = n.idempotency_key),
                                 n.delivered_ms)
                 FROM notification_log n WHERE n.target = ?1 AND n.group_key = ?2",
                params![target, group_key],
                |r| {
                    Ok(LogEntry {
                        target: target.to_owned(),
                        group_key: group_key.to_owned(),
                        sequence: r.get::<_, i64>(0)?.unsigned_abs(),
                        idempotency_key: r.get(1)?,
                        firing: split(r.get(2)?),
                        resolved: split(r.get(3)?),
                        enqueued_ms: r.get(4)?,
                        delivered_ms: r.get(5)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// Per target (by name): pending, retrying, oldest pending, delivery records kept and dead
    /// letters.
    pub fn status(&self) -> Result<Vec<TargetStatus>, OutboxError> {
        let conn = self.lock();
        let mut by_target = std::collections::BTreeMap::<String, TargetStatus>::new();
        let mut stmt = conn
            .prepare(
                "SELECT target, sum(delivered_ms IS NULL),
                        sum(delivered_ms IS NULL AND attempts > 0),
                        min(CASE WHEN delivered_ms IS NULL THEN created_ms END),
                        sum(delivered_ms IS NOT NULL)
                 FROM outbox GROUP BY target",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(TargetStatus {
                    target: r.get(0)?,
                    pending: r.get::<_, i64>(1)?.unsigned_abs(),
                    retrying: r.get::<_, i64>(2)?.unsigned_abs(),
                    oldest_pending_ms: r.get(3)?,
                    delivered: r.get::<_, i64>(4)?.unsigned_abs(),
                    dead_letters: 0,
                })
            })
            .map_err(|e| self.sql(e))?;
        for row in rows {
            let row = row.map_err(|e| self.sql(e))?;
            by_target.insert(row.target.clone(), row);
        }
        let mut stmt = conn
            .prepare("SELECT target, count(*) FROM dead_letters GROUP BY target")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(|e| self.sql(e))?;
        for row in rows {
            let (target, dead) = row.map_err(|e| self.sql(e))?;
            let status = by_target.entry(target.clone()).or_insert(TargetStatus {
                target,
                ..TargetStatus::default()
            });
            status.dead_letters = dead.unsigned_abs();
        }
        Ok(by_target.into_values().collect())
    }

    /// Whether `(target, idempotency_key)` was delivered.
    pub fn was_delivered(&self, target: &str, key: &str) -> Result<bool, OutboxError> {
        self.lock()
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM outbox
                 WHERE target = ?1 AND idempotency_key = ?2 AND delivered_ms IS NOT NULL)",
                params![target, key],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))
    }
}
