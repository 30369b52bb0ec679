//! The streaming engine: [`Engine::observe`] takes samples and log records as they arrive,
//! [`Engine::evaluate`] evaluates every group whose interval has elapsed at the given `now` and
//! returns the alert [`Transition`]s. Recording rules write their output into the store so that
//! later rules see it. Never fails on data: problems become [`Diagnostic`]s.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::alert::{self, Alert, AlertState, Seen, Timing};
use crate::diagnostic::{Diagnostic, DiagnosticKind, Severity};
use crate::error::StateError;
use crate::eval::{self, LogPrefilter, Store, Value};
use crate::input::{Labels, LogRecord, METRIC_NAME, Sample};
use crate::rule::{Group, NoDataPolicy, Rule, RuleKind};
use crate::syntax::ExprKind;
use crate::template::TemplateData;

/// Something the engine observes.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A metric sample.
    Sample(Sample),
    /// A log line.
    Log(LogRecord),
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Interval of groups that set none (Prometheus default: 1 m).
    pub default_interval_ms: i64,
    /// How far behind the newest sample of its series a sample may arrive.
    pub out_of_order_tolerance_ms: i64,
    /// `$externalLabels` for templates.
    pub external_labels: BTreeMap<String, String>,
    /// `$externalURL` for templates.
    pub external_url: String,
    /// Write the `ALERTS` / `ALERTS_FOR_STATE` series like Prometheus does.
    pub write_alert_series: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            default_interval_ms: 60_000,
            out_of_order_tolerance_ms: 0,
            external_labels: BTreeMap::new(),
            external_url: String::new(),
            write_alert_series: true,
        }
    }
}

/// An alert changed state.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The group of the rule.
    pub group: String,
    /// The alert name.
    pub rule: String,
    /// The alert's labels (including `alertname`).
    pub labels: Labels,
    /// Rendered annotations.
    pub annotations: Vec<(String, String)>,
    /// The value that caused it.
    pub value: f64,
    /// Previous state.
    pub from: AlertState,
    /// New state.
    pub to: AlertState,
    /// Evaluation time of the change (ms).
    pub at_ms: i64,
    /// When the alert became active.
    pub active_at_ms: i64,
    /// When it started firing.
    pub fired_at_ms: Option<i64>,
    /// When it resolved.
    pub resolved_at_ms: Option<i64>,
}

pub(crate) struct RuleState {
    pub rule: Rule,
    pub alerts: HashMap<Labels, Alert>,
    /// Series written at the last evaluation (recording output, ALERTS), for stale markers.
    pub written: HashSet<Labels>,
    pub last_error: Option<String>,
}

pub(crate) struct GroupState {
    pub group: Group,
    pub next_eval_ms: Option<i64>,
    pub rules: Vec<RuleState>,
}

/// The rule-evaluation engine (one per rule set; no I/O, no clock).
pub struct Engine {
    config: EngineConfig,
    store: Store,
    groups: Vec<GroupState>,
    prefilter: LogPrefilter,
    log_rules: usize,
    candidates: Vec<usize>,
    diagnostics: Vec<Diagnostic>,
}

/// The exported alert state of an engine (serde; persist it and import it after a restart).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineState {
    /// Format version.
    pub version: u32,
    /// Per rule: group, identity and its alerts.
    pub rules: Vec<RuleAlerts>,
    /// Next evaluation time per group name.
    pub next_eval_ms: BTreeMap<String, i64>,
}

/// The alerts of one rule in an [`EngineState`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleAlerts {
    /// Group name.
    pub group: String,
    /// Rule name.
    pub name: String,
    /// [`Rule::identity`].
    pub identity: String,
    /// The alert records.
    pub alerts: Vec<Alert>,
}

const STATE_VERSION: u32 = 1;

fn rule_states(groups: Vec<Group>) -> Vec<GroupState> {
    groups
        .into_iter()
        .map(|mut g| {
            let rules = std::mem::take(&mut g.rules)
                .into_iter()
                .map(|rule| RuleState {
                    rule,
                    alerts: HashMap::new(),
                    written: HashSet::new(),
                    last_error: None,
                })
                .collect();
            GroupState {
                group: g,
                next_eval_ms: None,
                rules,
            }
        })
        .collect()
}

impl Engine {
    /// An engine over `groups` with an empty store.
    pub fn new(groups: Vec<Group>, config: EngineConfig) -> Self {
        let mut store = Store::new();
        store.set_out_of_order_tolerance(config.out_of_order_tolerance_ms);
        let mut e = Engine {
            config,
            store,
            groups: rule_states(groups),
            prefilter: LogPrefilter::default(),
            log_rules: 0,
            candidates: Vec::new(),
            diagnostics: Vec::new(),
        };
        e.rebuild();
        e
    }

    fn rebuild(&mut self) {
        let mut max_lookback = 0i64;
        let mut log_exprs = Vec::new();
        for g in &self.groups {
            let iv = g
                .group
                .interval_ms
                .unwrap_or(self.config.default_interval_ms);
            for r in &g.rules {
                max_lookback = max_lookback.max(r.rule.expr.max_lookback_ms() + iv);
                if let Some(re) = &r.rule.resolve_expr {
                    max_lookback = max_lookback.max(re.max_lookback_ms() + iv);
                }
                if r.rule.expr.kind() != ExprKind::Metric {
                    log_exprs.push(&r.rule.expr);
                }
            }
        }
        self.log_rules = log_exprs.len();
        self.prefilter = LogPrefilter::new(log_exprs);
        self.store.set_retention(
            max_lookback.max(eval::LOOKBACK_DELTA_MS) + self.config.out_of_order_tolerance_ms,
        );
    }

    /// The store (for queries such as promtool's `promql_expr_test`).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The groups in evaluation order.
    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.iter().map(|g| &g.group)
    }

    /// Takes the diagnostics collected since the last call.
    pub fn take_diagnostics(&mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.diagnostics)
    }

    /// Observes one event. Late data is dropped with a diagnostic; log lines no log rule can
    /// use (per the combined prefilter) are not stored.
    pub fn observe(&mut self, ev: Event) {
        match ev {
            Event::Sample(s) => {
                if let Err(e) = self.store.add_sample(&s.labels, s.t_ms, s.value) {
                    let kind = match e {
                        eval::Rejected::Duplicate { .. } => DiagnosticKind::Rejected,
                        _ => DiagnosticKind::LateDropped,
                    };
                    self.diagnostics.push(Diagnostic {
                        severity: Severity::Warning,
                        kind,
                        rule: None,
                        t_ms: s.t_ms,
                        message: e.to_string(),
                    });
                }
            }
            Event::Log(rec) => {
                if self.log_rules == 0 || !self.prefilter.any(&rec.line) {
                    return;
                }
                self.prefilter.candidates(&rec.line, &mut self.candidates);
                if self.candidates.is_empty() {
                    return;
                }
                self.store.add_log(rec);
            }
        }
    }

    /// Evaluates every group that is due at `now` (its interval has elapsed since its last
    /// evaluation; a group is due at the first call) and returns the alert transitions.
    pub fn evaluate(&mut self, now: i64) -> Vec<Transition> {
        let mut out = Vec::new();
        for gi in 0..self.groups.len() {
            let iv = self.groups[gi]
                .group
                .interval_ms
                .unwrap_or(self.config.default_interval_ms);
            let due = self.groups[gi].next_eval_ms.is_none_or(|n| now >= n);
            if !due {
                continue;
            }
            let mut next = self.groups[gi].next_eval_ms.unwrap_or(now) + iv;
            if next <= now {
                next = now + iv - (now - next).rem_euclid(iv.max(1));
            }
            self.groups[gi].next_eval_ms = Some(next);
            self.eval_group(gi, now, &mut out);
        }
        self.store.gc(now);
        out
    }

    /// Evaluates every group at `ts` regardless of intervals, in order (promtool's unit tests
    /// do this). Returns the transitions.
    pub fn evaluate_all_at(&mut self, ts: i64) -> Vec<Transition> {
        let mut out = Vec::new();
        for gi in 0..self.groups.len() {
            self.eval_group(gi, ts, &mut out);
        }
        out
    }

    /// The last evaluation error of each rule that failed at its last evaluation:
    /// `(rule name, message)`, in evaluation order.
    pub fn rule_errors(&self) -> Vec<(String, String)> {
        self.groups
            .iter()
            .flat_map(|g| g.rules.iter())
            .filter_map(|r| {
                r.last_error
                    .as_ref()
                    .map(|e| (r.rule.name.clone(), e.clone()))
            })
            .collect()
    }

    /// All alert records of alerting rules named `name` (any state).
    pub fn alerts_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Alert> + 'a {
        self.groups
            .iter()
            .flat_map(|g| g.rules.iter())
            .filter(move |r| r.rule.kind == RuleKind::Alerting && r.rule.name == name)
            .flat_map(|r| r.alerts.values())
    }

    /// All alert records with their group and rule name.
    pub fn alerts(&self) -> impl Iterator<Item = (&str, &str, &Alert)> {
        self.groups.iter().flat_map(|g| {
            g.rules.iter().flat_map(move |r| {
                r.alerts
                    .values()
                    .map(move |a| (g.group.name.as_str(), r.rule.name.as_str(), a))
            })
        })
    }

    fn eval_group(&mut self, gi: usize, ts: i64, out: &mut Vec<Transition>) {
        for ri in 0..self.groups[gi].rules.len() {
            let res = self.eval_rule(gi, ri, ts, out);
            let g = &mut self.groups[gi];
            let gname = &g.group.name;
            let rs = &mut g.rules[ri];
            match res {
                Ok(()) => rs.last_error = None,
                Err(msg) => {
                    self.diagnostics.push(Diagnostic {
                        severity: Severity::Error,
                        kind: DiagnosticKind::EvalError,
                        rule: Some(format!("{gname}/{}", rs.rule.name)),
                        t_ms: ts,
                        message: msg.clone(),
                    });
                    rs.last_error = Some(msg);
                }
            }
        }
    }

    fn instant_vector(
        &self,
        expr: &crate::syntax::Expr,
        ts: i64,
    ) -> Result<Vec<eval::Sample>, String> {
        match eval::eval_instant(expr, &self.store, ts).map_err(|e| e.to_string())? {
            Value::Vector(v) => Ok(v),
            Value::Scalar(v) => Ok(vec![eval::Sample {
                labels: Labels::empty(),
                value: v,
            }]),
            Value::Matrix(_) => Err("rule result is a range vector, not an instant vector".into()),
            Value::String(_) => Err("rule result is a string, not an instant vector".into()),
        }
    }

    /// Writes `samples` for a rule and stale markers for the series it wrote last time but not
    /// now.
    fn write_series(&mut self, gi: usize, ri: usize, ts: i64, samples: Vec<(Labels, f64)>) {
        let mut now_written = HashSet::with_capacity(samples.len());
        for (l, v) in samples {
            let _ = self.store.add_sample(&l, ts, v);
            now_written.insert(l);
        }
        let rs = &mut self.groups[gi].rules[ri];
        for old in rs.written.iter() {
            if !now_written.contains(old) {
                let _ = self.store.add_stale(old, ts);
            }
        }
        rs.written = now_written;
    }

    fn eval_rule(
        &mut self,
        gi: usize,
        ri: usize,
        ts: i64,
        out: &mut Vec<Transition>,
    ) -> Result<(), String> {
        let limit = self.groups[gi].group.limit;
        let rule = &self.groups[gi].rules[ri].rule;
        let vector = self.instant_vector(&rule.expr, ts);
        let vector = match vector {
            Ok(v) => v,
            Err(e) => {
                // Prometheus marks the rule's previous output stale when it fails
                self.write_series(gi, ri, ts, Vec::new());
                return Err(e);
            }
        };
        if rule.kind == RuleKind::Recording {
            let mut seen = HashSet::with_capacity(vector.len());
            let mut samples = Vec::with_capacity(vector.len());
            for s in vector {
                let mut pairs: Vec<(String, String)> = s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                pairs.push((METRIC_NAME.to_string(), rule.name.clone()));
                for l in &rule.labels {
                    pairs.push((l.name.clone(), l.raw.clone()));
                }
                let labels = Labels::from_pairs(pairs);
                if !seen.insert(labels.clone()) {
                    self.write_series(gi, ri, ts, Vec::new());
                    return Err(
                        "vector contains metrics with the same labelset after applying rule labels"
                            .into(),
                    );
                }
                samples.push((labels, s.value));
            }
            if limit > 0 && samples.len() > limit {
                self.write_series(gi, ri, ts, Vec::new());
                return Err(format!(
                    "exceeded limit of {limit} with {} series",
                    samples.len()
                ));
            }
            self.write_series(gi, ri, ts, samples);
            return Ok(());
        }
        self.eval_alerting(gi, ri, ts, vector, out)
    }

    fn template_data(&self, labels: &Labels, value: f64) -> TemplateData {
        TemplateData {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            external_labels: self.config.external_labels.clone(),
            external_url: self.config.external_url.clone(),
            value,
        }
    }

    /// Whether an expression that returned nothing had no input either: for a comparison
    /// against a number (`x > 5`, `5 < x`) its vector side must be empty too; otherwise the
    /// empty result is the answer.
    fn input_empty(&self, expr: &crate::syntax::Expr, ts: i64) -> bool {
        use crate::syntax::Expr;
        if let Expr::Binary(b) = expr
            && b.op.is_comparison()
            && !b.return_bool
        {
            let side = match (&b.lhs, &b.rhs) {
                (l, Expr::Number(_)) => l,
                (Expr::Number(_), r) => r,
                _ => return true,
            };
            return self.instant_vector(side, ts).is_ok_and(|v| v.is_empty());
        }
        true
    }

    /// Final alert labels and rendered annotations of one result sample.
    fn alert_labels(&self, rule: &Rule, s: &eval::Sample) -> (Labels, Vec<(String, String)>) {
        let data = self.template_data(&s.labels, s.value);
        let mut pairs: Vec<(String, String)> = s
            .labels
            .iter()
            .filter(|(k, _)| *k != METRIC_NAME)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for l in &rule.labels {
            let v = match &l.template {
                Some(t) => t.render_or_error_text(&data),
                None => l.raw.clone(),
            };
            pairs.push((l.name.clone(), v));
        }
        pairs.push(("alertname".to_string(), rule.name.clone()));
        let annotations = rule
            .annotations
            .iter()
            .map(|a| {
                let v = match &a.template {
                    Some(t) => t.render_or_error_text(&data),
                    None => a.raw.clone(),
                };
                (a.name.clone(), v)
            })
            .collect();
        (Labels::from_pairs(pairs), annotations)
    }

    fn eval_alerting(
        &mut self,
        gi: usize,
        ri: usize,
        ts: i64,
        vector: Vec<eval::Sample>,
        out: &mut Vec<Transition>,
    ) -> Result<(), String> {
        let rule = &self.groups[gi].rules[ri].rule;
        let limit = self.groups[gi].group.limit;
        let timing = Timing {
            for_ms: rule.for_ms,
            keep_firing_for_ms: rule.keep_firing_for_ms,
            resolve_for_ms: rule.resolve_for_ms,
        };
        let no_data = vector.is_empty()
            && rule.nodata != NoDataPolicy::Ok
            && self.input_empty(&rule.expr, ts);
        if no_data && rule.nodata == NoDataPolicy::KeepLast {
            return Ok(());
        }
        let mut present: HashMap<Labels, (f64, Vec<(String, String)>)> = HashMap::new();
        for s in &vector {
            let (labels, ann) = self.alert_labels(rule, s);
            if present.insert(labels, (s.value, ann)).is_some() {
                return Err(
                    "vector contains metrics with the same labelset after applying alert labels"
                        .into(),
                );
            }
        }
        if no_data && rule.nodata == NoDataPolicy::Alerting {
            let s = eval::Sample {
                labels: Labels::from_pairs([("nodata", "true")]),
                value: 0.0,
            };
            let (labels, ann) = self.alert_labels(rule, &s);
            present.insert(labels, (0.0, ann));
        }
        let resolve_set: Option<HashSet<Labels>> = match &rule.resolve_expr {
            None => None,
            Some(re) => {
                let v = self.instant_vector(re, ts)?;
                Some(v.iter().map(|s| self.alert_labels(rule, s).0).collect())
            }
        };
        let nodata_state = no_data && rule.nodata == NoDataPolicy::Nodata;
        let group_name = self.groups[gi].group.name.clone();
        let rs = &mut self.groups[gi].rules[ri];
        let mut stepped = HashSet::with_capacity(present.len());
        for (labels, (value, annotations)) in present {
            stepped.insert(labels.clone());
            let a = rs
                .alerts
                .entry(labels.clone())
                .or_insert_with(|| alert::new_alert(labels, ts));
            let ch = alert::step(a, Seen::Present { value, annotations }, ts, timing);
            if let Some(c) = ch {
                out.push(transition(&group_name, &rs.rule.name, a, c, ts));
            }
        }
        let mut expired = Vec::new();
        for (labels, a) in rs.alerts.iter_mut() {
            if stepped.contains(labels) {
                continue;
            }
            let seen = if nodata_state {
                Seen::NoData
            } else {
                let resolve_ok = resolve_set.as_ref().is_none_or(|s| s.contains(labels));
                Seen::Absent { resolve_ok }
            };
            if let Some(c) = alert::step(a, seen, ts, timing) {
                out.push(transition(&group_name, &rs.rule.name, a, c, ts));
            }
            if alert::is_expired(a, ts) {
                expired.push(labels.clone());
            }
        }
        for l in expired {
            rs.alerts.remove(&l);
        }
        let active = rs
            .alerts
            .values()
            .filter(|a| a.state != AlertState::Inactive)
            .count();
        if limit > 0 && active > limit {
            rs.alerts.clear();
            self.write_series(gi, ri, ts, Vec::new());
            return Err(format!("exceeded limit of {limit} with {active} alerts"));
        }
        if self.config.write_alert_series {
            let mut samples = Vec::new();
            for a in rs.alerts.values() {
                if !matches!(a.state, AlertState::Pending | AlertState::Firing) {
                    continue;
                }
                let mut pairs: Vec<(String, String)> = a
                    .labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                pairs.push((METRIC_NAME.into(), "ALERTS_FOR_STATE".into()));
                samples.push((
                    Labels::from_pairs(pairs.clone()),
                    (a.active_at_ms / 1000) as f64,
                ));
                pairs.push((METRIC_NAME.into(), "ALERTS".into()));
                pairs.push(("alertstate".into(), a.state.as_str().into()));
                samples.push((Labels::from_pairs(pairs), 1.0));
            }
            self.write_series(gi, ri, ts, samples);
        }
        Ok(())
    }

    /// Replaces the rule set. Alert state is kept for rules whose kind, name, expression and
    /// labels are unchanged ([`Rule::identity`]); the store and its data are kept.
    pub fn replace_rules(&mut self, groups: Vec<Group>) {
        let mut old: HashMap<String, Vec<RuleState>> = HashMap::new();
        let mut next: HashMap<String, i64> = HashMap::new();
        for g in std::mem::take(&mut self.groups) {
            if let Some(n) = g.next_eval_ms {
                next.insert(g.group.name.clone(), n);
            }
            for r in g.rules {
                old.entry(r.rule.identity()).or_default().push(r);
            }
        }
        self.groups = rule_states(groups);
        for g in &mut self.groups {
            g.next_eval_ms = next.get(&g.group.name).copied();
            for r in &mut g.rules {
                if let Some(list) = old.get_mut(&r.rule.identity())
                    && !list.is_empty()
                {
                    let prev = list.remove(0);
                    r.alerts = prev.alerts;
                    r.written = prev.written;
                }
            }
        }
        // series written by removed rules become stale at their next evaluation time; the
        // simplest honest thing is to leave them to the look-back window.
        self.rebuild();
    }

    /// Exports every alert record and group schedule.
    pub fn export_state(&self) -> EngineState {
        let mut rules = Vec::new();
        let mut next_eval_ms = BTreeMap::new();
        for g in &self.groups {
            if let Some(n) = g.next_eval_ms {
                next_eval_ms.insert(g.group.name.clone(), n);
            }
            for r in &g.rules {
                if r.rule.kind != RuleKind::Alerting {
                    continue;
                }
                let mut alerts: Vec<Alert> = r.alerts.values().cloned().collect();
                alerts.sort_by(|a, b| a.labels.cmp(&b.labels));
                rules.push(RuleAlerts {
                    group: g.group.name.clone(),
                    name: r.rule.name.clone(),
                    identity: r.rule.identity(),
                    alerts,
                });
            }
        }
        EngineState {
            version: STATE_VERSION,
            rules,
            next_eval_ms,
        }
    }

    /// Imports alert state exported by [`Engine::export_state`]: records go to the rule with
    /// the same group and identity; records of rules that no longer exist are ignored.
    pub fn import_state(&mut self, state: EngineState) -> Result<(), StateError> {
        if state.version != STATE_VERSION {
            return Err(StateError::Version {
                found: state.version,
                expected: STATE_VERSION,
            });
        }
        let mut by_key: HashMap<(String, String), Vec<Alert>> = state
            .rules
            .into_iter()
            .map(|r| ((r.group, r.identity), r.alerts))
            .collect();
        for g in &mut self.groups {
            if let Some(n) = state.next_eval_ms.get(&g.group.name) {
                g.next_eval_ms = Some(*n);
            }
            for r in &mut g.rules {
                if let Some(alerts) = by_key.remove(&(g.group.name.clone(), r.rule.identity())) {
                    r.alerts = alerts.into_iter().map(|a| (a.labels.clone(), a)).collect();
                }
            }
        }
        Ok(())
    }
}

fn transition(group: &str, rule: &str, a: &Alert, c: alert::Change, ts: i64) -> Transition {
    Transition {
        group: group.to_string(),
        rule: rule.to_string(),
        labels: a.labels.clone(),
        annotations: a.annotations.clone(),
        value: a.value,
        from: c.from,
        to: c.to,
        at_ms: ts,
        active_at_ms: a.active_at_ms,
        fired_at_ms: a.fired_at_ms,
        resolved_at_ms: a.resolved_at_ms,
    }
}
