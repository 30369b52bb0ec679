//! Where a value came from: [`Origin`] (source, file, line, column), [`Provenance`] of one leaf
//! (the winner and every lower layer it overrode) and [`LineIndex`] (byte offset → line:col).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::value::Value;

/// The place one value was defined.
///
/// `line` and `col` are 1-based; 0 means unknown (values from memory, env vars, providers).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The kind and name of the source: `"yaml"`, `"toml"`, `"json"`, `"env"`, `"dotenv"`,
    /// `"memory:defaults"`, `"provider:<name>"`.
    pub source: Arc<str>,
    /// The file the value was read from, if any.
    pub file: Option<Arc<Path>>,
    /// 1-based line, 0 if unknown.
    pub line: u32,
    /// 1-based column (in characters), 0 if unknown.
    pub col: u32,
    /// The variable that set the value, for env and `.env` sources (`APP__DB__PORT`).
    pub var: Option<Arc<str>>,
}

impl Origin {
    /// An origin with only a source name (memory, providers).
    pub fn named(source: impl Into<Arc<str>>) -> Self {
        Origin {
            source: source.into(),
            file: None,
            line: 0,
            col: 0,
            var: None,
        }
    }

    /// An origin at `file:line:col`.
    pub fn at(source: Arc<str>, file: Option<Arc<Path>>, line: u32, col: u32) -> Self {
        Origin {
            source,
            file,
            line,
            col,
            var: None,
        }
    }

    /// The `path:line:col` part alone (`path` alone when the position is unknown), or `None` for
    /// origins without a file.
    pub fn location(&self) -> Option<String> {
        let file = self.file.as_ref()?;
        Some(if self.line == 0 {
            file.display().to_string()
        } else {
            format!("{}:{}:{}", file.display(), self.line, self.col)
        })
    }
}

/// `path:line:col (source)`, `env APP__DB__PORT`, `.env:3:1 (APP__X)` or the source name.
impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.location(), &self.var) {
            (Some(loc), Some(var)) => write!(f, "{loc} ({var})"),
            (Some(loc), None) => write!(f, "{loc} ({})", self.source),
            (None, Some(var)) => write!(f, "{} {var}", self.source),
            (None, None) => f.write_str(&self.source),
        }
    }
}

/// A lower layer's value that a later layer replaced.
#[derive(Clone, Debug, PartialEq)]
pub struct Overridden {
    /// Where the replaced value was defined.
    pub origin: Origin,
    /// The replaced value (a secret stays redacted when printed).
    pub value: Value,
}

/// The provenance of one node: where the winning value came from and what it overrode, nearest
/// layer first.
#[derive(Clone, Debug, PartialEq)]
pub struct Provenance {
    /// Where the winning value was defined.
    pub origin: Origin,
    /// Every lower definition this one replaced, the layer just below first.
    pub overridden: Vec<Overridden>,
}

impl Provenance {
    /// A provenance without overrides.
    pub fn new(origin: Origin) -> Self {
        Provenance {
            origin,
            overridden: Vec::new(),
        }
    }
}

/// Turns byte offsets of one text into 1-based line and column (columns count characters).
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
    /// Whether the text is ASCII (then a column is a byte distance; no char counting).
    ascii: bool,
}

impl LineIndex {
    /// Indexes the line starts of `text`.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex {
            starts,
            ascii: text.is_ascii(),
        }
    }

    /// 1-based (line, column) of byte `offset` in `text` (the text given to [`LineIndex::new`]).
    pub fn line_col(&self, text: &str, offset: usize) -> (u32, u32) {
        self.line_col_near(text, offset, &mut 0)
    }

    /// Like [`LineIndex::line_col`], starting the search at line index `*hint` (0-based) and
    /// leaving the found line there: positions asked in document order cost a step or two each
    /// instead of a binary search.
    pub fn line_col_near(&self, text: &str, offset: usize, hint: &mut usize) -> (u32, u32) {
        let offset = offset.min(text.len());
        let from = *hint;
        let near = self.starts.get(from).is_some_and(|&s| s <= offset)
            && self.starts.get(from + 8).is_none_or(|&s| s > offset);
        let line = if near {
            let ahead = self.starts.get(from + 1..).unwrap_or(&[]);
            from + ahead.iter().take(8).take_while(|&&s| s <= offset).count()
        } else {
            self.starts
                .partition_point(|&s| s <= offset)
                .saturating_sub(1)
        };
        *hint = line;
        let start = self.starts.get(line).copied().unwrap_or(0);
        if self.ascii {
            return (to_u32(line + 1), to_u32(offset.saturating_sub(start) + 1));
        }
        let col = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (to_u32(line + 1), to_u32(col + 1))
    }
}

/// Saturating `usize` → `u32` for line and column numbers.
pub(crate) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let t = "ab\ncdé\n\nx";
        let ix = LineIndex::new(t);
        assert_eq!(ix.line_col(t, 0), (1, 1));
        assert_eq!(ix.line_col(t, 3), (2, 1));
        assert_eq!(ix.line_col(t, 7), (2, 4)); // after "cdé" (é is 2 bytes)
        assert_eq!(ix.line_col(t, 9), (4, 1));
        assert_eq!(ix.line_col(t, 999), (4, 2));
        let a = "ab\ncd\n";
        let ix = LineIndex::new(a);
        assert_eq!(ix.line_col(a, 4), (2, 2));
        assert_eq!(ix.line_col(a, 6), (3, 1));
        // the hinted search agrees with the binary search, forwards, backwards and far ahead
        let t: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let ix = LineIndex::new(&t);
        let mut hint = 0;
        for off in (0..t.len())
            .chain((0..t.len()).rev())
            .chain([0, t.len() - 1, 3, 400])
        {
            assert_eq!(
                ix.line_col_near(&t, off, &mut hint),
                ix.line_col(&t, off),
                "{off}"
            );
        }
    }

    #[test]
    fn display_names_the_place() {
        let o = Origin::at("yaml".into(), Some(Path::new("a.yaml").into()), 3, 9);
        assert_eq!(o.to_string(), "a.yaml:3:9 (yaml)");
        let mut e = Origin::named("env");
        e.var = Some("APP__DB__PORT".into());
        assert_eq!(e.to_string(), "env APP__DB__PORT");
    }
}
