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
    /// older ones are pruned every `prune_interval`. Default 120 h, Alertmanager's
    /// `--data.retention`.
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

type AttemptOutcome = (i64, Result<Receipt, DeliveryError>);
type Attempt = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// What to do with an entry once its outcome is committed.
enum Settle {
    /// Retry at this time (attempts made, last error).
    Retry(i64, u32, String),
    /// Delivered or dead-lettered: forget it.
    Gone,
}

/// A committed (or failed) batch of outcomes.
type Committed = (Vec<(i64, Settle)>, Result<(), OutboxError>);

#[derive(Default)]
struct TargetState {
    in_flight: usize,
    waiting: VecDeque<i64>,
    bucket: Option<TokenBucket>,
}

struct Scheduler {
    outbox: Arc<Outbox>,
    notifiers: HashMap<String, Arc<dyn Notifier>>,
    config: DispatchConfig,
    entries: HashMap<i64, Live>,
    heap: BinaryHeap<Reverse<(i64, i64)>>,
    in_flight: HashSet<i64>,
    targets: HashMap<String, TargetState>,
    max_id: i64,
    done_tx: mpsc::UnboundedSender<AttemptOutcome>,
    committed_tx: mpsc::UnboundedSender<Committed>,
    /// Outcomes decided but not yet handed to the writer, with what follows their commit.
    unsettled: Vec<(Outcome, Settle)>,
    /// Batches handed to the writer and not yet acknowledged.
    settling: usize,
    /// Outcomes in those batches.
    settling_outcomes: usize,
    /// Pending entries per (target, group key), in enqueue order: only the first of a lane is
    /// attempted, so a group's notifications reach a receiver in the order they were produced
    /// (a resolved notification never overtakes the firing one that is still being retried).
    /// Keyed by [`lane_of`]: a hash collision would only serialize two groups, never reorder one.
    lanes: HashMap<u64, BTreeSet<i64>>,
    /// Entries taken off the heap because an earlier one of their lane is pending; each goes
    /// back on the heap when it becomes the first of its lane.
    parked: HashSet<i64>,
}

/// A pending entry as the scheduler holds it: the stored entry (target, notification) is shared
/// with the enqueuer's result and with its in-flight attempt instead of being deep-copied
/// (labels, annotations, strings); the fields below are the live schedule state.
struct Live {
    shared: Arc<Entry>,
    attempts: u32,
    next_attempt_ms: i64,
    deadline_ms: i64,
    last_error: Option<String>,
    /// Its (target, group key) lane.
    lane: u64,
}

/// The lane of a notification to `target`: its group key there.
fn lane_of(target: &str, group_key: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (target, group_key).hash(&mut h);
    h.finish()
}

impl From<Arc<Entry>> for Live {
    fn from(e: Arc<Entry>) -> Self {
        Self {
            lane: lane_of(&e.target, &e.notification.group_key),
            attempts: e.attempts,
            next_attempt_ms: e.next_attempt_ms,
            deadline_ms: e.deadline_ms,
            last_error: e.last_error.clone(),
            shared: e,
        }
    }
}

impl Scheduler {
    fn add(&mut self, entry: Arc<Entry>) {
        let id = entry.id;
        self.max_id = self.max_id.max(entry.id);
        if self.entries.contains_key(&entry.id) {
            return;
        }
        self.heap.push(Reverse((entry.next_attempt_ms, entry.id)));
        let live = Live::from(entry);
        self.lanes.entry(live.lane).or_default().insert(id);
        self.entries.insert(id, live);
    }

    /// Drops a finished entry; the next entry of its lane, if parked, becomes due.
    fn remove(&mut self, id: i64) {
        let Some(entry) = self.entries.remove(&id) else {
            return;
        };
        let Some(lane) = self.lanes.get_mut(&entry.lane) else {
            return;
        };
        lane.remove(&id);
        match lane.first().copied() {
            None => {
                self.lanes.remove(&entry.lane);
            }
            Some(next) => {
                if self.parked.remove(&next)
                    && let Some(e) = self.entries.get(&next)
                {
                    self.heap.push(Reverse((e.next_attempt_ms, next)));
                }
            }
        }
    }

    fn rescan(&mut self) -> Result<(), OutboxError> {
        let (outbox, after) = (&self.outbox, self.max_id);
        for entry in blocking(|| outbox.pending_after(after))? {
            self.add(Arc::new(entry));
        }
        Ok(())
    }

    /// Starts every attempt that is due at `now`, within concurrency and rate limits.
    fn launch_due(&mut self, now: i64, out: &mut Vec<Attempt>) {
        while let Some(&Reverse((at, id))) = self.heap.peek() {
            if at > now || self.unrecorded() >= self.config.max_unrecorded.max(1) {
                break;
            }
            self.heap.pop();
            let Some(entry) = self.entries.get_mut(&id) else {
                continue; // finished since it was scheduled
            };
            if entry.next_attempt_ms != at || self.in_flight.contains(&id) {
                continue; // a stale schedule item
            }
            let first_of_lane = self
                .lanes
                .get(&entry.lane)
                .and_then(|lane| lane.first())
                .is_none_or(|first| *first == id);
            if !first_of_lane {
                self.parked.insert(id);
                continue;
            }
            let Some(notifier) = self.notifiers.get(&entry.shared.target).cloned() else {
                let error = format!(
                    "no notifier is configured for target {:?}",
                    entry.shared.target
                );
                let outcome = Outcome::Dead {
                    id,
                    attempts: entry.attempts,
                    reason: DeadReason::UnknownTarget,
                    error,
                };
                // Not in the heap any more, so it is not attempted again before the commit.
                self.unsettled.push((outcome, Settle::Gone));
                continue;
            };
            let limit = self.config.rate_limits.get(&entry.shared.target).copied();
            if !self.targets.contains_key(&entry.shared.target) {
                self.targets
                    .insert(entry.shared.target.clone(), TargetState::default());
            }
            let Some(target) = self.targets.get_mut(&entry.shared.target) else {
                continue; // inserted just above
            };
            if target.in_flight >= self.config.concurrency.max(1) {
                target.waiting.push_back(id);
                continue;
            }
            if let Some(limit) = limit {
                let bucket = target
                    .bucket
                    .get_or_insert_with(|| TokenBucket::new(limit, now));
                if let Err(wait_ms) = bucket.try_acquire(now) {
                    entry.next_attempt_ms = now + wait_ms;
                    self.heap.push(Reverse((entry.next_attempt_ms, id)));
                    continue;
                }
            }
            target.in_flight += 1;
            self.in_flight.insert(id);
            let shared = Arc::clone(&entry.shared);
            let done = self.done_tx.clone();
            let timeout = self.config.attempt_timeout;
            out.push(Box::pin(async move {
                let result =
                    match tokio::time::timeout(timeout, notifier.deliver(&shared.notification))
                        .await
                    {
                        Ok(result) => result,
                        Err(_) => Err(DeliveryError::timeout(format!(
                            "delivery attempt took longer than {timeout:?}"
                        ))),
                    };
                let _ = done.send((id, result));
            }));
        }
    }

    /// Frees the attempt's concurrency slot and decides what follows; the decision is committed
    /// with the next batch ([`Scheduler::flush_outcomes`]) and acted on once committed.
    fn finish(&mut self, (id, result): AttemptOutcome, now: i64) {
        self.in_flight.remove(&id);
        let Some(entry) = self.entries.get(&id) else {
            return;
        };
        if let Some(target) = self.targets.get_mut(&entry.shared.target) {
            target.in_flight = target.in_flight.saturating_sub(1);
            if let Some(next) = target.waiting.pop_front()
                && let Some(waiting) = self.entries.get_mut(&next)
            {
                waiting.next_attempt_ms = waiting.next_attempt_ms.min(now);
                self.heap.push(Reverse((waiting.next_attempt_ms, next)));
            }
        }
        let Some(entry) = self.entries.get(&id) else {
            return;
        };
        let attempts = entry.attempts + 1;
        let class = match &result {
            Ok(_) => AttemptResult::Ok,
            Err(e) if e.is_permanent() => AttemptResult::Permanent,
            Err(e) => AttemptResult::Transient {
                retry_after: e.retry_after(),
            },
        };
        let seed = jitter_seed(&entry.shared.notification.idempotency_key, attempts);
        let decision = self
            .config
            .retry
            .decide(class, attempts, seed, now, entry.deadline_ms);
        let text = match result {
            Ok(receipt) => receipt.detail,
            Err(e) => error_chain(&e),
        };
        self.unsettled.push(match decision {
            Decision::Delivered => (
                Outcome::Delivered {
                    id,
                    attempts,
                    detail: text,
                },
                Settle::Gone,
            ),
            Decision::Retry { at_ms } => (
                Outcome::Retry {
                    id,
                    attempts,
                    at_ms,
                    error: text.clone(),
                },
                Settle::Retry(at_ms, attempts, text),
            ),
            Decision::DeadLetter(reason) => (
                Outcome::Dead {
                    id,
                    attempts,
                    reason,
                    error: text,
                },
                Settle::Gone,
            ),
        });
    }

    /// Hands the decided outcomes to the outbox writer as one batch, without waiting; the
    /// acknowledgement comes back through `committed_tx`. While a batch is being committed the
    /// next one gathers (like the writer's group commit: one hand-off and one acknowledgement
    /// per commit, not per outcome).
    fn flush_outcomes(&mut self, now: i64) {
        if self.unsettled.is_empty() || self.settling > 0 {
            return;
        }
        let (outcomes, settles): (Vec<Outcome>, Vec<(i64, Settle)>) = self
            .unsettled
            .drain(..)
            .map(|(o, settle)| {
                let id = match &o {
                    Outcome::Delivered { id, .. }
                    | Outcome::Retry { id, .. }
                    | Outcome::Dead { id, .. } => *id,
                };
                (o, (id, settle))
            })
            .unzip();
        self.settling += 1;
        self.settling_outcomes += settles.len();
        let committed = self.committed_tx.clone();
        self.outbox.record_then(outcomes, now, move |result| {
            let _ = committed.send((settles, result));
        });
    }

    /// Finished attempts whose outcome is not committed yet.
    fn unrecorded(&self) -> usize {
        self.unsettled.len() + self.settling_outcomes
    }

    /// Acts on a committed batch: drops finished entries, schedules retries.
    fn settle(&mut self, (settles, result): Committed) -> Result<(), OutboxError> {
        self.settling = self.settling.saturating_sub(1);
        result?;
        self.settling_outcomes = self.settling_outcomes.saturating_sub(settles.len());
        for (id, settle) in settles {
            match settle {
                Settle::Retry(at_ms, attempts, error) => {
                    if let Some(e) = self.entries.get_mut(&id) {
                        e.attempts = attempts;
                        e.next_attempt_ms = at_ms;
                        e.last_error = Some(error);
                    }
                    self.heap.push(Reverse((at_ms, id)));
                }
                Settle::Gone => self.remove(id),
            }
        }
        Ok(())
    }

    /// Prunes delivery records past the retention, in the background (errors are retried at the
    /// next prune: they cost nothing but disk space).
    fn prune(&self, now: i64) {
        let retention = i64::try_from(self.config.retention.as_millis()).unwrap_or(i64::MAX);
        let prune = self
            .outbox
            .prune_delivered_async(now.saturating_sub(retention));
        tokio::spawn(async move {
            let _ = prune.await;
        });
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
