//! Text → [`Layer`]: the YAML, TOML and JSON readers. Each keeps the line:col of every node and
//! reports every problem it can find with its position. None of them panics on any input.

pub(crate) mod json;
pub(crate) mod toml;
pub(crate) mod toml_fast;
#[cfg(test)]
mod toml_fast_tests;
pub(crate) mod yaml;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use crate::error::LoadError;
use crate::merge::{Layer, MergeMode, Origins};
use crate::origin::Origin;
use crate::value::{Segment, Value, push_segment};

/// Deepest nesting accepted in any file (deeper input is an error, not a stack overflow).
pub(crate) const MAX_DEPTH: usize = 128;

/// A configuration file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// YAML 1.2 (core schema), read with `saphyr-parser`.
    Yaml,
    /// TOML 1.0/1.1, read with `toml`.
    Toml,
    /// JSON, validated with `serde_json`.
    Json,
}

impl Format {
    /// The format named by a file extension (`yaml`, `yml`, `toml`, `json`), case-insensitive.
    pub fn from_extension(ext: &str) -> Option<Format> {
        [
            ("yaml", Format::Yaml),
            ("yml", Format::Yaml),
            ("toml", Format::Toml),
            ("json", Format::Json),
        ]
        .into_iter()
        .find_map(|(e, f)| ext.eq_ignore_ascii_case(e).then_some(f))
    }

    /// The format of a path, by its extension.
    pub fn from_path(path: &Path) -> Option<Format> {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(Format::from_extension)
    }

    /// [`Format::name`] as the shared source name of origins (allocated once per process).
    fn source_name(self) -> Arc<str> {
        static NAMES: [OnceLock<Arc<str>>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        let slot = match self {
            Format::Yaml => &NAMES[0],
            Format::Toml => &NAMES[1],
            Format::Json => &NAMES[2],
        };
        slot.get_or_init(|| Arc::from(self.name())).clone()
    }

    /// `"yaml"`, `"toml"` or `"json"`: also the source name in origins.
    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Toml => "toml",
            Format::Json => "json",
        }
    }
}

/// Parses `text` in `format` into a layer. `file` names the text in origins and errors.
pub fn parse(format: Format, text: &str, file: Option<&Path>) -> Result<Layer, Vec<LoadError>> {
    let mut rec = Recorder::with_source(format.source_name(), file.map(Arc::from));
    let tree = match format {
        Format::Yaml => yaml::parse_document(text, &mut rec)?,
        Format::Toml => toml::parse_document(text, &mut rec)?,
        Format::Json => json::parse_document(text, &mut rec)?,
    };
    let tree = match tree {
        Value::Null => Value::empty_map(),
        t @ Value::Map(_) => t,
        other => {
            let origin = rec
                .origins
                .get("")
                .cloned()
                .unwrap_or_else(|| rec.origin(1, 1));
            return Err(vec![LoadError::Syntax {
                origin,
                format: format.name(),
                message: format!("the top level must be a map, found a {}", other.kind()),
            }]);
        }
    };
    let fallback = rec.origin(0, 0);
    Ok(Layer {
        tree,
        origins: rec.origins,
        positions: rec.positions,
        fallback,
        mode: MergeMode::default(),
    })
}

/// Records the origin of each node while a parser walks a document.
pub(crate) struct Recorder {
    pub(crate) source: Arc<str>,
    pub(crate) file: Option<Arc<Path>>,
    /// The canonical path of the node being built.
    pub(crate) path: String,
    pub(crate) origins: Origins,
    /// Node-aligned origins, for readers that build them instead of `origins` (TOML).
    pub(crate) positions: crate::prov_tree::ProvenanceTree,
}

impl Recorder {
    pub(crate) fn new(source: &str, file: Option<Arc<Path>>) -> Self {
        Self::with_source(source.into(), file)
    }

    pub(crate) fn with_source(source: Arc<str>, file: Option<Arc<Path>>) -> Self {
        Recorder {
            source,
            file,
            path: String::new(),
            origins: Origins::default(),
            positions: crate::prov_tree::ProvenanceTree::default(),
        }
    }

    /// An origin in this document.
    pub(crate) fn origin(&self, line: u32, col: u32) -> Origin {
        Origin::at(self.source.clone(), self.file.clone(), line, col)
    }

    /// Records that the node at the current path starts at `line:col`.
    pub(crate) fn record(&mut self, line: u32, col: u32) {
        let o = self.origin(line, col);
        self.origins.insert(self.path.clone(), o);
    }

    /// Descends into a child; returns the length to [`Recorder::pop`] back to.
    pub(crate) fn push(&mut self, seg: Segment<'_>) -> usize {
        let len = self.path.len();
        push_segment(&mut self.path, seg);
        len
    }

    /// Returns to the parent.
    pub(crate) fn pop(&mut self, len: usize) {
        self.path.truncate(len);
    }

    /// A syntax error at `line:col` in this document.
    pub(crate) fn error(
        &self,
        format: &'static str,
        line: u32,
        col: u32,
        message: impl Into<String>,
    ) -> LoadError {
        LoadError::Syntax {
            origin: self.origin(line, col),
            format,
            message: message.into(),
        }
    }
}
