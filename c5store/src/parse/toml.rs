//! TOML → [`Value`] through `toml::de::DeTable` (spanned, error-recovering): every node keeps its
//! position and every syntax error of the file is reported.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{MAX_DEPTH, Recorder};
use crate::error::LoadError;
use crate::origin::LineIndex;
use crate::value::{Map, Segment, Value};

/// Parses a TOML document.
pub(crate) fn parse_document(text: &str, rec: &mut Recorder) -> Result<Value, Vec<LoadError>> {
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
        rec,
        errors: Vec::new(),
    };
    w.record(table.span().start);
    let v = w.table(table.into_inner(), 0);
    if w.errors.is_empty() {
        Ok(v)
    } else {
        Err(w.errors)
    }
}

struct Walker<'t, 'r> {
    text: &'t str,
    lines: LineIndex,
    rec: &'r mut Recorder,
    errors: Vec<LoadError>,
}

impl Walker<'_, '_> {
    fn record(&mut self, offset: usize) {
        let (l, c) = self.lines.line_col(self.text, offset);
        self.rec.record(l, c);
    }

    fn table(&mut self, t: DeTable<'_>, depth: usize) -> Value {
        let mut m = Map::with_capacity_and_hasher(t.len(), Default::default());
        for (k, v) in t {
            let len = self.rec.push(Segment::Key(k.get_ref()));
            let val = self.value(v, depth + 1);
            self.rec.pop(len);
            m.insert(k.into_inner().into_owned(), val);
        }
        Value::Map(m)
    }

    fn value(&mut self, v: Spanned<DeValue<'_>>, depth: usize) -> Value {
        let start = v.span().start;
        self.record(start);
        if depth > MAX_DEPTH {
            let (l, c) = self.lines.line_col(self.text, start);
            self.errors.push(self.rec.error(
                "toml",
                l,
                c,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
            return Value::Null;
        }
        match v.into_inner() {
            DeValue::String(s) => Value::String(s.into_owned()),
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Value::Int(n),
                Err(_) => {
                    let (l, c) = self.lines.line_col(self.text, start);
                    self.errors.push(self.rec.error(
                        "toml",
                        l,
                        c,
                        "integer out of range for 64 bits",
                    ));
                    Value::Null
                }
            },
            DeValue::Float(f) => Value::Float(f.as_str().parse::<f64>().unwrap_or(f64::NAN)),
            DeValue::Boolean(b) => Value::Bool(b),
            DeValue::Datetime(d) => Value::String(d.to_string()),
            DeValue::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                for (i, e) in a.into_iter().enumerate() {
                    let len = self.rec.push(Segment::Index(i));
                    out.push(self.value(e, depth + 1));
                    self.rec.pop(len);
                }
                Value::Seq(out)
            }
            DeValue::Table(t) => self.table(t, depth),
        }
    }
}
