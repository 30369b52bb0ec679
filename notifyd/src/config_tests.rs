//! Unit tests for config loading: Alertmanager files load, bad ones fail with file:line:col.

use super::*;

/// Loads `src` and renders the outcome: `ok` plus warnings, or the error lines.
fn outcome(src: &str) -> String {
    match parse_str(src, "am.yml") {
        Ok(l) => {
            let mut lines = vec!["ok".to_string()];
            lines.extend(l.warnings.iter().map(ToString::to_string));
            lines.join("\n")
        }
        Err(e) => e.to_string(),
    }
}

fn check(input: &str, expect: &str) {
    assert_eq!(outcome(input), expect, "input:\n{input}");
}

const FULL: &str = r#"
global:
  resolve_timeout: 2m
  smtp_smarthost: 'localhost:25'
  smtp_from: 'alertmanager@example.org'
  smtp_auth_username: 'alertmanager'
  smtp_auth_password: 'password'
templates:
  - '/etc/alertmanager/template/*.tmpl'
route:
  group_by: ['alertname', 'cluster', 'service']
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 3h
  receiver: team-X-mails
  routes:
    - matchers:
        - service=~"foo1|foo2|baz"
      receiver: team-X-mails
      routes:
        - matchers:
            - severity="critical"
          receiver: team-X-pager
    - match_re:
        service: ^(foo1|foo2|baz)$
      receiver: team-Y-web
      mute_time_intervals: [offhours]
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [alertname, cluster, service]
  - source_match: {severity: critical}
    target_match_re: {severity: 'warn.*'}
    equal: [alertname]
receivers:
  - name: 'team-X-mails'
    email_configs:
      - to: 'team-X+alerts@example.org'
  - name: 'team-X-pager'
    email_configs:
      - to: 'team-X+alerts-critical@example.org'
        send_resolved: true
        headers: {subject: 'Hi {{ .CommonLabels.alertname }}'}
  - name: 'team-Y-web'
    webhook_configs:
      - url: 'http://127.0.0.1:9/hook'
        http_config:
          bearer_token: s3cret
time_intervals:
  - name: offhours
    time_intervals:
      - times: [{start_time: '18:00', end_time: '24:00'}]
        weekdays: ['monday:friday']
"#;

#[test]
fn alertmanager_file_loads() {
    check(FULL, "ok");
    let c = parse_str(FULL, "am.yml").unwrap().config;
    assert_eq!(c.global.resolve_timeout, Duration::from_secs(120));
    let pager = c.receiver("team-X-pager").unwrap();
    assert_eq!(
        pager.email[0].smarthost, "localhost:25",
        "global default applied"
    );
    assert!(pager.email[0].send_resolved);
    assert_eq!(
        pager.email[0].headers["Subject"],
        "Hi {{ .CommonLabels.alertname }}"
    );
    assert!(
        !c.receiver("team-X-mails").unwrap().email[0].send_resolved,
        "email default false"
    );
    let web = &c.receiver("team-Y-web").unwrap().webhook[0];
    assert!(web.send_resolved, "webhook default true");
    assert_eq!(
        web.http.bearer_token.as_ref().unwrap().plain(),
        Some("s3cret")
    );
    assert_eq!(c.inhibit_rules.len(), 2);
    assert_eq!(
        matcher::format_matchers(&c.inhibit_rules[1].target_matchers),
        r#"{severity=~"^(?:warn.*)$"}"#
    );
    assert_eq!(c.time_interval("offhours").unwrap().len(), 1);
}

#[test]
fn wildcards() {
    for (p, n, expect) in [
        ("*.tmpl", "a.tmpl", true),
        ("*.tmpl", "a.tmpl.bak", false),
        ("a?c*", "abcdef", true),
        ("a?c*", "ac", false),
        ("*", "", true),
    ] {
        assert_eq!(wildcard(p, n), expect, "{p} {n}");
    }
}

#[test]
fn secrets_stay_out_of_debug() {
    let c = parse_str(FULL, "am.yml").unwrap().config;
    let dbg = format!("{c:?}");
    assert!(
        !dbg.contains("s3cret") && !dbg.contains("password\""),
        "{dbg}"
    );
    assert!(dbg.contains("<secret>"));
}

#[test]
fn unsupported_alertmanager_fields_warn_with_position() {
    check(
        "global:\n  slack_api_url: http://x\nroute: {receiver: r}\nreceivers:\n- name: r\n  slack_configs: [{channel: '#a'}]\n",
        "ok\n\
         am.yml:2:3: warning: global: `slack_api_url` is an Alertmanager setting notifyd does not support; it is ignored\n\
         am.yml:6:3: warning: receiver: `slack_configs` is an Alertmanager setting notifyd does not support; it is ignored",
    );
}

#[test]
fn unknown_fields_and_bad_values_are_errors_with_position() {
    check(
        "route:\n  receiver: r\n  group_wiat: 1m\nreceivers: [{name: r}]\n",
        "am.yml:3:3: error: route: unknown field `group_wiat` (expected one of: receiver, group_by, \
         continue, match, match_re, matchers, group_wait, group_interval, repeat_interval, \
         mute_time_intervals, active_time_intervals, routes, resolve_wait)",
    );
    check(
        "route:\n  receiver: r\n  routes:\n    - matchers: ['a=~\"(\"']\n      group_wait: soon\nreceivers: [{name: r}]\n",
        "am.yml:4:18: error: route: `matchers`: invalid regex \"(\": unclosed group\n\
         am.yml:5:19: error: route: `group_wait`: not a valid duration: \"soon\" (use units like 30s, 5m, 4h, 1d)",
    );
    check(
        "route:\n  receiver: nobody\nreceivers: [{name: r}]\n",
        "am.yml:2:3: error: undefined receiver \"nobody\" used in route",
    );
    check(
        "route:\n  receiver: r\n  matchers: [a=b]\nreceivers:\n  - name: r\n  - name: r\n",
        "am.yml:6:5: error: notification config name \"r\" is not unique\nam.yml:2:3: error: root route must not have any matchers",
    );
    check(
        "route: {receiver: r, group_by: ['...', a]}\nreceivers: [{name: r}]\n",
        "am.yml:1:32: error: route: cannot have wildcard group_by (`...`) and other labels at the same time",
    );
    check(
        "receivers: [{name: r}]\n",
        "am.yml:1:1: error: no `route` provided in config",
    );
    check(
        "route: [\n",
        "am.yml:2:1: error: invalid YAML: while parsing a node, did not find expected node content",
    );
}

#[test]
fn receiver_validation() {
    check(
        "route: {receiver: r}\nreceivers:\n- name: r\n  email_configs: [{from: a@b}]\n  webhook_configs: [{url: 'ftp://x'}, {}]\n",
        "am.yml:4:19: error: receiver \"r\": email config: missing to address in email config\n\
         am.yml:4:19: error: receiver \"r\": email config: no global SMTP smarthost set\n\
         am.yml:5:27: error: receiver \"r\": webhook config: unsupported scheme in url (expected http or https)\n\
         am.yml:5:39: error: receiver \"r\": webhook config: one of url or url_file must be configured",
    );
}

proptest::proptest! {
    /// Bad input gets an error, never a panic: arbitrary text, and a valid file with one byte
    /// replaced or cut short.
    #[test]
    fn never_panics_on_arbitrary_text(src in "[ -~\n]{0,200}") {
        let _ = parse_str(&src, "fuzz.yml");
    }

    #[test]
    fn never_panics_on_mutated_configs(at in 0usize..2000, byte in proptest::sample::select(
        vec![' ', '\n', ':', '-', '[', ']', '{', '}', '"', '\'', '*', '&', '!', '#', 'x', '0', '\t'],
    ), cut in proptest::bool::ANY) {
        let mut src: Vec<char> = FULL.chars().collect();
        let at = at % src.len();
        if cut { src.truncate(at) } else { src[at] = byte }
        let src: String = src.into_iter().collect();
        if let Ok(l) = parse_str(&src, "fuzz.yml") {
            let _ = crate::route::Route::new(&l.config.route).show_tree();
        }
    }

    #[test]
    fn huge_durations_do_not_overflow(years in 1u64..600_000_000) {
        let src = format!("route: {{receiver: r, group_wait: {years}y, repeat_interval: {years}y}}\nreceivers: [{{name: r}}]\n");
        if let Ok(l) = parse_str(&src, "big.yml") {
            let route = crate::route::Route::new(&l.config.route);
            let mut g = crate::group::Group::new("{}", Default::default(), route.opts.clone(), vec![crate::group::Integration { send_resolved: true }]);
            let a = crate::group::AlertIn { labels: Default::default(), annotations: Default::default(), starts_at: i64::MIN / 2, ends_at: None, generator_url: String::new() };
            g.insert(a, i64::MAX / 2);
            let _ = g.flush(i64::MAX / 2, "", &|_| false, false);
        }
    }
}
