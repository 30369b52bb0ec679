//! A small spanned YAML tree built from `saphyr-parser` events, so config errors point at line:col.
//!
//! Supports what Alertmanager files use: block and flow collections, all scalar styles, anchors and
//! aliases, and merge keys (`<<: *defaults`). Duplicate mapping keys are an error, as in Go's
//! `yaml.UnmarshalStrict`.

use std::collections::HashMap;
use std::fmt;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// A 1-based line and column in the source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
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

impl Pos {
    fn of(span: &Span) -> Self {
        Pos {
            line: span.start.line(),
            col: span.start.col() + 1,
        }
    }
}

/// One YAML value with the position where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Where the value starts.
    pub pos: Pos,
    /// The value.
    pub kind: Kind,
}

/// The shape of a [`Node`].
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// `null`, `~` or an empty value.
    Null,
    /// A scalar; `plain` is false for quoted and block scalars (which are always strings).
    Scalar {
        /// The scalar text.
        value: String,
        /// Whether it was written unquoted (and so may be a bool, number or null).
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping with string keys, in source order.
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// The key text.
    pub name: String,
    /// Where the key starts.
    pub pos: Pos,
}

/// A syntax error in the YAML text itself.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    /// Where it went wrong.
    pub pos: Pos,
    /// What went wrong.
    pub message: String,
}

impl Node {
    /// A short name of the value's type for error messages.
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
}

/// Parses one YAML document into a [`Node`]; an empty document is [`Kind::Null`].
pub fn parse(src: &str) -> Result<Node, YamlError> {
    let mut b = Builder {
        parser: Parser::new_from_str(src),
        anchors: HashMap::new(),
    };
    let mut root = None;
    loop {
        let (ev, span) = b.next()?;
        match ev {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::DocumentStart(_) => {
                if root.is_some() {
                    return Err(YamlError {
                        pos: Pos::of(&span),
                        message: "only one YAML document is allowed".into(),
                    });
                }
                let (ev, span) = b.next()?;
                root = Some(b.node(ev, span)?);
            }
            Event::StreamEnd => break,
            _ => {
                return Err(YamlError {
                    pos: Pos::of(&span),
                    message: "unexpected event".into(),
                });
            }
        }
    }
    Ok(root.unwrap_or(Node {
        pos: Pos { line: 1, col: 1 },
        kind: Kind::Null,
    }))
}

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: HashMap<usize, Node>,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), YamlError> {
        match self.parser.next_event() {
            Some(Ok(x)) => Ok(x),
            Some(Err(e)) => Err(YamlError {
                pos: Pos {
                    line: e.marker().line(),
                    col: e.marker().col() + 1,
                },
                message: e.info().to_string(),
            }),
            None => Err(YamlError {
                pos: Pos::default(),
                message: "unexpected end of input".into(),
            }),
        }
    }

    fn node(&mut self, ev: Event<'a>, span: Span) -> Result<Node, YamlError> {
        let pos = Pos::of(&span);
        let (node, anchor) = match ev {
            Event::Alias(id) => {
                return self
                    .anchors
                    .get(&id)
                    .cloned()
                    .map(|n| Node { pos, ..n })
                    .ok_or(YamlError {
                        pos,
                        message: "alias refers to an unknown anchor".into(),
                    });
            }
            Event::Scalar(value, style, anchor, _tag) => {
                let plain = style == ScalarStyle::Plain;
                let kind = if plain && matches!(value.as_ref(), "" | "~" | "null" | "Null" | "NULL")
                {
                    Kind::Null
                } else {
                    Kind::Scalar {
                        value: value.into_owned(),
                        plain,
                    }
                };
                (Node { pos, kind }, anchor)
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (ev, span) = self.next()?;
                    if ev == Event::SequenceEnd {
                        break;
                    }
                    items.push(self.node(ev, span)?);
                }
                (
                    Node {
                        pos,
                        kind: Kind::Seq(items),
                    },
                    anchor,
                )
            }
            Event::MappingStart(anchor, _) => (self.mapping(pos)?, anchor),
            other => {
                return Err(YamlError {
                    pos,
                    message: format!("unexpected YAML event {other:?}"),
                });
            }
        };
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }

    fn mapping(&mut self, pos: Pos) -> Result<Node, YamlError> {
        let mut entries: Vec<(Key, Node)> = Vec::new();
        let mut merged: Vec<(Key, Node)> = Vec::new();
        loop {
            let (ev, span) = self.next()?;
            if ev == Event::MappingEnd {
                break;
            }
            let key_node = self.node(ev, span)?;
            let name = match &key_node.kind {
                Kind::Scalar { value, .. } => value.clone(),
                Kind::Null => String::new(),
                _ => {
                    return Err(YamlError {
                        pos: key_node.pos,
                        message: format!(
                            "mapping keys must be scalars, found a {}",
                            key_node.type_name()
                        ),
                    });
                }
            };
            let (ev, span) = self.next()?;
            let value = self.node(ev, span)?;
            if name == "<<" && matches!(key_node.kind, Kind::Scalar { plain: true, .. }) {
                let sources = match value.kind {
                    Kind::Map(m) => vec![m],
                    Kind::Seq(items) => items
                        .into_iter()
                        .map(|n| match n.kind {
                            Kind::Map(m) => Ok(m),
                            _ => Err(YamlError {
                                pos: n.pos,
                                message: "merge key `<<` needs mappings".into(),
                            }),
                        })
                        .collect::<Result<_, _>>()?,
                    _ => {
                        return Err(YamlError {
                            pos: value.pos,
                            message: "merge key `<<` needs a mapping or a list of mappings".into(),
                        });
                    }
                };
                for m in sources {
                    for (k, v) in m {
                        if !merged.iter().any(|(mk, _)| mk.name == k.name) {
                            merged.push((k, v));
                        }
                    }
                }
                continue;
            }
            if let Some((prev, _)) = entries.iter().find(|(k, _)| k.name == name) {
                return Err(YamlError {
                    pos: key_node.pos,
                    message: format!(
                        "key `{name}` already set in this mapping at line {}",
                        prev.pos.line
                    ),
                });
            }
            entries.push((
                Key {
                    name,
                    pos: key_node.pos,
                },
                value,
            ));
        }
        for (k, v) in merged {
            if !entries.iter().any(|(ek, _)| ek.name == k.name) {
                entries.push((k, v));
            }
        }
        Ok(Node {
            pos,
            kind: Kind::Map(entries),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(src: &str, expect: &str) {
        let got = match parse(src) {
            Ok(n) => show(&n),
            Err(e) => format!("error {}: {}", e.pos, e.message),
        };
        assert_eq!(got, expect, "input: {src}");
    }

    fn show(n: &Node) -> String {
        match &n.kind {
            Kind::Null => format!("null@{}", n.pos),
            Kind::Scalar { value, plain } => {
                format!("{}{value}@{}", if *plain { "" } else { "'" }, n.pos)
            }
            Kind::Seq(items) => {
                format!(
                    "[{}]",
                    items.iter().map(show).collect::<Vec<_>>().join(", ")
                )
            }
            Kind::Map(m) => format!(
                "{{{}}}",
                m.iter()
                    .map(|(k, v)| format!("{}={}", k.name, show(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    #[test]
    fn scalars_maps_and_positions() {
        check("a: 1\nb: 'x'\n", "{a=1@1:4, b='x@2:4}");
        check("a:\n  - x\n  - ~\n", "{a=[x@2:5, null@3:5]}");
        check("", "null@1:1");
        check("a: {b: [1, 2]}", "{a={b=[1@1:9, 2@1:12]}}");
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        check("d: &d {x: 1}\ne: *d\n", "{d={x=1@1:11}, e={x=1@1:11}}");
        check(
            "d: &d {x: 1, y: 2}\ne:\n  <<: *d\n  y: 3\n",
            "{d={x=1@1:11, y=2@1:17}, e={y=3@4:6, x=1@1:11}}",
        );
    }

    #[test]
    fn errors_have_positions() {
        check(
            "a: 1\na: 2\n",
            "error 2:1: key `a` already set in this mapping at line 1",
        );
        check(
            "a: [1, 2\n",
            "error 2:1: while parsing a flow sequence, expected ',' or ']'",
        );
        check(
            "---\na: 1\n---\nb: 2\n",
            "error 3:1: only one YAML document is allowed",
        );
    }
}
