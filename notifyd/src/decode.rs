//! Typed reading of the spanned YAML tree with diagnostics that carry file:line:col.
//!
//! Each mapping is read through `Cx::fields`, which sorts its keys into three kinds: fields we
//! support (returned), Alertmanager fields we do not support (a warning naming the field and its
//! position; the value is ignored) and unknown fields (an error, as Alertmanager's strict parsing
//! rejects them too).

use std::fmt;
use std::time::Duration;

use crate::yaml::{Key, Kind, Node, Pos};

/// How bad a [`Diagnostic`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The file is rejected.
    Error,
    /// The file loads; something in it has no effect.
    Warning,
}

/// A problem in a config file, with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file name as given.
    pub file: String,
    /// Where the problem is.
    pub pos: Pos,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {sev}: {}",
            self.file, self.pos.line, self.pos.col, self.message
        )
    }
}

/// Collects diagnostics while decoding one file.
pub(crate) struct Cx {
    pub(crate) file: String,
    pub(crate) diags: Vec<Diagnostic>,
}

/// The supported fields of one mapping, looked up by name.
pub(crate) struct Fields<'n> {
    pub(crate) pos: Pos,
    entries: Vec<(&'n Key, &'n Node)>,
}

impl<'n> Fields<'n> {
    /// The value of `name`, if present and not null.
    pub(crate) fn get(&self, name: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, v)| k.name == name && !v.is_null())
            .map(|(_, v)| *v)
    }
}

impl Cx {
    pub(crate) fn new(file: &str) -> Self {
        Cx {
            file: file.to_string(),
            diags: Vec::new(),
        }
    }

    pub(crate) fn err(&mut self, pos: Pos, message: impl Into<String>) {
        let file = self.file.clone();
        self.diags.push(Diagnostic {
            file,
            pos,
            severity: Severity::Error,
            message: message.into(),
        });
    }

    pub(crate) fn warn(&mut self, pos: Pos, message: impl Into<String>) {
        let file = self.file.clone();
        let d = Diagnostic {
            file,
            pos,
            severity: Severity::Warning,
            message: message.into(),
        };
        self.diags.push(d);
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.diags.iter().any(|d| d.severity == Severity::Error)
    }

    /// Reads a mapping (null reads as empty), sorting its keys as described in the module docs.
    pub(crate) fn fields<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        supported: &[&str],
        unsupported: &[&str],
    ) -> Fields<'n> {
        let mut fields = Fields {
            pos: node.pos,
            entries: Vec::new(),
        };
        match &node.kind {
            Kind::Null => {}
            Kind::Map(entries) => {
                for (k, v) in entries {
                    if supported.contains(&k.name.as_str()) {
                        fields.entries.push((k, v));
                    } else if unsupported.contains(&k.name.as_str()) {
                        self.warn(
                            k.pos,
                            format!(
                                "{what}: `{}` is an Alertmanager setting notifyd does not support; it is ignored",
                                k.name
                            ),
                        );
                    } else {
                        self.err(
                            k.pos,
                            format!(
                                "{what}: unknown field `{}` (expected one of: {})",
                                k.name,
                                supported.join(", ")
                            ),
                        );
                    }
                }
            }
            _ => self.err(
                node.pos,
                format!("{what}: expected a mapping, found a {}", node.type_name()),
            ),
        }
        fields
    }

    /// A scalar as a string (numbers and bools are taken as written, like Go's yaml.v2 does).
    pub(crate) fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.kind {
            Kind::Scalar { value, .. } => Some(value.clone()),
            Kind::Null => Some(String::new()),
            _ => {
                self.err(
                    node.pos,
                    format!("{what}: expected a string, found a {}", node.type_name()),
                );
                None
            }
        }
    }

    pub(crate) fn opt_string(&mut self, f: &Fields<'_>, name: &str, what: &str) -> Option<String> {
        f.get(name)
            .and_then(|n| self.string(n, &format!("{what}: `{name}`")))
    }

    pub(crate) fn bool(&mut self, f: &Fields<'_>, name: &str, what: &str) -> Option<bool> {
        let node = f.get(name)?;
        match &node.kind {
            Kind::Scalar { value, plain: true } => match value.as_str() {
                "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
                "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
                    Some(false)
                }
                other => {
                    self.err(
                        node.pos,
                        format!("{what}: `{name}` must be true or false, not {other:?}"),
                    );
                    None
                }
            },
            _ => {
                self.err(node.pos, format!("{what}: `{name}` must be true or false"));
                None
            }
        }
    }

    pub(crate) fn duration(&mut self, f: &Fields<'_>, name: &str, what: &str) -> Option<Duration> {
        let node = f.get(name)?;
        let s = self.string(node, what)?;
        match parse_duration(&s) {
            Ok(d) => Some(d),
            Err(e) => {
                self.err(node.pos, format!("{what}: `{name}`: {e}"));
                None
            }
        }
    }

    pub(crate) fn u64(&mut self, f: &Fields<'_>, name: &str, what: &str) -> Option<u64> {
        let node = f.get(name)?;
        let s = self.string(node, what)?;
        match s.parse() {
            Ok(n) => Some(n),
            Err(_) => {
                self.err(
                    node.pos,
                    format!("{what}: `{name}` must be a non-negative integer, not {s:?}"),
                );
                None
            }
        }
    }

    /// A sequence of nodes (null reads as empty).
    pub(crate) fn seq<'n>(&mut self, node: &'n Node, what: &str) -> &'n [Node] {
        match &node.kind {
            Kind::Seq(items) => items,
            Kind::Null => &[],
            _ => {
                self.err(
                    node.pos,
                    format!("{what}: expected a list, found a {}", node.type_name()),
                );
                &[]
            }
        }
    }

    /// A list of strings, each with its position.
    pub(crate) fn strings(&mut self, node: &Node, what: &str) -> Vec<(String, Pos)> {
        let items = self.seq(node, what);
        items
            .iter()
            .filter_map(|n| self.string(n, what).map(|s| (s, n.pos)))
            .collect()
    }

    /// A mapping of string to string, each value with its position.
    pub(crate) fn string_map(&mut self, node: &Node, what: &str) -> Vec<(String, String, Pos)> {
        match &node.kind {
            Kind::Map(entries) => entries
                .iter()
                .filter_map(|(k, v)| self.string(v, what).map(|s| (k.name.clone(), s, v.pos)))
                .collect(),
            Kind::Null => Vec::new(),
            _ => {
                self.err(
                    node.pos,
                    format!("{what}: expected a mapping, found a {}", node.type_name()),
                );
                Vec::new()
            }
        }
    }
}

/// Parses a Prometheus duration such as `30s`, `1h30m`, `5m`, `1d`, `250ms` or `0` (the grammar
/// and range of rule files' durations: [`rules_engine::rule::PromDuration`]).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    rules_engine::rule::PromDuration::parse(s)
        .ok()
        .and_then(|d| u64::try_from(d.0).ok())
        .map(Duration::from_millis)
        .ok_or_else(|| format!("not a valid duration: {s:?} (use units like 30s, 5m, 4h, 1d)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &str) {
        let got = match parse_duration(input) {
            Ok(d) => format!("{}ms", d.as_millis()),
            Err(e) => e,
        };
        assert_eq!(got, expect, "input: {input}");
    }

    #[test]
    fn durations() {
        check("30s", "30000ms");
        check("1h30m", "5400000ms");
        check("250ms", "250ms");
        check("1m500ms", "60500ms");
        check("1d", "86400000ms");
        check("0", "0ms");
        check("0s", "0ms");
        check(
            "5",
            "not a valid duration: \"5\" (use units like 30s, 5m, 4h, 1d)",
        );
        check(
            "1s1h",
            "not a valid duration: \"1s1h\" (use units like 30s, 5m, 4h, 1d)",
        );
        check(
            "",
            "not a valid duration: \"\" (use units like 30s, 5m, 4h, 1d)",
        );
        // Go's bound (nanoseconds in an i64), as Alertmanager's model.Duration.
        check("292y", "9208512000000ms");
        check(
            "293y",
            "not a valid duration: \"293y\" (use units like 30s, 5m, 4h, 1d)",
        );
    }
}
