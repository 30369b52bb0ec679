//! Delivery benchmark, c5 and Alertmanager 0.25 side by side in one run: notifications per second
//! to a loopback webhook, and enqueue → received latency (p50/p99).
//!
//! c5: `DispatchHandle::enqueue_many_async` (resolves once the SQLite commit is done) → dispatcher
//! → `WebhookNotifier` POST.
//! Alertmanager: `POST /api/v2/alerts` → dispatcher (one group per alert, `group_wait: 0s`) →
//! webhook POST. Both post to the same axum receiver. Throughput is a burst of `N` distinct
//! groups, handed over as `N / 100` concurrent calls of 100 alerts each to both systems (a c5
//! call returns once its notifications are committed); latency is measured one notification at
//! a time (paced), so it is the unloaded path. Each system first gets an untimed warm-up of 100
//! notifications (connections opened, first pages written).
//!
//! The run also measures the transport ceiling: the same `WebhookNotifier` POSTing the same
//! notifications straight away (no outbox, no dispatcher, the same number in flight), the rate
//! c5 would reach if storing and scheduling cost nothing.
//!
//! Run: `cargo bench -p notifyd --bench delivery`
//! (`C5_BENCH_N` sets the burst size, default 2000; `C5_BENCH_CONCURRENCY` the dispatcher's
//! per-receiver concurrency, default 32; `C5_BENCH_ROUNDS` the number of alternating rounds
//! c5 (FULL), Alertmanager, c5, Alertmanager, ..., default 5: every round is printed, then the
//! median rate of each and the ratio of the medians; `C5_BENCH_ONLY=c5` skips Alertmanager, for
//! profiling; `C5_BENCH_ONLY=ceiling` runs only the transport ceiling, once per round).
#![allow(clippy::unwrap_used, clippy::print_stdout)] // a bench binary: prints its report, fails loudly
#![allow(clippy::disallowed_methods)] // a bench measures with the real clock

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use notifiers::{Notifier, WebhookConfig, WebhookNotifier};
use notifyd::dispatch::{DispatchConfig, Dispatcher};
use notifyd::outbox::{Durability, Outbox};

mod common;
use common::{cpu_time, notification};

/// The allocator the `notifyd` binary ships with, so the bench measures what runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What the receiver saw: how many requests arrived, when the latest one did, and a wake-up for
/// the waiter once `target` requests have arrived (not on every request: the waiting thread
/// would compete for the CPU). The receiver does no JSON parsing (payload shape is checked by the
/// notifiers/notifyd tests, not here): it reads the body and counts, identically for both
/// systems.
struct Seen {
    count: AtomicUsize,
    target: AtomicUsize,
    last: Mutex<Option<Instant>>,
    notify: tokio::sync::Notify,
    /// `/proc/self/task/TID/stat` of the receiver's thread, for its CPU time.
    thread_stat: std::sync::OnceLock<String>,
}

impl Default for Seen {
    fn default() -> Self {
        Self {
            count: AtomicUsize::new(0),
            target: AtomicUsize::new(usize::MAX),
            last: Mutex::default(),
            notify: tokio::sync::Notify::new(),
            thread_stat: std::sync::OnceLock::new(),
        }
    }
}

type Arrivals = Arc<Seen>;

/// Starts the receiver on its own thread (a current-thread runtime), so its CPU time can be read
/// apart from the sender's.
fn receiver() -> (u16, Arrivals) {
    let arrivals: Arrivals = Arc::default();
    async fn handle(State(arrivals): State<Arrivals>, _body: Bytes) -> &'static str {
        let at = Instant::now();
        *arrivals.last.lock().unwrap() = Some(at);
        let count = arrivals.count.fetch_add(1, Ordering::SeqCst) + 1;
        if count >= arrivals.target.load(Ordering::SeqCst) {
            arrivals.notify.notify_waiters();
        }
        "ok"
    }
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(handle))
        .with_state(arrivals.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let a = arrivals.clone();
    let spawned = std::thread::Builder::new()
        .name("bench-receiver".into())
        .spawn(move || {
            let link = std::fs::read_link("/proc/thread-self").unwrap();
            a.thread_stat
                .set(format!("/proc/{}/stat", link.display()))
                .unwrap();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap()
            })
        });
    spawned.unwrap();
    while arrivals.thread_stat.get().is_none() {
        std::thread::yield_now();
    }
    (port, arrivals)
}

/// Waits until `target` requests in all have arrived; returns the latest arrival time.
async fn wait_for(arrivals: &Arrivals, target: usize, timeout: Duration) -> Instant {
    let deadline = Instant::now() + timeout;
    arrivals.target.store(target, Ordering::SeqCst);
    loop {
        let notified = arrivals.notify.notified();
        let count = arrivals.count.load(Ordering::SeqCst);
        if count >= target {
            assert_eq!(
                count, target,
                "more requests than notifications (duplicates)"
            );
            return arrivals.last.lock().unwrap().unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "only {count} of {target} requests received in {timeout:?}"
        );
        let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
    }
}

/// Notifications sent through each system before its timed burst.
const WARM_UP: usize = 100;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct Run {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
    /// Sender CPU time (user + system) during the burst: for c5 the bench process minus the
    /// receiver's thread, for Alertmanager its process.
    sender_cpu: Duration,
    /// CPU time of the receiver's thread during the burst.
    recv_cpu: Duration,
}

/// CPU time and times scheduled in (each wake-up of a sleeping thread is one) of this process's
/// threads (`/proc/self/task/*/schedstat`), summed by thread name.
fn threads_cpu() -> std::collections::BTreeMap<String, (Duration, u64)> {
    let mut out = std::collections::BTreeMap::<String, (Duration, u64)>::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = task.unwrap().path();
        // A thread that ended meanwhile is skipped.
        let (Ok(name), Ok(sched)) = (
            std::fs::read_to_string(dir.join("comm")),
            std::fs::read_to_string(dir.join("schedstat")),
        ) else {
            continue;
        };
        let mut fields = sched.split_whitespace().map(|v| v.parse::<u64>().ok());
        if let (Some(Some(ns)), _, Some(Some(runs))) = (fields.next(), fields.next(), fields.next())
        {
            let entry = out.entry(name.trim().to_owned()).or_default();
            entry.0 += Duration::from_nanos(ns);
            entry.1 += runs;
        }
    }
    out
}

/// `name ms (runs), ...`: the CPU each thread group used between two [`threads_cpu`] readings,
/// and how many times its threads were scheduled in.
fn threads_delta(
    before: &std::collections::BTreeMap<String, (Duration, u64)>,
    after: &std::collections::BTreeMap<String, (Duration, u64)>,
) -> String {
    after
        .iter()
        .map(|(name, (t, runs))| {
            let (t0, runs0) = before.get(name).copied().unwrap_or_default();
            format!(
                "{name} {} ms ({} runs)",
                t.saturating_sub(t0).as_millis(),
                runs.saturating_sub(runs0)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn c5_run(
    port: u16,
    arrivals: &Arrivals,
    n: usize,
    paced: usize,
    durability: Durability,
    round: usize,
) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(Outbox::open_with(&dir.path().join("o.db"), durability).unwrap());
    let notifier: Arc<dyn Notifier> = Arc::new(
        WebhookNotifier::new(WebhookConfig::new(format!("http://127.0.0.1:{port}/hook"))).unwrap(),
    );
    let config = DispatchConfig {
        concurrency: env_or("C5_BENCH_CONCURRENCY", 32),
        ..DispatchConfig::default()
    };
    let (h, join) = Dispatcher::new(outbox, [("t".to_owned(), notifier)].into(), config)
        .start(std::future::pending());
    let tag = format!("{durability:?}-r{round}");
    // Warm-up, not timed (both systems get one): connections opened, first pages written.
    let base = arrivals.count.load(Ordering::Acquire);
    let warm = (0..WARM_UP)
        .map(|i| ("t".to_owned(), notification(&format!("c5-{tag}-warm-{i}"))))
        .collect();
    h.enqueue_many_async(warm).await.unwrap();
    wait_for(arrivals, base + WARM_UP, Duration::from_secs(30)).await;
    // Throughput: a burst of n distinct groups.
    let names: Vec<String> = (0..n).map(|i| format!("c5-{tag}-burst-{i}")).collect();
    let recv_stat = arrivals.thread_stat.get().unwrap();
    let base = arrivals.count.load(Ordering::Acquire);
    let start = Instant::now();
    let (cpu0, recv0) = (cpu_time("/proc/self/stat"), cpu_time(recv_stat));
    let threads0 = threads_cpu();
    // Like the 100-alert API calls Alertmanager gets, all at once: 100 notifications per call,
    // each call answered only once its notifications are committed to disk.
    let calls: Vec<_> = names
        .chunks(100)
        .map(|chunk| {
            let items = chunk.iter().map(|n| ("t".to_owned(), notification(n)));
            let h = h.clone();
            let items: Vec<_> = items.collect();
            tokio::spawn(async move { h.enqueue_many_async(items).await.unwrap() })
        })
        .collect();
    for call in calls {
        call.await.unwrap();
    }
    let enqueued = start.elapsed();
    let end = wait_for(arrivals, base + n, Duration::from_secs(120)).await;
    let recv_cpu = cpu_time(recv_stat) - recv0;
    let sender_cpu = (cpu_time("/proc/self/stat") - cpu0).saturating_sub(recv_cpu);
    let threads = threads_delta(&threads0, &threads_cpu());
    let per_sec = n as f64 / (end - start).as_secs_f64();
    println!(
        "c5 {tag}: {n} enqueued (committed) in {:.1} ms, all received after {:.1} ms; \
         CPU by thread: {threads}",
        enqueued.as_secs_f64() * 1000.0,
        (end - start).as_secs_f64() * 1000.0
    );
    // Latency: one at a time.
    let mut lat = Vec::new();
    for i in 0..paced {
        let name = format!("c5-{tag}-paced-{i}");
        let base = arrivals.count.load(Ordering::Acquire);
        let t0 = Instant::now();
        h.enqueue_many_async(vec![("t".to_owned(), notification(&name))])
            .await
            .unwrap();
        let t1 = wait_for(arrivals, base + 1, Duration::from_secs(10)).await;
        lat.push(t1 - t0);
    }
    join.abort();
    lat.sort();
    Run {
        per_sec,
        p50: percentile(&lat, 0.5),
        p99: percentile(&lat, 0.99),
        sender_cpu,
        recv_cpu,
    }
}

/// The transport alone: the same notifier POSTs the same notifications with no outbox and no
/// dispatcher, `concurrency` requests in flight (one task per in-flight slot). What c5's
/// delivery could reach if the outbox and scheduling cost nothing.
async fn ceiling_run(port: u16, arrivals: &Arrivals, n: usize, concurrency: usize) -> f64 {
    let notifier = Arc::new(
        WebhookNotifier::new(WebhookConfig::new(format!("http://127.0.0.1:{port}/hook"))).unwrap(),
    );
    let warm: Vec<_> = (0..WARM_UP)
        .map(|i| notification(&format!("ceiling-warm-{i}")))
        .collect();
    for n in &warm {
        notifier.deliver(n).await.unwrap();
    }
    let items: Arc<Vec<_>> = Arc::new(
        (0..n)
            .map(|i| notification(&format!("ceiling-burst-{i}")))
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let base = arrivals.count.load(Ordering::Acquire);
    let start = Instant::now();
    let cpu0 = cpu_time("/proc/self/stat");
    let threads0 = threads_cpu();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (notifier, items, next) = (notifier.clone(), items.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    notifier.deliver(item).await.unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let end = wait_for(arrivals, base + n, Duration::from_secs(120)).await;
    let per_sec = n as f64 / (end - start).as_secs_f64();
    println!(
        "transport ceiling (WebhookNotifier alone, {concurrency} in flight, no outbox): \
         {per_sec:.0}/s; CPU {} ms; by thread: {}",
        (cpu_time("/proc/self/stat") - cpu0).as_millis(),
        threads_delta(&threads0, &threads_cpu())
    );
    per_sec
}

fn am_alert(name: &str) -> serde_json::Value {
    serde_json::json!({"labels": {"alertname": name}, "annotations": {}})
}

async fn am_run(port: u16, arrivals: &Arrivals, n: usize, paced: usize, round: usize) -> Run {
    let bin = c5_testkit::require_binary("prometheus-alertmanager");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("am.yml");
    std::fs::write(
        &config,
        format!(
            "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 0s\n  \
             group_interval: 1h\n  repeat_interval: 24h\nreceivers:\n- name: hook\n  \
             webhook_configs:\n  - url: http://127.0.0.1:{port}/hook\n    send_resolved: false\n"
        ),
    )
    .unwrap();
    let am_port = c5_testkit::free_port();
    let mut cmd = std::process::Command::new(bin);
    cmd.arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
        .arg("--cluster.listen-address=")
        .arg("--log.level=warn");
    let server = tokio::task::spawn_blocking(move || {
        c5_testkit::Server::start("alertmanager", cmd, dir, am_port, 0, || {
            c5_testkit::http_ok(am_port, "/-/ready")
        })
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{am_port}/api/v2/alerts");
    // Warm-up, not timed, as for c5.
    let base = arrivals.count.load(Ordering::Acquire);
    let warm: Vec<_> = (0..WARM_UP)
        .map(|i| am_alert(&format!("am-r{round}-warm-{i}")))
        .collect();
    let r = client.post(&url).json(&warm).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    wait_for(arrivals, base + WARM_UP, Duration::from_secs(30)).await;
    let names: Vec<String> = (0..n).map(|i| format!("am-r{round}-burst-{i}")).collect();
    let am_stat = format!("/proc/{}/stat", server.pid());
    let recv_stat = arrivals.thread_stat.get().unwrap();
    let base = arrivals.count.load(Ordering::Acquire);
    let (recv0, am_cpu0) = (cpu_time(recv_stat), cpu_time(&am_stat));
    let start = Instant::now();
    let calls: Vec<_> = names
        .chunks(100)
        .map(|chunk| {
            let body: Vec<_> = chunk.iter().map(|n| am_alert(n)).collect();
            let request = client.post(&url).json(&body).send();
            tokio::spawn(async move {
                let r = request.await.unwrap();
                assert!(r.status().is_success(), "{}", r.status());
            })
        })
        .collect();
    for call in calls {
        call.await.unwrap();
    }
    let end = wait_for(arrivals, base + n, Duration::from_secs(300)).await;
    let (recv_cpu, sender_cpu) = (cpu_time(recv_stat) - recv0, cpu_time(&am_stat) - am_cpu0);
    let per_sec = n as f64 / (end - start).as_secs_f64();
    let mut lat = Vec::new();
    for i in 0..paced {
        let name = format!("am-r{round}-paced-{i}");
        let base = arrivals.count.load(Ordering::Acquire);
        let t0 = Instant::now();
        let r = client
            .post(&url)
            .json(&[am_alert(&name)])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        let t1 = wait_for(arrivals, base + 1, Duration::from_secs(10)).await;
        lat.push(t1 - t0);
    }
    lat.sort();
    Run {
        per_sec,
        p50: percentile(&lat, 0.5),
        p99: percentile(&lat, 0.99),
        sender_cpu,
        recv_cpu,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

fn print_table(n: usize, rows: &[(String, &Run)]) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let per_1000 = |d: Duration| ms(d) * 1000.0 / n as f64;
    println!(
        "| system | notifications/s | p50 ms | p99 ms | sender CPU ms per 1000 | \
         receiver CPU ms per 1000 |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, r) in rows {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {:.0} | {:.0} |",
            r.per_sec,
            ms(r.p50),
            ms(r.p99),
            per_1000(r.sender_cpu),
            per_1000(r.recv_cpu)
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run tiny then.
    let benching = std::env::args().any(|a| a == "--bench");
    let n: usize = env_or("C5_BENCH_N", if benching { 2000 } else { 20 });
    let paced = if benching { 200 } else { 5 };
    // Rounds alternate c5 (FULL) and Alertmanager in one process, so a swing of the machine's
    // load (or of Alertmanager's rate) hits both; the ratio reported is of the medians.
    let rounds: usize = env_or("C5_BENCH_ROUNDS", if benching { 5 } else { 1 }).max(1);
    let only_c5 = std::env::var("C5_BENCH_ONLY").is_ok_and(|v| v == "c5");
    notifiers::install_ring_provider();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (port, arrivals) = receiver();
        if std::env::var("C5_BENCH_ONLY").is_ok_and(|v| v == "ceiling") {
            // The transport alone, `rounds` times (for tuning the transport).
            for _ in 0..rounds {
                ceiling_run(port, &arrivals, n, env_or("C5_BENCH_CONCURRENCY", 32)).await;
            }
            return;
        }
        let mut full = Vec::new();
        let mut am = Vec::new();
        for round in 0..rounds {
            full.push(c5_run(port, &arrivals, n, paced, Durability::Full, round).await);
            if !only_c5 {
                am.push(am_run(port, &arrivals, n, paced, round).await);
            }
        }
        let ceiling = ceiling_run(port, &arrivals, n, env_or("C5_BENCH_CONCURRENCY", 32)).await;
        // NORMAL once, after the alternating rounds (it is not part of the ratio of medians).
        let normal = c5_run(port, &arrivals, n, paced, Durability::Normal, 0).await;
        if only_c5 {
            // For profiling the c5 side alone: no ratio.
            for r in full.iter().chain([&normal]) {
                println!(
                    "c5: {:.0}/s p50 {:?} p99 {:?} sender CPU {:?} receiver CPU {:?}",
                    r.per_sec, r.p50, r.p99, r.sender_cpu, r.recv_cpu
                );
            }
            return;
        }
        println!(
            "delivery benchmark: {n} distinct groups (burst), {paced} paced for latency, \
             {rounds} alternating rounds"
        );
        let mut rows: Vec<(String, &Run)> = Vec::new();
        for (round, (c5, peer)) in full.iter().zip(&am).enumerate() {
            rows.push((
                format!("round {} c5 outbox (synchronous=FULL)", round + 1),
                c5,
            ));
            rows.push((format!("round {} Alertmanager 0.25", round + 1), peer));
        }
        rows.push(("c5 outbox (synchronous=NORMAL)".to_owned(), &normal));
        print_table(n, &rows);
        for (round, (c5, peer)) in full.iter().zip(&am).enumerate() {
            println!(
                "round {}: c5 (FULL) {:.0}/s, Alertmanager {:.0}/s, ratio {:.1}x",
                round + 1,
                c5.per_sec,
                peer.per_sec,
                c5.per_sec / peer.per_sec
            );
        }
        let rate = |runs: &[Run]| median(runs.iter().map(|r| r.per_sec).collect());
        let (c5_med, am_med) = (rate(&full), rate(&am));
        println!(
            "median of {rounds} rounds: c5 (FULL) {c5_med:.0}/s, Alertmanager {am_med:.0}/s; \
             ratio of medians c5 (FULL) / Alertmanager: {:.1}x; c5 (NORMAL) / Alertmanager \
             median: {:.1}x",
            c5_med / am_med,
            normal.per_sec / am_med
        );
        println!(
            "transport ceiling (the same WebhookNotifier POSTing with no outbox): {ceiling:.0}/s \
             = {:.1}x Alertmanager's median; c5 (FULL) median is {:.0} % of it",
            ceiling / am_med,
            100.0 * c5_med / ceiling
        );
        let cpu = |runs: &[Run]| median(runs.iter().map(|r| r.sender_cpu.as_secs_f64()).collect());
        println!(
            "sender CPU per notification (medians), Alertmanager / c5 (FULL): {:.1}x \
             (CPU clock ticks are 10 ms: rough)",
            cpu(&am) / cpu(&full).max(1e-3)
        );
    });
}
