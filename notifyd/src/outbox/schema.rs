//! The outbox's tables, and the migration of files written by earlier versions.
//!
//! A delivery is recorded on the notification's own `outbox` row (`delivered_ms` set, the stored
//! body emptied): one row update, where an earlier schema inserted into a separate `delivered`
//! table and deleted the row (two more B-tree changes per delivery, one of them at a random
//! place). The unique `(target, idempotency_key)` index covers pending and delivered rows alike,
//! so the duplicate check on enqueue is one lookup.

use rusqlite::Connection;

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
    delivered_ms INTEGER,
    detail TEXT,
    UNIQUE (target, idempotency_key)
);
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

/// Creates the tables, or brings a file of the earlier schema (a separate `delivered` table)
/// up to date in one transaction: its delivery records become delivered `outbox` rows.
pub(super) fn create_or_migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let done = migrate(conn);
    conn.execute_batch(if done.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
    done
}

fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)?;
    let has_column = conn
        .prepare("SELECT 1 FROM pragma_table_info('outbox') WHERE name = 'delivered_ms'")?
        .exists([])?;
    if !has_column {
        conn.execute_batch(
            "ALTER TABLE outbox ADD COLUMN delivered_ms INTEGER;
             ALTER TABLE outbox ADD COLUMN detail TEXT;",
        )?;
    }
    let old_table = conn
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'delivered'")?
        .exists([])?;
    if old_table {
        conn.execute_batch(
            "INSERT OR IGNORE INTO outbox (target, idempotency_key, group_key, notification,
                 created_ms, attempts, next_attempt_ms, deadline_ms, delivered_ms, detail)
             SELECT target, idempotency_key, '', '', delivered_ms, attempts, delivered_ms,
                    delivered_ms, delivered_ms, detail
             FROM delivered;
             DROP TABLE delivered;",
        )?;
    }
    Ok(())
}
