//! TOML → [`Value`]: the one-pass reader of [`super::toml_fast`] for the common shape of
//! configuration files, else `toml::de::DeTable` (spanned, error-recovering) for all of TOML.
//! Either way every node keeps its position and every syntax error of the file is reported.

use compact_str::ToCompactString as _;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{MAX_DEPTH, Recorder};
use crate::error::LoadError;
use crate::origin::LineIndex;
use crate::prov_tree::{Node, Pos, ProvenanceTree};
use crate::value::{Key, Map, Value};

/// Parses a TOML document. Origins go into `rec.positions`, a tree parallel to the values
/// (one shared source entry, a (line, column) per node; no path strings).
pub(crate) fn parse_document(text: &str, rec: &mut Recorder) -> Result<Value, Vec<LoadError>> {
    if let Some((v, root)) = super::toml_fast::parse(text) {
        rec.positions = ProvenanceTree::with_source(rec.origin(0, 0));
        rec.positions.root = root;
        rec.positions.parsed_whole = true;
        return Ok(v);
    }
    parse_detable(text, rec)
}

/// [`parse_document`] through `DeTable` only (the path every document can take).
pub(crate) fn parse_detable(text: &str, rec: &mut Recorder) -> Result<Value, Vec<LoadError>> {
    let lines = LineIndex::new(text);
    let (table, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        return Err(errors
            .iter()
            .map(|e| {
                let (l, c) = e.span().map_or((0, 0), |s| lines.line_col(text, s.start));
                rec.error("toml", l, c, e.message().trim_end().to_owned())
            })
            .collect());
    }
    let mut w = Walker {
        text,
        lines,
        line_hint: 0,
        rec,
        errors: Vec::new(),
    };
    let root_pos = w.pos(table.span().start);
    let mut root = Node::at(root_pos);
    let v = w.table(table.into_inner(), &mut root, 0);
    let Walker { rec, errors, .. } = w;
    if errors.is_empty() {
        rec.positions = ProvenanceTree::with_source(rec.origin(0, 0));
        rec.positions.root = root;
        rec.positions.parsed_whole = true;
        Ok(v)
    } else {
        Err(errors)
    }
}

struct Walker<'t, 'r> {
    text: &'t str,
    lines: LineIndex,
    /// Line of the last position asked for (positions come mostly in document order).
    line_hint: usize,
    rec: &'r mut Recorder,
    errors: Vec<LoadError>,
}

impl Walker<'_, '_> {
    /// The position of byte `offset` (source 0: this file).
    fn pos(&mut self, offset: usize) -> Pos {
        let (line, col) = self
            .lines
            .line_col_near(self.text, offset, &mut self.line_hint);
        Pos { src: 0, line, col }
    }

    fn error(&mut self, start: usize, message: String) {
        let (l, c) = self.lines.line_col(self.text, start);
        self.errors.push(self.rec.error("toml", l, c, message));
    }

    fn table(&mut self, t: DeTable<'_>, node: &mut Node, depth: usize) -> Value {
        let mut m = Map::with_capacity_and_hasher(t.len(), Default::default());
        node.children.reserve_exact(t.len());
        for (k, v) in t {
            let mut child = Node::at(self.pos(v.span().start));
            let val = self.value(v, &mut child, depth + 1);
            // DeTable keys are unique, so every insert appends and stays aligned with `children`
            m.insert(Key::from(k.into_inner()), val);
            node.children.push(child);
        }
        Value::Map(m)
    }

    fn value(&mut self, v: Spanned<DeValue<'_>>, node: &mut Node, depth: usize) -> Value {
        let start = v.span().start;
        if depth > MAX_DEPTH {
            self.error(start, format!("nesting deeper than {MAX_DEPTH} levels"));
            return Value::Null;
        }
        match v.into_inner() {
            DeValue::String(s) => Value::String(s.into()),
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Value::Int(n),
                Err(_) => {
                    self.error(start, "integer out of range for 64 bits".to_owned());
                    Value::Null
                }
            },
            DeValue::Float(f) => Value::Float(f.as_str().parse::<f64>().unwrap_or(f64::NAN)),
            DeValue::Boolean(b) => Value::Bool(b),
            DeValue::Datetime(d) => Value::String(d.to_compact_string()),
            DeValue::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                node.children.reserve_exact(a.len());
                for e in a {
                    let mut child = Node::at(self.pos(e.span().start));
                    out.push(self.value(e, &mut child, depth + 1));
                    node.children.push(child);
                }
                Value::Seq(out)
            }
            DeValue::Table(t) => self.table(t, node, depth),
        }
    }
}
