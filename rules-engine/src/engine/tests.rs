//! Tests of the engine's caches: rendered labels/annotations per series (re-rendered when a
//! `$value` template sees a new value), cached selectors seeing series created later, the
//! `ALERTS` / `ALERTS_FOR_STATE` series across state changes, recording-rule output (with
//! staleness) across a store compaction, and templates that `query` the store (re-rendered at
//! every evaluation).

use super::{Engine, EngineConfig, Event};
use crate::alert::AlertState;
use crate::eval::{Value, eval_instant};
use crate::input::{Labels, Sample};
use crate::rule::load_rule_file;
use crate::syntax::parse_expr;

fn engine(rules: &str) -> Engine {
    Engine::new(
        load_rule_file("r.yml", rules).unwrap(),
        EngineConfig::default(),
    )
}

fn put(e: &mut Engine, name: &str, inst: &str, t_ms: i64, value: f64) {
    e.observe(Event::Sample(Sample {
        labels: Labels::from_pairs([("__name__", name), ("instance", inst)]),
        t_ms,
        value,
    }));
}

/// `expr` at `t` as sorted `(labels, value)` strings.
fn query(e: &Engine, expr: &str, t: i64) -> Vec<(String, f64)> {
    let Value::Vector(v) = eval_instant(&parse_expr(expr).unwrap(), e.store(), t).unwrap() else {
        panic!("not a vector")
    };
    let mut out: Vec<_> = v
        .into_iter()
        .map(|s| (s.labels.to_string(), s.value))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn annotations(e: &Engine, rule: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut v: Vec<_> = e
        .alerts_of(rule)
        .map(|a| (a.labels.to_string(), a.annotations.clone()))
        .collect();
    v.sort();
    v
}

#[test]
fn value_templates_re_render_when_the_value_changes() {
    let mut e = engine(
        "groups:
- name: g
  interval: 1m
  rules:
  - alert: High
    expr: x > 0
    labels: {who: '{{ $labels.instance }}'}
    annotations:
      v: 'value {{ $value }}'
      l: 'on {{ $labels.instance }}'
",
    );
    let ann = |v: &str| {
        vec![
            ("l".to_string(), "on a".to_string()),
            ("v".to_string(), format!("value {v}")),
        ]
    };
    put(&mut e, "x", "a", 0, 1.0);
    e.evaluate(0);
    let labels = r#"{alertname="High", instance="a", who="a"}"#.to_string();
    assert_eq!(annotations(&e, "High"), vec![(labels.clone(), ann("1"))]);
    // same value: the cached rendering is reused and stays right
    put(&mut e, "x", "a", 60_000, 1.0);
    e.evaluate(60_000);
    assert_eq!(annotations(&e, "High"), vec![(labels.clone(), ann("1"))]);
    // new value: re-rendered
    put(&mut e, "x", "a", 120_000, 7.5);
    let ts = e.evaluate(120_000);
    assert_eq!(annotations(&e, "High"), vec![(labels.clone(), ann("7.5"))]);
    assert!(ts.is_empty(), "still pending, no transition: {ts:?}");
}

#[test]
fn value_in_a_label_template_changes_the_alert_identity() {
    let mut e = engine(
        "groups:
- name: g
  interval: 1m
  rules:
  - alert: Level
    expr: x > 0
    labels: {level: '{{ if gt $value 5.0 }}high{{ else }}low{{ end }}'}
",
    );
    put(&mut e, "x", "a", 0, 1.0);
    e.evaluate(0);
    put(&mut e, "x", "a", 60_000, 9.0);
    let ts = e.evaluate(60_000);
    let changes: Vec<_> = ts
        .iter()
        .map(|t| (t.labels.get("level").unwrap_or("").to_string(), t.to))
        .collect();
    assert!(
        changes.contains(&("high".into(), AlertState::Firing)),
        "{changes:?}"
    );
    assert!(
        changes.contains(&("low".into(), AlertState::Inactive)),
        "{changes:?}"
    );
}

#[test]
fn cached_selectors_see_series_created_after_the_first_evaluation() {
    let mut e = engine(
        "groups:
- name: g
  interval: 1m
  rules:
  - alert: Up
    expr: up == 1
  - alert: UpToo
    expr: up == 1
  - record: up:count
    expr: count(up)
",
    );
    put(&mut e, "up", "a", 0, 1.0);
    e.evaluate(0);
    assert_eq!(e.alerts_of("Up").count(), 1);
    put(&mut e, "up", "a", 60_000, 1.0);
    put(&mut e, "up", "b", 60_000, 1.0);
    e.evaluate(60_000);
    assert_eq!(e.alerts_of("Up").count(), 2);
    assert_eq!(e.alerts_of("UpToo").count(), 2);
    assert_eq!(
        query(&e, "up:count", 60_000),
        vec![(r#"{__name__="up:count"}"#.to_string(), 2.0)]
    );
}

#[test]
fn alerts_series_follow_the_alert_state() {
    let mut e = engine(
        "groups:
- name: g
  interval: 1m
  rules:
  - alert: Hot
    expr: temp > 50
    for: 1m
    labels: {severity: page}
",
    );
    let alerts = |e: &Engine, t| query(e, "ALERTS", t);
    let for_state = |e: &Engine, t| query(e, "ALERTS_FOR_STATE", t);
    let pending = r#"{__name__="ALERTS", alertname="Hot", alertstate="pending", instance="a", severity="page"}"#;
    let firing = r#"{__name__="ALERTS", alertname="Hot", alertstate="firing", instance="a", severity="page"}"#;
    let fs = r#"{__name__="ALERTS_FOR_STATE", alertname="Hot", instance="a", severity="page"}"#;
    put(&mut e, "temp", "a", 60_000, 60.0);
    e.evaluate(60_000);
    assert_eq!(alerts(&e, 60_000), vec![(pending.to_string(), 1.0)]);
    assert_eq!(for_state(&e, 60_000), vec![(fs.to_string(), 60.0)]);
    put(&mut e, "temp", "a", 120_000, 60.0);
    e.evaluate(120_000);
    // the pending series went stale when the alert started firing
    assert_eq!(alerts(&e, 120_000), vec![(firing.to_string(), 1.0)]);
    assert_eq!(for_state(&e, 120_000), vec![(fs.to_string(), 60.0)]);
    put(&mut e, "temp", "a", 180_000, 60.0);
    e.evaluate(180_000);
    assert_eq!(alerts(&e, 180_000), vec![(firing.to_string(), 1.0)]);
    put(&mut e, "temp", "a", 240_000, 10.0);
    e.evaluate(240_000);
    assert!(alerts(&e, 240_000).is_empty());
    assert!(for_state(&e, 240_000).is_empty());
    // and again: a new pending series for the next episode
    put(&mut e, "temp", "a", 300_000, 70.0);
    e.evaluate(300_000);
    assert_eq!(alerts(&e, 300_000), vec![(pending.to_string(), 1.0)]);
    assert_eq!(for_state(&e, 300_000), vec![(fs.to_string(), 300.0)]);
}

#[test]
fn recording_output_survives_compaction_and_goes_stale() {
    let mut e = engine(
        "groups:
- name: g
  interval: 1m
  rules:
  - record: x:double
    expr: x * 2
",
    );
    // many short-lived series so that gc compacts (renumbers) the store
    for i in 0..40 {
        put(&mut e, "old", &format!("o{i}"), 0, 1.0);
    }
    put(&mut e, "x", "a", 0, 1.0);
    put(&mut e, "x", "b", 0, 1.0);
    e.evaluate(0);
    let epoch = e.store.epoch();
    for m in 1..12 {
        let t = m * 60_000;
        put(&mut e, "x", "a", t, m as f64);
        if m < 5 {
            put(&mut e, "x", "b", t, 1.0);
        }
        e.evaluate(t);
    }
    assert_ne!(e.store.epoch(), epoch, "the store was compacted");
    let t = 11 * 60_000;
    assert_eq!(
        query(&e, "x:double", t),
        vec![(r#"{__name__="x:double", instance="a"}"#.to_string(), 22.0)]
    );
    // b's output was marked stale when b left the 5 m look-back (at 10m)
    assert!(query(&e, r#"x:double{instance="b"}"#, t).is_empty());
    assert_eq!(e.groups[0].rules[0].written.len(), 1);
}

#[test]
fn query_templates_re_render_at_every_evaluation_and_see_earlier_rules() {
    // the alert's own value stays 1; what its annotation queries changes, and `x:sum` is
    // written by the rule before it in the same evaluation
    let mut e = engine(
        "groups:
- name: g
  interval: 1m
  rules:
  - record: x:sum
    expr: sum(x)
  - alert: Some
    expr: x == 1
    annotations:
      s: '{{ with query \"x:sum\" }}{{ . | first | value }}{{ end }} of {{ query \"x\" | len }}'
      q: '{{ query \"x{\" }}'
",
    );
    let ann = |sum: &str, n: usize| -> Vec<(String, Vec<(String, String)>)> {
        let err = "<error expanding template: error executing template __alert_Some: template: \
            __alert_Some:1:115: executing \"__alert_Some\" at <query \"x{\">: error calling \
            query: 1:3: parse error: unexpected end of input inside braces>";
        vec![(
            r#"{alertname="Some", instance="a"}"#.to_string(),
            vec![
                ("q".to_string(), err.to_string()),
                ("s".to_string(), format!("{sum} of {n}")),
            ],
        )]
    };
    put(&mut e, "x", "a", 0, 1.0);
    put(&mut e, "x", "b", 0, 5.0);
    e.evaluate(0);
    assert_eq!(annotations(&e, "Some"), ann("6", 2));
    put(&mut e, "x", "a", 60_000, 1.0);
    put(&mut e, "x", "b", 60_000, 10.0);
    put(&mut e, "x", "c", 60_000, 3.0);
    e.evaluate(60_000);
    assert_eq!(annotations(&e, "Some"), ann("14", 3));
}
