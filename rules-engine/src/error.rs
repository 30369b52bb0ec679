//! Errors of the rule-loading phase and the state import, each carrying file:line:col when
//! there is a file.

use std::fmt;

use crate::yaml::Pos;

/// One problem found while loading a rule file or a test file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadError {
    /// The file the problem is in (as given by the caller).
    pub file: String,
    /// Where in the file, when known.
    pub pos: Option<Pos>,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
}

impl LoadError {
    /// A new error at `pos` in `file`.
    pub fn new(file: &str, pos: Option<Pos>, message: impl Into<String>) -> Self {
        LoadError {
            file: file.to_string(),
            pos,
            message: message.into(),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) => write!(f, "{}:{}:{}: {}", self.file, p.line, p.col, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for LoadError {}

/// All problems found in one pass over one or more files (never empty).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct LoadErrors {
    /// The problems, in file order.
    pub errors: Vec<LoadError>,
}

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl From<LoadError> for LoadErrors {
    fn from(e: LoadError) -> Self {
        LoadErrors { errors: vec![e] }
    }
}

/// Importing a previously exported alert state failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The state was written by an incompatible version.
    #[error("unsupported alert state version {found} (expected {expected})")]
    Version {
        /// The version in the data.
        found: u32,
        /// The version this build writes.
        expected: u32,
    },
}
