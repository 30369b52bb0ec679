//! `diff(old, new)`: the changed leaf paths between two configuration trees. Pure.
//!
//! A leaf is a scalar, a null, or an empty map/sequence. Two maps are compared key by key and two
//! sequences index by index (so `a: {}` → `a: {x: 1}` reports only `a.x` added); where a subtree
//! changes kind (a map becomes a scalar, say) its old leaves are reported removed and its new
//! leaves added. Paths use the same syntax as `get`: `db.port`,
//! `hosts[0]`, `servers[1].name`.

use crate::value::{Segment, Segments, Value, push_segment};

/// One changed leaf: `old` is `None` when it was added, `new` is `None` when it was removed.
#[derive(Clone, PartialEq)]
pub struct Change {
    /// Dot path of the leaf (`db.port`, `hosts[0]`).
    pub path: String,
    /// The value before the reload (`None`: the leaf is new).
    pub old: Option<Value>,
    /// The value after the reload (`None`: the leaf was removed).
    pub new: Option<Value>,
}

impl std::fmt::Debug for Change {
    // `Value`'s own Debug redacts secrets, so this never prints a decrypted value
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<Value>| match v {
            Some(v) => format!("{v:?}"),
            None => "(absent)".to_owned(),
        };
        write!(
            f,
            "{}: {} -> {}",
            self.path,
            show(&self.old),
            show(&self.new)
        )
    }
}

/// The changed leaves between `old` and `new`, in tree order (old keys first, then added keys).
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    let mut path = String::new();
    diff_into(&mut path, Some(old), Some(new), &mut out);
    out
}

fn is_container(v: &Value) -> bool {
    match v {
        Value::Map(m) => !m.is_empty(),
        Value::Seq(s) => !s.is_empty(),
        _ => false,
    }
}

fn with_segment(path: &mut String, seg: Segment<'_>, f: impl FnOnce(&mut String)) {
    let len = path.len();
    push_segment(path, seg);
    f(path);
    path.truncate(len);
}

fn diff_into(path: &mut String, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<Change>) {
    match (old, new) {
        (Some(a), Some(b)) if a == b => {}
        (Some(Value::Map(a)), Some(Value::Map(b))) => {
            for (k, va) in a {
                with_segment(path, Segment::Key(k), |p| {
                    diff_into(p, Some(va), b.get(k), out)
                });
            }
            for (k, vb) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                with_segment(path, Segment::Key(k), |p| diff_into(p, None, Some(vb), out));
            }
        }
        (Some(Value::Seq(a)), Some(Value::Seq(b))) => {
            for i in 0..a.len().max(b.len()) {
                with_segment(path, Segment::Index(i), |p| {
                    diff_into(p, a.get(i), b.get(i), out)
                });
            }
        }
        _ => {
            // different kinds (or one side absent/empty): expand containers into their leaves
            for (v, is_old) in [(old, true), (new, false)] {
                match v {
                    Some(Value::Map(m)) if !m.is_empty() => {
                        for (k, child) in m {
                            with_segment(path, Segment::Key(k), |p| {
                                let (o, n) = if is_old {
                                    (Some(child), None)
                                } else {
                                    (None, Some(child))
                                };
                                diff_into(p, o, n, out);
                            });
                        }
                    }
                    Some(Value::Seq(s)) if !s.is_empty() => {
                        for (i, child) in s.iter().enumerate() {
                            with_segment(path, Segment::Index(i), |p| {
                                let (o, n) = if is_old {
                                    (Some(child), None)
                                } else {
                                    (None, Some(child))
                                };
                                diff_into(p, o, n, out);
                            });
                        }
                    }
                    _ => {}
                }
            }
            let old_leaf = old.filter(|v| !is_container(v));
            let new_leaf = new.filter(|v| !is_container(v));
            if (old_leaf.is_some() || new_leaf.is_some()) && old_leaf != new_leaf {
                out.push(Change {
                    path: path.clone(),
                    old: old_leaf.cloned(),
                    new: new_leaf.cloned(),
                });
            }
        }
    }
}

/// A parsed subscription prefix; `""` is the root and matches every path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Prefix {
    text: String,
    segments: Vec<OwnedSegment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum OwnedSegment {
    Key(String),
    Index(usize),
}

impl OwnedSegment {
    /// `hosts.0` and `hosts[0]` name the same element.
    fn matches(&self, seg: Segment<'_>) -> bool {
        match (self, seg) {
            (OwnedSegment::Key(a), Segment::Key(b)) => a == b,
            (OwnedSegment::Index(a), Segment::Index(b)) => *a == b,
            (OwnedSegment::Key(a), Segment::Index(b)) => a.parse::<usize>() == Ok(b),
            (OwnedSegment::Index(a), Segment::Key(b)) => b.parse::<usize>() == Ok(*a),
        }
    }
}

impl Prefix {
    /// Parses a key, prefix or `""`; a syntax error names the byte offset.
    pub(crate) fn parse(text: &str) -> Result<Self, crate::value::PathSyntaxError> {
        let segments = Segments::new(text)
            .map(|s| {
                s.map(|s| match s {
                    Segment::Key(k) => OwnedSegment::Key(k.to_owned()),
                    Segment::Index(i) => OwnedSegment::Index(i),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            text: text.to_owned(),
            segments,
        })
    }

    /// The prefix as the subscriber wrote it.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// True when `path` is this prefix or lies under it.
    pub(crate) fn covers(&self, path: &str) -> bool {
        let mut segs = Segments::new(path);
        self.segments.iter().all(|want| {
            segs.next()
                .is_some_and(|got| got.is_ok_and(|got| want.matches(got)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(json: &str) -> Value {
        Value::from(serde_json::from_str::<serde_json::Value>(json).unwrap())
    }

    fn check(old: &str, new: &str, expect: &[&str]) {
        let got: Vec<String> = diff(&v(old), &v(new))
            .iter()
            .map(|c| format!("{c:?}"))
            .collect();
        assert_eq!(got, expect, "diff {old} -> {new}");
    }

    #[test]
    fn equal_trees_have_no_changes() {
        check(
            r#"{"a":{"b":1},"c":[1,2]}"#,
            r#"{"a":{"b":1},"c":[1,2]}"#,
            &[],
        );
    }

    #[test]
    fn scalar_change_add_and_remove() {
        check(
            r#"{"db":{"port":1,"host":"x"},"gone":true}"#,
            r#"{"db":{"port":2,"host":"x","user":"u"}}"#,
            &[
                "db.port: 1 -> 2",
                "db.user: (absent) -> \"u\"",
                "gone: true -> (absent)",
            ],
        );
    }

    #[test]
    fn sequences_diff_by_index() {
        check(
            r#"{"hosts":["a","b","c"]}"#,
            r#"{"hosts":["a","x"]}"#,
            &["hosts[1]: \"b\" -> \"x\"", "hosts[2]: \"c\" -> (absent)"],
        );
    }

    #[test]
    fn kind_change_expands_into_leaves() {
        check(
            r#"{"a":{"x":1,"y":[true]}}"#,
            r#"{"a":"flat"}"#,
            &[
                "a.x: 1 -> (absent)",
                "a.y[0]: true -> (absent)",
                "a: (absent) -> \"flat\"",
            ],
        );
        check(
            r#"{"a":5}"#,
            r#"{"a":{"x":1}}"#,
            &["a.x: (absent) -> 1", "a: 5 -> (absent)"],
        );
    }

    #[test]
    fn empty_containers_are_leaves() {
        check(r#"{"a":{}}"#, r#"{}"#, &["a: {} -> (absent)"]);
        check(r#"{"a":[]}"#, r#"{"a":[1]}"#, &["a[0]: (absent) -> 1"]);
        check(r#"{"a":[]}"#, r#"{"a":{}}"#, &["a: [] -> {}"]);
        check(r#"{}"#, r#"{"a":{"b":2}}"#, &["a.b: (absent) -> 2"]);
    }

    #[test]
    fn prefix_coverage() {
        let p = |s: &str| Prefix::parse(s).unwrap();
        assert!(p("").covers("anything.at[0].all"));
        assert!(p("db").covers("db"));
        assert!(p("db").covers("db.port"));
        assert!(!p("db").covers("dbx.port"));
        assert!(!p("db.port").covers("db"));
        assert!(p("hosts[1]").covers("hosts[1]"));
        assert!(p("hosts.1").covers("hosts[1].name"));
        assert!(!p("hosts[1]").covers("hosts[10]"));
        assert!(Prefix::parse("a[").is_err());
    }
}
