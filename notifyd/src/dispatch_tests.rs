//! Unit tests of the dispatcher with the recording notifier (the fault tests against real servers
//! live in `tests/delivery`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use notifiers::{DeliveryError, Notifier, RecordingNotifier};

use super::*;
use crate::outbox::tests::notification;

fn fast() -> DispatchConfig {
    DispatchConfig {
        retry: RetryPolicy {
            initial: Duration::from_millis(5),
            multiplier: 2.0,
            max: Duration::from_millis(50),
            jitter: 0.2,
            deadline: Duration::from_secs(60),
        },
        poll_interval: Duration::from_millis(20),
        ..DispatchConfig::default()
    }
}

fn setup(
    config: DispatchConfig,
) -> (
    tempfile::TempDir,
    Arc<Outbox>,
    RecordingNotifier,
    Dispatcher,
) {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(Outbox::open(&dir.path().join("o.db")).unwrap());
    let rec = RecordingNotifier::new();
    let notifiers: HashMap<String, Arc<dyn Notifier>> =
        [("t".to_owned(), Arc::new(rec.clone()) as Arc<dyn Notifier>)].into();
    let d = Dispatcher::new(outbox.clone(), notifiers, config);
    (dir, outbox, rec, d)
}

async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

#[tokio::test]
async fn delivers_retries_transient_and_dead_letters_permanent() {
    let (_dir, outbox, rec, d) = setup(fast());
    rec.fail_next(DeliveryError::transient("HTTP 503"));
    rec.fail_next(DeliveryError::timeout("slow"));
    let (h, join) = d.start(std::future::pending());
    h.enqueue("t", &notification("A", &["f"], "k1")).unwrap();
    until("k1 delivered", || rec.delivered().len() == 1).await;
    until("k1 logged", || outbox.was_delivered("t", "k1").unwrap()).await;
    assert!(outbox.pending().unwrap().is_empty());

    rec.fail_next(DeliveryError::permanent("HTTP 400"));
    h.enqueue("t", &notification("B", &["f"], "k2")).unwrap();
    until("k2 dead", || outbox.dead_letters().unwrap().len() == 1).await;
    let dead = &outbox.dead_letters().unwrap()[0];
    assert_eq!((dead.reason.as_str(), dead.attempts), ("permanent", 1));
    assert_eq!(dead.error, "HTTP 400");
    assert_eq!(rec.delivered().len(), 1, "no retry after a permanent error");

    h.enqueue("nowhere", &notification("C", &["f"], "k3"))
        .unwrap();
    until("k3 dead", || outbox.dead_letters().unwrap().len() == 2).await;
    assert_eq!(outbox.dead_letters().unwrap()[1].reason, "unknown-target");
    join.abort();
}

#[tokio::test]
async fn expired_entries_are_dead_lettered() {
    let mut config = fast();
    // Long enough that a slow first commit on a loaded machine still leaves room for retries.
    config.retry.deadline = Duration::from_millis(400);
    let (_dir, outbox, rec, d) = setup(config);
    for _ in 0..1000 {
        rec.fail_next(DeliveryError::transient("down"));
    }
    let (h, join) = d.start(std::future::pending());
    h.enqueue("t", &notification("A", &["f"], "k1")).unwrap();
    until("expired", || outbox.dead_letters().unwrap().len() == 1).await;
    let dead = &outbox.dead_letters().unwrap()[0];
    assert_eq!(dead.reason, "expired");
    assert!(
        dead.attempts >= 2,
        "retried until the deadline: {}",
        dead.attempts
    );
    assert!(
        dead.failed_ms >= dead.created_ms + 400,
        "given up only at the deadline"
    );
    assert!(rec.delivered().is_empty());
    join.abort();
}

#[tokio::test]
async fn pending_entries_resume_on_start_and_stop_when_empty() {
    let mut config = fast();
    config.stop_when_empty = true;
    let (_dir, outbox, rec, d) = setup(config);
    for i in 0..20 {
        outbox
            .enqueue(
                "t",
                &notification(&format!("G{i}"), &["f"], ""),
                clock::now_ms(),
                Duration::from_secs(60),
            )
            .unwrap();
    }
    let (_h, join) = d.start(std::future::pending());
    tokio::time::timeout(Duration::from_secs(10), join)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(rec.delivered().len(), 20);
    assert!(outbox.pending().unwrap().is_empty());
}

#[tokio::test]
async fn entries_written_by_another_process_are_picked_up() {
    let (_dir, outbox, rec, d) = setup(fast());
    let (_h, join) = d.start(std::future::pending());
    // Written straight to the file, as another process would, without waking the dispatcher.
    outbox
        .enqueue(
            "t",
            &notification("A", &["f"], "other"),
            clock::now_ms(),
            Duration::from_secs(60),
        )
        .unwrap();
    until("picked up by the rescan", || rec.delivered().len() == 1).await;
    join.abort();
}

#[tokio::test]
async fn rate_limit_spaces_deliveries() {
    let mut config = fast();
    config.rate_limits.insert(
        "t".into(),
        RateLimit {
            per_second: 50.0,
            burst: 1,
        },
    );
    let (_dir, _outbox, rec, d) = setup(config);
    let (h, join) = d.start(std::future::pending());
    let start = clock::now_ms();
    for i in 0..6 {
        h.enqueue("t", &notification(&format!("G{i}"), &["f"], ""))
            .unwrap();
    }
    until("all delivered", || rec.delivered().len() == 6).await;
    // 1 immediately, then one per 20 ms.
    assert!(
        clock::now_ms() - start >= 90,
        "{} ms",
        clock::now_ms() - start
    );
    join.abort();
}

#[tokio::test]
async fn delivery_records_past_the_retention_are_pruned() {
    let mut config = fast();
    config.retention = Duration::from_millis(50);
    config.prune_interval = Duration::from_millis(20);
    let (_dir, outbox, rec, d) = setup(config);
    let (h, join) = d.start(std::future::pending());
    h.enqueue("t", &notification("A", &["f"], "k1")).unwrap();
    until("delivered", || rec.delivered().len() == 1).await;
    until("recorded", || outbox.was_delivered("t", "k1").unwrap()).await;
    let group = "{}:{alertname=\"A\"}";
    let delivered_ms = outbox.log_entry("t", group).unwrap().unwrap().delivered_ms;
    until("pruned", || !outbox.was_delivered("t", "k1").unwrap()).await;
    // The record was kept for the retention at least; the group's log went with it (as
    // Alertmanager's nflog entries expire after the retention).
    let kept = clock::now_ms() - delivered_ms.unwrap();
    assert!(kept >= 50, "pruned after {kept} ms");
    assert_eq!(outbox.log_entry("t", group).unwrap(), None);
    join.abort();
}

#[tokio::test]
async fn default_retention_keeps_delivery_records() {
    assert_eq!(
        DispatchConfig::default().retention,
        Duration::from_secs(120 * 3600)
    );
    assert_eq!(
        DispatchConfig::default().retry.deadline,
        Duration::from_secs(24 * 3600),
        "retry deadline default 24 h"
    );
}

#[tokio::test]
async fn at_the_cap_of_unrecorded_outcomes_attempts_wait_for_commits_not_forever() {
    let mut config = fast();
    config.max_unrecorded = 1;
    config.concurrency = 8;
    let (_dir, outbox, rec, d) = setup(config);
    let (h, join) = d.start(std::future::pending());
    for i in 0..30 {
        h.enqueue("t", &notification(&format!("G{i}"), &["f"], ""))
            .unwrap();
    }
    until("all delivered", || rec.delivered().len() == 30).await;
    until("all recorded", || outbox.pending().unwrap().is_empty()).await;
    join.abort();
}

#[tokio::test]
async fn a_groups_notifications_arrive_in_order_while_other_groups_go_ahead() {
    let (_dir, outbox, rec, d) = setup(fast());
    // The first attempt (group A's firing notification) fails and is retried after a backoff;
    // A's resolved notification must wait for it, group B's must not.
    rec.fail_next(DeliveryError::transient("HTTP 503"));
    let (h, join) = d.start(std::future::pending());
    let firing = notification("A", &["f"], "a-firing");
    let mut resolved = notification("A", &["f"], "a-resolved");
    resolved.status = notifiers::AlertStatus::Resolved;
    let other = notification("B", &["g"], "b-firing");
    h.enqueue_many(&[("t", &firing), ("t", &resolved), ("t", &other)])
        .unwrap();
    until("all three delivered", || rec.delivered().len() == 3).await;
    let keys: Vec<String> = rec
        .delivered()
        .into_iter()
        .map(|n| n.idempotency_key)
        .collect();
    let at = |k: &str| keys.iter().position(|x| x == k).unwrap();
    assert!(at("a-firing") < at("a-resolved"), "{keys:?}");
    assert!(
        at("b-firing") < at("a-firing"),
        "B waits for nobody: {keys:?}"
    );
    until("nothing pending", || outbox.pending().unwrap().is_empty()).await;
    join.abort();
}
