//! Scalar reads do not allocate. This is its own test binary (not a module of `tests/it`) because
//! it installs a counting global allocator, and counts must not include other tests running on
//! other threads.
// Tests may unwrap: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

use std::alloc::System;
use std::hint::black_box;

use c5store::{C5Store, Value};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn scalar_gets_do_not_allocate() {
    let snap = C5Store::builder()
        .memory(
            "m",
            Value::from(serde_json::json!({
                "db": {"host": "h", "port": 5432, "tls": true, "ratio": 0.5},
                "servers": [{"name": "s0", "port": 1}, {"name": "s1", "port": 2}]
            })),
        )
        .env_vars("APP", [("APP__DB__PORT", "6543")])
        .load()
        .unwrap();
    let db = snap.branch("db");
    let servers = snap.branch("servers");
    let check = || {
        for _ in 0..1000 {
            black_box(snap.get::<u16>(black_box("db.port")).unwrap());
            black_box(snap.get::<i64>(black_box("servers[1].port")).unwrap());
            black_box(snap.get::<&str>(black_box("servers.0.name")).unwrap());
            black_box(snap.get::<bool>(black_box("db.tls")).unwrap());
            black_box(snap.get::<f64>(black_box("db.ratio")).unwrap());
            black_box(snap.get_opt::<u16>(black_box("db.absent")).unwrap());
            black_box(snap.exists(black_box("db.host")));
            black_box(snap.value(black_box("db")));
            black_box(db.get::<&str>(black_box("host")).unwrap());
            black_box(servers.get::<&str>(black_box("[1].name")).unwrap());
            black_box(servers.get::<u16>(black_box("0.port")).unwrap());
            black_box(snap.clone().version());
        }
    };
    check(); // warm up lazily initialized state
    let region = Region::new(GLOBAL);
    check();
    let stats = region.change();
    assert_eq!(stats.allocations, 0, "{stats:?}");
    assert_eq!(snap.get::<u16>("db.port").unwrap(), 6543);

    // the counter works: a String get does allocate
    let region = Region::new(GLOBAL);
    black_box(snap.get::<String>("db.host").unwrap());
    assert!(region.change().allocations > 0);
}
