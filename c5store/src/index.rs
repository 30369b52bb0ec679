//! The flat path index of a snapshot: canonical dot path → the node's position in the tree, so a
//! `get("db.port")` is one hash lookup and a few array steps instead of a hash lookup per path
//! segment. Built once per snapshot on the first read ([`std::sync::OnceLock`]); reads stay
//! lock-free and allocation-free.
//!
//! Only paths that the segment walk ([`crate::value::Value::get_path`]) resolves to the same node
//! are indexed: nodes below a key that is empty or holds `.`, `[` or `]` are left out, as are
//! nodes deeper than [`MAX_DEPTH`]. Anything not found here falls back to the walk, which
//! therefore stays the definition of what a path means.

use std::collections::HashMap;
use std::hash::BuildHasher;

use crate::value::{Segment, Value, push_segment};

/// Deepest node the index holds (root = depth 0).
pub(crate) const MAX_DEPTH: usize = 7;

/// Longest `prefix.key` that a branch read joins on the stack to look up; longer keys walk.
const JOIN_BUF: usize = 192;

/// Where one node sits: the child position at each level from the root (map entry index or
/// sequence index).
#[derive(Clone, Copy, Debug)]
struct Route {
    depth: u8,
    steps: [u32; MAX_DEPTH],
}

/// Hash of the canonical path → route, for every indexable node of one tree.
///
/// Keys are 64-bit hashes, not strings: building allocates nothing per node. A hit is checked
/// by spelling the route's path against the asked one while following it (a few `memcmp`s),
/// so a hash collision can only send a read to the walk, never to the wrong node.
#[derive(Debug, Default)]
pub(crate) struct PathIndex {
    hasher: foldhash::fast::RandomState,
    routes: HashMap<u64, Route, foldhash::fast::RandomState>,
}

impl PathIndex {
    /// Indexes every node of `root` that the walk reaches by its canonical path.
    pub(crate) fn build(root: &Value) -> Self {
        let mut ix = PathIndex {
            hasher: foldhash::fast::RandomState::default(),
            routes: HashMap::with_capacity_and_hasher(count(root, 0), Default::default()),
        };
        let mut route = Route {
            depth: 0,
            steps: [0; MAX_DEPTH],
        };
        ix.add(root, &mut String::new(), &mut route);
        ix
    }

    fn add(&mut self, v: &Value, path: &mut String, route: &mut Route) {
        // on a collision the first path keeps the slot; the other one walks
        let h = self.hasher.hash_one(path.as_bytes());
        self.routes.entry(h).or_insert(*route);
        let depth = usize::from(route.depth);
        if depth >= MAX_DEPTH {
            return;
        }
        let len = path.len();
        route.depth += 1;
        match v {
            Value::Map(m) => {
                for (i, (k, child)) in m.iter().enumerate() {
                    // one look at the compact string's inline/heap tag, not one per use
                    let k = k.as_str();
                    if !walkable_key(k) {
                        continue;
                    }
                    let Ok(i) = u32::try_from(i) else { break };
                    route.steps[depth] = i;
                    push_segment(path, Segment::Key(k));
                    self.add(child, path, route);
                    path.truncate(len);
                }
            }
            Value::Seq(s) => {
                for (i, child) in s.iter().enumerate() {
                    let Ok(i) = u32::try_from(i) else { break };
                    route.steps[depth] = i;
                    push_segment(path, Segment::Index(i as usize));
                    self.add(child, path, route);
                    path.truncate(len);
                }
            }
            _ => {}
        }
        route.depth -= 1;
    }

    /// The node at canonical `path`, if indexed.
    pub(crate) fn get<'a>(&self, root: &'a Value, path: &str) -> Option<&'a Value> {
        let route = self.routes.get(&self.hasher.hash_one(path.as_bytes()))?;
        let mut node = root;
        let mut rest = path;
        for (n, &i) in route
            .steps
            .get(..usize::from(route.depth))?
            .iter()
            .enumerate()
        {
            let i = i as usize;
            node = match node {
                Value::Map(m) => {
                    let (k, child) = m.get_index(i)?;
                    if n > 0 {
                        rest = rest.strip_prefix('.')?;
                    }
                    rest = rest.strip_prefix(k.as_str())?;
                    child
                }
                Value::Seq(s) => {
                    let inner = rest.strip_prefix('[')?;
                    let close = inner.find(']')?;
                    if inner[..close].parse::<usize>().ok()? != i {
                        return None;
                    }
                    rest = &inner[close + 1..];
                    s.get(i)?
                }
                _ => return None,
            };
        }
        rest.is_empty().then_some(node)
    }
    /// The node at `prefix` joined with `key` the way branch keys join (`db` + `port` →
    /// `db.port`, `hosts` + `[0]` → `hosts[0]`), without allocating. `None` when not indexed.
    pub(crate) fn get_joined<'a>(
        &self,
        root: &'a Value,
        prefix: &str,
        key: &str,
    ) -> Option<&'a Value> {
        if prefix.is_empty() {
            return self.get(root, key);
        }
        if key.is_empty() {
            return self.get(root, prefix);
        }
        let dot = usize::from(!key.starts_with('['));
        let len = prefix.len() + dot + key.len();
        let mut buf = [0u8; JOIN_BUF];
        let out = buf.get_mut(..len)?;
        let (head, tail) = out.split_at_mut(prefix.len());
        head.copy_from_slice(prefix.as_bytes());
        if dot == 1 {
            *tail.first_mut()? = b'.';
        }
        tail.get_mut(dot..)?.copy_from_slice(key.as_bytes());
        // both halves are UTF-8 and the joint is ASCII
        let joined = std::str::from_utf8(out).ok()?;
        self.get(root, joined)
    }
}

/// Whether the walk can address a map key as one segment.
fn walkable_key(k: &str) -> bool {
    !k.is_empty() && !k.bytes().any(|b| matches!(b, b'.' | b'[' | b']'))
}

/// Nodes the index will hold (for the initial capacity).
fn count(v: &Value, depth: usize) -> usize {
    1 + if depth >= MAX_DEPTH {
        0
    } else {
        match v {
            Value::Map(m) => m.values().map(|c| count(c, depth + 1)).sum(),
            Value::Seq(s) => s.iter().map(|c| count(c, depth + 1)).sum(),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_paths_resolve_like_the_walk() {
        let v = Value::from(serde_json::json!({
            "db": {"port": 1, "hosts": ["a", {"x": 2}]},
            "a.b": 3, "": 4, "m": {"0": 5}
        }));
        let ix = PathIndex::build(&v);
        for p in [
            "db",
            "db.port",
            "db.hosts",
            "db.hosts[0]",
            "db.hosts[1].x",
            "m.0",
            "",
        ] {
            assert_eq!(ix.get(&v, p), v.get_path(p), "{p}");
            assert!(ix.get(&v, p).is_some(), "{p}");
        }
        // keys the walk cannot address are not indexed
        assert!(ix.get(&v, "a.b").is_none());
        assert_eq!(v.get_path("a.b"), None);
        assert_eq!(ix.get_joined(&v, "db", "port"), Some(&Value::Int(1)));
        assert_eq!(ix.get_joined(&v, "db.hosts", "[1].x"), Some(&Value::Int(2)));
        assert_eq!(ix.get_joined(&v, "db", ""), v.get_path("db"));
        assert!(ix.get_joined(&v, &"x".repeat(JOIN_BUF), "y").is_none());
    }

    #[test]
    fn a_hash_collision_falls_through_instead_of_reading_the_wrong_node() {
        let v = Value::from(serde_json::json!({"db": {"port": 1, "hosts": ["a"]}}));
        let mut ix = PathIndex::build(&v);
        // pretend "db.pork" and "db.hosts[1]" collide with the routes of real nodes
        for (fake, real) in [("db.pork", "db.port"), ("db.hosts[1]", "db.hosts[0]")] {
            let route = ix.routes[&ix.hasher.hash_one(real.as_bytes())];
            ix.routes.insert(ix.hasher.hash_one(fake.as_bytes()), route);
            assert!(ix.get(&v, fake).is_none(), "{fake}");
            assert!(ix.get(&v, real).is_some(), "{real}");
        }
    }
}
