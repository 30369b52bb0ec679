//! Async change sets (feature `tokio`): a [`ChangeStream`] of the change sets under one prefix.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::task::{Context, Poll};

use tokio::sync::mpsc;

use super::{ChangeRegistry, ChangeSet, Prefix, Sink, Subscription};

/// The change sets under one prefix, one per reload that touches it; a `futures` `Stream` and an
/// async [`recv`](ChangeStream::recv). Dropping it unsubscribes. Unbounded: a consumer that falls
/// behind buffers change sets rather than slowing reloads.
#[derive(Debug)]
pub struct ChangeStream {
    rx: mpsc::UnboundedReceiver<ChangeSet>,
    _subscription: Subscription,
}

impl ChangeStream {
    pub(crate) fn new(registry: &Arc<ChangeRegistry>, prefix: Prefix) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let active = Arc::new(AtomicBool::new(true));
        let subscription = registry.add_sink(prefix, Sink::Channel(tx), active);
        Self {
            rx,
            _subscription: subscription,
        }
    }

    /// The next change set; `None` once the store is gone.
    pub async fn recv(&mut self) -> Option<ChangeSet> {
        self.rx.recv().await
    }
}

impl futures_core::Stream for ChangeStream {
    type Item = ChangeSet;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ChangeSet>> {
        self.rx.poll_recv(cx)
    }
}
