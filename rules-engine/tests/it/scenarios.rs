//! Rule behaviour as data: each file in `tests/it/scenarios/` holds rules, timed inputs (log
//! lines and samples) and the alert transitions expected from the streaming engine; one runner
//! plays them all.

use std::collections::BTreeMap;

use serde::Deserialize;

use rules_engine::engine::{Engine, EngineConfig, Event};
use rules_engine::input::{LogRecord, STALE_NAN, Sample};
use rules_engine::rule::{PromDuration, load_rule_file};
use rules_engine::unittest::parse_metric;
use rules_engine::yaml;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    #[serde(default)]
    #[allow(dead_code)] // documentation for the reader of the file
    description: String,
    rules: String,
    #[serde(default)]
    out_of_order_tolerance: Option<PromDuration>,
    #[serde(default)]
    external_labels: BTreeMap<String, String>,
    inputs: Vec<Input>,
    evaluate: EvalTimes,
    expect: Vec<Expected>,
    #[serde(default)]
    expect_late_dropped: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    at: PromDuration,
    #[serde(default)]
    stream: Option<String>,
    #[serde(default)]
    line: Option<String>,
    #[serde(default)]
    series: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    repeat: Option<i64>,
    #[serde(default)]
    every: Option<PromDuration>,
    /// Observe this input only after evaluating at this time (to play late arrivals).
    #[serde(default)]
    arrives: Option<PromDuration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EvalTimes {
    from: PromDuration,
    to: PromDuration,
    every: PromDuration,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
struct Expected {
    at: PromDuration,
    alert: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    from: String,
    to: String,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

fn run(name: &str, src: &str) -> Result<(), String> {
    let sc: Scenario = yaml::from_str(src)
        .map_err(|e| format!("{name}:{e}"))
        .map(|(s, _)| s)?;
    let groups = load_rule_file(&format!("{name}#rules"), &sc.rules).map_err(|e| e.to_string())?;
    let config = EngineConfig {
        out_of_order_tolerance_ms: sc.out_of_order_tolerance.map_or(0, |d| d.0),
        external_labels: sc.external_labels.clone(),
        ..Default::default()
    };
    let mut engine = Engine::new(groups, config);
    // expand inputs into (arrival time, event)
    let mut events: Vec<(i64, i64, Event)> = Vec::new();
    for inp in &sc.inputs {
        let every = inp.every.map_or(1000, |d| d.0);
        for k in 0..inp.repeat.unwrap_or(1) {
            let t = inp.at.0 + k * every;
            let ev = match (&inp.stream, &inp.line, &inp.series, &inp.value) {
                (Some(s), Some(l), None, None) => Event::Log(LogRecord {
                    labels: parse_metric(s)?,
                    t_ms: t,
                    line: l.clone(),
                }),
                (None, None, Some(s), Some(v)) => Event::Sample(Sample {
                    labels: parse_metric(s)?,
                    t_ms: t,
                    value: if v == "stale" {
                        STALE_NAN
                    } else {
                        v.parse().map_err(|e| format!("{v}: {e}"))?
                    },
                }),
                _ => {
                    return Err(format!(
                        "{name}: an input needs stream+line or series+value"
                    ));
                }
            };
            let arrival = inp.arrives.map_or(t, |a| a.0);
            events.push((arrival, t, ev));
        }
    }
    events.sort_by_key(|(a, t, _)| (*a, *t));
    let mut got = Vec::new();
    let mut next = 0;
    let mut now = sc.evaluate.from.0;
    while now <= sc.evaluate.to.0 {
        while next < events.len() && events[next].0 <= now {
            engine.observe(events[next].2.clone());
            next += 1;
        }
        for tr in engine.evaluate(now) {
            got.push(Expected {
                at: PromDuration(tr.at_ms),
                alert: tr.rule.clone(),
                labels: tr
                    .labels
                    .iter()
                    .filter(|(k, _)| *k != "alertname")
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                from: tr.from.as_str().to_string(),
                to: tr.to.as_str().to_string(),
                value: None,
                annotations: BTreeMap::new(),
            });
            let last = got.len() - 1;
            // compare value/annotations only where the scenario states them
            if let Some(exp) = sc.expect.get(last) {
                if exp.value.is_some() {
                    got[last].value = Some(tr.value);
                }
                if !exp.annotations.is_empty() {
                    got[last].annotations = tr.annotations.iter().cloned().collect();
                }
            }
        }
        now += sc.evaluate.every.0;
    }
    let late = engine
        .take_diagnostics()
        .iter()
        .filter(|d| d.kind == rules_engine::diagnostic::DiagnosticKind::LateDropped)
        .count();
    if got != sc.expect || late != sc.expect_late_dropped {
        return Err(format!(
            "{name}: transitions differ\nexpected:\n{:#?}\ngot:\n{got:#?}\nlate dropped: expected {} got {late}",
            sc.expect, sc.expect_late_dropped
        ));
    }
    Ok(())
}

#[test]
fn log_rule_scenarios() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/scenarios");
    let mut failures = Vec::new();
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.extension().is_some_and(|e| e == "yml") {
            n += 1;
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if let Err(e) = run(&name, &std::fs::read_to_string(&p).unwrap()) {
                failures.push(e);
            }
        }
    }
    assert!(n >= 8, "expected the scenario files, found {n}");
    assert!(
        failures.is_empty(),
        "{} of {n} scenarios failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
