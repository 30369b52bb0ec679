//! In-memory series storage: per-series ring buffers of samples, an inverted label index, log
//! streams, out-of-order tolerance, staleness markers and retention.

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};

use super::select::SelectorCache;
use crate::input::{FxHashMap, Labels, LogRecord, STALE_NAN, is_stale_nan};
use crate::syntax::Matcher;

/// Why a sample was not stored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Rejected {
    /// Older than the newest sample of its series minus the out-of-order tolerance.
    #[error(
        "out of order: sample at {t_ms} ms is {behind_ms} ms behind the newest sample of {labels} (tolerance {tolerance_ms} ms)"
    )]
    OutOfOrder {
        /// The series.
        labels: Labels,
        /// The sample's time.
        t_ms: i64,
        /// How far behind the newest sample it is.
        behind_ms: i64,
        /// The configured tolerance.
        tolerance_ms: i64,
    },
    /// A different value for a timestamp that already has one.
    #[error("duplicate sample for timestamp {t_ms} ms of {labels} with a different value")]
    Duplicate {
        /// The series.
        labels: Labels,
        /// The timestamp.
        t_ms: i64,
    },
    /// Older than the retention horizon (already garbage-collected time).
    #[error(
        "too old: sample at {t_ms} ms of {labels} is before the retained window (from {horizon_ms} ms)"
    )]
    TooOld {
        /// The series.
        labels: Labels,
        /// The sample's time.
        t_ms: i64,
        /// The oldest time still retained.
        horizon_ms: i64,
    },
}

/// Index of a series in the store.
pub(crate) type SeriesId = u32;

/// One metric series: labels and its time-ordered samples (a contiguous window: `gc` drops a
/// prefix, so range functions read a plain slice).
pub(crate) struct MemSeries {
    pub labels: Labels,
    pub samples: Vec<(i64, f64)>,
    /// number of staleness markers among `samples`
    pub stale: u32,
    /// `labels` without `__name__`, computed on first use by a function
    no_name: OnceLock<Labels>,
}

impl MemSeries {
    /// The labels without the metric name (cached).
    pub fn labels_without_name(&self) -> Labels {
        self.no_name
            .get_or_init(|| self.labels.without_metric_name())
            .clone()
    }
}

/// The index of the first sample at or after `t` in time-ordered `samples` (their
/// `partition_point(|s| s.0 < t)`). Series are usually scraped at a steady interval, so the
/// index is guessed from the first and last timestamps and corrected by a few steps; a binary
/// search finishes when the guess is far off.
pub(crate) fn first_at_or_after(samples: &[(i64, f64)], t: i64) -> usize {
    let n = samples.len();
    match (samples.first(), samples.last()) {
        (Some(&(first, _)), Some(&(last, _))) if first < t && last >= t => {
            // the answer is in 1..n; last > first
            let frac = (t - first) as f64 / (last - first) as f64;
            let mut i = ((frac * (n - 1) as f64) as usize).min(n - 1);
            for _ in 0..4 {
                if samples[i].0 < t {
                    // samples[n - 1] >= t, so i + 1 < n
                    if samples[i + 1].0 >= t {
                        return i + 1;
                    }
                    i += 1;
                } else {
                    if i == 0 || samples[i - 1].0 < t {
                        return i;
                    }
                    i -= 1;
                }
            }
            samples.partition_point(|&(ts, _)| ts < t)
        }
        (Some(&(first, _)), _) if first >= t => 0,
        _ => n,
    }
}

/// One log stream: labels and time-ordered lines.
pub(crate) struct LogStream {
    pub labels: Labels,
    pub lines: VecDeque<(i64, Box<str>)>,
}

/// In-memory storage of metric series and log streams.
///
/// Samples are appended per series (ring buffers); [`Store::gc`] drops what is older than the
/// retention. Series are found through an inverted index (label name → value → series ids), so
/// selecting `http_requests_total{job="api"}` touches only those series.
pub struct Store {
    series: Vec<MemSeries>,
    by_labels: FxHashMap<Labels, SeriesId>,
    /// label name → label value → sorted series ids
    postings: FxHashMap<Arc<str>, FxHashMap<Arc<str>, Vec<SeriesId>>>,
    interned: FxHashMap<Arc<str>, ()>,
    streams: Vec<LogStream>,
    stream_by_labels: FxHashMap<Labels, usize>,
    retention_ms: i64,
    ooo_tolerance_ms: i64,
    horizon_ms: i64,
    log_bytes: usize,
    /// bumped when ids are renumbered (compaction)
    epoch: u64,
    pub(super) sel_cache: SelectorCache,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// An empty store (retention 1 h, no out-of-order tolerance).
    pub fn new() -> Self {
        Store {
            series: Vec::new(),
            by_labels: FxHashMap::default(),
            postings: FxHashMap::default(),
            interned: FxHashMap::default(),
            streams: Vec::new(),
            stream_by_labels: FxHashMap::default(),
            retention_ms: 3_600_000,
            ooo_tolerance_ms: 0,
            horizon_ms: i64::MIN,
            log_bytes: 0,
            epoch: 0,
            sel_cache: SelectorCache::default(),
        }
    }

    /// How much history [`Store::gc`] keeps (use the longest look-back of all rules plus the
    /// evaluation interval, e.g. from [`crate::syntax::Expr::max_lookback_ms`]).
    pub fn set_retention(&mut self, ms: i64) {
        self.retention_ms = ms.max(0);
    }

    /// The retention in milliseconds.
    pub fn retention(&self) -> i64 {
        self.retention_ms
    }

    /// Accept samples up to `ms` older than the newest sample of their series (inserted in
    /// order); older ones are [`Rejected::OutOfOrder`].
    pub fn set_out_of_order_tolerance(&mut self, ms: i64) {
        self.ooo_tolerance_ms = ms.max(0);
    }

    fn intern(&mut self, s: &Arc<str>) -> Arc<str> {
        if let Some((k, ())) = self.interned.get_key_value(s) {
            return k.clone();
        }
        self.interned.insert(s.clone(), ());
        s.clone()
    }

    /// The id of the series with `labels`, created (empty) when missing. Ids stay valid until
    /// the [`Store::epoch`] changes.
    pub(crate) fn series_id(&mut self, labels: &Labels) -> SeriesId {
        if let Some(&id) = self.by_labels.get(labels) {
            return id;
        }
        let pairs: Vec<(Arc<str>, Arc<str>)> = labels
            .arc_pairs()
            .iter()
            .map(|(k, v)| (self.intern(k), self.intern(v)))
            .collect();
        let labels = Labels::from_arc_pairs(pairs);
        let id = self.series.len() as SeriesId;
        for (k, v) in labels.arc_pairs() {
            self.postings
                .entry(k.clone())
                .or_default()
                .entry(v.clone())
                .or_default()
                .push(id);
        }
        self.series.push(MemSeries {
            labels: labels.clone(),
            samples: Vec::new(),
            stale: 0,
            no_name: OnceLock::new(),
        });
        self.by_labels.insert(labels, id);
        id
    }

    /// Stores one sample. A staleness marker ([`crate::input::STALE_NAN`]) as value is stored
    /// as such.
    pub fn add_sample(&mut self, labels: &Labels, t_ms: i64, v: f64) -> Result<(), Rejected> {
        if t_ms < self.horizon_ms {
            return Err(Rejected::TooOld {
                labels: labels.clone(),
                t_ms,
                horizon_ms: self.horizon_ms,
            });
        }
        let id = self.series_id(labels);
        self.add_sample_at(id, t_ms, v)
    }

    /// Stores one sample in the series `id` (from [`Store::series_id`] in the current
    /// [`Store::epoch`]).
    pub(crate) fn add_sample_at(
        &mut self,
        id: SeriesId,
        t_ms: i64,
        v: f64,
    ) -> Result<(), Rejected> {
        if t_ms < self.horizon_ms {
            return Err(Rejected::TooOld {
                labels: self.series[id as usize].labels.clone(),
                t_ms,
                horizon_ms: self.horizon_ms,
            });
        }
        let tol = self.ooo_tolerance_ms;
        let s = &mut self.series[id as usize];
        let stale = u32::from(is_stale_nan(v));
        if s.samples.len() == s.samples.capacity() {
            // grow to the length a full retention window will have at this series' sample
            // spacing in one step (when that is near; else double), then by 1/8: a window's
            // length is stable, so this keeps reallocations few and the slack small
            let n = s.samples.len();
            let spacing = match s.samples.as_slice() {
                [.., (a, _), (b, _)] => b - a,
                _ => 0,
            };
            let expected = if spacing > 0 {
                (self.retention_ms / spacing).saturating_add(2)
            } else {
                0
            };
            let extra = if (n as i64) < expected {
                let to_window = (expected - n as i64) as usize;
                if to_window <= 64 { to_window } else { n.max(4) }
            } else {
                (n / 8).max(2)
            };
            s.samples.reserve_exact(extra);
        }
        match s.samples.last() {
            None => {
                s.samples.push((t_ms, v));
                s.stale += stale;
            }
            Some(&(last, _)) if t_ms > last => {
                s.samples.push((t_ms, v));
                s.stale += stale;
            }
            Some(&(last, _)) => {
                let pos = s.samples.partition_point(|&(t, _)| t < t_ms);
                if let Some(&(t, old)) = s.samples.get(pos)
                    && t == t_ms
                {
                    {
                        if old.to_bits() == v.to_bits() {
                            return Ok(());
                        }
                        // a stale marker may be replaced by a real value and vice versa when
                        // the series is re-appearing at the same instant; real conflicts fail
                        if !is_stale_nan(old) && !is_stale_nan(v) {
                            return Err(Rejected::Duplicate {
                                labels: s.labels.clone(),
                                t_ms,
                            });
                        }
                        s.samples[pos].1 = v;
                        s.stale = s.stale + stale - u32::from(is_stale_nan(old));
                        return Ok(());
                    }
                }
                if last - t_ms > tol {
                    return Err(Rejected::OutOfOrder {
                        labels: s.labels.clone(),
                        t_ms,
                        behind_ms: last - t_ms,
                        tolerance_ms: tol,
                    });
                }
                s.samples.insert(pos, (t_ms, v));
                s.stale += stale;
            }
        }
        Ok(())
    }

    /// Marks a series stale at `t_ms` (it disappears from instant queries from then on).
    pub fn add_stale(&mut self, labels: &Labels, t_ms: i64) -> Result<(), Rejected> {
        self.add_sample(labels, t_ms, STALE_NAN)
    }

    /// Stores one log line in its stream.
    pub fn add_log(&mut self, rec: LogRecord) {
        let idx = match self.stream_by_labels.get(&rec.labels) {
            Some(&i) => i,
            None => {
                let i = self.streams.len();
                self.streams.push(LogStream {
                    labels: rec.labels.clone(),
                    lines: VecDeque::new(),
                });
                self.stream_by_labels.insert(rec.labels, i);
                i
            }
        };
        self.log_bytes += rec.line.len();
        let lines = &mut self.streams[idx].lines;
        let item = (rec.t_ms, rec.line.into_boxed_str());
        match lines.back() {
            Some(&(last, _)) if rec.t_ms < last => {
                let pos = lines.partition_point(|(t, _)| *t <= rec.t_ms);
                lines.insert(pos, item);
            }
            _ => lines.push_back(item),
        }
    }

    /// Drops samples and log lines older than `now_ms - retention`, and series/streams that
    /// became empty.
    pub fn gc(&mut self, now_ms: i64) {
        let horizon = now_ms.saturating_sub(self.retention_ms);
        self.horizon_ms = self
            .horizon_ms
            .max(horizon.saturating_sub(self.ooo_tolerance_ms));
        let mut emptied = 0usize;
        for s in &mut self.series {
            let keep_from = s.samples.partition_point(|&(t, _)| t < horizon);
            if keep_from > 0 {
                if s.stale > 0 {
                    let gone = s.samples[..keep_from]
                        .iter()
                        .filter(|x| is_stale_nan(x.1))
                        .count();
                    s.stale -= gone as u32;
                }
                s.samples.drain(..keep_from);
                if s.samples.capacity() > 2 * s.samples.len().max(4) {
                    s.samples
                        .shrink_to(s.samples.len() + s.samples.len() / 8 + 2);
                }
            }
            if s.samples.is_empty() {
                emptied += 1;
            }
        }
        for st in &mut self.streams {
            let keep_from = st.lines.partition_point(|(t, _)| *t < horizon);
            for (_, l) in st.lines.drain(..keep_from) {
                self.log_bytes -= l.len();
            }
        }
        if emptied > 0 && emptied * 4 >= self.series.len() {
            self.compact();
        }
        if self.streams.iter().any(|s| s.lines.is_empty()) {
            self.streams.retain(|s| !s.lines.is_empty());
            self.stream_by_labels = self
                .streams
                .iter()
                .enumerate()
                .map(|(i, s)| (s.labels.clone(), i))
                .collect();
        }
    }

    /// Removes empty series and rebuilds the index.
    fn compact(&mut self) {
        self.epoch += 1;
        self.sel_cache.clear();
        let old = std::mem::take(&mut self.series);
        self.by_labels.clear();
        self.postings.clear();
        self.interned.clear();
        for s in old.into_iter().filter(|s| !s.samples.is_empty()) {
            let id = self.series.len() as SeriesId;
            for (k, v) in s.labels.arc_pairs() {
                self.interned.insert(k.clone(), ());
                self.interned.insert(v.clone(), ());
                self.postings
                    .entry(k.clone())
                    .or_default()
                    .entry(v.clone())
                    .or_default()
                    .push(id);
            }
            self.by_labels.insert(s.labels.clone(), id);
            self.series.push(s);
        }
    }

    /// Number of metric series held.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Number of samples held (all series).
    pub fn sample_count(&self) -> usize {
        self.series.iter().map(|s| s.samples.len()).sum()
    }

    /// Number of log lines held.
    pub fn log_line_count(&self) -> usize {
        self.streams.iter().map(|s| s.lines.len()).sum()
    }

    /// Approximate heap bytes used by metric series (samples, labels, index).
    pub fn approx_series_bytes(&self) -> usize {
        let mut b = self.series.capacity() * std::mem::size_of::<MemSeries>();
        for s in &self.series {
            b += s.samples.capacity() * 16;
            b += 16 + s.labels.len() * 32; // Arc header + pair slots; strings are interned
        }
        b += self.by_labels.capacity() * (std::mem::size_of::<Labels>() + 4 + 8);
        for (k, vals) in &self.postings {
            b += k.len() + 16 + 48;
            for (v, ids) in vals {
                b += v.len() + 16 + 48 + ids.capacity() * 4;
            }
        }
        b
    }

    /// Approximate bytes held in log lines.
    pub fn log_bytes(&self) -> usize {
        self.log_bytes
    }

    pub(crate) fn series(&self, id: SeriesId) -> &MemSeries {
        &self.series[id as usize]
    }

    /// Number of series slots (ids are `0..series_len()`).
    pub(crate) fn series_len(&self) -> usize {
        self.series.len()
    }

    /// Changes whenever series ids are renumbered; ids from [`Store::series_id`] are valid
    /// while it stays the same.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The sorted posting list of `name="value"`.
    pub(super) fn postings_of(&self, name: &str, value: &str) -> Option<&[SeriesId]> {
        self.postings
            .get(name)
            .and_then(|vals| vals.get(value))
            .map(Vec::as_slice)
    }

    /// Calls `f(value, ids)` for every value of label `name`.
    pub(super) fn for_each_posting_value(&self, name: &str, mut f: impl FnMut(&str, &[SeriesId])) {
        if let Some(vals) = self.postings.get(name) {
            for (v, ids) in vals {
                f(v, ids);
            }
        }
    }

    /// Indexes of the log streams matching all matchers.
    #[allow(dead_code)] // used by the evaluator
    pub(crate) fn select_streams(&self, matchers: &[Matcher]) -> Vec<&LogStream> {
        self.streams
            .iter()
            .filter(|s| {
                matchers
                    .iter()
                    .all(|m| m.matches(s.labels.get(&m.name).unwrap_or("")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
