//! [`Snapshot`]: the immutable result of a load, with typed access, [`Branch`] views and
//! [`Explanation`]s of where each value came from.

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::Deserialize;

use crate::de::{Trail, ValueDe};
use crate::error::GetError;
use crate::index::PathIndex;
use crate::merge::Merged;
use crate::origin::{Origin, Provenance};
use crate::prov_tree::ProvenanceTree;
use crate::value::{Segment, Segments, Value, canonical_path, push_segment};

/// An immutable, merged configuration with per-leaf provenance.
///
/// Cloning is an `Arc` increment. Reads take no lock; `get` of a scalar does not allocate
/// (unless it fails). Keys are dot paths: `db.port`, `hosts[0]`, `servers[1].name`.
#[derive(Clone)]
pub struct Snapshot {
    inner: Arc<Inner>,
}

struct Inner {
    version: u64,
    root: Value,
    provenance: ProvenanceTree,
    /// Canonical path → node, built on the first read (see [`crate::index`]).
    index: OnceLock<PathIndex>,
}

impl Snapshot {
    /// The empty snapshot (version 0): what a store holds before its first load.
    pub fn empty() -> Self {
        Snapshot::from_merged(
            Merged {
                tree: Value::empty_map(),
                ..Merged::default()
            },
            0,
        )
    }

    /// Wraps a merged tree. `version` counts loads: 1 for the first, +1 per reload.
    pub fn from_merged(merged: Merged, version: u64) -> Self {
        Snapshot {
            inner: Arc::new(Inner {
                version,
                root: merged.tree,
                provenance: merged.provenance,
                index: OnceLock::new(),
            }),
        }
    }

    /// The load counter this snapshot was built with.
    pub fn version(&self) -> u64 {
        self.inner.version
    }

    /// The whole tree (a map).
    pub fn root(&self) -> &Value {
        &self.inner.root
    }

    /// The provenance of every node, in a tree parallel to [`Snapshot::root`].
    pub fn provenance_tree(&self) -> &ProvenanceTree {
        &self.inner.provenance
    }

    /// The flat path index, built on first use.
    fn index(&self) -> &PathIndex {
        self.inner
            .index
            .get_or_init(|| PathIndex::build(&self.inner.root))
    }

    fn view(&self) -> View<'_> {
        View {
            snap: self,
            prefix: "",
        }
    }

    /// The node at `key`, if any.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.view().value(key)
    }

    /// The value at `key` as `T` (any `serde::Deserialize` type, including `&str` borrowed from
    /// the snapshot). Absent key → [`GetError::NotFound`]; wrong type → [`GetError::Type`] naming
    /// the key and the file:line:col the value came from.
    pub fn get<'a, T: Deserialize<'a>>(&'a self, key: &str) -> Result<T, GetError> {
        self.view().get(key)
    }

    /// Like [`Snapshot::get`] but an absent key is `Ok(None)`.
    pub fn get_opt<'a, T: Deserialize<'a>>(&'a self, key: &str) -> Result<Option<T>, GetError> {
        self.view().get_opt(key)
    }

    /// Extracts the subtree at `key` (`""` for the whole tree) into a struct via serde.
    pub fn get_into<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<T, GetError> {
        self.view().get(key)
    }

    /// Whether a value exists at `key`.
    pub fn exists(&self, key: &str) -> bool {
        self.value(key).is_some()
    }

    /// Canonical paths of every leaf at or below `prefix` (`""` for all), in tree order.
    /// Empty maps and sequences count as leaves.
    pub fn keys_with_prefix(&self, prefix: &str) -> Vec<String> {
        self.view().keys_with_prefix(prefix)
    }

    /// A view of the subtree at `prefix` with relative keys (`branch("db").get("port")`).
    pub fn branch(&self, prefix: &str) -> Branch {
        Branch {
            snap: self.clone(),
            prefix: prefix.to_owned(),
        }
    }

    /// Where the value at `key` came from and every lower layer it overrode.
    pub fn explain(&self, key: &str) -> Option<Explanation<'_>> {
        self.view().explain(key)
    }

    /// The provenance of the node at `key` (its canonical or dotted spelling).
    pub fn provenance(&self, key: &str) -> Option<Provenance> {
        self.inner.provenance.get(self.root(), key)
    }

    /// The origin of the nearest node at or above `key` that has one.
    pub(crate) fn nearest_origin(&self, key: &str) -> Option<Origin> {
        self.inner.provenance.nearest_origin(self.root(), key)
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("version", &self.inner.version)
            .field("root", &self.inner.root)
            .finish()
    }
}

/// A read-only view of a subtree with relative keys. Holds the snapshot alive.
#[derive(Clone, Debug)]
pub struct Branch {
    snap: Snapshot,
    prefix: String,
}

impl Branch {
    fn view(&self) -> View<'_> {
        View {
            snap: &self.snap,
            prefix: &self.prefix,
        }
    }

    /// The prefix this branch was made with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The snapshot this branch reads from.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snap
    }

    /// See [`Snapshot::value`]; `key` is relative to the branch.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.view().value(key)
    }

    /// See [`Snapshot::get`]; `key` is relative to the branch.
    pub fn get<'a, T: Deserialize<'a>>(&'a self, key: &str) -> Result<T, GetError> {
        self.view().get(key)
    }

    /// See [`Snapshot::get_opt`].
    pub fn get_opt<'a, T: Deserialize<'a>>(&'a self, key: &str) -> Result<Option<T>, GetError> {
        self.view().get_opt(key)
    }

    /// See [`Snapshot::get_into`]; `""` extracts the whole branch.
    pub fn get_into<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<T, GetError> {
        self.view().get(key)
    }

    /// See [`Snapshot::exists`].
    pub fn exists(&self, key: &str) -> bool {
        self.value(key).is_some()
    }

    /// Leaf paths below `prefix`, relative to the branch.
    pub fn keys_with_prefix(&self, prefix: &str) -> Vec<String> {
        self.view().keys_with_prefix(prefix)
    }

    /// A branch of this branch.
    pub fn branch(&self, key: &str) -> Branch {
        Branch {
            snap: self.snap.clone(),
            prefix: join(&self.prefix, key),
        }
    }

    /// See [`Snapshot::explain`]; `key` is relative to the branch.
    pub fn explain(&self, key: &str) -> Option<Explanation<'_>> {
        self.view().explain(key)
    }
}

fn join(prefix: &str, key: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + key.len() + 1);
    s.push_str(prefix);
    if !prefix.is_empty() && !key.is_empty() && !key.starts_with('[') {
        s.push('.');
    }
    s.push_str(key);
    s
}

/// The shared implementation of [`Snapshot`] and [`Branch`] reads.
#[derive(Clone, Copy)]
struct View<'a> {
    snap: &'a Snapshot,
    prefix: &'a str,
}

impl<'a> View<'a> {
    fn lookup(&self, key: &str) -> Result<Option<&'a Value>, GetError> {
        let root = self.snap.root();
        if let Some(node) = self.snap.index().get_joined(root, self.prefix, key) {
            return Ok(Some(node));
        }
        // not indexed: absent, malformed, not canonical (`hosts.0`) or too deep
        let mut node = root;
        for path in [self.prefix, key] {
            for seg in Segments::new(path) {
                let seg = seg.map_err(|e| GetError::InvalidPath {
                    key: join(self.prefix, key),
                    reason: e.reason,
                })?;
                match node.child(seg) {
                    Some(n) => node = n,
                    None => return Ok(None),
                }
            }
        }
        Ok(Some(node))
    }

    fn value(&self, key: &str) -> Option<&'a Value> {
        self.lookup(key).ok().flatten()
    }

    fn get_opt<T: Deserialize<'a>>(&self, key: &str) -> Result<Option<T>, GetError> {
        let Some(node) = self.lookup(key)? else {
            return Ok(None);
        };
        T::deserialize(ValueDe::new(node, Trail::Root(self.prefix, key)))
            .map(Some)
            .map_err(|e| {
                let key = e.path.unwrap_or_else(|| join(self.prefix, key));
                let origin = self.snap.nearest_origin(&key);
                GetError::Type {
                    key,
                    message: e.message,
                    origin,
                }
            })
    }

    fn get<T: Deserialize<'a>>(&self, key: &str) -> Result<T, GetError> {
        self.get_opt(key)?.ok_or_else(|| GetError::NotFound {
            key: join(self.prefix, key),
        })
    }

    fn keys_with_prefix(&self, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Ok(Some(node)) = self.lookup(prefix) {
            let full = join(self.prefix, prefix);
            let mut path = canonical_path(self.snap.root(), &full).unwrap_or(full);
            // report keys relative to the view
            let strip = canonical_path(self.snap.root(), self.prefix).map_or(0, |p| p.len());
            collect_leaves(node, &mut path, strip, &mut out);
        }
        out
    }

    fn explain(&self, key: &str) -> Option<Explanation<'a>> {
        let full = join(self.prefix, key);
        let value = self.lookup(key).ok().flatten()?;
        let canon = canonical_path(self.snap.root(), &full)?;
        let provenance = self.snap.inner.provenance.get(self.snap.root(), &canon);
        Some(Explanation {
            key: canon,
            value,
            provenance,
        })
    }
}

fn collect_leaves(v: &Value, path: &mut String, strip: usize, out: &mut Vec<String>) {
    let len = path.len();
    let rel = |p: &str| {
        p.get(strip..)
            .map_or(String::new(), |r| r.trim_start_matches('.').to_owned())
    };
    match v {
        Value::Map(m) if !m.is_empty() => {
            for (k, c) in m {
                push_segment(path, Segment::Key(k));
                collect_leaves(c, path, strip, out);
                path.truncate(len);
            }
        }
        Value::Seq(s) if !s.is_empty() => {
            for (i, c) in s.iter().enumerate() {
                push_segment(path, Segment::Index(i));
                collect_leaves(c, path, strip, out);
                path.truncate(len);
            }
        }
        _ => out.push(rel(path)),
    }
}

/// The answer to "where does this value come from?".
#[derive(Clone, Debug)]
pub struct Explanation<'a> {
    /// The canonical key path.
    pub key: String,
    /// The winning value.
    pub value: &'a Value,
    /// Its provenance (`None` only for the root).
    pub provenance: Option<Provenance>,
}

impl Explanation<'_> {
    /// Where the winning value was defined.
    pub fn origin(&self) -> Option<&Origin> {
        self.provenance.as_ref().map(|p| &p.origin)
    }
}

/// ```text
/// db.port = 5432
///   from   config/prod.yaml:3:9 (yaml)
///   over   5433 at config/base.yaml:4:9 (yaml)
/// ```
impl fmt::Display for Explanation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} = {}", self.key, self.value)?;
        if let Some(p) = &self.provenance {
            writeln!(f, "  from {}", p.origin)?;
            for o in &p.overridden {
                writeln!(f, "  over {} at {}", o.value, o.origin)?;
            }
        }
        Ok(())
    }
}
