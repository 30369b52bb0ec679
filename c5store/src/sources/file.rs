//! [`FileSource`] (one YAML/TOML/JSON file) and [`DirSource`] (every supported file of a
//! directory, with profiles).

use std::cell::Cell;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::error::LoadError;
use crate::merge::Layer;
use crate::parse::{Format, parse};
use crate::source::{LoadContext, Source};

/// One configuration file. The format comes from the extension unless set.
#[derive(Clone, Debug)]
pub struct FileSource {
    path: PathBuf,
    format: Option<Format>,
    optional: bool,
    append_arrays: bool,
}

impl FileSource {
    /// A required file.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileSource {
            path: path.into(),
            format: None,
            optional: false,
            append_arrays: false,
        }
    }

    /// Skip the file when it does not exist (instead of failing the load).
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// Read the file as `format` whatever its extension.
    pub fn format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }

    /// This file's sequences append to lower ones instead of replacing them.
    pub fn append_arrays(mut self) -> Self {
        self.append_arrays = true;
        self
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Source for FileSource {
    fn load(&self, _cx: &LoadContext<'_>) -> Result<Vec<Layer>, Vec<LoadError>> {
        let Some(format) = self.format.or_else(|| Format::from_path(&self.path)) else {
            return Err(vec![LoadError::UnknownFormat {
                path: self.path.clone(),
            }]);
        };
        let text = match read_text(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return if self.optional {
                    Ok(Vec::new())
                } else {
                    Err(vec![LoadError::NotFound {
                        path: self.path.clone(),
                    }])
                };
            }
            Err(source) => {
                return Err(vec![LoadError::Io {
                    path: self.path.clone(),
                    source,
                }]);
            }
        };
        let layer = parse(format, &text, Some(&self.path));
        text.give_back();
        let mut layer = layer?;
        layer.mode.append_arrays = self.append_arrays;
        Ok(vec![layer])
    }

    fn watch_paths(&self) -> Vec<PathBuf> {
        vec![self.path.clone()]
    }
}

/// Text buffers up to this many bytes are kept for the next file read on the thread.
const KEEP_TEXT_BYTES: usize = 256 * 1024;

thread_local! {
    /// The buffer of the last file read on this thread (cleared, capacity kept): reading a few
    /// small files per load then allocates nothing for their text.
    static TEXT: Cell<String> = const { Cell::new(String::new()) };
}

/// A file's text in this thread's reused buffer; [`Text::give_back`] returns the buffer.
struct Text(String);

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Text {
    fn give_back(mut self) {
        if self.0.capacity() <= KEEP_TEXT_BYTES {
            self.0.clear();
            TEXT.set(self.0);
        }
    }
}

/// `std::fs::read_to_string` into the reused buffer (same errors: not found, not UTF-8, ...;
/// same system calls: open, one stat for the size, the reads, close).
fn read_text(path: &Path) -> std::io::Result<Text> {
    let mut buf = TEXT.take();
    buf.clear();
    let mut file = std::fs::File::open(path)?;
    let size = file
        .metadata()
        .map_or(0, |m| usize::try_from(m.len()).unwrap_or(0));
    buf.try_reserve(size).map_err(std::io::Error::other)?;
    // through `Take`: `File::read_to_string` would also ask the file position (one more call)
    (&mut file).take(u64::MAX).read_to_string(&mut buf)?;
    Ok(Text(buf))
}

/// Every supported file (`.yaml`, `.yml`, `.toml`, `.json`) of one directory, not recursive.
///
/// **Plain directory** (no `default.*` file): every file, sorted by file name.
///
/// **Profile directory** (has a `default.*` file): only `default.*`, then `<profile>.*` for the
/// active profile (if any), then `local.*` — in that order, later wins. Other files are ignored,
/// so `production.yaml` does not leak into a `staging` run. With several extensions for one stem
/// (`default.toml`, `default.yaml`) they load in extension order.
#[derive(Clone, Debug)]
pub struct DirSource {
    path: PathBuf,
    optional: bool,
}

impl DirSource {
    /// A required directory.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        DirSource {
            path: path.into(),
            optional: false,
        }
    }

    /// Skip the directory when it does not exist.
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// The files this directory contributes, in load order.
    pub fn files(&self, profile: Option<&str>) -> Result<Vec<PathBuf>, LoadError> {
        let rd = match std::fs::read_dir(&self.path) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return if self.optional {
                    Ok(Vec::new())
                } else {
                    Err(LoadError::NotFound {
                        path: self.path.clone(),
                    })
                };
            }
            Err(source) => {
                return Err(LoadError::Io {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let mut files = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|source| LoadError::Io {
                path: self.path.clone(),
                source,
            })?;
            let p = entry.path();
            if p.is_file() && Format::from_path(&p).is_some() {
                files.push(p);
            }
        }
        files.sort();
        let stem = |p: &PathBuf| p.file_stem().and_then(|s| s.to_str()).map(str::to_owned);
        if !files.iter().any(|p| stem(p).as_deref() == Some("default")) {
            return Ok(files);
        }
        let mut order = vec!["default"];
        order.extend(profile.filter(|p| !matches!(*p, "default" | "local")));
        order.push("local");
        Ok(order
            .into_iter()
            .flat_map(|name| {
                files
                    .iter()
                    .filter(move |p| stem(p).as_deref() == Some(name))
                    .cloned()
            })
            .collect())
    }
}

impl Source for DirSource {
    fn load(&self, cx: &LoadContext<'_>) -> Result<Vec<Layer>, Vec<LoadError>> {
        let files = self.files(cx.profile).map_err(|e| vec![e])?;
        let mut layers = Vec::with_capacity(files.len());
        let mut errors = Vec::new();
        for f in files {
            match FileSource::new(f).load(cx) {
                Ok(l) => layers.extend(l),
                Err(e) => errors.extend(e),
            }
        }
        if errors.is_empty() {
            Ok(layers)
        } else {
            Err(errors)
        }
    }

    fn watch_paths(&self) -> Vec<PathBuf> {
        vec![self.path.clone()]
    }
}
