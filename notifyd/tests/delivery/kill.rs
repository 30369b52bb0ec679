//! A dispatcher process killed with SIGKILL mid-delivery loses nothing after a restart.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use notifyd::outbox::{Enqueued, Outbox};

use crate::{Receiver, notification, until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_delivery_then_restart_delivers_everything() {
    const N: usize = 40;
    // Each answer takes 40 ms, so the kill lands while deliveries are in flight.
    let receiver = Receiver::start(|_| (200, Duration::from_millis(40))).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("outbox.db");
    let mut keys = BTreeSet::new();
    {
        let outbox = Outbox::open(&db).unwrap();
        for i in 0..N {
            let Enqueued::New(e) = outbox
                .enqueue(
                    "t",
                    &notification(&format!("Group{i}")),
                    notifyd::clock::now_ms(),
                    Duration::from_secs(3600),
                )
                .unwrap()
            else {
                panic!("duplicate")
            };
            keys.insert(e.notification.idempotency_key.clone());
        }
    }
    let drain = || {
        Command::new(env!("CARGO_BIN_EXE_notifyd"))
            .args(["outbox", "drain", "--retry-initial-ms", "50", "--db"])
            .arg(&db)
            .arg("--webhook")
            .arg(format!("t={}", receiver.url))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut child = drain();
    until("some deliveries", Duration::from_secs(20), || {
        receiver.requests().len() >= 10
    })
    .await;
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed, not finished: {status}");
    // What the killed process had recorded as delivered, and what the receiver had seen.
    let (pending, recorded): (usize, BTreeSet<String>) = {
        let outbox = Outbox::open(&db).unwrap();
        let recorded = keys
            .iter()
            .filter(|k| outbox.was_delivered("t", k).unwrap())
            .cloned()
            .collect();
        (outbox.pending().unwrap().len(), recorded)
    };
    assert!(pending > 0, "the kill happened before the end");
    let before: Vec<String> = receiver.requests().into_iter().map(|r| r.key).collect();
    let seen_before: BTreeSet<String> = before.iter().cloned().collect();
    assert_eq!(
        before.len(),
        seen_before.len(),
        "no key twice before the kill"
    );
    assert!(
        recorded.is_subset(&seen_before),
        "recorded only once received"
    );

    let child = drain();
    let status = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );

    let outbox = Outbox::open(&db).unwrap();
    assert!(outbox.pending().unwrap().is_empty());
    assert!(outbox.dead_letters().unwrap().is_empty());
    let requests = receiver.requests();
    let mut bodies: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for r in &requests {
        bodies
            .entry(r.key.clone())
            .or_default()
            .push(r.body.clone());
    }
    let received: BTreeSet<String> = bodies.keys().cloned().collect();
    assert_eq!(received, keys, "every notification delivered, nothing else");
    for (key, copies) in &bodies {
        assert!(outbox.was_delivered("t", key).unwrap());
        assert!(
            copies.iter().all(|b| b == &copies[0]),
            "a duplicate of {key} differs from the original"
        );
        assert!(copies.len() <= 2, "{key} sent {} times", copies.len());
    }
    // Only what the killed process had sent but not yet recorded is sent again; nothing it had
    // recorded as delivered is repeated.
    let after: BTreeSet<String> = requests[before.len()..]
        .iter()
        .map(|r| r.key.clone())
        .collect();
    let repeated: BTreeSet<&String> = after.intersection(&seen_before).collect();
    assert!(
        repeated.iter().all(|k| !recorded.contains(*k)),
        "a recorded delivery was repeated"
    );
    assert_eq!(requests.len() - N, repeated.len());
}
