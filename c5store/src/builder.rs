//! [`C5Store::builder`]: sources in precedence order, profile, env prefix, transforms,
//! validators → a [`Pipeline`] or straight to a [`Snapshot`].

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{LoadError, LoadErrors};
use crate::pipeline::{Pipeline, Transform, Validator};
use crate::snapshot::Snapshot;
use crate::source::Source;
use crate::sources::{
    DirSource, DotenvSource, EnvSource, FileSource, MemorySource, ProviderSource,
};
use crate::value::Value;

/// Entry point: `C5Store::builder()`.
#[derive(Debug, Clone, Copy)]
pub struct C5Store;

impl C5Store {
    /// A builder with no sources.
    pub fn builder() -> Builder {
        Builder::default()
    }
}

/// Collects sources in precedence order (each call adds one; later wins) and options.
#[derive(Default, Debug)]
pub struct Builder {
    pub(crate) pipeline: Pipeline,
    profile_env: Option<String>,
}

impl Builder {
    /// Adds any source.
    pub fn source(mut self, source: impl Source + 'static) -> Self {
        self.pipeline.sources.push(Arc::new(source));
        self
    }

    /// A required YAML/TOML/JSON file (format from the extension).
    pub fn file(self, path: impl Into<PathBuf>) -> Self {
        self.source(FileSource::new(path))
    }

    /// A file that is skipped when missing.
    pub fn optional_file(self, path: impl Into<PathBuf>) -> Self {
        self.source(FileSource::new(path).optional())
    }

    /// A required directory (see [`DirSource`] for the file order and profiles).
    pub fn dir(self, path: impl Into<PathBuf>) -> Self {
        self.source(DirSource::new(path))
    }

    /// A file or a directory, whichever `path` is (the CLI's `SOURCE` arguments).
    pub fn path(self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        if path.is_dir() {
            self.dir(path)
        } else {
            self.file(path)
        }
    }

    /// The active profile (wins over [`Builder::profile_from_env`]).
    pub fn profile(mut self, profile: &str) -> Self {
        self.pipeline.profile = Some(profile.to_owned());
        self
    }

    /// Take the active profile from this environment variable (e.g. `APP_PROFILE`) when no
    /// profile is set explicitly.
    pub fn profile_from_env(mut self, var: &str) -> Self {
        self.profile_env = Some(var.to_owned());
        self
    }

    /// Environment variables `<prefix>__...`, read at every load, as the next source. Also the
    /// default prefix of `.env` sources.
    pub fn env_prefix(mut self, prefix: &str) -> Self {
        self.pipeline.env_prefix = Some(prefix.to_owned());
        self.source(EnvSource::new(prefix))
    }

    /// Like [`Builder::env_prefix`] with a fixed set of variables instead of the process
    /// environment.
    pub fn env_vars<K: Into<String>, V: Into<String>>(
        mut self,
        prefix: &str,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.pipeline.env_prefix = Some(prefix.to_owned());
        self.source(EnvSource::from_vars(prefix, vars))
    }

    /// A required `.env` file (variables filtered by the env prefix).
    pub fn dotenv(self, path: impl Into<PathBuf>) -> Self {
        self.source(DotenvSource::new(path))
    }

    /// A `.env` file that is skipped when missing.
    pub fn optional_dotenv(self, path: impl Into<PathBuf>) -> Self {
        self.source(DotenvSource::new(path).optional())
    }

    /// An in-memory layer (`name` shows in provenance as `memory:<name>`).
    pub fn memory(self, name: &str, tree: Value) -> Self {
        self.source(MemorySource::new(name, tree))
    }

    /// An in-memory layer from any serializable value (typically a defaults struct).
    pub fn defaults<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<Self, LoadErrors> {
        let s = MemorySource::from_serialize("defaults", value).map_err(|e| {
            LoadErrors::from(LoadError::Invalid {
                key: String::new(),
                origin: None,
                message: e.to_string(),
            })
        })?;
        Ok(self.source(s))
    }

    /// Any `figment::Provider` as a source.
    pub fn provider<P: figment::Provider + Send + Sync + 'static>(self, provider: P) -> Self {
        self.source(ProviderSource::new(provider))
    }

    /// Adds a pure rewrite of the merged tree (the hook secret resolution uses).
    pub fn transform(mut self, t: impl Transform + 'static) -> Self {
        self.pipeline.transforms.push(Arc::new(t));
        self
    }

    /// Adds a check of each candidate snapshot.
    pub fn validate(
        mut self,
        f: impl Fn(&Snapshot) -> Result<(), Vec<LoadError>> + Send + Sync + 'static,
    ) -> Self {
        let v: Validator = Arc::new(f);
        self.pipeline.validators.push(v);
        self
    }

    /// The pipeline, to load now and reload later.
    pub fn build(mut self) -> Pipeline {
        if self.pipeline.profile.is_none()
            && let Some(var) = &self.profile_env
        {
            self.pipeline.profile = std::env::var(var).ok().filter(|p| !p.is_empty());
        }
        self.pipeline
    }

    /// Builds and loads once: the first snapshot, or every problem found.
    pub fn load(self) -> Result<Snapshot, LoadErrors> {
        self.build().load()
    }
}
