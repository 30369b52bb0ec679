//! One-pass TOML reader for the common shape of configuration files: `[a.b]` headers, `key =
//! value` lines with simple keys, scalar values and arrays of them. It consumes the events of
//! `toml_parser` (the lexer and parser `toml` itself uses) and builds the [`Value`] tree and its
//! [`Node`] positions directly, without `toml`'s intermediate spanned `DeTable`.
//!
//! It gives up (returns `None`) on anything outside that shape or anything wrong — dotted keys
//! in key/value lines, inline tables, `[[arrays.of.tables]]`, a header naming an existing key,
//! a duplicate key, any syntax error, an integer past 64 bits, a bad datetime, deep nesting —
//! and the caller then reads the document with the `DeTable` path, which handles all of TOML
//! and reports every error. Where it answers, its answer equals that path's (values, key order
//! and every position): `toml_fast_tests.rs` checks this on generated documents.

use std::borrow::Cow;

use toml_parser::decoder::{Encoding, ScalarKind};
use toml_parser::parser::{EventReceiver, RecursionGuard, ValidateWhitespace};
use toml_parser::{ErrorSink, ParseError, Raw, Source, Span};

use crate::origin::to_u32;
use crate::prov_tree::{Node, Pos};
use crate::value::{Map, Value};

/// Nesting the fast path accepts (header segments, array depth); deeper goes to `DeTable`.
const MAX_FAST_DEPTH: usize = 32;

/// Same limit `toml` gives its recursion guard.
const RECURSION_LIMIT: u32 = 80;

/// Reads `text` when it has the common shape: the value tree and the root position node.
pub(crate) fn parse(text: &str) -> Option<(Value, Node)> {
    let source = Source::new(text);
    let tokens = source.lex().into_vec();
    let mut fast = Fast {
        text,
        line: 0,
        line_start: 0,
        scanned: 0,
        root: Map::default(),
        root_node: Node::default(),
        cur: Vec::new(),
        keys: Vec::new(),
        in_header: false,
        header_start: 0,
        key: None,
        arrays: Vec::new(),
        pending: Vec::new(),
        bad: false,
    };
    let mut failed = Failed(false);
    {
        let mut ws = ValidateWhitespace::new(&mut fast, source);
        let mut guard = RecursionGuard::new(&mut ws, RECURSION_LIMIT);
        toml_parser::parser::parse_document(&tokens, &mut guard, &mut failed);
    }
    fast.flush();
    if failed.0 || fast.bad || !fast.arrays.is_empty() || fast.key.is_some() {
        return None;
    }
    fast.root_node.pos = fast.pos(0);
    Some((Value::Map(fast.root), fast.root_node))
}

/// An error sink that only remembers that something went wrong.
struct Failed(bool);

impl ErrorSink for Failed {
    fn report_error(&mut self, _error: ParseError) {
        self.0 = true;
    }
}

struct Fast<'t> {
    text: &'t str,
    /// Line cursor: 0-based line of `line_start`, the last line start before `scanned`.
    line: usize,
    line_start: usize,
    scanned: usize,
    root: Map,
    root_node: Node,
    /// Index route from the root to the table key/value lines go into.
    cur: Vec<usize>,
    /// Key segments seen since the last header open or value (decoded, start offset).
    keys: Vec<(String, usize)>,
    in_header: bool,
    header_start: usize,
    /// The key of the value being read.
    key: Option<String>,
    /// Open arrays (elements, positions).
    arrays: Vec<(Vec<Value>, Node)>,
    /// Key/value lines of the current table not yet moved into it: the table is filled once its
    /// size is known (at the next header or the end), sized exactly.
    pending: Vec<(String, Value, Node)>,
    bad: bool,
}

impl Fast<'_> {
    /// The position of byte `offset`, as [`crate::origin::LineIndex`] gives it (1-based line;
    /// 1-based column in characters). Offsets come in document order, so a cursor moving
    /// forward finds the line (it restarts from the top if asked about an earlier line).
    fn pos(&mut self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        if offset < self.line_start {
            (self.line, self.line_start, self.scanned) = (0, 0, 0);
        }
        if offset > self.scanned {
            let bytes = self
                .text
                .as_bytes()
                .get(self.scanned..offset)
                .unwrap_or(&[]);
            for (i, &b) in bytes.iter().enumerate() {
                if b == b'\n' {
                    self.line += 1;
                    self.line_start = self.scanned + i + 1;
                }
            }
            self.scanned = offset;
        }
        let col = match self.text.get(self.line_start..offset) {
            Some(s) if !s.is_ascii() => s.chars().count(),
            _ => offset - self.line_start,
        };
        Pos {
            src: 0,
            line: to_u32(self.line + 1),
            col: to_u32(col + 1),
        }
    }

    /// The map and node of the current table.
    fn current(&mut self) -> Option<(&mut Map, &mut Node)> {
        let (mut m, mut n) = (&mut self.root, &mut self.root_node);
        for &i in &self.cur {
            let (_, v) = m.get_index_mut(i)?;
            m = match v {
                Value::Map(m) => m,
                _ => return None,
            };
            n = n.children.get_mut(i)?;
        }
        Some((m, n))
    }

    /// Places a finished value: into the enclosing array, or under the pending key.
    fn place(&mut self, v: Value, node: Node) {
        if let Some((items, n)) = self.arrays.last_mut() {
            items.push(v);
            n.children.push(node);
            return;
        }
        match self.key.take() {
            Some(key) => self.pending.push((key, v, node)),
            None => self.bad = true,
        }
    }

    /// Moves the pending key/value lines into the current table; a key defined twice (or
    /// already there) gives up.
    fn flush(&mut self) {
        if self.pending.is_empty() || self.bad {
            return;
        }
        let mut pending = std::mem::take(&mut self.pending);
        let Some((m, n)) = self.current() else {
            self.bad = true;
            return;
        };
        m.reserve_exact(pending.len());
        n.children.reserve_exact(pending.len());
        let mut dup = false;
        for (k, v, node) in pending.drain(..) {
            dup |= m.insert(k, v).is_some();
            n.children.push(node);
        }
        // keep the buffer for the next table
        self.pending = pending;
        self.bad |= dup;
    }

    fn header(&mut self) {
        let mut keys = std::mem::take(&mut self.keys);
        let Some((last, _)) = keys.pop() else {
            self.bad = true;
            return;
        };
        if keys.len() >= MAX_FAST_DEPTH {
            self.bad = true;
            return;
        }
        let header_pos = self.pos(self.header_start);
        let mut route = std::mem::take(&mut self.cur);
        route.clear();
        let mut path = Vec::with_capacity(keys.len());
        for (k, start) in keys.drain(..) {
            path.push((k, self.pos(start)));
        }
        self.keys = keys;
        let (mut m, mut n) = (&mut self.root, &mut self.root_node);
        for (k, pos) in path {
            let i = match m.get_index_of(k.as_str()) {
                Some(i) => i,
                None => {
                    let (i, _) = m.insert_full(k, Value::empty_map());
                    n.children.push(Node::at(pos));
                    i
                }
            };
            route.push(i);
            let Some((_, Value::Map(next))) = m.get_index_mut(i) else {
                self.bad = true;
                return;
            };
            m = next;
            let Some(next) = n.children.get_mut(i) else {
                self.bad = true;
                return;
            };
            n = next;
        }
        if m.contains_key(last.as_str()) {
            self.bad = true;
            return;
        }
        let (i, _) = m.insert_full(last, Value::empty_map());
        n.children.push(Node::at(header_pos));
        route.push(i);
        self.cur = route;
    }

    fn scalar_value(&mut self, span: Span, encoding: Option<Encoding>) -> Option<Value> {
        let raw = Raw::new_unchecked(self.text.get(span.start()..span.end())?, encoding, span);
        let mut decoded = Cow::Borrowed("");
        let mut failed = Failed(false);
        let kind = raw.decode_scalar(&mut decoded, &mut failed);
        if failed.0 {
            return None;
        }
        Some(match kind {
            ScalarKind::String => Value::String(decoded.into_owned()),
            ScalarKind::Boolean(b) => Value::Bool(b),
            ScalarKind::DateTime => {
                Value::String(decoded.parse::<toml::value::Datetime>().ok()?.to_string())
            }
            ScalarKind::Float => Value::Float(decoded.parse::<f64>().unwrap_or(f64::NAN)),
            ScalarKind::Integer(radix) => {
                Value::Int(i64::from_str_radix(&decoded, radix.value()).ok()?)
            }
        })
    }
}

impl EventReceiver for Fast<'_> {
    fn std_table_open(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        self.flush();
        if !self.keys.is_empty() || !self.arrays.is_empty() || self.key.is_some() {
            self.bad = true;
        }
        self.in_header = true;
        self.header_start = span.start();
    }

    fn std_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        if !self.in_header || self.bad {
            self.bad = true;
            return;
        }
        self.in_header = false;
        self.header();
    }

    fn array_table_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.bad = true;
    }

    fn inline_table_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) -> bool {
        self.bad = true;
        true
    }

    fn array_open(&mut self, span: Span, _error: &mut dyn ErrorSink) -> bool {
        if self.arrays.len() >= MAX_FAST_DEPTH || (self.arrays.is_empty() && self.key.is_none()) {
            self.bad = true;
        }
        let node = Node::at(self.pos(span.start()));
        self.arrays.push((Vec::new(), node));
        true
    }

    fn array_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        match self.arrays.pop() {
            Some((items, node)) => self.place(Value::Seq(items), node),
            None => self.bad = true,
        }
    }

    fn simple_key(&mut self, span: Span, encoding: Option<Encoding>, _error: &mut dyn ErrorSink) {
        if self.bad {
            return;
        }
        if !self.arrays.is_empty() || self.key.is_some() {
            self.bad = true;
            return;
        }
        let Some(text) = self.text.get(span.start()..span.end()) else {
            self.bad = true;
            return;
        };
        let raw = Raw::new_unchecked(text, encoding, span);
        let mut decoded = Cow::Borrowed("");
        let mut failed = Failed(false);
        raw.decode_key(&mut decoded, &mut failed);
        if failed.0 {
            self.bad = true;
            return;
        }
        self.keys.push((decoded.into_owned(), span.start()));
    }

    fn key_val_sep(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        // dotted keys (`a.b = 1`) take the DeTable path
        if self.keys.len() != 1 || self.in_header || self.key.is_some() {
            self.bad = true;
            self.keys.clear();
            return;
        }
        self.key = self.keys.pop().map(|(k, _)| k);
    }

    fn scalar(&mut self, span: Span, encoding: Option<Encoding>, _error: &mut dyn ErrorSink) {
        if self.bad {
            return;
        }
        if self.arrays.is_empty() && self.key.is_none() {
            self.bad = true;
            return;
        }
        match self.scalar_value(span, encoding) {
            Some(v) => {
                let node = Node::at(self.pos(span.start()));
                self.place(v, node);
            }
            None => self.bad = true,
        }
    }

    fn error(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.bad = true;
    }
}
