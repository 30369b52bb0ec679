//! Pure merge of [`Layer`]s into one tree with per-leaf provenance. No I/O.
//!
//! # Rules
//! Layers are applied in order; a later layer wins.
//! 1. **Maps deep-merge**: keys of both sides are kept; a key present on both sides is merged by
//!    these same rules. Keys keep the order in which they were first defined.
//! 2. **Everything else is replaced** by the later layer: scalars, sequences, and any pair of
//!    different kinds (a map over a string, a string over a map, ...).
//! 3. **Sequences append** instead of replacing when the later layer opts in
//!    ([`MergeMode::append_arrays`], set per source).
//! 4. **Index patches**: a layer with [`MergeMode::index_patches`] (the env source) may hold a map
//!    whose keys are all decimal numbers where the lower tree has a sequence; each key then
//!    overrides that element (`APP__HOSTS__0=x` → `hosts[0]`), one past the end appends.
//! 5. **An explicit `null` deletes** the key it is set on. While layers are combined the null is
//!    kept as a tombstone (so the operation stays associative); [`Merger::finish`] removes map
//!    entries whose value is null. Nulls that are elements of a sequence stay.
//!
//! Laws (checked by property tests in `tests/it/merge_laws.rs`), with `·` = [`merge_values`]:
//! associativity `(a·b)·c = a·(b·c)` (replace and append modes), later-wins (every leaf of `b`
//! is in `a·b` unchanged), idempotence `a·a = a` (replace mode), and the provenance table
//! holds exactly one entry per node of the merged tree, naming a layer that set that value.
//! Associativity is stated for *kind-consistent* layers (a path that is a map in one layer is a
//! map, or absent, in the others) and any first layer. Where the kind changes — a scalar or null
//! between two maps at the same key — the meaning is "drop what was below, then set this map",
//! which holds when layers are applied in order, as [`Merger`] always does; combining the two
//! later layers first would turn it into a deep merge with the first.

use std::sync::Arc;

use crate::origin::{Origin, Overridden, Provenance};
use crate::value::{Segment, Value, push_segment};

/// Canonical key path (`db.port`, `hosts[0]`) → where that node was defined, for one layer.
pub type Origins = std::collections::HashMap<String, Origin, foldhash::fast::RandomState>;

/// Canonical key path → provenance, for a merged tree.
pub type ProvenanceMap = std::collections::HashMap<String, Provenance, foldhash::fast::RandomState>;

/// How one layer combines with the layers below it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MergeMode {
    /// Append this layer's sequences to the lower ones instead of replacing them.
    pub append_arrays: bool,
    /// Treat maps with only numeric keys over a lower sequence as per-index overrides.
    pub index_patches: bool,
}

/// What one source contributes: a tree (its root is a map) and where each node came from.
#[derive(Clone, Debug)]
pub struct Layer {
    /// The values of this layer. The root is a map.
    pub tree: Value,
    /// Canonical path → origin, for every node the source could locate.
    pub origins: Origins,
    /// Used for nodes that have no entry in `origins` (e.g. the file with no position).
    pub fallback: Origin,
    /// How this layer merges with the ones below.
    pub mode: MergeMode,
}

impl Layer {
    /// A layer whose every node has the same origin (memory, providers).
    pub fn new(tree: Value, fallback: Origin) -> Self {
        Layer {
            tree,
            origins: Origins::default(),
            fallback,
            mode: MergeMode::default(),
        }
    }
}

/// The result of merging: one tree and the provenance of every node in it.
#[derive(Clone, Debug, Default)]
pub struct Merged {
    /// The merged tree; the root is a map.
    pub tree: Value,
    /// Canonical path → provenance, for every node of `tree` (maps and sequences too).
    pub provenance: ProvenanceMap,
}

/// Incremental merge: apply layers one by one, look at the tree so far (the env source matches
/// its keys against it), then [`Merger::finish`].
#[derive(Debug)]
pub struct Merger {
    tree: Value,
    prov: ProvenanceMap,
    path: String,
}

impl Default for Merger {
    fn default() -> Self {
        Merger {
            tree: Value::empty_map(),
            prov: ProvenanceMap::default(),
            path: String::new(),
        }
    }
}

impl Merger {
    /// An empty merger (the tree is an empty map).
    pub fn new() -> Self {
        Self::default()
    }

    /// The tree merged so far (deleted keys still appear as null tombstones).
    pub fn tree(&self) -> &Value {
        &self.tree
    }

    /// Applies one layer on top of everything applied before.
    pub fn apply(&mut self, layer: Layer) {
        let Layer {
            tree,
            mut origins,
            fallback,
            mode,
        } = layer;
        if self.prov.is_empty()
            && matches!(&self.tree, Value::Map(m) if m.is_empty())
            && matches!(tree, Value::Map(_))
            && count_nodes(&tree) == origins.len()
        {
            // The first layer, located node by node (a parsed file; parsers record exactly one
            // entry per node): take its origins whole instead of one lookup per node.
            self.prov.reserve(origins.len());
            self.prov
                .extend(origins.into_iter().map(|(k, o)| (k, Provenance::new(o))));
            self.tree = tree;
            return;
        }
        self.path.clear();
        let mut cx = Cx {
            prov: &mut self.prov,
            origins: &mut origins,
            fallback,
            mode,
            path: &mut self.path,
        };
        merge_node(&mut self.tree, tree, &mut cx);
    }

    /// Removes null tombstones and returns the merged tree with its provenance.
    pub fn finish(mut self) -> Merged {
        self.path.clear();
        strip(&mut self.tree, &mut self.path, &mut Some(&mut self.prov));
        if !matches!(self.tree, Value::Map(_)) {
            self.tree = Value::empty_map();
            self.prov.clear();
        }
        Merged {
            tree: self.tree,
            provenance: self.prov,
        }
    }
}

/// Merges layers in order (later wins) into one tree with per-leaf provenance.
pub fn merge(layers: impl IntoIterator<Item = Layer>) -> Merged {
    let mut m = Merger::new();
    for l in layers {
        m.apply(l);
    }
    m.finish()
}

/// Merges `b` over `a` by the rules above, keeping null tombstones (see [`strip_nulls`]).
pub fn merge_values(mut a: Value, b: Value, mode: MergeMode) -> Value {
    let mut prov = ProvenanceMap::default();
    let mut origins = Origins::default();
    let mut path = String::new();
    let mut cx = Cx {
        prov: &mut prov,
        origins: &mut origins,
        fallback: Origin::named(Arc::from("merge")),
        mode,
        path: &mut path,
    };
    merge_node(&mut a, b, &mut cx);
    a
}

/// Removes map entries whose value is null, at every depth.
pub fn strip_nulls(v: &mut Value) {
    strip(v, &mut String::new(), &mut None);
}

struct Cx<'a> {
    prov: &'a mut ProvenanceMap,
    origins: &'a mut Origins,
    fallback: Origin,
    mode: MergeMode,
    path: &'a mut String,
}

impl Cx<'_> {
    /// Takes this layer's origin for the current path.
    fn take_origin(&mut self) -> (String, Origin) {
        match self.origins.remove_entry(self.path.as_str()) {
            Some(e) => e,
            None => (self.path.clone(), self.fallback.clone()),
        }
    }

    /// Records provenance for a node new to the tree and all its descendants.
    fn insert_fresh(&mut self, v: &Value) {
        let (k, o) = self.take_origin();
        self.prov.insert(k, Provenance::new(o));
        self.for_children(v, |cx, child| cx.insert_fresh(child));
    }

    /// Forgets the provenance of every descendant of `v` (not of `v` itself).
    fn remove_descendants(&mut self, v: &Value) {
        self.for_children(v, |cx, child| {
            cx.prov.remove(cx.path.as_str());
            cx.remove_descendants(child);
        });
    }

    fn for_children(&mut self, v: &Value, mut f: impl FnMut(&mut Self, &Value)) {
        let len = self.path.len();
        match v {
            Value::Map(m) => {
                for (k, child) in m {
                    push_segment(self.path, Segment::Key(k));
                    f(self, child);
                    self.path.truncate(len);
                }
            }
            Value::Seq(s) => {
                for (i, child) in s.iter().enumerate() {
                    push_segment(self.path, Segment::Index(i));
                    f(self, child);
                    self.path.truncate(len);
                }
            }
            _ => {}
        }
    }

    /// Moves this layer's origins of `v`'s subtree from `from` (a path prefix) to the current path.
    fn rekey(&mut self, from: &str, v: &Value) {
        let to = self.path.clone();
        let mut stack = vec![];
        collect_paths(v, &mut from.to_owned(), &mut stack);
        for p in stack {
            if let Some(o) = self.origins.remove(&p) {
                let mut np = to.clone();
                np.push_str(&p[from.len()..]);
                self.origins.insert(np, o);
            }
        }
    }
}

fn collect_paths(v: &Value, path: &mut String, out: &mut Vec<String>) {
    out.push(path.clone());
    let len = path.len();
    match v {
        Value::Map(m) => {
            for (k, c) in m {
                push_segment(path, Segment::Key(k));
                collect_paths(c, path, out);
                path.truncate(len);
            }
        }
        Value::Seq(s) => {
            for (i, c) in s.iter().enumerate() {
                push_segment(path, Segment::Index(i));
                collect_paths(c, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Number of nodes of a tree (the root included).
fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::Map(m) => m.values().map(count_nodes).sum::<usize>(),
        Value::Seq(s) => s.iter().map(count_nodes).sum::<usize>(),
        _ => 0,
    }
}

fn is_index_patch(m: &crate::value::Map) -> bool {
    !m.is_empty()
        && m.keys()
            .all(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
}

fn merge_node(dst: &mut Value, src: Value, cx: &mut Cx<'_>) {
    match (&mut *dst, src) {
        (Value::Map(a), Value::Map(b)) => {
            if !cx.prov.contains_key(cx.path.as_str()) {
                let (k, o) = cx.take_origin();
                cx.prov.insert(k, Provenance::new(o));
            }
            let len = cx.path.len();
            for (k, v) in b {
                push_segment(cx.path, Segment::Key(&k));
                match a.get_mut(&k) {
                    Some(d) => merge_node(d, v, cx),
                    None => {
                        cx.insert_fresh(&v);
                        a.insert(k, v);
                    }
                }
                cx.path.truncate(len);
            }
        }
        (Value::Seq(a), Value::Seq(b)) if cx.mode.append_arrays => {
            let len = cx.path.len();
            let base = a.len();
            for (i, v) in b.into_iter().enumerate() {
                push_segment(cx.path, Segment::Index(i));
                let from = cx.path.clone();
                cx.path.truncate(len);
                push_segment(cx.path, Segment::Index(base + i));
                cx.rekey(&from, &v);
                cx.insert_fresh(&v);
                a.push(v);
                cx.path.truncate(len);
            }
        }
        (Value::Seq(a), Value::Map(b)) if cx.mode.index_patches && is_index_patch(&b) => {
            let len = cx.path.len();
            for (k, v) in b {
                let i = k.parse::<usize>().unwrap_or(usize::MAX);
                push_segment(cx.path, Segment::Index(i.min(a.len())));
                match a.get_mut(i) {
                    Some(d) => merge_node(d, v, cx),
                    None => {
                        // the source recorded the origin under `[i]`; one past the end appends
                        cx.insert_fresh(&v);
                        a.push(v);
                    }
                }
                cx.path.truncate(len);
            }
        }
        (_, src) => {
            let old = std::mem::replace(dst, src);
            let below = cx.prov.remove(cx.path.as_str());
            cx.remove_descendants(&old);
            let (k, origin) = cx.take_origin();
            let mut overridden = Vec::new();
            if let Some(p) = below {
                overridden.reserve(1 + p.overridden.len());
                overridden.push(Overridden {
                    origin: p.origin,
                    value: old,
                });
                overridden.extend(p.overridden);
            }
            cx.prov.insert(k, Provenance { origin, overridden });
            let new: &Value = dst;
            cx.for_children(new, |cx, child| cx.insert_fresh(child));
        }
    }
}

fn strip(v: &mut Value, path: &mut String, prov: &mut Option<&mut ProvenanceMap>) {
    let len = path.len();
    match v {
        Value::Map(m) => {
            m.retain(|k, child| {
                let with_prov = prov.is_some();
                if with_prov {
                    push_segment(path, Segment::Key(k));
                }
                let keep = !child.is_null();
                if keep {
                    strip(child, path, prov);
                } else if let Some(p) = prov.as_deref_mut() {
                    p.remove(path.as_str());
                }
                path.truncate(len);
                keep
            });
        }
        Value::Seq(s) => {
            for (i, child) in s.iter_mut().enumerate() {
                if prov.is_some() {
                    push_segment(path, Segment::Index(i));
                }
                strip(child, path, prov);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(j: serde_json::Value) -> Value {
        Value::from(j)
    }

    fn layer(j: serde_json::Value, name: &str) -> Layer {
        Layer::new(v(j), Origin::named(name))
    }

    #[test]
    fn maps_deep_merge_and_later_wins() {
        let m = merge([
            layer(json!({"db": {"host": "a", "port": 1}, "x": [1, 2]}), "one"),
            layer(json!({"db": {"port": 2}, "x": [3]}), "two"),
        ]);
        assert_eq!(m.tree, v(json!({"db": {"host": "a", "port": 2}, "x": [3]})));
        let p = &m.provenance["db.port"];
        assert_eq!(&*p.origin.source, "two");
        assert_eq!(&*p.overridden[0].origin.source, "one");
        assert_eq!(p.overridden[0].value, Value::Int(1));
        assert_eq!(&*m.provenance["db.host"].origin.source, "one");
        assert_eq!(&*m.provenance["x[0]"].origin.source, "two");
        assert!(!m.provenance.contains_key("x[1]"));
    }

    #[test]
    fn null_deletes_and_forgets_provenance() {
        let m = merge([
            layer(json!({"db": {"host": "a"}, "keep": 1}), "one"),
            layer(json!({"db": null}), "two"),
        ]);
        assert_eq!(m.tree, v(json!({"keep": 1})));
        assert!(!m.provenance.contains_key("db"));
        assert!(!m.provenance.contains_key("db.host"));
    }

    #[test]
    fn append_and_index_patch() {
        let mut l2 = layer(json!({"x": [3]}), "two");
        l2.mode.append_arrays = true;
        let mut l3 = layer(json!({"x": {"0": 9, "3": 7}}), "three");
        l3.mode.index_patches = true;
        let m = merge([layer(json!({"x": [1, 2]}), "one"), l2, l3]);
        assert_eq!(m.tree, v(json!({"x": [9, 2, 3, 7]})));
        assert_eq!(&*m.provenance["x[2]"].origin.source, "two");
        assert_eq!(&*m.provenance["x[0]"].origin.source, "three");
        assert_eq!(&*m.provenance["x[1]"].origin.source, "one");
    }

    #[test]
    fn replacing_a_map_records_it_as_overridden() {
        let m = merge([
            layer(json!({"db": {"a": 1}}), "one"),
            layer(json!({"db": "s"}), "two"),
        ]);
        let p = &m.provenance["db"];
        assert_eq!(p.overridden[0].value, v(json!({"a": 1})));
        assert!(!m.provenance.contains_key("db.a"));
    }
}
