//! Micro-benchmarks of the expression half: store ingest, selector + function evaluation over
//! many series, and the log line prefilter. Prints bytes per series once.
// Bench harness: printing the memory figure is its output.
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rules_engine::eval::{LogPrefilter, Store, eval_instant};
use rules_engine::input::Labels;
use rules_engine::syntax::{Expr, parse_expr};

const SERIES: usize = 100_000;
const METRICS: usize = 1_000;
const SCRAPE_MS: i64 = 15_000;

fn labels() -> Vec<Labels> {
    (0..SERIES)
        .map(|i| {
            Labels::from_pairs([
                ("__name__", format!("metric_{}", i % METRICS)),
                ("job", format!("job_{}", i % 10)),
                ("instance", format!("host-{}.example:9100", i / METRICS)),
                ("env", "prod".to_string()),
            ])
        })
        .collect()
}

fn filled_store(ls: &[Labels], scrapes: i64) -> Store {
    let mut st = Store::new();
    st.set_retention(300_000);
    for k in 0..scrapes {
        for (i, l) in ls.iter().enumerate() {
            st.add_sample(l, k * SCRAPE_MS, (k * 10 + i as i64 % 7) as f64)
                .unwrap();
        }
    }
    st
}

fn bench_store(c: &mut Criterion) {
    let ls = labels();
    let mut st = filled_store(&ls, 21);
    st.gc(20 * SCRAPE_MS);
    let bytes = st.approx_series_bytes();
    println!(
        "store: {} series, {} samples, ~{} bytes/series (5 m window at 15 s)",
        st.series_count(),
        st.sample_count(),
        bytes / st.series_count()
    );
    let mut g = c.benchmark_group("store");
    g.throughput(Throughput::Elements(SERIES as u64));
    let mut t = 21 * SCRAPE_MS;
    g.bench_function("ingest_one_scrape_100k_series", |b| {
        b.iter(|| {
            for (i, l) in ls.iter().enumerate() {
                st.add_sample(l, t, i as f64).unwrap();
            }
            t += SCRAPE_MS;
            st.gc(t);
        })
    });
    g.finish();
}

fn bench_eval(c: &mut Criterion) {
    let ls = labels();
    let st = filled_store(&ls, 21);
    let now = 20 * SCRAPE_MS;
    let rules: Vec<Expr> = [
        "rate(metric_7[5m]) > 0.5",
        r#"sum by (job) (rate(metric_8{env="prod"}[5m]))"#,
        r#"avg_over_time(metric_9{job=~"job_[1-3]"}[5m]) > 10"#,
        "metric_10 / on(instance) group_left metric_11 > 2",
        "absent(metric_12{job=\"nope\"})",
    ]
    .iter()
    .map(|s| parse_expr(s).unwrap())
    .collect();
    let mut g = c.benchmark_group("eval");
    g.throughput(Throughput::Elements(rules.len() as u64));
    g.bench_function("five_rules_over_100_series_each", |b| {
        b.iter(|| {
            for r in &rules {
                black_box(eval_instant(r, &st, now).unwrap());
            }
        })
    });
    g.finish();
}

fn bench_prefilter(c: &mut Criterion) {
    let exprs: Vec<Expr> = (0..100)
        .map(|i| {
            let src = match i % 4 {
                0 => format!(r#"count_over_time({{app="api"}} |= "error code={i}" [5m])"#),
                1 => format!(
                    r#"count_over_time({{app="api"}} |~ "timeout after [0-9]+ms in svc{i}" [5m])"#
                ),
                2 => format!(
                    r#"count_over_time({{app="db"}} |= "deadlock" |~ "table t{i}\\b" [5m])"#
                ),
                _ => format!(r#"rate({{app="web"}} |~ "(?i)user{i} (login|logout) failed" [5m])"#),
            };
            parse_expr(&src).unwrap()
        })
        .collect();
    let p = LogPrefilter::new(&exprs);
    let lines: Vec<String> = (0..10_000)
        .map(|i| match i % 50 {
            0 => format!("2024-01-01T00:00:{:02}Z level=error msg=\"error code={}\" took=5ms", i % 60, i % 100),
            1 => format!("2024-01-01T00:00:{:02}Z level=warn msg=\"timeout after {}ms in svc{}\"", i % 60, i, i % 100),
            _ => format!("2024-01-01T00:00:{:02}Z level=info msg=\"GET /api/v1/items/{} 200\" took={}ms user=u{}", i % 60, i, i % 97, i % 13),
        })
        .collect();
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let mut g = c.benchmark_group("prefilter");
    g.throughput(Throughput::Bytes(bytes as u64));
    let mut out = Vec::new();
    g.bench_function("100_rules_10k_lines", |b| {
        b.iter(|| {
            let mut n = 0;
            for l in &lines {
                p.candidates(l, &mut out);
                n += out.len();
            }
            black_box(n)
        })
    });
    let text = lines.join("\n");
    g.bench_function("100_rules_10k_lines_scan_text", |b| {
        b.iter(|| {
            let mut n = 0;
            p.scan_text(None, &text, |_, c| n += c.len());
            black_box(n)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_store, bench_eval, bench_prefilter
}
criterion_main!(benches);
