//! Rule files: the Prometheus format (`groups[]` of alerting and recording rules) loaded from
//! YAML into typed specs ([`RuleFileSpec`], serde with `deny_unknown_fields`), then validated and
//! compiled into [`Group`]s of [`Rule`]s. Every problem is reported with `file:line:col`, all in
//! one pass. Two rules of a group with the same kind, name and labels are an error (a name may
//! repeat with different labels, as in Prometheus files with one rule per severity).
//!
//! Extensions to the Prometheus format (all optional):
//! - `resolve_expr: <expr>` — hysteresis: an active alert whose series left `expr` resolves only
//!   once `resolve_expr` returns a sample with the same labels (e.g. fire at `cpu > 90`, resolve
//!   at `cpu < 80`). While neither returns the series, the alert keeps its state.
//! - `resolve_for: <duration>` — hysteresis in time: an active alert (pending or firing) resolves
//!   only after its condition has been false for this long; a pending alert keeps its `for`
//!   timer across shorter gaps.
//! - `nodata: ok | keep_last | nodata | alerting` — what a rule does when there is no data:
//!   its expression returns nothing and, when it is a comparison against a number
//!   (`rate(x[5m]) > 3`), the compared side returns nothing too (so "below the threshold" is not
//!   "no data"). `ok` (default, Prometheus) resolves active alerts; `keep_last`
//!   leaves every alert as it is; `nodata` moves active alerts to the `nodata` state until data
//!   returns; `alerting` raises one alert with the rule's labels plus `nodata="true"` (it
//!   honours `for`).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{LoadError, LoadErrors};
use crate::syntax::{Expr, parse_expr};
use crate::template::Template;
use crate::yaml::{self, Node, NodeKind, Pos};

/// A duration as written in rule files (`30s`, `5m`, `1h30m`, `2d`, `0`), in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PromDuration(pub i64);

impl PromDuration {
    /// Parses Prometheus' duration syntax: `[0-9]+(y|w|d|h|m|s|ms)` units, largest first.
    pub fn parse(s: &str) -> Result<PromDuration, String> {
        let bad = || format!("not a valid duration string: {s:?}");
        if s == "0" {
            return Ok(PromDuration(0));
        }
        if s.is_empty() {
            return Err("empty duration string".into());
        }
        const UNITS: [(&str, i64); 7] = [
            ("y", 365 * 86_400_000),
            ("w", 7 * 86_400_000),
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1000),
            ("ms", 1),
        ];
        let mut rest = s;
        let mut total: i64 = 0;
        let mut next_unit = 0;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(bad());
            }
            let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
            rest = &rest[digits..];
            let unit_len = if rest.starts_with("ms") {
                2
            } else {
                rest.chars().next().map_or(0, char::len_utf8)
            };
            let unit = &rest[..unit_len];
            let idx = UNITS.iter().position(|(u, _)| *u == unit).ok_or_else(bad)?;
            if idx < next_unit {
                return Err(bad());
            }
            next_unit = idx + 1;
            // Go's time.Duration counts nanoseconds in an i64: the same bound, same text.
            total = n
                .checked_mul(UNITS[idx].1)
                .and_then(|v| total.checked_add(v))
                .filter(|t| *t <= i64::MAX / 1_000_000)
                .ok_or_else(|| "duration out of range".to_string())?;
            rest = &rest[unit_len..];
        }
        Ok(PromDuration(total))
    }
}

impl std::fmt::Display for PromDuration {
    /// Prometheus' `model.Duration` rendering (`1h30m`, `5m`, `0s`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut ms = self.0;
        if ms == 0 {
            return f.write_str("0s");
        }
        if ms < 0 {
            f.write_str("-")?;
            ms = -ms;
        }
        for (u, n) in [
            ("y", 365 * 86_400_000),
            ("w", 7 * 86_400_000),
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1000),
            ("ms", 1),
        ] {
            if ms >= n {
                write!(f, "{}{u}", ms / n)?;
                ms %= n;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PromDuration::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// What a rule does when its expression returns no samples at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoDataPolicy {
    /// Prometheus' behaviour: active alerts resolve.
    #[default]
    Ok,
    /// Every alert keeps its current state.
    KeepLast,
    /// Active alerts move to the `nodata` state until data returns.
    Nodata,
    /// One alert with the rule's labels plus `nodata="true"` is raised (honouring `for`).
    Alerting,
}

/// A rule file as written (`groups:`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFileSpec {
    /// The rule groups.
    #[serde(default)]
    pub groups: Vec<GroupSpec>,
}

/// A group as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// Group name, unique in the file.
    #[serde(default)]
    pub name: String,
    /// Evaluation interval; the engine's default when absent.
    #[serde(default)]
    pub interval: Option<PromDuration>,
    /// Maximum number of alerts / series a rule may produce (0 = no limit).
    #[serde(default)]
    pub limit: Option<u64>,
    /// Labels added to every rule of the group (rule labels win).
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// The rules, evaluated in order.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
}

/// A rule as written: alerting (`alert`) or recording (`record`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Name of the series a recording rule writes.
    #[serde(default)]
    pub record: Option<String>,
    /// Name of an alerting rule.
    #[serde(default)]
    pub alert: Option<String>,
    /// The expression (PromQL or LogQL subset).
    #[serde(default)]
    pub expr: Option<String>,
    /// How long the condition must hold before firing.
    #[serde(default, rename = "for")]
    pub for_: Option<PromDuration>,
    /// How long a firing alert keeps firing after the condition stops.
    #[serde(default)]
    pub keep_firing_for: Option<PromDuration>,
    /// Labels added to the result (templated for alerts).
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations (templated).
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Extension: hysteresis expression (see module docs).
    #[serde(default)]
    pub resolve_expr: Option<String>,
    /// Extension: hysteresis time (see module docs).
    #[serde(default)]
    pub resolve_for: Option<PromDuration>,
    /// Extension: behaviour with no data (see module docs).
    #[serde(default)]
    pub nodata: Option<NoDataPolicy>,
}

/// Alerting or recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// `alert:` rules produce alerts.
    Alerting,
    /// `record:` rules write series.
    Recording,
}

/// A label or annotation: its raw text and, for alerts, the parsed template.
#[derive(Debug, Clone)]
pub struct TemplatedPair {
    /// Label or annotation name.
    pub name: String,
    /// The text as written.
    pub raw: String,
    /// The parsed template (alerting rules only).
    pub template: Option<Template>,
}

/// A validated, compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Alerting or recording.
    pub kind: RuleKind,
    /// The alert name or recorded series name.
    pub name: String,
    /// The parsed expression.
    pub expr: Expr,
    /// The expression as written.
    pub expr_text: String,
    /// `for`, in ms.
    pub for_ms: i64,
    /// `keep_firing_for`, in ms.
    pub keep_firing_for_ms: i64,
    /// Labels (group labels merged, rule labels win), name order.
    pub labels: Vec<TemplatedPair>,
    /// Annotations, name order.
    pub annotations: Vec<TemplatedPair>,
    /// `resolve_expr`, parsed.
    pub resolve_expr: Option<Expr>,
    /// `resolve_for`, in ms.
    pub resolve_for_ms: i64,
    /// The no-data policy.
    pub nodata: NoDataPolicy,
    /// Where the rule starts in its file.
    pub pos: Pos,
}

impl Rule {
    /// The identity used to carry alert state across a rule-set replacement: name, expression
    /// text and raw labels.
    pub fn identity(&self) -> String {
        let mut id = format!("{:?}\u{0}{}\u{0}", self.kind, self.name);
        id.push_str(&self.expr.to_string());
        for l in &self.labels {
            id.push('\u{0}');
            id.push_str(&l.name);
            id.push('=');
            id.push_str(&l.raw);
        }
        id
    }
}

/// A validated group of rules.
#[derive(Debug, Clone)]
pub struct Group {
    /// The file the group came from.
    pub file: String,
    /// Group name.
    pub name: String,
    /// Interval in ms, if set.
    pub interval_ms: Option<i64>,
    /// Result limit per rule (0 = none).
    pub limit: usize,
    /// The rules in evaluation order.
    pub rules: Vec<Rule>,
}

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
        NodeKind::Scalar { plain, .. } => {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(src: &str) -> String {
        load_rule_file("r.yml", src).unwrap_err().to_string()
    }

    #[test]
    fn durations() {
        assert_eq!(PromDuration::parse("1h30m").unwrap().0, 5_400_000);
        assert_eq!(PromDuration::parse("0").unwrap().0, 0);
        assert_eq!(PromDuration::parse("250ms").unwrap().0, 250);
        assert!(PromDuration::parse("5x").is_err());
        assert!(PromDuration::parse("1m1h").is_err());
        assert_eq!(PromDuration(5_400_000).to_string(), "1h30m");
    }

    #[test]
    fn loads_a_prometheus_file() {
        let g = load_rule_file(
            "r.yml",
            "groups:\n- name: g\n  interval: 30s\n  rules:\n  - record: a:b\n    expr: sum(up)\n  - alert: A\n    expr: up == 0\n    for: 5m\n    labels: {severity: page}\n    annotations: {s: '{{ $labels.job }}'}\n",
        )
        .unwrap();
        assert_eq!(g[0].interval_ms, Some(30_000));
        assert_eq!(g[0].rules[1].for_ms, 300_000);
        assert_eq!(g[0].rules[0].kind, RuleKind::Recording);
    }

    #[test]
    fn unknown_field_has_file_line_col() {
        let e = errors("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    fro: 5m\n");
        assert!(e.starts_with("r.yml:6:5: unknown field `fro`"), "{e}");
    }

    #[test]
    fn invalid_duration_has_position() {
        let e = errors(
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    for: 5 minutes\n",
        );
        assert!(
            e.starts_with("r.yml:6:10: not a valid duration string"),
            "{e}"
        );
    }

    #[test]
    fn duplicate_rule_names() {
        let e = errors(
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n  - alert: A\n    expr: up\n",
        );
        assert!(
            e.starts_with("r.yml:6:12: group \"g\": duplicate rule name \"A\""),
            "{e}"
        );
    }

    #[test]
    fn template_error_at_load() {
        let e = errors(
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations:\n      s: '{{ nope }}'\n",
        );
        assert!(
            e.contains("r.yml:7:10:") && e.contains("function \"nope\" not defined"),
            "{e}"
        );
    }
}
