//! Concurrent group evaluation and shared subexpression results give the sequential result:
//! which groups may run together (reads and writes of groups and rules), and the same
//! transitions, diagnostics and stored series with 1, 2 and 3 threads, with and without
//! sharing, on rule sets with dependent and independent groups, repeated expressions and
//! templates that `query` the store.

use super::{GroupDeps, group_deps, runs};
use crate::engine::{Engine, EngineConfig, Event, rule_states};
use crate::eval::{Value, eval_instant};
use crate::input::{Labels, Sample};
use crate::rule::load_rule_file;
use crate::syntax::parse_expr;

/// Groups a..h: b reads a's output, c and e read what earlier rules / groups write, f reads
/// every metric; g and h are independent of everything before them.
const DEPENDENT: &str = "groups:
- name: a
  rules:
  - record: job:x:sum
    expr: sum by (job) (x)
  - alert: XHigh
    expr: x > 4
    for: 30s
  - alert: JobXHigh
    expr: sum by (job) (x) > 8
  - record: x:rate
    expr: rate(x[1m])
  - alert: XRate
    expr: rate(x[1m]) > 0.05
- name: b
  rules:
  - record: job:x:double
    expr: job:x:sum * 2
  - alert: SumHigh
    expr: job:x:double > 20
    annotations: {v: '{{ $value }}'}
- name: c
  interval: 30s
  rules:
  - record: y:rate
    expr: rate(y[2m])
  - alert: YRate
    expr: y:rate > 0.05
- name: d
  rules:
  - alert: YHigh
    expr: y > 30
    keep_firing_for: 1m
    labels: {who: '{{ $labels.instance }}'}
- name: e
  rules:
  - record: alerts:count
    expr: count by (alertname) (ALERTS)
- name: f
  rules:
  - record: everything
    expr: count({job=\"a\"})
- name: g
  rules:
  - record: z1
    expr: x + 1
- name: h
  interval: 30s
  rules:
  - record: z2
    expr: increase(y[1m])
  - alert: Z
    expr: absent(nothing)
- name: i
  rules:
  - record: y:sum:rate
    expr: sum(rate(y:sum[2m]))
  - record: y:sum
    expr: sum by (job) (rate(y[1m]))
  - record: y:sum:rate2
    expr: sum(rate(y:sum[2m]))
  - alert: YSum
    expr: sum by (job) (rate(y[1m])) > 0.1
  - alert: YSumStale
    expr: y:sum > 0.1
  - record: y:sum2
    expr: sum by (job) (rate(y[1m]))
";

/// Groups that only read the input series: all of them can run together.
const INDEPENDENT: &str = "groups:
- name: p
  rules:
  - record: job:y:rate
    expr: sum by (job) (rate(y[2m]))
  - alert: XLow
    expr: x < 2
    for: 30s
    annotations: {s: '{{ $labels.instance }} {{ humanize $value }}'}
- name: q
  rules:
  - alert: YRate
    expr: rate(y[1m]) > 0.1
    keep_firing_for: 30s
- name: r
  interval: 30s
  rules:
  - record: x:max
    expr: max without (instance) (x)
  - record: x:dup
    expr: x * 0 + 1
- name: s
  rules:
  - alert: Many
    expr: count(x) > 2
  - alert: YRateHigh
    expr: rate(y[1m]) > 0.3
    for: 30s
  - record: job:y:rate2
    expr: sum by (job) (rate(y[2m]))
  - alert: JobRate
    expr: sum by (job) (rate(y[2m])) > 0.2
  - alert: YRateLow
    expr: rate(y[1m]) < 0.1
    annotations: {s: '{{ $value }}'}
";

fn deps(src: &str) -> Vec<GroupDeps> {
    rule_states(load_rule_file("t.yml", src).unwrap())
        .iter()
        .map(|g| group_deps(g, true))
        .collect()
}

#[test]
fn runs_split_where_a_group_reads_what_an_earlier_one_writes() {
    let d = deps(DEPENDENT);
    let all: Vec<usize> = (0..d.len()).collect();
    // a alone (b reads it); b and c read their own earlier rules; d writes ALERTS, which e
    // reads; f, g, h read nothing written before them within the run
    assert_eq!(
        runs(&d, &all, 2),
        vec![0..1, 1..2, 2..3, 3..4, 4..5, 5..8, 8..9]
    );
    assert!(d[0].self_contained, "a's rules read only x");
    assert!(!d[8].self_contained, "YSumStale reads y:sum");
    assert!(runs(&d, &all, 1).iter().all(|r| r.len() == 1));
    let d = deps(INDEPENDENT);
    assert_eq!(runs(&d, &[0, 1, 2, 3], 2), vec![0..4]);
    // a subset (the groups due at some time)
    assert_eq!(runs(&d, &[1, 3], 3), vec![0..2]);
}

/// u writes `x:sum`; v's templates query it (and w's query names nothing at all): a group
/// whose templates call `query` may read anything, so it runs after every earlier writer.
const QUERYING: &str = "groups:
- name: u
  rules:
  - record: x:sum
    expr: sum(x)
- name: v
  rules:
  - alert: XSome
    expr: x > 3
    annotations: {s: '{{ with query \"x:sum\" }}{{ . | first | value }}{{ end }}'}
- name: w
  rules:
  - record: x:max
    expr: max(x)
  - alert: XMax
    expr: x:max > 5
    labels: {n: '{{ query (printf \"count(%s)\" \"x\") | len }}'}
";

#[test]
fn templates_that_query_read_every_metric() {
    let d = deps(QUERYING);
    assert_eq!(runs(&d, &[0, 1, 2], 3), vec![0..1, 1..2, 2..3]);
    assert!(
        d[1].self_contained,
        "v's only rule reads what no earlier rule writes"
    );
    assert!(!d[2].self_contained, "XMax's label template may read x:max");
    // without templates that query, v would run with u
    let plain = QUERYING.replace("query \"x:sum\"", "$labels");
    assert_eq!(runs(&deps(&plain), &[0, 1], 2), vec![0..2]);
    assert!(same_with_any_threads(QUERYING, false) > 10);
}

fn put(e: &mut Engine, name: &str, job: &str, inst: usize, t_ms: i64, value: f64) {
    e.observe(Event::Sample(Sample {
        labels: Labels::from_pairs([
            ("__name__", name),
            ("job", job),
            ("instance", &inst.to_string()),
        ]),
        t_ms,
        value,
    }));
}

/// Every stored series with its latest value at `t`, as sorted strings.
fn dump(e: &Engine, t: i64) -> Vec<String> {
    let expr = parse_expr(r#"{__name__=~".+"}"#).unwrap();
    let Value::Vector(v) = eval_instant(&expr, e.store(), t).unwrap() else {
        panic!("not a vector")
    };
    let mut out: Vec<String> = v
        .into_iter()
        .map(|s| format!("{} {}", s.labels, s.value))
        .collect();
    out.sort();
    out
}

/// Feeds the same input to engines with 1, 2 and 3 threads and compares everything they
/// produce at each step; returns the number of transitions seen.
/// The first engine evaluates every subexpression itself (no shared results).
fn same_with_any_threads(rules: &str, all_at: bool) -> usize {
    let mut engines: Vec<Engine> = [1, 1, 2, 3]
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let config = EngineConfig {
                eval_threads: n,
                ..Default::default()
            };
            let mut e = Engine::new(load_rule_file("t.yml", rules).unwrap(), config);
            e.share_subexpressions = i > 0;
            e
        })
        .collect();
    let mut transitions = 0;
    for step in 0..40i64 {
        let t = step * 15_000;
        for e in &mut engines {
            for inst in 0..4usize {
                let job = if inst % 2 == 0 { "a" } else { "b" };
                // x wanders; instance 3 goes quiet for a while
                if !(inst == 3 && (10..20).contains(&step)) {
                    let x = ((step as usize * (inst + 1)) % 7) as f64;
                    put(e, "x", job, inst, t, x);
                }
                // y counts up with a reset at step 25
                let y = if step < 25 {
                    step * (inst as i64 + 1)
                } else {
                    step - 25
                };
                put(e, "y", job, inst, t, y as f64);
            }
        }
        let results: Vec<_> = engines
            .iter_mut()
            .map(|e| {
                let tr = if all_at {
                    e.evaluate_all_at(t)
                } else {
                    e.evaluate(t)
                };
                (tr, e.take_diagnostics(), dump(e, t), e.rule_errors())
            })
            .collect();
        transitions += results[0].0.len();
        for (n, r) in results.iter().enumerate().skip(1) {
            assert_eq!(r.0, results[0].0, "transitions at {t}, engine {n}");
            assert_eq!(r.1, results[0].1, "diagnostics at {t}, engine {n}");
            assert_eq!(r.2, results[0].2, "series at {t}, engine {n}");
            assert_eq!(r.3, results[0].3, "errors at {t}, engine {n}");
        }
    }
    transitions
}

#[test]
fn dependent_groups_give_the_sequential_result() {
    assert!(same_with_any_threads(DEPENDENT, false) > 10);
    assert!(same_with_any_threads(DEPENDENT, true) > 10);
}

#[test]
fn independent_groups_give_the_sequential_result() {
    assert!(same_with_any_threads(INDEPENDENT, false) > 10);
    assert!(same_with_any_threads(INDEPENDENT, true) > 10);
}
