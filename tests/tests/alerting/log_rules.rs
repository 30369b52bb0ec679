//! A LogQL-style rule (`count_over_time({app="api"} |= "error" [1m]) > 3`) over log records with
//! explicit timestamps: fires when the api stream has more than three error lines in a minute,
//! resolves when they stop, and reaches a real webhook exactly once per state.

use notifyd::config::parse_str;
use notifyd::receivers::Keys;
use rules_engine::alert::AlertState;
use rules_engine::engine::{Engine, EngineConfig, Event};
use rules_engine::input::{Labels, LogRecord};
use rules_engine::rule::load_rule_file;

use crate::common::{Pipeline, T0, firing_alerts, runtime, webhook_receiver};

const RULES: &str = r#"
groups:
  - name: api-logs
    interval: 30s
    rules:
      - alert: ApiErrors
        expr: 'count_over_time({app="api"} |= "error" [1m]) > 3'
        labels:
          severity: warn
        annotations:
          summary: '{{ $labels.app }}: {{ $value }} error lines in 1m'
"#;

fn log(app: &str, t_ms: i64, line: &str) -> Event {
    Event::Log(LogRecord {
        labels: Labels::from_pairs([("app", app)]),
        t_ms,
        line: line.to_owned(),
    })
}

#[test]
fn log_rule_fires_and_resolves_through_the_webhook() {
    let rt = runtime();
    let (webhook, inbox) = webhook_receiver(&rt);
    let yaml = format!(
        "route: {{receiver: logs, group_by: [alertname], group_wait: 0s}}\n\
         receivers: [{{name: logs, webhook_configs: [{{url: '{webhook}/logs'}}]}}]\n"
    );
    let config = parse_str(&yaml, "notifyd.yml").unwrap().config;
    let mut pipe = Pipeline::start(&rt, config, &mut Keys::FromEnv(None));
    let groups = load_rule_file("logs.rules.yml", RULES).unwrap();
    let mut engine = Engine::new(groups, EngineConfig::default());

    // Five error lines in the api stream between T0+1s and T0+15s; info lines and another
    // stream's errors must not count.
    for i in 0..15 {
        let t = T0 + 1_000 + i * 1_000;
        let line = if i % 3 == 0 {
            format!("level=error msg=\"db timeout\" req={i}")
        } else {
            format!("level=info msg=ok req={i}")
        };
        engine.observe(log("api", t, &line));
        engine.observe(log("web", t, "level=error msg=\"not ours\""));
    }

    let mut transitions = Vec::new();
    for now in (T0..=T0 + 150_000).step_by(30_000) {
        let tr = engine.evaluate(now);
        let firing = firing_alerts(&engine);
        pipe.step(now, &tr, firing);
        transitions.extend(
            tr.into_iter()
                .map(|t| (t.at_ms - T0, t.to, t.labels, t.value)),
        );
    }
    assert!(
        engine.rule_errors().is_empty(),
        "{:?}",
        engine.rule_errors()
    );
    let states: Vec<(i64, AlertState)> = transitions.iter().map(|t| (t.0, t.1)).collect();
    assert_eq!(
        states.last(),
        Some(&(90_000, AlertState::Inactive)),
        "no error line in (T0+30s, T0+90s]: {states:?}"
    );
    let fired = transitions
        .iter()
        .find(|t| t.1 == AlertState::Firing)
        .unwrap();
    assert_eq!(
        fired.0, 30_000,
        "fires at the first evaluation seeing > 3 lines"
    );
    assert_eq!(
        fired.2.to_string(),
        r#"{alertname="ApiErrors", app="api", severity="warn"}"#
    );
    assert_eq!(fired.3, 5.0, "only the api stream's error lines count");

    pipe.wait_drained();
    let got = inbox.lock().unwrap();
    assert_eq!(got.len(), 2, "one firing and one resolved request");
    for (req, status) in got.iter().zip(["firing", "resolved"]) {
        assert_eq!(req.path, "/hook/logs");
        let body = req.json();
        assert_eq!(body["version"], "4");
        assert_eq!(body["status"], status);
        assert_eq!(body["groupKey"], r#"{}:{alertname="ApiErrors"}"#);
        let alerts = body["alerts"].as_array().unwrap();
        assert_eq!(alerts.len(), 1, "{body}");
        assert_eq!(
            alerts[0]["labels"],
            serde_json::json!({"alertname": "ApiErrors", "app": "api", "severity": "warn"})
        );
        assert_eq!(
            alerts[0]["annotations"]["summary"],
            "api: 5 error lines in 1m"
        );
        assert_eq!(alerts[0]["startsAt"], "2025-11-24T16:00:30Z");
        if status == "resolved" {
            assert_eq!(alerts[0]["endsAt"], "2025-11-24T16:01:30Z");
        }
    }
}
