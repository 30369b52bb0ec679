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

mod load;

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::syntax::Expr;
use crate::template::Template;
use crate::yaml::Pos;
pub use load::load_rule_file;
pub(crate) use load::load_rule_file_parsed;

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
