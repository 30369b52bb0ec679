//! A YAML document as a tree of nodes that remember their line and column, built from the
//! `saphyr-parser` event stream (no serde_yaml), plus a serde `Deserializer` over the tree so
//! typed specs get `deny_unknown_fields` and errors that carry `line:col`.
//!
//! The tree: [`Node`] (a position and a [`Kind`]): null, a scalar with its text and whether it
//! was plain (a plain scalar may be a bool or number; a quoted or block one is always a string),
//! a sequence, or a mapping whose entries keep document order and the position of each
//! [`Key`]. Anchors and aliases are resolved while building (an alias is a copy of its anchored
//! node, at the alias's position); merge keys (`<<: *defaults`) are applied when
//! [`Options::merge_keys`] is on.
//!
//! Always, whatever the [`Options`]:
//! - a plain `""`, `~`, `null`, `Null` or `NULL`, and an empty document, is [`Kind::Null`];
//! - mapping keys are scalars (a null key is the empty name); a sequence or mapping as a key is
//!   an error;
//! - collections nested deeper than [`MAX_DEPTH`], and aliases that together copy more than
//!   [`ALIAS_BUDGET`] nodes, are errors;
//! - a repeated key in one mapping is an error ([`ErrorKind::DuplicateKey`], as Go's
//!   `yaml.UnmarshalStrict` / yaml.v3 report it), unless [`Options::keep_duplicate_keys`] asks
//!   for both entries (for a caller that words repeats as yaml.v2 does, among its decode errors). Its message is yaml.v3's (`mapping key "a" already defined at line
//!   1`); a caller that words it differently matches on the kind (notifyd keeps its
//!   ``key `a` already set in this mapping at line 1``).
//!
//! What differs between the users is chosen by [`Options`]:
//! - `rules-engine` reads rule and test files the way promtool's Go decoders do: the first
//!   document only (later ones are not read), merge keys applied
//!   (`merge_keys: true, first_document_only: true`);
//! - `notifyd` reads its Alertmanager-compatible config with merge keys, and a second document is
//!   an error ([`Options::default`], used by [`parse`]).

mod build;
mod de;

use std::fmt;

pub use build::{ALIAS_BUDGET, MAX_DEPTH};
pub use de::{from_node, from_str};

/// A position in a source text: 1-based line and 1-based column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Pos {
    /// Line, starting at 1.
    pub line: usize,
    /// Column in characters, starting at 1.
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// One YAML value with the position where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the value starts (a block scalar: at its `|` or `>` header, as Go's decoders say).
    pub pos: Pos,
    /// The value.
    pub kind: Kind,
}

/// The shape of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `null`, `~`, an empty value or an empty document.
    Null,
    /// A scalar; `plain` is false for quoted and block scalars (which are always strings).
    Scalar {
        /// The scalar text after unescaping.
        value: String,
        /// Whether it was written unquoted (and so may be a bool or number).
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping with its keys in document order (merged keys after the mapping's own).
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The key text (empty for a null key).
    pub name: String,
    /// Where the key starts.
    pub pos: Pos,
}

impl Node {
    /// A short name of the value's type for error messages: null, scalar, sequence, mapping.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Null => "null",
            Kind::Scalar { .. } => "scalar",
            Kind::Seq(_) => "sequence",
            Kind::Map(_) => "mapping",
        }
    }

    /// Whether the value is null.
    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Null)
    }

    /// The value for `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The key `key` when this node is a mapping (to point at a key rather than its value).
    pub fn key(&self, key: &str) -> Option<&Key> {
        match &self.kind {
            Kind::Map(entries) => entries.iter().map(|(k, _)| k).find(|k| k.name == key),
            _ => None,
        }
    }

    /// The items when this node is a sequence (empty otherwise).
    pub fn items(&self) -> &[Node] {
        match &self.kind {
            Kind::Seq(items) => items,
            _ => &[],
        }
    }

    /// The scalar text, if this node is a (non-null) scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }
}

/// What went wrong, for callers that word or report some errors their own way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text is not valid YAML, or not the YAML this crate reads (a second document, a
    /// collection as a key, a bad merge key).
    Syntax,
    /// A mapping repeats a key.
    DuplicateKey {
        /// The repeated key.
        key: String,
        /// Where the key was first set.
        first: Pos,
    },
    /// The tree does not deserialize into the asked type (serde).
    Decode,
}

/// A YAML syntax error or a typed-deserialization error, with where it happened when known
/// (parse errors always know; a serde error gets the position of the innermost node).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", pos.map(|p| format!("{p}: ")).unwrap_or_default())]
pub struct YamlError {
    /// Where the problem is.
    pub pos: Option<Pos>,
    /// What is wrong.
    pub message: String,
    /// Which kind of problem it is.
    pub kind: ErrorKind,
}

impl YamlError {
    pub(crate) fn syntax(pos: Pos, message: impl Into<String>) -> Self {
        YamlError {
            pos: Some(pos),
            message: message.into(),
            kind: ErrorKind::Syntax,
        }
    }

    /// Sets the position unless an inner node already set one.
    pub(crate) fn at(mut self, pos: Pos) -> Self {
        self.pos.get_or_insert(pos);
        self
    }
}

/// How to read a text where the users of this crate differ (see the crate docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// `<<` with a mapping or a list of mappings merges their entries into the mapping (keys
    /// set in the mapping itself win, the first list item wins over later ones). Off: `<<` is
    /// an ordinary key.
    pub merge_keys: bool,
    /// Only the first document is read and the text after it is ignored (as Go's
    /// `yaml.Unmarshal` does). Off: a second document is an error.
    pub first_document_only: bool,
    /// A key repeated in one mapping is kept as a second entry instead of being an error, for
    /// a caller that reports repeats itself (as yaml.v2's `UnmarshalStrict` does, among its
    /// other decode errors). Off: [`ErrorKind::DuplicateKey`].
    pub keep_duplicate_keys: bool,
}

impl Default for Options {
    /// Merge keys on, exactly one document, a repeated key an error.
    fn default() -> Self {
        Options {
            merge_keys: true,
            first_document_only: false,
            keep_duplicate_keys: false,
        }
    }
}

impl Options {
    /// Parses `src` into a node tree (the first document, see
    /// [`first_document_only`](Options::first_document_only)); an empty text is a null at 1:1.
    pub fn parse(&self, src: &str) -> Result<Node, YamlError> {
        build::parse(src, self)
    }

    /// Parses `src` and deserializes the tree into `T`, returning both.
    pub fn from_str<T: serde::de::DeserializeOwned>(
        &self,
        src: &str,
    ) -> Result<(T, Node), YamlError> {
        let node = self.parse(src)?;
        let value = from_node(&node)?;
        Ok((value, node))
    }
}

/// Parses `src` with the default [`Options`] (merge keys, one document).
pub fn parse(src: &str) -> Result<Node, YamlError> {
    Options::default().parse(src)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_display_has_position_when_known() {
        let e = YamlError::syntax(Pos { line: 2, col: 3 }, "bad");
        assert_eq!(e.to_string(), "2:3: bad");
        let e = YamlError { pos: None, ..e };
        assert_eq!(e.to_string(), "bad");
    }

    #[test]
    fn lookups() {
        let n = parse("a: [x, 'y']\nb: ~\n").unwrap();
        assert_eq!(n.get("a").unwrap().items().len(), 2);
        assert_eq!(n.get("a").unwrap().items()[1].as_str(), Some("y"));
        assert!(n.get("b").unwrap().is_null());
        assert_eq!(n.get("b").unwrap().as_str(), None);
        assert_eq!(n.key("b").unwrap().pos, Pos { line: 2, col: 1 });
        assert!(n.get("c").is_none());
        assert_eq!(n.type_name(), "mapping");
        assert!(n.items().is_empty());
    }
}
