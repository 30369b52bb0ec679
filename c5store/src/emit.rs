//! Rendering a tree as YAML (optionally with a `# from file:line:col` comment per leaf), JSON or
//! TOML, for `c5 render` and debugging. Strings are double-quoted whenever a plain scalar would
//! read back as something else, so the output parses back to the same tree.

use std::fmt::Write;

use crate::prov_tree::{Node, ProvenanceTree};
use crate::value::Value;

/// A tree as block YAML.
pub fn to_yaml(v: &Value) -> String {
    let mut e = Emitter {
        out: String::new(),
        prov: None,
    };
    e.top(v, None);
    e.out
}

/// A tree as block YAML with the origin of every leaf as a trailing comment.
pub fn to_yaml_annotated(v: &Value, prov: &ProvenanceTree) -> String {
    let mut e = Emitter {
        out: String::new(),
        prov: Some(prov),
    };
    e.top(v, Some(prov.root()));
    e.out
}

/// A tree as pretty JSON (non-finite floats become null).
pub fn to_json(v: &Value) -> String {
    serde_json::to_string_pretty(&v.to_json()).unwrap_or_default()
}

/// A tree as TOML. Fails when the tree holds something TOML cannot express (a null in a list,
/// a top level that is not a map).
pub fn to_toml(v: &Value) -> Result<String, String> {
    toml::to_string_pretty(v).map_err(|e| e.to_string())
}

struct Emitter<'a> {
    out: String,
    prov: Option<&'a ProvenanceTree>,
}

impl Emitter<'_> {
    fn top(&mut self, v: &Value, n: Option<&Node>) {
        match v {
            Value::Map(m) if !m.is_empty() => self.map(v, n, 0),
            Value::Seq(s) if !s.is_empty() => self.seq(v, n, 0),
            _ => {
                self.scalar(v);
                self.comment(n);
                self.out.push('\n');
            }
        }
    }

    fn indent(&mut self, n: usize) {
        for _ in 0..n {
            self.out.push_str("  ");
        }
    }

    fn comment(&mut self, n: Option<&Node>) {
        if let Some(o) = self.prov.zip(n).and_then(|(p, n)| p.resolve(n.pos)) {
            let _ = write!(self.out, "  # {o}");
        }
    }

    /// Child `i` of `n` in the provenance tree.
    fn nth(n: Option<&Node>, i: usize) -> Option<&Node> {
        n.and_then(|n| n.children.get(i))
    }

    fn map(&mut self, v: &Value, n: Option<&Node>, depth: usize) {
        let Value::Map(m) = v else { return };
        for (i, (k, child)) in m.iter().enumerate() {
            self.indent(depth);
            self.string(k);
            self.out.push(':');
            self.child(child, Self::nth(n, i), depth);
        }
    }

    fn seq(&mut self, v: &Value, n: Option<&Node>, depth: usize) {
        let Value::Seq(s) = v else { return };
        for (i, child) in s.iter().enumerate() {
            self.indent(depth);
            self.out.push('-');
            self.child(child, Self::nth(n, i), depth);
        }
    }

    fn child(&mut self, child: &Value, n: Option<&Node>, depth: usize) {
        match child {
            Value::Map(m) if !m.is_empty() => {
                self.out.push('\n');
                self.map(child, n, depth + 1);
            }
            Value::Seq(s) if !s.is_empty() => {
                self.out.push('\n');
                self.seq(child, n, depth + 1);
            }
            _ => {
                self.out.push(' ');
                self.scalar(child);
                self.comment(n);
                self.out.push('\n');
            }
        }
    }

    fn scalar(&mut self, v: &Value) {
        match v {
            Value::Float(f) if f.is_nan() => self.out.push_str(".nan"),
            Value::Float(f) if f.is_infinite() => {
                self.out.push_str(if *f > 0.0 { ".inf" } else { "-.inf" })
            }
            Value::Float(f) => {
                let _ = write!(self.out, "{f:?}");
            }
            Value::String(s) => self.string(s),
            Value::Seq(_) => self.out.push_str("[]"),
            Value::Map(_) => self.out.push_str("{}"),
            // null, bool, integer, and leaf kinds that render themselves (a secret is redacted)
            other => {
                let _ = write!(self.out, "{other}");
            }
        }
    }

    fn string(&mut self, s: &str) {
        if needs_quotes(s) {
            // a JSON string is a valid YAML double-quoted scalar
            let _ = write!(self.out, "{}", serde_json::Value::String(s.to_owned()));
        } else {
            self.out.push_str(s);
        }
    }
}

fn needs_quotes(s: &str) -> bool {
    let plain_ok = s
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ' ' | '@' | '+'))
        && !s.starts_with([' ', '-', '.', '@'])
        && !s.ends_with(' ');
    !plain_ok || s.is_empty() || !matches!(crate::parse::yaml::resolve_plain(s), Value::String(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_round_trips() {
        let v = Value::from(serde_json::json!({
            "db": {"host": "localhost", "port": 5432, "ratio": 0.5, "on": true, "n": null},
            "hosts": ["a", "- b", "123", "", "x: y", {"k": "v"}, []],
            "e": {},
            "weird key": "line\nbreak \"q\""
        }));
        let text = to_yaml(&v);
        let back = crate::parse(crate::Format::Yaml, &text, None).unwrap().tree;
        assert_eq!(back, v, "{text}");
    }
}
