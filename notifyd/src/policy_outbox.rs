//! Glue between the routing policy and the durable outbox: enqueue what a tick produced, and
//! after a restart restore each new group's notification log from the outbox, so the daemon
//! neither loses nor re-floods notifications.

use crate::group::LogEntry;
use crate::outbox::{Enqueued, Outbox, OutboxError};
use crate::policy::{Delivery, Policy};

/// Restores the notification log of groups created since the last call from `outbox`'s log.
/// Returns how many (group, target) records were restored. Call after `ingest`, before `tick`.
pub fn restore_logs(policy: &mut Policy, outbox: &Outbox) -> Result<usize, OutboxError> {
    let mut restored = 0;
    for (key, targets) in policy.take_new_groups() {
        for (i, target) in targets.iter().enumerate() {
            let Some(e) = outbox.log_entry(target, &key)? else {
                continue;
            };
            let parse = |v: &[String]| {
                v.iter()
                    .filter_map(|h| u64::from_str_radix(h, 16).ok())
                    .collect()
            };
            let entry = LogEntry {
                firing: parse(&e.firing),
                resolved: parse(&e.resolved),
                at: e.enqueued_ms,
                seq: e.sequence,
            };
            policy.restore_log(&key, i, entry);
            restored += 1;
        }
    }
    Ok(restored)
}

/// Durably enqueues every delivery (before any send), all in one commit. Returns how many were
/// new (not duplicates of an idempotency key already pending or delivered).
pub fn enqueue_all(
    outbox: &Outbox,
    deliveries: &[Delivery],
    now_ms: i64,
    deadline: std::time::Duration,
) -> Result<usize, OutboxError> {
    let items: Vec<(&str, &notifiers::Notification)> = deliveries
        .iter()
        .map(|d| (d.target.as_str(), &d.notification))
        .collect();
    let done = outbox.enqueue_many(&items, now_ms, deadline)?;
    Ok(done
        .iter()
        .filter(|e| matches!(e, Enqueued::New(_)))
        .count())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::config::parse_str;
    use crate::group::AlertIn;

    const T0: i64 = 1_700_000_000_000;
    const S: i64 = 1000;
    const DAY: Duration = Duration::from_secs(86_400);
    const CONFIG: &str = r#"
route: {receiver: hook, group_by: [alertname], group_wait: 10s, group_interval: 1m, repeat_interval: 1h}
receivers:
  - name: hook
    webhook_configs: [{url: 'http://127.0.0.1:9/x'}]
"#;

    fn alert(instance: &str) -> AlertIn {
        AlertIn {
            labels: [("alertname", "Disk"), ("instance", instance)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            annotations: BTreeMap::new(),
            starts_at: T0,
            ends_at: None,
            generator_url: String::new(),
        }
    }

    fn policy() -> Policy {
        Policy::new(parse_str(CONFIG, "t.yml").unwrap().config, "http://c5")
    }

    #[test]
    fn restart_neither_loses_nor_refloods() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(&dir.path().join("outbox.db")).unwrap();
        let mut p = policy();
        p.ingest(alert("a"), T0);
        assert_eq!(
            restore_logs(&mut p, &outbox).unwrap(),
            0,
            "nothing logged yet"
        );
        let out = p.tick(T0 + 10 * S);
        assert_eq!(enqueue_all(&outbox, &out, T0 + 10 * S, DAY).unwrap(), 1);
        assert_eq!(outbox.pending().unwrap().len(), 1);

        // Restart: a fresh policy sees the same alert again.
        drop(p);
        let mut p = policy();
        p.ingest(alert("a"), T0 + 20 * S);
        assert_eq!(restore_logs(&mut p, &outbox).unwrap(), 1);
        assert!(
            p.tick(T0 + 30 * S).is_empty(),
            "already notified: no re-flood"
        );

        // A new alert in the group is notified, with the next sequence number.
        p.ingest(alert("b"), T0 + 40 * S);
        let out = p.tick(T0 + 90 * S);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].notification.alerts.len(), 2);
        assert!(
            out[0].notification.idempotency_key.ends_with("-2"),
            "{}",
            out[0].notification.idempotency_key
        );
        assert_eq!(enqueue_all(&outbox, &out, T0 + 90 * S, DAY).unwrap(), 1);
        assert_eq!(
            enqueue_all(&outbox, &out, T0 + 91 * S, DAY).unwrap(),
            0,
            "same key: duplicate"
        );
        assert_eq!(outbox.pending().unwrap().len(), 2);
    }
}
