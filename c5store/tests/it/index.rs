//! Reads through the flat path index give exactly what the segment walk gives: for every node of
//! random trees (keys with dots, brackets and digits included), for odd spellings of paths
//! (`hosts.0`, `m[0]`), and for branch views whose prefix and key are joined for the lookup.

use c5store::{C5Store, Map, Snapshot, Value};
use proptest::prelude::*;

fn tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        (-3i64..4).prop_map(Value::Int),
        "[a-c]{0,2}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 40, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Seq),
            prop::collection::vec(("[ab0-2.\\[\\]]{0,2}", inner), 0..4).prop_map(|kv| Value::Map(
                kv.into_iter().map(|(k, v)| (k.into(), v)).collect::<Map>()
            )),
        ]
    })
}

fn root() -> impl Strategy<Value = Value> {
    prop::collection::vec(("[ab0-2.]{0,2}", tree()), 0..4)
        .prop_map(|kv| Value::Map(kv.into_iter().map(|(k, v)| (k.into(), v)).collect::<Map>()))
}

fn load(v: Value) -> Snapshot {
    C5Store::builder().memory("m", v).load().unwrap()
}

/// Path strings to try: every leaf path, each of its prefixes, and random ones.
fn candidates(snap: &Snapshot, extra: &[String]) -> Vec<String> {
    let mut out: Vec<String> = extra.to_vec();
    for k in snap.keys_with_prefix("") {
        for (i, c) in k.char_indices() {
            if c == '.' || c == '[' {
                out.push(k[..i].to_owned());
            }
        }
        out.push(k.replace('[', ".").replace(']', ""));
        out.push(k);
    }
    out.push(String::new());
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn index_reads_equal_walk_reads(
        v in root(),
        extra in prop::collection::vec("[ab0-2.\\[\\]]{0,6}", 0..6),
    ) {
        let snap = load(v);
        let paths = candidates(&snap, &extra);
        for p in &paths {
            // `get_path` is the walk; `value` goes through the index first
            prop_assert_eq!(snap.value(p), snap.root().get_path(p), "path {:?}", p);
        }
        for prefix in &paths {
            let b = snap.branch(prefix);
            for key in &paths {
                let walked = snap.root().get_path(prefix).and_then(|n| n.get_path(key));
                let walked = if prefix.is_empty() || key.is_empty() || key.starts_with('[') {
                    walked
                } else {
                    walked.filter(|_| !key.starts_with('.'))
                };
                prop_assert_eq!(b.value(key), walked, "prefix {:?} key {:?}", prefix, key);
            }
        }
    }
}

#[test]
fn branch_gets_join_prefix_and_key() {
    let snap = load(Value::from(serde_json::json!({
        "db": {"port": 5432, "hosts": ["a", "b"]},
        "servers": [{"name": "s0"}, {"name": "s1"}]
    })));
    assert_eq!(snap.branch("db").get::<u16>("port").unwrap(), 5432);
    assert_eq!(snap.branch("db").get::<&str>("hosts[1]").unwrap(), "b");
    assert_eq!(snap.branch("db.hosts").get::<&str>("[0]").unwrap(), "a");
    assert_eq!(snap.branch("db.hosts").get::<&str>("1").unwrap(), "b");
    assert_eq!(snap.branch("servers[1]").get::<&str>("name").unwrap(), "s1");
    assert_eq!(
        snap.branch("servers")
            .branch("[0]")
            .get::<&str>("name")
            .unwrap(),
        "s0"
    );
    assert!(snap.branch("db").get::<u16>("nope").is_err());
    let long = "x".repeat(300);
    assert!(snap.branch(&long).value("y").is_none());
}
