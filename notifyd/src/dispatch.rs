//! The dispatcher: delivers what the outbox holds, concurrently per target, with backoff, retry
//! deadlines, dead-lettering and per-target rate limits.
//!
//! One scheduler task owns the in-memory schedule (a min-heap of next-attempt times over the pending
//! entries) and is the only writer of delivery outcomes; each attempt runs in its own task and
//! reports back over a channel. The outbox file is the truth: the schedule is rebuilt from it at
//! start, so every pending entry resumes after a restart, and a periodic rescan picks up entries
//! written by other processes. Entries are written before they are scheduled
//! ([`DispatchHandle::enqueue`]), so nothing is ever sent that is not on disk.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::future::Future;
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
    /// Most attempts in flight per target.
    pub concurrency: usize,
    /// Rate limits by target name (targets not listed are unlimited).
    pub rate_limits: HashMap<String, RateLimit>,
    /// Bound of one attempt; a notifier that takes longer fails with a timeout (transient).
    pub attempt_timeout: Duration,
    /// How often the outbox file is rescanned for entries written by other processes.
    pub poll_interval: Duration,
    /// Stop once nothing is pending (for draining an outbox from the command line).
    pub stop_when_empty: bool,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            concurrency: 4,
            rate_limits: HashMap::new(),
            attempt_timeout: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            stop_when_empty: false,
        }
    }
}

/// Writes notifications to the outbox and wakes the dispatcher. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DispatchHandle {
    outbox: Arc<Outbox>,
    deadline: Duration,
    tx: mpsc::UnboundedSender<Entry>,
}

impl DispatchHandle {
    /// Durably stores `notification` for `target`, then schedules it for immediate delivery.
    pub fn enqueue(
        &self,
        target: &str,
        notification: &Notification,
    ) -> Result<Enqueued, OutboxError> {
        let outcome = self
            .outbox
            .enqueue(target, notification, clock::now_ms(), self.deadline)?;
        if let Enqueued::New(entry) = &outcome {
            // A stopped dispatcher finds the entry in the file when it starts again.
            let _ = self.tx.send((**entry).clone());
        }
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
        for outcome in &outcomes {
            if let Enqueued::New(entry) = outcome {
                let _ = self.tx.send((**entry).clone());
            }
        }
        Ok(outcomes)
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
        mut rx: mpsc::UnboundedReceiver<Entry>,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), OutboxError> {
        let (done_tx, mut done_rx) = mpsc::unbounded_channel();
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
        };
        s.rescan()?;
        let mut last_poll = clock::now_ms();
        tokio::pin!(shutdown);
        let mut attempts = Vec::new();
        loop {
            let now = clock::now_ms();
            s.launch_due(now, &mut attempts)?;
            for attempt in attempts.drain(..) {
                tokio::spawn(attempt);
            }
            if s.config.stop_when_empty && s.entries.is_empty() {
                return Ok(());
            }
            let poll_ms = i64::try_from(s.config.poll_interval.as_millis()).unwrap_or(i64::MAX);
            let next_poll = last_poll.saturating_add(poll_ms);
            let wake = s
                .heap
                .peek()
                .map_or(next_poll, |Reverse((at, _))| (*at).min(next_poll));
            let sleep = Duration::from_millis(u64::try_from(wake - now).unwrap_or(0));
            tokio::select! {
                biased;
                () = &mut shutdown => return Ok(()),
                Some(first) = done_rx.recv() => {
                    // Everything that finished meanwhile is recorded in one transaction.
                    let mut done = vec![first];
                    while let Ok(more) = done_rx.try_recv() {
                        done.push(more);
                    }
                    s.finish(done, clock::now_ms())?;
                }
                Some(entry) = rx.recv() => {
                    s.add(entry);
                    while let Ok(more) = rx.try_recv() {
                        s.add(more);
                    }
                }
                () = tokio::time::sleep(sleep) => {
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
    entries: HashMap<i64, Entry>,
    heap: BinaryHeap<Reverse<(i64, i64)>>,
    in_flight: HashSet<i64>,
    targets: HashMap<String, TargetState>,
    max_id: i64,
    done_tx: mpsc::UnboundedSender<AttemptOutcome>,
}

impl Scheduler {
    fn add(&mut self, entry: Entry) {
        self.max_id = self.max_id.max(entry.id);
        if self.entries.contains_key(&entry.id) {
            return;
        }
        self.heap.push(Reverse((entry.next_attempt_ms, entry.id)));
        self.entries.insert(entry.id, entry);
    }

    fn rescan(&mut self) -> Result<(), OutboxError> {
        let (outbox, after) = (&self.outbox, self.max_id);
        for entry in blocking(|| outbox.pending_after(after))? {
            self.add(entry);
        }
        Ok(())
    }

    /// Starts every attempt that is due at `now`, within concurrency and rate limits.
    fn launch_due(&mut self, now: i64, out: &mut Vec<Attempt>) -> Result<(), OutboxError> {
        while let Some(&Reverse((at, id))) = self.heap.peek() {
            if at > now {
                break;
            }
            self.heap.pop();
            let Some(entry) = self.entries.get_mut(&id) else {
                continue; // finished since it was scheduled
            };
            if entry.next_attempt_ms != at || self.in_flight.contains(&id) {
                continue; // a stale schedule item
            }
            let Some(notifier) = self.notifiers.get(&entry.target).cloned() else {
                let entry = entry.clone();
                let error = format!("no notifier is configured for target {:?}", entry.target);
                self.outbox.dead_letter(
                    &entry,
                    entry.attempts,
                    now,
                    DeadReason::UnknownTarget,
                    &error,
                )?;
                self.entries.remove(&id);
                continue;
            };
            let limit = self.config.rate_limits.get(&entry.target).copied();
            let target = self.targets.entry(entry.target.clone()).or_default();
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
            let notification = entry.notification.clone();
            let done = self.done_tx.clone();
            let timeout = self.config.attempt_timeout;
            out.push(Box::pin(async move {
                let result =
                    match tokio::time::timeout(timeout, notifier.deliver(&notification)).await {
                        Ok(result) => result,
                        Err(_) => Err(DeliveryError::timeout(format!(
                            "delivery attempt took longer than {timeout:?}"
                        ))),
                    };
                let _ = done.send((id, result));
            }));
        }
        Ok(())
    }

    /// Records the outcomes of finished attempts (one transaction) and decides what follows.
    fn finish(&mut self, done: Vec<AttemptOutcome>, now: i64) -> Result<(), OutboxError> {
        let mut decided = Vec::with_capacity(done.len());
        for (id, result) in done {
            self.in_flight.remove(&id);
            let Some(entry) = self.entries.get(&id).cloned() else {
                continue;
            };
            if let Some(target) = self.targets.get_mut(&entry.target) {
                target.in_flight = target.in_flight.saturating_sub(1);
                if let Some(next) = target.waiting.pop_front()
                    && let Some(waiting) = self.entries.get_mut(&next)
                {
                    waiting.next_attempt_ms = waiting.next_attempt_ms.min(now);
                    self.heap.push(Reverse((waiting.next_attempt_ms, next)));
                }
            }
            let attempts = entry.attempts + 1;
            let class = match &result {
                Ok(_) => AttemptResult::Ok,
                Err(e) if e.is_permanent() => AttemptResult::Permanent,
                Err(e) => AttemptResult::Transient {
                    retry_after: e.retry_after(),
                },
            };
            let seed = jitter_seed(&entry.notification.idempotency_key, attempts);
            let decision = self
                .config
                .retry
                .decide(class, attempts, seed, now, entry.deadline_ms);
            let text = match result {
                Ok(receipt) => receipt.detail,
                Err(e) => error_chain(&e),
            };
            decided.push((entry, attempts, decision, text));
        }
        let outcomes: Vec<Outcome<'_>> = decided
            .iter()
            .map(|(entry, attempts, decision, text)| match *decision {
                Decision::Delivered => Outcome::Delivered {
                    entry,
                    attempts: *attempts,
                    detail: text,
                },
                Decision::Retry { at_ms } => Outcome::Retry {
                    id: entry.id,
                    attempts: *attempts,
                    at_ms,
                    error: text,
                },
                Decision::DeadLetter(reason) => Outcome::Dead {
                    entry,
                    attempts: *attempts,
                    reason,
                    error: text,
                },
            })
            .collect();
        let outbox = &self.outbox;
        blocking(|| outbox.record(&outcomes, now))?;
        for (entry, attempts, decision, text) in decided {
            match decision {
                Decision::Retry { at_ms } => {
                    if let Some(e) = self.entries.get_mut(&entry.id) {
                        e.attempts = attempts;
                        e.next_attempt_ms = at_ms;
                        e.last_error = Some(text);
                    }
                    self.heap.push(Reverse((at_ms, entry.id)));
                }
                Decision::Delivered | Decision::DeadLetter(_) => {
                    self.entries.remove(&entry.id);
                }
            }
        }
        Ok(())
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
