//! The [`Source`] trait: a description of where configuration comes from, turned into
//! [`Layer`]s by [`Source::load`] (the only place that does I/O).

use std::fmt;
use std::path::PathBuf;

use crate::error::LoadError;
use crate::merge::Layer;
use crate::value::Value;

/// What a source may look at while loading.
#[derive(Clone, Copy, Debug)]
pub struct LoadContext<'a> {
    /// The tree merged from all earlier sources (deleted keys appear as nulls). The env sources
    /// match their segments against its keys case-insensitively.
    pub below: &'a Value,
    /// The active profile (`dev`, `production`), if any.
    pub profile: Option<&'a str>,
    /// The builder's env prefix (`APP`), used by `.env` sources that set none themselves.
    pub env_prefix: Option<&'a str>,
}

/// A place configuration comes from: a file, a directory, env vars, a `.env` file, memory, a
/// figment provider, or anything else. Sources are descriptions; nothing is read until `load`.
///
/// One required method. A source returns zero or more layers (a directory returns one per file)
/// or every problem it found.
pub trait Source: Send + Sync + fmt::Debug {
    /// Reads the source into layers, in precedence order (later wins).
    fn load(&self, cx: &LoadContext<'_>) -> Result<Vec<Layer>, Vec<LoadError>>;

    /// Files and directories whose change should trigger a reload (for watchers).
    fn watch_paths(&self) -> Vec<PathBuf> {
        Vec::new()
    }
}
