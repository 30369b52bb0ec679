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

use crate::origin::{Origin, Overridden};
use crate::prov_tree::{NONE, Node, Pos, ProvenanceTree};
use crate::value::Value;

/// Canonical key path (`db.port`, `hosts[0]`) → where that node was defined, for one layer.
pub type Origins = std::collections::HashMap<String, Origin, foldhash::fast::RandomState>;

/// How one layer combines with the layers below it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MergeMode {
    /// Append this layer's sequences to the lower ones instead of replacing them.
    pub append_arrays: bool,
    /// Treat maps with only numeric keys over a lower sequence as per-index overrides.
    pub index_patches: bool,
}

/// What one source contributes: a tree (its root is a map) and where each node came from.
///
/// Origins come in two forms: `positions`, a tree parallel to `tree` (what the TOML reader
/// builds; cheapest), or `origins` by canonical path (YAML, JSON, env). The merge uses
/// `positions` when it holds any source, else `origins`.
#[derive(Clone, Debug)]
pub struct Layer {
    /// The values of this layer. The root is a map.
    pub tree: Value,
    /// Canonical path → origin, for every node the source could locate.
    pub origins: Origins,
    /// Node-aligned origins (alternative to `origins`). Whoever changes the shape of `tree`
    /// after parsing must reset this (e.g. to path-keyed `origins`), or origins go astray.
    pub positions: ProvenanceTree,
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
            positions: ProvenanceTree::default(),
            fallback,
            mode: MergeMode::default(),
        }
    }

    /// Where the node at `path` of this layer was defined, if the source located it.
    pub fn origin_of(&self, path: &str) -> Option<Origin> {
        if self.positions.sources.is_empty() {
            self.origins.get(path).cloned()
        } else {
            self.positions.origin(&self.tree, path)
        }
    }
}

/// The result of merging: one tree and the provenance of every node in it.
#[derive(Clone, Debug, Default)]
pub struct Merged {
    /// The merged tree; the root is a map.
    pub tree: Value,
    /// The provenance of every node of `tree` (maps and sequences too), parallel to it.
    pub provenance: ProvenanceTree,
}

/// Incremental merge: apply layers one by one, look at the tree so far (the env source matches
/// its keys against it), then [`Merger::finish`].
#[derive(Debug)]
pub struct Merger {
    tree: Value,
    prov: ProvenanceTree,
    /// Whether a layer may have brought null tombstones (TOML layers cannot).
    nulls: bool,
}

impl Default for Merger {
    fn default() -> Self {
        Merger {
            tree: Value::empty_map(),
            prov: ProvenanceTree::default(),
            nulls: false,
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
            positions,
            fallback,
            mode,
        } = layer;
        let positions = if positions.sources.is_empty() {
            ProvenanceTree::from_paths(&tree, &mut origins)
        } else {
            positions
        };
        let ProvenanceTree {
            sources,
            root,
            parsed_whole,
        } = positions;
        self.nulls |= !parsed_whole;
        // this layer's sources follow the ones merged so far; its fallback comes last
        let off = crate::origin::to_u32(self.prov.sources.len());
        self.prov.sources.extend(sources);
        let fallback_src = crate::origin::to_u32(self.prov.sources.len());
        self.prov.sources.push(fallback);
        let mut cx = Cx {
            sources: &self.prov.sources,
            off,
            fallback: fallback_src,
            mode,
        };
        if matches!(&self.tree, Value::Map(m) if m.is_empty())
            && self.prov.root.pos.src == NONE
            && matches!(tree, Value::Map(_))
        {
            // the first layer: taken whole, only its source numbers shift
            let mut root = root;
            if off != 0 || (!parsed_whole && has_unlocated(&root, &tree)) {
                cx.graft(&mut root, &tree);
            }
            self.tree = tree;
            self.prov.root = root;
            return;
        }
        merge_node(&mut self.tree, &mut self.prov.root, tree, root, &mut cx);
    }

    /// Removes null tombstones and returns the merged tree with its provenance.
    pub fn finish(mut self) -> Merged {
        if self.nulls {
            strip_with(&mut self.tree, &mut self.prov.root);
        }
        if !matches!(self.tree, Value::Map(_)) {
            self.tree = Value::empty_map();
            self.prov = ProvenanceTree::default();
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
    let sources = [Origin::named(Arc::from("merge"))];
    let mut cx = Cx {
        sources: &sources,
        off: 0,
        fallback: 0,
        mode,
    };
    merge_node(&mut a, &mut Node::default(), b, Node::default(), &mut cx);
    a
}

/// Removes map entries whose value is null, at every depth.
pub fn strip_nulls(v: &mut Value) {
    match v {
        Value::Map(m) => {
            m.retain(|_, c| !c.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Seq(s) => s.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

struct Cx<'a> {
    /// The merged source table (this layer's entries included), to name overridden origins.
    sources: &'a [Origin],
    /// Added to this layer's source numbers.
    off: u32,
    /// Source number of this layer's fallback origin.
    fallback: u32,
    mode: MergeMode,
}

impl Cx<'_> {
    fn shift(&self, pos: &mut Pos) {
        if pos.src == NONE {
            *pos = Pos {
                src: self.fallback,
                line: 0,
                col: 0,
            };
        } else {
            pos.src = pos.src.saturating_add(self.off);
        }
    }

    /// Renumbers a layer subtree into the merged table; unlocated nodes get the fallback.
    /// Makes the children line up with `v` (missing ones are created).
    fn graft(&self, n: &mut Node, v: &Value) {
        self.shift(&mut n.pos);
        let len = match v {
            Value::Map(m) => m.len(),
            Value::Seq(s) => s.len(),
            _ => {
                n.children.clear();
                return;
            }
        };
        n.children.resize_with(len, Node::default);
        match v {
            Value::Map(m) => {
                for (c, cn) in m.values().zip(&mut n.children) {
                    self.graft(cn, c);
                }
            }
            Value::Seq(s) => {
                for (c, cn) in s.iter().zip(&mut n.children) {
                    self.graft(cn, c);
                }
            }
            _ => {}
        }
    }

    fn resolve(&self, pos: Pos) -> Option<Origin> {
        let base = self.sources.get(usize::try_from(pos.src).ok()?)?;
        let mut o = base.clone();
        o.line = pos.line;
        o.col = pos.col;
        Some(o)
    }
}

/// Whether any node lacks an origin or the children do not line up with the values.
fn has_unlocated(n: &Node, v: &Value) -> bool {
    if n.pos.src == NONE {
        return true;
    }
    match v {
        Value::Map(m) => {
            m.len() != n.children.len()
                || m.values()
                    .zip(&n.children)
                    .any(|(c, cn)| has_unlocated(cn, c))
        }
        Value::Seq(s) => {
            s.len() != n.children.len()
                || s.iter()
                    .zip(&n.children)
                    .any(|(c, cn)| has_unlocated(cn, c))
        }
        _ => false,
    }
}

fn is_index_patch(m: &crate::value::Map) -> bool {
    !m.is_empty()
        && m.keys()
            .all(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
}

fn merge_node(dst: &mut Value, dn: &mut Node, src: Value, sn: Node, cx: &mut Cx<'_>) {
    match (&mut *dst, src) {
        (Value::Map(a), Value::Map(b)) => {
            if dn.pos.src == NONE {
                dn.pos = sn.pos;
                cx.shift(&mut dn.pos);
            }
            let mut schildren = sn.children.into_iter();
            for (k, v) in b {
                let sc = schildren.next().unwrap_or_default();
                match a.get_index_of(&k) {
                    Some(i) => {
                        if let Some((_, d)) = a.get_index_mut(i) {
                            merge_node(d, dn.child_mut(i), v, sc, cx);
                        }
                    }
                    None => {
                        let i = a.len();
                        let slot = dn.child_mut(i);
                        *slot = sc;
                        cx.graft(slot, &v);
                        a.insert(k, v);
                    }
                }
            }
        }
        (Value::Seq(a), Value::Seq(b)) if cx.mode.append_arrays => {
            let mut schildren = sn.children.into_iter();
            for v in b {
                let i = a.len();
                let slot = dn.child_mut(i);
                *slot = schildren.next().unwrap_or_default();
                cx.graft(slot, &v);
                a.push(v);
            }
        }
        (Value::Seq(a), Value::Map(b)) if cx.mode.index_patches && is_index_patch(&b) => {
            let mut schildren = sn.children.into_iter();
            for (k, v) in b {
                let sc = schildren.next().unwrap_or_default();
                let i = k.parse::<usize>().unwrap_or(usize::MAX);
                match a.get_mut(i) {
                    Some(d) => merge_node(d, dn.child_mut(i), v, sc, cx),
                    None => {
                        // one past the end (or further) appends
                        let i = a.len();
                        let slot = dn.child_mut(i);
                        *slot = sc;
                        cx.graft(slot, &v);
                        a.push(v);
                    }
                }
            }
        }
        (_, src) => {
            let old = std::mem::replace(dst, src);
            let mut new = sn;
            cx.graft(&mut new, dst);
            let below = std::mem::replace(dn, new);
            if let Some(origin) = cx.resolve(below.pos) {
                let mut overridden = Vec::with_capacity(1 + below.overridden.len());
                overridden.push(Overridden { origin, value: old });
                overridden.extend(below.overridden);
                dn.overridden = overridden;
            }
        }
    }
}

/// Removes null map entries (tombstones) from the tree and their nodes from the provenance.
fn strip_with(v: &mut Value, n: &mut Node) {
    match v {
        Value::Map(m) => {
            if n.children.len() != m.len() {
                n.children.resize_with(m.len(), Node::default);
            }
            if m.values().any(Value::is_null) {
                let keep: Vec<bool> = m.values().map(|c| !c.is_null()).collect();
                let mut it = keep.iter();
                m.retain(|_, _| it.next().copied().unwrap_or(true));
                let mut it = keep.iter();
                n.children.retain(|_| it.next().copied().unwrap_or(true));
            }
            for (c, cn) in m.values_mut().zip(&mut n.children) {
                strip_with(c, cn);
            }
        }
        Value::Seq(s) => {
            if n.children.len() != s.len() {
                n.children.resize_with(s.len(), Node::default);
            }
            for (c, cn) in s.iter_mut().zip(&mut n.children) {
                strip_with(c, cn);
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
        let p = &m.provenance.get(&m.tree, "db.port").unwrap();
        assert_eq!(&*p.origin.source, "two");
        assert_eq!(&*p.overridden[0].origin.source, "one");
        assert_eq!(p.overridden[0].value, Value::Int(1));
        assert_eq!(
            &*m.provenance.get(&m.tree, "db.host").unwrap().origin.source,
            "one"
        );
        assert_eq!(
            &*m.provenance.get(&m.tree, "x[0]").unwrap().origin.source,
            "two"
        );
        assert!(m.provenance.get(&m.tree, "x[1]").is_none());
    }

    #[test]
    fn null_deletes_and_forgets_provenance() {
        let m = merge([
            layer(json!({"db": {"host": "a"}, "keep": 1}), "one"),
            layer(json!({"db": null}), "two"),
        ]);
        assert_eq!(m.tree, v(json!({"keep": 1})));
        assert!(m.provenance.get(&m.tree, "db").is_none());
        assert!(m.provenance.get(&m.tree, "db.host").is_none());
    }

    #[test]
    fn append_and_index_patch() {
        let mut l2 = layer(json!({"x": [3]}), "two");
        l2.mode.append_arrays = true;
        let mut l3 = layer(json!({"x": {"0": 9, "3": 7}}), "three");
        l3.mode.index_patches = true;
        let m = merge([layer(json!({"x": [1, 2]}), "one"), l2, l3]);
        assert_eq!(m.tree, v(json!({"x": [9, 2, 3, 7]})));
        assert_eq!(
            &*m.provenance.get(&m.tree, "x[2]").unwrap().origin.source,
            "two"
        );
        assert_eq!(
            &*m.provenance.get(&m.tree, "x[0]").unwrap().origin.source,
            "three"
        );
        assert_eq!(
            &*m.provenance.get(&m.tree, "x[1]").unwrap().origin.source,
            "one"
        );
    }

    #[test]
    fn replacing_a_map_records_it_as_overridden() {
        let m = merge([
            layer(json!({"db": {"a": 1}}), "one"),
            layer(json!({"db": "s"}), "two"),
        ]);
        let p = &m.provenance.get(&m.tree, "db").unwrap();
        assert_eq!(p.overridden[0].value, v(json!({"a": 1})));
        assert!(m.provenance.get(&m.tree, "db.a").is_none());
    }
}
