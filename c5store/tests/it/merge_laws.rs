//! Property tests of the merge rules: associativity, later-wins, idempotence, null deletion,
//! and provenance that always matches the merged tree.

use c5store::merge::{merge_values, strip_nulls};
use c5store::value::{Segment, push_segment};
use c5store::{Layer, Map, MergeMode, Origin, Value, merge};
use proptest::prelude::*;

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => Just(Value::Null),
        3 => any::<bool>().prop_map(Value::Bool),
        5 => (-3i64..4).prop_map(Value::Int),
        5 => "[a-c]{0,2}".prop_map(Value::from),
    ]
}

fn non_null_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        (-3i64..4).prop_map(Value::Int),
        "[a-c]{0,2}".prop_map(Value::from),
    ]
}

fn tree() -> impl Strategy<Value = Value> {
    tree_of(leaf().boxed())
}

fn tree_of(leaf: BoxedStrategy<Value>) -> impl Strategy<Value = Value> {
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Seq),
            prop::collection::vec(("[a-d]", inner), 0..4).prop_map(|kv| Value::Map(
                kv.into_iter().map(|(k, v)| (k.into(), v)).collect::<Map>()
            )),
        ]
    })
}

fn root() -> impl Strategy<Value = Value> {
    prop::collection::vec(("[a-d]", tree()), 0..4)
        .prop_map(|kv| Value::Map(kv.into_iter().map(|(k, v)| (k.into(), v)).collect::<Map>()))
}

/// Kind-consistent roots: keys `m`/`n` always hold maps, `s` always a sequence, `x`..`z` scalars
/// or null. On such layers deep merge is associative; where kinds change between layers
/// (a scalar or null between two maps) the order of application matters (`kind_changes_are_sequential`).
fn plain_root() -> impl Strategy<Value = Value> {
    fn map(depth: u32) -> BoxedStrategy<Value> {
        let scalar = ("[x-z]", leaf()).boxed();
        let seq = (
            Just("s".to_owned()),
            prop::collection::vec(non_null_leaf(), 0..3).prop_map(Value::Seq),
        )
            .boxed();
        let entry = if depth == 0 {
            prop_oneof![scalar, seq].boxed()
        } else {
            prop_oneof![scalar, seq, ("[mn]", map(depth - 1))].boxed()
        };
        prop::collection::vec(entry, 0..4)
            .prop_map(|kv| Value::Map(kv.into_iter().map(|(k, v)| (k.into(), v)).collect::<Map>()))
            .boxed()
    }
    map(2)
}

/// Every (path, value) of a tree, nodes included.
fn nodes(v: &Value, path: &mut String, out: &mut Vec<(String, Value)>) {
    out.push((path.clone(), v.clone()));
    let len = path.len();
    match v {
        Value::Map(m) => {
            for (k, c) in m {
                push_segment(path, Segment::Key(k));
                nodes(c, path, out);
                path.truncate(len);
            }
        }
        Value::Seq(s) => {
            for (i, c) in s.iter().enumerate() {
                push_segment(path, Segment::Index(i));
                nodes(c, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn all_nodes(v: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    nodes(v, &mut String::new(), &mut out);
    out
}

const REPLACE: MergeMode = MergeMode {
    append_arrays: false,
    index_patches: false,
};
const APPEND: MergeMode = MergeMode {
    append_arrays: true,
    index_patches: false,
};

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn associative(a in plain_root(), b in plain_root(), c in plain_root()) {
        let left = merge_values(merge_values(a.clone(), b.clone(), REPLACE), c.clone(), REPLACE);
        let right = merge_values(a, merge_values(b, c, REPLACE), REPLACE);
        prop_assert_eq!(left, right);
    }

    #[test]
    fn associative_when_appending(a in plain_root(), b in plain_root(), c in plain_root()) {
        let left = merge_values(merge_values(a.clone(), b.clone(), APPEND), c.clone(), APPEND);
        let right = merge_values(a, merge_values(b, c, APPEND), APPEND);
        prop_assert_eq!(left, right);
    }

    #[test]
    fn idempotent(a in root()) {
        prop_assert_eq!(merge_values(a.clone(), a.clone(), REPLACE), a);
    }

    #[test]
    fn later_wins(a in root(), b in root()) {
        let m = merge_values(a, b.clone(), REPLACE);
        for (path, v) in all_nodes(&b) {
            if v.is_leaf() {
                prop_assert_eq!(m.get_path(&path), Some(&v), "at {}", path);
            }
        }
    }

    #[test]
    fn maps_keep_keys_of_both_sides(a in root(), b in root()) {
        let m = merge_values(a.clone(), b.clone(), REPLACE);
        let (Value::Map(am), Value::Map(bm), Value::Map(mm)) = (&a, &b, &m) else { unreachable!() };
        for k in am.keys().chain(bm.keys()) {
            prop_assert!(mm.contains_key(k));
        }
        // keys first defined in `a` keep their place ahead of keys new in `b`
        let order: Vec<&c5store::Key> = mm.keys().collect();
        let expect: Vec<&c5store::Key> = am.keys().chain(bm.keys().filter(|k| !am.contains_key(*k))).collect();
        prop_assert_eq!(order, expect);
    }

    #[test]
    fn associative_when_the_first_layer_is_arbitrary(a in root(), b in plain_root(), c in plain_root()) {
        let left = merge_values(merge_values(a.clone(), b.clone(), REPLACE), c.clone(), REPLACE);
        let right = merge_values(a, merge_values(b, c, REPLACE), REPLACE);
        prop_assert_eq!(left, right);
    }

    #[test]
    fn null_deletes_after_finish(a in root(), key in "[a-d]") {
        let b = Value::Map([(key.as_str().into(), Value::Null)].into_iter().collect::<Map>());
        let merged = merge([Layer::new(a, Origin::named("a")), Layer::new(b, Origin::named("b"))]);
        prop_assert!(merged.tree.get_path(&key).is_none());
        for (_, v) in all_nodes(&merged.tree) {
            if let Value::Map(m) = v {
                prop_assert!(m.values().all(|c| !c.is_null()), "no null map entries after finish");
            }
        }
    }

    #[test]
    fn provenance_matches_the_tree(layers in prop::collection::vec(root(), 1..4)) {
        let named: Vec<Layer> = layers
            .iter()
            .enumerate()
            .map(|(i, t)| Layer::new(t.clone(), Origin::named(format!("L{i}"))))
            .collect();
        let merged = merge(named);
        let mut expect = layers[0].clone();
        for l in &layers[1..] {
            expect = merge_values(expect, l.clone(), REPLACE);
        }
        strip_nulls(&mut expect);
        prop_assert_eq!(&merged.tree, &expect);
        let mut paths: Vec<String> = all_nodes(&merged.tree).into_iter().map(|(p, _)| p).collect();
        let entries: std::collections::HashMap<String, c5store::Provenance> =
            merged.provenance.entries(&merged.tree).into_iter().collect();
        let mut prov: Vec<String> = entries.keys().cloned().collect();
        paths.sort();
        prov.sort();
        prop_assert_eq!(&paths, &prov, "one provenance entry per node, no stale ones");
        for (path, v) in all_nodes(&merged.tree) {
            if !v.is_leaf() || path.is_empty() {
                continue;
            }
            let p = &entries[&path];
            let i: usize = p.origin.source[1..].parse().unwrap();
            prop_assert_eq!(layers[i].get_path(&path), Some(&v), "winner of {} is L{}", path, i);
            for o in &p.overridden {
                let j: usize = o.origin.source[1..].parse().unwrap();
                prop_assert!(j < i, "overridden layers are lower");
            }
        }
    }
}

/// A null (or scalar) followed by a map at the same key means "drop what was below, then set this
/// map": applied in order that is what happens; pre-combining the two later layers first would
/// lose the drop, which is why layers are always applied in order (`Merger`) and associativity is
/// stated for kind-consistent layers.
#[test]
fn kind_changes_are_sequential() {
    let v = |j| Value::from(j);
    let (a, b, c) = (
        v(serde_json::json!({"k": {"old": 1}})),
        v(serde_json::json!({"k": null})),
        v(serde_json::json!({"k": {"new": 2}})),
    );
    let merged = merge([
        Layer::new(a.clone(), Origin::named("a")),
        Layer::new(b.clone(), Origin::named("b")),
        Layer::new(c.clone(), Origin::named("c")),
    ]);
    assert_eq!(merged.tree, v(serde_json::json!({"k": {"new": 2}})));
    let mut pre = merge_values(a, merge_values(b, c, REPLACE), REPLACE);
    strip_nulls(&mut pre);
    assert_eq!(
        pre,
        v(serde_json::json!({"k": {"old": 1, "new": 2}})),
        "documented limit"
    );
}
