//! Smoke test of the builder → snapshot path.

use c5store::{C5Store, Value};

#[test]
fn memory_layers_merge() {
    let snap = C5Store::builder()
        .memory(
            "a",
            Value::from(serde_json::json!({"db": {"port": 1, "host": "h"}})),
        )
        .memory("b", Value::from(serde_json::json!({"db": {"port": 2}})))
        .load()
        .unwrap();
    assert_eq!(snap.get::<u16>("db.port").unwrap(), 2);
    assert_eq!(snap.get::<&str>("db.host").unwrap(), "h");
}
