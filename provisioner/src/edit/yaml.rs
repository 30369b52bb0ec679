//! YAML documents edited by splicing the original text at the parser's spans
//! (`saphyr-parser`), so comments, key order, quoting and layout of everything not replaced
//! stay byte-for-byte as they were.

use anyhow::{anyhow, bail};
use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::{Document, Leaf, Replacement, Visitor, push_index, push_key};

enum Node {
    Scalar {
        value: String,
        style: ScalarStyle,
        span: (usize, usize),
    },
    Map {
        entries: Vec<(String, Node)>,
        span: (usize, usize),
        flow: bool,
    },
    Seq {
        items: Vec<Node>,
    },
    Alias,
}

/// A YAML document being edited.
pub struct YamlDoc {
    src: String,
    /// Byte offset of every char index (plus the end).
    offsets: Vec<usize>,
    root: Option<Node>,
    /// (start byte, end byte, replacement text)
    edits: Vec<(usize, usize, String)>,
    /// canonical path → start char index of every leaf visited
    starts: std::collections::HashMap<String, usize>,
}

struct Builder<'a> {
    events: std::iter::Peekable<std::vec::IntoIter<(Event<'a>, Span)>>,
}

impl Builder<'_> {
    fn node(&mut self) -> anyhow::Result<Node> {
        let (ev, span) = self
            .events
            .next()
            .ok_or_else(|| anyhow!("unexpected end of YAML"))?;
        let start = span.start.index();
        match ev {
            Event::Scalar(v, style, _, _) => Ok(Node::Scalar {
                value: v.into_owned(),
                style,
                span: (start, span.end.index()),
            }),
            Event::Alias(_) => Ok(Node::Alias),
            Event::MappingStart(..) => {
                let flow = span.end.index() > start;
                let mut entries = Vec::new();
                loop {
                    if let Some((Event::MappingEnd, end)) = self.events.peek() {
                        // a flow mapping's end span runs on over trailing comments: stop at `}`
                        let end = if flow {
                            end.start.index() + 1
                        } else {
                            end.end.index()
                        };
                        self.events.next();
                        return Ok(Node::Map {
                            entries,
                            span: (start, end),
                            flow,
                        });
                    }
                    let key = match self.node()? {
                        Node::Scalar { value, .. } => value,
                        _ => bail!(
                            "line {}: only scalar mapping keys are supported",
                            span.start.line()
                        ),
                    };
                    let value = self.node()?;
                    entries.push((key, value));
                }
            }
            Event::SequenceStart(..) => {
                let mut items = Vec::new();
                loop {
                    if let Some((Event::SequenceEnd, _)) = self.events.peek() {
                        self.events.next();
                        return Ok(Node::Seq { items });
                    }
                    items.push(self.node()?);
                }
            }
            other => bail!(
                "line {}: unexpected YAML event {other:?}",
                span.start.line()
            ),
        }
    }
}

impl YamlDoc {
    /// Parses `text` (the first document of the stream).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut events = Vec::new();
        for item in Parser::new_from_str(text) {
            let (ev, span) = item.map_err(|e| {
                anyhow!(
                    "line {} column {}: {}",
                    e.marker().line(),
                    e.marker().col() + 1,
                    e.info()
                )
            })?;
            events.push((ev, span));
        }
        let mut b = Builder {
            events: events.into_iter().peekable(),
        };
        let mut root = None;
        while let Some((ev, _)) = b.events.peek() {
            match ev {
                Event::MappingStart(..) | Event::SequenceStart(..) | Event::Scalar(..)
                    if root.is_none() =>
                {
                    root = Some(b.node()?);
                }
                _ => {
                    b.events.next();
                }
            }
        }
        let mut offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        offsets.push(text.len());
        Ok(Self {
            src: text.to_owned(),
            offsets,
            root,
            edits: Vec::new(),
            starts: std::collections::HashMap::new(),
        })
    }

    fn byte(&self, char_index: usize) -> usize {
        self.offsets
            .get(char_index)
            .copied()
            .unwrap_or(self.src.len())
    }

    /// The byte range a node's replacement covers, and whether it needs a trailing newline.
    fn range(&self, start: usize, end: usize, block: bool) -> (usize, usize, bool) {
        let (mut s, mut e) = (self.byte(start), self.byte(end));
        let bytes = self.src.as_bytes();
        if block {
            // block scalars: the span starts at the content; include the `|`/`>` indicator
            let mut i = s;
            while i > 0 && bytes[i - 1].is_ascii_whitespace() {
                i -= 1;
            }
            let mut j = i;
            while j > 0 && matches!(bytes[j - 1], b'|' | b'>' | b'+' | b'-' | b'0'..=b'9') {
                j -= 1;
            }
            if j < i && matches!(bytes[j], b'|' | b'>') {
                s = j;
            }
        }
        match self.src[s..e].rfind('\n') {
            Some(nl) if block => {
                e = s + nl + 1;
                (s, e, true)
            }
            _ => (s, e, false),
        }
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn render_replacement(r: &Replacement) -> String {
    match r {
        Replacement::Plain(s) => quote(s),
        Replacement::Envelope {
            algorithm,
            key_name,
            payload,
        } => {
            format!(
                "{{\".c5encval\": [{}, {}, {}]}}",
                quote(algorithm),
                quote(key_name),
                quote(payload)
            )
        }
    }
}

fn envelope(entries: &[(String, Node)]) -> Option<Leaf> {
    match entries {
        [(k, Node::Seq { items, .. })] if k == ".c5encval" => match items.as_slice() {
            [
                Node::Scalar { value: a, .. },
                Node::Scalar { value: b, .. },
                Node::Scalar { value: c, .. },
            ] => Some(Leaf::Envelope {
                algorithm: a.clone(),
                key_name: b.clone(),
                payload: c.clone(),
            }),
            _ => None,
        },
        _ => None,
    }
}

impl YamlDoc {
    fn walk(&mut self, node: &Node, path: &str, visit: &mut Visitor<'_>) -> anyhow::Result<()> {
        let (leaf, span, block) = match node {
            Node::Scalar { value, style, span } => (
                Some(Leaf::Plain {
                    text: value.clone(),
                }),
                *span,
                matches!(style, ScalarStyle::Literal | ScalarStyle::Folded),
            ),
            Node::Map {
                entries,
                span,
                flow,
            } => (envelope(entries), *span, !flow),
            _ => (None, (0, 0), false),
        };
        if let Some(leaf) = leaf {
            self.starts.insert(path.to_owned(), span.0);
            if let Some(r) = visit(path, &leaf)? {
                let (s, e, newline) = self.range(span.0, span.1, block);
                let mut text = render_replacement(&r);
                if newline {
                    text.push('\n');
                }
                self.edits.push((s, e, text));
            }
            return Ok(());
        }
        match node {
            Node::Map { entries, .. } => {
                for (k, child) in entries {
                    self.walk(child, &push_key(path, k), visit)?;
                }
            }
            Node::Seq { items } => {
                for (i, child) in items.iter().enumerate() {
                    self.walk(child, &push_index(path, i), visit)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl Document for YamlDoc {
    fn edit(&mut self, visit: &mut Visitor<'_>) -> anyhow::Result<()> {
        if let Some(root) = self.root.take() {
            let r = self.walk(&root, "", visit);
            self.root = Some(root);
            r?;
        }
        Ok(())
    }

    fn position(&self, path: &str) -> Option<(usize, usize)> {
        let start = self.byte(*self.starts.get(path)?);
        let before = &self.src[..start];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Some((line, col))
    }

    fn render(&self) -> anyhow::Result<String> {
        let mut edits = self.edits.clone();
        edits.sort_by_key(|e| std::cmp::Reverse(e.0));
        let mut out = self.src.clone();
        for (s, e, text) in edits {
            out.replace_range(s..e, &text);
        }
        Ok(out)
    }
}
