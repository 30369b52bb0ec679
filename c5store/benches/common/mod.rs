//! The bench config shared by `benches/compare.rs` and `examples/load_loop.rs`: 3 TOML layers
//! for `n` sections (defaults, every 3rd section overridden, every 7th overridden again).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Writes the three layers for `n` sections; returns their paths.
pub fn generate(dir: &Path, n: usize) -> [PathBuf; 3] {
    let mut base = String::new();
    let mut mid = String::new();
    let mut top = String::new();
    for i in 0..n {
        let _ = write!(
            base,
            "[section_{i}]\nhost = \"host-{i}.internal\"\nport = {}\nenabled = true\nweight = 0.5\n\
             tags = [\"a\", \"b\", \"c\"]\n\n[section_{i}.limits]\nmin = 1\nmax = 100\n\n",
            1000 + i % 50000
        );
        if i % 3 == 0 {
            let _ = write!(
                mid,
                "[section_{i}]\nport = {}\n\n[section_{i}.limits]\nmax = 200\n\n",
                2000 + i % 50000
            );
        }
        if i % 7 == 0 {
            let _ = write!(
                top,
                "[section_{i}]\nhost = \"override-{i}.internal\"\nenabled = false\n\n"
            );
        }
    }
    let paths = [
        dir.join(format!("base-{n}.toml")),
        dir.join(format!("mid-{n}.toml")),
        dir.join(format!("top-{n}.toml")),
    ];
    for (p, text) in paths.iter().zip([base, mid, top]) {
        std::fs::write(p, text).expect("write bench config");
    }
    paths
}
