//! Command-line views of an outbox file: list dead letters, drain pending entries to webhooks.

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
