//! The configuration tree: [`Value`], its ordered [`Map`], and dot-path addressing ([`Segment`]).

use std::fmt;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// The strings of a tree (string values, map keys): up to 24 bytes are kept inline, so the
/// keys and short values of ordinary configuration files need no heap allocation. Derefs to
/// `str`; build one with `"db".into()`, `Str::from(string)`; `.to_string()` gives a `String`.
pub type Str = compact_str::CompactString;

/// A map key (see [`Str`]).
pub type Key = Str;

/// An ordered map from key to [`Value`]: keys keep the order in which they were first defined.
pub type Map = indexmap::IndexMap<Key, Value, foldhash::fast::RandomState>;

/// One node of a configuration tree.
///
/// Maps keep insertion order. The enum is `#[non_exhaustive]`: a `Secret` variant (decrypted
/// leaves that never print) is added by the `secret` module; code outside the crate must keep a
/// wildcard arm. Inside the crate every `match` that has to decide how a new leaf kind behaves is
/// marked with `// leaf-kinds:` so the places to update are easy to find.
#[derive(Clone, PartialEq, Default)]
#[non_exhaustive]
pub enum Value {
    /// An explicit null. In a layer it deletes the key it is set on (see [`mod@crate::merge`]).
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// A UTF-8 string ([`Str`]: short strings inline).
    String(Str),
    /// An ordered sequence.
    Seq(Vec<Value>),
    /// An ordered map.
    Map(Map),
    /// A decrypted secret ([`crate::secret`]): reads as a string, prints as `<redacted>`.
    Secret(crate::secret::SecretValue),
}

impl Value {
    /// An empty map, the root of an empty configuration.
    pub fn empty_map() -> Value {
        Value::Map(Map::default())
    }

    /// A short name of the node kind, used in error messages (`"string"`, `"map"`, ...).
    pub fn kind(&self) -> &'static str {
        // leaf-kinds:
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Seq(_) => "sequence",
            Value::Map(_) => "map",
            Value::Secret(_) => "secret",
        }
    }

    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether this node is a leaf (anything but a map or a sequence).
    pub fn is_leaf(&self) -> bool {
        !matches!(self, Value::Map(_) | Value::Seq(_))
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an integer.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The number as a float, if this is a float or an integer.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The boolean, if this is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The map, if this is a map.
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The mutable map, if this is a map.
    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The sequence, if this is a sequence.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// Follows a dot path (`db.port`, `hosts[0]`, `servers[1].name`; a numeric segment also
    /// indexes a sequence: `hosts.0`). The empty path is the node itself. Does not allocate.
    pub fn get_path(&self, path: &str) -> Option<&Value> {
        let mut node = self;
        for seg in Segments::new(path) {
            node = node.child(seg.ok()?)?;
        }
        Some(node)
    }

    /// The direct child named by one path segment.
    pub fn child(&self, seg: Segment<'_>) -> Option<&Value> {
        match (self, seg) {
            (Value::Map(m), Segment::Key(k)) => m.get(k),
            (Value::Map(m), Segment::Index(i)) => {
                // `a[0]` on a map: the key spelled "0"
                let mut buf = itoa_buf();
                m.get(fmt_usize(i, &mut buf))
            }
            (Value::Seq(s), Segment::Index(i)) => s.get(i),
            (Value::Seq(s), Segment::Key(k)) => s.get(k.parse::<usize>().ok()?),
            _ => None,
        }
    }

    /// Builds a tree from any serializable value (maps must have string keys).
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> Result<Value, serde_json::Error> {
        Ok(Value::from(serde_json::to_value(value)?))
    }

    /// Converts into a `serde_json::Value` (floats that are not finite become null).
    pub fn to_json(&self) -> serde_json::Value {
        // leaf-kinds:
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::Seq(s) => serde_json::Value::Array(s.iter().map(Value::to_json).collect()),
            Value::Map(m) => serde_json::Value::Object(
                m.iter()
                    .map(|(k, v)| (k.to_string(), v.to_json()))
                    .collect(),
            ),
            Value::Secret(_) => serde_json::Value::String(crate::secret::REDACTED.to_owned()),
        }
    }
}

fn itoa_buf() -> [u8; 20] {
    [0; 20]
}

/// Formats `n` in decimal into `buf` without allocating.
fn fmt_usize(mut n: usize, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("")
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::String(s.into()),
            serde_json::Value::Array(a) => Value::Seq(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => Value::Map(
                o.into_iter()
                    .map(|(k, v)| (k.into(), Value::from(v)))
                    .collect(),
            ),
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i.into())
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.into())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s.into())
    }
}
impl<V: Into<Value>> From<Vec<V>> for Value {
    fn from(v: Vec<V>) -> Self {
        Value::Seq(v.into_iter().map(Into::into).collect())
    }
}
impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Map(m)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // leaf-kinds:
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) => s.serialize_f64(*f),
            Value::String(v) => s.serialize_str(v),
            Value::Seq(v) => {
                let mut seq = s.serialize_seq(Some(v.len()))?;
                for e in v {
                    seq.serialize_element(e)?;
                }
                seq.end()
            }
            Value::Map(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Value::Secret(secret) => secret.serialize(s),
        }
    }
}

/// Compact, JSON-like rendering (`{"db": {"port": 5432}}`), for messages and `explain`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // leaf-kinds:
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::Seq(s) => {
                f.write_str("[")?;
                for (i, e) in s.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{e}")?;
                }
                f.write_str("]")
            }
            Value::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k:?}: {v}")?;
                }
                f.write_str("}")
            }
            Value::Secret(_) => f.write_str(crate::secret::REDACTED),
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// One step of a key path: a map key or a sequence index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    /// A map key (`db` in `db.port`).
    Key(&'a str),
    /// A sequence index (`0` in `hosts[0]`).
    Index(usize),
}

/// A malformed key path (`a..b`, `a[x]`, `a[1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathSyntaxError {
    /// Byte offset in the path where the problem is.
    pub at: usize,
    /// What is wrong.
    pub reason: &'static str,
}

/// Iterator over the segments of a dot path; does not allocate.
///
/// Grammar: `segment ( '.' key | '[' digits ']' )*` where a key is any run of characters other
/// than `.` and `[`. The empty path has no segments.
#[derive(Clone, Debug)]
pub struct Segments<'a> {
    rest: &'a str,
    pos: usize,
    first: bool,
    failed: bool,
}

impl<'a> Segments<'a> {
    /// Segments of `path`.
    pub fn new(path: &'a str) -> Self {
        Segments {
            rest: path,
            pos: 0,
            first: true,
            failed: false,
        }
    }
}

impl<'a> Iterator for Segments<'a> {
    type Item = Result<Segment<'a>, PathSyntaxError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let fail = |s: &mut Self, reason| {
            s.failed = true;
            Some(Err(PathSyntaxError { at: s.pos, reason }))
        };
        let bytes = self.rest.as_bytes();
        if bytes[0] == b'[' {
            let Some(close) = self.rest.find(']') else {
                return fail(self, "unclosed `[`");
            };
            let digits = &self.rest[1..close];
            let Ok(i) = digits.parse::<usize>() else {
                return fail(self, "expected a number inside `[]`");
            };
            self.rest = &self.rest[close + 1..];
            self.pos += close + 1;
            self.first = false;
            return Some(Ok(Segment::Index(i)));
        }
        if !self.first {
            if bytes[0] != b'.' {
                return fail(self, "expected `.` or `[`");
            }
            self.rest = &self.rest[1..];
            self.pos += 1;
        }
        self.first = false;
        // a byte scan: both delimiters are ASCII, so a match is always a char boundary
        let end = self
            .rest
            .as_bytes()
            .iter()
            .position(|&b| b == b'.' || b == b'[')
            .unwrap_or(self.rest.len());
        if end == 0 {
            return fail(self, "empty key");
        }
        let key = &self.rest[..end];
        self.rest = &self.rest[end..];
        self.pos += end;
        Some(Ok(Segment::Key(key)))
    }
}

/// Appends one segment to a canonical path string (`db` + `port` → `db.port`, `hosts` + 0 →
/// `hosts[0]`). Canonical paths are the keys of provenance tables.
pub fn push_segment(path: &mut String, seg: Segment<'_>) {
    match seg {
        Segment::Key(k) => {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k);
        }
        Segment::Index(i) => {
            let mut buf = itoa_buf();
            path.push('[');
            path.push_str(fmt_usize(i, &mut buf));
            path.push(']');
        }
    }
}

/// The canonical spelling of `path` as found in `root` (`hosts.0` → `hosts[0]` when `hosts` is a
/// sequence), or `None` when the path does not exist or is malformed.
pub fn canonical_path(root: &Value, path: &str) -> Option<String> {
    let mut node = root;
    let mut out = String::with_capacity(path.len() + 2);
    for seg in Segments::new(path) {
        let seg = seg.ok()?;
        let next = node.child(seg)?;
        match (node, seg) {
            (Value::Seq(_), Segment::Key(k)) => {
                push_segment(&mut out, Segment::Index(k.parse().ok()?))
            }
            // `m[0]` on a map names the key "0"
            (Value::Map(_), Segment::Index(i)) => {
                push_segment(&mut out, Segment::Key(&i.to_string()))
            }
            _ => push_segment(&mut out, seg),
        }
        node = next;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &str) -> Vec<Result<Segment<'_>, PathSyntaxError>> {
        Segments::new(p).collect()
    }

    #[test]
    fn path_grammar() {
        assert_eq!(
            segs("a.b"),
            vec![Ok(Segment::Key("a")), Ok(Segment::Key("b"))]
        );
        assert_eq!(
            segs("a[2].b"),
            vec![
                Ok(Segment::Key("a")),
                Ok(Segment::Index(2)),
                Ok(Segment::Key("b"))
            ]
        );
        assert!(segs("").is_empty());
        assert!(segs("a..b").iter().any(Result::is_err));
        assert!(segs("a[x]").iter().any(Result::is_err));
        assert!(segs("a[1").iter().any(Result::is_err));
        assert!(segs("a]").iter().all(Result::is_ok));
    }

    #[test]
    fn canonical_paths_follow_the_tree() {
        let v = Value::from(serde_json::json!({"hosts": ["a", "b"], "m": {"0": 1}}));
        assert_eq!(canonical_path(&v, "hosts.1").as_deref(), Some("hosts[1]"));
        assert_eq!(canonical_path(&v, "hosts[0]").as_deref(), Some("hosts[0]"));
        assert_eq!(canonical_path(&v, "m[0]").as_deref(), Some("m.0"));
        assert_eq!(canonical_path(&v, "nope"), None);
        assert_eq!(v.get_path("m[0]"), Some(&Value::Int(1)));
    }

    #[test]
    fn fmt_usize_is_decimal() {
        let mut b = itoa_buf();
        assert_eq!(fmt_usize(0, &mut b), "0");
        let mut b = itoa_buf();
        assert_eq!(fmt_usize(usize::MAX, &mut b), usize::MAX.to_string());
    }
}
