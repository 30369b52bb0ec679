//! Watching source files and directories: native events (`notify`) or polling, debounced into one
//! change signal per burst of edits.
//!
//! # What is watched
//! Every source path is watched through directories (see the rules on [`Watcher`]), so in-place
//! edits, atomic saves (write a temp file, rename it over the original), delete + re-create,
//! files added to or removed from a directory source, the directory itself being removed and
//! re-created, and Kubernetes ConfigMap updates (the `..data` symlink swapped to a new timestamped
//! directory) are all seen.
//!
//! # Debounce
//! Events are coalesced with a **trailing** window ([`WatchOptions::debounce`], default 50 ms): the
//! signal fires once no relevant event has arrived for a whole window, so a multi-step save produces
//! exactly one signal, after its last step. [`WatchOptions::max_wait`] (default 1 s) bounds how long
//! a continuous stream of writes can postpone it.
//!
//! The window is **completion-aware**: an event that says a write has finished shortens the
//! remaining wait to the settle window ([`WatchOptions::settle`], default 5 ms) measured from that
//! event, so a finished save reloads within a few milliseconds instead of a full window later.
//! Completion events are a file closed after writing (Linux inotify's `IN_CLOSE_WRITE`, which
//! every `write` + `close` produces) and a rename whose destination is a watched path (atomic saves,
//! the Kubernetes `..data` symlink swap). Any later data write, creation or move-away in the same
//! burst re-arms the full window; removals and metadata changes extend the burst by whichever
//! window is in force, so delete + re-create still reloads once, after the re-created file is
//! closed, never while it is missing. Backends without close events (FSEvents on macOS, polling)
//! simply use the full window. A writer that keeps a file open and pauses for longer than the
//! window still gets a reload mid-write; one that closes it gets the reload right after.
//!
//! # Polling
//! [`WatchMode::Poll`] re-reads every source path each [`WatchOptions::poll_interval`] (default
//! 500 ms) and signals when a content fingerprint changes. Use it where filesystem events are
//! unreliable or absent: NFS/SMB/FUSE mounts, some container bind mounts and overlay setups, and
//! hosts whose inotify limits are exhausted. [`WatchMode::Auto`] (the default) uses native events
//! and falls back to polling, with a warning in the log, when the native watcher cannot be created
//! or a directory cannot be watched for lack of inotify resources. [`Watcher::backend`] tells which.
//!
//! # Threads
//! A native watcher runs the OS notification thread owned by `notify` plus one debounce thread named
//! `c5store-watch`; a polling watcher runs only the latter. The `on_change` callback runs on the
//! debounce thread: while it runs, events keep queueing and are debounced after it returns, so no
//! edit is lost, but a slow callback delays the next signal. Dropping the [`Watcher`] stops and
//! joins the thread (unless dropped from inside its own callback, where it is detached instead).

mod debounce;
mod target;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{EventKind, RecursiveMode, Watcher as _};

use self::debounce::{Debounce, Step};
use self::target::Target;

/// How changes are detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WatchMode {
    /// Native events, falling back to polling when they cannot be set up (the default).
    #[default]
    Auto,
    /// Native events only; setting them up fails with an error instead of falling back.
    Native,
    /// Polling every [`WatchOptions::poll_interval`]; for filesystems without reliable events.
    Poll,
}

/// The backend a [`Watcher`] ended up using.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// OS notifications (inotify on Linux, FSEvents/kqueue on macOS, ReadDirectoryChanges on Windows).
    Native,
    /// Periodic re-reads compared by content fingerprint.
    Poll,
}

/// Watcher settings; `WatchOptions::default()` gives a 50 ms trailing debounce with native events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchOptions {
    debounce: Duration,
    settle: Duration,
    max_wait: Duration,
    poll_interval: Duration,
    mode: WatchMode,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            debounce: Duration::from_millis(50),
            settle: Duration::from_millis(5),
            max_wait: Duration::from_secs(1),
            poll_interval: Duration::from_millis(500),
            mode: WatchMode::Auto,
        }
    }
}

impl WatchOptions {
    /// Trailing debounce window: signal once no relevant event arrived for this long (default 50 ms).
    #[must_use]
    pub fn debounce(mut self, window: Duration) -> Self {
        self.debounce = window;
        self
    }

    /// Settle window after an event that signals a finished write (close after writing, rename
    /// into place): the signal fires once no further event arrived for this long (default 5 ms;
    /// at most the debounce window — setting it to the window gives a plain trailing window).
    #[must_use]
    pub fn settle(mut self, settle: Duration) -> Self {
        self.settle = settle;
        self
    }

    /// Upper bound on how long continuous events can delay a signal (default 1 s; at least the
    /// debounce window).
    #[must_use]
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Period of the polling backend (default 500 ms).
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Native events, polling, or native with a polling fallback (default).
    #[must_use]
    pub fn mode(mut self, mode: WatchMode) -> Self {
        self.mode = mode;
        self
    }

    /// The configured debounce window.
    pub fn debounce_window(&self) -> Duration {
        self.debounce
    }

    /// The configured settle window after a completed write (capped at the debounce window).
    pub fn settle_window(&self) -> Duration {
        self.settle.min(self.debounce)
    }
}

/// What a change signal covers: the watched paths an event touched during the burst (native), or
/// the source paths whose fingerprint changed (polling). For logs; a reload re-reads every source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeHint {
    /// Event paths, sorted and deduplicated (capped at 64 entries).
    pub paths: Vec<PathBuf>,
}

/// Setting up a watcher failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// The native watcher could not be created or could not watch a directory.
    #[error("cannot watch {}: {source}", path.display())]
    Native {
        /// The directory being watched (empty when creating the watcher itself failed).
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: notify::Error,
    },
    /// The watcher thread could not be spawned.
    #[error("cannot spawn the watcher thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// Watches source paths and calls back once per burst of relevant changes.
///
/// For each path `P` it watches, non-recursively: `P`'s parent directory (its nearest existing
/// ancestor while the parent is missing), `P` itself when it is a directory, and the same for the
/// symlink-resolved location of `P` when that differs. An event is relevant when it is on `P`,
/// inside `P`, on an ancestor of `P` (or of its resolved location), or on a `..`-prefixed sibling
/// (Kubernetes' `..data` and timestamped directories). Reads (open/close-without-write) are never
/// relevant, so reloading does not trigger itself; a close after writing is (it ends a write, see
/// the module docs on the settle window). Watches are recomputed before a signal whose
/// burst created, removed or renamed something (plain content writes leave them as they are).
pub struct Watcher {
    tx: mpsc::Sender<Msg>,
    thread: Option<JoinHandle<()>>,
    backend: Backend,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

enum Msg {
    Fs(notify::Result<notify::Event>),
    Stop,
}

type Callback = Box<dyn FnMut(&ChangeHint) + Send>;

impl Watcher {
    /// Starts watching `paths`; `on_change` runs on the watcher thread once per burst.
    ///
    /// Watches are in place when this returns, so a change made afterwards is always signalled.
    pub fn start<I, P, F>(paths: I, options: WatchOptions, on_change: F) -> Result<Self, WatchError>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
        F: FnMut(&ChangeHint) + Send + 'static,
    {
        let targets: Vec<Target> = paths.into_iter().map(|p| Target::new(p.as_ref())).collect();
        let (tx, rx) = mpsc::channel();
        let on_change: Callback = Box::new(on_change);

        let native = match options.mode {
            WatchMode::Poll => None,
            WatchMode::Native => Some(Native::start(&targets, tx.clone())?),
            WatchMode::Auto => match Native::start(&targets, tx.clone()) {
                Ok(native) => Some(native),
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        interval = ?options.poll_interval,
                        "native file watching unavailable; polling instead"
                    );
                    None
                }
            },
        };
        let backend = if native.is_some() {
            Backend::Native
        } else {
            Backend::Poll
        };
        let worker = Worker {
            debounce: Debounce::new(options.debounce, options.settle, options.max_wait),
            fingerprints: targets.iter().map(Target::fingerprint).collect(),
            targets,
            native,
            hint: BTreeSet::new(),
            rearm: false,
            on_change,
            rx,
            poll_interval: options.poll_interval,
        };
        let thread = std::thread::Builder::new()
            .name("c5store-watch".into())
            .spawn(move || worker.run())
            .map_err(WatchError::Thread)?;
        Ok(Self {
            tx,
            thread: Some(thread),
            backend,
        })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

/// The native backend: a `notify` watcher plus the directories it currently watches.
struct Native {
    watcher: notify::RecommendedWatcher,
    watched: BTreeSet<PathBuf>,
}

impl Native {
    fn start(targets: &[Target], tx: mpsc::Sender<Msg>) -> Result<Self, WatchError> {
        let watcher = notify::recommended_watcher(move |res| {
            let _ = tx.send(Msg::Fs(res));
        })
        .map_err(|source| WatchError::Native {
            path: PathBuf::new(),
            source,
        })?;
        let mut native = Self {
            watcher,
            watched: BTreeSet::new(),
        };
        native.sync(targets)?;
        Ok(native)
    }

    /// Brings the watched set in line with what the targets need now. Re-adding a directory that
    /// is already watched is cheap and idempotent, and re-arms a directory that was deleted and
    /// re-created under the same name.
    fn sync(&mut self, targets: &[Target]) -> Result<(), WatchError> {
        let mut wanted = BTreeSet::new();
        for t in targets {
            t.watch_dirs(&mut wanted);
        }
        for gone in self.watched.difference(&wanted) {
            let _ = self.watcher.unwatch(gone);
        }
        self.watched.clear();
        for dir in wanted {
            match self.watcher.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    self.watched.insert(dir);
                }
                // vanished between the check and the watch: the parent's watch reports it
                Err(e) if matches!(e.kind, notify::ErrorKind::PathNotFound) => {
                    tracing::debug!(dir = %dir.display(), "directory vanished before it was watched");
                }
                Err(source) => return Err(WatchError::Native { path: dir, source }),
            }
        }
        Ok(())
    }
}

/// State owned by the watcher thread.
struct Worker {
    debounce: Debounce,
    targets: Vec<Target>,
    fingerprints: Vec<Option<u64>>,
    native: Option<Native>,
    hint: BTreeSet<PathBuf>,
    /// Whether the burst may have changed which directories exist or where symlinks point
    /// (anything but content and metadata writes): then watches are recomputed before signalling.
    rearm: bool,
    on_change: Callback,
    rx: mpsc::Receiver<Msg>,
    poll_interval: Duration,
}

/// The clock of the watcher thread (debounce logic itself takes time as a parameter).
#[allow(clippy::disallowed_methods)] // the watcher's clock: the only place it reads the time
fn now() -> Instant {
    Instant::now()
}

const HINT_CAP: usize = 64;

impl Worker {
    fn run(mut self) {
        let mut next_poll = now() + self.poll_interval;
        loop {
            let polling = self.native.is_none();
            let wake = match (self.debounce.due(), polling) {
                (Some(due), true) => Some(due.min(next_poll)),
                (Some(due), false) => Some(due),
                (None, true) => Some(next_poll),
                (None, false) => None,
            };
            let msg = match wake {
                None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(at) => self.rx.recv_timeout(at.saturating_duration_since(now())),
            };
            match msg {
                Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Ok(Msg::Fs(Ok(event))) => self.on_event(&event),
                Ok(Msg::Fs(Err(e))) => {
                    // e.g. an event queue overflow: anything may have changed
                    tracing::warn!(error = %e, "file watcher error; reloading to be safe");
                    self.rearm = true;
                    self.debounce.event(now(), Step::Progress);
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            let t = now();
            if polling && t >= next_poll {
                self.poll();
                next_poll = t + self.poll_interval;
            }
            if self.debounce.fire(now()) {
                self.signal();
            }
        }
    }

    fn on_event(&mut self, event: &notify::Event) {
        let is_read = match event.kind {
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => false,
            EventKind::Access(_) => true,
            _ => false,
        };
        if is_read {
            return;
        }
        let rescan = event.need_rescan();
        let mut relevant = rescan;
        for p in &event.paths {
            if self.targets.iter().any(|t| t.is_relevant(p)) {
                relevant = true;
                if self.hint.len() < HINT_CAP {
                    self.hint.insert(p.clone());
                }
            }
        }
        if relevant {
            tracing::trace!(kind = ?event.kind, paths = ?event.paths, "relevant file event");
            let content_only = matches!(
                event.kind,
                EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Metadata(_))
                    | EventKind::Access(_)
            );
            self.rearm |= rescan || !content_only;
            let step = if rescan {
                Step::Progress
            } else {
                self.step(event)
            };
            self.debounce.event(now(), step);
        }
    }

    /// What a relevant event says about the write it belongs to (see [`debounce`]).
    fn step(&self, event: &notify::Event) -> Step {
        let relevant =
            |p: Option<&PathBuf>| p.is_some_and(|p| self.targets.iter().any(|t| t.is_relevant(p)));
        match event.kind {
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => Step::Completion,
            // renamed into place: the destination (the only path of `To`, the second of `Both`)
            // is one we watch; a rename that only moves a watched path away is progress
            EventKind::Modify(ModifyKind::Name(RenameMode::To)) => Step::Completion,
            EventKind::Modify(ModifyKind::Name(RenameMode::Both))
                if relevant(event.paths.get(1)) =>
            {
                Step::Completion
            }
            EventKind::Remove(_) | EventKind::Modify(ModifyKind::Metadata(_)) => Step::Neutral,
            _ => Step::Progress,
        }
    }

    fn poll(&mut self) {
        for (t, old) in self.targets.iter_mut().zip(self.fingerprints.iter_mut()) {
            t.refresh();
            let new = t.fingerprint();
            if new != *old {
                *old = new;
                self.hint.insert(t.path().to_path_buf());
                self.debounce.event(now(), Step::Progress);
            }
        }
    }

    fn signal(&mut self) {
        if std::mem::take(&mut self.rearm) {
            for t in &mut self.targets {
                t.refresh();
            }
            if let Some(native) = &mut self.native
                && let Err(e) = native.sync(&self.targets)
            {
                tracing::warn!(error = %e, "could not re-arm file watches");
            }
        }
        let hint = ChangeHint {
            paths: std::mem::take(&mut self.hint).into_iter().collect(),
        };
        tracing::debug!(paths = ?hint.paths, "sources changed");
        let call = std::panic::AssertUnwindSafe(|| (self.on_change)(&hint));
        if std::panic::catch_unwind(call).is_err() {
            tracing::error!("watch callback panicked; watching continues");
        }
    }
}
