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
use std::cell::Cell;

use compact_str::ToCompactString as _;
use toml_parser::decoder::{Encoding, ScalarKind};
use toml_parser::lexer::Token;
use toml_parser::parser::EventReceiver;
use toml_parser::{ErrorSink, ParseError, Raw, Source, Span};

use crate::origin::to_u32;
use crate::prov_tree::{Node, Pos};
use crate::value::{Key, Map, Value};

/// Nesting the fast path accepts (header segments, array depth); deeper goes to `DeTable`.
const MAX_FAST_DEPTH: usize = 32;

/// Token buffers up to this many bytes are kept for the next document of the thread.
const KEEP_TOKENS_BYTES: usize = 256 * 1024;

thread_local! {
    /// The token buffer of the last document read on this thread (empty, capacity kept), so
    /// that reading a few small files does not allocate and free it each time.
    static TOKENS: Cell<Vec<Token>> = const { Cell::new(Vec::new()) };
}

/// Reads `text` when it has the common shape: the value tree and the root position node.
pub(crate) fn parse(text: &str) -> Option<(Value, Node)> {
    let source = Source::new(text);
    let mut tokens = TOKENS.take();
    tokens.clear();
    // the capacity `Lexer::into_vec` would start with
    tokens.reserve(text.len() / 7 * 2);
    tokens.extend(source.lex());
    let out = parse_tokens(text, source, &tokens);
    if tokens.capacity().saturating_mul(size_of::<Token>()) <= KEEP_TOKENS_BYTES {
        tokens.clear();
        TOKENS.set(tokens);
    }
    out
}

fn parse_tokens(text: &str, source: Source<'_>, tokens: &[Token]) -> Option<(Value, Node)> {
    let mut fast = Fast {
        text,
        source,
        line: 0,
        line_start: 0,
        root: Map::default(),
        root_node: Node::default(),
        ascii: text.is_ascii(),
        cur: Vec::new(),
        keys: Vec::new(),
        in_header: false,
        header_pos: Pos::default(),
        key: None,
        arrays: Vec::new(),
        pending: Vec::new(),
        bad: false,
    };
    let mut failed = Failed(false);
    // `Fast` itself does what `toml`'s `ValidateWhitespace` and `RecursionGuard` wrappers do
    // (events reach it in one call instead of three): it validates comments and newlines, and
    // it stops the parser from descending into arrays deeper than `MAX_FAST_DEPTH`.
    toml_parser::parser::parse_document(tokens, &mut fast, &mut failed);
    fast.flush(0);
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
    source: Source<'t>,
    /// Line cursor: the 0-based line and the offset where it starts, of the last newline
    /// reported by the parser (newline events, and newlines inside multi-line strings; no other
    /// token of an accepted document holds one).
    line: usize,
    line_start: usize,
    /// Whether the text is ASCII (then a column is a byte distance).
    ascii: bool,
    root: Map,
    root_node: Node,
    /// Index route from the root to the table key/value lines go into.
    cur: Vec<usize>,
    /// Key segments seen since the last header open or value (decoded, position). Keys
    /// borrow the text unless escapes had to be decoded; a `String` is made only for a key that
    /// goes into a map.
    keys: Vec<(Cow<'t, str>, Pos)>,
    in_header: bool,
    header_pos: Pos,
    /// The key of the value being read.
    key: Option<Cow<'t, str>>,
    /// Open arrays (elements, positions).
    arrays: Vec<(Vec<Value>, Node)>,
    /// Key/value lines of the current table not yet moved into it: the table is filled once its
    /// size is known (at the next header or the end), sized exactly.
    pending: Vec<(Cow<'t, str>, Value, Node)>,
    bad: bool,
}

impl<'t> Fast<'t> {
    /// The position of byte `offset` on the current line, as [`crate::origin::LineIndex`]
    /// gives it (1-based line; 1-based column in characters). Tokens come in document order
    /// and the parser reports every newline before them, so no text is scanned for lines.
    #[inline(always)]
    fn pos(&self, offset: usize) -> Pos {
        if self.ascii && offset >= self.line_start && offset <= self.text.len() {
            // the common case: a column is a byte distance
            return Pos {
                src: 0,
                line: to_u32(self.line + 1),
                col: to_u32(offset - self.line_start + 1),
            };
        }
        self.pos_slow(offset)
    }

    /// [`Fast::pos`] for non-ASCII text, or an offset before the current line (only the root
    /// asks, for offset 0).
    fn pos_slow(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let (line, start) = if offset < self.line_start {
            let before = self.text.get(..offset).unwrap_or("");
            let start = before.rfind('\n').map_or(0, |i| i + 1);
            (before.matches('\n').count(), start)
        } else {
            (self.line, self.line_start)
        };
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        Pos {
            src: 0,
            line: to_u32(line + 1),
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

    /// Moves the pending key/value lines into the current table, with room for `extra` more
    /// entries; a key defined twice (or already there) gives up.
    fn flush(&mut self, extra: usize) {
        if self.pending.is_empty() || self.bad {
            return;
        }
        let mut pending = std::mem::take(&mut self.pending);
        let Some((m, n)) = self.current() else {
            self.bad = true;
            return;
        };
        m.reserve_exact(pending.len() + extra);
        n.children.reserve_exact(pending.len() + extra);
        let mut dup = false;
        for (k, v, node) in pending.drain(..) {
            dup |= m.insert(Key::from(k), v).is_some();
            n.children.push(node);
        }
        // keep the buffer for the next table
        self.pending = pending;
        self.bad |= dup;
    }

    /// Whether the header just read (`self.keys`) names a table below the current one, so that
    /// it adds an entry to the current table (`[a]` then `[a.b]`).
    fn header_below_current(&self) -> bool {
        if self.keys.len() <= self.cur.len() {
            return false;
        }
        let mut m = &self.root;
        for (&i, (k, _)) in self.cur.iter().zip(&self.keys) {
            match m.get_index(i) {
                Some((name, Value::Map(next))) if name.as_str() == k.as_ref() => m = next,
                _ => return false,
            }
        }
        true
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
        let header_pos = self.header_pos;
        let mut route = std::mem::take(&mut self.cur);
        route.clear();
        let ok = descend(
            &mut self.root,
            &mut self.root_node,
            keys.drain(..),
            &mut route,
        )
        .and_then(|(m, n)| {
            if m.contains_key(last.as_ref()) {
                return None;
            }
            let (i, _) = m.insert_full(Key::from(last), Value::empty_map());
            n.children.push(Node::at(header_pos));
            route.push(i);
            Some(())
        });
        self.bad |= ok.is_none();
        self.keys = keys;
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
            ScalarKind::String => Value::String(decoded.into()),
            ScalarKind::Boolean(b) => Value::Bool(b),
            ScalarKind::DateTime => Value::String(
                decoded
                    .parse::<toml::value::Datetime>()
                    .ok()?
                    .to_compact_string(),
            ),
            ScalarKind::Float => Value::Float(decoded.parse::<f64>().unwrap_or(f64::NAN)),
            ScalarKind::Integer(radix) => {
                Value::Int(i64::from_str_radix(&decoded, radix.value()).ok()?)
            }
        })
    }
}

/// Whether `k` is a non-empty bare key (`A-Za-z0-9_-` only).
fn is_bare_key(k: &str) -> bool {
    /// The bytes a bare key may hold.
    const BARE: [bool; 256] = {
        let mut t = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            t[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
            b += 1;
        }
        t
    };
    !k.is_empty() && k.bytes().all(|b| BARE[usize::from(b)])
}

/// Walks (and creates, as implicit tables) the header segments `path` from the root; returns
/// the map and node of the last one and leaves its index route in `route`. `None` when a
/// segment names something that is not a table.
fn descend<'m, 'k>(
    root: &'m mut Map,
    root_node: &'m mut Node,
    path: impl Iterator<Item = (Cow<'k, str>, Pos)>,
    route: &mut Vec<usize>,
) -> Option<(&'m mut Map, &'m mut Node)> {
    let (mut m, mut n) = (root, root_node);
    for (k, pos) in path {
        let i = match m.get_index_of(k.as_ref()) {
            Some(i) => i,
            None => {
                let (i, _) = m.insert_full(Key::from(k), Value::empty_map());
                n.children.push(Node::at(pos));
                i
            }
        };
        route.push(i);
        let Some((_, Value::Map(next))) = m.get_index_mut(i) else {
            return None;
        };
        m = next;
        n = n.children.get_mut(i)?;
    }
    Some((m, n))
}

impl<'t> EventReceiver for Fast<'t> {
    fn std_table_open(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        if !self.keys.is_empty() || !self.arrays.is_empty() || self.key.is_some() {
            self.bad = true;
        }
        self.in_header = true;
        self.header_pos = self.pos(span.start());
    }

    fn std_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        if !self.in_header || self.bad {
            self.bad = true;
            return;
        }
        self.in_header = false;
        // the lines of the table before are complete; a subtable header adds one entry to it
        let extra = usize::from(self.header_below_current());
        self.flush(extra);
        self.header();
    }

    fn array_table_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.bad = true;
    }

    fn inline_table_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) -> bool {
        // not this reader's shape; `false`: the parser skips it instead of descending
        self.bad = true;
        false
    }

    fn array_open(&mut self, span: Span, _error: &mut dyn ErrorSink) -> bool {
        if self.bad
            || self.arrays.len() >= MAX_FAST_DEPTH
            || (self.arrays.is_empty() && self.key.is_none())
        {
            // given up: the parser skips the array (no recursion past `MAX_FAST_DEPTH`)
            self.bad = true;
            return false;
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
        if encoding.is_none() && is_bare_key(text) {
            // a bare key is its own text (TOML: `A-Za-z0-9_-`, nothing to decode)
            let pos = self.pos(span.start());
            self.keys.push((Cow::Borrowed(text), pos));
            return;
        }
        raw.decode_key(&mut decoded, &mut failed);
        if failed.0 {
            self.bad = true;
            return;
        }
        let pos = self.pos(span.start());
        self.keys.push((decoded, pos));
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

    fn comment(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        let mut failed = Failed(false);
        match self.source.get(span) {
            Some(raw) => raw.decode_comment(&mut failed),
            None => failed.0 = true,
        }
        self.bad |= failed.0;
    }

    fn newline(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        // a plain `\n` is valid; anything else (`\r\n`, a lone `\r`) goes to the decoder
        if self.text.as_bytes().get(span.start()..span.end()) != Some(b"\n") {
            let mut failed = Failed(false);
            match self.source.get(span) {
                Some(raw) => raw.decode_newline(&mut failed),
                None => failed.0 = true,
            }
            self.bad |= failed.0;
        }
        self.line += 1;
        self.line_start = span.end();
    }

    fn scalar(&mut self, span: Span, encoding: Option<Encoding>, _error: &mut dyn ErrorSink) {
        let pos = self.pos(span.start());
        if matches!(
            encoding,
            Some(Encoding::MlBasicString | Encoding::MlLiteralString)
        ) {
            // the newlines inside a multi-line string are no newline events
            let bytes = self.text.as_bytes().get(span.start()..span.end());
            for (i, &b) in bytes.unwrap_or(&[]).iter().enumerate() {
                if b == b'\n' {
                    self.line += 1;
                    self.line_start = span.start() + i + 1;
                }
            }
        }
        if self.bad {
            return;
        }
        if self.arrays.is_empty() && self.key.is_none() {
            self.bad = true;
            return;
        }
        match self.scalar_value(span, encoding) {
            Some(v) => self.place(v, Node::at(pos)),
            None => self.bad = true,
        }
    }

    fn error(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.bad = true;
    }
}
