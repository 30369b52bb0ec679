//! The outbox's write path alone, for profiling (callgrind, `perf`) and for its disk traffic:
//! enqueue `N` one-alert notifications in calls of 100 (as the delivery bench does), then record
//! each delivered in batches of 32 (as the dispatcher does), and print the CPU time and the
//! bytes written to disk per notification.
//!
//! Run: `cargo run --release -p notifyd --example outbox_loop -- [N] [full|normal]`
#![allow(clippy::unwrap_used, clippy::print_stdout)] // a measuring tool: prints, fails loudly
#![allow(clippy::disallowed_methods)] // it measures with the real clock

use std::time::{Duration, Instant};

use notifyd::outbox::{Durability, Enqueued, Outbox, Outcome};

#[path = "../benches/common/mod.rs"]
mod common;
use common::notification;

/// `(user + system CPU, bytes written to storage)` of this process so far.
fn usage() -> (Duration, u64) {
    let io = std::fs::read_to_string("/proc/self/io").unwrap();
    let written = io
        .lines()
        .find_map(|l| l.strip_prefix("write_bytes: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (common::cpu_time("/proc/self/stat"), written)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let durability = match args.next().as_deref() {
        Some("normal") => Durability::Normal,
        _ => Durability::Full,
    };
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open_with(&dir.path().join("o.db"), durability).unwrap();
    let items: Vec<_> = (0..n).map(|i| notification(&format!("loop-{i}"))).collect();
    let (cpu0, io0) = usage();
    let start = Instant::now();
    let mut ids = Vec::with_capacity(n);
    for chunk in items.chunks(100) {
        let refs: Vec<_> = chunk.iter().map(|n| ("t", n)).collect();
        for e in outbox
            .enqueue_many(&refs, 1_000, Duration::from_secs(86_400))
            .unwrap()
        {
            if let Enqueued::New(entry) = e {
                ids.push(entry.id);
            }
        }
    }
    let enqueued = start.elapsed();
    let (cpu1, io1) = usage();
    for chunk in ids.chunks(32) {
        let outcomes = chunk
            .iter()
            .map(|&id| Outcome::Delivered {
                id,
                attempts: 1,
                detail: "HTTP 200 OK".into(),
            })
            .collect();
        outbox.record(outcomes, 2_000).unwrap();
    }
    let (cpu2, io2) = usage();
    let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
    println!(
        "{n} notifications ({durability:?}): enqueue {:.1} µs CPU and {} B written each \
         ({:.0} ms wall); record {:.1} µs CPU and {} B written each ({:.0} ms wall)",
        per(cpu1 - cpu0),
        (io1 - io0) / n as u64,
        enqueued.as_secs_f64() * 1e3,
        per(cpu2 - cpu1),
        (io2 - io1) / n as u64,
        (start.elapsed() - enqueued).as_secs_f64() * 1e3
    );
}
