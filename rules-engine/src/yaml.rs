//! A YAML document as a tree of nodes that remember their line and column, plus a serde
//! `Deserializer` over it, so typed specs get `deny_unknown_fields` and errors carry `line:col`.
//!
//! Built on the `saphyr-parser` event stream (no serde_yaml). Scalars keep their style: a plain
//! scalar may be a null, bool or number; a quoted one is always a string.

use std::collections::HashMap;
use std::fmt;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

/// A position in a source file: 1-based line and 1-based column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

impl Pos {
    fn from_span(span: &Span) -> Pos {
        Pos {
            line: span.start.line(),
            col: span.start.col() + 1,
        }
    }
}

/// The content of a YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar with its text; `plain` is false for quoted and block scalars.
    Scalar {
        /// The scalar text after unescaping.
        value: String,
        /// Whether the scalar was written without quotes (so may be null/bool/number).
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping with its keys in document order.
    Map(Vec<(Node, Node)>),
}

/// A YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What the node holds.
    pub kind: NodeKind,
    /// Where the node starts.
    pub pos: Pos,
}

impl Node {
    /// Whether this node is a YAML null (`null`, `~`, or empty plain scalar).
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { value, plain: true }
            if matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The value for `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Map(entries) => entries.iter().find_map(|(k, v)| match &k.kind {
                NodeKind::Scalar { value, .. } if value == key => Some(v),
                _ => None,
            }),
            _ => None,
        }
    }

    /// The key node for `key` when this node is a mapping (to point at a key, not its value).
    pub fn key(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .map(|(k, _)| k)
                .find(|k| k.as_str() == Some(key)),
            _ => None,
        }
    }

    /// The items when this node is a sequence (empty otherwise).
    pub fn items(&self) -> &[Node] {
        match &self.kind {
            NodeKind::Seq(items) => items,
            _ => &[],
        }
    }

    /// The scalar text, if this node is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }
}

/// A YAML syntax error or a typed-deserialization error, with where it happened when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// Where the problem is.
    pub pos: Option<Pos>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) => write!(f, "{p}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for YamlError {}

impl de::Error for YamlError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        YamlError {
            pos: None,
            message: msg.to_string(),
        }
    }
}

impl YamlError {
    fn at(mut self, pos: Pos) -> Self {
        self.pos.get_or_insert(pos);
        self
    }
}

/// Parses the first document of `src` into a node tree. An empty document is a null scalar.
pub fn parse(src: &str) -> Result<Node, YamlError> {
    let mut parser = Parser::new_from_str(src);
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    // Stack of open collections: (node under construction, pending map key).
    enum Open {
        Seq(Node),
        Map(Node, Option<Node>),
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut anchor_ids: Vec<usize> = Vec::new();
    let mut root: Option<Node> = None;
    let mut in_doc = false;
    while let Some(ev) = parser.next_event() {
        let (ev, span) = ev.map_err(|e| YamlError {
            pos: Some(Pos {
                line: e.marker().line(),
                col: e.marker().col() + 1,
            }),
            message: e.info().to_string(),
        })?;
        let pos = Pos::from_span(&span);
        let finished: Option<(Node, usize)> = match ev {
            Event::StreamStart | Event::Nothing => None,
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                if root.is_some() || in_doc && root.is_some() {
                    break;
                }
                in_doc = true;
                None
            }
            Event::DocumentEnd => {
                if root.is_some() {
                    break;
                }
                None
            }
            Event::Alias(id) => {
                let node = anchors.get(&id).cloned().ok_or_else(|| YamlError {
                    pos: Some(pos),
                    message: "unknown anchor".to_string(),
                })?;
                Some((Node { pos, ..node }, 0))
            }
            Event::Scalar(value, style, anchor, _) => {
                let plain = style == ScalarStyle::Plain;
                Some((
                    Node {
                        kind: NodeKind::Scalar {
                            value: value.into_owned(),
                            plain,
                        },
                        pos,
                    },
                    anchor,
                ))
            }
            Event::SequenceStart(anchor, _) => {
                anchor_ids.push(anchor);
                stack.push(Open::Seq(Node {
                    kind: NodeKind::Seq(Vec::new()),
                    pos,
                }));
                None
            }
            Event::MappingStart(anchor, _) => {
                anchor_ids.push(anchor);
                stack.push(Open::Map(
                    Node {
                        kind: NodeKind::Map(Vec::new()),
                        pos,
                    },
                    None,
                ));
                None
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let anchor = anchor_ids.pop().unwrap_or(0);
                match stack.pop() {
                    Some(Open::Seq(n)) | Some(Open::Map(n, _)) => Some((n, anchor)),
                    None => None,
                }
            }
        };
        if let Some((node, anchor)) = finished {
            if anchor != 0 {
                anchors.insert(anchor, node.clone());
            }
            match stack.last_mut() {
                None => root = Some(node),
                Some(Open::Seq(seq)) => {
                    if let NodeKind::Seq(items) = &mut seq.kind {
                        items.push(node);
                    }
                }
                Some(Open::Map(map, pending)) => match pending.take() {
                    None => *pending = Some(node),
                    Some(key) => {
                        if let NodeKind::Map(entries) = &mut map.kind {
                            if let Some(k) = key.as_str()
                                && let Some((prev, _)) =
                                    entries.iter().find(|(pk, _)| pk.as_str() == Some(k))
                            {
                                return Err(YamlError {
                                    pos: Some(key.pos),
                                    message: format!(
                                        "mapping key {k:?} already defined at line {}",
                                        prev.pos.line
                                    ),
                                });
                            }
                            entries.push((key, node));
                        }
                    }
                },
            }
        }
    }
    Ok(root.unwrap_or(Node {
        kind: NodeKind::Scalar {
            value: String::new(),
            plain: true,
        },
        pos: Pos { line: 1, col: 1 },
    }))
}

/// Deserializes a typed value from a node; errors carry the position of the innermost node.
pub fn from_node<'de, T: de::Deserialize<'de>>(node: &'de Node) -> Result<T, YamlError> {
    T::deserialize(node)
}

/// Parses and deserializes in one step.
pub fn from_str<T: de::DeserializeOwned>(src: &str) -> Result<(T, Node), YamlError> {
    let node = parse(src)?;
    let value = T::deserialize(&node)?;
    Ok((value, node))
}

fn parse_int(s: &str) -> Option<i64> {
    let t = s.replace('_', "");
    if let Some(h) = t.strip_prefix("0x") {
        return i64::from_str_radix(h, 16).ok();
    }
    if let Some(o) = t.strip_prefix("0o") {
        return i64::from_str_radix(o, 8).ok();
    }
    t.parse::<i64>().ok()
}

fn parse_float(s: &str) -> Option<f64> {
    match s {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let first = s.chars().next()?;
    if !(first.is_ascii_digit() || matches!(first, '-' | '+' | '.')) {
        return None;
    }
    s.replace('_', "").parse::<f64>().ok()
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

impl<'de> de::Deserializer<'de> for &'de Node {
    type Error = YamlError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        let pos = self.pos;
        let r = match &self.kind {
            NodeKind::Scalar { value, plain: true } => {
                if self.is_null() {
                    visitor.visit_unit()
                } else if let Some(b) = parse_bool(value) {
                    visitor.visit_bool(b)
                } else if let Some(i) = parse_int(value) {
                    visitor.visit_i64(i)
                } else if let Some(f) = parse_float(value) {
                    visitor.visit_f64(f)
                } else {
                    visitor.visit_str(value)
                }
            }
            NodeKind::Scalar {
                value,
                plain: false,
            } => visitor.visit_str(value),
            NodeKind::Seq(items) => visitor.visit_seq(SeqDe { iter: items.iter() }),
            NodeKind::Map(entries) => visitor.visit_map(MapDe {
                iter: entries.iter(),
                value: None,
            }),
        };
        r.map_err(|e| e.at(pos))
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        match &self.kind {
            NodeKind::Scalar { value, .. } if !self.is_null() => visitor
                .visit_str(value)
                .map_err(|e: YamlError| e.at(self.pos)),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        if self.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        if self.is_null() {
            return visitor
                .visit_seq(SeqDe { iter: [].iter() })
                .map_err(|e: YamlError| e.at(self.pos));
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        if self.is_null() {
            return visitor
                .visit_map(MapDe {
                    iter: [].iter(),
                    value: None,
                })
                .map_err(|e: YamlError| e.at(self.pos));
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, YamlError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, YamlError> {
        match &self.kind {
            NodeKind::Scalar { value, .. } => visitor
                .visit_enum(value.as_str().into_deserializer())
                .map_err(|e: YamlError| e.at(self.pos)),
            _ => Err(YamlError {
                pos: Some(self.pos),
                message: "expected a string".into(),
            }),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit
        unit_struct newtype_struct tuple tuple_struct identifier ignored_any
    }
}

struct SeqDe<'de> {
    iter: std::slice::Iter<'de, Node>,
}

impl<'de> SeqAccess<'de> for SeqDe<'de> {
    type Error = YamlError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, YamlError> {
        match self.iter.next() {
            None => Ok(None),
            Some(n) => seed.deserialize(n).map(Some).map_err(|e| e.at(n.pos)),
        }
    }
}

struct MapDe<'de> {
    iter: std::slice::Iter<'de, (Node, Node)>,
    value: Option<&'de Node>,
}

impl<'de> MapAccess<'de> for MapDe<'de> {
    type Error = YamlError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, YamlError> {
        match self.iter.next() {
            None => Ok(None),
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(k).map(Some).map_err(|e| e.at(k.pos))
            }
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, YamlError> {
        match self.value.take() {
            Some(v) => seed.deserialize(v).map_err(|e| e.at(v.pos)),
            None => Err(de::Error::custom("value without a key")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct T {
        a: String,
        #[serde(default)]
        b: Option<Vec<i64>>,
    }

    #[test]
    fn unknown_field_has_position() {
        let err = from_str::<T>("a: x\nzz: 1\n").unwrap_err();
        assert_eq!(err.pos, Some(Pos { line: 2, col: 1 }));
        assert!(err.message.contains("unknown field `zz`"), "{err}");
    }

    #[test]
    fn nested_value_error_has_position() {
        let err = from_str::<T>("a: x\nb: [1, two]\n").unwrap_err();
        assert_eq!(err.pos, Some(Pos { line: 2, col: 8 }), "{err}");
    }

    #[test]
    fn plain_numbers_are_strings_when_asked() {
        let (t, _) = from_str::<T>("a: 15\nb: ~\n").unwrap();
        assert_eq!(t.a, "15");
        assert!(t.b.is_none());
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.pos, Some(Pos { line: 2, col: 1 }));
    }

    #[test]
    fn missing_field_points_at_mapping() {
        let err = from_str::<T>("x:\n  - 1\n").unwrap_err();
        assert!(err.pos.is_some());
    }
}
