//! JSON → [`Value`] with positions. `serde_json` validates the text first (its error carries the
//! line and column); a small structural walker over the now-valid text then records where every
//! node starts. Strings with escapes are decoded by `serde_json` too.

use super::{MAX_DEPTH, Recorder};
use crate::error::LoadError;
use crate::origin::to_u32;
use crate::value::{Map, Segment, Value};

/// Parses a JSON document.
pub(crate) fn parse_document(text: &str, rec: &mut Recorder) -> Result<Value, Vec<LoadError>> {
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        let msg = e.to_string();
        // serde_json appends " at line L column C"; we print the position in front instead
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
        return Err(vec![rec.error(
            "json",
            to_u32(e.line()),
            to_u32(e.column().max(1)),
            msg,
        )]);
    }
    let mut w = Walker {
        b: text.as_bytes(),
        text,
        i: 0,
        line: 1,
        line_start: 0,
        rec,
        errors: Vec::new(),
    };
    w.ws();
    let v = w.value(0);
    match v {
        Ok(v) if w.errors.is_empty() => Ok(v),
        Ok(_) => Err(w.errors),
        Err(e) => {
            w.errors.push(e);
            Err(w.errors)
        }
    }
}

struct Walker<'t, 'r> {
    b: &'t [u8],
    text: &'t str,
    i: usize,
    line: usize,
    line_start: usize,
    rec: &'r mut Recorder,
    errors: Vec<LoadError>,
}

impl Walker<'_, '_> {
    fn pos(&self) -> (u32, u32) {
        let col = self
            .text
            .get(self.line_start..self.i)
            .map_or(0, |s| s.chars().count());
        (to_u32(self.line), to_u32(col + 1))
    }

    fn err(&self, msg: impl Into<String>) -> LoadError {
        let (l, c) = self.pos();
        self.rec.error("json", l, c, msg)
    }

    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b'\n' => {
                    self.i += 1;
                    self.line += 1;
                    self.line_start = self.i;
                }
                b' ' | b'\t' | b'\r' => self.i += 1,
                _ => break,
            }
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), LoadError> {
        self.ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(format!("expected `{}`", c as char)))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, LoadError> {
        self.ws();
        let (l, c) = self.pos();
        self.rec.record(l, c);
        if depth > MAX_DEPTH {
            return Err(self.err(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        match self.b.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut m = Map::default();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Value::Map(m));
                }
                loop {
                    self.ws();
                    let key_at = self.pos();
                    let key = self.string()?;
                    self.expect(b':')?;
                    let len = self.rec.push(Segment::Key(&key));
                    let v = self.value(depth + 1);
                    self.rec.pop(len);
                    let v = v?;
                    if m.contains_key(key.as_str()) {
                        let e = self.rec.error(
                            "json",
                            key_at.0,
                            key_at.1,
                            format!("duplicate key `{key}`"),
                        );
                        self.errors.push(e);
                    } else {
                        m.insert(key.into(), v);
                    }
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Value::Map(m));
                        }
                        _ => return Err(self.err("expected `,` or `}`")),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut s = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Value::Seq(s));
                }
                loop {
                    let len = self.rec.push(Segment::Index(s.len()));
                    let v = self.value(depth + 1);
                    self.rec.pop(len);
                    s.push(v?);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Value::Seq(s));
                        }
                        _ => return Err(self.err("expected `,` or `]`")),
                    }
                }
            }
            Some(b'"') => self.string().map(Value::from),
            Some(b't') => self.word("true", Value::Bool(true)),
            Some(b'f') => self.word("false", Value::Bool(false)),
            Some(b'n') => self.word("null", Value::Null),
            Some(_) => self.number(),
            None => Err(self.err("unexpected end of input")),
        }
    }

    fn word(&mut self, w: &str, v: Value) -> Result<Value, LoadError> {
        if self.b[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Ok(v)
        } else {
            Err(self.err("invalid literal"))
        }
    }

    fn number(&mut self) -> Result<Value, LoadError> {
        let start = self.i;
        while matches!(
            self.b.get(self.i),
            Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
        ) {
            self.i += 1;
        }
        let tok = &self.text[start..self.i];
        let integral = !tok.contains(['.', 'e', 'E']);
        if integral && let Ok(i) = tok.parse::<i64>() {
            return Ok(Value::Int(i));
        }
        tok.parse::<f64>()
            .map(Value::Float)
            .map_err(|_| self.err("invalid number"))
    }

    fn string(&mut self) -> Result<String, LoadError> {
        if self.b.get(self.i) != Some(&b'"') {
            return Err(self.err("expected a string"));
        }
        let start = self.i;
        self.i += 1;
        let mut escaped = false;
        loop {
            match self.b.get(self.i) {
                Some(b'\\') => {
                    escaped = true;
                    self.i += 2;
                }
                Some(b'"') => {
                    self.i += 1;
                    break;
                }
                Some(_) => self.i += 1,
                None => return Err(self.err("unterminated string")),
            }
        }
        let tok = self
            .text
            .get(start..self.i)
            .ok_or_else(|| self.err("invalid string"))?;
        if escaped {
            serde_json::from_str::<String>(tok).map_err(|e| self.err(e.to_string()))
        } else {
            Ok(tok[1..tok.len() - 1].to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<(Value, crate::merge::Origins), Vec<LoadError>> {
        let mut rec = Recorder::new("json", Some(std::path::Path::new("t.json").into()));
        let v = parse_document(t, &mut rec)?;
        Ok((v, rec.origins))
    }

    #[test]
    fn values_and_positions() {
        let (v, o) = parse("{\n  \"db\": {\"port\": 5432, \"n\": -1.5e2, \"s\": \"a\\u00e9\\n\"},\n  \"l\": [true, null]\n}").unwrap();
        assert_eq!(v.get_path("db.port"), Some(&Value::Int(5432)));
        assert_eq!(v.get_path("db.n"), Some(&Value::Float(-150.0)));
        assert_eq!(v.get_path("db.s"), Some(&Value::String("aé\n".into())));
        assert_eq!(v.get_path("l[1]"), Some(&Value::Null));
        assert_eq!((o["db.port"].line, o["db.port"].col), (2, 18));
        assert_eq!((o["l[0]"].line, o["l[0]"].col), (3, 9));
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let e = parse("{\n  \"a\": 1,\n  \"b\": x\n}").unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(
            e[0].to_string()
                .starts_with("t.json:3:8: json error: expected value"),
            "{}",
            e[0]
        );
    }

    #[test]
    fn duplicates_are_errors() {
        let e = parse("{\"a\": 1, \"a\": 2, \"b\": 1, \"b\": 1}").unwrap_err();
        assert_eq!(e.len(), 2);
    }
}
