//! Loads the `compare` bench's config (3 TOML layers, `N` sections) `ITERS` times with c5store
//! or with figment, for counting instructions or CPU time per load outside criterion:
//!
//! ```text
//! cargo build --release -p c5store --example load_loop
//! valgrind --tool=callgrind --toggle-collect='load_loop::run_*' \
//!     target/release/examples/load_loop 10 c5store 100     # or: 10 figment 100
//! target/release/examples/load_loop 10 cpu 200             # CPU time, alternating rounds
//! ```
//! Instruction counts do not depend on the machine's load, so they compare c5store and figment
//! reliably even while other work runs; `cpu` prints per-load CPU time (user + system) of both.
#![allow(clippy::print_stdout)] // an example program talks to the terminal

use std::hint::black_box;
use std::path::PathBuf;

#[path = "../benches/common/mod.rs"]
mod common;

use common::{load_c5, load_figment};

/// `iters` c5store loads (and drops), the unit callgrind's `--toggle-collect` counts.
#[inline(never)]
fn run_c5store(paths: &[PathBuf; 3], iters: usize) {
    for _ in 0..iters {
        drop(black_box(load_c5(paths)));
    }
}

/// `iters` figment loads (and drops).
#[inline(never)]
fn run_figment(paths: &[PathBuf; 3], iters: usize) {
    for _ in 0..iters {
        drop(black_box(load_figment(paths)));
    }
}

/// CPU time (user + system) of this thread so far, in seconds, with nanosecond resolution
/// (`/proc/thread-self/schedstat`, Linux).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |ns| ns / 1e9)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: load_loop N c5store|figment|cpu ITERS";
    let n: usize = args.get(1).ok_or(usage)?.parse()?;
    let which = args.get(2).ok_or(usage)?.as_str();
    let iters: usize = args.get(3).ok_or(usage)?.parse()?;
    let dir = tempfile::tempdir()?;
    let paths = common::generate(dir.path(), n);
    match which {
        "c5store" => run_c5store(&paths, iters),
        "figment" => run_figment(&paths, iters),
        "cpu" => {
            let rounds = 20;
            let (mut c5, mut fig) = (0.0, 0.0);
            for r in 0..rounds {
                let order: [bool; 2] = if r % 2 == 0 {
                    [true, false]
                } else {
                    [false, true]
                };
                for is_c5 in order {
                    let start = cpu_seconds();
                    if is_c5 {
                        run_c5store(&paths, iters);
                        c5 += cpu_seconds() - start;
                    } else {
                        run_figment(&paths, iters);
                        fig += cpu_seconds() - start;
                    }
                }
            }
            let per = |t: f64| t / (rounds * iters) as f64 * 1e6;
            println!(
                "{n} sections: c5store {:.1} µs, figment {:.1} µs CPU per load, ratio {:.3}",
                per(c5),
                per(fig),
                c5 / fig
            );
        }
        _ => return Err(usage.into()),
    }
    Ok(())
}
