//! promtool's rule unit tests (`promtool test rules`), file format unchanged: `rule_files`,
//! `evaluation_interval`, `group_eval_order`, `tests[]` with `interval`, `input_series`
//! (`a+bxN`, `_`, `stale`), `alert_rule_test`, `promql_expr_test`, `external_labels`,
//! `external_url`, `name`; plus `input_logs` for log rules:
//!
//! ```yaml
//! input_logs:
//!   - stream: '{app="api"}'
//!     lines:
//!       - {at: 30s, line: 'GET /x 500'}
//!       - {at: 1m, line: 'GET /y 500', repeat: 10, every: 1s}
//! ```
//!
//! Semantics and messages follow promtool 2.42: every group is evaluated at each
//! `evaluation_interval` step from 0 to the largest `eval_time`, input samples are visible up to
//! the last evaluation step, alerts are checked at the step with `ts <= eval_time < ts +
//! interval`, expression tests run at the end. The crate does no I/O: files are read through
//! [`Files`].
//!
//! Templates may `query` the test's series (at the evaluation time, seeing what earlier rules
//! wrote), with `first`, `label`, `value`, `strvalue`, `sortByLabel`, `.Labels`, `.Value`.
//!
//! Not mirrored: Go's random order when one rule has several bad labels or annotations; PromQL
//! grammar errors with context (`unexpected <op:+> in label matching, expected …`: only lexer
//! errors and `unexpected end of input`/`unexpected <token>` match). Repeated keys in a test
//! file are yaml.v2's decode errors (`field x already set in type …`, `key "x" already set in
//! map`), in rule files yaml.v3's. In templates: promtool loads the input series in Go's map order, so
//! the order of an unsorted `query` result (what `first` picks of several samples, an unsorted
//! `range`) changes from run to run, where c5 keeps the input order (use `sortByLabel` or an
//! aggregation); printing a whole query result shows the samples where Go prints their
//! addresses; `sortByLabel` returns a sorted copy (Go sorts in place, so a variable holding the
//! result changes too); `args` values are kept as strings (Go keeps their types). Function-call
//! execution errors are Go's (`template: __alert_X:1:115: executing "__alert_X" at <first>:
//! error calling first: …`, also wrong argument counts and wrong piped value types); other
//! execution errors (unknown fields, literal arguments of the wrong type, `range` over a
//! non-list) carry no position and Go's wording only in part, and a bad regular expression
//! (`reReplaceAll`, `match`) is described in the `regex` crate's words, not Go's `regexp`. An
//! action closed by a single `}` is an `unclosed action` (Go reports the stray `}` as
//! `unexpected "}" in operand`).

mod goyaml;
mod notation;
mod promrules;
mod report;
mod series;
mod spec;

use std::collections::BTreeMap;

use crate::engine::{Engine, EngineConfig, Event};
use crate::eval::{self, Value};
use crate::input::{Labels, LogRecord, Sample};
use crate::rule::{Group, load_rule_file, load_rule_file_parsed};
use crate::syntax::{parse_expr, prometheus_message};
use crate::yaml;
pub use notation::{SeqValue, go_duration, go_quote, pairs_string, parse_metric, parse_values};
pub use promrules::{CheckOutcome, check_rule_file};
pub use report::{Report, Stream};
use report::{alerts_string, indent, samples_string, sort_key};
pub use series::parse_series_desc;
pub use spec::{
    AlertTestSpec, ExpAlertSpec, ExpSampleSpec, ExprTestSpec, LogInputSpec, LogLineSpec,
    SeriesSpec, TestFileSpec, TestGroupSpec,
};

/// Access to files for the test runner (the caller does the I/O).
pub trait Files {
    /// The text of `path`.
    fn read(&self, path: &str) -> Result<String, String>;
    /// Paths matching a glob pattern (a plain path matches itself when it exists).
    fn glob(&self, pattern: &str) -> Result<Vec<String>, String>;
}

/// Label or annotation pairs in name order (empty values kept, as promtool compares them).
pub type Pairs = Vec<(String, String)>;

/// What one alert test saw: the firing alerts as (labels, annotations) pairs, sorted.
pub type GotAlerts = Vec<(Pairs, Pairs)>;

/// The actual results of a test group, for tools that generate expectations.
#[derive(Debug, Clone, Default)]
pub struct Actuals {
    /// Per `alert_rule_test` item, in file order.
    pub alerts: Vec<GotAlerts>,
    /// Per `promql_expr_test` item, in file order: the samples or the error.
    pub exprs: Vec<Result<Vec<(Labels, f64)>, String>>,
}

/// Go's `filepath.Join(dir(test_file), rel)` with cleaning.
fn join(test_file: &str, rel: &str) -> String {
    if rel.is_empty() || rel.starts_with('/') {
        return rel.to_string();
    }
    let dir = match test_file.rfind('/') {
        Some(i) => &test_file[..i],
        None => ".",
    };
    let joined = format!("{dir}/{rel}");
    let abs = joined.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            ".." if abs => {}
            p => parts.push(p),
        }
    }
    let s = parts.join("/");
    match (abs, s.is_empty()) {
        (true, _) => format!("/{s}"),
        (false, true) => ".".into(),
        (false, false) => s,
    }
}

/// Options of the test runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Threads for loading rule files and evaluating independent rule groups (1: one after
    /// the other). Reports are the same whatever the number.
    pub threads: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { threads: 1 }
    }
}

/// Runs one test file like `promtool test rules FILE`.
pub fn run_file(path: &str, files: &dyn Files) -> Report {
    run_file_with(path, files, &RunOptions::default()).0
}

/// Like [`run_file`], also returning the actual results of each test group.
pub fn run_file_with_actuals(path: &str, files: &dyn Files) -> (Report, Vec<Actuals>) {
    run_file_with(path, files, &RunOptions::default())
}

/// [`run_file_with_actuals`] with options.
pub fn run_file_with(path: &str, files: &dyn Files, opts: &RunOptions) -> (Report, Vec<Actuals>) {
    let mut report = Report {
        file: path.to_string(),
        ..Default::default()
    };
    let mut actuals = Vec::new();
    let src = match files.read(path) {
        Ok(s) => s,
        Err(e) => {
            report.errors.push(e);
            return (report, actuals);
        }
    };
    // promtool decodes with yaml.v2's UnmarshalStrict: its texts for syntax, unknown-field
    // and type errors, then this crate's typed decode (which should not fail after that)
    let root = match yaml::parse_v2(&src) {
        Ok(r) => r,
        Err(e) => {
            report
                .errors
                .push(goyaml::syntax_message(&e, &src, goyaml::Dialect::V2));
            return (report, actuals);
        }
    };
    if let Some(m) = goyaml::decode(&root, &goyaml::TEST_FILE, goyaml::Dialect::V2, true).message()
    {
        report.errors.push(m);
        return (report, actuals);
    }
    let spec: TestFileSpec = match if root.is_null() {
        yaml::from_str("{}").map(|(v, _)| v)
    } else {
        yaml::from_node(&root)
    } {
        Ok(s) => s,
        Err(e) => {
            let sep = if e.pos.is_some() { ":" } else { ": " };
            report.errors.push(format!("{path}{sep}{e}"));
            return (report, actuals);
        }
    };
    let mut rule_files = Vec::new();
    for rf in &spec.rule_files {
        let pattern = join(path, rf);
        match files.glob(&pattern) {
            Ok(m) => {
                if m.is_empty() {
                    report
                        .warnings
                        .push(format!("  WARNING: no file match pattern {pattern}"));
                }
                rule_files.extend(m);
            }
            Err(e) => {
                report.errors.push(e);
                return (report, actuals);
            }
        }
    }
    let eval_interval = spec.evaluation_interval.map_or(60_000, |d| d.0).max(1);
    let mut order: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, g) in spec.group_eval_order.iter().enumerate() {
        if order.insert(g, i).is_some() {
            report
                .errors
                .push(format!("group name repeated in evaluation order: {g}"));
            return (report, actuals);
        }
    }
    // load rule files once; as promtool's rule manager, stop at the first file with errors,
    // whose errors then fail every test group
    let mut groups: Vec<Group> = Vec::new();
    let mut load_errors = Vec::new();
    for f in &rule_files {
        match files.read(f) {
            Err(e) => load_errors.push(e),
            Ok(text) => {
                // promtool's checks and this crate's loader are independent reads of the text
                let (errs, loaded) = if opts.threads > 1 {
                    let parsed = yaml::parse(&text);
                    std::thread::scope(|s| {
                        let h = s.spawn(|| promrules::rule_file_errors_parsed(f, &text, &parsed));
                        let loaded = load_rule_file_parsed(f, &parsed);
                        // a panic in the checks is a bug: report it like one
                        let errs = h.join().unwrap_or_else(|_| {
                            vec![format!("{f}: internal error while checking the rule file")]
                        });
                        (errs, loaded)
                    })
                } else {
                    let errs = promrules::rule_file_errors(f, &text);
                    let loaded = if errs.is_empty() {
                        load_rule_file(f, &text)
                    } else {
                        Ok(Vec::new())
                    };
                    (errs, loaded)
                };
                load_errors = errs;
                if load_errors.is_empty() {
                    match loaded {
                        Ok(g) => groups.extend(g),
                        Err(es) => load_errors.extend(es.errors.iter().map(|e| match e.pos {
                            Some(p) => format!("{}: {}:{}: {}", e.file, p.line, p.col, e.message),
                            None => format!("{}: {}", e.file, e.message),
                        })),
                    }
                }
            }
        }
        if !load_errors.is_empty() {
            break;
        }
    }
    groups.sort_by_key(|g| order.get(g.name.as_str()).copied().unwrap_or(0));
    for tg in &spec.tests {
        if !load_errors.is_empty() {
            report.errors.extend(load_errors.iter().cloned());
            actuals.push(Actuals::default());
            continue;
        }
        let (errs, act) = run_group(tg, &groups, eval_interval, opts.threads);
        report.errors.extend(errs);
        actuals.push(act);
    }
    (report, actuals)
}

fn run_group(
    tg: &TestGroupSpec,
    groups: &[Group],
    eval_interval: i64,
    threads: usize,
) -> (Vec<String>, Actuals) {
    let mut errs = Vec::new();
    let mut act = Actuals::default();
    for a in &tg.alert_rule_test {
        if a.alertname.is_empty() {
            let in_group = if tg.name.is_empty() {
                String::new()
            } else {
                format!(" (in TestGroup {})", tg.name)
            };
            return (
                vec![format!(
                    "an item under alert_rule_test misses required attribute alertname at eval_time {}{in_group}",
                    a.eval_time
                )],
                act,
            );
        }
    }
    // parse inputs first: a bad series fails the group before any evaluation
    let interval = tg.interval.map_or(0, |d| d.0);
    let mut samples: Vec<(i64, Labels, f64)> = Vec::new();
    for s in &tg.input_series {
        let (labels, values) = match parse_series_desc(&s.series, &s.values) {
            Ok(lv) => lv,
            Err(e) => return (vec![e], act),
        };
        for (i, v) in values.into_iter().enumerate() {
            if let SeqValue::Value(v) = v {
                samples.push((i as i64 * interval, labels.clone(), v));
            }
        }
    }
    let mut logs: Vec<LogRecord> = Vec::new();
    for li in &tg.input_logs {
        let labels = match parse_metric(&li.stream) {
            Ok(l) => l,
            Err(e) => return (vec![format!("input_logs stream {:?}: {e}", li.stream)], act),
        };
        for l in &li.lines {
            let every = l.every.map_or(1000, |d| d.0);
            for k in 0..l.repeat.unwrap_or(1) {
                logs.push(LogRecord {
                    labels: labels.clone(),
                    t_ms: l.at.0 + k as i64 * every,
                    line: l.line.clone(),
                });
            }
        }
    }
    logs.sort_by_key(|r| r.t_ms);
    let maxt = tg
        .alert_rule_test
        .iter()
        .map(|a| a.eval_time.0)
        .chain(tg.promql_expr_test.iter().map(|p| p.eval_time.0))
        .max()
        .unwrap_or(0);
    let last_ts = maxt - maxt % eval_interval;
    let config = EngineConfig {
        default_interval_ms: eval_interval,
        out_of_order_tolerance_ms: i64::MAX / 4,
        external_labels: tg.external_labels.clone(),
        external_url: tg.external_url.clone(),
        write_alert_series: true,
        eval_threads: threads,
    };
    let mut engine = Engine::new(groups.to_vec(), config);
    for (t, labels, v) in samples {
        if t <= last_ts {
            engine.observe(Event::Sample(Sample {
                labels,
                t_ms: t,
                value: v,
            }));
        }
    }
    for rec in logs {
        if rec.t_ms <= last_ts {
            engine.observe(Event::Log(rec));
        }
    }
    engine.take_diagnostics();
    let mut times: Vec<i64> = tg.alert_rule_test.iter().map(|a| a.eval_time.0).collect();
    times.sort_unstable();
    times.dedup();
    act.alerts = vec![Vec::new(); tg.alert_rule_test.len()];
    let mut curr = 0;
    let mut ts = 0;
    while ts <= maxt {
        engine.evaluate_all_at(ts);
        let rule_errs = engine.rule_errors();
        if !rule_errs.is_empty() {
            for (name, e) in rule_errs {
                errs.push(format!(
                    "    rule: {name}, time: {}, err: {e}",
                    go_duration(ts)
                ));
            }
            return (errs, act);
        }
        while curr < times.len() && ts <= times[curr] && times[curr] < ts + eval_interval {
            let t = times[curr];
            for (i, case) in tg
                .alert_rule_test
                .iter()
                .enumerate()
                .filter(|(_, c)| c.eval_time.0 == t)
            {
                let mut got: GotAlerts = engine
                    .alerts_of(&case.alertname)
                    .filter(|a| a.state == crate::alert::AlertState::Firing)
                    .map(|a| {
                        let l = a
                            .labels
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect();
                        (l, a.annotations.clone())
                    })
                    .collect();
                let mut exp: GotAlerts = case
                    .exp_alerts
                    .iter()
                    .map(|e| {
                        let mut l = e.exp_labels.clone();
                        l.insert("alertname".into(), case.alertname.clone());
                        (
                            l.into_iter().collect(),
                            e.exp_annotations.clone().into_iter().collect(),
                        )
                    })
                    .collect();
                got.sort_by(|a, b| {
                    sort_key(&a.0)
                        .cmp(&sort_key(&b.0))
                        .then_with(|| a.1.cmp(&b.1))
                });
                exp.sort_by(|a, b| {
                    sort_key(&a.0)
                        .cmp(&sort_key(&b.0))
                        .then_with(|| a.1.cmp(&b.1))
                });
                if got != exp {
                    let name = if tg.name.is_empty() {
                        String::new()
                    } else {
                        format!("    name: {},\n", tg.name)
                    };
                    errs.push(format!(
                        "{name}    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
                        case.alertname,
                        case.eval_time,
                        indent(&alerts_string(&exp), "            "),
                        indent(&alerts_string(&got), "            "),
                    ));
                }
                act.alerts[i] = got;
            }
            curr += 1;
        }
        ts += eval_interval;
    }
    for case in &tg.promql_expr_test {
        let fail = |m: String| {
            format!(
                "    expr: {}, time: {}, err: {m}",
                go_quote(&case.expr),
                case.eval_time
            )
        };
        let got = match parse_expr(&case.expr) {
            Err(e) => Err(prometheus_message(&case.expr, &e)),
            Ok(expr) => match eval::eval_instant(&expr, engine.store(), case.eval_time.0) {
                Err(e) => Err(e.to_string()),
                Ok(Value::Vector(v)) => Ok(v
                    .into_iter()
                    .map(|s| (s.labels, s.value))
                    .collect::<Vec<_>>()),
                Ok(Value::Scalar(v)) => Ok(vec![(Labels::empty(), v)]),
                Ok(_) => Err("rule result is not a vector or scalar".to_string()),
            },
        };
        let mut got = match got {
            Ok(g) => g,
            Err(e) => {
                errs.push(fail(e.clone()));
                act.exprs.push(Err(e));
                continue;
            }
        };
        let mut exp = Vec::new();
        let mut bad = None;
        for s in &case.exp_samples {
            match parse_metric(&s.labels) {
                Ok(l) => exp.push((l, s.value)),
                Err(e) => {
                    bad = Some(format!("labels {}: {e}", go_quote(&s.labels)));
                    break;
                }
            }
        }
        got.sort_by(|a, b| a.0.cmp(&b.0));
        act.exprs.push(Ok(got.clone()));
        if let Some(b) = bad {
            errs.push(fail(b));
            continue;
        }
        exp.sort_by(|a, b| a.0.cmp(&b.0));
        let equal =
            exp.len() == got.len() && exp.iter().zip(&got).all(|(e, g)| e.0 == g.0 && e.1 == g.1);
        if !equal {
            errs.push(format!(
                "    expr: {}, time: {},\n        exp: {}\n        got: {}",
                go_quote(&case.expr),
                case.eval_time,
                samples_string(&exp),
                samples_string(&got)
            ));
        }
    }
    (errs, act)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_like_go() {
        assert_eq!(join("t.yml", "r.yml"), "r.yml");
        assert_eq!(join("/a/b/t.yml", "../r.yml"), "/a/r.yml");
        assert_eq!(join("a/t.yml", "./x/r.yml"), "a/x/r.yml");
        assert_eq!(join("a/t.yml", "/abs.yml"), "/abs.yml");
    }

    #[test]
    fn output_shape() {
        let r = Report {
            file: "t.yml".into(),
            warnings: vec![],
            errors: vec!["x".into()],
        };
        let o = r.output();
        assert_eq!(o[1], (Stream::Stderr, "  FAILED:".to_string()));
        assert_eq!(o.len(), 5);
    }
}
