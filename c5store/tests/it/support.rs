//! Helpers: temp directories with config files.

use std::path::{Path, PathBuf};

/// A temp dir holding the given files (name → text).
pub fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = d.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, text).unwrap();
    }
    d
}

/// `dir/name`.
pub fn at(d: &tempfile::TempDir, name: &str) -> PathBuf {
    d.path().join(name)
}

/// The file name of an origin's file.
pub fn file_name(p: &Path) -> &str {
    p.file_name().unwrap().to_str().unwrap()
}
