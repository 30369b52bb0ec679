//! The silences file: a JSON list of silences, written by `notifyd silence add/expire` and read by
//! the daemon at start (and whenever it changes), so silences survive restarts.
//!
//! Writes are atomic (temporary file, fsync, rename), so a reader never sees half a file.

use std::io::Write as _;
use std::path::Path;

use crate::silence::{Silence, SilenceError, Silences};

/// A silences file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SilenceFileError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a JSON list of silences.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: String,
        /// The JSON error (with line and column).
        #[source]
        source: serde_json::Error,
    },
    /// A stored silence is invalid.
    #[error("{path}: {source}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong with it.
        #[source]
        source: SilenceError,
    },
}

/// Reads the silences file at `path`; a missing file holds no silences.
pub fn load(path: &Path) -> Result<Silences, SilenceFileError> {
    let p = || path.display().to_string();
    let saved: Vec<Silence> = match std::fs::read_to_string(path) {
        Ok(s) => serde_json::from_str(&s)
            .map_err(|source| SilenceFileError::Json { path: p(), source })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => return Err(SilenceFileError::Io { path: p(), source }),
    };
    Silences::from_saved(saved).map_err(|source| SilenceFileError::Invalid { path: p(), source })
}

/// Writes `silences` to `path` atomically.
pub fn save(path: &Path, silences: &Silences) -> Result<(), SilenceFileError> {
    let io = |source| SilenceFileError::Io {
        path: path.display().to_string(),
        source,
    };
    let json = serde_json::to_string_pretty(&silences.to_saved()).map_err(|source| {
        SilenceFileError::Json {
            path: path.display().to_string(),
            source,
        }
    })?;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(json.as_bytes())
        .and_then(|()| f.write_all(b"\n"))
        .and_then(|()| f.sync_all())
        .map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
