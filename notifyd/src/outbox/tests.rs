//! Unit tests of the outbox store on a temporary SQLite file.

use std::collections::BTreeMap;
use std::time::Duration;

use notifiers::{Alert, AlertStatus, Notification};

use super::*;

pub(crate) fn notification(group: &str, fingerprints: &[&str], key: &str) -> Notification {
    Notification {
        receiver: "team".into(),
        status: AlertStatus::Firing,
        alerts: fingerprints
            .iter()
            .map(|fp| Alert {
                status: AlertStatus::Firing,
                labels: [("alertname".to_owned(), group.to_owned())].into(),
                annotations: BTreeMap::new(),
                starts_at: "2026-11-25T10:00:00Z".into(),
                ends_at: "0001-01-01T00:00:00Z".into(),
                generator_url: String::new(),
                fingerprint: (*fp).to_owned(),
            })
            .collect(),
        group_labels: [("alertname".to_owned(), group.to_owned())].into(),
        common_labels: BTreeMap::new(),
        common_annotations: BTreeMap::new(),
        external_url: String::new(),
        group_key: format!("{{}}:{{alertname=\"{group}\"}}"),
        truncated_alerts: 0,
        idempotency_key: key.into(),
        title: String::new(),
        text: String::new(),
        html: String::new(),
    }
}

const DAY: Duration = Duration::from_secs(86_400);

#[test]
fn enqueue_persists_across_reopen_and_dedups() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let ob = Outbox::open(&path).unwrap();
    let Enqueued::New(e) = ob
        .enqueue("t", &notification("A", &["f1"], "k1"), 1_000, DAY)
        .unwrap()
    else {
        panic!("not new")
    };
    assert_eq!(e.deadline_ms, 1_000 + 86_400_000);
    assert_eq!(e.next_attempt_ms, 1_000);
    assert_eq!(
        ob.enqueue("t", &notification("A", &["f1"], "k1"), 2_000, DAY)
            .unwrap(),
        Enqueued::Duplicate
    );
    assert!(matches!(
        ob.enqueue("other", &notification("A", &["f1"], "k1"), 2_000, DAY)
            .unwrap(),
        Enqueued::New(_)
    ));
    drop(ob);
    let ob = Outbox::open(&path).unwrap();
    let pending = ob.pending().unwrap();
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[0], *e);
    assert_eq!(ob.pending_after(pending[0].id).unwrap().len(), 1);
}

#[test]
fn delivered_leaves_the_outbox_and_blocks_re_enqueue() {
    let dir = tempfile::tempdir().unwrap();
    let ob = Outbox::open(&dir.path().join("o.db")).unwrap();
    let Enqueued::New(e) = ob
        .enqueue("t", &notification("A", &["f1"], "k1"), 1, DAY)
        .unwrap()
    else {
        panic!()
    };
    ob.mark_delivered(&e, 1, 5, "HTTP 200").unwrap();
    assert!(ob.pending().unwrap().is_empty());
    assert!(ob.was_delivered("t", "k1").unwrap());
    assert_eq!(
        ob.enqueue("t", &notification("A", &["f1"], "k1"), 9, DAY)
            .unwrap(),
        Enqueued::Duplicate,
        "a restart re-enqueueing the same notification does not re-flood"
    );
    let log = ob.log_entry("t", "{}:{alertname=\"A\"}").unwrap().unwrap();
    assert_eq!(log.sequence, 1);
    assert_eq!(log.firing, ["f1"]);
    assert_eq!(log.delivered_ms, Some(5));
    assert_eq!(ob.prune_delivered(6).unwrap(), 1);
    assert!(!ob.was_delivered("t", "k1").unwrap());
}

#[test]
fn the_log_keeps_the_last_delivery_time_and_expires_with_its_latest_record() {
    let dir = tempfile::tempdir().unwrap();
    let ob = Outbox::open(&dir.path().join("o.db")).unwrap();
    let group = "{}:{alertname=\"A\"}";
    let delivered = |ob: &Outbox| ob.log_entry("t", group).unwrap().unwrap().delivered_ms;
    let Enqueued::New(first) = ob
        .enqueue("t", &notification("A", &["f1"], "k1"), 1, DAY)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(delivered(&ob), None);
    ob.mark_delivered(&first, 1, 5, "HTTP 200").unwrap();
    assert_eq!(delivered(&ob), Some(5));
    // The next notification of the group is pending: the log still knows the first delivery.
    let Enqueued::New(second) = ob
        .enqueue("t", &notification("A", &["f1", "f2"], "k2"), 10, DAY)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(delivered(&ob), Some(5));
    ob.mark_delivered(&second, 1, 20, "HTTP 200").unwrap();
    assert_eq!(delivered(&ob), Some(20));
    // The first record pruned: the log names the second, which is kept.
    assert_eq!(ob.prune_delivered(10).unwrap(), 1);
    let log = ob.log_entry("t", group).unwrap().unwrap();
    assert_eq!((log.sequence, log.delivered_ms), (2, Some(20)));
    assert_eq!(log.firing, ["f1", "f2"]);
    // Both pruned: the log expires with its latest record, and the group starts over.
    assert_eq!(ob.prune_delivered(30).unwrap(), 1);
    assert!(!ob.was_delivered("t", "k2").unwrap());
    assert_eq!(ob.log_entry("t", group).unwrap(), None);
    let Enqueued::New(third) = ob
        .enqueue("t", &notification("A", &["f1"], ""), 40, DAY)
        .unwrap()
    else {
        panic!()
    };
    assert!(third.notification.idempotency_key.ends_with("-1"));
}

#[test]
fn prune_keeps_the_log_of_a_group_whose_latest_notification_is_pending() {
    let dir = tempfile::tempdir().unwrap();
    let ob = Outbox::open(&dir.path().join("o.db")).unwrap();
    let group = "{}:{alertname=\"A\"}";
    let Enqueued::New(first) = ob
        .enqueue("t", &notification("A", &["f1"], "k1"), 1, DAY)
        .unwrap()
    else {
        panic!()
    };
    ob.mark_delivered(&first, 1, 5, "HTTP 200").unwrap();
    ob.enqueue("t", &notification("A", &["f2"], "k2"), 10, DAY)
        .unwrap();
    assert_eq!(ob.prune_delivered(100).unwrap(), 1);
    let log = ob.log_entry("t", group).unwrap().unwrap();
    assert_eq!((log.sequence, log.idempotency_key.as_str()), (2, "k2"));
    assert_eq!(
        log.delivered_ms,
        Some(5),
        "the earlier delivery, carried at enqueue"
    );
}

#[test]
fn status_counts_pending_retrying_delivered_and_dead_per_target() {
    let dir = tempfile::tempdir().unwrap();
    let ob = Outbox::open(&dir.path().join("o.db")).unwrap();
    assert!(ob.status().unwrap().is_empty());
    let new = |target: &str, group: &str, key: &str, at: i64| match ob
        .enqueue(target, &notification(group, &["f"], key), at, DAY)
        .unwrap()
    {
        Enqueued::New(e) => e,
        Enqueued::Duplicate => panic!("{key} is new"),
    };
    let k1 = new("a", "G1", "k1", 1_000);
    let k2 = new("a", "G2", "k2", 2_000);
    new("a", "G3", "k3", 3_000);
    let k4 = new("b", "G4", "k4", 4_000);
    ob.mark_delivered(&k1, 1, 5_000, "HTTP 200").unwrap();
    ob.reschedule(k2.id, 1, 9_000, "HTTP 503").unwrap();
    ob.dead_letter(&k4, 1, 6_000, DeadReason::Permanent, "HTTP 400")
        .unwrap();
    let status = ob.status().unwrap();
    assert_eq!(
        status,
        [
            TargetStatus {
                target: "a".into(),
                pending: 2,
                retrying: 1,
                oldest_pending_ms: Some(2_000),
                delivered: 1,
                dead_letters: 0,
            },
            TargetStatus {
                target: "b".into(),
                dead_letters: 1,
                ..TargetStatus::default()
            },
        ]
    );
}

#[test]
fn reschedule_and_dead_letter() {
    let dir = tempfile::tempdir().unwrap();
    let ob = Outbox::open_with(&dir.path().join("o.db"), Durability::Normal).unwrap();
    let Enqueued::New(e) = ob
        .enqueue("t", &notification("A", &["f1"], "k1"), 1, DAY)
        .unwrap()
    else {
        panic!()
    };
    ob.reschedule(e.id, 1, 500, "HTTP 500").unwrap();
    let p = &ob.pending().unwrap()[0];
    assert_eq!((p.attempts, p.next_attempt_ms), (1, 500));
    assert_eq!(p.last_error.as_deref(), Some("HTTP 500"));
    ob.dead_letter(p, 2, 600, DeadReason::Permanent, "HTTP 400")
        .unwrap();
    assert!(ob.pending().unwrap().is_empty());
    let dead = ob.dead_letters().unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reason, "permanent");
    assert_eq!(dead[0].error, "HTTP 400");
    assert_eq!(dead[0].attempts, 2);
    assert_eq!(dead[0].notification.idempotency_key, "k1");
}

#[test]
fn missing_keys_are_filled_from_group_alert_set_and_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let ob = Outbox::open(&dir.path().join("o.db")).unwrap();
    let key = |e: Enqueued| match e {
        Enqueued::New(e) => e.notification.idempotency_key.clone(),
        Enqueued::Duplicate => panic!("duplicate"),
    };
    let k1 = key(ob
        .enqueue("t", &notification("A", &["f1"], ""), 1, DAY)
        .unwrap());
    let k2 = key(ob
        .enqueue("t", &notification("A", &["f1", "f2"], ""), 2, DAY)
        .unwrap());
    let k3 = key(ob
        .enqueue("t", &notification("B", &["f1"], ""), 3, DAY)
        .unwrap());
    assert!(
        k1.ends_with("-1") && k2.ends_with("-2") && k3.ends_with("-1"),
        "{k1} {k2} {k3}"
    );
    assert_eq!(k1[..16], k2[..16], "same group");
    assert_ne!(k1[17..33], k2[17..33], "different alert set");
    assert_ne!(k1[..16], k3[..16], "different group");
    // A generated key is read back with the stored entry (and with its dead letter).
    let stored: Vec<String> = ob
        .pending()
        .unwrap()
        .into_iter()
        .map(|e| e.notification.idempotency_key)
        .collect();
    assert_eq!(stored, [k1.clone(), k2.clone(), k3.clone()]);
    let first = ob.pending().unwrap().remove(0);
    ob.dead_letter(&first, 1, 4, DeadReason::Permanent, "HTTP 400")
        .unwrap();
    assert_eq!(
        ob.dead_letters().unwrap()[0].notification.idempotency_key,
        k1
    );
    assert_eq!(
        idempotency_key("g", &["a".into()], &[], 4)[..34],
        idempotency_key_prefix("g", &["a".into()], &[]),
        "the prefix is the key up to its sequence"
    );
    assert_eq!(
        idempotency_key("g", &["a".into()], &[], 4),
        idempotency_key("g", &["a".into()], &[], 4)
    );
}

#[test]
fn unopenable_path_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Outbox::open(&dir.path().join("missing/dir/o.db")).unwrap_err();
    assert!(err.to_string().contains("missing/dir/o.db"), "{err}");
}

#[test]
fn requeue_moves_dead_letters_back_as_fresh_entries() {
    let dir = tempfile::tempdir().unwrap();
    let ob = Outbox::open(&dir.path().join("o.db")).unwrap();
    for (i, key) in ["k1", "k2", "k3"].iter().enumerate() {
        let Enqueued::New(e) = ob
            .enqueue("t", &notification(&format!("G{i}"), &["f"], key), 1, DAY)
            .unwrap()
        else {
            panic!()
        };
        ob.dead_letter(&e, 3, 50, DeadReason::Expired, "timed out")
            .unwrap();
    }
    let dead = ob.dead_letters().unwrap();
    assert_eq!(dead.len(), 3);
    let one = ob.requeue(Some(vec![dead[1].id]), 1_000, DAY).unwrap();
    assert_eq!(one.len(), 1);
    let pending = ob.pending().unwrap();
    assert_eq!(pending.len(), 1);
    let p = &pending[0];
    assert_eq!(p.id, one[0]);
    assert_eq!(p.notification, dead[1].notification, "same key and body");
    assert_eq!((p.attempts, p.next_attempt_ms), (0, 1_000));
    assert_eq!(p.deadline_ms, 1_000 + 86_400_000, "a fresh deadline");
    assert_eq!(ob.dead_letters().unwrap().len(), 2);
    assert_eq!(ob.requeue(None, 2_000, DAY).unwrap().len(), 2);
    assert!(ob.dead_letters().unwrap().is_empty());
    assert_eq!(ob.pending().unwrap().len(), 3);
    // The requeued group still has its log: its next notification gets the next sequence.
    let log = ob.log_entry("t", "{}:{alertname=\"G1\"}").unwrap().unwrap();
    assert_eq!(log.sequence, 1);
}

#[test]
fn requeue_skips_a_key_that_is_pending_again() {
    let dir = tempfile::tempdir().unwrap();
    let ob = Outbox::open(&dir.path().join("o.db")).unwrap();
    let n = notification("A", &["f"], "k1");
    let Enqueued::New(e) = ob.enqueue("t", &n, 1, DAY).unwrap() else {
        panic!()
    };
    ob.dead_letter(&e, 1, 2, DeadReason::Permanent, "HTTP 400")
        .unwrap();
    assert!(matches!(
        ob.enqueue("t", &n, 3, DAY).unwrap(),
        Enqueued::New(_)
    ));
    assert!(ob.requeue(None, 4, DAY).unwrap().is_empty());
    assert_eq!(ob.dead_letters().unwrap().len(), 1, "kept, not lost");
    assert_eq!(ob.pending().unwrap().len(), 1);
}

/// Many writers at once: every acknowledged enqueue is on disk after a reopen, with the group
/// sequence counted exactly once per notification (the writer batches them into few commits).
#[test]
fn concurrent_enqueues_are_group_committed_and_all_durable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let ob = std::sync::Arc::new(Outbox::open(&path).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let ob = ob.clone();
            std::thread::spawn(move || {
                (0..50)
                    .map(|i| {
                        let n = notification("Same", &[&format!("f{t}-{i}")], "");
                        match ob.enqueue("t", &n, i, DAY).unwrap() {
                            Enqueued::New(e) => e.notification.idempotency_key.clone(),
                            Enqueued::Duplicate => panic!("duplicate"),
                        }
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut keys: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    drop(ob);
    let ob = Outbox::open(&path).unwrap();
    assert_eq!(ob.pending().unwrap().len(), 400);
    let mut sequences: Vec<u64> = keys
        .iter()
        .map(|k| k.rsplit('-').next().unwrap().parse().unwrap())
        .collect();
    sequences.sort_unstable();
    assert_eq!(
        sequences,
        (1..=400).collect::<Vec<_>>(),
        "each sequence once"
    );
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 400);
    let log = ob
        .log_entry("t", "{}:{alertname=\"Same\"}")
        .unwrap()
        .unwrap();
    assert_eq!(log.sequence, 400);
}

#[tokio::test]
async fn async_writes_resolve_after_commit() {
    let dir = tempfile::tempdir().unwrap();
    let ob = Outbox::open(&dir.path().join("o.db")).unwrap();
    let pending = (0..20)
        .map(|i| {
            let n = notification(&format!("G{i}"), &["f"], "");
            ob.enqueue_many_async(vec![("t".to_owned(), n)], 1, DAY)
        })
        .collect::<Vec<_>>();
    let mut ids = Vec::new();
    for p in pending {
        match p.await.unwrap().pop().unwrap() {
            Enqueued::New(e) => ids.push(e.id),
            Enqueued::Duplicate => panic!("duplicate"),
        }
    }
    assert_eq!(ob.pending().unwrap().len(), 20, "visible to the reader");
    let outcomes = ids
        .iter()
        .map(|&id| Outcome::Delivered {
            id,
            attempts: 1,
            detail: "HTTP 200".into(),
        })
        .collect();
    ob.record_async(outcomes, 10).await.unwrap();
    assert!(ob.pending().unwrap().is_empty());
    assert_eq!(ob.prune_delivered_async(11).await.unwrap(), 20);
}

/// A batch whose operations all succeed commits as one plain transaction; when one fails, only
/// that one is rolled back and the others in its batch still commit.
#[test]
fn a_failing_operation_is_rolled_back_alone_and_the_rest_of_its_batch_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let ob = Outbox::open(&path).unwrap();
    // A dead letter whose stored notification is not JSON: requeueing it fails inside SQLite
    // (json_extract), after nothing else of the batch is wrong.
    let side = Connection::open(&path).unwrap();
    side.execute(
        "INSERT INTO dead_letters (target, idempotency_key, notification, created_ms, failed_ms,
                                   attempts, reason, error)
         VALUES ('t', 'bad', '{not json', 1, 1, 1, 'permanent', 'x')",
        [],
    )
    .unwrap();
    let bad = side.last_insert_rowid();
    let (tx, rx) = std::sync::mpsc::channel::<(&str, bool)>();
    let enqueue = |group: &'static str| {
        let tx = tx.clone();
        let item = writer::Item::new("t".into(), notification(group, &["f"], ""), "o.db").unwrap();
        writer::Op::Enqueue {
            items: vec![item],
            now_ms: 1,
            deadline_ms: 2,
            reply: Box::new(move |r| {
                let new = matches!(r.as_deref(), Ok([Enqueued::New(_)]));
                tx.send((group, new)).unwrap();
            }),
        }
    };
    let requeue = {
        let tx = tx.clone();
        writer::Op::Requeue {
            ids: Some(vec![bad]),
            now_ms: 1,
            deadline_ms: 2,
            reply: Box::new(move |r| tx.send(("requeue", r.is_ok())).unwrap()),
        }
    };
    let mut conn = Connection::open(&path).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let w = writer::Writer {
        path: "o.db".into(),
    };
    w.commit_batch(&mut conn, vec![enqueue("A"), requeue, enqueue("B")]);
    drop(tx);
    let answers: Vec<(&str, bool)> = rx.iter().collect();
    assert_eq!(answers, [("A", true), ("requeue", false), ("B", true)]);
    let pending: Vec<String> = ob
        .pending()
        .unwrap()
        .into_iter()
        .map(|e| e.notification.group_key)
        .collect();
    assert_eq!(
        pending,
        ["{}:{alertname=\"A\"}", "{}:{alertname=\"B\"}"],
        "both enqueues committed"
    );
    let dead: i64 = side
        .query_row("SELECT count(*) FROM dead_letters", [], |r| r.get(0))
        .unwrap();
    assert_eq!(dead, 1, "the failed requeue left its dead letter in place");
}

/// A file written with the earlier schema (a separate `delivered` table) opens with its pending
/// entries and its delivery records intact: a delivered key still may not be enqueued again.
#[test]
fn a_file_of_the_earlier_schema_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let old = Connection::open(&path).unwrap();
    old.execute_batch(
        "CREATE TABLE outbox (
             id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL,
             idempotency_key TEXT NOT NULL, group_key TEXT NOT NULL, notification TEXT NOT NULL,
             created_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
             next_attempt_ms INTEGER NOT NULL, deadline_ms INTEGER NOT NULL, last_error TEXT,
             UNIQUE (target, idempotency_key));
         CREATE TABLE delivered (
             target TEXT NOT NULL, idempotency_key TEXT NOT NULL, delivered_ms INTEGER NOT NULL,
             attempts INTEGER NOT NULL, detail TEXT NOT NULL,
             PRIMARY KEY (target, idempotency_key)) WITHOUT ROWID;
         INSERT INTO delivered VALUES ('t', 'sent', 5, 1, 'HTTP 200 OK');",
    )
    .unwrap();
    let pending = serde_json::to_string(&notification("P", &["f"], "waiting")).unwrap();
    old.execute(
        "INSERT INTO outbox (target, idempotency_key, group_key, notification, created_ms,
                             next_attempt_ms, deadline_ms)
         VALUES ('t', 'waiting', 'g', ?1, 1, 1, 100)",
        [pending],
    )
    .unwrap();
    drop(old);
    let ob = Outbox::open(&path).unwrap();
    let keys: Vec<String> = ob
        .pending()
        .unwrap()
        .into_iter()
        .map(|e| e.notification.idempotency_key)
        .collect();
    assert_eq!(keys, ["waiting"]);
    assert!(ob.was_delivered("t", "sent").unwrap());
    assert_eq!(
        ob.enqueue("t", &notification("S", &["f"], "sent"), 10, DAY)
            .unwrap(),
        Enqueued::Duplicate
    );
    assert_eq!(ob.prune_delivered(6).unwrap(), 1);
    assert!(!ob.was_delivered("t", "sent").unwrap());
    drop(ob);
    // Opening again is a no-op.
    let ob = Outbox::open(&path).unwrap();
    assert_eq!(ob.pending().unwrap().len(), 1);
}

/// The writer's next batch: queued outcomes go first (they free the dispatcher), then the other
/// operations in arrival order, cut into slices of a few hundred notifications so a burst reaches
/// the dispatcher slice by slice.
#[test]
fn writer_batches_take_outcomes_first_then_slices_of_the_rest() {
    let enqueue = |group: &str| writer::Op::Enqueue {
        items: (0..100)
            .map(|i| {
                let n = notification(&format!("{group}{i}"), &["f"], "");
                writer::Item::new("t".into(), n, "o.db").unwrap()
            })
            .collect(),
        now_ms: 1,
        deadline_ms: 2,
        reply: Box::new(|_| {}),
    };
    let record = writer::Op::Record {
        outcomes: Vec::new(),
        now_ms: 1,
        reply: Box::new(|_| {}),
    };
    let mut queued: std::collections::VecDeque<writer::Op> =
        ["A", "B", "C", "D", "E"].map(enqueue).into_iter().collect();
    queued.push_back(record);
    let shape = |batch: &[writer::Op]| -> Vec<String> {
        batch
            .iter()
            .map(|op| match op {
                writer::Op::Enqueue { items, .. } => items[0].notification.group_key.clone(),
                writer::Op::Record { .. } => "record".to_owned(),
                _ => "other".to_owned(),
            })
            .collect()
    };
    let first = writer::take_batch(&mut queued, 256);
    assert_eq!(
        shape(&first),
        [
            "record",
            "{}:{alertname=\"A0\"}",
            "{}:{alertname=\"B0\"}",
            "{}:{alertname=\"C0\"}"
        ]
    );
    let second = writer::take_batch(&mut queued, 256);
    assert_eq!(
        shape(&second),
        ["{}:{alertname=\"D0\"}", "{}:{alertname=\"E0\"}"]
    );
    assert!(queued.is_empty());
}
