//! The dispatcher: delivers what the outbox holds, concurrently per target, with backoff, retry
//! deadlines, dead-lettering and per-target rate limits.
//!
//! One scheduler task owns the in-memory schedule (a min-heap of next-attempt times over the pending
//! entries); each attempt runs in its own task and reports back over a channel. Outcomes are
//! handed to the outbox's writer thread as one batch without waiting for the commit, one batch in
//! flight at a time (the next gathers meanwhile, so one hand-off per commit, not per outcome):
//! the scheduler keeps launching attempts meanwhile (a target's concurrency slot is free
//! once its request is answered), and acts on an outcome (drops the entry, or schedules its
//! retry) only once the commit is acknowledged. At most [`DispatchConfig::max_unrecorded`]
//! outcomes wait for a commit at a time, which bounds what a crash can repeat. The outbox file is the
//! truth: the schedule is rebuilt from it at start, so every pending entry resumes after a restart,
//! and a periodic rescan picks up entries written by other processes (or requeued dead letters).
//! Entries are written before they are scheduled ([`DispatchHandle::enqueue`]), so nothing is ever
//! sent that is not on disk. Delivery records older than [`DispatchConfig::retention`] are pruned
//! periodically.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use notifiers::{DeliveryError, Notification, Notifier, Receipt};
use tokio::sync::mpsc;

use crate::clock;
use crate::outbox::policy::{
    AttemptResult, DeadReason, Decision, RateLimit, RetryPolicy, TokenBucket, jitter_seed,
};
use crate::outbox::{Enqueued, Entry, Outbox, OutboxError, Outcome};

mod scheduler;
use scheduler::*;

/// Dispatcher settings.
#[derive(Clone, Debug)]
pub struct DispatchConfig {
    /// Backoff and retry deadline.
    pub retry: RetryPolicy,
    /// Most attempts in flight per target (requests the receiver is handling at once).
    pub concurrency: usize,
    /// Most finished attempts whose outcome is not committed yet, over all targets; at the cap
    /// no new attempt starts until a commit returns. A crash repeats at most the attempts in
    /// flight plus these (each with its original idempotency key, so receivers can drop them).
    pub max_unrecorded: usize,
    /// Rate limits by target name (targets not listed are unlimited).
    pub rate_limits: HashMap<String, RateLimit>,
    /// Bound of one attempt; a notifier that takes longer fails with a timeout (transient).
    pub attempt_timeout: Duration,
    /// How often the outbox file is rescanned for entries written by other processes.
    pub poll_interval: Duration,
    /// Stop once nothing is pending (for draining an outbox from the command line).
    pub stop_when_empty: bool,
    /// How long delivery records (which make re-enqueueing a delivered key a no-op) are kept;
    /// older ones are pruned every `prune_interval`, with the notification log of groups whose
    /// latest record goes. Default 120 h, Alertmanager's `--data.retention`.
    pub retention: Duration,
    /// How often delivery records past `retention` are pruned.
    pub prune_interval: Duration,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            concurrency: 4,
            max_unrecorded: 1024,
            rate_limits: HashMap::new(),
            attempt_timeout: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            stop_when_empty: false,
            retention: Duration::from_secs(120 * 3600),
            prune_interval: Duration::from_secs(15 * 60),
        }
    }
}

/// Writes notifications to the outbox and wakes the dispatcher. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DispatchHandle {
    outbox: Arc<Outbox>,
    deadline: Duration,
    tx: mpsc::UnboundedSender<Vec<Arc<Entry>>>,
}

impl DispatchHandle {
    /// Durably stores `notification` for `target`, then schedules it for immediate delivery.
    /// Blocks the thread until committed; async code should prefer
    /// [`DispatchHandle::enqueue_many_async`].
    pub fn enqueue(
        &self,
        target: &str,
        notification: &Notification,
    ) -> Result<Enqueued, OutboxError> {
        let outcome = self
            .outbox
            .enqueue(target, notification, clock::now_ms(), self.deadline)?;
        self.schedule(std::slice::from_ref(&outcome));
        Ok(outcome)
    }

    /// [`DispatchHandle::enqueue`] for many notifications, stored in one transaction.
    pub fn enqueue_many(
        &self,
        items: &[(&str, &Notification)],
    ) -> Result<Vec<Enqueued>, OutboxError> {
        let outcomes = self
            .outbox
            .enqueue_many(items, clock::now_ms(), self.deadline)?;
        self.schedule(&outcomes);
        Ok(outcomes)
    }

    /// [`DispatchHandle::enqueue_many`] without blocking the thread: resolves once the
    /// notifications are committed (and scheduled). Concurrent callers share a commit.
    pub async fn enqueue_many_async(
        &self,
        items: Vec<(String, Notification)>,
    ) -> Result<Vec<Enqueued>, OutboxError> {
        let outcomes = self
            .outbox
            .enqueue_many_async(items, clock::now_ms(), self.deadline)
            .await?;
        self.schedule(&outcomes);
        Ok(outcomes)
    }

    /// Hands the new entries to the dispatcher in one message.
    fn schedule(&self, outcomes: &[Enqueued]) {
        // Shared with the caller's result, not deep-copied (labels, annotations, strings).
        let entries: Vec<Arc<Entry>> = outcomes
            .iter()
            .filter_map(|o| match o {
                Enqueued::New(entry) => Some(Arc::clone(entry)),
                Enqueued::Duplicate => None,
            })
            .collect();
        if !entries.is_empty() {
            // A stopped dispatcher finds the entries in the file when it starts again.
            let _ = self.tx.send(entries);
        }
    }

    /// The outbox behind this handle (dead letters, log).
    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }
}

/// Delivers the outbox's entries through the configured notifiers.
pub struct Dispatcher {
    outbox: Arc<Outbox>,
    notifiers: HashMap<String, Arc<dyn Notifier>>,
    config: DispatchConfig,
}

impl Dispatcher {
    /// A dispatcher over `outbox` with one notifier per target name.
    pub fn new(
        outbox: Arc<Outbox>,
        notifiers: HashMap<String, Arc<dyn Notifier>>,
        config: DispatchConfig,
    ) -> Self {
        Self {
            outbox,
            notifiers,
            config,
        }
    }

    /// Loads every pending entry and runs until `shutdown` resolves (or, with
    /// `stop_when_empty`, until nothing is pending). Attempts still in flight at shutdown are
    /// abandoned; their entries stay pending in the file and resume on the next start.
    pub fn start(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> (
        DispatchHandle,
        tokio::task::JoinHandle<Result<(), OutboxError>>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let handle = DispatchHandle {
            outbox: self.outbox.clone(),
            deadline: self.config.retry.deadline,
            tx,
        };
        let join = tokio::spawn(self.run(rx, shutdown));
        (handle, join)
    }

    async fn run(
        self,
        mut rx: mpsc::UnboundedReceiver<Vec<Arc<Entry>>>,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), OutboxError> {
        let (done_tx, mut done_rx) = mpsc::unbounded_channel();
        let (committed_tx, mut committed_rx) = mpsc::unbounded_channel();
        let mut s = Scheduler {
            outbox: self.outbox,
            notifiers: self.notifiers,
            config: self.config,
            entries: HashMap::new(),
            heap: BinaryHeap::new(),
            in_flight: HashSet::new(),
            targets: HashMap::new(),
            max_id: 0,
            done_tx,
            committed_tx,
            unsettled: Vec::new(),
            settling: 0,
            settling_outcomes: 0,
            lanes: HashMap::new(),
            parked: HashSet::new(),
        };
        s.rescan()?;
        let mut last_poll = clock::now_ms();
        let prune_ms = i64::try_from(s.config.prune_interval.as_millis()).unwrap_or(i64::MAX);
        let mut next_prune = last_poll;
        tokio::pin!(shutdown);
        // One timer, moved when the next wake-up changes (not a new one per loop turn).
        let timer = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(timer);
        let mut timer_at = i64::MIN;
        let mut attempts = Vec::new();
        loop {
            let now = clock::now_ms();
            s.launch_due(now, &mut attempts);
            for attempt in attempts.drain(..) {
                tokio::spawn(attempt);
            }
            s.flush_outcomes(now);
            if now >= next_prune {
                next_prune = now.saturating_add(prune_ms);
                s.prune(now);
            }
            if s.config.stop_when_empty && s.entries.is_empty() && s.settling == 0 {
                return Ok(());
            }
            let poll_ms = i64::try_from(s.config.poll_interval.as_millis()).unwrap_or(i64::MAX);
            let next_poll = last_poll.saturating_add(poll_ms);
            // At the cap of unrecorded outcomes, due entries wait for a commit, not a timer.
            let capped = s.unrecorded() >= s.config.max_unrecorded.max(1);
            let wake = match s.heap.peek() {
                Some(Reverse((at, _))) if !capped => (*at).min(next_poll),
                _ => next_poll,
            }
            .min(next_prune);
            if wake != timer_at {
                timer_at = wake;
                let after = Duration::from_millis(u64::try_from(wake - now).unwrap_or(0));
                timer.as_mut().reset(tokio::time::Instant::now() + after);
            }
            tokio::select! {
                biased;
                () = &mut shutdown => return Ok(()),
                Some(first) = committed_rx.recv() => {
                    s.settle(first)?;
                    while let Ok(more) = committed_rx.try_recv() {
                        s.settle(more)?;
                    }
                }
                Some(first) = done_rx.recv() => {
                    // Everything that finished meanwhile is committed in one batch.
                    let now = clock::now_ms();
                    s.finish(first, now);
                    while let Ok(more) = done_rx.try_recv() {
                        s.finish(more, now);
                    }
                }
                Some(entries) = rx.recv() => {
                    entries.into_iter().for_each(|e| s.add(e));
                    while let Ok(more) = rx.try_recv() {
                        more.into_iter().for_each(|e| s.add(e));
                    }
                }
                () = &mut timer => {
                    timer_at = i64::MIN; // fired: set again next turn
                    let now = clock::now_ms();
                    if now >= next_poll {
                        last_poll = now;
                        s.rescan()?;
                    }
                }
            }
        }
    }
}

/// Runs a database call (which may wait for an fsync) without stalling the other tasks of a
/// multi-thread runtime: `block_in_place` hands this worker's queue to another thread meanwhile.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// `error: cause: cause` for the log and the dead-letter table.
fn error_chain(e: &DeliveryError) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
#[path = "dispatch_tests.rs"]
mod tests;
