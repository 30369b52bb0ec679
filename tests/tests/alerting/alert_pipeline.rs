//! A metric alerting rule (`for`, templated labels and annotations) from a Prometheus rule file
//! through pending → firing → resolved, routed by the `team` label to a signed webhook (db) and
//! to email (web), with one alert silenced through notifyd's silence API.

use std::collections::BTreeMap;

use notifyd::config::parse_str;
use notifyd::receivers::Keys;
use notifyd::silence::{Silence, api_matchers};
use rules_engine::alert::AlertState;
use rules_engine::engine::{Engine, EngineConfig, Event};
use rules_engine::input::{Labels, Sample};
use rules_engine::rule::load_rule_file;

use crate::common::{Pipeline, T0, WAIT, expected_signature, firing_alerts, runtime, status};

const RULES: &str = r#"
groups:
  - name: disk
    interval: 15s
    rules:
      - alert: DiskFull
        expr: disk_used_ratio > 0.9
        for: 30s
        labels:
          severity: page
          owner: 'team-{{ $labels.team }}'
        annotations:
          summary: '{{ $labels.instance }} disk {{ $value | humanizePercentage }} full'
          runbook: 'https://runbooks.test/disk/{{ $labels.team }}'
"#;

const HMAC_SECRET: &str = "e2e-webhook-secret";
const STEP: i64 = 5_000;
const SCRAPE: i64 = 15_000;
/// The disks fill at T0 and are cleaned up at T0 + 105 s.
const CLEANED: i64 = T0 + 105_000;

fn config(webhook: &str, smtp_port: u16) -> String {
    format!(
        r#"
global:
  smtp_smarthost: '127.0.0.1:{smtp_port}'
  smtp_from: 'notifyd@c5.test'
  smtp_require_tls: false
route:
  receiver: fallback
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 4h
  routes:
    - matchers: ['team="db"']
      receiver: db
    - matchers: ['team="web"']
      receiver: web
receivers:
  - name: fallback
  - name: db
    webhook_configs:
      - url: '{webhook}/db'
        hmac_secret: '{HMAC_SECRET}'
  - name: web
    email_configs:
      - to: 'web@c5.test'
        send_resolved: true
"#
    )
}

fn series(instance: &str, team: &str) -> Labels {
    Labels::from_pairs([
        ("__name__", "disk_used_ratio"),
        ("instance", instance),
        ("team", team),
    ])
}

#[test]
fn metric_rule_fires_routes_and_resolves_once_per_group() {
    let rt = runtime();
    let (webhook, inbox) = crate::common::webhook_receiver(&rt);
    let smtp = c5_testkit::Smtp::start();
    let loaded = parse_str(&config(&webhook, smtp.server.port), "notifyd.yml").unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let mut pipe = Pipeline::start(&rt, loaded.config, &mut Keys::FromEnv(None));

    // A silence for db2, created through notifyd's silence API before anything fires.
    let silence = Silence {
        id: String::new(),
        matchers: api_matchers(r#"instance="db2""#).unwrap(),
        starts_at: T0,
        ends_at: T0 + 3_600_000,
        updated_at: T0,
        created_by: "e2e".into(),
        comment: "db2 under maintenance".into(),
    };
    let silence_id = pipe.policy.silences.create(silence, T0).unwrap();

    let groups = load_rule_file("disk.rules.yml", RULES).unwrap();
    let mut engine = Engine::new(groups, EngineConfig::default());
    let hosts = [("db1", "db"), ("db2", "db"), ("web1", "web")];
    let mut transitions = Vec::new();
    for now in (T0..=T0 + 240_000).step_by(STEP as usize) {
        if (now - T0) % SCRAPE == 0 {
            let value = if now < CLEANED { 0.95 } else { 0.5 };
            for (instance, team) in hosts {
                engine.observe(Event::Sample(Sample {
                    labels: series(instance, team),
                    t_ms: now,
                    value,
                }));
            }
            let tr = engine.evaluate(now);
            let firing = firing_alerts(&engine);
            pipe.step(now, &tr, firing);
            transitions.extend(tr);
        } else {
            pipe.tick(now);
        }
    }
    assert!(engine.take_diagnostics().is_empty());

    // The engine: pending at the first evaluation, firing after `for`, resolved after cleanup.
    let mut by_host: BTreeMap<String, Vec<(i64, AlertState, AlertState)>> = BTreeMap::new();
    for t in &transitions {
        let host = t.labels.get("instance").unwrap().to_owned();
        by_host
            .entry(host)
            .or_default()
            .push((t.at_ms - T0, t.from, t.to));
    }
    use AlertState::{Firing, Inactive, Pending};
    let lifecycle = vec![
        (0, Inactive, Pending),
        (30_000, Pending, Firing),
        (105_000, Firing, Inactive),
    ];
    for (host, _) in hosts {
        assert_eq!(by_host[host], lifecycle, "{host}");
    }
    let db1 = transitions
        .iter()
        .find(|t| t.labels.get("instance") == Some("db1") && t.to == Firing)
        .unwrap();
    assert_eq!(
        db1.labels.to_string(),
        r#"{alertname="DiskFull", instance="db1", owner="team-db", severity="page", team="db"}"#
    );

    // The policy: one firing and one resolved notification per group, nothing else.
    let produced: Vec<(&str, &str)> = pipe
        .produced
        .iter()
        .map(|d| (d.target.as_str(), status(&d.notification)))
        .collect();
    assert_eq!(produced.len(), 4, "{produced:?}");
    for target in ["db/webhook/0", "web/email/0"] {
        let statuses: Vec<&str> = produced
            .iter()
            .filter(|(t, _)| *t == target)
            .map(|(_, s)| *s)
            .collect();
        assert_eq!(statuses, ["firing", "resolved"], "{target}");
    }
    assert!(pipe.produced.iter().all(|d| d.template_error.is_none()));
    let db2_labels: BTreeMap<String, String> = [
        ("alertname", "DiskFull"),
        ("instance", "db2"),
        ("owner", "team-db"),
        ("severity", "page"),
        ("team", "db"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(
        pipe.policy.silences.silenced_by(&db2_labels, T0 + 60_000),
        [silence_id.as_str()]
    );

    pipe.wait_drained();
    check_webhook(&inbox.lock().unwrap(), &pipe);
    c5_testkit::wait_until(WAIT, "two emails", || smtp.messages().len() >= 2);
    check_email(&smtp.messages(), &pipe);
}

fn key_of(pipe: &Pipeline, target: &str, want: &str) -> String {
    pipe.produced
        .iter()
        .find(|d| d.target == target && status(&d.notification) == want)
        .unwrap()
        .notification
        .idempotency_key
        .clone()
}

fn check_webhook(got: &[crate::common::Received], pipe: &Pipeline) {
    assert_eq!(got.len(), 2, "one firing and one resolved request");
    #[allow(clippy::disallowed_methods)] // the signature timestamp is wall-clock time
    let now_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (req, status) in got.iter().zip(["firing", "resolved"]) {
        assert_eq!(req.path, "/hook/db", "routed by team=db");
        let body = req.json();
        assert_eq!(body["version"], "4");
        assert_eq!(body["receiver"], "db");
        assert_eq!(body["status"], status);
        assert_eq!(body["groupKey"], r#"{}/{team="db"}:{alertname="DiskFull"}"#);
        assert_eq!(
            body["groupLabels"],
            serde_json::json!({"alertname": "DiskFull"})
        );
        assert_eq!(body["externalURL"], "http://notifyd.test");
        assert_eq!(body["truncatedAlerts"], 0);
        // db2 is silenced: only db1 is in the group's notifications.
        let alerts = body["alerts"].as_array().unwrap();
        assert_eq!(alerts.len(), 1, "{body}");
        let a = &alerts[0];
        assert_eq!(a["status"], status);
        assert_eq!(
            a["labels"],
            serde_json::json!({"alertname": "DiskFull", "instance": "db1", "owner": "team-db",
                               "severity": "page", "team": "db"})
        );
        assert_eq!(
            a["annotations"],
            serde_json::json!({"runbook": "https://runbooks.test/disk/db",
                               "summary": "db1 disk 95% full"})
        );
        assert_eq!(a["startsAt"], "2025-11-24T16:00:00Z");
        let ends = if status == "resolved" {
            "2025-11-24T16:01:45Z"
        } else {
            ""
        };
        if !ends.is_empty() {
            assert_eq!(a["endsAt"], ends);
        }
        assert_eq!(body["commonAnnotations"]["summary"], "db1 disk 95% full");
        assert!(!String::from_utf8_lossy(&req.body).contains("db2"));

        assert_eq!(
            req.header("idempotency-key"),
            key_of(pipe, "db/webhook/0", status)
        );
        let ts = req.header("x-c5-timestamp");
        assert_eq!(
            req.header("x-c5-signature"),
            expected_signature(HMAC_SECRET, &ts, &req.body),
            "HMAC-SHA256 of timestamp.body with the shared secret"
        );
        assert_ne!(
            req.header("x-c5-signature"),
            expected_signature("another secret", &ts, &req.body)
        );
        assert!(
            now_unix.abs_diff(ts.parse().unwrap()) < 300,
            "fresh timestamp"
        );
        assert!(notifiers::webhook::verify_signature(
            HMAC_SECRET.as_bytes(),
            &ts,
            &req.header("x-c5-signature"),
            &req.body,
            now_unix,
            std::time::Duration::from_secs(300),
        ));
    }
}

fn check_email(got: &[String], pipe: &Pipeline) {
    assert_eq!(got.len(), 2, "one firing and one resolved email");
    // The Maildir's order is not the arrival order (names and coarse mtimes), so each email is
    // identified by its subject: exactly one of each.
    for (status, subject, section) in [
        (
            "firing",
            "Subject: [FIRING:1] DiskFull (web1 team-web page web)",
            "Alerts Firing:",
        ),
        (
            "resolved",
            "Subject: [RESOLVED] DiskFull (web1 team-web page web)",
            "Alerts Resolved:",
        ),
    ] {
        let matching: Vec<&String> = got.iter().filter(|m| m.contains(subject)).collect();
        assert_eq!(matching.len(), 1, "one email with {subject}:\n{got:#?}");
        let m = matching[0];
        assert!(m.contains("To: web@c5.test"), "{m}");
        assert!(m.contains("From: notifyd@c5.test"), "{m}");
        let key = key_of(pipe, "web/email/0", status);
        assert!(
            m.contains(&format!("Message-ID: <{key}@c5.test>")),
            "Message-ID carries {key}:\n{m}"
        );
        let other = if status == "firing" {
            "Alerts Resolved:"
        } else {
            "Alerts Firing:"
        };
        assert!(m.contains(section) && !m.contains(other), "{m}");
        assert!(m.contains(" - summary = web1 disk 95% full"), "{m}");
        assert!(m.contains(" - instance = web1"), "{m}");
        assert!(
            !m.contains("db1") && !m.contains("db2"),
            "routed by team=web:\n{m}"
        );
    }
}
