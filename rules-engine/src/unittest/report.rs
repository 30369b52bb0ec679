//! promtool's output for a test file: the `Unit Testing:` header, `SUCCESS` or `FAILED:` with
//! each error, and the texts of alert and sample lists in failures (Go's `labels.String()`,
//! `strconv.FormatFloat(v, 'E', -1, 64)`, promtool's `indentLines`).

use super::{GotAlerts, Pairs, pairs_string};
use crate::gofmt::fmt_big_e;
use crate::input::Labels;

/// The result of one test file, printable like promtool.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// The test file.
    pub file: String,
    /// Warnings (printed to stderr before the verdict).
    pub warnings: Vec<String>,
    /// Failures; empty when the file passed.
    pub errors: Vec<String>,
}

/// Where a line of output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl Report {
    /// Whether every test passed.
    pub fn passed(&self) -> bool {
        self.errors.is_empty()
    }

    /// The output promtool prints for this file, line by line (each chunk ends a line).
    pub fn output(&self) -> Vec<(Stream, String)> {
        let mut out = vec![(Stream::Stdout, format!("Unit Testing:  {}", self.file))];
        for w in &self.warnings {
            out.push((Stream::Stderr, w.clone()));
        }
        if self.errors.is_empty() {
            out.push((Stream::Stdout, "  SUCCESS".into()));
        } else {
            out.push((Stream::Stderr, "  FAILED:".into()));
            for e in &self.errors {
                out.push((Stream::Stderr, e.clone()));
                out.push((Stream::Stdout, String::new()));
            }
        }
        out.push((Stream::Stdout, String::new()));
        out
    }
}

pub(crate) fn sort_key(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs.to_vec()
}

pub(crate) fn alerts_string(list: &GotAlerts) -> String {
    if list.is_empty() {
        return "[]".into();
    }
    let one = |(l, a): &(Pairs, Pairs)| {
        format!(
            "Labels:{}\nAnnotations:{}",
            pairs_string(l),
            pairs_string(a)
        )
    };
    let mut s = format!("[\n0:{}", indent(&format!("\n{}", one(&list[0])), "  "));
    for (i, item) in list.iter().enumerate().skip(1) {
        s.push_str(&format!(
            ",\n{i}:{}",
            indent(&format!("\n{}", one(item)), "  ")
        ));
    }
    s.push_str("\n]");
    s
}

/// promtool's `indentLines`: prefixes every line but the first.
pub(crate) fn indent(s: &str, prefix: &str) -> String {
    s.split('\n')
        .collect::<Vec<_>>()
        .join(&format!("\n{prefix}"))
}

pub(crate) fn samples_string(list: &[(Labels, f64)]) -> String {
    if list.is_empty() {
        return "nil".into();
    }
    list.iter()
        .map(|(l, v)| {
            let pairs: Vec<(String, String)> = l
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            format!("{} {}", pairs_string(&pairs), fmt_big_e(*v))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
