//! Inputs of the engine: label sets ([`Labels`]), metric samples ([`Sample`]) and log records
//! ([`LogRecord`]).

use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

/// The label that holds a metric's name.
pub const METRIC_NAME: &str = "__name__";

/// An immutable, sorted set of labels (`name="value"` pairs with unique names).
///
/// Cloning is a reference-count increment; the hash is computed once at construction, so
/// hashing a `Labels` is O(1). Equality compares the pairs; ordering is lexicographic over
/// the sorted pairs (like Prometheus' `labels.Compare`).
#[derive(Clone)]
pub struct Labels(Arc<Inner>);

struct Inner {
    hash: u64,
    pairs: Box<[(Arc<str>, Arc<str>)]>,
}

impl Labels {
    /// The empty label set.
    pub fn empty() -> Self {
        Self::from_sorted(Vec::new())
    }

    /// Builds a label set from pairs in any order. A later pair wins over an earlier one with
    /// the same name; pairs with an empty value are dropped (as in Prometheus, an empty label
    /// value means "no such label").
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let v: Vec<(Arc<str>, Arc<str>)> = pairs
            .into_iter()
            .map(|(k, v)| (Arc::from(k.as_ref()), Arc::from(v.as_ref())))
            .collect();
        Self::from_arc_pairs(v)
    }

    /// Like [`Labels::from_pairs`] but takes already shared strings (no copying; used with an
    /// interner).
    pub fn from_arc_pairs(mut v: Vec<(Arc<str>, Arc<str>)>) -> Self {
        // stable sort keeps input order among equal names: the last one wins below
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Arc<str>, Arc<str>)> = Vec::with_capacity(v.len());
        for (k, val) in v {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = val,
                _ => out.push((k, val)),
            }
        }
        out.retain(|(_, v)| !v.is_empty());
        Self::from_sorted(out)
    }

    fn from_sorted(pairs: Vec<(Arc<str>, Arc<str>)>) -> Self {
        let mut h = FxHasher::default();
        for (k, v) in &pairs {
            h.write(k.as_bytes());
            h.write_u8(0xff);
            h.write(v.as_bytes());
            h.write_u8(0xfe);
        }
        Labels(Arc::new(Inner {
            hash: h.finish(),
            pairs: pairs.into_boxed_slice(),
        }))
    }

    /// The value of label `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .pairs
            .binary_search_by(|(k, _)| k.as_ref().cmp(name))
            .ok()
            .map(|i| self.0.pairs[i].1.as_ref())
    }

    /// The metric name (`__name__`), if present.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// The pairs in name order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.0.pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))
    }

    /// The shared pairs in name order (for interning and cheap rebuilding).
    pub fn arc_pairs(&self) -> &[(Arc<str>, Arc<str>)] {
        &self.0.pairs
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.pairs.len()
    }

    /// True when there is no label.
    pub fn is_empty(&self) -> bool {
        self.0.pairs.is_empty()
    }

    /// The precomputed 64-bit hash of the label set (stable within one process).
    pub fn hash_u64(&self) -> u64 {
        self.0.hash
    }

    /// A copy with `name` removed.
    pub fn without(&self, name: &str) -> Labels {
        if self.get(name).is_none() {
            return self.clone();
        }
        self.filtered(|k| k != name)
    }

    /// A copy without the metric name.
    pub fn without_metric_name(&self) -> Labels {
        self.without(METRIC_NAME)
    }

    /// A copy keeping only the labels whose name satisfies `keep`.
    pub fn filtered(&self, mut keep: impl FnMut(&str) -> bool) -> Labels {
        let v: Vec<_> = self
            .0
            .pairs
            .iter()
            .filter(|(k, _)| keep(k))
            .cloned()
            .collect();
        if v.len() == self.len() {
            return self.clone();
        }
        Self::from_sorted(v)
    }

    /// A copy with `name` set to `value` (removed when `value` is empty).
    pub fn with(&self, name: &str, value: &str) -> Labels {
        if self.get(name) == Some(value) {
            return self.clone();
        }
        let mut v: Vec<_> = self.0.pairs.to_vec();
        v.push((Arc::from(name), Arc::from(value)));
        Self::from_arc_pairs(v)
    }
}

impl Default for Labels {
    fn default() -> Self {
        Self::empty()
    }
}

impl PartialEq for Labels {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.0.hash == other.0.hash && self.0.pairs == other.0.pairs)
    }
}

impl Eq for Labels {}

impl Hash for Labels {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.hash);
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Labels {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.pairs.iter().cmp(other.0.pairs.iter())
    }
}

impl fmt::Display for Labels {
    /// `{a="b", c="d"}` with Go-style escaping of values, like Prometheus.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (k, v)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}=")?;
            write_quoted(f, v)?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Writes `s` as a double-quoted string with Go/PromQL escapes.
pub(crate) fn write_quoted(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if (c as u32) < 0x20 || c as u32 == 0x7f => write!(f, "\\x{:02x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// One metric sample: a value of a series at a time (milliseconds since the Unix epoch).
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The series' labels, including `__name__`.
    pub labels: Labels,
    /// Timestamp in milliseconds.
    pub t_ms: i64,
    /// The value; [`STALE_NAN`] marks the series stale.
    pub value: f64,
}

/// The bit pattern Prometheus uses for staleness markers (a NaN that is not the default NaN).
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// A staleness marker as an `f64` (compare with [`is_stale_nan`], never with `==`).
pub const STALE_NAN: f64 = f64::from_bits(STALE_NAN_BITS);

/// True when `v` is a staleness marker.
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One log line of a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// The stream's labels (e.g. `{app="api", host="a"}`).
    pub labels: Labels,
    /// Timestamp in milliseconds.
    pub t_ms: i64,
    /// The raw line.
    pub line: String,
}

/// A small, fast, deterministic hasher (FxHash) used for label hashing and internal maps.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.hash = (self.hash.rotate_left(5) ^ w).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// `BuildHasher` for [`FxHasher`].
#[derive(Default, Clone, Copy)]
pub(crate) struct FxBuild;

impl BuildHasher for FxBuild {
    type Hasher = FxHasher;
    fn build_hasher(&self) -> FxHasher {
        FxHasher::default()
    }
}

/// A `HashMap` with the fast hasher.
pub(crate) type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_dedup_and_display() {
        let l = Labels::from_pairs([("b", "2"), ("a", "1"), ("b", "3"), ("c", "")]);
        assert_eq!(l.to_string(), r#"{a="1", b="3"}"#);
        assert_eq!(l.get("b"), Some("3"));
        assert_eq!(l.get("c"), None);
        assert_eq!(l.len(), 2);
    }

    #[test]
    fn equality_hash_and_order() {
        let a = Labels::from_pairs([("x", "1"), ("__name__", "up")]);
        let b = Labels::from_pairs([("__name__", "up"), ("x", "1")]);
        assert_eq!(a, b);
        assert_eq!(a.hash_u64(), b.hash_u64());
        assert_eq!(a.metric_name(), Some("up"));
        let c = Labels::from_pairs([("__name__", "up"), ("x", "2")]);
        assert!(a < c);
        assert_ne!(a, c);
        assert_eq!(a.without_metric_name().to_string(), r#"{x="1"}"#);
        assert_eq!(
            a.with("y", "q\"\n").to_string(),
            r#"{__name__="up", x="1", y="q\"\n"}"#
        );
    }

    #[test]
    fn stale_nan_is_distinct() {
        assert!(is_stale_nan(STALE_NAN));
        assert!(!is_stale_nan(f64::NAN));
    }
}
