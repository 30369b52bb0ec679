//! Policy tests: routing, grouping, silences, inhibition, mute intervals and rendering together,
//! on a timeline in milliseconds.

use std::collections::BTreeMap;

use super::*;
use crate::config::parse_str;
use crate::silence::{Silence, api_matchers};

const S: Millis = 1000;
/// 2024-03-04 09:30 UTC, a Monday.
const T0: Millis = 1_709_544_600_000;

const CONFIG: &str = r#"
global: {smtp_smarthost: 'localhost:2525', smtp_from: 'c5@example.org', smtp_require_tls: false}
route:
  receiver: mail
  group_by: [alertname]
  group_wait: 10s
  group_interval: 1m
  routes:
    - matchers: [team="db"]
      receiver: hook
      group_by: [alertname, instance]
      continue: true
    - matchers: [team="night"]
      receiver: hook
      mute_time_intervals: [office]
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [alertname]
receivers:
  - name: mail
    email_configs:
      - to: 'ops@example.org'
        headers: {Subject: '{{ .Status | toUpper }} {{ .CommonLabels.alertname }}'}
  - name: hook
    webhook_configs:
      - url: 'http://127.0.0.1:9/a'
      - url: 'http://127.0.0.1:9/b'
        body_template: '{"n": {{ len .Alerts }}}'
time_intervals:
  - name: office
    time_intervals: [{weekdays: ['monday:friday'], times: [{start_time: '09:00', end_time: '17:00'}]}]
"#;

fn policy() -> Policy {
    Policy::new(parse_str(CONFIG, "t.yml").unwrap().config, "http://c5")
}

fn alert(labels: &str, ends: Option<Millis>) -> AlertIn {
    AlertIn {
        labels: labels
            .split_whitespace()
            .map(|kv| kv.split_once('=').unwrap())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        annotations: BTreeMap::new(),
        starts_at: T0,
        ends_at: ends,
        generator_url: String::new(),
    }
}

/// Summarizes deliveries as `target: title|text (n alerts)`, sorted.
fn summary(d: &[Delivery]) -> Vec<String> {
    let mut v: Vec<String> = d
        .iter()
        .map(|d| {
            let n = &d.notification;
            let body = if n.title.is_empty() {
                n.text.clone()
            } else {
                n.title.clone()
            };
            format!("{}: {} ({})", d.target, body, n.alerts.len())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn routes_groups_and_renders() {
    let mut p = policy();
    p.ingest(alert("alertname=Disk team=db instance=a", None), T0);
    p.ingest(alert("alertname=Disk team=db instance=b", None), T0);
    p.ingest(alert("alertname=Disk team=web instance=c", None), T0);
    assert_eq!(p.next_wakeup(), Some(T0 + 10 * S));
    assert!(p.tick(T0 + 9 * S).is_empty());
    assert_eq!(
        summary(&p.tick(T0 + 10 * S)),
        [
            "hook/webhook/0:  (1)",
            "hook/webhook/0:  (1)",
            "hook/webhook/1: {\"n\": 1} (1)",
            "hook/webhook/1: {\"n\": 1} (1)",
            "mail/email/0: FIRING Disk (1)",
        ],
        "db alerts: one group per instance on hook; the web alert falls through to mail"
    );
    assert_eq!(p.group_count(), 3);
}

#[test]
fn silences_and_inhibition_remove_alerts() {
    let mut p = policy();
    p.silences
        .create(
            Silence {
                id: String::new(),
                matchers: api_matchers(r#"instance="c""#).unwrap(),
                starts_at: T0,
                ends_at: T0 + 3600 * S,
                updated_at: 0,
                created_by: "me".into(),
                comment: "maintenance".into(),
            },
            T0,
        )
        .unwrap();
    p.ingest(alert("alertname=Disk team=web instance=c", None), T0);
    p.ingest(alert("alertname=Load team=web severity=warning", None), T0);
    p.ingest(
        alert("alertname=Load team=web severity=critical instance=x", None),
        T0,
    );
    p.ingest(
        alert("alertname=Disk team=web instance=d severity=warning", None),
        T0,
    );
    let out = p.tick(T0 + 10 * S);
    let labels: Vec<String> = out
        .iter()
        .flat_map(|d| {
            d.notification
                .alerts
                .iter()
                .map(|a| format!("{:?}", a.labels))
        })
        .collect();
    assert_eq!(out.len(), 2, "{labels:?}");
    assert!(
        labels.iter().all(|l| !l.contains("\"c\"")),
        "silenced: {labels:?}"
    );
    assert!(
        labels.iter().any(|l| l.contains("\"d\"")),
        "no critical Disk: not inhibited"
    );
    assert!(
        !labels
            .iter()
            .any(|l| l.contains("warning") && l.contains("Load")),
        "inhibited: {labels:?}"
    );
}

#[test]
fn mute_time_interval_holds_notifications() {
    let mut p = policy();
    p.ingest(alert("alertname=Batch team=night", None), T0);
    let out = p.tick(T0 + 10 * S);
    assert!(
        out.is_empty(),
        "the hook route is muted in office hours: {out:?}"
    );
    // At 17:00 the office interval ends; the next group_interval flush notifies.
    let evening = T0 + 7 * 3600 * S + 30 * 60 * S;
    p.ingest(alert("alertname=Batch team=night", None), evening);
    let out = p.tick(evening);
    assert_eq!(
        summary(&out),
        ["hook/webhook/0:  (1)", "hook/webhook/1: {\"n\": 1} (1)"]
    );
}

#[test]
fn resolution_is_sent_promptly_through_the_policy() {
    let mut p = policy();
    p.ingest(alert("alertname=Disk team=web instance=c", None), T0);
    assert_eq!(p.tick(T0 + 10 * S).len(), 1);
    p.ingest(
        alert("alertname=Disk team=web instance=c", Some(T0 + 20 * S)),
        T0 + 20 * S,
    );
    assert_eq!(
        p.next_wakeup(),
        Some(T0 + 25 * S),
        "resolve_wait (5s default), not group_interval"
    );
    // mail has send_resolved false (Alertmanager's email default): the log is cleared, no message.
    assert!(p.tick(T0 + 25 * S).is_empty());
    assert_eq!(p.group_count(), 0);
}

#[test]
fn template_errors_fall_back_to_defaults() {
    let cfg = CONFIG.replace(
        "'{{ .Status | toUpper }} {{ .CommonLabels.alertname }}'",
        "'{{ nosuch }}'",
    );
    let mut p = Policy::new(parse_str(&cfg, "t.yml").unwrap().config, "http://c5");
    p.ingest(alert("alertname=Disk team=web", None), T0);
    let out = p.tick(T0 + 10 * S);
    assert_eq!(
        out[0].template_error.as_deref(),
        Some("template: 1:1: function \"nosuch\" not defined")
    );
    assert_eq!(out[0].notification.title, "[FIRING:1] Disk (web)");
}

#[test]
fn receivers_map_onto_notifier_configs() {
    let c = parse_str(CONFIG, "t.yml").unwrap().config;
    let hook = c.receiver("hook").unwrap().notifier_configs().unwrap();
    let names: Vec<&str> = hook.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["hook/webhook/0", "hook/webhook/1"]);
    match &hook[1].1 {
        notifiers::NotifierConfig::Webhook(w) => {
            assert_eq!(w.url, "http://127.0.0.1:9/b");
            assert_eq!(
                w.body,
                notifiers::WebhookBody::Rendered {
                    content_type: "application/json".into()
                }
            );
        }
        other => panic!("{other:?}"),
    }
    let mail = c.receiver("mail").unwrap().notifier_configs().unwrap();
    match &mail[0].1 {
        notifiers::NotifierConfig::Email(e) => {
            assert_eq!((e.host.as_str(), e.port), ("localhost", Some(2525)));
            assert_eq!(e.security, notifiers::SmtpSecurity::PlainLoopbackOnly);
            assert_eq!(e.to, ["ops@example.org"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn alerts_without_an_end_resolve_after_the_resolve_timeout_unless_refreshed() {
    let config = r#"
global: {resolve_timeout: 2m}
route: {receiver: hook, group_by: [alertname], group_wait: 10s, group_interval: 1m}
receivers: [{name: hook, webhook_configs: [{url: 'http://127.0.0.1:9/a'}]}]
"#;
    let mut p = Policy::new(parse_str(config, "t.yml").unwrap().config, "http://c5");
    p.ingest(alert("alertname=Disk instance=a", None), T0);
    p.ingest(alert("alertname=Disk instance=b", None), T0);
    assert_eq!(summary(&p.tick(T0 + 10 * S)), ["hook/webhook/0:  (2)"]);
    // `a` is refreshed (the source still reports it), `b` is not.
    p.ingest(alert("alertname=Disk instance=a", None), T0 + 60 * S);
    assert!(p.tick(T0 + 70 * S).is_empty(), "nothing changed yet");
    let out = p.tick(T0 + 130 * S);
    assert_eq!(out.len(), 1, "b timed out at T0+120s: {out:?}");
    let alerts = &out[0].notification.alerts;
    let b = alerts.iter().find(|a| a.labels["instance"] == "b").unwrap();
    assert_eq!(b.status, notifiers::AlertStatus::Resolved);
    assert_eq!(b.ends_at, "2024-03-04T09:32:00Z", "T0 + resolve_timeout");
    let a = alerts.iter().find(|a| a.labels["instance"] == "a").unwrap();
    assert_eq!(
        a.status,
        notifiers::AlertStatus::Firing,
        "refreshed: still firing"
    );
    // Without a refresh `a` times out too, two minutes after its last refresh.
    assert!(p.tick(T0 + 170 * S).is_empty());
    let out = p.tick(T0 + 190 * S);
    assert_eq!(out[0].notification.status, notifiers::AlertStatus::Resolved);
    assert_eq!(p.group_count(), 0);
}
