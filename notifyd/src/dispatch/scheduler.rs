//! The dispatcher's scheduler: the in-memory schedule of pending entries (a min-heap of
//! next-attempt times), per-target concurrency and rate limits, delivery-order lanes per group,
//! and the hand-off of outcomes to the outbox writer.

use super::*;

pub(super) type AttemptOutcome = (i64, Result<Receipt, DeliveryError>);
pub(super) type Attempt = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// What to do with an entry once its outcome is committed.
pub(super) enum Settle {
    /// Retry at this time (attempts made, last error).
    Retry(i64, u32, String),
    /// Delivered or dead-lettered: forget it.
    Gone,
}

/// A committed (or failed) batch of outcomes.
pub(super) type Committed = (Vec<(i64, Settle)>, Result<(), OutboxError>);

#[derive(Default)]
pub(super) struct TargetState {
    pub(super) in_flight: usize,
    pub(super) waiting: VecDeque<i64>,
    pub(super) bucket: Option<TokenBucket>,
}

pub(super) struct Scheduler {
    pub(super) outbox: Arc<Outbox>,
    pub(super) notifiers: HashMap<String, Arc<dyn Notifier>>,
    pub(super) config: DispatchConfig,
    pub(super) entries: HashMap<i64, Live>,
    pub(super) heap: BinaryHeap<Reverse<(i64, i64)>>,
    pub(super) in_flight: HashSet<i64>,
    pub(super) targets: HashMap<String, TargetState>,
    pub(super) max_id: i64,
    pub(super) done_tx: mpsc::UnboundedSender<AttemptOutcome>,
    pub(super) committed_tx: mpsc::UnboundedSender<Committed>,
    /// Outcomes decided but not yet handed to the writer, with what follows their commit.
    pub(super) unsettled: Vec<(Outcome, Settle)>,
    /// Batches handed to the writer and not yet acknowledged.
    pub(super) settling: usize,
    /// Outcomes in those batches.
    pub(super) settling_outcomes: usize,
    /// Pending entries per (target, group key), in enqueue order: only the first of a lane is
    /// attempted, so a group's notifications reach a receiver in the order they were produced
    /// (a resolved notification never overtakes the firing one that is still being retried).
    /// Keyed by [`lane_of`]: a hash collision would only serialize two groups, never reorder one.
    pub(super) lanes: HashMap<u64, BTreeSet<i64>>,
    /// Entries taken off the heap because an earlier one of their lane is pending; each goes
    /// back on the heap when it becomes the first of its lane.
    pub(super) parked: HashSet<i64>,
}

/// A pending entry as the scheduler holds it: the stored entry (target, notification) is shared
/// with the enqueuer's result and with its in-flight attempt instead of being deep-copied
/// (labels, annotations, strings); the fields below are the live schedule state.
pub(super) struct Live {
    pub(super) shared: Arc<Entry>,
    pub(super) attempts: u32,
    pub(super) next_attempt_ms: i64,
    pub(super) deadline_ms: i64,
    pub(super) last_error: Option<String>,
    /// Its (target, group key) lane.
    pub(super) lane: u64,
}

/// The lane of a notification to `target`: its group key there.
pub(super) fn lane_of(target: &str, group_key: &str) -> u64 {
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
    pub(super) fn add(&mut self, entry: Arc<Entry>) {
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
    pub(super) fn remove(&mut self, id: i64) {
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

    pub(super) fn rescan(&mut self) -> Result<(), OutboxError> {
        let (outbox, after) = (&self.outbox, self.max_id);
        for entry in blocking(|| outbox.pending_after(after))? {
            self.add(Arc::new(entry));
        }
        Ok(())
    }

    /// Starts every attempt that is due at `now`, within concurrency and rate limits.
    pub(super) fn launch_due(&mut self, now: i64, out: &mut Vec<Attempt>) {
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
    pub(super) fn finish(&mut self, (id, result): AttemptOutcome, now: i64) {
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
    pub(super) fn flush_outcomes(&mut self, now: i64) {
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
    pub(super) fn unrecorded(&self) -> usize {
        self.unsettled.len() + self.settling_outcomes
    }

    /// Acts on a committed batch: drops finished entries, schedules retries.
    pub(super) fn settle(&mut self, (settles, result): Committed) -> Result<(), OutboxError> {
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
    pub(super) fn prune(&self, now: i64) {
        let retention = i64::try_from(self.config.retention.as_millis()).unwrap_or(i64::MAX);
        let prune = self
            .outbox
            .prune_delivered_async(now.saturating_sub(retention));
        tokio::spawn(async move {
            let _ = prune.await;
        });
    }
}
