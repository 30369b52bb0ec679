//! The live store: the current [`Snapshot`] behind an atomic pointer, reloaded from the same source
//! descriptions on file changes or on demand, validated before it is swapped in.
//!
//! # Reload
//! One reload re-runs the same source descriptions, `load → merge → decrypt → validate → swap`,
//! through [`Pipeline::reload`]:
//! 1. every source is re-read and the layers merged (the only I/O);
//! 2. the pipeline's transforms run (secret resolution turns encrypted leaves into secrets);
//! 3. validators run on the candidate snapshot: the pipeline's own, typed extraction
//!    ([`StoreBuilder::validate_as`]) and user closures ([`StoreBuilder::validator`]); every
//!    problem is collected;
//! 4. if any step failed, the candidate is dropped: the current snapshot stays, the error (with
//!    `file:line:col`) goes to `tracing` and to every [`Store::on_error`] subscriber, and
//!    [`Store::last_error`] holds it until the next successful reload;
//! 5. otherwise, if the tree or the provenance differ from the current snapshot, the candidate gets
//!    the next version, is swapped in atomically, and change sets go out (see [`crate::subscribe`]).
//!
//! Reloads are serialized; versions only grow. Startup is the first reload, from the empty
//! snapshot (version 0), through the same code: a bad config at startup fails
//! [`StoreBuilder::start`] with the same error a bad edit would report later.
//!
//! # Threads
//! Readers call [`Store::current`] (lock-free, `arc-swap`) and keep a consistent `Arc<Snapshot>` as
//! long as they hold it; a reader never sees half a reload. Reloads triggered by file changes run on
//! the watcher thread ([`crate::watch`]); [`Store::reload`] runs on the caller's thread. Callbacks
//! run on per-subscriber delivery threads, so neither a slow nor a panicking subscriber can block a
//! reload, the watcher or another subscriber.

use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use serde::de::DeserializeOwned;

use crate::builder::Builder;
use crate::error::{GetError, LoadError, LoadErrors};
use crate::pipeline::{Pipeline, Validator};
use crate::snapshot::Snapshot;
use crate::subscribe::{self, ChangeRegistry, ChangeSet, Prefix, Registry, Subscription};
use crate::watch::{Backend, WatchError, WatchOptions, Watcher};

/// A reload candidate was rejected; the previous snapshot stays current.
#[derive(Debug, thiserror::Error)]
#[error("config reload rejected, keeping version {kept_version}: {errors}")]
pub struct ReloadError {
    errors: LoadErrors,
    kept_version: u64,
}

impl ReloadError {
    /// Every problem of the rejected candidate (each names file:line:col where there is a file).
    pub fn errors(&self) -> &LoadErrors {
        &self.errors
    }

    /// The version that stayed current.
    pub fn kept_version(&self) -> u64 {
        self.kept_version
    }
}

/// Starting a store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The initial load (the first reload) failed.
    #[error(transparent)]
    Reload(Arc<ReloadError>),
    /// The sources could not be watched.
    #[error(transparent)]
    Watch(#[from] WatchError),
}

/// A problem a user validator found: the key it concerns and what is wrong. The store adds where
/// the offending value came from (file:line:col).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    key: String,
    message: String,
}

impl Invalid {
    /// A problem with the value at `key` (dot path).
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// What a successful [`Store::reload`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reloaded {
    /// Version before the reload.
    pub old_version: u64,
    /// Version after it (equal to `old_version` when nothing changed).
    pub new_version: u64,
    /// Number of changed leaves.
    pub changed_leaves: usize,
}

impl Builder {
    /// Finishes the sources into a live [`Store`] builder (watching, validation, subscriptions).
    pub fn live(self) -> StoreBuilder {
        Store::builder(self.build())
    }
}

/// Configures a live [`Store`]: the pipeline to re-run, what to watch, extra validation.
pub struct StoreBuilder {
    pipeline: Pipeline,
    watch: Option<WatchOptions>,
}

impl std::fmt::Debug for StoreBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreBuilder")
            .field("pipeline", &self.pipeline)
            .field("watch", &self.watch)
            .finish()
    }
}

impl StoreBuilder {
    /// Watcher settings (debounce, polling). Watching is on by default, with
    /// [`WatchOptions::default`], for every path in [`Pipeline::watch_paths`].
    #[must_use]
    pub fn watch(mut self, options: WatchOptions) -> Self {
        self.watch = Some(options);
        self
    }

    /// Turns file watching off: reloads happen only through [`Store::reload`].
    #[must_use]
    pub fn no_watch(mut self) -> Self {
        self.watch = None;
        self
    }

    /// Rejects a candidate unless the subtree at `key` (`""`: the whole config) deserializes as
    /// `T`; the error names the key and the file:line:col of the offending value.
    #[must_use]
    pub fn validate_as<T: DeserializeOwned>(mut self, key: &str) -> Self {
        let key = key.to_owned();
        let v: Validator = Arc::new(move |snap: &Snapshot| {
            snap.get_into::<T>(&key)
                .map(drop)
                .map_err(|e| vec![get_error_to_invalid(e)])
        });
        self.pipeline.validators.push(v);
        self
    }

    /// Rejects a candidate when `check` reports problems; each gets the location of its key.
    #[must_use]
    pub fn validator(
        mut self,
        check: impl Fn(&Snapshot) -> Result<(), Vec<Invalid>> + Send + Sync + 'static,
    ) -> Self {
        let v: Validator = Arc::new(move |snap: &Snapshot| {
            check(snap).map_err(|problems| {
                problems
                    .into_iter()
                    .map(|p| LoadError::Invalid {
                        origin: snap.nearest_origin(&p.key),
                        key: p.key,
                        message: p.message,
                    })
                    .collect()
            })
        });
        self.pipeline.validators.push(v);
        self
    }

    /// Starts watching (when enabled), then runs the first reload from the empty snapshot.
    pub fn start(self) -> Result<Store, StartError> {
        let empty = Arc::new(Snapshot::empty());
        let watch_paths = self.pipeline.watch_paths();
        let inner = Arc::new(Inner {
            #[cfg(feature = "tokio")]
            snapshot_tx: tokio::sync::watch::Sender::new(empty.clone()),
            current: ArcSwap::new(empty),
            pipeline: self.pipeline,
            reload_lock: Mutex::new(()),
            changes: Arc::default(),
            errors: Arc::default(),
            last_error: Mutex::new(None),
            watcher: Mutex::new(None),
        });
        // watch before the first load: an edit racing startup is then either read by that load
        // or signalled afterwards, never lost
        if let (Some(options), false) = (self.watch, watch_paths.is_empty()) {
            let weak = Arc::downgrade(&inner);
            let watcher = Watcher::start(&watch_paths, options, move |_hint| {
                if let Some(inner) = weak.upgrade() {
                    // failures are reported to error subscribers and tracing inside
                    let _ = inner.reload();
                }
            })?;
            *lock(&inner.watcher) = Some(watcher);
        }
        inner.reload().map_err(StartError::Reload)?;
        Ok(Store { inner })
    }
}

fn get_error_to_invalid(e: GetError) -> LoadError {
    match e {
        GetError::Type {
            key,
            message,
            origin,
        } => LoadError::Invalid {
            key,
            origin,
            message,
        },
        other => LoadError::Invalid {
            key: match &other {
                GetError::NotFound { key } | GetError::InvalidPath { key, .. } => key.clone(),
                _ => String::new(),
            },
            origin: None,
            message: other.to_string(),
        },
    }
}

/// A live configuration: cheap to clone (clones share one state), `Send + Sync`. Watching stops
/// when the last clone is dropped.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("version", &self.version())
            .field("backend", &self.watch_backend())
            .finish_non_exhaustive()
    }
}

struct Inner {
    current: ArcSwap<Snapshot>,
    pipeline: Pipeline,
    reload_lock: Mutex<()>,
    changes: Arc<ChangeRegistry>,
    errors: Arc<Registry<(), Arc<ReloadError>>>,
    last_error: Mutex<Option<Arc<ReloadError>>>,
    watcher: Mutex<Option<Watcher>>,
    #[cfg(feature = "tokio")]
    snapshot_tx: tokio::sync::watch::Sender<Arc<Snapshot>>,
}

/// Locks a mutex whose data stays consistent even if a holder panicked.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    fn reload(&self) -> Result<Reloaded, Arc<ReloadError>> {
        let _serial = lock(&self.reload_lock);
        let old = self.current.load_full();
        let candidate = self.pipeline.reload(&old).map_err(|errors| ReloadError {
            errors,
            kept_version: old.version(),
        });
        match candidate {
            Ok(new)
                if new.root() == old.root() && new.provenance_tree() == old.provenance_tree() =>
            {
                *lock(&self.last_error) = None;
                tracing::debug!(version = old.version(), "config reloaded; nothing changed");
                Ok(Reloaded {
                    old_version: old.version(),
                    new_version: old.version(),
                    changed_leaves: 0,
                })
            }
            Ok(new) => {
                let new = Arc::new(new);
                let changes = subscribe::diff(old.root(), new.root());
                self.current.store(new.clone());
                *lock(&self.last_error) = None;
                #[cfg(feature = "tokio")]
                self.snapshot_tx.send_replace(new.clone());
                tracing::info!(
                    version = new.version(),
                    changed_leaves = changes.len(),
                    "config reloaded"
                );
                let reloaded = Reloaded {
                    old_version: old.version(),
                    new_version: new.version(),
                    changed_leaves: changes.len(),
                };
                subscribe::publish_changes(&self.changes, changes, &old, new);
                Ok(reloaded)
            }
            Err(e) => {
                let e = Arc::new(e);
                tracing::error!(error = %e, "config reload rejected; keeping the last good snapshot");
                *lock(&self.last_error) = Some(e.clone());
                self.errors.publish(|()| Some(e.clone()));
                Err(e)
            }
        }
    }
}

impl Store {
    /// A live store re-running `pipeline`; see [`StoreBuilder`].
    pub fn builder(pipeline: Pipeline) -> StoreBuilder {
        StoreBuilder {
            pipeline,
            watch: Some(WatchOptions::default()),
        }
    }

    /// The current snapshot; hold the `Arc` for a consistent view across several reads.
    pub fn current(&self) -> Arc<Snapshot> {
        self.inner.current.load_full()
    }

    /// Version of the current snapshot (0 is the empty snapshot before the first load).
    pub fn version(&self) -> u64 {
        self.inner.current.load().version()
    }

    /// Reloads now, on this thread (notifyd hooks SIGHUP here). A rejected candidate leaves the
    /// current snapshot in place and is also reported to error subscribers and `tracing`.
    pub fn reload(&self) -> Result<Reloaded, Arc<ReloadError>> {
        self.inner.reload()
    }

    /// The error of the latest reload, if it failed; cleared by the next successful one.
    pub fn last_error(&self) -> Option<Arc<ReloadError>> {
        lock(&self.inner.last_error).clone()
    }

    /// Which watcher backend is running, if any.
    pub fn watch_backend(&self) -> Option<Backend> {
        lock(&self.inner.watcher).as_ref().map(Watcher::backend)
    }

    /// Calls `callback` once per reload that changes a leaf at or under `prefix` (a key, a prefix,
    /// or `""` for everything), with only those changes. Runs on the subscription's own thread;
    /// dropping the handle unsubscribes. Fails only on a malformed prefix.
    pub fn subscribe<F>(&self, prefix: &str, callback: F) -> Result<Subscription, GetError>
    where
        F: FnMut(&ChangeSet) + Send + 'static,
    {
        let parsed = parse_prefix(prefix)?;
        Ok(self
            .inner
            .changes
            .add_callback("changes", prefix.to_owned(), parsed, callback))
    }

    /// Calls `callback` with every rejected reload (on its own thread); dropping the handle
    /// unsubscribes.
    pub fn on_error<F>(&self, callback: F) -> Subscription
    where
        F: FnMut(&Arc<ReloadError>) + Send + 'static,
    {
        self.inner
            .errors
            .add_callback("errors", String::new(), (), callback)
    }

    /// Number of live change subscriptions (diagnostics).
    pub fn subscriber_count(&self) -> usize {
        self.inner.changes.len()
    }
}

fn parse_prefix(prefix: &str) -> Result<Prefix, GetError> {
    Prefix::parse(prefix).map_err(|e| GetError::InvalidPath {
        key: prefix.to_owned(),
        reason: e.reason,
    })
}

#[cfg(feature = "tokio")]
impl Store {
    /// A `tokio::sync::watch` receiver that always holds the current snapshot.
    pub fn snapshots(&self) -> tokio::sync::watch::Receiver<Arc<Snapshot>> {
        self.inner.snapshot_tx.subscribe()
    }

    /// A stream of the change sets under `prefix`, one per reload that touches it.
    pub fn changes(&self, prefix: &str) -> Result<subscribe::ChangeStream, GetError> {
        let parsed = parse_prefix(prefix)?;
        Ok(subscribe::ChangeStream::new(&self.inner.changes, parsed))
    }
}
