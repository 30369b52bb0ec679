//! c5store vs config-rs (`config`) vs figment, side by side in one run on the same generated
//! config: 10 and 10,000 sections in 3 TOML layers (defaults, every 3rd section overridden, every
//! 7th overridden again). Measures load+merge, a typed scalar get and a struct extraction with
//! criterion, then prints a table of c5store/peer ratios (lower is better for c5store) and the
//! heap allocations per scalar get of each library. c5store builds its flat path index on the
//! first read, so `load_merge/*/c5store+first-get` (load, one get, drop) shows that cost too.
//! Load+merge is also timed in paired rounds (c5store and figment alternating, one ratio per
//! round), which a busy machine skews less than two criterion runs seconds apart.
//!
//! Run: `cargo bench -p c5store --bench compare` (per-load instruction counts of the same loads:
//! `examples/load_loop.rs`).

use std::alloc::System;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode};

use common::{generate, load_c5, load_figment};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

mod common;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[derive(serde::Deserialize, Debug)]
#[allow(dead_code)] // fields are read by deserialization only
struct Limits {
    min: i64,
    max: i64,
}

#[derive(serde::Deserialize, Debug)]
#[allow(dead_code)] // fields are read by deserialization only
struct Section {
    host: String,
    port: u16,
    enabled: bool,
    weight: f64,
    tags: Vec<String>,
    limits: Limits,
}

fn load_config(paths: &[PathBuf; 3]) -> config::Config {
    let mut b = config::Config::builder();
    for p in paths {
        b = b.add_source(config::File::from(p.as_path()).format(config::FileFormat::Toml));
    }
    b.build().expect("config-rs load")
}

thread_local! {
    /// (bench id) → per-iteration times of every criterion sample.
    static SAMPLES: RefCell<BTreeMap<String, Vec<f64>>> = const { RefCell::new(BTreeMap::new()) };
}

/// Times `f` for criterion and records the per-iteration time of each sample for the ratios.
fn timed(b: &mut criterion::Bencher<'_>, id: &str, mut f: impl FnMut()) {
    b.iter_custom(|iters| {
        // the bench harness is this crate's clock: criterion hands us the iteration count
        #[allow(clippy::disallowed_methods)]
        let start = std::time::Instant::now();
        for _ in 0..iters {
            f();
        }
        let d = start.elapsed();
        SAMPLES.with(|s| {
            s.borrow_mut()
                .entry(id.to_owned())
                .or_default()
                .push(d.as_secs_f64() / iters.max(1) as f64)
        });
        d
    });
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// c5store/figment load time ratios of `rounds` rounds, each timing `iters` loads of one then
/// `iters` of the other, alternating which goes first. Paired rounds see the same machine load,
/// so on a busy machine their ratios drift less than ratios of two separate criterion runs.
fn paired_load_ratios(paths: &[PathBuf; 3], rounds: usize, iters: usize) -> Vec<f64> {
    // the bench harness is this crate's clock
    #[allow(clippy::disallowed_methods)]
    let time = |f: &dyn Fn()| {
        let start = std::time::Instant::now();
        for _ in 0..iters {
            f();
        }
        start.elapsed().as_secs_f64()
    };
    let c5 = || drop(black_box(load_c5(paths)));
    let fig = || drop(black_box(load_figment(paths)));
    let mut ratios: Vec<f64> = (0..rounds)
        .map(|r| {
            if r % 2 == 0 {
                let a = time(&c5);
                a / time(&fig)
            } else {
                let f = time(&fig);
                time(&c5) / f
            }
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios
}

fn allocs_per_call(mut f: impl FnMut()) -> f64 {
    f();
    let r = Region::new(GLOBAL);
    for _ in 0..100 {
        f();
    }
    r.change().allocations as f64 / 100.0
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut allocs = Vec::new();
    let mut paired = Vec::new();
    for n in [10usize, 10_000] {
        let paths = generate(dir.path(), n);
        let key_section = format!("section_{}", n / 2 / 21 * 21); // overridden by all 3 layers
        let key_port = format!("{key_section}.port");

        let mut g = c.benchmark_group(format!("load_merge/{n}"));
        if n > 1000 {
            g.sampling_mode(SamplingMode::Flat)
                .sample_size(10)
                .warm_up_time(Duration::from_secs(1))
                .measurement_time(Duration::from_secs(8));
        }
        g.bench_function(BenchmarkId::from_parameter("c5store"), |b| {
            timed(b, &format!("load_merge/{n}/c5store"), || {
                drop(black_box(load_c5(&paths)))
            })
        });
        // the flat path index is built on the first read: count it here, honestly
        g.bench_function(BenchmarkId::from_parameter("c5store+first-get"), |b| {
            timed(b, &format!("load_merge/{n}/c5store+first-get"), || {
                let s = load_c5(&paths);
                black_box(s.get::<u16>(black_box("section_0.port")).ok());
                drop(black_box(s))
            })
        });
        g.bench_function(BenchmarkId::from_parameter("config-rs"), |b| {
            timed(b, &format!("load_merge/{n}/config-rs"), || {
                drop(black_box(load_config(&paths)))
            })
        });
        g.bench_function(BenchmarkId::from_parameter("figment"), |b| {
            timed(b, &format!("load_merge/{n}/figment"), || {
                drop(black_box(load_figment(&paths)))
            })
        });
        g.finish();
        let (rounds, iters) = if n > 1000 { (11, 1) } else { (41, 100) };
        paired.push((n, paired_load_ratios(&paths, rounds, iters)));

        let c5 = load_c5(&paths);
        let cfg = load_config(&paths);
        let fig = load_figment(&paths);
        assert_eq!(
            c5.get::<u16>(&key_port).ok(),
            cfg.get::<u16>(&key_port).ok()
        );
        assert_eq!(
            c5.get::<u16>(&key_port).ok(),
            fig.extract_inner::<u16>(&key_port).ok()
        );

        let mut g = c.benchmark_group(format!("get_scalar/{n}"));
        g.bench_function(BenchmarkId::from_parameter("c5store"), |b| {
            timed(b, &format!("get_scalar/{n}/c5store"), || {
                black_box(c5.get::<u16>(black_box(&key_port)).ok());
            })
        });
        g.bench_function(BenchmarkId::from_parameter("config-rs"), |b| {
            timed(b, &format!("get_scalar/{n}/config-rs"), || {
                black_box(cfg.get::<u16>(black_box(&key_port)).ok());
            })
        });
        g.bench_function(BenchmarkId::from_parameter("figment"), |b| {
            timed(b, &format!("get_scalar/{n}/figment"), || {
                black_box(fig.extract_inner::<u16>(black_box(&key_port)).ok());
            })
        });
        g.finish();

        let mut g = c.benchmark_group(format!("get_struct/{n}"));
        g.bench_function(BenchmarkId::from_parameter("c5store"), |b| {
            timed(b, &format!("get_struct/{n}/c5store"), || {
                black_box(c5.get_into::<Section>(black_box(&key_section)).ok());
            })
        });
        g.bench_function(BenchmarkId::from_parameter("config-rs"), |b| {
            timed(b, &format!("get_struct/{n}/config-rs"), || {
                black_box(cfg.get::<Section>(black_box(&key_section)).ok());
            })
        });
        g.bench_function(BenchmarkId::from_parameter("figment"), |b| {
            timed(b, &format!("get_struct/{n}/figment"), || {
                black_box(fig.extract_inner::<Section>(black_box(&key_section)).ok());
            })
        });
        g.finish();

        allocs.push((
            n,
            allocs_per_call(|| {
                black_box(c5.get::<u16>(black_box(&key_port)).ok());
            }),
            allocs_per_call(|| {
                black_box(cfg.get::<u16>(black_box(&key_port)).ok());
            }),
            allocs_per_call(|| {
                black_box(fig.extract_inner::<u16>(black_box(&key_port)).ok());
            }),
        ));
    }
    c.final_summary();

    let samples = SAMPLES.with(|s| s.borrow().clone());
    let t = |id: &str| samples.get(id).map_or(f64::NAN, |v| median(v));
    let fmt = |s: f64| {
        if s >= 1e-3 {
            format!("{:.2} ms", s * 1e3)
        } else if s >= 1e-6 {
            format!("{:.2} µs", s * 1e6)
        } else {
            format!("{:.1} ns", s * 1e9)
        }
    };
    let mut out = String::from(
        "\n| operation | sections | c5store | config-rs | figment | c5store / config-rs | c5store / figment |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    for op in ["load_merge", "get_scalar", "get_struct"] {
        for n in [10, 10_000] {
            let (a, b, f) = (
                t(&format!("{op}/{n}/c5store")),
                t(&format!("{op}/{n}/config-rs")),
                t(&format!("{op}/{n}/figment")),
            );
            let _ = writeln!(
                out,
                "| {op} | {n} | {} | {} | {} | {:.3}× | {:.3}× |",
                fmt(a),
                fmt(b),
                fmt(f),
                a / b,
                a / f
            );
        }
    }
    for n in [10, 10_000] {
        let (a, f) = (
            t(&format!("load_merge/{n}/c5store+first-get")),
            t(&format!("load_merge/{n}/figment")),
        );
        let _ = writeln!(
            out,
            "| load_merge + first get (index build) | {n} | {} | | {} | | {:.3}× |",
            fmt(a),
            fmt(f),
            a / f
        );
    }
    out.push_str(
        "\n| load_merge c5store / figment, paired rounds | sections | rounds | median | min | max |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    for (n, r) in &paired {
        let _ = writeln!(
            out,
            "| alternating c5store and figment loads | {n} | {} | {:.3}× | {:.3}× | {:.3}× |",
            r.len(),
            median(r),
            r.first().copied().unwrap_or(f64::NAN),
            r.last().copied().unwrap_or(f64::NAN)
        );
    }
    out.push_str("\n| heap allocations per scalar get | sections | c5store | config-rs | figment |\n|---|---:|---:|---:|---:|\n");
    for (n, a, b, f) in allocs {
        let _ = writeln!(out, "| get::<u16> | {n} | {a} | {b} | {f} |");
    }
    // a bench binary reports on stdout like criterion does
    #[allow(clippy::print_stdout)]
    {
        println!("{out}");
    }
}
