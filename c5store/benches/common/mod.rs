//! The bench config shared by `benches/compare.rs` and `examples/load_loop.rs`: 3 TOML layers
//! for `n` sections (defaults, every 3rd section overridden, every 7th overridden again), and
//! the c5store and figment loads both measure.

use std::fmt::Write as _;
use std::hint::black_box;
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

/// c5store: the three layers, merged into a snapshot.
pub fn load_c5(paths: &[PathBuf; 3]) -> c5store::Snapshot {
    c5store::C5Store::builder()
        .file(&paths[0])
        .file(&paths[1])
        .file(&paths[2])
        .load()
        .expect("c5store load")
}

/// figment: the three layers merged; one lookup makes it materialize (it reads lazily per
/// provider and reports errors only at extraction).
pub fn load_figment(paths: &[PathBuf; 3]) -> figment::Figment {
    use figment::providers::Format;
    let mut f = figment::Figment::new();
    for p in paths {
        f = f.merge(figment::providers::Toml::file(p));
    }
    black_box(f.find_value("section_0").expect("figment load"));
    f
}
