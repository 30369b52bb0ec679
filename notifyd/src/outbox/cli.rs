//! Command-line views of an outbox file: list dead letters, requeue them, drain pending entries to
//! webhooks.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use notifiers::{Notifier, WebhookConfig, WebhookNotifier};

use super::{Outbox, OutboxError};
use crate::dispatch::{DispatchConfig, Dispatcher};

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
