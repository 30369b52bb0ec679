//! promtool 2.42's checks of a rule file (`rulefmt.ParseFile`) with its exact error texts:
//! YAML syntax and unknown-field errors as `gopkg.in/yaml.v3` words them, then the semantic
//! checks (`L:C: group "g", rule 1, "A": could not parse expression: 1:7: parse error: ...`).
//! This crate's own loader runs after these pass; it may still reject what promtool accepts
//! (documented in ARCHITECTURE.md).

use super::goyaml::{self, Dialect, RULE_FILE, RULE_FILE_NODES};
use super::notation::go_quote;
use crate::rule::PromDuration;
use crate::syntax::{parse_expr, prometheus_message};
use crate::template::Template;
use crate::yaml::{self, Node, Pos};

fn pos_of(n: Option<&Node>) -> Pos {
    n.map_or(Pos { line: 0, col: 0 }, |n| n.pos)
}

fn text_of(n: Option<&Node>) -> &str {
    n.and_then(Node::as_str).unwrap_or("")
}

fn valid_label_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f == '_' || f.is_ascii_alphabetic())
        && c.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

fn valid_metric_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f == '_' || f == ':' || f.is_ascii_alphabetic())
        && c.all(|c| c == '_' || c == ':' || c.is_ascii_alphanumeric())
}

/// `(key, value)` pairs of a mapping node, values as text.
fn pairs(n: Option<&Node>) -> Vec<(String, String)> {
    match n.map(|n| &n.kind) {
        Some(yaml::Kind::Map(entries)) => entries
            .iter()
            .map(|(k, v)| {
                (
                    k.name.clone(),
                    if v.is_null() {
                        String::new()
                    } else {
                        v.as_str().unwrap_or("").to_string()
                    },
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// promtool's errors for rule file `file` with text `src`, each prefixed `file: ` (empty when
/// promtool accepts the file).
pub(crate) fn rule_file_errors(file: &str, src: &str) -> Vec<String> {
    rule_file_errors_parsed(file, src, &yaml::parse(src))
}

/// [`rule_file_errors`] with the text already parsed.
pub(crate) fn rule_file_errors_parsed(
    file: &str,
    src: &str,
    parsed: &Result<Node, yaml::YamlError>,
) -> Vec<String> {
    let root = match parsed {
        Ok(r) => r,
        Err(e) if e.message.starts_with("mapping key ") => {
            // yaml.v3 reports a repeated key as a type error of the typed decode only
            let line = e.pos.map_or(0, |p| p.line);
            return vec![format!(
                "{file}: yaml: unmarshal errors:\n  line {line}: {}",
                e.message
            )];
        }
        Err(e) => {
            // rulefmt decodes the text twice (typed, then as nodes): both fail alike
            let m = format!("{file}: {}", goyaml::syntax_message(e, src, Dialect::V3));
            return vec![m.clone(), m];
        }
    };
    let mut errs = Vec::new();
    for (ty, strict) in [(&RULE_FILE, true), (&RULE_FILE_NODES, false)] {
        if let Some(m) = goyaml::decode(root, ty, Dialect::V3, strict).message() {
            errs.push(format!("{file}: {m}"));
        }
    }
    if !errs.is_empty() {
        return errs;
    }
    let mut seen: Vec<String> = Vec::new();
    for g in root.get("groups").map(Node::items).unwrap_or(&[]) {
        let name = text_of(g.get("name")).to_string();
        if name.is_empty() {
            errs.push(format!(
                "{file}: {}:{}: Groupname must not be empty",
                g.pos.line, g.pos.col
            ));
        }
        if seen.contains(&name) {
            errs.push(format!(
                "{file}: {}:{}: groupname: \"{name}\" is repeated in the same file",
                g.pos.line, g.pos.col
            ));
        }
        seen.push(name.clone());
        for (i, r) in g
            .get("rules")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            rule_errors(file, &name, i + 1, r, &mut errs);
        }
    }
    errs
}

fn rule_errors(file: &str, group: &str, index: usize, r: &Node, errs: &mut Vec<String>) {
    let (rec, alert, expr) = (r.get("record"), r.get("alert"), r.get("expr"));
    let (rec_s, alert_s, expr_s) = (text_of(rec), text_of(alert), text_of(expr));
    let name = if alert_s.is_empty() { rec_s } else { alert_s };
    let head = format!(
        "group {}, rule {index}, {}",
        go_quote(group),
        go_quote(name)
    );
    // a message at no node, one node, or two nodes (`L:C: L:C: group ...`)
    let mut push = |at: &[Pos], m: String| {
        let mut line = format!("{file}: ");
        for p in at {
            line.push_str(&format!("{}:{}: ", p.line, p.col));
        }
        errs.push(format!("{line}{head}: {m}"));
    };
    if !rec_s.is_empty() && !alert_s.is_empty() {
        push(
            &[pos_of(rec), pos_of(alert)],
            "only one of 'record' and 'alert' must be set".into(),
        );
    }
    if rec_s.is_empty() && alert_s.is_empty() {
        push(
            &[pos_of(rec)],
            "one of 'record' or 'alert' must be set".into(),
        );
    }
    if expr_s.is_empty() {
        push(&[pos_of(expr)], "field 'expr' must be set in rule".into());
    } else if let Err(e) = parse_expr(expr_s) {
        push(
            &[pos_of(expr)],
            format!(
                "could not parse expression: {}",
                prometheus_message(expr_s, &e)
            ),
        );
    }
    let nonzero = |k: &str| {
        r.get(k)
            .and_then(Node::as_str)
            .and_then(|d| PromDuration::parse(d).ok())
            .is_some_and(|d| d.0 != 0)
    };
    let labels = pairs(r.get("labels"));
    let annotations = pairs(r.get("annotations"));
    if !rec_s.is_empty() {
        let at = [pos_of(rec)];
        if !annotations.is_empty() {
            push(&at, "invalid field 'annotations' in recording rule".into());
        }
        if nonzero("for") {
            push(&at, "invalid field 'for' in recording rule".into());
        }
        if nonzero("keep_firing_for") {
            push(
                &at,
                "invalid field 'keep_firing_for' in recording rule".into(),
            );
        }
        if !valid_metric_name(rec_s) {
            push(&at, format!("invalid recording rule name: {rec_s}"));
        }
    }
    for (k, _) in &labels {
        if !valid_label_name(k) || k == "__name__" {
            push(&[], format!("invalid label name: {k}"));
        }
    }
    for (k, _) in &annotations {
        if !valid_label_name(k) {
            push(&[], format!("invalid annotation name: {k}"));
        }
    }
    if !alert_s.is_empty() {
        let tmpl = format!("__alert_{alert_s}");
        for (what, list) in [("label", &labels), ("annotation", &annotations)] {
            for (k, v) in list {
                if let Err(e) = Template::parse(&tmpl, v) {
                    push(&[], format!("{what} {}: {e}", go_quote(k)));
                }
            }
        }
    }
}

/// What `promtool check rules` finds in one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckOutcome {
    /// Error lines as promtool prints them (empty when the file is good).
    pub errors: Vec<String>,
    /// Whether the errors are only promtool's duplicate-rule lint (its exit code stays 0).
    pub lint_only: bool,
    /// The number of rules (valid when `errors` is empty).
    pub rules: usize,
}

/// `promtool check rules` for one file: promtool's parse and validation errors, then its
/// duplicate-rule lint, then this crate's loader (which may reject more: its errors follow in
/// this crate's `file:line:col: message` form and are never lint-only).
pub fn check_rule_file(file: &str, src: &str) -> CheckOutcome {
    let errors = rule_file_errors(file, src);
    if !errors.is_empty() {
        return CheckOutcome {
            errors,
            ..Default::default()
        };
    }
    let root = yaml::parse(src).unwrap_or_else(|_| Node {
        kind: yaml::Kind::Seq(Vec::new()),
        pos: Pos::default(),
    });
    let mut rules: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for g in root.get("groups").map(Node::items).unwrap_or(&[]) {
        for r in g.get("rules").map(Node::items).unwrap_or(&[]) {
            let alert = text_of(r.get("alert"));
            let name = if alert.is_empty() {
                text_of(r.get("record"))
            } else {
                alert
            };
            let mut labels = pairs(r.get("labels"));
            labels.sort();
            labels.dedup_by(|a, b| a.0 == b.0);
            rules.push((name.to_string(), labels));
        }
    }
    let n = rules.len();
    let mut out = CheckOutcome {
        rules: n,
        ..Default::default()
    };
    rules.sort();
    let mut dups: Vec<&(String, Vec<(String, String)>)> = Vec::new();
    for w in rules.windows(2) {
        if w[0] == w[1] && dups.last().is_none_or(|d| **d != w[0]) {
            dups.push(&w[1]);
        }
    }
    if !dups.is_empty() {
        let mut m = format!("lint error {} duplicate rule(s) found.\n", dups.len());
        for (metric, labels) in dups {
            m.push_str(&format!("Metric: {metric}\nLabel(s):\n"));
            for (k, v) in labels {
                m.push_str(&format!("\t{k}: {v}\n"));
            }
        }
        m.push_str("Might cause inconsistency while recording expressions");
        out.errors.push(m);
        out.lint_only = true;
    }
    if let Err(es) = crate::rule::load_rule_file(file, src) {
        out.lint_only = false;
        out.errors.extend(es.errors.iter().map(|e| e.to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semantic_errors_like_promtool() {
        let src = "groups:\n- name: g\n  rules:\n  - record: a:b\n    alert: X\n    expr: up\n  - labels: {x: y}\n  - record: \"bad name\"\n    expr: up\n    for: 5m\n    annotations: {a: b}\n- name: \"\"\n  rules: []\n";
        let e = rule_file_errors("r.yml", src);
        assert_eq!(
            e,
            [
                "r.yml: 4:13: 5:12: group \"g\", rule 1, \"X\": only one of 'record' and 'alert' must be set",
                "r.yml: 0:0: group \"g\", rule 2, \"\": one of 'record' or 'alert' must be set",
                "r.yml: 0:0: group \"g\", rule 2, \"\": field 'expr' must be set in rule",
                "r.yml: 8:13: group \"g\", rule 3, \"bad name\": invalid field 'annotations' in recording rule",
                "r.yml: 8:13: group \"g\", rule 3, \"bad name\": invalid field 'for' in recording rule",
                "r.yml: 8:13: group \"g\", rule 3, \"bad name\": invalid recording rule name: bad name",
                "r.yml: 12:3: Groupname must not be empty",
            ]
        );
    }

    #[test]
    fn expression_errors_point_at_the_value() {
        let e = rule_file_errors(
            "r.yml",
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(up\n",
        );
        assert_eq!(
            e,
            [
                "r.yml: 5:15: group \"g\", rule 1, \"A\": could not parse expression: 1:7: parse error: unclosed left parenthesis"
            ]
        );
    }
}
