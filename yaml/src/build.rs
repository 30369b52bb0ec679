//! The tree builder: `saphyr-parser` events to a [`Node`] tree (an explicit stack of open
//! collections), with anchors, merge keys and duplicate-key checks. Nesting deeper than
//! [`MAX_DEPTH`] and aliases that expand past [`ALIAS_BUDGET`] nodes ("billion laughs") are
//! errors, not a blown stack or memory.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::{ErrorKind, Key, Kind, Node, Options, Pos, YamlError};

/// How deeply collections may nest.
pub const MAX_DEPTH: usize = 1_000;

/// How many nodes all alias expansions of one text may copy together.
pub const ALIAS_BUDGET: usize = 1_000_000;

fn pos_of(span: &Span) -> Pos {
    Pos {
        line: span.start.line(),
        col: span.start.col() + 1,
    }
}

/// Where the header (`|` or `>`, with its chomping and indentation indicators and an optional
/// comment) of the block scalar whose content starts at `content` stands: on the nearest line
/// above that is not blank.
fn block_header(src: &str, content: Pos) -> Option<Pos> {
    let lines: Vec<&str> = src.lines().take(content.line.saturating_sub(1)).collect();
    let (i, line) = lines
        .iter()
        .enumerate()
        .rev()
        .find(|(_, l)| !l.trim().is_empty())?;
    let chars: Vec<char> = line.chars().collect();
    let header = |at: usize| {
        let rest: String = chars[at + 1..].iter().collect();
        let rest = rest.trim_start_matches(|c: char| c == '-' || c == '+' || c.is_ascii_digit());
        let rest = rest.trim_start();
        rest.is_empty() || rest.starts_with('#')
    };
    let col = (0..chars.len())
        .rev()
        .find(|&at| matches!(chars[at], '|' | '>') && header(at))?;
    Some(Pos {
        line: i + 1,
        col: col + 1,
    })
}

/// A collection under construction.
struct Open {
    pos: Pos,
    /// The anchor id (0: none).
    anchor: usize,
    /// Nodes in the collection so far, itself included.
    size: usize,
    body: Body,
}

enum Body {
    Seq(Vec<Node>),
    Map {
        entries: Vec<(Key, Node)>,
        /// Entries from merge keys, added at the end unless the mapping sets them itself.
        merged: Vec<(Key, Node)>,
        /// The key read, waiting for its value; `true` when it is a merge key.
        key: Option<(Key, bool)>,
    },
}

struct Builder<'o> {
    opts: &'o Options,
    /// Anchored nodes and their sizes.
    anchors: HashMap<usize, (Node, usize)>,
    stack: Vec<Open>,
    /// What alias expansions may still copy.
    budget: usize,
}

/// Parses the first document of `src`; see [`Options`].
pub(crate) fn parse(src: &str, opts: &Options) -> Result<Node, YamlError> {
    let mut parser = Parser::new_from_str(src);
    let mut b = Builder {
        opts,
        anchors: HashMap::new(),
        stack: Vec::new(),
        budget: ALIAS_BUDGET,
    };
    let mut root: Option<Node> = None;
    while let Some(ev) = parser.next_event() {
        let (ev, span) = ev.map_err(|e| {
            let at = Pos {
                line: e.marker().line(),
                col: e.marker().col() + 1,
            };
            YamlError::syntax(at, e.info())
        })?;
        let pos = pos_of(&span);
        let done = match ev {
            Event::StreamStart | Event::Nothing => None,
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                if root.is_some() {
                    if opts.first_document_only {
                        break;
                    }
                    return Err(YamlError::syntax(pos, "only one YAML document is allowed"));
                }
                None
            }
            Event::DocumentEnd => {
                if root.is_some() && opts.first_document_only {
                    break;
                }
                None
            }
            Event::Alias(id) => Some(b.alias(id, pos)?),
            Event::Scalar(value, style, anchor, _tag) => {
                let plain = style == ScalarStyle::Plain;
                // A block scalar starts at its `|` or `>` header, as Go's decoders place it
                // (the parser's span starts at the content on the next line).
                let pos = match style {
                    ScalarStyle::Literal | ScalarStyle::Folded => {
                        block_header(src, pos).unwrap_or(pos)
                    }
                    _ => pos,
                };
                let kind = if plain && matches!(value.as_ref(), "" | "~" | "null" | "Null" | "NULL")
                {
                    Kind::Null
                } else {
                    Kind::Scalar {
                        value: value.into_owned(),
                        plain,
                    }
                };
                Some(b.anchored(Node { pos, kind }, anchor, 1))
            }
            Event::SequenceStart(anchor, _) => {
                b.open(pos, anchor, Body::Seq(Vec::new()))?;
                None
            }
            Event::MappingStart(anchor, _) => {
                let body = Body::Map {
                    entries: Vec::new(),
                    merged: Vec::new(),
                    key: None,
                };
                b.open(pos, anchor, body)?;
                None
            }
            Event::SequenceEnd | Event::MappingEnd => b.close(),
        };
        if let Some((node, size)) = done {
            if b.stack.is_empty() {
                root = Some(node);
            } else {
                b.add(node, size)?;
            }
        }
    }
    Ok(root.unwrap_or(Node {
        pos: Pos { line: 1, col: 1 },
        kind: Kind::Null,
    }))
}

impl Builder<'_> {
    /// Records `node` of `size` nodes under its anchor (0: none) and returns both.
    fn anchored(&mut self, node: Node, anchor: usize, size: usize) -> (Node, usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        (node, size)
    }

    /// A copy of the node anchored as `id`, at the alias's position `pos`.
    fn alias(&mut self, id: usize, pos: Pos) -> Result<(Node, usize), YamlError> {
        // saphyr reports an undefined anchor itself: one it knows but this builder does not
        // yet is an alias inside its own anchor's value (Go says the same)
        let (node, size) = self
            .anchors
            .get(&id)
            .ok_or_else(|| YamlError::syntax(pos, "anchor value contains itself"))?;
        self.budget = self.budget.checked_sub(*size).ok_or_else(|| {
            YamlError::syntax(
                pos,
                format!("aliases expand to more than {ALIAS_BUDGET} nodes"),
            )
        })?;
        let kind = node.kind.clone();
        Ok((Node { pos, kind }, *size))
    }

    /// Starts a collection.
    fn open(&mut self, pos: Pos, anchor: usize, body: Body) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(YamlError::syntax(
                pos,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.stack.push(Open {
            pos,
            anchor,
            size: 1,
            body,
        });
        Ok(())
    }

    /// Finishes the innermost open collection.
    fn close(&mut self) -> Option<(Node, usize)> {
        let Open {
            pos,
            anchor,
            size,
            body,
        } = self.stack.pop()?;
        let kind = match body {
            Body::Seq(items) => Kind::Seq(items),
            Body::Map {
                mut entries,
                merged,
                ..
            } => {
                for (k, v) in merged {
                    if !entries.iter().any(|(ek, _)| ek.name == k.name) {
                        entries.push((k, v));
                    }
                }
                Kind::Map(entries)
            }
        };
        Some(self.anchored(Node { pos, kind }, anchor, size))
    }

    /// Adds a finished node of `size` nodes to the innermost open collection.
    fn add(&mut self, node: Node, size: usize) -> Result<(), YamlError> {
        let merge_keys = self.opts.merge_keys;
        let keep_duplicates = self.opts.keep_duplicate_keys;
        let Some(open) = self.stack.last_mut() else {
            return Ok(());
        };
        open.size += size;
        let (entries, merged, key) = match &mut open.body {
            Body::Seq(items) => {
                items.push(node);
                return Ok(());
            }
            Body::Map {
                entries,
                merged,
                key,
            } => (entries, merged, key),
        };
        let Some((key, is_merge)) = key.take() else {
            let is_merge = merge_keys
                && matches!(&node.kind, Kind::Scalar { value, plain: true } if value == "<<");
            let name = match node.kind {
                Kind::Scalar { value, .. } => value,
                Kind::Null => String::new(),
                _ => {
                    return Err(YamlError::syntax(
                        node.pos,
                        format!("mapping keys must be scalars, found a {}", node.type_name()),
                    ));
                }
            };
            *key = Some((
                Key {
                    name,
                    pos: node.pos,
                },
                is_merge,
            ));
            return Ok(());
        };
        if is_merge {
            return merge(merged, node);
        }
        if !keep_duplicates
            && let Some((prev, _)) = entries.iter().find(|(k, _)| k.name == key.name)
        {
            return Err(YamlError {
                pos: Some(key.pos),
                message: format!(
                    "mapping key {:?} already defined at line {}",
                    key.name, prev.pos.line
                ),
                kind: ErrorKind::DuplicateKey {
                    key: key.name,
                    first: prev.pos,
                },
            });
        }
        entries.push((key, node));
        Ok(())
    }
}

/// Adds the entries of a merge key's value (a mapping or a list of mappings) to `merged`,
/// where an earlier source wins.
fn merge(merged: &mut Vec<(Key, Node)>, value: Node) -> Result<(), YamlError> {
    let sources = match value.kind {
        Kind::Map(m) => vec![m],
        Kind::Seq(items) => items
            .into_iter()
            .map(|n| match n.kind {
                Kind::Map(m) => Ok(m),
                _ => Err(YamlError::syntax(n.pos, "merge key `<<` needs mappings")),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(YamlError::syntax(
                value.pos,
                "merge key `<<` needs a mapping or a list of mappings",
            ));
        }
    };
    for m in sources {
        for (k, v) in m {
            if !merged.iter().any(|(mk, _)| mk.name == k.name) {
                merged.push((k, v));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{ALIAS_BUDGET, ErrorKind, Kind, MAX_DEPTH, Node, Options, Pos, parse};

    const GO: Options = Options {
        keep_duplicate_keys: false,
        merge_keys: false,
        first_document_only: true,
    };

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

    fn check_with(opts: &Options, src: &str, expect: &str) {
        let got = match opts.parse(src) {
            Ok(n) => show(&n),
            Err(e) => format!("error {e}"),
        };
        assert_eq!(got, expect, "input: {src}");
    }

    fn check(src: &str, expect: &str) {
        check_with(&Options::default(), src, expect);
    }

    #[test]
    fn scalars_maps_and_positions() {
        check("a: 1\nb: 'x'\n", "{a=1@1:4, b='x@2:4}");
        check("a:\n  - x\n  - ~\n", "{a=[x@2:5, null@3:5]}");
        check("", "null@1:1");
        check("a: {b: [1, 2]}", "{a={b=[1@1:9, 2@1:12]}}");
        // a block scalar is at its header, as Go's decoders place it (also with indicators, a
        // comment, blank lines); an empty value right after its `:`
        check(
            "a: |\n  x\nb: ''\nc:\n",
            "{a='x\n@1:4, b='@3:4, c=null@4:2}",
        );
        check(
            "- >-  # x | y\n\n  folded\n- |2\n   two\n",
            "['\nfolded@1:3, ' two\n@4:3]",
        );
        check("~: 1\n", "{=1@1:4}");
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        check("d: &d {x: 1}\ne: *d\n", "{d={x=1@1:11}, e={x=1@1:11}}");
        check(
            "d: &d {x: 1, y: 2}\ne:\n  <<: *d\n  y: 3\n",
            "{d={x=1@1:11, y=2@1:17}, e={y=3@4:6, x=1@1:11}}",
        );
        check(
            "a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc: {<<: [*a, *b]}\n",
            "{a={x=1@1:11}, b={x=2@2:11, y=2@2:17}, c={x=1@1:11, y=2@2:17}}",
        );
        // an alias is at its own position; what it copies keeps the anchored positions
        let n = parse("a: &s x\nb: *s\n").unwrap();
        assert_eq!(n.get("b").unwrap().pos, Pos { line: 2, col: 4 });
        check(
            "a: {<<: 1}\n",
            "error 1:9: merge key `<<` needs a mapping or a list of mappings",
        );
        check(
            "a: {<<: [1]}\n",
            "error 1:10: merge key `<<` needs mappings",
        );
    }

    #[test]
    fn merge_keys_off_is_an_ordinary_key() {
        check_with(
            &GO,
            "d: &d {x: 1}\ne: {<<: *d}\n",
            "{d={x=1@1:11}, e={<<={x=1@1:11}}}",
        );
        check_with(
            &GO,
            "e: {<<: 1, <<: 2}\n",
            "error 1:12: mapping key \"<<\" already defined at line 1",
        );
    }

    #[test]
    fn documents() {
        check(
            "---\na: 1\n---\nb: 2\n",
            "error 3:1: only one YAML document is allowed",
        );
        check_with(&GO, "---\na: 1\n---\nb: [\n", "{a=1@2:4}");
        check_with(&GO, "a: 1\n...\n", "{a=1@1:4}");
    }

    #[test]
    fn errors_have_positions() {
        check(
            "a: 1\na: 2\n",
            "error 2:1: mapping key \"a\" already defined at line 1",
        );
        check(
            "a: [1, 2\n",
            "error 2:1: while parsing a flow sequence, expected ',' or ']'",
        );
        check(
            "? [a]\n: 1\n",
            "error 1:3: mapping keys must be scalars, found a sequence",
        );
        check(
            "a: *nope\n",
            "error 1:4: while parsing node, found unknown anchor",
        );
        check(
            "a: &a [1, *a]\n",
            "error 1:11: anchor value contains itself",
        );
    }

    #[test]
    fn limits() {
        // (saphyr itself stops flow collections at 256 levels, block ones are ours to limit)
        let deep = |n: usize| format!("{}x", "- ".repeat(n));
        assert!(parse(&deep(MAX_DEPTH)).is_ok());
        let err = parse(&deep(MAX_DEPTH + 1)).unwrap_err();
        assert_eq!(
            err.message,
            format!("nesting deeper than {MAX_DEPTH} levels")
        );
        // each level doubles: 2^20 copies of `x` from 20 short lines
        let mut src = String::from("a0: &a0 [x, x]\n");
        for i in 1..20 {
            src += &format!("a{i}: &a{i} [*a{}, *a{}]\n", i - 1, i - 1);
        }
        let err = parse(&src).unwrap_err();
        assert_eq!(
            err.message,
            format!("aliases expand to more than {ALIAS_BUDGET} nodes")
        );
        // line i+1 copies two of a(i-1), about 2^(i+2) nodes: the sum passes 10^6 at a17
        assert_eq!(err.pos.map(|p| p.line), Some(18));
        assert!(parse("a: &a [x, x]\nb: [*a, *a, *a]\n").is_ok());
    }

    #[test]
    fn duplicate_keys_can_be_kept_for_the_caller_to_report() {
        let keep = Options {
            keep_duplicate_keys: true,
            ..GO
        };
        let n = keep.parse("a: 1\nb: 2\na: 3\n").unwrap();
        let Kind::Map(entries) = &n.kind else {
            panic!("{n:?}")
        };
        let keys: Vec<(&str, usize)> = entries
            .iter()
            .map(|(k, _)| (k.name.as_str(), k.pos.line))
            .collect();
        assert_eq!(keys, [("a", 1), ("b", 2), ("a", 3)]);
        assert!(GO.parse("a: 1\na: 3\n").is_err());
    }

    #[test]
    fn duplicate_keys_say_which_and_where() {
        let err = parse("x:\n  a: 1\n  b: 2\n  a: 3\n").unwrap_err();
        assert_eq!(err.pos, Some(Pos { line: 4, col: 3 }));
        assert_eq!(
            err.kind,
            ErrorKind::DuplicateKey {
                key: "a".into(),
                first: Pos { line: 2, col: 3 }
            }
        );
    }
}
