//! Config acceptance compared with Alertmanager's own `amtool check-config`: files Alertmanager
//! accepts load in notifyd, files it rejects are rejected with a file:line:col diagnostic.
//! Known, deliberate differences are listed and asserted separately.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions; a failing unwrap fails the test

use std::process::Command;

const RECEIVERS: &str = "receivers:\n  - name: r\n  - name: s\n";

/// (name, config); `{R}` is replaced by a receivers block with `r` and `s`.
const CASES: &[(&str, &str)] = &[
    ("minimal", "route: {receiver: r}\n{R}"),
    (
        "anchors and merge keys",
        "x: &d {receiver: s, group_wait: 1s}\nroute:\n  receiver: r\n  routes:\n    - <<: *d\n      matchers: [a=b]\n{R}",
    ),
    (
        "durations",
        "route: {receiver: r, group_wait: 1m30s, group_interval: 1h, repeat_interval: 2d}\n{R}",
    ),
    (
        "all matcher styles",
        "route:\n  receiver: r\n  routes:\n    - match: {a: b}\n      match_re: {c: 'd|e'}\n      matchers: ['f!=g', 'h!~\"i.*\"', '{j=\"k\", l=~m}']\n      receiver: s\n{R}",
    ),
    (
        "group_by all",
        "route: {receiver: r, group_by: ['...']}\n{R}",
    ),
    (
        "slack receiver (unsupported, warned)",
        "route: {receiver: r}\nreceivers:\n  - name: r\n    slack_configs: [{api_url: 'http://x', channel: '#a'}]\n",
    ),
    (
        "email and webhook",
        "global: {smtp_smarthost: 'a:25', smtp_from: 'a@b'}\nroute: {receiver: r}\nreceivers:\n  - name: r\n    email_configs: [{to: 'x@y'}]\n    webhook_configs: [{url: 'http://h/', max_alerts: 3, http_config: {basic_auth: {username: u, password: p}}}]\n",
    ),
    (
        "inhibit rules",
        "route: {receiver: r}\ninhibit_rules:\n  - source_match: {a: b}\n    target_matchers: [c=d]\n    equal: [e]\n{R}",
    ),
    (
        "time intervals",
        "route:\n  receiver: r\n  routes: [{receiver: s, mute_time_intervals: [w], active_time_intervals: [w]}]\ntime_intervals:\n  - name: w\n    time_intervals: [{weekdays: ['saturday', 'sunday'], times: [{start_time: '00:00', end_time: '24:00'}], days_of_month: ['1:5', '-1'], months: ['1:3'], years: ['2024:2030']}]\n{R}",
    ),
    ("no route", "{R}"),
    ("no default receiver", "route: {group_wait: 1s}\n{R}"),
    ("undefined receiver", "route: {receiver: nobody}\n{R}"),
    (
        "undefined child receiver",
        "route: {receiver: r, routes: [{receiver: nobody}]}\n{R}",
    ),
    (
        "root with matchers",
        "route: {receiver: r, matchers: [a=b]}\n{R}",
    ),
    (
        "duplicate receiver",
        "route: {receiver: r}\nreceivers:\n  - name: r\n  - name: r\n",
    ),
    ("unknown field", "route: {receiver: r, group_wiat: 1s}\n{R}"),
    (
        "unknown top-level field",
        "route: {receiver: r}\nroutes: []\n{R}",
    ),
    (
        "bad duration",
        "route: {receiver: r, group_wait: soon}\n{R}",
    ),
    (
        "zero group_interval",
        "route: {receiver: r, group_interval: 0s}\n{R}",
    ),
    (
        "bad regex",
        "route: {receiver: r, routes: [{receiver: s, matchers: ['a=~\"(\"']}]}\n{R}",
    ),
    (
        "bad matcher",
        "route: {receiver: r, routes: [{receiver: s, matchers: ['a']}]}\n{R}",
    ),
    (
        "bad legacy label name",
        "route: {receiver: r, routes: [{receiver: s, match: {'a-b': c}}]}\n{R}",
    ),
    (
        "wildcard group_by plus labels",
        "route: {receiver: r, group_by: ['...', a]}\n{R}",
    ),
    (
        "duplicate group_by label",
        "route: {receiver: r, group_by: [a, a]}\n{R}",
    ),
    (
        "email without to",
        "global: {smtp_smarthost: 'a:25', smtp_from: 'a@b'}\nroute: {receiver: r}\nreceivers:\n  - name: r\n    email_configs: [{from: 'x@y'}]\n",
    ),
    (
        "email without smarthost",
        "route: {receiver: r}\nreceivers:\n  - name: r\n    email_configs: [{to: 'x@y', from: 'a@b'}]\n",
    ),
    (
        "webhook without url",
        "route: {receiver: r}\nreceivers:\n  - name: r\n    webhook_configs: [{send_resolved: true}]\n",
    ),
    (
        "undefined time interval",
        "route: {receiver: r, routes: [{receiver: s, mute_time_intervals: [nope]}]}\n{R}",
    ),
    (
        "bad weekday",
        "route: {receiver: r}\ntime_intervals: [{name: w, time_intervals: [{weekdays: [funday]}]}]\n{R}",
    ),
    (
        "bad time range",
        "route: {receiver: r}\ntime_intervals: [{name: w, time_intervals: [{times: [{start_time: '10:00', end_time: '09:00'}]}]}]\n{R}",
    ),
    (
        "duplicate key",
        "route: {receiver: r}\nroute: {receiver: s}\n{R}",
    ),
    ("invalid YAML", "route: [\n"),
    (
        "time zone",
        "route: {receiver: r}\ntime_intervals: [{name: w, time_intervals: [{location: Europe/Berlin, times: [{start_time: '09:00', end_time: '17:00'}]}]}]\n{R}",
    ),
    (
        "local time zone",
        "route: {receiver: r}\ntime_intervals: [{name: w, time_intervals: [{location: Local}]}]\n{R}",
    ),
    (
        "unknown time zone",
        "route: {receiver: r}\ntime_intervals: [{name: w, time_intervals: [{location: Mars/Olympus}]}]\n{R}",
    ),
];

fn amtool_accepts(path: &std::path::Path) -> bool {
    let out = Command::new("amtool")
        .arg("check-config")
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run amtool ({e}): install Debian prometheus-alertmanager (./scripts/test does)")
        });
    out.status.success()
}

#[test]
fn acceptance_matches_amtool_check_config() {
    let dir = tempfile::tempdir().unwrap();
    let mut disagreements = Vec::new();
    for (i, (name, src)) in CASES.iter().enumerate() {
        let src = src.replace("{R}", RECEIVERS);
        let path = dir.path().join(format!("case{i}.yml"));
        std::fs::write(&path, &src).unwrap();
        let am = amtool_accepts(&path);
        let ours = notifyd::config::load_file(&path);
        if let Err(e) = &ours {
            // Every rejection names the file and a line:col.
            let msg = e.to_string();
            let prefix = format!("{}:", path.display());
            assert!(msg.starts_with(&prefix), "{name}: {msg}");
            let pos = msg[prefix.len()..].split(':').take(2).collect::<Vec<_>>();
            assert!(
                pos.iter().all(|p| p.parse::<usize>().is_ok()),
                "{name}: {msg}"
            );
        }
        if am != ours.is_ok() {
            disagreements.push(format!(
                "{name}: amtool accepts={am}, notifyd: {:?}",
                ours.err()
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn known_differences_are_deliberate() {
    let dir = tempfile::tempdir().unwrap();
    // `resolve_wait` is a notifyd extension that Alertmanager does not know.
    let path = dir.path().join("rw.yml");
    std::fs::write(
        &path,
        "route: {receiver: r, resolve_wait: 2s}\nreceivers: [{name: r}]\n",
    )
    .unwrap();
    assert!(!amtool_accepts(&path));
    assert!(notifyd::config::load_file(&path).is_ok());
}
