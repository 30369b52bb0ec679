//! YAML → [`Value`] from `saphyr-parser` events, keeping the position of every node.
//!
//! YAML 1.2 core schema for plain scalars; anchors and aliases (with a size budget against
//! "billion laughs" input); `<<` merge keys; duplicate keys are errors. One document per file.

use std::collections::HashMap;
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span, StrInput, Tag};

use super::{MAX_DEPTH, Recorder};
use crate::error::LoadError;
use crate::origin::to_u32;
use crate::value::{Map, Segment, Value};

/// Path of recorded entries that turned out not to be nodes (`<<` merge sources).
const JUNK: &str = "\0";

/// Most nodes that aliases may copy into one document.
const ALIAS_BUDGET: usize = 1_000_000;

/// Parses one YAML document (empty input → `Null`).
pub(crate) fn parse_document(text: &str, rec: &mut Recorder) -> Result<Value, Vec<LoadError>> {
    let mut r = Reader {
        parser: Parser::new_from_str(text),
        rec,
        entries: Vec::new(),
        anchors: HashMap::new(),
        budget: ALIAS_BUDGET,
        errors: Vec::new(),
    };
    let out = r.document();
    let Reader {
        entries,
        mut errors,
        rec,
        ..
    } = r;
    match out {
        Ok(v) if errors.is_empty() => {
            rec.origins.reserve(entries.len());
            rec.origins
                .extend(entries.into_iter().filter(|(p, _)| p != JUNK));
            Ok(v)
        }
        Ok(_) => Err(errors),
        Err(e) => {
            errors.push(e);
            Err(errors)
        }
    }
}

struct Anchor {
    value: Value,
    /// Path of the anchored node when it was defined.
    prefix: String,
    /// Its entries in `Reader::entries`.
    range: Range<usize>,
    size: usize,
}

struct Reader<'t, 'r> {
    parser: Parser<'t, StrInput<'t>>,
    rec: &'r mut Recorder,
    /// (path, origin) in document order; turned into the layer's origin table at the end.
    entries: Vec<(String, crate::origin::Origin)>,
    anchors: HashMap<usize, Anchor>,
    budget: usize,
    /// Non-fatal problems (duplicate keys, bad tagged scalars).
    errors: Vec<LoadError>,
}

fn pos(span: &Span) -> (u32, u32) {
    (to_u32(span.start.line()), to_u32(span.start.col() + 1))
}

impl<'t> Reader<'t, '_> {
    fn err(&self, span: &Span, msg: impl Into<String>) -> LoadError {
        let (l, c) = pos(span);
        self.rec.error("yaml", l, c, msg)
    }

    fn scan_err(&self, e: &ScanError) -> LoadError {
        let m = e.marker();
        self.rec
            .error("yaml", to_u32(m.line()), to_u32(m.col() + 1), e.info())
    }

    fn next(&mut self) -> Result<(Event<'t>, Span), LoadError> {
        match self.parser.next_event() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => Err(self.scan_err(&e)),
            None => Err(self.rec.error("yaml", 0, 0, "unexpected end of input")),
        }
    }

    fn record(&mut self, span: &Span) {
        let (l, c) = pos(span);
        let o = self.rec.origin(l, c);
        self.entries.push((self.rec.path.clone(), o));
    }

    fn document(&mut self) -> Result<Value, LoadError> {
        let mut value = Value::Null;
        let mut docs = 0;
        loop {
            let (ev, span) = self.next()?;
            match ev {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => return Ok(value),
                Event::DocumentStart(_) => {
                    docs += 1;
                    if docs > 1 {
                        return Err(self.err(&span, "more than one document in one file"));
                    }
                }
                ev => value = self.node(ev, span, 0)?,
            }
        }
    }

    fn node(&mut self, ev: Event<'t>, span: Span, depth: usize) -> Result<Value, LoadError> {
        if depth > MAX_DEPTH {
            return Err(self.err(&span, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        match ev {
            Event::Scalar(s, style, anchor, tag) => {
                let start = self.entries.len();
                self.record(&span);
                let v = self.scalar(&s, style, tag.as_deref(), &span);
                self.save_anchor(anchor, &v, start, 1);
                Ok(v)
            }
            Event::SequenceStart(anchor, _) => {
                let start = self.entries.len();
                self.record(&span);
                let mut items = Vec::new();
                loop {
                    let (ev, sp) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    let len = self.rec.push(Segment::Index(items.len()));
                    let v = self.node(ev, sp, depth + 1);
                    self.rec.pop(len);
                    items.push(v?);
                }
                let v = Value::Seq(items);
                let size = self.entries.len() - start;
                self.save_anchor(anchor, &v, start, size);
                Ok(v)
            }
            Event::MappingStart(anchor, _) => {
                let start = self.entries.len();
                self.record(&span);
                let v = self.mapping(depth)?;
                let size = self.entries.len() - start;
                self.save_anchor(anchor, &v, start, size);
                Ok(v)
            }
            Event::Alias(id) => self.alias(id, &span),
            _ => Err(self.err(&span, "unexpected YAML event")),
        }
    }

    fn mapping(&mut self, depth: usize) -> Result<Value, LoadError> {
        let mut map = Map::default();
        // `<<` merge sources: (value, entries range, path prefix the entries were recorded at)
        let mut merges: Vec<(Value, Range<usize>)> = Vec::new();
        loop {
            let (ev, kspan) = self.next()?;
            let key = match ev {
                Event::MappingEnd => break,
                Event::Scalar(s, style, _, _) => (s.into_owned(), style),
                Event::Alias(id) => match self.anchors.get(&id).map(|a| &a.value) {
                    Some(Value::String(s)) => (s.to_string(), ScalarStyle::SingleQuoted),
                    Some(v) if v.is_leaf() => (v.to_string(), ScalarStyle::SingleQuoted),
                    _ => return Err(self.err(&kspan, "an alias used as a key must name a scalar")),
                },
                _ => return Err(self.err(&kspan, "only scalar keys are supported")),
            };
            let (key, style) = key;
            let (vev, vspan) = self.next()?;
            if key == "<<" && style == ScalarStyle::Plain {
                let start = self.entries.len();
                let len = self.rec.push(Segment::Key("<<"));
                let v = self.node(vev, vspan, depth + 1);
                self.rec.pop(len);
                merges.push((v?, start..self.entries.len()));
                continue;
            }
            let len = self.rec.push(Segment::Key(&key));
            let v = self.node(vev, vspan, depth + 1);
            self.rec.pop(len);
            let v = v?;
            if map.contains_key(key.as_str()) {
                let e = self.err(&kspan, format!("duplicate key `{key}`"));
                self.errors.push(e);
                continue;
            }
            map.insert(key.into(), v);
        }
        for (v, range) in merges {
            self.apply_merge(&mut map, v, range);
        }
        Ok(Value::Map(map))
    }

    /// YAML merge keys: entries of the merged map(s) that the mapping does not set itself.
    fn apply_merge(&mut self, map: &mut Map, v: Value, range: Range<usize>) {
        let base = self.rec.path.clone();
        let mut src_prefix = base.clone();
        crate::value::push_segment(&mut src_prefix, Segment::Key("<<"));
        let sources: Vec<(String, Map)> = match v {
            Value::Map(m) => vec![(src_prefix, m)],
            Value::Seq(s) => s
                .into_iter()
                .enumerate()
                .filter_map(|(i, e)| match e {
                    Value::Map(m) => {
                        let mut p = src_prefix.clone();
                        crate::value::push_segment(&mut p, Segment::Index(i));
                        Some((p, m))
                    }
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        for (prefix, m) in sources {
            for (k, v) in m {
                if map.contains_key(&k) {
                    continue;
                }
                let mut from = prefix.clone();
                crate::value::push_segment(&mut from, Segment::Key(&k));
                let mut to = base.clone();
                crate::value::push_segment(&mut to, Segment::Key(&k));
                for (p, _) in &mut self.entries[range.clone()] {
                    if p.starts_with(&from)
                        && matches!(p.as_bytes().get(from.len()), None | Some(b'.' | b'['))
                    {
                        let rest = p[from.len()..].to_owned();
                        *p = format!("{to}{rest}");
                    }
                }
                map.insert(k, v);
            }
        }
        // entries of the `<<` node itself and of keys the mapping set itself: not in the tree
        let mut junk = base.clone();
        crate::value::push_segment(&mut junk, Segment::Key("<<"));
        for (p, _) in self.entries.get_mut(range).into_iter().flatten() {
            if p.starts_with(&junk)
                && matches!(p.as_bytes().get(junk.len()), None | Some(b'.' | b'['))
            {
                // dropped when the entries become the origin table
                JUNK.clone_into(p);
            }
        }
    }

    fn save_anchor(&mut self, anchor: usize, v: &Value, start: usize, size: usize) {
        if anchor > 0 {
            let a = Anchor {
                value: v.clone(),
                prefix: self.rec.path.clone(),
                range: start..self.entries.len(),
                size: size.max(1),
            };
            self.anchors.insert(anchor, a);
        }
    }

    fn alias(&mut self, id: usize, span: &Span) -> Result<Value, LoadError> {
        let Some(a) = self.anchors.get(&id) else {
            return Err(self.err(span, "alias to an unknown anchor"));
        };
        if a.size > self.budget {
            return Err(self.err(span, "aliases expand to too many nodes"));
        }
        self.budget -= a.size;
        let (value, prefix, range) = (a.value.clone(), a.prefix.clone(), a.range.clone());
        // the alias node itself is located where the alias is; its descendants where they were
        // defined under the anchor
        self.record(span);
        let here = self.rec.path.clone();
        for i in range {
            let (p, o) = &self.entries[i];
            if p.len() > prefix.len() && p.starts_with(prefix.as_str()) {
                let np = format!("{here}{}", &p[prefix.len()..]);
                let o = o.clone();
                self.entries.push((np, o));
            }
        }
        Ok(value)
    }

    fn scalar(&mut self, s: &str, style: ScalarStyle, tag: Option<&Tag>, span: &Span) -> Value {
        if let Some(tag) = tag.filter(|t| t.is_yaml_core_schema()) {
            let v = match tag.suffix.as_str() {
                "str" => Some(Value::String(s.into())),
                "null" => matches!(resolve_plain(s), Value::Null).then_some(Value::Null),
                "bool" => resolve_plain(s).as_bool().map(Value::Bool),
                "int" => resolve_plain(s).as_i64().map(Value::Int),
                "float" => resolve_plain(s).as_f64().map(Value::Float),
                _ => Some(if style == ScalarStyle::Plain {
                    resolve_plain(s)
                } else {
                    Value::String(s.into())
                }),
            };
            return v.unwrap_or_else(|| {
                let e = self.err(span, format!("`{s}` is not a valid !!{}", tag.suffix));
                self.errors.push(e);
                Value::Null
            });
        }
        if style == ScalarStyle::Plain {
            resolve_plain(s)
        } else {
            Value::String(s.into())
        }
    }
}

/// Resolves a plain scalar by the YAML 1.2 core schema. Integers beyond 64 bits become floats.
pub(crate) fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let b = s.as_bytes();
    if let Some(hex) = s.strip_prefix("0x")
        && !hex.is_empty()
        && hex.bytes().all(|c| c.is_ascii_hexdigit())
    {
        return i64::from_str_radix(hex, 16).map_or_else(|_| Value::String(s.into()), Value::Int);
    }
    if let Some(oct) = s.strip_prefix("0o")
        && !oct.is_empty()
        && oct.bytes().all(|c| (b'0'..=b'7').contains(&c))
    {
        return i64::from_str_radix(oct, 8).map_or_else(|_| Value::String(s.into()), Value::Int);
    }
    let digits = b
        .strip_prefix(b"-")
        .or_else(|| b.strip_prefix(b"+"))
        .unwrap_or(b);
    if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
        return match s.parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => s
                .parse::<f64>()
                .map_or_else(|_| Value::String(s.into()), Value::Float),
        };
    }
    if is_core_float(digits)
        && let Ok(f) = s.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::String(s.into())
}

/// `( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE] [-+]? [0-9]+ )?` (sign already stripped).
fn is_core_float(b: &[u8]) -> bool {
    let mut i = 0;
    let int = b.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int;
    let mut frac = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac;
    }
    if int == 0 && frac == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp = b[i.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<(Value, crate::merge::Origins), Vec<LoadError>> {
        let mut rec = Recorder::new("yaml", Some(std::path::Path::new("t.yaml").into()));
        let v = parse_document(t, &mut rec)?;
        Ok((v, rec.origins))
    }

    #[test]
    fn core_schema() {
        for (s, v) in [
            ("5432", Value::Int(5432)),
            ("-1", Value::Int(-1)),
            ("0x1F", Value::Int(31)),
            ("0o17", Value::Int(15)),
            ("1.5", Value::Float(1.5)),
            ("1e3", Value::Float(1000.0)),
            (".5", Value::Float(0.5)),
            ("true", Value::Bool(true)),
            ("~", Value::Null),
            ("yes", Value::String("yes".into())),
            ("1.2.3", Value::String("1.2.3".into())),
            ("e3", Value::String("e3".into())),
            ("12345678901234567890", Value::Float(12345678901234567890.0)),
        ] {
            assert_eq!(resolve_plain(s), v, "{s}");
        }
    }

    #[test]
    fn positions_of_nested_leaves() {
        let (v, o) = parse("db:\n  port: 5432\n  hosts: [a, 'b']\n").unwrap();
        assert_eq!(v.get_path("db.port"), Some(&Value::Int(5432)));
        assert_eq!(v.get_path("db.hosts[1]"), Some(&Value::String("b".into())));
        assert_eq!((o["db.port"].line, o["db.port"].col), (2, 9));
        assert_eq!((o["db.hosts[1]"].line, o["db.hosts[1]"].col), (3, 14));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let (v, o) =
            parse("base: &b\n  x: 1\n  y: 2\nother:\n  <<: *b\n  y: 3\ncopy: *b\n").unwrap();
        assert_eq!(v.get_path("other.x"), Some(&Value::Int(1)));
        assert_eq!(v.get_path("other.y"), Some(&Value::Int(3)));
        assert_eq!(v.get_path("copy.y"), Some(&Value::Int(2)));
        assert_eq!(o["copy.x"].line, 2);
        assert_eq!(o["other.x"].line, 2);
        assert_eq!(o["other.y"].line, 6);
        assert!(v.get_path("other.<<").is_none());
        // exactly one origin per node (the merge takes a parsed layer's origins whole)
        let mut nodes = 0;
        fn count(v: &Value, n: &mut usize) {
            *n += 1;
            match v {
                Value::Map(m) => m.values().for_each(|c| count(c, n)),
                Value::Seq(s) => s.iter().for_each(|c| count(c, n)),
                _ => {}
            }
        }
        count(&v, &mut nodes);
        assert_eq!(o.len(), nodes, "{o:?}");
    }

    #[test]
    fn errors_have_positions_and_duplicates_are_all_reported() {
        let e = parse("a: 1\na: 2\nb: 1\nb: 3\n").unwrap_err();
        assert_eq!(e.len(), 2);
        assert!(
            e[0].to_string()
                .starts_with("t.yaml:2:1: yaml error: duplicate key `a`"),
            "{}",
            e[0]
        );
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e[0].to_string().starts_with("t.yaml:"), "{}", e[0]);
    }

    #[test]
    fn billion_laughs_is_refused() {
        let mut t = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            t.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let e = parse(&t).unwrap_err();
        assert!(e[0].to_string().contains("too many nodes"), "{}", e[0]);
    }
}
