//! Typed access: dot paths and indexes, borrowed strings, struct extraction, exists,
//! keys_with_prefix, branches, and cheap clones.

use c5store::{C5Store, Snapshot, Value};
use serde_json::json;

fn snap() -> Snapshot {
    C5Store::builder()
        .memory(
            "m",
            Value::from(json!({
                "db": {"host": "h", "port": 5432, "ratio": 0.5, "tls": true, "opt": null},
                "hosts": ["a", "b"],
                "servers": [{"name": "s0", "port": 1}, {"name": "s1", "port": 2}],
                "mode": "fast",
                "shape": {"circle": {"r": 2}},
                "empty": {}
            })),
        )
        .load()
        .unwrap()
}

#[test]
fn paths_indexes_and_types() {
    let s = snap();
    assert_eq!(s.get::<u16>("db.port").unwrap(), 5432);
    assert_eq!(s.get::<i64>("servers[1].port").unwrap(), 2);
    assert_eq!(s.get::<&str>("servers.0.name").unwrap(), "s0");
    assert_eq!(s.get::<String>("hosts[1]").unwrap(), "b");
    assert_eq!(s.get::<f32>("db.ratio").unwrap(), 0.5);
    assert_eq!(
        s.get::<f64>("db.port").unwrap(),
        5432.0,
        "integers widen to floats"
    );
    assert!(s.get::<bool>("db.tls").unwrap());
    assert_eq!(s.get_opt::<u16>("db.nope").unwrap(), None);
    assert!(
        !s.exists("db.opt"),
        "null removes a key even in the only layer"
    );
    assert!(s.get::<u8>("db.port").is_err(), "range checked");
    let all: serde_json::Value = s.get_into("").unwrap();
    assert_eq!(all["db"]["host"], "h");
}

#[test]
fn struct_and_enum_extraction() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Server {
        name: String,
        port: u16,
        #[serde(default)]
        weight: Option<u8>,
    }
    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Fast,
        Slow,
    }
    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Shape {
        Circle { r: u32 },
    }
    let s = snap();
    let servers: Vec<Server> = s.get_into("servers").unwrap();
    assert_eq!(
        servers[1],
        Server {
            name: "s1".into(),
            port: 2,
            weight: None
        }
    );
    assert_eq!(s.get::<Mode>("mode").unwrap(), Mode::Fast);
    assert_eq!(s.get::<Shape>("shape").unwrap(), Shape::Circle { r: 2 });
}

#[test]
fn keys_with_prefix_lists_leaves_in_order() {
    let s = snap();
    assert_eq!(
        s.keys_with_prefix("db"),
        ["db.host", "db.port", "db.ratio", "db.tls"]
    );
    assert_eq!(
        s.keys_with_prefix("servers[1]"),
        ["servers[1].name", "servers[1].port"]
    );
    assert_eq!(s.keys_with_prefix("hosts"), ["hosts[0]", "hosts[1]"]);
    assert!(s.keys_with_prefix("nope").is_empty());
    assert_eq!(s.keys_with_prefix("").len(), 13);
    assert!(s.keys_with_prefix("").contains(&"empty".to_owned()));
}

#[test]
fn branches_use_relative_paths() {
    let s = snap();
    let db = s.branch("db");
    assert_eq!(db.get::<u16>("port").unwrap(), 5432);
    assert!(db.exists("host") && !db.exists("db"));
    assert_eq!(db.keys_with_prefix(""), ["host", "port", "ratio", "tls"]);
    let srv = s.branch("servers").branch("[1]");
    assert_eq!(srv.get::<&str>("name").unwrap(), "s1");
    assert_eq!(srv.prefix(), "servers[1]");
    let e = db.get::<bool>("host").unwrap_err().to_string();
    assert!(e.starts_with("db.host: invalid type"), "{e}");
    assert_eq!(db.explain("port").unwrap().key, "db.port");
}

#[test]
fn snapshots_are_cheap_shared_and_send() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Snapshot>();
    assert_send_sync::<c5store::Branch>();
    let s = snap();
    let t = s.clone();
    assert!(std::ptr::eq(s.root(), t.root()), "a clone shares the tree");
    let h = std::thread::spawn(move || t.get::<u16>("db.port").unwrap());
    assert_eq!(h.join().unwrap(), 5432);
}

#[test]
fn reload_builds_the_next_version_and_leaves_the_current_alone() {
    let d = crate::support::dir_with(&[("a.yaml", "x: 1\n")]);
    let pipeline = C5Store::builder()
        .file(crate::support::at(&d, "a.yaml"))
        .build();
    let v1 = pipeline.load().unwrap();
    std::fs::write(crate::support::at(&d, "a.yaml"), "x: 2\n").unwrap();
    let v2 = pipeline.reload(&v1).unwrap();
    assert_eq!((v1.version(), v1.get::<i64>("x").unwrap()), (1, 1));
    assert_eq!((v2.version(), v2.get::<i64>("x").unwrap()), (2, 2));
    std::fs::write(crate::support::at(&d, "a.yaml"), "x: [\n").unwrap();
    assert!(pipeline.reload(&v2).is_err());
    assert_eq!(pipeline.watch_paths(), [crate::support::at(&d, "a.yaml")]);
}

#[test]
fn transforms_and_validators_run_between_merge_and_snapshot() {
    let s = C5Store::builder()
        .memory("m", Value::from(json!({"a": "x"})))
        .transform(|m: &mut c5store::Merged| {
            if let Value::Map(root) = &mut m.tree {
                root.insert("added".into(), Value::Int(1));
            }
            Ok(())
        })
        .load()
        .unwrap();
    assert_eq!(s.get::<i64>("added").unwrap(), 1);
    let e = C5Store::builder()
        .memory("m", Value::from(json!({"port": 0})))
        .validate(|s| match s.get::<u16>("port") {
            Ok(0) => Err(vec![c5store::LoadError::Invalid {
                key: "port".into(),
                origin: s.explain("port").and_then(|e| e.origin().cloned()),
                message: "must not be 0".into(),
            }]),
            _ => Ok(()),
        })
        .load()
        .unwrap_err();
    assert_eq!(e.to_string(), "port: must not be 0 (at memory:m)");
}
