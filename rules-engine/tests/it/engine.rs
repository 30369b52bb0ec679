//! Engine behaviour: recording rules feeding alerts, out-of-order tolerance, state export and
//! import across a restart, and rule-set replacement keeping state of unchanged rules.

use rules_engine::alert::AlertState;
use rules_engine::diagnostic::DiagnosticKind;
use rules_engine::engine::{Engine, EngineConfig, EngineState, Event};
use rules_engine::input::{Labels, Sample};
use rules_engine::rule::load_rule_file;

const RULES: &str = "groups:
- name: g
  interval: 1m
  rules:
  - record: job:errors:sum
    expr: sum by (job) (errors)
  - alert: TooManyErrors
    expr: job:errors:sum > 5
    for: 2m
    labels: {severity: page}
    annotations: {summary: '{{ $labels.job }} has {{ $value }} errors'}
";

fn sample(job: &str, t_ms: i64, value: f64) -> Event {
    Event::Sample(Sample {
        labels: Labels::from_pairs([("__name__", "errors"), ("job", job)]),
        t_ms,
        value,
    })
}

fn engine(rules: &str) -> Engine {
    Engine::new(
        load_rule_file("r.yml", rules).unwrap(),
        EngineConfig::default(),
    )
}

#[test]
fn recording_rules_feed_alerts_and_lifecycle() {
    let mut e = engine(RULES);
    let mut seen = Vec::new();
    for m in 0..6 {
        let now = m * 60_000;
        e.observe(sample("api", now, if m < 4 { 10.0 } else { 1.0 }));
        for t in e.evaluate(now) {
            seen.push((m, t.from, t.to, t.annotations.clone()));
        }
    }
    let ann = vec![("summary".to_string(), "api has 10 errors".to_string())];
    assert_eq!(
        seen,
        vec![
            (0, AlertState::Inactive, AlertState::Pending, ann.clone()),
            (2, AlertState::Pending, AlertState::Firing, ann.clone()),
            (4, AlertState::Firing, AlertState::Inactive, ann),
        ]
    );
}

#[test]
fn late_samples_within_tolerance_count_later_ones_are_dropped() {
    let config = EngineConfig {
        out_of_order_tolerance_ms: 30_000,
        ..Default::default()
    };
    let mut e = Engine::new(load_rule_file("r.yml", RULES).unwrap(), config);
    e.observe(sample("api", 60_000, 1.0));
    e.observe(sample("api", 40_000, 2.0)); // 20 s late: accepted
    e.observe(sample("api", 10_000, 3.0)); // 50 s late: dropped
    let d = e.take_diagnostics();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].kind, DiagnosticKind::LateDropped);
    assert!(d[0].message.contains("out of order"), "{}", d[0].message);
}

#[test]
fn state_survives_export_and_import() {
    let mut e = engine(RULES);
    for m in 0..3 {
        e.observe(sample("api", m * 60_000, 10.0));
        e.evaluate(m * 60_000);
    }
    let json = serde_json::to_string(&e.export_state()).unwrap();
    let state: EngineState = serde_json::from_str(&json).unwrap();
    // a restarted engine: same rules, empty store, imported state
    let mut e2 = engine(RULES);
    e2.import_state(state).unwrap();
    let firing: Vec<_> = e2
        .alerts()
        .filter(|(_, _, a)| a.state == AlertState::Firing)
        .collect();
    assert_eq!(firing.len(), 1);
    assert_eq!(firing[0].2.active_at_ms, 0);
    e2.observe(sample("api", 180_000, 10.0));
    assert!(
        e2.evaluate(180_000).is_empty(),
        "still firing: no transition after the restart"
    );
    let mut bad = e2.export_state();
    bad.version = 99;
    assert!(e2.import_state(bad).is_err());
}

#[test]
fn replacing_rules_keeps_state_of_unchanged_rules() {
    let mut e = engine(RULES);
    for m in 0..3 {
        e.observe(sample("api", m * 60_000, 10.0));
        e.evaluate(m * 60_000);
    }
    // an annotation change keeps the state; a new rule starts empty
    let changed = RULES.replace("has {{ $value }} errors", "is failing")
        + "  - alert: Other\n    expr: job:errors:sum > 1\n";
    e.replace_rules(load_rule_file("r.yml", &changed).unwrap());
    assert_eq!(
        e.alerts_of("TooManyErrors")
            .filter(|a| a.state == AlertState::Firing)
            .count(),
        1
    );
    // an expression change resets it
    let reset = RULES.replace("job:errors:sum > 5", "job:errors:sum > 6");
    e.replace_rules(load_rule_file("r.yml", &reset).unwrap());
    assert_eq!(e.alerts_of("TooManyErrors").count(), 0);
}
