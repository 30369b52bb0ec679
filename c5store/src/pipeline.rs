//! The load pipeline, one path for startup and reload:
//! `sources → layers → merge → transforms (secret resolution) → snapshot → validators`.

use std::fmt;
use std::sync::Arc;

use crate::error::{LoadError, LoadErrors};
use crate::merge::{Merged, Merger};
use crate::snapshot::Snapshot;
use crate::source::{LoadContext, Source};

/// A pure step between merge and snapshot: it may rewrite leaves of the merged tree (secret
/// resolution turns encrypted strings into secrets here) or report problems by key path.
///
/// Transforms see the whole merged tree with its provenance, and run in the order added.
pub trait Transform: Send + Sync {
    /// Rewrites `merged` in place or returns every problem found.
    fn apply(&self, merged: &mut Merged) -> Result<(), Vec<LoadError>>;
}

impl<F> Transform for F
where
    F: Fn(&mut Merged) -> Result<(), Vec<LoadError>> + Send + Sync,
{
    fn apply(&self, merged: &mut Merged) -> Result<(), Vec<LoadError>> {
        self(merged)
    }
}

/// A check of a candidate snapshot; a failing candidate never replaces the current one.
pub type Validator = Arc<dyn Fn(&Snapshot) -> Result<(), Vec<LoadError>> + Send + Sync>;

/// Everything needed to (re)build a snapshot. Cheap to clone; build it with
/// [`crate::C5Store::builder`].
#[derive(Clone, Default)]
pub struct Pipeline {
    pub(crate) sources: Vec<Arc<dyn Source>>,
    pub(crate) transforms: Vec<Arc<dyn Transform>>,
    pub(crate) validators: Vec<Validator>,
    pub(crate) profile: Option<String>,
    pub(crate) env_prefix: Option<String>,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("sources", &self.sources)
            .field("transforms", &self.transforms.len())
            .field("validators", &self.validators.len())
            .field("profile", &self.profile)
            .field("env_prefix", &self.env_prefix)
            .finish()
    }
}

impl Pipeline {
    /// The sources, in precedence order.
    pub fn sources(&self) -> &[Arc<dyn Source>] {
        &self.sources
    }

    /// The active profile.
    pub fn profile(&self) -> Option<&str> {
        self.profile.as_deref()
    }

    /// Every file or directory a watcher should watch.
    pub fn watch_paths(&self) -> Vec<std::path::PathBuf> {
        self.sources.iter().flat_map(|s| s.watch_paths()).collect()
    }

    /// Loads every source and merges them; then runs the transforms. Collects the problems of
    /// all sources before failing.
    pub fn load_merged(&self) -> Result<Merged, LoadErrors> {
        let mut merger = Merger::new();
        let mut errors = Vec::new();
        for source in &self.sources {
            let cx = LoadContext {
                below: merger.tree(),
                profile: self.profile.as_deref(),
                env_prefix: self.env_prefix.as_deref(),
            };
            match source.load(&cx) {
                Ok(layers) => layers.into_iter().for_each(|l| merger.apply(l)),
                Err(e) => errors.extend(e),
            }
        }
        if !errors.is_empty() {
            return Err(LoadErrors::from_vec(errors).unwrap_or_else(unreachable_empty));
        }
        let mut merged = merger.finish();
        // hook point: secret resolution and other pure rewrites of the merged tree
        for t in &self.transforms {
            if let Err(e) = t.apply(&mut merged) {
                errors.extend(e);
            }
        }
        match LoadErrors::from_vec(errors) {
            Some(e) => Err(e),
            None => Ok(merged),
        }
    }

    /// Builds the next snapshot after `current` (version + 1). Startup is
    /// `reload(&Snapshot::empty())`. `current` is never modified: on error the caller keeps it.
    pub fn reload(&self, current: &Snapshot) -> Result<Snapshot, LoadErrors> {
        self.load_version(current.version() + 1)
    }

    /// Loads, merges and validates a snapshot numbered `version`.
    fn load_version(&self, version: u64) -> Result<Snapshot, LoadErrors> {
        let merged = self.load_merged()?;
        let snap = Snapshot::from_merged(merged, version);
        let errors: Vec<LoadError> = self
            .validators
            .iter()
            .filter_map(|v| v(&snap).err())
            .flatten()
            .collect();
        match LoadErrors::from_vec(errors) {
            Some(e) => Err(e),
            None => Ok(snap),
        }
    }

    /// The first load (version 1).
    pub fn load(&self) -> Result<Snapshot, LoadErrors> {
        // what `reload(&Snapshot::empty())` does, without building the empty snapshot
        self.load_version(1)
    }
}

/// `LoadErrors::from_vec` of a non-empty list never fails; this keeps the code panic-free.
fn unreachable_empty() -> LoadErrors {
    LoadErrors::from(LoadError::Invalid {
        key: String::new(),
        origin: None,
        message: "internal error: empty error list".into(),
    })
}
