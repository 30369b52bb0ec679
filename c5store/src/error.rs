//! Errors: [`LoadError`] (one problem found while loading), [`LoadErrors`] (all problems of one
//! load) and [`GetError`] (reading a key from a snapshot).

use std::fmt;
use std::path::PathBuf;

use crate::origin::Origin;

/// One problem found while loading configuration. Every variant that has a file names it with
/// `path:line:col`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A required file or directory does not exist.
    #[error("{}: not found (mark the source optional to skip it)", path.display())]
    NotFound {
        /// The missing path.
        path: PathBuf,
    },
    /// Reading a file or directory failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path being read.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file extension names no supported format.
    #[error("{}: unsupported file type (expected .yaml, .yml, .toml or .json)", path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// A YAML, TOML, JSON or `.env` syntax error, or an unsupported construct.
    #[error("{}: {format} error: {message}", location(origin))]
    Syntax {
        /// Where the problem is (file, line, column).
        origin: Origin,
        /// `"yaml"`, `"toml"`, `"json"` or `"dotenv"`.
        format: &'static str,
        /// What is wrong.
        message: String,
    },
    /// An environment variable (or `.env` entry) whose value or name cannot be used.
    #[error("{origin}: {message}")]
    Env {
        /// The variable (and `.env` file position, if any).
        origin: Origin,
        /// What is wrong.
        message: String,
    },
    /// A `*_FILE` variable names a file that cannot be read.
    #[error("{origin}: cannot read {}: {source}", path.display())]
    EnvFile {
        /// The variable.
        origin: Origin,
        /// The file it names.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A `figment::Provider` failed.
    #[error("provider {name}: {message}")]
    Provider {
        /// The provider's metadata name.
        name: String,
        /// figment's error, rendered.
        message: String,
    },
    /// A problem found after merging (by a transform such as secret resolution, or a
    /// validator), at a key path.
    #[error("{key}: {message}{}", at(origin.as_ref()))]
    Invalid {
        /// The key path (`db.password`), empty for the whole tree.
        key: String,
        /// Where the offending value was defined, if known.
        origin: Option<Origin>,
        /// What is wrong.
        message: String,
    },
}

fn location(o: &Origin) -> String {
    o.location().unwrap_or_else(|| o.to_string())
}

fn at(o: Option<&Origin>) -> String {
    o.map(|o| format!(" (at {o})")).unwrap_or_default()
}

/// All problems of one load, in source order. Never empty.
#[derive(Debug)]
pub struct LoadErrors {
    errors: Vec<LoadError>,
}

impl LoadErrors {
    /// Wraps a list of problems (returns `None` for an empty list).
    pub fn from_vec(errors: Vec<LoadError>) -> Option<Self> {
        (!errors.is_empty()).then_some(LoadErrors { errors })
    }

    /// The problems, in the order found.
    pub fn iter(&self) -> std::slice::Iter<'_, LoadError> {
        self.errors.iter()
    }

    /// How many problems.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Always false: a `LoadErrors` holds at least one problem.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The problems, by value.
    pub fn into_vec(self) -> Vec<LoadError> {
        self.errors
    }
}

impl From<LoadError> for LoadErrors {
    fn from(e: LoadError) -> Self {
        LoadErrors { errors: vec![e] }
    }
}

impl<'a> IntoIterator for &'a LoadErrors {
    type Item = &'a LoadError;
    type IntoIter = std::slice::Iter<'a, LoadError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

/// One problem per line.
impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.errors.len() > 1 {
            writeln!(f, "{} configuration errors:", self.errors.len())?;
        }
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadErrors {}

/// Reading a key from a [`crate::Snapshot`] failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GetError {
    /// No value at this key.
    #[error("key `{key}` not found")]
    NotFound {
        /// The key path asked for.
        key: String,
    },
    /// The key path is malformed.
    #[error("invalid key path `{key}`: {reason}")]
    InvalidPath {
        /// The key path asked for.
        key: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The value exists but does not fit the requested type.
    #[error("{key}: {message}{}", at(origin.as_ref()))]
    Type {
        /// The full key path of the offending value (`db.port`, `servers[1].port`).
        key: String,
        /// serde's message (`invalid type: string "x", expected u16`).
        message: String,
        /// Where the offending value was defined.
        origin: Option<Origin>,
    },
}

impl GetError {
    /// Whether the key was absent (as opposed to present with a bad value).
    pub fn is_not_found(&self) -> bool {
        matches!(self, GetError::NotFound { .. })
    }
}
