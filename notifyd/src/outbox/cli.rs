//! Command-line views of an outbox file: status per target, list dead letters, requeue them,
//! drain pending entries to webhooks.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use notifiers::{Notifier, WebhookConfig, WebhookNotifier};

use super::{Outbox, OutboxError};
use crate::dispatch::{DispatchConfig, Dispatcher};

/// One line per target of the outbox at `db`: pending (retrying, age of the oldest at `now_ms`),
/// delivery records kept, dead letters.
pub fn status_text(db: &Path, now_ms: i64) -> Result<String, OutboxError> {
    let outbox = Outbox::open(db)?;
    let status = outbox.status()?;
    if status.is_empty() {
        return Ok("empty outbox\n".to_owned());
    }
    let mut out = String::new();
    for t in status {
        let oldest = t
            .oldest_pending_ms
            .map(|at| {
                let secs = u64::try_from(now_ms.saturating_sub(at) / 1000).unwrap_or(0);
                format!(", oldest enqueued {} ago", short_duration(secs))
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{}: {} pending ({} retrying{oldest}), {} delivered (records kept), {} dead letter(s)",
            t.target, t.pending, t.retrying, t.delivered, t.dead_letters
        );
    }
    Ok(out)
}

/// `42s`, `3m7s`, `5h2m`, `3d4h`: an age at a glance.
fn short_duration(secs: u64) -> String {
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86_400);
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{m}m{}s", secs % 60),
        3600..86_400 => format!("{h}h{}m", m % 60),
        _ => format!("{d}d{}h", h % 24),
    }
}

/// The dead letters of the outbox at `db`, one block per entry, as text for the terminal.
pub fn dead_letters_text(db: &Path) -> Result<String, OutboxError> {
    let outbox = Outbox::open(db)?;
    let dead = outbox.dead_letters()?;
    let mut out = String::new();
    if dead.is_empty() {
        out.push_str("no dead letters\n");
    }
    for d in dead {
        let _ = writeln!(
            out,
            "#{} target={} reason={} attempts={} created_ms={} failed_ms={}\n  key: {}\n  group: {}\n  error: {}",
            d.id,
            d.target,
            d.reason,
            d.attempts,
            d.created_ms,
            d.failed_ms,
            d.notification.idempotency_key,
            d.notification.group_key,
            d.error
        );
    }
    Ok(out)
}

/// Which dead letters `notifyd outbox requeue` moves back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequeueWhich {
    /// These dead-letter ids (as `dead-letters` prints them after `#`).
    Ids(Vec<i64>),
    /// Every dead letter.
    All,
}

/// Moves dead letters of the outbox at `db` back into the outbox as fresh pending entries, due at
/// `now_ms` and retried for `deadline`; says what was done. A running dispatcher (or the next
/// `drain`) delivers them. Ids that are not dead letters are reported, not an error.
pub fn requeue_text(
    db: &Path,
    which: RequeueWhich,
    now_ms: i64,
    deadline: Duration,
) -> Result<String, OutboxError> {
    let outbox = Outbox::open(db)?;
    let dead: Vec<i64> = outbox.dead_letters()?.iter().map(|d| d.id).collect();
    let (ids, missing) = match which {
        RequeueWhich::All => (dead, Vec::new()),
        RequeueWhich::Ids(ids) => ids.into_iter().partition(|id| dead.contains(id)),
    };
    let count = ids.len();
    let requeued = outbox.requeue(Some(ids), now_ms, deadline)?;
    let mut out = String::new();
    for id in missing {
        let _ = writeln!(out, "#{id}: no such dead letter");
    }
    let _ = writeln!(
        out,
        "requeued {} of {count} dead letter(s){}",
        requeued.len(),
        if requeued.len() < count {
            " (the others are pending already)"
        } else {
            ""
        }
    );
    Ok(out)
}

/// Why draining failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DrainError {
    /// The outbox failed.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// A `TARGET=URL` argument was malformed or the webhook could not be built.
    #[error("webhook {0}")]
    Webhook(String),
    /// The dispatcher task died.
    #[error("dispatcher task failed: {0}")]
    Task(String),
}

/// Delivers the pending entries of the outbox at `db` to webhooks given as `TARGET=URL`; returns
/// when nothing is pending, or runs until `shutdown` when `follow` is set.
pub async fn drain_to_webhooks(
    db: &Path,
    webhooks: &[String],
    retry_initial: Duration,
    follow: bool,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), DrainError> {
    let outbox = Arc::new(Outbox::open(db)?);
    let mut notifiers: HashMap<String, Arc<dyn Notifier>> = HashMap::new();
    for spec in webhooks {
        let (target, url) = spec
            .split_once('=')
            .ok_or_else(|| DrainError::Webhook(format!("{spec:?}: expected TARGET=URL")))?;
        let notifier = WebhookNotifier::new(WebhookConfig::new(url))
            .map_err(|e| DrainError::Webhook(format!("{target}: {e}")))?;
        notifiers.insert(target.to_owned(), Arc::new(notifier));
    }
    let mut config = DispatchConfig {
        stop_when_empty: !follow,
        ..DispatchConfig::default()
    };
    config.retry.initial = retry_initial;
    config.poll_interval = Duration::from_millis(200);
    let (_handle, join) = Dispatcher::new(outbox, notifiers, config).start(shutdown);
    join.await.map_err(|e| DrainError::Task(e.to_string()))??;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_text_is_a_line_per_target_with_the_oldest_pending_age() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("o.db");
        assert_eq!(status_text(&db, 0).unwrap(), "empty outbox\n");
        let ob = Outbox::open(&db).unwrap();
        let n = super::super::tests::notification("A", &["f"], "k1");
        ob.enqueue("t", &n, 1_000, Duration::from_secs(60)).unwrap();
        drop(ob);
        assert_eq!(
            status_text(&db, 1_000 + 187_000).unwrap(),
            "t: 1 pending (0 retrying, oldest enqueued 3m7s ago), 0 delivered (records kept), \
             0 dead letter(s)\n"
        );
        let ages = [0, 59, 60, 3_599, 3_600, 86_399, 86_400 * 3 + 3_600 * 4];
        let shown: Vec<String> = ages.iter().map(|s| short_duration(*s)).collect();
        assert_eq!(
            shown,
            ["0s", "59s", "1m0s", "59m59s", "1h0m", "23h59m", "3d4h"]
        );
    }
}
