//! Integration tests of the notifiers against real servers on loopback: aiosmtpd (plain, STARTTLS,
//! implicit TLS, AUTH) and an axum HTTP receiver.
#![allow(clippy::unwrap_used)] // helpers in a test binary: a failed unwrap is a failed test

mod email;
mod webhook;

use std::collections::BTreeMap;

use notifiers::{Alert, AlertStatus, Notification};

/// A firing notification with two alerts.
pub fn notification(key: &str) -> Notification {
    let alert = |instance: &str| Alert {
        status: AlertStatus::Firing,
        labels: [("alertname", "DiskFull"), ("instance", instance)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        annotations: [("summary".to_owned(), format!("disk full on {instance}"))].into(),
        starts_at: "2026-11-25T10:00:00Z".into(),
        ends_at: "0001-01-01T00:00:00Z".into(),
        generator_url: "http://c5.test/rules".into(),
        fingerprint: format!("fp{instance}"),
    };
    Notification {
        receiver: "ops".into(),
        status: AlertStatus::Firing,
        alerts: vec![alert("db1"), alert("db2")],
        group_labels: [("alertname".to_owned(), "DiskFull".to_owned())].into(),
        common_labels: [("alertname".to_owned(), "DiskFull".to_owned())].into(),
        common_annotations: BTreeMap::new(),
        external_url: "http://notifyd.test".into(),
        group_key: "{}:{alertname=\"DiskFull\"}".into(),
        truncated_alerts: 0,
        idempotency_key: key.into(),
        title: String::new(),
        text: String::new(),
        html: String::new(),
    }
}
