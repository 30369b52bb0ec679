//! Evaluation tests: series loaded in promtool's `a+bxN` notation, results checked as text.

use super::*;
use crate::syntax::parse_expr;

/// Loads series written like promtool's `input_series` (one `series values` per line) with
/// the given scrape interval in seconds.
pub(crate) fn load(store: &mut Store, interval_s: i64, text: &str) {
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let split = line
            .rfind('}')
            .map_or_else(|| line.find(' ').unwrap(), |p| p + 1);
        let (sel, values) = line.split_at(split);
        let labels = match parse_expr(sel.trim()).unwrap() {
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
        };
        let mut t = 0i64;
        for tok in values.split_whitespace() {
            let (start, step, n) = expand(tok);
            for k in 0..n {
                if let Some(s) = start {
                    let v = if s.is_nan() && step.is_nan() {
                        s
                    } else {
                        s + step * k as f64
                    };
                    store.add_sample(&labels, t * 1000, v).unwrap();
                }
                t += interval_s;
            }
        }
    }
}

/// `a+bxN` → (a, b, N+1); `axN` → (a, 0, N+1); `_` → skip; `stale` → marker; `_xN` skips N.
fn expand(tok: &str) -> (Option<f64>, f64, usize) {
    let num = |s: &str| -> f64 {
        match s {
            "Inf" | "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            s => s.parse().unwrap_or_else(|_| panic!("bad number {s}")),
        }
    };
    if tok == "_" {
        return (None, 0.0, 1);
    }
    if tok == "stale" {
        return (Some(crate::input::STALE_NAN), f64::NAN, 1);
    }
    let Some((head, n)) = tok.split_once('x') else {
        return (Some(num(tok)), 0.0, 1);
    };
    let n: usize = n.parse().unwrap();
    if head == "_" {
        return (None, 0.0, n);
    }
    // find the sign separating start and step (not a leading sign or exponent sign)
    let b = head.as_bytes();
    let pos = (1..b.len())
        .rev()
        .find(|&i| (b[i] == b'+' || b[i] == b'-') && b[i - 1] != b'e');
    match pos {
        Some(p) => {
            let start = num(&head[..p]);
            let step = num(&head[p + 1..]) * if b[p] == b'-' { -1.0 } else { 1.0 };
            (Some(start), step, n + 1)
        }
        None => (Some(num(head)), 0.0, n + 1),
    }
}

fn render(v: &Value) -> String {
    match v {
        Value::Scalar(x) => format!("scalar {}", fmt_f(*x)),
        Value::String(s) => format!("string {s}"),
        Value::Vector(v) => {
            let mut lines: Vec<String> = v
                .iter()
                .map(|s| format!("{} {}", s.labels, fmt_f(s.value)))
                .collect();
            lines.sort();
            lines.join("\n")
        }
        Value::Matrix(m) => {
            let mut lines: Vec<String> = m
                .iter()
                .map(|s| {
                    let pts: Vec<String> = s
                        .points
                        .iter()
                        .map(|(t, v)| format!("{}@{}", fmt_f(*v), t / 1000))
                        .collect();
                    format!("{} {}", s.labels, pts.join(" "))
                })
                .collect();
            lines.sort();
            lines.join("\n")
        }
    }
}

fn fmt_f(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    // 12 significant digits hide last-ulp differences
    let r = format!("{:.12e}", x);
    let v: f64 = r.parse().unwrap_or(x);
    format!("{v}")
}

/// Evaluates `expr` at `t_s` seconds and compares the rendered result with `expect` (lines
/// `labels value`, any order).
fn check(store: &Store, expr: &str, t_s: i64, expect: &str) {
    let e = parse_expr(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    let got = eval_instant(&e, store, t_s * 1000).unwrap_or_else(|e| panic!("{expr}: {e}"));
    let mut want: Vec<&str> = expect
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    want.sort();
    assert_eq!(render(&got), want.join("\n"), "{expr} at {t_s}s");
}

fn store(interval_s: i64, text: &str) -> Store {
    let mut s = Store::new();
    load(&mut s, interval_s, text);
    s
}

#[test]
fn selectors_lookback_and_staleness() {
    let s = store(
        60,
        r#"
        up{job="a"} 1 1 1 _ _ _ _ _ _ _ 1
        up{job="b"} 1 1 stale 1
    "#,
    );
    check(
        &s,
        "up",
        60,
        r#"{__name__="up", job="a"} 1
        {__name__="up", job="b"} 1"#,
    );
    check(&s, "up", 120, r#"{__name__="up", job="a"} 1"#);
    check(
        &s,
        "up",
        180,
        r#"{__name__="up", job="a"} 1
        {__name__="up", job="b"} 1"#,
    );
    // job a: last sample at 120 s, lookback 5 m inclusive → present at 420, gone at 421
    check(&s, r#"up{job="a"}"#, 420, r#"{__name__="up", job="a"} 1"#);
    check(&s, r#"up{job="a"}"#, 421, "");
    check(
        &s,
        r#"up{job="a"} offset 1m"#,
        480,
        r#"{__name__="up", job="a"} 1"#,
    );
    check(
        &s,
        r#"count_over_time(up[2m])"#,
        120,
        r#"{job="a"} 3
        {job="b"} 2"#,
    );
}

#[test]
fn rate_increase_delta() {
    let s = store(
        60,
        r#"
        c{i="0"} 0+10x20
        c{i="1"} 0 10 20 5 15 25
        g 10 5 8 2
    "#,
    );
    check(&s, "rate(c[5m])", 600, r#"{i="0"} 0.1666666666667"#);
    check(&s, "increase(c[5m])", 600, r#"{i="0"} 50"#);
    check(
        &s,
        "increase(c[5m])",
        300,
        r#"{i="0"} 50
        {i="1"} 45"#,
    );
    check(
        &s,
        "irate(c[5m])",
        300,
        r#"{i="0"} 0.1666666666667
        {i="1"} 0.1666666666667"#,
    );
    check(
        &s,
        "resets(c[10m])",
        300,
        r#"{i="0"} 0
        {i="1"} 1"#,
    );
    check(&s, "changes(g[10m])", 180, "{} 3");
    check(&s, "delta(g[3m])", 180, "{} -8");
    check(&s, "idelta(g[3m])", 180, "{} -6");
    check(
        &s,
        "deriv(c[5m])",
        300,
        r#"{i="0"} 0.1666666666667
        {i="1"} 0.05952380952381"#,
    );
}

#[test]
fn over_time_functions() {
    let s = store(60, "m 1 2 3 4 5");
    check(&s, "avg_over_time(m[10m])", 240, "{} 3");
    check(&s, "sum_over_time(m[10m])", 240, "{} 15");
    check(&s, "min_over_time(m[10m])", 240, "{} 1");
    check(&s, "max_over_time(m[10m])", 240, "{} 5");
    check(&s, "count_over_time(m[2m])", 240, "{} 3");
    check(&s, "last_over_time(m[10m])", 240, r#"{__name__="m"} 5"#);
    check(&s, "quantile_over_time(0.5, m[10m])", 240, "{} 3");
    check(&s, "stddev_over_time(m[10m])", 240, "{} 1.414213562373");
    check(&s, "stdvar_over_time(m[10m])", 240, "{} 2");
    check(&s, "present_over_time(m[1m])", 240, "{} 1");
    check(&s, "absent_over_time(m[1m])", 240, "");
    check(
        &s,
        r#"absent_over_time(nope{a="b", c=~"x"}[1m])"#,
        240,
        r#"{a="b"} 1"#,
    );
    check(&s, r#"absent(nope{a="b"})"#, 240, r#"{a="b"} 1"#);
    check(&s, "absent(m)", 240, "");
}

#[test]
fn aggregations() {
    let s = store(
        60,
        r#"
        r{job="a", i="1"} 1
        r{job="a", i="2"} 3
        r{job="b", i="1"} 5
        r{job="b", i="2"} 5
    "#,
    );
    check(&s, "sum(r)", 0, "{} 14");
    check(
        &s,
        "sum by (job) (r)",
        0,
        r#"{job="a"} 4
        {job="b"} 10"#,
    );
    check(
        &s,
        "avg without (i) (r)",
        0,
        r#"{job="a"} 2
        {job="b"} 5"#,
    );
    check(
        &s,
        "max by (i) (r)",
        0,
        r#"{i="1"} 5
        {i="2"} 5"#,
    );
    check(&s, "count(r)", 0, "{} 4");
    check(
        &s,
        "stddev by (job) (r)",
        0,
        r#"{job="a"} 1
        {job="b"} 0"#,
    );
    check(&s, "topk(1, r)", 0, r#"{__name__="r", i="1", job="b"} 5"#);
    check(
        &s,
        "bottomk by (job) (1, r)",
        0,
        r#"{__name__="r", i="1", job="a"} 1
        {__name__="r", i="1", job="b"} 5"#,
    );
    check(&s, "quantile(0.5, r)", 0, "{} 4");
    check(
        &s,
        r#"count_values("v", r)"#,
        0,
        r#"{v="1"} 1
        {v="3"} 1
        {v="5"} 2"#,
    );
    check(&s, "sum by (__name__) (r)", 0, r#"{__name__="r"} 14"#);
}

#[test]
fn binary_operators_and_matching() {
    let s = store(
        60,
        r#"
        a{job="x", i="1"} 10
        a{job="x", i="2"} 20
        b{job="x"} 2
        c{job="x", i="1"} 1
    "#,
    );
    check(
        &s,
        "a / on(job) group_left b",
        0,
        r#"{i="1", job="x"} 5
        {i="2", job="x"} 10"#,
    );
    check(
        &s,
        "b * on(job) group_right a",
        0,
        r#"{i="1", job="x"} 20
        {i="2", job="x"} 40"#,
    );
    check(&s, "a > 15", 0, r#"{__name__="a", i="2", job="x"} 20"#);
    check(
        &s,
        "a > bool 15",
        0,
        r#"{i="1", job="x"} 0
        {i="2", job="x"} 1"#,
    );
    check(&s, "15 < a", 0, r#"{__name__="a", i="2", job="x"} 20"#);
    check(&s, "a - c", 0, r#"{i="1", job="x"} 9"#);
    check(&s, "a and c", 0, r#"{__name__="a", i="1", job="x"} 10"#);
    check(&s, "a unless c", 0, r#"{__name__="a", i="2", job="x"} 20"#);
    check(
        &s,
        "c or b",
        0,
        r#"{__name__="b", job="x"} 2
        {__name__="c", i="1", job="x"} 1"#,
    );
    check(&s, "2 ^ 3 ^ 2", 0, "scalar 512");
    check(
        &s,
        "-a",
        0,
        r#"{i="1", job="x"} -10
        {i="2", job="x"} -20"#,
    );
    let e = parse_expr("a + on(job) b").unwrap();
    let err = eval_instant(&e, &s, 0).unwrap_err();
    assert!(
        err.to_string()
            .contains("many-to-one matching must be explicit"),
        "{err}"
    );
}

#[test]
fn many_to_many_names_the_series_met_last_first() {
    // Prometheus' VectorBinop: `[this series, the earlier one with the same signature]`. (No
    // promtool case: promtool adds input series in Go map order, so it names them in the other
    // order in about 1 run of 10.)
    let s = store(
        60,
        r#"
        a{job="x"} 1
        b{job="x", i="1"} 1
        b{job="x", i="2"} 2
    "#,
    );
    let e = parse_expr("a + on(job) b").unwrap();
    let err = eval_instant(&e, &s, 0).unwrap_err().to_string();
    assert_eq!(
        err,
        "found duplicate series for the match group {job=\"x\"} on the right hand-side of the \
         operation: [{__name__=\"b\", i=\"2\", job=\"x\"}, {__name__=\"b\", i=\"1\", \
         job=\"x\"}];many-to-many matching not allowed: matching labels must be unique on one side"
    );
}

#[test]
fn misc_functions() {
    let s = store(
        60,
        r#"
        v{x="a-1"} -1.5
        h_bucket{le="0.1"} 10
        h_bucket{le="0.5"} 50
        h_bucket{le="+Inf"} 100
    "#,
    );
    check(&s, "abs(v)", 0, r#"{x="a-1"} 1.5"#);
    check(&s, "ceil(v)", 0, r#"{x="a-1"} -1"#);
    check(&s, "floor(v)", 0, r#"{x="a-1"} -2"#);
    check(&s, "round(v)", 0, r#"{x="a-1"} -1"#);
    check(&s, "clamp(v, -1, 1)", 0, r#"{x="a-1"} -1"#);
    check(&s, "clamp_min(v, 0)", 0, r#"{x="a-1"} 0"#);
    check(&s, "clamp_max(v, -2)", 0, r#"{x="a-1"} -2"#);
    check(&s, "time()", 90, "scalar 90");
    check(&s, "vector(time())", 90, "{} 90");
    check(&s, "scalar(v)", 0, "scalar -1.5");
    check(&s, "timestamp(v)", 120, r#"{x="a-1"} 0"#);
    check(&s, "histogram_quantile(0.5, h_bucket)", 0, "{} 0.5");
    check(
        &s,
        r#"label_replace(v, "y", "$1-$2", "x", "(.*)-(.*)")"#,
        0,
        r#"{__name__="v", x="a-1", y="a-1"} -1.5"#,
    );
    check(
        &s,
        r#"label_join(v, "y", ",", "x", "__name__")"#,
        0,
        r#"{__name__="v", x="a-1", y="a-1,v"} -1.5"#,
    );
    check(&s, "max_over_time(v[5m:1m])", 300, r#"{x="a-1"} -1.5"#);
}

#[test]
fn log_rules() {
    let mut s = Store::new();
    let api = Labels::from_pairs([("app", "api")]);
    for (t, line) in [
        (10, r#"{"level":"error","status":500,"took":0.5}"#),
        (20, r#"{"level":"info","status":200,"took":0.1}"#),
        (30, r#"{"level":"error","status":503,"took":1.5}"#),
        (70, r#"{"level":"error","status":502,"took":2}"#),
    ] {
        s.add_log(crate::input::LogRecord {
            labels: api.clone(),
            t_ms: t * 1000,
            line: line.into(),
        });
    }
    check(
        &s,
        r#"count_over_time({app="api"} |= "error" [1m])"#,
        60,
        r#"{app="api"} 2"#,
    );
    check(
        &s,
        r#"sum by (status) (count_over_time({app="api"} | json | status >= 500 [2m]))"#,
        80,
        r#"{status="500"} 1
        {status="502"} 1
        {status="503"} 1"#,
    );
    check(
        &s,
        r#"rate({app="api"} |= "" [1m])"#,
        60,
        r#"{app="api"} 0.05"#,
    );
    check(
        &s,
        r#"sum(bytes_over_time({app="api"} |~ "info" [1m]))"#,
        60,
        "{} 40",
    );
    check(
        &s,
        r#"max_over_time({app="api"} | json | unwrap took [2m])"#,
        80,
        r#"{app="api", level="error", status="500"} 0.5
        {app="api", level="error", status="502"} 2
        {app="api", level="error", status="503"} 1.5
        {app="api", level="info", status="200"} 0.1"#,
    );
    check(
        &s,
        r#"absent_over_time({app="api"} |= "x" [1m])"#,
        60,
        r#"{app="api"} 1"#,
    );
    check(
        &s,
        r#"sum(count_over_time({app="api"} |= "error" [1m])) / sum(count_over_time({app="api"} |= "error" [1m] offset 1m))"#,
        120,
        "{} 0.5",
    );
}

#[test]
fn range_queries_and_limits() {
    let s = store(60, "m 1 2 3 4 5");
    let e = parse_expr("m * 2").unwrap();
    let got = eval_range(&e, &s, 0, 240_000, 60_000).unwrap();
    assert_eq!(render(&got), r#"{} 2@0 4@60 6@120 8@180 10@240"#);
    let got = eval_range(&parse_expr("time()").unwrap(), &s, 0, 120_000, 60_000).unwrap();
    assert_eq!(render(&got), "{} 0@0 60@60 120@120");
    assert!(eval_range(&e, &s, 0, 1_000_000_000, 1).is_err());
    let nested = parse_expr("max_over_time(m[2d:1s])").unwrap();
    let err = eval_instant(&nested, &s, 0).unwrap_err();
    assert!(err.to_string().contains("at most"), "{err}");
    let deep = parse_expr("max_over_time(max_over_time(m[2h:1s])[2h:1s])").unwrap();
    let err = eval_instant(&deep, &s, 0).unwrap_err();
    assert!(err.to_string().contains("more than 250000 steps"), "{err}");
}
