//! End to end through real parts: Alertmanager YAML → policy (route, group, render) → durable
//! outbox → dispatcher → the webhook notifier → an HTTP server in this test. Policy time is a
//! parameter; delivery is real.
#![allow(clippy::unwrap_used)] // helpers in a test binary: a failed unwrap is a failed test

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use notifiers::Notifier;
use notifyd::config::parse_str;
use notifyd::dispatch::{DispatchConfig, Dispatcher};
use notifyd::group::AlertIn;
use notifyd::outbox::Outbox;
use notifyd::policy::Policy;

type Seen = Arc<Mutex<Vec<(HeaderMap, serde_json::Value)>>>;

async fn serve() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |State(s): State<Seen>, h: HeaderMap, body: Bytes| async move {
                    s.lock()
                        .unwrap()
                        .push((h, serde_json::from_slice(&body).unwrap()));
                    "ok"
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), seen)
}

fn alert(instance: &str, starts: i64, ends: Option<i64>) -> AlertIn {
    AlertIn {
        labels: [
            ("alertname", "DiskFull"),
            ("instance", instance),
            ("team", "db"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        annotations: [("summary".to_string(), format!("disk full on {instance}"))].into(),
        starts_at: starts,
        ends_at: ends,
        generator_url: "http://prom/graph".into(),
    }
}

async fn until(what: &str, cond: impl Fn() -> bool) {
    tokio::time::timeout(Duration::from_secs(20), async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_a_real_webhook_through_the_outbox() {
    let (url, seen) = serve().await;
    let yaml = format!(
        "route:\n  receiver: default\n  routes:\n    - matchers: [team=\"db\"]\n      receiver: db\n      group_by: [alertname]\n      group_wait: 5s\n\
         receivers:\n  - name: default\n  - name: db\n    webhook_configs:\n      - url: '{url}'\n        hmac_secret: s3cret\n"
    );
    let config = parse_str(&yaml, "e2e.yml").unwrap().config;
    let notifiers: HashMap<String, Arc<dyn Notifier>> = config
        .receiver("db")
        .unwrap()
        .notifier_configs()
        .unwrap()
        .into_iter()
        .map(|(name, c)| (name, c.build().unwrap()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(Outbox::open(&dir.path().join("outbox.db")).unwrap());
    let (handle, _join) = Dispatcher::new(outbox.clone(), notifiers, DispatchConfig::default())
        .start(std::future::pending());

    let t0 = 1_764_000_000_000;
    let mut policy = Policy::new(config, "http://notifyd.test");
    policy.ingest(alert("db1", t0, None), t0);
    policy.ingest(alert("db2", t0, None), t0 + 1000);
    assert!(policy.tick(t0 + 4000).is_empty(), "group_wait not over");
    let out = policy.tick(t0 + 5000);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].target, "db/webhook/0");
    for d in &out {
        handle.enqueue(&d.target, &d.notification).unwrap();
    }
    until("the firing notification", || {
        seen.lock().unwrap().len() == 1
    })
    .await;
    {
        let got = seen.lock().unwrap();
        let (headers, body) = &got[0];
        assert_eq!(body["receiver"], "db");
        assert_eq!(body["status"], "firing");
        assert_eq!(
            body["groupKey"],
            "{}/{team=\"db\"}:{alertname=\"DiskFull\"}"
        );
        assert_eq!(
            body["groupLabels"],
            serde_json::json!({"alertname": "DiskFull"})
        );
        assert_eq!(body["commonLabels"]["team"], "db");
        assert_eq!(body["alerts"].as_array().unwrap().len(), 2);
        assert_eq!(body["alerts"][0]["labels"]["instance"], "db1");
        assert_eq!(body["alerts"][0]["startsAt"], "2025-11-24T16:00:00Z");
        assert_eq!(
            headers["idempotency-key"].to_str().unwrap(),
            out[0].notification.idempotency_key
        );
        assert!(
            headers["x-c5-signature"]
                .to_str()
                .unwrap()
                .starts_with("sha256=")
        );
    }

    // db1 resolves: the resolution goes out resolve_wait (5s) later, not a group_interval later.
    policy.ingest(alert("db1", t0, Some(t0 + 60_000)), t0 + 60_000);
    assert_eq!(policy.next_wakeup(), Some(t0 + 65_000));
    let out = policy.tick(t0 + 65_000);
    assert_eq!(out.len(), 1);
    handle
        .enqueue(&out[0].target, &out[0].notification)
        .unwrap();
    until("the resolution", || seen.lock().unwrap().len() == 2).await;
    let got = seen.lock().unwrap();
    let statuses: BTreeMap<String, String> = got[1].1["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["labels"]["instance"].as_str().unwrap().to_string(),
                a["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("db1".to_string(), "resolved".to_string()),
            ("db2".to_string(), "firing".to_string())
        ]
        .into()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_config_renders_and_reaches_a_real_smtp_server() {
    let smtp = tokio::task::spawn_blocking(c5_testkit::Smtp::start)
        .await
        .unwrap();
    let port = smtp.server.port;
    let yaml = [
        "global:".to_string(),
        format!("  smtp_smarthost: '127.0.0.1:{port}'"),
        "  smtp_from: 'notifyd@c5.test'".into(),
        "  smtp_require_tls: false".into(),
        "route: {receiver: ops, group_by: [alertname], group_wait: 0s}".into(),
        "receivers:".into(),
        "  - name: ops".into(),
        "    email_configs:".into(),
        "      - to: 'ops@c5.test'".into(),
        "        headers:".into(),
        "          Subject: '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} on {{ len .Alerts }} hosts'".into(),
    ]
    .join("\n");
    let config = parse_str(&yaml, "e2e.yml").unwrap().config;
    let notifiers: HashMap<String, Arc<dyn Notifier>> = config
        .receiver("ops")
        .unwrap()
        .notifier_configs()
        .unwrap()
        .into_iter()
        .map(|(name, c)| (name, c.build().unwrap()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(Outbox::open(&dir.path().join("outbox.db")).unwrap());
    let (handle, _join) =
        Dispatcher::new(outbox, notifiers, DispatchConfig::default()).start(std::future::pending());
    let t0 = 1_764_000_000_000;
    let mut policy = Policy::new(config, "http://notifyd.test");
    policy.ingest(alert("db1", t0, None), t0);
    policy.ingest(alert("db2", t0, None), t0);
    let out = policy.tick(t0);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].target, "ops/email/0");
    handle
        .enqueue(&out[0].target, &out[0].notification)
        .unwrap();
    until("the email", || smtp.messages().len() == 1).await;
    let m = &smtp.messages()[0];
    assert!(m.contains("Subject: [FIRING] DiskFull on 2 hosts"), "{m}");
    assert!(m.contains("To: ops@c5.test"), "{m}");
    // The default text body (Alertmanager's email.default.text shape) lists both alerts.
    assert!(
        m.contains("instance = db1") && m.contains("instance = db2"),
        "{m}"
    );
}

/// A daemon restart (fresh policy, reopened outbox, new dispatcher) with the same alerts still
/// firing: the notification log comes back from the outbox file, so nothing is sent twice, and the
/// group's next notification continues the idempotency sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_neither_refloods_nor_restarts_the_sequence() {
    use notifyd::policy_outbox::{enqueue_all, restore_logs};
    let (url, seen) = serve().await;
    let yaml = format!(
        "route: {{receiver: db, group_by: [alertname], group_wait: 0s, group_interval: 1m}}\n\
         receivers: [{{name: db, webhook_configs: [{{url: '{url}'}}]}}]\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("outbox.db");
    let start = || {
        let config = parse_str(&yaml, "e2e.yml").unwrap().config;
        let notifiers: HashMap<String, Arc<dyn Notifier>> = config
            .receiver("db")
            .unwrap()
            .notifier_configs()
            .unwrap()
            .into_iter()
            .map(|(name, c)| (name, c.build().unwrap()))
            .collect();
        let outbox = Arc::new(Outbox::open(&db).unwrap());
        let (_, join) = Dispatcher::new(outbox.clone(), notifiers, DispatchConfig::default())
            .start(std::future::pending());
        (Policy::new(config, "http://notifyd.test"), outbox, join)
    };
    let key = |i: usize| {
        let got = seen.lock().unwrap();
        got[i].0["idempotency-key"].to_str().unwrap().to_owned()
    };
    let t0 = 1_764_000_000_000;
    let day = Duration::from_secs(86_400);

    let (mut policy, outbox, join) = start();
    policy.ingest(alert("db1", t0, None), t0);
    assert_eq!(restore_logs(&mut policy, &outbox).unwrap(), 0);
    let out = policy.tick(t0);
    assert_eq!(enqueue_all(&outbox, &out, t0, day).unwrap(), 1);
    until("delivered before the restart", || {
        seen.lock().unwrap().len() == 1
    })
    .await;
    let first = key(0);
    assert!(first.ends_with("-1"), "{first}");
    until("recorded", || {
        outbox.was_delivered("db/webhook/0", &first).unwrap()
    })
    .await;
    join.abort();
    let _ = join.await;
    drop((policy, outbox));

    // Restart: the source re-sends the firing alert, as Prometheus does every evaluation.
    let (mut policy, outbox, join) = start();
    policy.ingest(alert("db1", t0, None), t0 + 30_000);
    assert_eq!(restore_logs(&mut policy, &outbox).unwrap(), 1);
    assert!(policy.tick(t0 + 30_000).is_empty(), "no re-flood");
    assert!(
        policy.tick(t0 + 90_000).is_empty(),
        "nothing new at the next interval"
    );
    // A new alert joins the group: notified, with the next sequence number.
    policy.ingest(alert("db2", t0 + 100_000, None), t0 + 100_000);
    let out = policy.tick(t0 + 150_000);
    assert_eq!(out.len(), 1);
    assert_eq!(enqueue_all(&outbox, &out, t0 + 150_000, day).unwrap(), 1);
    until("the new alert", || seen.lock().unwrap().len() == 2).await;
    let second = key(1);
    assert_eq!(second, out[0].notification.idempotency_key);
    assert!(second.ends_with("-2"), "{second}");
    assert_eq!(
        first.split('-').next(),
        second.split('-').next(),
        "same group"
    );
    join.abort();
}
