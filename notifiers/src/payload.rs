//! Alertmanager's webhook payload (version "4") and the default text a notifier falls back to.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{Alert, AlertStatus, Notification};

/// The JSON body Alertmanager POSTs to webhook receivers, field for field (version "4").
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPayload<'a> {
    /// Receiver name.
    pub receiver: &'a str,
    /// `firing` or `resolved`.
    pub status: AlertStatus,
    /// The alerts, possibly truncated.
    pub alerts: Vec<PayloadAlert<'a>>,
    /// Labels the group was formed by.
    pub group_labels: &'a BTreeMap<String, String>,
    /// Labels shared by every alert.
    pub common_labels: &'a BTreeMap<String, String>,
    /// Annotations shared by every alert.
    pub common_annotations: &'a BTreeMap<String, String>,
    /// Link back to the sender.
    #[serde(rename = "externalURL")]
    pub external_url: &'a str,
    /// Always `"4"`.
    pub version: &'static str,
    /// The group key.
    pub group_key: &'a str,
    /// How many alerts were left out.
    pub truncated_alerts: u64,
}

/// One alert in the webhook payload.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PayloadAlert<'a> {
    /// `firing` or `resolved`.
    pub status: AlertStatus,
    /// Labels.
    pub labels: &'a BTreeMap<String, String>,
    /// Annotations.
    pub annotations: &'a BTreeMap<String, String>,
    /// RFC 3339 start.
    pub starts_at: &'a str,
    /// RFC 3339 end (`0001-01-01T00:00:00Z` while firing).
    pub ends_at: &'a str,
    /// Link to the expression.
    #[serde(rename = "generatorURL")]
    pub generator_url: &'a str,
    /// Label hash.
    pub fingerprint: &'a str,
}

impl<'a> WebhookPayload<'a> {
    /// Builds the payload, keeping at most `max_alerts` alerts (0 = all) like Alertmanager's
    /// `max_alerts`; the number dropped is added to `truncatedAlerts`.
    pub fn new(n: &'a Notification, max_alerts: usize) -> Self {
        let keep = if max_alerts == 0 {
            n.alerts.len()
        } else {
            max_alerts.min(n.alerts.len())
        };
        let dropped = (n.alerts.len() - keep) as u64;
        Self {
            receiver: &n.receiver,
            status: n.status,
            alerts: n.alerts[..keep].iter().map(PayloadAlert::new).collect(),
            group_labels: &n.group_labels,
            common_labels: &n.common_labels,
            common_annotations: &n.common_annotations,
            external_url: &n.external_url,
            version: "4",
            group_key: &n.group_key,
            truncated_alerts: n.truncated_alerts + dropped,
        }
    }
}

impl<'a> PayloadAlert<'a> {
    fn new(a: &'a Alert) -> Self {
        Self {
            status: a.status,
            labels: &a.labels,
            annotations: &a.annotations,
            starts_at: &a.starts_at,
            ends_at: &a.ends_at,
            generator_url: &a.generator_url,
            fingerprint: &a.fingerprint,
        }
    }
}

fn firing_count(n: &Notification) -> usize {
    n.alerts
        .iter()
        .filter(|a| a.status == AlertStatus::Firing)
        .count()
}

/// The title when none was rendered, shaped like Alertmanager's default email subject:
/// `[FIRING:2] HighLatency api` / `[RESOLVED] HighLatency api`.
pub fn default_title(n: &Notification) -> String {
    let status = match n.status {
        AlertStatus::Firing => format!("FIRING:{}", firing_count(n)),
        AlertStatus::Resolved => "RESOLVED".to_owned(),
    };
    let values: Vec<&str> = n.group_labels.values().map(String::as_str).collect();
    if values.is_empty() {
        format!("[{status}] {}", n.receiver)
    } else {
        format!("[{status}] {}", values.join(" "))
    }
}

/// The plain-text body when none was rendered: one block per alert with its labels and annotations.
pub fn default_text(n: &Notification) -> String {
    let mut out = String::new();
    for (title, status) in [
        ("Firing", AlertStatus::Firing),
        ("Resolved", AlertStatus::Resolved),
    ] {
        let alerts: Vec<&Alert> = n.alerts.iter().filter(|a| a.status == status).collect();
        if alerts.is_empty() {
            continue;
        }
        out.push_str(&format!("{title} alerts ({}):\n", alerts.len()));
        for a in alerts {
            out.push_str("\nLabels:\n");
            for (k, v) in &a.labels {
                out.push_str(&format!("  {k} = {v}\n"));
            }
            if !a.annotations.is_empty() {
                out.push_str("Annotations:\n");
                for (k, v) in &a.annotations {
                    out.push_str(&format!("  {k} = {v}\n"));
                }
            }
            out.push_str(&format!("Started: {}\n", a.starts_at));
            if status == AlertStatus::Resolved {
                out.push_str(&format!("Ended: {}\n", a.ends_at));
            }
            if !a.generator_url.is_empty() {
                out.push_str(&format!("Source: {}\n", a.generator_url));
            }
        }
        out.push('\n');
    }
    if n.truncated_alerts > 0 {
        out.push_str(&format!("({} more alerts not shown)\n", n.truncated_alerts));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A two-alert notification used across the crate's tests.
    pub(crate) fn sample() -> Notification {
        let alert = |instance: &str, status| Alert {
            status,
            labels: [("alertname", "HighLatency"), ("instance", instance)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            annotations: [("summary".to_owned(), format!("{instance} is slow"))].into(),
            starts_at: "2026-11-25T10:00:00Z".into(),
            ends_at: "0001-01-01T00:00:00Z".into(),
            generator_url: "http://c5.example/graph".into(),
            fingerprint: format!("fp-{instance}"),
        };
        Notification {
            receiver: "team-a".into(),
            status: AlertStatus::Firing,
            alerts: vec![
                alert("a:1", AlertStatus::Firing),
                alert("b:1", AlertStatus::Resolved),
            ],
            group_labels: [("alertname".to_owned(), "HighLatency".to_owned())].into(),
            common_labels: [("alertname".to_owned(), "HighLatency".to_owned())].into(),
            common_annotations: BTreeMap::new(),
            external_url: "http://c5.example".into(),
            group_key: "{}:{alertname=\"HighLatency\"}".into(),
            truncated_alerts: 0,
            idempotency_key: "k1.2.3".into(),
            title: String::new(),
            text: String::new(),
            html: String::new(),
        }
    }

    #[test]
    fn payload_has_alertmanager_v4_shape() {
        let n = sample();
        let v = serde_json::to_value(WebhookPayload::new(&n, 0)).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "receiver",
                "status",
                "alerts",
                "groupLabels",
                "commonLabels",
                "commonAnnotations",
                "externalURL",
                "version",
                "groupKey",
                "truncatedAlerts"
            ]
        );
        assert_eq!(v["version"], "4");
        assert_eq!(v["status"], "firing");
        assert_eq!(v["alerts"][1]["status"], "resolved");
        assert_eq!(v["alerts"][0]["generatorURL"], "http://c5.example/graph");
        assert_eq!(v["alerts"][0]["startsAt"], "2026-11-25T10:00:00Z");
        assert_eq!(v["alerts"][0]["fingerprint"], "fp-a:1");
    }

    #[test]
    fn max_alerts_truncates_and_counts() {
        let n = sample();
        let v = serde_json::to_value(WebhookPayload::new(&n, 1)).unwrap();
        assert_eq!(v["alerts"].as_array().unwrap().len(), 1);
        assert_eq!(v["truncatedAlerts"], 1);
    }

    #[test]
    fn default_title_counts_firing() {
        let mut n = sample();
        assert_eq!(default_title(&n), "[FIRING:1] HighLatency");
        n.status = AlertStatus::Resolved;
        assert_eq!(default_title(&n), "[RESOLVED] HighLatency");
        let text = default_text(&sample());
        assert!(text.contains("Firing alerts (1)"), "{text}");
        assert!(text.contains("instance = b:1"), "{text}");
    }
}
