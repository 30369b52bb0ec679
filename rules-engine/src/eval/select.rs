//! Series selection: label matchers → sorted series ids through the store's postings index, and
//! a cache of the ids per distinct selector.
//!
//! The cache is keyed by the selector's content (metric name and matchers), so identical
//! selectors in different rules share one entry. An entry remembers how many series existed
//! when it was computed; series created later are matched incrementally from the posting lists
//! (ids only grow), and a compaction of the store (which renumbers ids) recomputes it. Cached
//! lists may name series whose window is currently empty: readers skip those.

use std::hash::Hasher;
use std::sync::{Arc, Mutex, PoisonError};

use super::store::{SeriesId, Store};
use crate::input::{FxHashMap, FxHasher};
use crate::syntax::{MatchOp, Matcher, VectorSelector};

/// At most this many selectors are cached (expression tests may query many one-off
/// selectors); the cache is emptied when it is full.
const MAX_ENTRIES: usize = 8192;

struct Entry {
    name: Option<String>,
    matchers: Vec<Matcher>,
    /// store compaction epoch the ids belong to
    epoch: u64,
    /// number of series the ids cover (ids below this were all considered)
    upto: SeriesId,
    ids: Arc<Vec<SeriesId>>,
}

/// The cache of selected series ids per selector (interior mutability: evaluation reads the
/// store through a shared reference).
#[derive(Default)]
pub(crate) struct SelectorCache {
    map: Mutex<FxHashMap<u64, Vec<Entry>>>,
}

impl SelectorCache {
    /// Forgets every entry.
    pub(crate) fn clear(&mut self) {
        self.map
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

fn op_code(op: MatchOp) -> u8 {
    match op {
        MatchOp::Equal => 1,
        MatchOp::NotEqual => 2,
        MatchOp::Regex => 3,
        MatchOp::NotRegex => 4,
    }
}

fn selector_key(vs: &VectorSelector) -> u64 {
    let mut h = FxHasher::default();
    if let Some(n) = &vs.name {
        h.write(n.as_bytes());
    }
    h.write_u8(0xff);
    for m in &vs.matchers {
        h.write(m.name.as_bytes());
        h.write_u8(op_code(m.op));
        h.write(m.value.as_bytes());
        h.write_u8(0xfe);
    }
    h.finish()
}

impl Store {
    /// Ids of the series matching the selector (sorted), from the selector cache. Series with
    /// an empty window may be included.
    pub(crate) fn select_cached(&self, vs: &VectorSelector) -> Arc<Vec<SeriesId>> {
        let key = selector_key(vs);
        let n = self.series_len() as SeriesId;
        let epoch = self.epoch();
        let mut map = self
            .sel_cache
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(list) = map.get_mut(&key)
            && let Some(e) = list
                .iter_mut()
                .find(|e| e.name == vs.name && e.matchers == vs.matchers)
        {
            if e.epoch == epoch && e.upto == n {
                return e.ids.clone();
            }
            let matchers: Vec<_> = vs.all_matchers().collect();
            let refs = matchers.iter().map(|m| m.as_ref());
            if e.epoch == epoch {
                let more = self.select_from(refs, e.upto);
                if !more.is_empty() {
                    Arc::make_mut(&mut e.ids).extend_from_slice(&more);
                }
            } else {
                e.ids = Arc::new(self.select_from(refs, 0));
                e.epoch = epoch;
            }
            e.upto = n;
            return e.ids.clone();
        }
        let matchers: Vec<_> = vs.all_matchers().collect();
        let ids = Arc::new(self.select_from(matchers.iter().map(|m| m.as_ref()), 0));
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.entry(key).or_default().push(Entry {
            name: vs.name.clone(),
            matchers: vs.matchers.clone(),
            epoch,
            upto: n,
            ids: ids.clone(),
        });
        ids
    }

    /// Ids of the series matching all matchers (sorted), non-empty ones only.
    #[allow(dead_code)] // used by tests
    pub(crate) fn select<'m>(
        &self,
        matchers: impl IntoIterator<Item = &'m Matcher> + Clone,
    ) -> Vec<SeriesId> {
        let mut ids = self.select_from(matchers, 0);
        ids.retain(|&id| !self.series(id).samples.is_empty());
        ids
    }

    /// Ids `>= from` of the series matching all matchers (sorted), including empty ones.
    pub(crate) fn select_from<'m>(
        &self,
        matchers: impl IntoIterator<Item = &'m Matcher> + Clone,
        from: SeriesId,
    ) -> Vec<SeriesId> {
        // equality matchers with non-empty values intersect posting lists, smallest first
        let mut lists: Vec<&[SeriesId]> = Vec::new();
        for m in matchers.clone() {
            if m.op == MatchOp::Equal && !m.value.is_empty() {
                let Some(ids) = self.postings_of(&m.name, &m.value) else {
                    return Vec::new();
                };
                lists.push(&ids[ids.partition_point(|&i| i < from)..]);
            }
        }
        lists.sort_by_key(|l| l.len());
        let mut cand: Option<Vec<SeriesId>> = None;
        for ids in lists {
            cand = Some(match cand {
                None => ids.to_vec(),
                Some(c) => intersect(&c, ids),
            });
        }
        // a regex matcher that does not match "" restricts to the union of matching values
        if cand.is_none() {
            for m in matchers.clone() {
                if m.op == MatchOp::Regex && !m.matches_empty() {
                    let mut ids: Vec<SeriesId> = Vec::new();
                    self.for_each_posting_value(&m.name, |v, list| {
                        if m.matches(v) {
                            ids.extend_from_slice(&list[list.partition_point(|&i| i < from)..]);
                        }
                    });
                    ids.sort_unstable();
                    cand = Some(ids);
                    break;
                }
            }
        }
        let cand = cand.unwrap_or_else(|| (from..self.series_len() as SeriesId).collect());
        cand.into_iter()
            .filter(|&id| {
                let s = self.series(id);
                matchers
                    .clone()
                    .into_iter()
                    .all(|m| m.matches(s.labels.get(&m.name).unwrap_or("")))
            })
            .collect()
    }
}

/// Sorted intersection; `a` is the shorter list (a much longer `b` is binary-searched).
fn intersect(a: &[SeriesId], b: &[SeriesId]) -> Vec<SeriesId> {
    if a.len() * 16 < b.len() {
        return a
            .iter()
            .copied()
            .filter(|id| b.binary_search(id).is_ok())
            .collect();
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::eval::{Store, eval_instant};
    use crate::input::Labels;
    use crate::syntax::{Expr, parse_expr};

    fn l(s: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(s.iter().copied())
    }

    fn count(store: &Store, e: &Expr, t: i64) -> usize {
        match eval_instant(e, store, t).unwrap() {
            crate::eval::Value::Vector(v) => v.len(),
            other => panic!("not a vector: {other:?}"),
        }
    }

    #[test]
    fn cached_selection_sees_series_created_after_first_evaluation() {
        let mut st = Store::new();
        st.add_sample(&l(&[("__name__", "up"), ("job", "a")]), 0, 1.0)
            .unwrap();
        st.add_sample(&l(&[("__name__", "down"), ("job", "a")]), 0, 1.0)
            .unwrap();
        let e = parse_expr(r#"up{job=~"a|b"}"#).unwrap();
        let e2 = parse_expr(r#"up{job="b"}"#).unwrap();
        let e3 = parse_expr(r#"{job!=""}"#).unwrap();
        assert_eq!(count(&st, &e, 0), 1);
        assert_eq!(count(&st, &e2, 0), 0);
        assert_eq!(count(&st, &e3, 0), 2);
        // new series after the cache was filled
        st.add_sample(&l(&[("__name__", "up"), ("job", "b")]), 1000, 1.0)
            .unwrap();
        st.add_sample(&l(&[("__name__", "up"), ("job", "c")]), 1000, 1.0)
            .unwrap();
        assert_eq!(count(&st, &e, 1000), 2);
        assert_eq!(count(&st, &e2, 1000), 1);
        assert_eq!(count(&st, &e3, 1000), 4);
    }

    #[test]
    fn cached_selection_survives_compaction() {
        let mut st = Store::new();
        st.set_retention(10_000);
        for j in 0..8 {
            st.add_sample(&l(&[("__name__", "up"), ("job", &j.to_string())]), 0, 1.0)
                .unwrap();
        }
        st.add_sample(&l(&[("__name__", "up"), ("job", "late")]), 20_000, 1.0)
            .unwrap();
        let e = parse_expr(r#"up{job="late"}"#).unwrap();
        let all = parse_expr("up").unwrap();
        assert_eq!(count(&st, &e, 20_000), 1);
        // drops the 8 old series and renumbers the rest
        st.gc(25_000);
        assert_eq!(st.series_count(), 1);
        assert_eq!(count(&st, &e, 25_000), 1);
        assert_eq!(count(&st, &all, 25_000), 1);
        st.add_sample(&l(&[("__name__", "up"), ("job", "new")]), 26_000, 1.0)
            .unwrap();
        assert_eq!(count(&st, &all, 26_000), 2);
        assert_eq!(count(&st, &e, 26_000), 1);
    }
}
