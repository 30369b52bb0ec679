//! Side-by-side benchmarks of the rules engine, printed as one report:
//! (a) a promtool test file with 1,000 rules × 400 series: `promtool test rules` vs `notifyd test
//!     rules` (the release binary, when built) and the in-process runner;
//! (b) the engine alone: samples/s ingested and evaluated with 1,000 rules over 100k series, and
//!     bytes per active series for a 5 m window at 15 s;
//! (c) 100 log rules with regex filters over a generated log (≥ 500 MB) vs `rg` with the same
//!     patterns.
//!
//! `cargo bench -p rules-engine --bench rules_compare` runs the full sizes; without `--bench`
//! (as a test) it runs tiny sizes as a smoke test. Generated files live in a temp dir
//! (`RULES_BENCH_KEEP=DIR` also writes (a)'s files there); `RULES_BENCH=ab` runs only (a), (b).
//! `RULES_BENCH_RUNS=N` sets how many `notifyd test rules` runs (a) takes the median of (default 9).
#![allow(clippy::print_stdout, clippy::unwrap_used)] // a benchmark report printed to stdout
#![allow(clippy::disallowed_methods)] // wall-clock timing is what a benchmark measures
#![allow(missing_docs)]

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::process::Command;
use std::time::{Duration, Instant};

use rules_engine::engine::{Engine, EngineConfig, Event};
use rules_engine::input::{Labels, LogRecord, Sample};
use rules_engine::rule::load_rule_file;
use rules_engine::unittest::{self, Files};

struct FsFiles;

impl Files for FsFiles {
    fn read(&self, path: &str) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| format!("open {path}: {e}"))
    }
    fn glob(&self, pattern: &str) -> Result<Vec<String>, String> {
        Ok(if std::path::Path::new(pattern).exists() {
            vec![pattern.to_string()]
        } else {
            vec![]
        })
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<usize>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

/// CPU time this thread has run (ns, from /proc/thread-self/schedstat): "per core" throughput
/// that does not count time the scheduler gave to other processes on a loaded machine.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU time (user + system) of the waited-for child processes so far (/proc/self/stat
/// cutime + cstime, in clock ticks of 10 ms).
fn children_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    // fields after the command: state is field 3, cutime 16, cstime 17
    let f: Vec<u64> = after
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(12).copied().unwrap_or(0) + f.get(13).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// (a) promtool vs notifyd on one big unit-test file.
fn bench_unittest(full: bool) {
    let (n_rules, jobs, insts, minutes) = if full {
        (1000, 20, 20, 60)
    } else {
        (20, 4, 5, 10)
    };
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n");
    for r in 0..n_rules {
        if r % 100 == 0 {
            let _ = writeln!(rules, "- name: g{}\n  rules:", r / 100);
        }
        let job = r % jobs;
        match r % 10 {
            0..=2 => {
                let _ = writeln!(
                    rules,
                    "  - record: job:rate{r}\n    expr: sum by (job) (rate(http_requests_total{{job=\"j{job}\"}}[5m]))"
                );
            }
            3..=6 => {
                let _ = writeln!(
                    rules,
                    "  - alert: HighRate{r}\n    expr: rate(http_requests_total{{job=\"j{job}\"}}[5m]) > {}\n    for: 2m\n    labels: {{severity: page}}\n    annotations: {{summary: '{{{{ $labels.instance }}}} at {{{{ humanize $value }}}}'}}",
                    r % 7
                );
            }
            _ => {
                let _ = writeln!(
                    rules,
                    "  - alert: Level{r}\n    expr: http_requests_total{{instance=\"i{}\"}} > {}\n    keep_firing_for: 1m",
                    r % insts,
                    r * 3
                );
            }
        }
    }
    std::fs::write(dir.path().join("rules.yml"), &rules).unwrap();
    let mut test = String::from(
        "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n  input_series:\n",
    );
    for j in 0..jobs {
        for i in 0..insts {
            let _ = writeln!(
                test,
                "  - series: 'http_requests_total{{job=\"j{j}\", instance=\"i{i}\"}}'\n    values: '0+{}x{minutes}'",
                1 + (j * insts + i) % 13
            );
        }
    }
    let _ = writeln!(test, "  alert_rule_test:");
    for r in [3usize, 4, 7] {
        let name = if r % 10 <= 6 {
            format!("HighRate{r}")
        } else {
            format!("Level{r}")
        };
        let _ = writeln!(
            test,
            "  - eval_time: {minutes}m\n    alertname: {name}\n    exp_alerts: []"
        );
    }
    let _ = writeln!(
        test,
        "  promql_expr_test:\n  - expr: count(http_requests_total)\n    eval_time: {minutes}m\n    exp_samples:\n    - labels: '{{}}'\n      value: {}",
        jobs * insts
    );
    let path = dir.path().join("test.yml");
    std::fs::write(&path, &test).unwrap();
    // RULES_BENCH_KEEP=DIR leaves a copy of the files for profiling (`notifyd test rules`)
    if let Ok(keep) = std::env::var("RULES_BENCH_KEEP") {
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::write(format!("{keep}/rules.yml"), &rules).unwrap();
        std::fs::write(format!("{keep}/test.yml"), &test).unwrap();
    }
    let p = path.display().to_string();
    let t0 = Instant::now();
    let cpu0 = thread_cpu_ns();
    // one thread: the sequential CPU cost
    let report = unittest::run_file(&p, &FsFiles);
    let inproc = t0.elapsed();
    let inproc_cpu = thread_cpu_ns()
        .zip(cpu0)
        .map(|(b, a)| Duration::from_nanos(b.saturating_sub(a)));
    let notifyd = std::env::var("NOTIFYD_BIN").ok().or_else(|| {
        let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        let p = format!("{dir}/release/notifyd");
        std::path::Path::new(&p).exists().then_some(p)
    });
    // the median of RULES_BENCH_RUNS runs (default 9, by wall clock): one run is a fraction of a
    // second and easily disturbed on a shared machine; promtool's 20+ s run averages that out
    let n_runs: usize = std::env::var("RULES_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(9);
    let bin = notifyd.map(|b| {
        let mut runs: Vec<_> = (0..n_runs)
            .map(|_| {
                let c0 = children_cpu();
                let t0 = Instant::now();
                let out = Command::new(&b)
                    .args(["test", "rules"])
                    .arg(&path)
                    .output()
                    .unwrap();
                (t0.elapsed(), out.status.code(), children_cpu() - c0)
            })
            .collect();
        runs.sort_by_key(|r| r.0);
        let (min, max) = (runs[0].0, runs[runs.len() - 1].0);
        (runs[runs.len() / 2], min, max)
    });
    let c0 = children_cpu();
    let t0 = Instant::now();
    let prom = Command::new("promtool")
        .args(["test", "rules"])
        .arg(&path)
        .output();
    let prom_t = t0.elapsed();
    let prom_cpu = children_cpu() - c0;
    println!(
        "(a) unit-test file: {n_rules} rules x {} series, {} evaluation steps",
        jobs * insts,
        minutes + 1
    );
    println!(
        "    in-process, 1 thread   {:>9.3} s wall, {:.3} s CPU  (verdict: {})",
        secs(inproc),
        inproc_cpu.map_or(f64::NAN, secs),
        if report.passed() { "pass" } else { "fail" }
    );
    match &bin {
        Some(((t, code, cpu), min, max)) => println!(
            "    notifyd test rules     {:>9.3} s wall, {:.2} s CPU  (exit {code:?}; median of \
             {n_runs}, {:.3}-{:.3} s)",
            secs(*t),
            secs(*cpu),
            secs(*min),
            secs(*max)
        ),
        None => println!("    notifyd test rules     not built (cargo build --release -p notifyd)"),
    }
    match prom {
        Ok(out) => {
            println!(
                "    promtool test rules    {:>9.3} s wall, {:.2} s CPU  (exit {:?})",
                secs(prom_t),
                secs(prom_cpu),
                out.status.code()
            );
            let (ours, ours_cpu) = bin
                .map_or((inproc, inproc_cpu.unwrap_or(inproc)), |(b, _, _)| {
                    (b.0, b.2)
                });
            println!(
                "    speed-up               {:>9.1} x wall clock, {:.1} x CPU time  (target >= 100 x)",
                secs(prom_t) / secs(ours),
                secs(prom_cpu) / secs(ours_cpu)
            );
        }
        Err(e) => println!("    promtool not runnable: {e}"),
    }
}

/// (b) the engine alone over 100k series and 1,000 rules.
fn bench_engine(full: bool) {
    let (jobs, insts, n_rules) = if full {
        (1000, 100, 1000)
    } else {
        (20, 10, 20)
    };
    let mut rules = String::from("groups:\n- name: g\n  interval: 15s\n  rules:\n");
    for r in 0..n_rules {
        let job = r % jobs;
        if r % 2 == 0 {
            let _ = writeln!(
                rules,
                "  - alert: A{r}\n    expr: rate(node_cpu_seconds_total{{job=\"j{job}\"}}[5m]) > 0.9\n    for: 1m"
            );
        } else {
            let _ = writeln!(
                rules,
                "  - record: job:cpu{r}\n    expr: sum by (job) (rate(node_cpu_seconds_total{{job=\"j{job}\"}}[5m]))"
            );
        }
    }
    let groups = load_rule_file("bench.yml", &rules).unwrap();
    let rss_before_inputs = rss_bytes();
    let labels: Vec<Labels> = (0..jobs)
        .flat_map(|j| {
            (0..insts).map(move |i| {
                Labels::from_pairs([
                    ("__name__", "node_cpu_seconds_total".to_string()),
                    ("job", format!("j{j}")),
                    ("instance", format!("host-{i}.example.internal:9100")),
                    ("mode", "user".to_string()),
                ])
            })
        })
        .collect();
    // the engine's own growth is measured from here: the benchmark's 100k input label sets
    // (a scraper's transient parse results) are not the engine's memory
    let rss0 = rss_bytes();
    let mut engine = Engine::new(groups, EngineConfig::default());
    let step = 15_000;
    let round = |engine: &mut Engine, k: i64| {
        let t = k * step;
        for (n, l) in labels.iter().enumerate() {
            let v = (k as f64) * 0.5 * ((n % 7) as f64 + 1.0);
            engine.observe(Event::Sample(Sample {
                labels: l.clone(),
                t_ms: t,
                value: v,
            }));
        }
        engine.evaluate(t).len()
    };
    // warm-up: fill the 5 m window (20 samples per series)
    for k in 0..20 {
        round(&mut engine, k);
    }
    let rss1 = rss_bytes();
    let measured = 20;
    let cpu0 = thread_cpu_ns();
    let t0 = Instant::now();
    let mut transitions = 0;
    for k in 20..20 + measured {
        transitions += round(&mut engine, k);
    }
    let el = t0.elapsed();
    let cpu = thread_cpu_ns()
        .zip(cpu0)
        .map(|(b, a)| Duration::from_nanos(b.saturating_sub(a)));
    let samples = labels.len() * measured as usize;
    let store = engine.store();
    println!(
        "(b) engine: {} series, {n_rules} rules, 15 s interval, 5 m windows",
        labels.len()
    );
    println!(
        "    ingested+evaluated     {:>9.0} samples/s per CPU-second of the thread  (target >= 1,000,000; {} transitions)",
        cpu.map_or(f64::NAN, |c| samples as f64 / secs(c)),
        transitions
    );
    println!(
        "                           {:>9.0} samples/s wall clock, one thread ({:.2} s wall, {:.2} s CPU)",
        samples as f64 / secs(el),
        secs(el),
        cpu.map_or(f64::NAN, secs)
    );
    let per_series = |b: usize| b as f64 / labels.len() as f64;
    println!(
        "    memory per series      {:>9.0} B engine RSS growth, {:.0} B store estimate  (target <= 1024 B)",
        per_series(rss1.saturating_sub(rss0)),
        store.approx_series_bytes() as f64 / store.series_count() as f64,
    );
    println!(
        "                           {:>9.0} B RSS growth incl. the benchmark's input label sets",
        per_series(rss1.saturating_sub(rss_before_inputs)),
    );
}

/// (c) 100 log rules with regex filters vs ripgrep over the same file.
fn bench_logs(full: bool) {
    let target_bytes: usize = if full { 520 << 20 } else { 1 << 20 };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let (mut written, mut n) = (0usize, 0u64);
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        while written < target_bytes {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let line = if x.is_multiple_of(997) {
                format!(
                    "2026-11-25T10:{:02}:{:02}Z level=error host=web-{} msg=\"upstream timeout\" code=E{} module=mod{}\n",
                    (n / 60) % 60,
                    n % 60,
                    x % 50,
                    x % 100,
                    (x >> 8) % 100
                )
            } else {
                format!(
                    "2026-11-25T10:{:02}:{:02}Z level=info host=web-{} path=/api/v1/items/{} status=200 latency_ms={} user=u{}\n",
                    (n / 60) % 60,
                    n % 60,
                    x % 50,
                    x % 100_000,
                    x % 300,
                    (x >> 20) % 10_000
                )
            };
            written += line.len();
            n += 1;
            w.write_all(line.as_bytes()).unwrap();
        }
    }
    let size = std::fs::metadata(&path).unwrap().len() as f64;
    let patterns: Vec<String> = (0..100)
        .map(|k| format!("code=E{k} module=mod[0-9]+|panic: .*worker-{k}\\b"))
        .collect();
    let mut rules = String::from("groups:\n- name: logs\n  rules:\n");
    for (k, p) in patterns.iter().enumerate() {
        let expr = format!(
            "sum(count_over_time({{app=\"web\"}} |~ {} [5m])) > 3",
            serde_json::to_string(p).unwrap()
        );
        let _ = writeln!(
            rules,
            "  - alert: L{k}\n    expr: {}",
            serde_json::to_string(&expr).unwrap()
        );
    }
    let mut engine = Engine::new(
        load_rule_file("logs.yml", &rules).unwrap(),
        EngineConfig::default(),
    );
    let labels = Labels::from_pairs([("app", "web")]);
    let t0 = Instant::now();
    let mut r = BufReader::with_capacity(1 << 20, std::fs::File::open(&path).unwrap());
    let mut line = String::new();
    let mut n: i64 = 0;
    while r.read_line(&mut line).unwrap() > 0 {
        let text = line.trim_end_matches('\n');
        engine.observe(Event::Log(LogRecord {
            labels: labels.clone(),
            t_ms: n / 1000,
            line: text.to_string(),
        }));
        n += 1;
        line.clear();
    }
    let fired = engine.evaluate(n / 1000).len();
    let ours = t0.elapsed();
    let mut rg = Command::new("rg");
    rg.arg("-c");
    for p in &patterns {
        rg.arg("-e").arg(p);
    }
    let t0 = Instant::now();
    let rg_out = rg.arg(&path).output();
    let rg_t = t0.elapsed();
    println!(
        "(c) logs: {:.0} MB, {n} lines, 100 regex rules ({fired} alert transitions)",
        size / 1e6
    );
    println!(
        "    rules engine           {:>9.1} MB/s ({:.2} s)",
        size / 1e6 / secs(ours),
        secs(ours)
    );
    match rg_out {
        Ok(o) => {
            println!(
                "    rg -c -e ... (100)     {:>9.1} MB/s ({:.2} s, {} matching lines)",
                size / 1e6 / secs(rg_t),
                secs(rg_t),
                String::from_utf8_lossy(&o.stdout).trim()
            );
            println!(
                "    ratio vs rg            {:>9.2} x  (target >= 0.5 x)",
                secs(rg_t) / secs(ours)
            );
        }
        Err(e) => println!("    rg not runnable: {e}"),
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let only = std::env::var("RULES_BENCH").unwrap_or_default();
    if only.is_empty() || only.contains('a') {
        bench_unittest(full);
    }
    if only.is_empty() || only.contains('b') {
        bench_engine(full);
    }
    if only.is_empty() || only.contains('c') {
        bench_logs(full);
    }
}
