//! Grouping and timing tests: time is a parameter, so each test walks a timeline in milliseconds.

use std::time::Duration;

use super::*;

const S: Millis = 1000;
const T0: Millis = 1_700_000_000_000;

fn opts() -> RouteOpts {
    RouteOpts {
        receiver: "team".into(),
        group_wait: Duration::from_secs(30),
        group_interval: Duration::from_secs(300),
        repeat_interval: Duration::from_secs(3600),
        resolve_wait: Duration::from_secs(5),
        ..RouteOpts::default()
    }
}

fn alert(name: &str, starts: Millis, ends: Option<Millis>) -> AlertIn {
    AlertIn {
        labels: [
            ("alertname".to_string(), "Up".to_string()),
            ("instance".to_string(), name.to_string()),
        ]
        .into(),
        annotations: [("summary".to_string(), format!("{name} down"))].into(),
        starts_at: starts,
        ends_at: ends,
        generator_url: String::new(),
    }
}

fn group(send_resolved: bool) -> Group {
    Group::new(
        "{}",
        [("alertname".to_string(), "Up".to_string())].into(),
        opts(),
        vec![Integration { send_resolved }],
    )
}

/// Flushes at `now` and summarizes what was sent: `status:instance/status,...` or `-`.
fn flush(g: &mut Group, now: Millis) -> String {
    let out = g.flush(now, "http://c5", &|_| false, false);
    if out.is_empty() {
        return "-".into();
    }
    out.iter()
        .map(|o| {
            let n = &o.notification;
            let alerts: Vec<String> = n
                .alerts
                .iter()
                .map(|a| format!("{}/{:?}", a.labels["instance"], a.status).to_lowercase())
                .collect();
            format!("{:?}:{}", n.status, alerts.join(",")).to_lowercase()
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

#[test]
fn group_wait_then_group_interval_then_repeat() {
    let mut g = group(true);
    g.insert(alert("a", T0, None), T0);
    assert_eq!(g.next_flush(), Some(T0 + 30 * S));
    assert_eq!(flush(&mut g, T0 + 29 * S), "-", "not due before group_wait");
    g.insert(alert("b", T0 + 10 * S, None), T0 + 10 * S);
    assert_eq!(
        flush(&mut g, T0 + 30 * S),
        "firing:a/firing,b/firing",
        "batched by group_wait"
    );
    assert_eq!(g.next_flush(), Some(T0 + 330 * S));
    assert_eq!(
        flush(&mut g, T0 + 330 * S),
        "-",
        "nothing changed, repeat not due"
    );
    g.insert(alert("c", T0 + 400 * S, None), T0 + 400 * S);
    assert_eq!(
        g.next_flush(),
        Some(T0 + 630 * S),
        "new alert waits for group_interval"
    );
    assert_eq!(
        flush(&mut g, T0 + 630 * S),
        "firing:a/firing,b/firing,c/firing"
    );
    // Repeat after repeat_interval (checked at group_interval ticks).
    let mut t = T0 + 630 * S;
    let mut sent_at = Vec::new();
    while t < T0 + 630 * S + 7800 * S {
        t += 300 * S;
        if flush(&mut g, t) != "-" {
            sent_at.push((t - T0) / S);
        }
    }
    assert_eq!(
        sent_at,
        [4530, 8430],
        "repeats once per hour, at group_interval granularity"
    );
}

#[test]
fn old_alert_flushes_immediately() {
    let mut g = group(true);
    g.insert(alert("a", T0 - 60 * S, None), T0);
    assert_eq!(g.next_flush(), Some(T0));
    assert_eq!(flush(&mut g, T0), "firing:a/firing");
}

#[test]
fn resolved_is_sent_promptly_not_at_next_group_interval() {
    let mut g = group(true);
    g.insert(alert("a", T0, None), T0);
    g.insert(alert("b", T0, None), T0);
    assert_eq!(flush(&mut g, T0 + 30 * S), "firing:a/firing,b/firing");
    g.insert(alert("a", T0, Some(T0 + 40 * S)), T0 + 40 * S);
    assert_eq!(
        g.next_flush(),
        Some(T0 + 45 * S),
        "resolve_wait after the resolution"
    );
    assert_eq!(flush(&mut g, T0 + 45 * S), "firing:a/resolved,b/firing");
    assert_eq!(g.alerts().count(), 1, "the resolved alert left the group");
    assert_eq!(g.next_flush(), Some(T0 + 345 * S));
    g.insert(alert("b", T0, Some(T0 + 50 * S)), T0 + 50 * S);
    assert_eq!(flush(&mut g, T0 + 55 * S), "resolved:b/resolved");
    assert!(g.is_empty());
    assert_eq!(g.next_flush(), None);
}

#[test]
fn without_send_resolved_all_resolved_is_logged_but_not_sent() {
    let mut g = group(false);
    g.insert(alert("a", T0, None), T0);
    g.insert(alert("b", T0, None), T0);
    assert_eq!(flush(&mut g, T0 + 30 * S), "firing:a/firing,b/firing");
    g.insert(alert("a", T0, Some(T0 + 40 * S)), T0 + 40 * S);
    assert_eq!(
        flush(&mut g, T0 + 45 * S),
        "-",
        "b still fires and is not new: nothing to say"
    );
    g.insert(alert("b", T0, Some(T0 + 60 * S)), T0 + 60 * S);
    assert_eq!(
        flush(&mut g, T0 + 65 * S),
        "-",
        "resolved alerts are filtered for this integration"
    );
    assert!(
        g.log[0].as_ref().unwrap().firing.is_empty(),
        "but the log was cleared"
    );
}

#[test]
fn fired_and_resolved_within_group_wait_is_never_sent() {
    let mut g = group(true);
    g.insert(alert("a", T0, None), T0);
    g.insert(alert("a", T0, Some(T0 + 10 * S)), T0 + 10 * S);
    assert_eq!(
        g.next_flush(),
        Some(T0 + 30 * S),
        "not notified as firing: no early flush"
    );
    assert_eq!(flush(&mut g, T0 + 30 * S), "-");
    assert!(g.is_empty());
}

#[test]
fn suppressed_and_muted_alerts_are_not_sent() {
    let mut g = group(true);
    g.insert(alert("a", T0, None), T0);
    g.insert(alert("b", T0, None), T0);
    let out = g.flush(T0 + 30 * S, "", &|a| a.labels["instance"] == "b", false);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].notification.alerts.len(), 1, "b is silenced");
    let mut g = group(true);
    g.insert(alert("a", T0, None), T0);
    assert!(
        g.flush(T0 + 30 * S, "", &|_| false, true).is_empty(),
        "muted by time interval"
    );
    assert!(g.log[0].is_none(), "muting does not count as notifying");
}

#[test]
fn notification_fields() {
    let mut g = group(true);
    g.insert(alert("a", T0, None), T0);
    g.insert(alert("b", T0, None), T0);
    let out = g.flush(T0 + 30 * S, "http://c5", &|_| false, false);
    let n = &out[0].notification;
    assert_eq!(n.group_key, "{}:{alertname=\"Up\"}");
    assert_eq!(n.receiver, "team");
    assert_eq!(
        n.common_labels,
        [("alertname".to_string(), "Up".to_string())].into()
    );
    assert!(n.common_annotations.is_empty(), "summaries differ");
    assert_eq!(n.alerts[0].starts_at, "2023-11-14T22:13:20Z");
    assert_eq!(n.alerts[0].ends_at, "0001-01-01T00:00:00Z");
    assert!(n.idempotency_key.ends_with("-1"), "{}", n.idempotency_key);
    g.insert(alert("c", T0, None), T0 + 40 * S);
    let again = g.flush(T0 + 330 * S, "http://c5", &|_| false, false);
    let k2 = &again[0].notification.idempotency_key;
    assert!(k2.ends_with("-2"));
    assert_eq!(k2[..16], n.idempotency_key[..16], "same group part");
    assert_ne!(k2[17..33], n.idempotency_key[17..33], "different alert set");
}

#[test]
fn fingerprint_matches_prometheus() {
    // model.LabelSet{"alertname": "Up"}.Fingerprint() and the empty set in Prometheus' common/model.
    assert_eq!(
        format!("{:016x}", fingerprint(&LabelSet::new())),
        "cbf29ce484222325"
    );
    let l: LabelSet = [("a".to_string(), "b".to_string())].into();
    let by_hand = fnv_add(
        fnv_add(fnv_add(fnv_add(FNV_OFFSET, b"a"), &[0xff]), b"b"),
        &[0xff],
    );
    assert_eq!(fingerprint(&l), by_hand);
    assert_eq!(labels_string(&l), "{a=\"b\"}");
}

proptest::proptest! {
    /// Law: whatever the order of events, an alert still firing is in some notification at most
    /// one group_interval after the last event.
    #[test]
    fn every_firing_alert_is_notified_by_group_wait(events in proptest::collection::vec((0u8..4, 0i64..100, proptest::bool::ANY), 1..20)) {
        let mut g = group(true);
        let mut t = T0;
        let mut notified = BTreeSet::new();
        let mut pending: BTreeMap<u64, Millis> = BTreeMap::new();
        for (inst, dt, resolve) in events {
            t += dt * S;
            for o in g.flush(t, "", &|_| false, false) {
                for a in o.notification.alerts { notified.insert(a.fingerprint); }
            }
            let a = alert(&inst.to_string(), T0, resolve.then_some(t));
            if !resolve { pending.entry(a.fingerprint()).or_insert(t); }
            g.insert(a, t);
        }
        t += 300 * S;
        for o in g.flush(t, "", &|_| false, false) {
            for a in o.notification.alerts { notified.insert(a.fingerprint); }
        }
        for (fp, _) in pending.iter().filter(|(fp, _)| g.alerts().any(|a| a.fingerprint() == **fp)) {
            let hex = format!("{:016x}", fp);
            proptest::prop_assert!(notified.contains(&hex), "{} not notified", hex);
        }
    }
}
