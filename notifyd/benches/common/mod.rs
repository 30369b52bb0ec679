//! What the delivery bench and the `outbox_loop` driver share: the bench's one-alert
//! notification and CPU time from `/proc`.

use std::time::Duration;

/// A one-alert firing notification whose group is `alertname=<name>` (so distinct names are
/// distinct groups), about 600 bytes as Alertmanager's webhook JSON.
pub fn notification(name: &str) -> notifiers::Notification {
    let labels: std::collections::BTreeMap<String, String> =
        [("alertname".to_owned(), name.to_owned())].into();
    notifiers::Notification {
        receiver: "bench".into(),
        status: notifiers::AlertStatus::Firing,
        alerts: vec![notifiers::Alert {
            status: notifiers::AlertStatus::Firing,
            labels: labels.clone(),
            annotations: Default::default(),
            starts_at: "2026-11-25T10:00:00Z".into(),
            ends_at: "0001-01-01T00:00:00Z".into(),
            generator_url: String::new(),
            fingerprint: format!("{:016x}", name.len()),
        }],
        group_labels: labels.clone(),
        common_labels: labels,
        common_annotations: Default::default(),
        external_url: "http://notifyd.bench".into(),
        group_key: format!("{{}}:{{alertname=\"{name}\"}}"),
        truncated_alerts: 0,
        idempotency_key: String::new(),
        title: String::new(),
        text: String::new(),
        html: String::new(),
    }
}

/// CPU time (user + system) from a `/proc/PID/stat` or `/proc/PID/task/TID/stat` file.
pub fn cpu_time(stat_path: &str) -> Duration {
    let stat = std::fs::read_to_string(stat_path).unwrap();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}
