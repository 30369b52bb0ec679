//! Change subscriptions: who gets told what after a reload.
//!
//! After every successful reload the store computes one [`diff`] of the old and new trees and hands
//! each subscriber whose prefix covers at least one changed leaf exactly one [`ChangeSet`] holding
//! only the changes under its prefix. Subscribers whose subtree did not change are not called.
//!
//! # Threading model
//! Each callback subscription owns a delivery thread (`c5store-sub`) fed by an unbounded queue. The
//! reloading thread only enqueues, so a slow subscriber delays nobody but itself (its own change sets
//! queue up, in order, one per reload), and a panicking callback is caught, logged with `tracing`
//! and the subscription keeps receiving later change sets. Dropping the [`Subscription`] handle
//! unsubscribes: no call starts after the drop returns (a call already running finishes). Async
//! subscribers (feature `tokio`) get a channel instead of a thread.

mod diff;
#[cfg(feature = "tokio")]
mod stream;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak, mpsc};

pub(crate) use self::diff::Prefix;
pub use self::diff::{Change, diff};
#[cfg(feature = "tokio")]
pub use self::stream::ChangeStream;
use crate::snapshot::Snapshot;

/// What changed under one subscriber's prefix in one reload.
#[derive(Clone)]
pub struct ChangeSet {
    prefix: Arc<str>,
    old_version: u64,
    new_version: u64,
    changes: Vec<Change>,
    snapshot: Arc<Snapshot>,
}

impl std::fmt::Debug for ChangeSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeSet")
            .field("prefix", &self.prefix)
            .field("old_version", &self.old_version)
            .field("new_version", &self.new_version)
            .field("changes", &self.changes)
            .finish()
    }
}

impl ChangeSet {
    /// The prefix the subscriber asked for (`""` for the root).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Version of the snapshot before the reload.
    pub fn old_version(&self) -> u64 {
        self.old_version
    }

    /// Version of the snapshot the reload installed.
    pub fn new_version(&self) -> u64 {
        self.new_version
    }

    /// The changed leaves under the prefix, in tree order; never empty.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// The change to `path`, if that leaf changed.
    pub fn get(&self, path: &str) -> Option<&Change> {
        self.changes.iter().find(|c| c.path == path)
    }

    /// The snapshot the reload installed, for consistent typed reads of the new values.
    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snapshot
    }
}

/// Keeps a subscription alive; dropping it unsubscribes.
#[must_use = "dropping the handle unsubscribes immediately"]
pub struct Subscription {
    registry: Weak<dyn Unsubscribe>,
    id: u64,
    active: Arc<AtomicBool>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .finish()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.active.store(false, Ordering::SeqCst);
        if let Some(registry) = self.registry.upgrade() {
            registry.unsubscribe(self.id);
        }
    }
}

trait Unsubscribe: Send + Sync {
    fn unsubscribe(&self, id: u64);
}

/// Where one subscriber's items go.
pub(crate) enum Sink<T> {
    /// A delivery thread running a callback.
    Thread(mpsc::Sender<T>),
    /// An async receiver (`tokio` feature).
    #[cfg(feature = "tokio")]
    Channel(tokio::sync::mpsc::UnboundedSender<T>),
}

impl<T> Sink<T> {
    /// Enqueues `item`; false when the receiving side is gone.
    fn send(&self, item: T) -> bool {
        match self {
            Sink::Thread(tx) => tx.send(item).is_ok(),
            #[cfg(feature = "tokio")]
            Sink::Channel(tx) => tx.send(item).is_ok(),
        }
    }
}

/// Spawns the delivery thread for a callback subscriber.
fn spawn_delivery<T, F>(
    kind: &'static str,
    label: String,
    active: Arc<AtomicBool>,
    mut callback: F,
) -> Sink<T>
where
    T: Send + 'static,
    F: FnMut(&T) + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<T>();
    let run = move || {
        while let Ok(item) = rx.recv() {
            if !active.load(Ordering::SeqCst) {
                return;
            }
            if catch_unwind(AssertUnwindSafe(|| callback(&item))).is_err() {
                tracing::error!(kind, subscriber = %label, "subscriber panicked; it stays subscribed");
            }
        }
    };
    match std::thread::Builder::new()
        .name("c5store-sub".into())
        .spawn(run)
    {
        Ok(_) => {}
        // without a thread the subscriber can never be called; say so loudly rather than panic
        Err(e) => tracing::error!(kind, error = %e, "cannot spawn a subscriber thread"),
    }
    Sink::Thread(tx)
}

struct Entry<K, T> {
    id: u64,
    key: K,
    sink: Sink<T>,
}

/// A set of subscribers keyed by `K` (a prefix, or `()` for error subscribers).
pub(crate) struct Registry<K, T> {
    next_id: AtomicU64,
    entries: Mutex<Vec<Entry<K, T>>>,
}

impl<K, T> Default for Registry<K, T> {
    fn default() -> Self {
        Self {
            next_id: AtomicU64::new(1),
            entries: Mutex::new(Vec::new()),
        }
    }
}

impl<K: Send + 'static, T: Send + 'static> Registry<K, T> {
    fn lock(&self) -> MutexGuard<'_, Vec<Entry<K, T>>> {
        // entries are only pushed and removed under the lock: a poisoned list is still consistent
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a callback run on its own delivery thread.
    pub(crate) fn add_callback<F>(
        self: &Arc<Self>,
        kind: &'static str,
        label: String,
        key: K,
        callback: F,
    ) -> Subscription
    where
        F: FnMut(&T) + Send + 'static,
    {
        let active = Arc::new(AtomicBool::new(true));
        let sink = spawn_delivery(kind, label, active.clone(), callback);
        self.add_sink(key, sink, active)
    }

    /// Registers an already built sink.
    pub(crate) fn add_sink(
        self: &Arc<Self>,
        key: K,
        sink: Sink<T>,
        active: Arc<AtomicBool>,
    ) -> Subscription {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().push(Entry { id, key, sink });
        let registry: Weak<dyn Unsubscribe> = Arc::downgrade(self) as Weak<dyn Unsubscribe>;
        Subscription {
            registry,
            id,
            active,
        }
    }

    /// Offers an item to every subscriber: `make` builds it from the key, or skips with `None`.
    /// Subscribers whose receiving side is gone are dropped.
    pub(crate) fn publish(&self, mut make: impl FnMut(&K) -> Option<T>) {
        self.lock().retain(|e| match make(&e.key) {
            Some(item) => e.sink.send(item),
            None => true,
        });
    }

    /// Number of live subscriptions.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

impl<K: Send + 'static, T: Send + 'static> Unsubscribe for Registry<K, T> {
    fn unsubscribe(&self, id: u64) {
        self.lock().retain(|e| e.id != id);
    }
}

/// Subscribers to change sets, keyed by prefix.
pub(crate) type ChangeRegistry = Registry<Prefix, ChangeSet>;

/// Sends every subscriber whose prefix covers a change one [`ChangeSet`].
pub(crate) fn publish_changes(
    registry: &ChangeRegistry,
    all: Vec<Change>,
    old: &Snapshot,
    snapshot: Arc<Snapshot>,
) {
    if all.is_empty() {
        return;
    }
    let (old_version, new_version) = (old.version(), snapshot.version());
    registry.publish(|prefix| {
        let changes: Vec<Change> = all
            .iter()
            .filter(|c| prefix.covers(&c.path))
            .cloned()
            .collect();
        (!changes.is_empty()).then(|| ChangeSet {
            prefix: prefix.as_str().into(),
            old_version,
            new_version,
            changes,
            snapshot: snapshot.clone(),
        })
    });
}
