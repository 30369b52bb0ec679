//! [`ProvenanceTree`]: the origin of every node of a configuration tree, stored in a tree shaped
//! like the values (child `i` of a node belongs to entry `i` of the map or element `i` of the
//! sequence). No path strings and no hashing per node: a position is a compact (source index,
//! line, column) triple into one shared table of sources, and the overridden lower layers are
//! kept only on the nodes where an override happened.
//!
//! Parsers build one per layer ([`crate::Layer::positions`]); the merge grafts layer subtrees
//! into the merged tree; lookups walk the value tree and this one side by side.

use crate::origin::{Origin, Overridden, Provenance};
use crate::value::{Segment, Segments, Value, push_segment};

/// Source index meaning "no origin recorded".
pub(crate) const NONE: u32 = u32::MAX;

/// Where one node was defined: an index into [`ProvenanceTree::sources`], line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pos {
    pub(crate) src: u32,
    pub(crate) line: u32,
    pub(crate) col: u32,
}

impl Default for Pos {
    fn default() -> Self {
        Pos {
            src: NONE,
            line: 0,
            col: 0,
        }
    }
}

/// The provenance of one node and, aligned with its children, of its descendants.
#[derive(Clone, Debug, PartialEq, Default)]
pub(crate) struct Node {
    pub(crate) pos: Pos,
    /// Lower definitions this one replaced, nearest first (empty unless an override happened).
    pub(crate) overridden: Vec<Overridden>,
    /// One per map entry (in map order) or sequence element.
    pub(crate) children: Vec<Node>,
}

impl Node {
    /// A node at `pos` without children (leaves; maps and sequences get theirs pushed).
    pub(crate) fn at(pos: Pos) -> Self {
        Node {
            pos,
            overridden: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Child `i`, created (without origin) if the children are short of it.
    pub(crate) fn child_mut(&mut self, i: usize) -> &mut Node {
        if self.children.len() <= i {
            self.children.resize_with(i + 1, Node::default);
        }
        &mut self.children[i]
    }
}

/// The provenance of every node of one tree. Lookups take that tree (`&Value`) along, since
/// keys live only there.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ProvenanceTree {
    /// Origins without position (source, file, variable); positions index into this.
    pub(crate) sources: Vec<Origin>,
    pub(crate) root: Node,
    /// Set by a reader that located every node with children lined up with the values, in a
    /// format without nulls (TOML): the merge then skips its checks for unlocated nodes and
    /// tombstones. Changing a layer's `tree` must reset `positions` (see `secret/load.rs`).
    pub(crate) parsed_whole: bool,
}

/// Index of the child of `v` named by `seg`, the way [`Value::child`] resolves it.
fn child_index(v: &Value, seg: Segment<'_>) -> Option<usize> {
    match (v, seg) {
        (Value::Map(m), Segment::Key(k)) => m.get_index_of(k),
        (Value::Map(m), Segment::Index(i)) => m.get_index_of(i.to_string().as_str()),
        (Value::Seq(s), Segment::Index(i)) => (i < s.len()).then_some(i),
        (Value::Seq(s), Segment::Key(k)) => k.parse::<usize>().ok().filter(|&i| i < s.len()),
        _ => None,
    }
}

fn nth_child(v: &Value, i: usize) -> Option<&Value> {
    match v {
        Value::Map(m) => m.get_index(i).map(|(_, c)| c),
        Value::Seq(s) => s.get(i),
        _ => None,
    }
}

impl ProvenanceTree {
    /// A tree with one source and no nodes located yet.
    pub(crate) fn with_source(source: Origin) -> Self {
        ProvenanceTree {
            sources: vec![source],
            root: Node::default(),
            parsed_whole: false,
        }
    }

    /// The full origin of a position.
    pub(crate) fn resolve(&self, pos: Pos) -> Option<Origin> {
        let base = self.sources.get(usize::try_from(pos.src).ok()?)?;
        let mut o = base.clone();
        o.line = pos.line;
        o.col = pos.col;
        Some(o)
    }

    /// The node at `path` of `tree` and the nodes above it, root first.
    fn walk<'a>(&'a self, tree: &Value, path: &str) -> Option<Vec<&'a Node>> {
        let (mut v, mut n) = (tree, &self.root);
        let mut trail = vec![n];
        for seg in Segments::new(path) {
            let i = child_index(v, seg.ok()?)?;
            v = nth_child(v, i)?;
            n = n.children.get(i)?;
            trail.push(n);
        }
        Some(trail)
    }

    fn find<'a>(&'a self, tree: &Value, path: &str) -> Option<&'a Node> {
        let (mut v, mut n) = (tree, &self.root);
        for seg in Segments::new(path) {
            let i = child_index(v, seg.ok()?)?;
            v = nth_child(v, i)?;
            n = n.children.get(i)?;
        }
        Some(n)
    }

    fn find_mut<'a>(&'a mut self, tree: &Value, path: &str) -> Option<&'a mut Node> {
        let (mut v, mut n) = (tree, &mut self.root);
        for seg in Segments::new(path) {
            let i = child_index(v, seg.ok()?)?;
            v = nth_child(v, i)?;
            n = n.children.get_mut(i)?;
        }
        Some(n)
    }

    /// The provenance of the node at `path` (any spelling the reads accept: `hosts[0]`,
    /// `hosts.0`) in `tree`, the tree this provenance belongs to.
    pub fn get(&self, tree: &Value, path: &str) -> Option<Provenance> {
        let n = self.find(tree, path)?;
        Some(Provenance {
            origin: self.resolve(n.pos)?,
            overridden: n.overridden.clone(),
        })
    }

    /// Where the node at `path` was defined.
    pub fn origin(&self, tree: &Value, path: &str) -> Option<Origin> {
        self.resolve(self.find(tree, path)?.pos)
    }

    /// The origin of the node at `path`, or of its nearest ancestor that has one.
    pub fn nearest_origin(&self, tree: &Value, path: &str) -> Option<Origin> {
        self.walk(tree, path)?
            .iter()
            .rev()
            .find_map(|n| self.resolve(n.pos))
    }

    /// The lower layers the node at `path` overrode, to rewrite them (secrets are redacted).
    pub fn overridden_mut(&mut self, tree: &Value, path: &str) -> Option<&mut Vec<Overridden>> {
        Some(&mut self.find_mut(tree, path)?.overridden)
    }

    /// Every located node of `tree` as (canonical path, provenance), in tree order.
    pub fn entries(&self, tree: &Value) -> Vec<(String, Provenance)> {
        let mut out = Vec::new();
        self.collect(tree, &self.root, &mut String::new(), &mut out);
        out
    }

    fn collect(&self, v: &Value, n: &Node, path: &mut String, out: &mut Vec<(String, Provenance)>) {
        if let Some(origin) = self.resolve(n.pos) {
            out.push((
                path.clone(),
                Provenance {
                    origin,
                    overridden: n.overridden.clone(),
                },
            ));
        }
        let len = path.len();
        match v {
            Value::Map(m) => {
                for ((k, c), cn) in m.iter().zip(&n.children) {
                    push_segment(path, Segment::Key(k));
                    self.collect(c, cn, path, out);
                    path.truncate(len);
                }
            }
            Value::Seq(s) => {
                for (i, (c, cn)) in s.iter().zip(&n.children).enumerate() {
                    push_segment(path, Segment::Index(i));
                    self.collect(c, cn, path, out);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }

    /// The root node, for walks parallel to the value tree.
    pub(crate) fn root(&self) -> &Node {
        &self.root
    }

    /// Builds the tree of a layer whose origins are recorded by path; nodes without an entry get
    /// no origin (the merge gives them the layer's fallback).
    pub(crate) fn from_paths(tree: &Value, origins: &mut crate::merge::Origins) -> Self {
        let mut t = ProvenanceTree::default();
        if origins.is_empty() {
            return t;
        }
        let mut root = Node::default();
        t.locate(tree, &mut root, &mut String::new(), origins);
        t.root = root;
        t
    }

    fn locate(
        &mut self,
        v: &Value,
        n: &mut Node,
        path: &mut String,
        origins: &mut crate::merge::Origins,
    ) {
        if let Some(o) = origins.remove(path.as_str()) {
            n.pos = self.intern(o);
        }
        let len = path.len();
        match v {
            Value::Map(m) => {
                n.children.reserve_exact(m.len());
                for (k, c) in m {
                    // an index patch (`APP__HOSTS__0`) is recorded as `hosts[0]`
                    let index = k
                        .parse::<usize>()
                        .ok()
                        .filter(|_| k.bytes().all(|b| b.is_ascii_digit()));
                    if let Some(i) = index {
                        push_segment(path, Segment::Index(i));
                    }
                    if index.is_none() || !origins.contains_key(path.as_str()) {
                        path.truncate(len);
                        push_segment(path, Segment::Key(k));
                    }
                    let mut cn = Node::default();
                    self.locate(c, &mut cn, path, origins);
                    n.children.push(cn);
                    path.truncate(len);
                }
            }
            Value::Seq(s) => {
                n.children.reserve_exact(s.len());
                for (i, c) in s.iter().enumerate() {
                    push_segment(path, Segment::Index(i));
                    let mut cn = Node::default();
                    self.locate(c, &mut cn, path, origins);
                    n.children.push(cn);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }

    /// The position of `o`, adding its source to the table unless it equals the last one.
    fn intern(&mut self, mut o: Origin) -> Pos {
        let (line, col) = (o.line, o.col);
        o.line = 0;
        o.col = 0;
        if self.sources.last() != Some(&o) {
            self.sources.push(o);
        }
        Pos {
            src: crate::origin::to_u32(self.sources.len() - 1),
            line,
            col,
        }
    }
}
