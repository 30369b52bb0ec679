//! The unit of delivery: one group of alerts for one receiver, with an idempotency key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Whether an alert (or a whole notification) is firing or resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// The alert is active.
    Firing,
    /// The alert has stopped.
    Resolved,
}

/// One alert inside a notification, shaped like an Alertmanager webhook alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Firing or resolved.
    pub status: AlertStatus,
    /// Identifying labels (sorted).
    pub labels: BTreeMap<String, String>,
    /// Annotations (summary, description, ...).
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339 start time.
    pub starts_at: String,
    /// RFC 3339 end time; `0001-01-01T00:00:00Z` while firing, as Alertmanager sends.
    pub ends_at: String,
    /// Link to the expression that produced the alert.
    pub generator_url: String,
    /// Stable hash of the labels (Alertmanager's `fingerprint`).
    pub fingerprint: String,
}

/// Everything a notifier needs to deliver one message for one group of alerts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The receiver name from the routing config.
    pub receiver: String,
    /// Firing if any alert fires, else resolved.
    pub status: AlertStatus,
    /// The alerts of the group.
    pub alerts: Vec<Alert>,
    /// Labels the group was formed by.
    pub group_labels: BTreeMap<String, String>,
    /// Labels shared by every alert.
    pub common_labels: BTreeMap<String, String>,
    /// Annotations shared by every alert.
    pub common_annotations: BTreeMap<String, String>,
    /// Link back to the daemon.
    pub external_url: String,
    /// The group key (route path + group labels).
    pub group_key: String,
    /// How many alerts were left out of `alerts` because of a limit.
    pub truncated_alerts: u64,
    /// Idempotency key: group key + alert set hash + sequence. Sent as `Idempotency-Key` (webhook)
    /// and in `Message-ID` (email) so receivers can drop duplicates after a crash.
    pub idempotency_key: String,
    /// Rendered subject line (email) or title; empty to let the notifier use its default.
    pub title: String,
    /// Rendered plain-text body; empty to let the notifier use its default.
    pub text: String,
    /// Rendered HTML body for email; empty for text-only.
    pub html: String,
}
