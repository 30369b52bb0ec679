//! Series a rule writes back into the store (recording-rule output, `ALERTS` and
//! `ALERTS_FOR_STATE`): [`Written`] remembers each written series' store id, so a write is a
//! map lookup by the precomputed label hash plus an append, and marks series stale that a rule
//! stops writing. Also the per-rule cache of labels derived from result samples.

use super::RuleState;
use crate::eval::{SeriesId, Store};
use crate::input::{FxHashMap, Labels, METRIC_NAME, STALE_NAN};
use crate::rule::Rule;

#[derive(Clone, Copy)]
struct Slot {
    id: SeriesId,
    /// store epoch `id` belongs to (`u64::MAX`: no id yet, the write was buffered)
    epoch: u64,
    /// evaluation time of the last write
    ts: i64,
}

/// One buffered write.
pub(crate) struct BufferedWrite {
    /// The series' store id when the writing rule knew it (valid in the store's current
    /// epoch: nothing renumbers ids during an evaluation).
    id: Option<SeriesId>,
    labels: Labels,
    ts: i64,
    v: f64,
    /// index of the writing rule in its group (to tell it the id of a new series)
    rule: usize,
}

/// Where an evaluation reads from and writes to: the store directly, or the store read-only
/// with the writes collected in a buffer (groups evaluated concurrently; the buffers are
/// applied in group order afterwards).
pub(crate) enum Out<'a> {
    /// Writes go straight into the store.
    Direct(&'a mut Store),
    /// Reads see `store`; writes are appended to `writes`.
    Buffered {
        /// The store as of the start of the evaluation batch.
        store: &'a Store,
        /// The writes, in the order they were made.
        writes: &'a mut Vec<BufferedWrite>,
        /// The rule being evaluated (index in its group).
        rule: usize,
    },
}

impl Out<'_> {
    /// The store to read from.
    pub(crate) fn store(&self) -> &Store {
        match self {
            Out::Direct(s) => s,
            Out::Buffered { store, .. } => store,
        }
    }

    /// Sets the index of the rule whose writes follow.
    pub(crate) fn set_rule(&mut self, ri: usize) {
        if let Out::Buffered { rule, .. } = self {
            *rule = ri;
        }
    }

    fn append(&mut self, slot: &mut Slot, labels: &Labels, ts: i64, v: f64) {
        match self {
            Out::Direct(store) => {
                let epoch = store.epoch();
                if slot.epoch != epoch {
                    slot.id = store.series_id(labels);
                    slot.epoch = epoch;
                }
                // rejections (a rule re-evaluated at an older time) are not the rule's error
                let _ = store.add_sample_at(slot.id, ts, v);
            }
            Out::Buffered {
                store,
                writes,
                rule,
            } => writes.push(BufferedWrite {
                id: (slot.epoch == store.epoch()).then_some(slot.id),
                labels: labels.clone(),
                ts,
                v,
                rule: *rule,
            }),
        }
    }
}

/// Applies buffered writes of one group to the store in order (as [`Out::Direct`] would have
/// made them) and tells the group's rules the ids of series they wrote for the first time.
pub(crate) fn apply(store: &mut Store, rules: &mut [RuleState], writes: Vec<BufferedWrite>) {
    let epoch = store.epoch();
    for w in writes {
        let id = match w.id {
            Some(id) => id,
            None => {
                let id = store.series_id(&w.labels);
                if let Some(slot) = rules
                    .get_mut(w.rule)
                    .and_then(|r| r.written.slots.get_mut(&w.labels))
                {
                    slot.id = id;
                    slot.epoch = epoch;
                }
                id
            }
        };
        let _ = store.add_sample_at(id, w.ts, w.v);
    }
}

/// The series one rule wrote, with their store ids.
#[derive(Default)]
pub(crate) struct Written {
    slots: FxHashMap<Labels, Slot>,
}

impl Written {
    /// Writes `v` at `ts` to the series `labels`.
    pub(crate) fn write(&mut self, out: &mut Out<'_>, labels: &Labels, ts: i64, v: f64) {
        let slot = match self.slots.get_mut(labels) {
            Some(s) => s,
            None => self.slots.entry(labels.clone()).or_insert(Slot {
                id: 0,
                epoch: u64::MAX,
                ts: i64::MIN,
            }),
        };
        slot.ts = ts;
        out.append(slot, labels, ts, v);
    }

    /// Ends the evaluation at `ts`: series written before but not at `ts` get a staleness
    /// marker and are forgotten.
    pub(crate) fn finish(&mut self, out: &mut Out<'_>, ts: i64) {
        self.slots.retain(|labels, s| {
            if s.ts == ts {
                return true;
            }
            out.append(s, labels, ts, STALE_NAN);
            false
        });
    }

    /// Number of series written at the last evaluation.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }
}

/// Labels (and rendered annotations) derived from one result sample's labels, cached per rule
/// so that unchanged series are not re-rendered at every evaluation.
pub(crate) struct Derived {
    /// Output labels (recording rules) or alert labels.
    pub labels: Labels,
    /// Rendered annotations (alerting rules).
    pub annotations: Vec<(String, String)>,
    /// The value the templates were rendered with.
    pub value_bits: u64,
    /// The evaluation that last used this entry.
    pub used: i64,
}

/// Per-rule cache: result sample labels → [`Derived`]. Entries not used by an evaluation are
/// dropped at its end ([`sweep`]).
pub(crate) type DerivedCache = FxHashMap<Labels, Derived>;

/// Drops the entries the evaluation at `ts` did not use.
pub(crate) fn sweep(cache: &mut DerivedCache, ts: i64) {
    cache.retain(|_, d| d.used == ts);
}

/// The output labels of a recording rule for one result sample: the sample's labels, the rule
/// name as `__name__`, then the rule's labels.
pub(crate) fn recording_labels(rule: &Rule, sample: &Labels) -> Labels {
    use std::sync::Arc;
    let mut pairs: Vec<(Arc<str>, Arc<str>)> = sample.arc_pairs().to_vec();
    pairs.push((Arc::from(METRIC_NAME), Arc::from(rule.name.as_str())));
    for l in &rule.labels {
        pairs.push((Arc::from(l.name.as_str()), Arc::from(l.raw.as_str())));
    }
    Labels::from_arc_pairs(pairs)
}
