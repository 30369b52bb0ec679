//! Helpers shared by the integration tests: file access for the unit-test runner and a small
//! seeded random generator (deterministic across runs and platforms).

use rules_engine::unittest::Files;

/// Reads files from disk for [`rules_engine::unittest`] (plain paths, no glob patterns).
pub struct FsFiles;

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

/// SplitMix64.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// A random element.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}
