//! Loading a rule file: YAML to [`RuleFileSpec`], then each rule validated and compiled into a
//! [`Rule`] (expressions and templates parsed, names checked, duplicates found), every problem
//! collected with its `file:line:col`.

use std::collections::BTreeMap;

use super::{Group, Rule, RuleFileSpec, RuleKind, RuleSpec, TemplatedPair};
use crate::error::{LoadError, LoadErrors};
use crate::syntax::{Expr, parse_expr};
use crate::template::Template;
use crate::yaml::{self, Kind, Node, Pos};

/// Loads one rule file from its text. `file` is used in error messages only.
pub fn load_rule_file(file: &str, src: &str) -> Result<Vec<Group>, LoadErrors> {
    load_rule_file_parsed(file, &yaml::parse(src))
}

/// [`load_rule_file`] from the file's parsed YAML (the test runner parses a file once for
/// promtool's checks and this loader).
pub(crate) fn load_rule_file_parsed(
    file: &str,
    parsed: &Result<Node, yaml::YamlError>,
) -> Result<Vec<Group>, LoadErrors> {
    let err = |pos: Option<Pos>, msg: String| LoadErrors::from(LoadError::new(file, pos, msg));
    let root = parsed.as_ref().map_err(|e| err(e.pos, e.message.clone()))?;
    if root.is_null() {
        return Ok(Vec::new());
    }
    let spec: RuleFileSpec = yaml::from_node(root).map_err(|e| err(e.pos, e.message))?;
    let mut errors = Vec::new();
    let mut groups = Vec::new();
    let group_nodes = root.get("groups").map(Node::items).unwrap_or(&[]);
    let mut seen_groups: BTreeMap<String, usize> = BTreeMap::new();
    for (gi, g) in spec.groups.into_iter().enumerate() {
        let gnode = &group_nodes[gi];
        let gpos = gnode.get("name").map_or(gnode.pos, |n| n.pos);
        if g.name.is_empty() {
            errors.push(LoadError::new(
                file,
                Some(gnode.pos),
                "group name must not be empty",
            ));
        } else if let Some(line) = seen_groups.insert(g.name.clone(), gpos.line) {
            errors.push(LoadError::new(
                file,
                Some(gpos),
                format!(
                    "group name {:?} is repeated in the same file (first at line {line})",
                    g.name
                ),
            ));
        }
        if let Some(iv) = g.interval
            && iv.0 <= 0
        {
            let p = gnode.get("interval").map(|n| n.pos);
            errors.push(LoadError::new(file, p, "group interval must be positive"));
        }
        let rule_nodes = gnode.get("rules").map(Node::items).unwrap_or(&[]);
        let mut names: BTreeMap<(bool, String, String), usize> = BTreeMap::new();
        let mut rules = Vec::new();
        for (ri, r) in g.rules.into_iter().enumerate() {
            let rnode = &rule_nodes[ri];
            match compile_rule(file, &g.name, ri, r, rnode, g.labels.as_ref()) {
                Ok(rule) => {
                    // same kind, name and labels: Prometheus files often reuse a name with
                    // different labels (severity levels), which stays allowed
                    let raw_labels: Vec<String> = rule
                        .labels
                        .iter()
                        .map(|l| format!("{}={:?}", l.name, l.raw))
                        .collect();
                    let key = (
                        rule.kind == RuleKind::Alerting,
                        rule.name.clone(),
                        raw_labels.join(","),
                    );
                    let name_node = rnode.get("alert").or(rnode.get("record")).unwrap_or(rnode);
                    if let Some(line) = names.insert(key, name_node.pos.line) {
                        errors.push(LoadError::new(
                            file,
                            Some(name_node.pos),
                            format!(
                                "group {:?}: duplicate rule name {:?} (first at line {line})",
                                g.name, rule.name
                            ),
                        ));
                    }
                    rules.push(rule);
                }
                Err(mut es) => errors.append(&mut es),
            }
        }
        groups.push(Group {
            file: file.to_string(),
            name: g.name,
            interval_ms: g.interval.map(|d| d.0),
            limit: g.limit.unwrap_or(0) as usize,
            rules,
        });
    }
    if errors.is_empty() {
        Ok(groups)
    } else {
        Err(LoadErrors { errors })
    }
}

fn valid_metric_name(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label_name(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Maps a position inside an expression string to the file.
fn expr_pos(node: &Node, line: usize, col: usize) -> Pos {
    let (quoted, block) = match &node.kind {
        Kind::Scalar { plain, .. } => {
            // a block scalar (`|` / `>`) starts its content on the next line
            (!plain, false)
        }
        _ => (false, false),
    };
    if line <= 1 && !block {
        Pos {
            line: node.pos.line,
            col: node.pos.col + col.saturating_sub(1) + usize::from(quoted),
        }
    } else {
        Pos {
            line: node.pos.line + line.saturating_sub(1),
            col,
        }
    }
}

fn compile_rule(
    file: &str,
    group: &str,
    index: usize,
    r: RuleSpec,
    node: &Node,
    group_labels: Option<&BTreeMap<String, String>>,
) -> Result<Rule, Vec<LoadError>> {
    let mut errs = Vec::new();
    let at = |key: &str| node.get(key).map_or(node.pos, |n| n.pos);
    let label = r.alert.as_deref().or(r.record.as_deref()).unwrap_or("");
    let ctx = format!("group {group:?}, rule {}, {label:?}", index + 1);
    let mut push =
        |pos: Pos, msg: String| errs.push(LoadError::new(file, Some(pos), format!("{ctx}: {msg}")));
    let (kind, name) = match (&r.alert, &r.record) {
        (Some(_), Some(_)) => {
            push(
                node.pos,
                "only one of 'record' and 'alert' must be set".into(),
            );
            (RuleKind::Alerting, String::new())
        }
        (None, None) => {
            push(node.pos, "one of 'record' or 'alert' must be set".into());
            (RuleKind::Alerting, String::new())
        }
        (Some(a), None) => {
            if a.is_empty() {
                push(at("alert"), "alert name must not be empty".into());
            }
            (RuleKind::Alerting, a.clone())
        }
        (None, Some(rec)) => {
            if !valid_metric_name(rec) {
                push(at("record"), format!("invalid recording rule name: {rec}"));
            }
            (RuleKind::Recording, rec.clone())
        }
    };
    if kind == RuleKind::Recording {
        for (k, what) in [
            ("annotations", r.annotations.is_some()),
            ("for", r.for_.is_some()),
            ("keep_firing_for", r.keep_firing_for.is_some()),
            ("resolve_expr", r.resolve_expr.is_some()),
            ("resolve_for", r.resolve_for.is_some()),
            ("nodata", r.nodata.is_some()),
        ] {
            if what {
                push(at(k), format!("invalid field '{k}' in recording rule"));
            }
        }
    }
    let parse = |key: &str, text: &str, push: &mut dyn FnMut(Pos, String)| -> Option<Expr> {
        match parse_expr(text) {
            Ok(e) => Some(e),
            Err(e) => {
                let n = node.get(key).unwrap_or(node);
                push(
                    expr_pos(n, e.line, e.col),
                    format!("could not parse expression: {e}"),
                );
                None
            }
        }
    };
    let expr_text = r.expr.clone().unwrap_or_default();
    let expr = if expr_text.trim().is_empty() {
        push(at("expr"), "field 'expr' must be set in rule".into());
        None
    } else {
        parse("expr", &expr_text, &mut push)
    };
    let resolve_expr = r
        .resolve_expr
        .as_deref()
        .and_then(|t| parse("resolve_expr", t, &mut push));
    let tmpl_name = format!("__alert_{name}");
    let mut labels = Vec::new();
    let mut merged: BTreeMap<String, String> = group_labels.cloned().unwrap_or_default();
    merged.extend(r.labels.clone().unwrap_or_default());
    for (k, v) in merged {
        if !valid_label_name(&k) || k == "__name__" {
            let p = node
                .get("labels")
                .and_then(|l| l.key(&k))
                .map_or(at("labels"), |n| n.pos);
            push(p, format!("invalid label name: {k}"));
        }
        let template = if kind == RuleKind::Alerting {
            match Template::parse(&tmpl_name, &v) {
                Ok(t) => Some(t),
                Err(e) => {
                    let p = node
                        .get("labels")
                        .and_then(|l| l.get(&k))
                        .map_or(at("labels"), |n| n.pos);
                    push(p, format!("label {k:?}: {e}"));
                    None
                }
            }
        } else {
            None
        };
        labels.push(TemplatedPair {
            name: k,
            raw: v,
            template,
        });
    }
    let mut annotations = Vec::new();
    for (k, v) in r.annotations.clone().unwrap_or_default() {
        let p = node
            .get("annotations")
            .and_then(|l| l.get(&k))
            .map_or(at("annotations"), |n| n.pos);
        if !valid_label_name(&k) {
            push(p, format!("invalid annotation name: {k}"));
        }
        match Template::parse(&tmpl_name, &v) {
            Ok(t) => annotations.push(TemplatedPair {
                name: k,
                raw: v,
                template: Some(t),
            }),
            Err(e) => push(p, format!("annotation {k:?}: {e}")),
        }
    }
    let (Some(expr), true) = (expr, errs.is_empty()) else {
        return Err(errs);
    };
    Ok(Rule {
        kind,
        name,
        expr,
        expr_text,
        for_ms: r.for_.map_or(0, |d| d.0),
        keep_firing_for_ms: r.keep_firing_for.map_or(0, |d| d.0),
        labels,
        annotations,
        resolve_expr,
        resolve_for_ms: r.resolve_for.map_or(0, |d| d.0),
        nodata: r.nodata.unwrap_or_default(),
        pos: node.pos,
    })
}
