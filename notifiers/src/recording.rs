//! A notifier that records what it was asked to deliver: the test double shipped with the crate.

use std::sync::{Arc, Mutex};

use crate::notifier::DeliverFuture;
use crate::{DeliveryError, Notification, Notifier, Receipt};

/// Records every notification; can be told to fail the next deliveries.
#[derive(Clone, Default)]
pub struct RecordingNotifier {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    delivered: Vec<Notification>,
    failures: Vec<DeliveryError>,
}

impl RecordingNotifier {
    /// A recorder that accepts everything.
    pub fn new() -> Self {
        Self::default()
    }
    /// Makes the next delivery fail with `error` (queued; one per call).
    pub fn fail_next(&self, error: DeliveryError) {
        self.lock().failures.push(error);
    }
    /// Every notification delivered so far, in order.
    pub fn delivered(&self) -> Vec<Notification> {
        self.lock().delivered.clone()
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Notifier for RecordingNotifier {
    fn deliver<'a>(&'a self, notification: &'a Notification) -> DeliverFuture<'a> {
        Box::pin(async move {
            let mut inner = self.lock();
            if !inner.failures.is_empty() {
                return Err(inner.failures.remove(0));
            }
            inner.delivered.push(notification.clone());
            Ok(Receipt {
                detail: "recorded".into(),
            })
        })
    }
}
