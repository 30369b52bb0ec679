//! Differential test of expression evaluation against `promtool` 2.42 (the oracle).
//!
//! `tests/data/promql_cases.txt` holds groups of `load <interval>` series and `eval <time>
//! <expr>` cases. Each group becomes a promtool unit test whose `promql_expr_test`s expect
//! nothing, so promtool prints what it got (or the error); our engine evaluates the same cases
//! and the results must agree (labels exactly, values to 1e-9 relative).
// Integration test: unwrap/print are the test's assertions and diagnostics.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::process::Command;

use rules_engine::eval::{Store, Value, eval_instant};
use rules_engine::input::{Labels, STALE_NAN};
use rules_engine::syntax::{Expr, format_duration, parse_expr};

struct Group {
    interval_ms: i64,
    series: Vec<(String, String)>,
    cases: Vec<(i64, String)>,
}

fn parse_duration(s: &str) -> i64 {
    if s == "0" {
        return 0;
    }
    match parse_expr(&format!("x[{s}]")).unwrap() {
        Expr::Matrix(m) => m.range_ms,
        _ => unreachable!(),
    }
}

fn read_cases(text: &str) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some(d) = t.strip_prefix("load ") {
            groups.push(Group {
                interval_ms: parse_duration(d.trim()),
                series: Vec::new(),
                cases: Vec::new(),
            });
        } else if let Some(rest) = t.strip_prefix("eval ") {
            let (time, expr) = rest.split_once(' ').unwrap();
            let g = groups.last_mut().unwrap();
            g.cases
                .push((parse_duration(time), expr.trim().to_string()));
        } else {
            let split = t.rfind('}').map_or_else(|| t.find(' ').unwrap(), |p| p + 1);
            let (s, v) = t.split_at(split);
            groups
                .last_mut()
                .unwrap()
                .series
                .push((s.trim().to_string(), v.trim().to_string()));
        }
    }
    groups
}

fn series_labels(sel: &str) -> Labels {
    match parse_expr(sel).unwrap() {
        Expr::Vector(v) => {
            let mut pairs: Vec<(String, String)> = v
                .matchers
                .iter()
                .map(|m| (m.name.clone(), m.value.clone()))
                .collect();
            if let Some(n) = v.name {
                pairs.push(("__name__".into(), n));
            }
            Labels::from_pairs(pairs)
        }
        other => panic!("not a series: {other}"),
    }
}

fn num(s: &str) -> f64 {
    match s {
        "Inf" | "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        s => s.parse().unwrap_or_else(|_| panic!("bad number {s}")),
    }
}

/// Expands promtool's value notation into optional values, one per interval.
fn expand(values: &str) -> Vec<Option<f64>> {
    let mut out = Vec::new();
    for tok in values.split_whitespace() {
        if tok == "_" {
            out.push(None);
            continue;
        }
        if tok == "stale" {
            out.push(Some(STALE_NAN));
            continue;
        }
        let Some((head, n)) = tok.split_once('x') else {
            out.push(Some(num(tok)));
            continue;
        };
        let n: usize = n.parse().unwrap();
        if head == "_" {
            out.extend(std::iter::repeat_n(None, n));
            continue;
        }
        let b = head.as_bytes();
        let pos = (1..b.len())
            .rev()
            .find(|&i| (b[i] == b'+' || b[i] == b'-') && b[i - 1] != b'e');
        let (start, step) = match pos {
            Some(p) => {
                let sign = if b[p] == b'-' { -1.0 } else { 1.0 };
                (num(&head[..p]), sign * num(&head[p + 1..]))
            }
            None => (num(head), 0.0),
        };
        for k in 0..=n {
            out.push(Some(start + step * k as f64));
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Samples(Vec<(String, f64)>),
    Error(String),
}

fn ours(g: &Group) -> Vec<Outcome> {
    let mut store = Store::new();
    store.set_retention(i64::MAX / 4);
    for (sel, vals) in &g.series {
        let l = series_labels(sel);
        for (i, v) in expand(vals).into_iter().enumerate() {
            if let Some(v) = v {
                store.add_sample(&l, i as i64 * g.interval_ms, v).unwrap();
            }
        }
    }
    g.cases
        .iter()
        .map(|(t, src)| {
            let e = match parse_expr(src) {
                Ok(e) => e,
                Err(e) => return Outcome::Error(format!("parse error: {e}")),
            };
            match eval_instant(&e, &store, *t) {
                Ok(Value::Scalar(v)) => Outcome::Samples(vec![("{}".into(), v)]),
                Ok(Value::Vector(v)) => {
                    let mut s: Vec<(String, f64)> = v
                        .into_iter()
                        .map(|s| (s.labels.to_string(), s.value))
                        .collect();
                    s.sort_by(|a, b| a.0.cmp(&b.0));
                    Outcome::Samples(s)
                }
                Ok(other) => Outcome::Error(format!("unexpected value {other:?}")),
                Err(e) => Outcome::Error(e.to_string()),
            }
        })
        .collect()
}

fn yaml_str(s: &str) -> String {
    // JSON strings are YAML double-quoted strings
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Go's `%q` unquoting for the simple escapes promtool emits.
fn go_unquote(s: &str) -> (String, &str) {
    let mut out = String::new();
    let mut it = s.char_indices().skip(1);
    while let Some((i, c)) = it.next() {
        match c {
            '"' => return (out, &s[i + 1..]),
            '\\' => {
                let (_, e) = it.next().unwrap();
                out.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    e => e,
                });
            }
            c => out.push(c),
        }
    }
    (out, "")
}

/// Parses `{a="b"} 1E+00, {c="d"} 2E+00`.
fn parse_got(s: &str) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        // labels up to the matching '}' outside quotes
        let mut in_q = false;
        let mut esc = false;
        let mut end = 0;
        for (i, c) in rest.char_indices() {
            if esc {
                esc = false;
                continue;
            }
            match c {
                '\\' if in_q => esc = true,
                '"' => in_q = !in_q,
                '}' if !in_q => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        let labels = &rest[..end];
        let after = rest[end..].trim_start();
        let vend = after.find(", ").unwrap_or(after.len());
        let v = num(&after[..vend].replace("E+", "e").replace("E-", "e-"));
        out.push((labels.to_string(), v));
        rest = after[vend..].trim_start_matches(", ");
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn promtool(g: &Group, dir: &std::path::Path, idx: usize) -> HashMap<(String, i64), Outcome> {
    let mut y = String::from("rule_files: []\nevaluation_interval: 1m\ntests:\n");
    y.push_str(&format!(
        "  - interval: {}\n    input_series:\n",
        format_duration(g.interval_ms)
    ));
    for (s, v) in &g.series {
        y.push_str(&format!(
            "      - series: {}\n        values: {}\n",
            yaml_str(s),
            yaml_str(v)
        ));
    }
    y.push_str("    promql_expr_test:\n");
    for (t, e) in &g.cases {
        y.push_str(&format!(
            "      - expr: {}\n        eval_time: {}\n        exp_samples: []\n",
            yaml_str(e),
            format_duration(*t)
        ));
    }
    let path = dir.join(format!("group{idx}.yml"));
    std::fs::write(&path, &y).unwrap();
    let out = Command::new("promtool")
        .arg("test")
        .arg("rules")
        .arg(&path)
        .output()
        .expect("promtool must be installed (./scripts/test installs it)");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let mut res = HashMap::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i].trim_start();
        if let Some(q) = l.strip_prefix("expr: ") {
            let (expr, rest) = go_unquote(q);
            let rest = rest.trim_start_matches(", time: ");
            let (time, rest) = rest.split_once(',').unwrap();
            let key = (expr, parse_duration(time));
            if let Some(err) = rest.trim().strip_prefix("err: ") {
                res.insert(key, Outcome::Error(err.to_string()));
            } else if let Some(got) = lines.get(i + 2).and_then(|g| g.trim().strip_prefix("got:")) {
                res.insert(key, Outcome::Samples(parse_got(got)));
                i += 2;
            }
        }
        i += 1;
    }
    res
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || ((a - b).abs() <= 1e-9 * a.abs().max(b.abs()))
}

#[test]
fn expressions_agree_with_promtool() {
    let text = include_str!("data/promql_cases.txt");
    let groups = read_cases(text);
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut n = 0;
    for (gi, g) in groups.iter().enumerate() {
        let theirs = promtool(g, dir.path(), gi);
        for ((t, expr), mine) in g.cases.iter().zip(ours(g)) {
            n += 1;
            let want = theirs
                .get(&(expr.clone(), *t))
                .cloned()
                .unwrap_or(Outcome::Samples(Vec::new()));
            let ok = match (&mine, &want) {
                (Outcome::Samples(a), Outcome::Samples(b)) => {
                    a.len() == b.len()
                        && a.iter().zip(b).all(|(x, y)| x.0 == y.0 && close(x.1, y.1))
                }
                (Outcome::Error(_), Outcome::Error(_)) => true,
                _ => false,
            };
            if !ok {
                failures.push(format!(
                    "{expr} at {}:\n   ours:     {mine:?}\n   promtool: {want:?}",
                    format_duration(*t)
                ));
            }
        }
    }
    println!("{n} expression cases compared with promtool");
    assert!(
        failures.is_empty(),
        "{} of {n} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
