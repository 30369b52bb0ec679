//! The routing and policy core: alerts in, rendered notifications out. Pure; time is a parameter.
//!
//! `ingest` routes an alert to every matching route and puts it in that route's aggregation group
//! (and records it as a possible inhibition source). `tick(now)` flushes every due group: alerts
//! silenced or inhibited at `now` are left out, routes inside a mute time interval (or outside
//! their active ones) send nothing, and each notification is rendered with its integration's
//! templates and addressed to a target named `receiver/kind/index` (see
//! [`crate::receivers::target_name`]). The caller enqueues the result in the durable outbox.

use std::collections::BTreeMap;

use notifiers::Notification;

use crate::config::Config;
use crate::group::{AlertIn, Group, Integration, LogEntry, Millis};
use crate::inhibit::Inhibitor;
use crate::receivers::{IntegrationKind, target_name};
use crate::render;
use crate::route::Route;
use crate::silence::Silences;
use crate::timeinterval;

/// One rendered notification for one target.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Target (notifier) name: `receiver/kind/index`.
    pub target: String,
    /// The notification.
    pub notification: Notification,
    /// Set when a template failed: the notification carries default texts instead.
    pub template_error: Option<String>,
}

/// Route tree, groups, inhibition and silences.
#[derive(Debug)]
pub struct Policy {
    config: Config,
    route: Route,
    groups: BTreeMap<String, Group>,
    /// Keys of groups created since the last [`Policy::take_new_groups`].
    fresh: Vec<String>,
    /// Inhibition rules and their sources.
    pub inhibitor: Inhibitor,
    /// Silences.
    pub silences: Silences,
    external_url: String,
    library: render::Library,
}

impl Policy {
    /// A policy for `config`; `external_url` is sent as `externalURL`.
    pub fn new(config: Config, external_url: &str) -> Self {
        Policy {
            route: Route::new(&config.route),
            inhibitor: Inhibitor::new(&config.inhibit_rules),
            config,
            groups: BTreeMap::new(),
            fresh: Vec::new(),
            silences: Silences::default(),
            external_url: external_url.to_string(),
            library: render::Library::default(),
        }
    }

    /// Uses these named templates (built-ins plus the config's `templates:` files).
    pub fn with_library(mut self, library: render::Library) -> Self {
        self.library = library;
        self
    }

    /// The route tree.
    pub fn route(&self) -> &Route {
        &self.route
    }

    /// Routes and groups one alert (new, refreshed or resolved). An alert without an end time
    /// gets `now + global.resolve_timeout`, as in Alertmanager: unless it is refreshed (ingested
    /// again) before then, it resolves by itself.
    pub fn ingest(&mut self, mut alert: AlertIn, now: Millis) {
        if alert.ends_at.is_none() {
            let timeout =
                i64::try_from(self.config.global.resolve_timeout.as_millis()).unwrap_or(i64::MAX);
            alert.ends_at = Some(now.saturating_add(timeout));
        }
        self.inhibitor.observe(&alert);
        let matched: Vec<Route> = self
            .route
            .match_labels(&alert.labels)
            .into_iter()
            .cloned()
            .collect();
        for r in matched {
            let group_labels = r.group_labels(&alert.labels);
            let key = format!("{}:{}", r.key, crate::group::labels_string(&group_labels));
            let config = &self.config;
            let fresh = &mut self.fresh;
            let group = self.groups.entry(key.clone()).or_insert_with(|| {
                fresh.push(key);
                let integrations = config
                    .receiver(&r.opts.receiver)
                    .map(|rc| {
                        rc.integrations()
                            .into_iter()
                            .map(|(_, _, send_resolved)| Integration { send_resolved })
                            .collect()
                    })
                    .unwrap_or_default();
                Group::new(&r.key, group_labels, r.opts.clone(), integrations)
            });
            group.insert(alert.clone(), now);
        }
    }

    /// Restores what an integration was last told about a group (after a restart).
    pub fn restore_log(&mut self, group_key: &str, integration: usize, entry: LogEntry) {
        if let Some(g) = self.groups.get_mut(group_key) {
            g.restore_log(integration, entry);
        }
    }

    /// Groups created since the last call, each with its targets by integration index, so the
    /// caller can restore their notification log from the durable store after a restart.
    pub fn take_new_groups(&mut self) -> Vec<(String, Vec<String>)> {
        let fresh = std::mem::take(&mut self.fresh);
        fresh
            .into_iter()
            .filter_map(|key| {
                let g = self.groups.get(&key)?;
                let r = self.config.receiver(&g.receiver)?;
                let targets = r
                    .integrations()
                    .into_iter()
                    .map(|(k, i, _)| target_name(&r.name, k, i))
                    .collect();
                Some((key, targets))
            })
            .collect()
    }

    /// The earliest time a group wants flushing.
    pub fn next_wakeup(&self) -> Option<Millis> {
        self.groups.values().filter_map(Group::next_flush).min()
    }

    /// Number of live aggregation groups.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Flushes every group due at `now`; returns the rendered notifications to enqueue.
    pub fn tick(&mut self, now: Millis) -> Vec<Delivery> {
        let mut out = Vec::new();
        let (inhibitor, silences) = (&self.inhibitor, &self.silences);
        let suppressed =
            |a: &AlertIn| silences.is_silenced(&a.labels, now) || inhibitor.mutes(&a.labels, now);
        let unix = now.div_euclid(1000);
        for group in self.groups.values_mut() {
            if group.next_flush().is_none_or(|t| t > now) {
                continue;
            }
            let in_any = |names: &[String]| {
                names.iter().any(|n| {
                    self.config
                        .time_interval(n)
                        .is_some_and(|t| timeinterval::any_contains(t, unix))
                })
            };
            let (mute, active) = (
                &group.opts().mute_time_intervals,
                &group.opts().active_time_intervals,
            );
            let muted = in_any(mute) || (!active.is_empty() && !in_any(active));
            let Some(receiver) = self.config.receiver(&group.receiver) else {
                continue;
            };
            let integrations = receiver.integrations();
            for o in group.flush(now, &self.external_url, &suppressed, muted) {
                let Some(&(kind, idx, _)) = integrations.get(o.integration) else {
                    continue;
                };
                let mut n = o.notification;
                let rendered = match kind {
                    IntegrationKind::Email => {
                        self.library.render_email(&mut n, &receiver.email[idx])
                    }
                    IntegrationKind::Webhook => match &receiver.webhook[idx].body_template {
                        Some(t) => self
                            .library
                            .render(t, &render::Data::from_notification(&n))
                            .map(|s| n.text = s),
                        None => Ok(()),
                    },
                };
                let template_error = rendered.err().map(|e| e.to_string());
                if template_error.is_some() && kind == IntegrationKind::Email {
                    // Fall back to the built-in templates so the alert still goes out.
                    let mut plain = receiver.email[idx].clone();
                    plain.headers.remove("Subject");
                    (plain.text, plain.html) = (None, None);
                    let _ = self.library.render_email(&mut n, &plain);
                }
                out.push(Delivery {
                    target: target_name(&group.receiver, kind, idx),
                    notification: n,
                    template_error,
                });
            }
        }
        self.groups.retain(|_, g| !g.is_empty());
        self.inhibitor.gc(now);
        out
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
