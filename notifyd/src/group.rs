//! Aggregation groups: a pure state machine over alerts, with time (Unix ms) as a parameter.
//!
//! Follows Alertmanager's `aggrGroup` and dedup stage:
//! - a new group flushes after `group_wait` (at once if its first alert is older than that);
//! - later flushes happen every `group_interval`; a flush notifies an integration only if a firing
//!   alert is new to it, an alert resolved (for `send_resolved` integrations, or when nothing fires
//!   any more), or `repeat_interval` has passed since its last notification;
//! - resolved alerts leave the group once a flush has handled them.
//!
//! One change from Alertmanager (its issue #1510): when an alert that was notified as firing
//! resolves, the group flushes `resolve_wait` later (default 5s) instead of at the next
//! `group_interval`, so "resolved" messages arrive promptly.

use std::collections::{BTreeMap, BTreeSet};

use notifiers::{Alert, AlertStatus, Notification};
use serde::{Deserialize, Serialize};

use crate::matcher::LabelSet;
use crate::route::RouteOpts;
use crate::timeinterval::rfc3339;

/// Unix time in milliseconds.
pub type Millis = i64;

/// An alert as notifyd receives it from the rules engine or the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertIn {
    /// Identifying labels.
    pub labels: LabelSet,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// When it started firing.
    pub starts_at: Millis,
    /// When it resolved (or will, if not refreshed); `None` while firing.
    pub ends_at: Option<Millis>,
    /// Link to the source.
    pub generator_url: String,
}

impl AlertIn {
    /// Whether the alert is resolved at `now`.
    pub fn resolved_at(&self, now: Millis) -> bool {
        self.ends_at.is_some_and(|e| e <= now)
    }

    /// Alertmanager's fingerprint of the labels.
    pub fn fingerprint(&self) -> u64 {
        fingerprint(&self.labels)
    }
}

const FNV_OFFSET: u64 = 14_695_981_039_346_656_037;
const FNV_PRIME: u64 = 1_099_511_628_211;

fn fnv_add(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// Prometheus' label-set fingerprint (FNV-1a 64 over sorted `name 0xff value 0xff`).
pub fn fingerprint(labels: &LabelSet) -> u64 {
    labels.iter().fold(FNV_OFFSET, |h, (k, v)| {
        let h = fnv_add(fnv_add(h, k.as_bytes()), &[0xff]);
        fnv_add(fnv_add(h, v.as_bytes()), &[0xff])
    })
}

/// Go's `LabelSet.String()`: `{a="1", b="2"}`.
pub fn labels_string(labels: &LabelSet) -> String {
    let parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", parts.join(", "))
}

/// Alertmanager's order of alerts in a notification: by `job`, then `instance`, then labels.
fn alert_order(a: &AlertIn, b: &AlertIn) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    for key in ["job", "instance"] {
        match (a.labels.get(key), b.labels.get(key)) {
            (None, None) => continue,
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    a.labels
        .len()
        .cmp(&b.labels.len())
        .then_with(|| a.labels.cmp(&b.labels))
}

/// What one integration was last told about a group (Alertmanager's notification log entry).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Fingerprints notified as firing.
    pub firing: BTreeSet<u64>,
    /// Fingerprints notified as resolved.
    pub resolved: BTreeSet<u64>,
    /// When.
    pub at: Millis,
    /// How many notifications this integration got for this group (for idempotency keys).
    pub seq: u64,
}

/// Whether an integration must be notified (Alertmanager's `DedupStage.needsUpdate`).
pub fn needs_update(
    entry: Option<&LogEntry>,
    firing: &BTreeSet<u64>,
    resolved: &BTreeSet<u64>,
    send_resolved: bool,
    repeat: Millis,
    now: Millis,
) -> bool {
    let Some(e) = entry else {
        return !firing.is_empty();
    };
    if !firing.is_subset(&e.firing) {
        return true;
    }
    if firing.is_empty() {
        return !e.firing.is_empty();
    }
    if send_resolved && !resolved.is_subset(&e.resolved) {
        return true;
    }
    e.at < now.saturating_sub(repeat)
}

/// One integration of the group's receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Integration {
    /// Whether it wants resolved notifications.
    pub send_resolved: bool,
}

/// One notification to enqueue: for integration `integration` of `notification.receiver`.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Index into the receiver's integrations (see [`crate::receivers::Receiver::integrations`]).
    pub integration: usize,
    /// The notification (title/text/html are filled by `crate::render`).
    pub notification: Notification,
}

/// One aggregation group: the alerts of one route with the same group labels.
#[derive(Debug, Clone)]
pub struct Group {
    /// Alertmanager's group key: route key, `:`, group labels.
    pub key: String,
    /// Receiver name.
    pub receiver: String,
    /// The labels the group was formed by.
    pub group_labels: LabelSet,
    opts: RouteOpts,
    alerts: BTreeMap<u64, AlertIn>,
    next_flush: Option<Millis>,
    has_flushed: bool,
    /// Notification log per integration.
    pub log: Vec<Option<LogEntry>>,
    integrations: Vec<Integration>,
}

fn ms(d: std::time::Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Group {
    /// A new, empty group for a route and group labels.
    pub fn new(
        route_key: &str,
        group_labels: LabelSet,
        opts: RouteOpts,
        integrations: Vec<Integration>,
    ) -> Self {
        Group {
            key: format!("{route_key}:{}", labels_string(&group_labels)),
            receiver: opts.receiver.clone(),
            group_labels,
            opts,
            alerts: BTreeMap::new(),
            next_flush: None,
            has_flushed: false,
            log: vec![None; integrations.len()],
            integrations,
        }
    }

    /// Adds or updates an alert (matched by fingerprint).
    pub fn insert(&mut self, alert: AlertIn, now: Millis) {
        let fp = alert.fingerprint();
        let was_firing = self.alerts.get(&fp).is_some_and(|a| !a.resolved_at(now));
        let now_resolved = alert.resolved_at(now);
        if self.next_flush.is_none() {
            self.next_flush = Some(now.saturating_add(ms(self.opts.group_wait)));
        }
        if !self.has_flushed && alert.starts_at.saturating_add(ms(self.opts.group_wait)) < now {
            self.next_flush = Some(now);
        }
        let notified_firing = self.log.iter().flatten().any(|e| e.firing.contains(&fp));
        self.alerts.insert(fp, alert);
        if was_firing && now_resolved && notified_firing {
            self.schedule(now.saturating_add(ms(self.opts.resolve_wait)));
        }
    }

    /// Flushes no later than `at`.
    fn schedule(&mut self, at: Millis) {
        self.next_flush = Some(self.next_flush.map_or(at, |n| n.min(at)));
    }

    /// When the group wants [`Group::flush`] called next (`None`: never, it is empty).
    pub fn next_flush(&self) -> Option<Millis> {
        self.next_flush
    }

    /// The route settings the group was created with.
    pub fn opts(&self) -> &RouteOpts {
        &self.opts
    }

    /// Whether the group holds no alerts (the caller drops it).
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }

    /// Alerts currently in the group.
    pub fn alerts(&self) -> impl Iterator<Item = &AlertIn> {
        self.alerts.values()
    }

    /// Restores the notification log (e.g. from the durable store after a restart).
    pub fn restore_log(&mut self, integration: usize, entry: LogEntry) {
        if let Some(slot) = self.log.get_mut(integration) {
            *slot = Some(entry);
            self.has_flushed = true;
        }
    }

    /// Runs a flush if one is due at `now`. `suppressed` says whether an alert is silenced or
    /// inhibited now; `muted` whether the route is in a mute time interval. Returns the
    /// notifications to enqueue.
    pub fn flush(
        &mut self,
        now: Millis,
        external_url: &str,
        suppressed: &dyn Fn(&AlertIn) -> bool,
        muted: bool,
    ) -> Vec<Outgoing> {
        match self.next_flush {
            Some(t) if t <= now => {}
            _ => return Vec::new(),
        }
        self.has_flushed = true;
        let mut visible: Vec<(u64, &AlertIn)> = self
            .alerts
            .iter()
            .filter(|(_, a)| !suppressed(a))
            .map(|(fp, a)| (*fp, a))
            .collect();
        visible.sort_by(|(_, a), (_, b)| alert_order(a, b));
        let firing: BTreeSet<u64> = visible
            .iter()
            .filter(|(_, a)| !a.resolved_at(now))
            .map(|(fp, _)| *fp)
            .collect();
        let resolved: BTreeSet<u64> = visible
            .iter()
            .filter(|(_, a)| a.resolved_at(now))
            .map(|(fp, _)| *fp)
            .collect();
        let mut out = Vec::new();
        if !muted {
            for (i, integ) in self.integrations.iter().enumerate() {
                let entry = self.log[i].as_ref();
                if !needs_update(
                    entry,
                    &firing,
                    &resolved,
                    integ.send_resolved,
                    ms(self.opts.repeat_interval),
                    now,
                ) {
                    continue;
                }
                let seq = entry.map_or(0, |e| e.seq) + 1;
                let alerts: Vec<&AlertIn> = visible
                    .iter()
                    .filter(|(_, a)| integ.send_resolved || !a.resolved_at(now))
                    .map(|(_, a)| *a)
                    .collect();
                if !alerts.is_empty() {
                    out.push(Outgoing {
                        integration: i,
                        notification: self.build(&alerts, now, external_url, i, seq),
                    });
                }
                self.log[i] = Some(LogEntry {
                    firing: firing.clone(),
                    resolved: resolved.clone(),
                    at: now,
                    seq,
                });
            }
        }
        // Resolved alerts have been handled: they leave the group.
        self.alerts.retain(|_, a| !a.resolved_at(now));
        self.next_flush = if self.alerts.is_empty() {
            None
        } else {
            Some(now.saturating_add(ms(self.opts.group_interval)))
        };
        out
    }

    fn build(
        &self,
        alerts: &[&AlertIn],
        now: Millis,
        external_url: &str,
        integration: usize,
        seq: u64,
    ) -> Notification {
        let out: Vec<Alert> = alerts
            .iter()
            .map(|a| {
                let resolved = a.resolved_at(now);
                Alert {
                    status: if resolved {
                        AlertStatus::Resolved
                    } else {
                        AlertStatus::Firing
                    },
                    labels: a.labels.clone(),
                    annotations: a.annotations.clone(),
                    starts_at: rfc3339(Some(a.starts_at)),
                    ends_at: if resolved {
                        rfc3339(a.ends_at)
                    } else {
                        rfc3339(None)
                    },
                    generator_url: a.generator_url.clone(),
                    fingerprint: format!("{:016x}", a.fingerprint()),
                }
            })
            .collect();
        let status = if out.iter().any(|a| a.status == AlertStatus::Firing) {
            AlertStatus::Firing
        } else {
            AlertStatus::Resolved
        };
        let common =
            |get: &dyn Fn(&Alert) -> &BTreeMap<String, String>| -> BTreeMap<String, String> {
                let mut it = out.iter();
                let Some(first) = it.next() else {
                    return BTreeMap::new();
                };
                let mut c = get(first).clone();
                for a in it {
                    c.retain(|k, v| get(a).get(k) == Some(v));
                }
                c
            };
        let common_labels = common(&|a| &a.labels);
        let common_annotations = common(&|a| &a.annotations);
        let set_hash = alerts.iter().fold(FNV_OFFSET, |h, a| {
            let h = fnv_add(h, &a.fingerprint().to_be_bytes());
            fnv_add(h, &[u8::from(a.resolved_at(now))])
        });
        Notification {
            receiver: self.receiver.clone(),
            status,
            alerts: out,
            group_labels: self.group_labels.clone(),
            common_labels,
            common_annotations,
            external_url: external_url.to_string(),
            group_key: self.key.clone(),
            truncated_alerts: 0,
            idempotency_key: format!(
                "{:016x}-{set_hash:016x}-{seq}",
                fnv_add(
                    fnv_add(fnv_add(FNV_OFFSET, self.key.as_bytes()), &[0xff]),
                    &integration.to_be_bytes()
                )
            ),
            title: String::new(),
            text: String::new(),
            html: String::new(),
        }
    }
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
