//! The streaming engine: [`Engine::observe`] takes samples and log records as they arrive,
//! [`Engine::evaluate`] evaluates every group whose interval has elapsed at the given `now` and
//! returns the alert [`Transition`]s. Recording rules write their output into the store so that
//! later rules see it. Never fails on data: problems become [`Diagnostic`]s.

mod alerting;
mod output;
mod parallel;
mod state;

use std::collections::BTreeMap;

use crate::alert::{self, Alert, AlertState};
use crate::diagnostic::{Diagnostic, DiagnosticKind, Severity};
use crate::eval::{self, LogPrefilter, Store, Value};
use crate::input::{FxHashMap, Labels, LogRecord, Sample};
use crate::rule::{Group, Rule, RuleKind};
use crate::syntax::ExprKind;
use output::{Derived, DerivedCache, Out, Written};
pub use state::{EngineState, RuleAlerts};

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
    /// Threads for evaluating independent groups at the same time (1: one after the other).
    /// The results are the same whatever the number: see the `parallel` module.
    pub eval_threads: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            default_interval_ms: 60_000,
            out_of_order_tolerance_ms: 0,
            external_labels: BTreeMap::new(),
            external_url: String::new(),
            write_alert_series: true,
            eval_threads: 1,
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
    pub alerts: FxHashMap<Labels, Alert>,
    /// Series written at the last evaluation (recording output, ALERTS), for stale markers.
    pub written: Written,
    /// Result series labels → output / alert labels and annotations.
    pub derived: DerivedCache,
    /// Alert labels → its `ALERTS` / `ALERTS_FOR_STATE` label sets.
    pub alert_series: FxHashMap<Labels, alerting::AlertSeries>,
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
    /// per group: what it reads and writes (for concurrent evaluation)
    deps: Vec<parallel::GroupDeps>,
    /// the last split of groups into runs: (groups, threads, runs)
    runs_cache: Option<parallel::RunsCache>,
    /// reuse results of subexpressions within self-contained groups (tests turn it off to
    /// compare)
    share_subexpressions: bool,
    /// shareable subexpressions that occur more than once in the rule set
    repeated: eval::Repeated,
}

fn rule_states(groups: Vec<Group>) -> Vec<GroupState> {
    groups
        .into_iter()
        .map(|mut g| {
            let rules = std::mem::take(&mut g.rules)
                .into_iter()
                .map(|rule| RuleState {
                    rule,
                    alerts: FxHashMap::default(),
                    written: Written::default(),
                    derived: DerivedCache::default(),
                    alert_series: FxHashMap::default(),
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
            deps: Vec::new(),
            runs_cache: None,
            share_subexpressions: true,
            repeated: eval::Repeated::default(),
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
        self.deps = self
            .groups
            .iter()
            .map(|g| parallel::group_deps(g, self.config.write_alert_series))
            .collect();
        self.runs_cache = None;
        self.repeated = eval::repeated_nodes(
            self.groups
                .iter()
                .flat_map(|g| &g.rules)
                .map(|r| &r.rule.expr),
        );
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
                if self.log_rules == 0 {
                    return;
                }
                // one scan of the line for all log rules' filters
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
        let mut due = Vec::new();
        for gi in 0..self.groups.len() {
            let iv = self.groups[gi]
                .group
                .interval_ms
                .unwrap_or(self.config.default_interval_ms);
            if self.groups[gi].next_eval_ms.is_some_and(|n| now < n) {
                continue;
            }
            let mut next = self.groups[gi].next_eval_ms.unwrap_or(now) + iv;
            if next <= now {
                next = now + iv - (now - next).rem_euclid(iv.max(1));
            }
            self.groups[gi].next_eval_ms = Some(next);
            due.push(gi);
        }
        self.eval_groups(&due, now, &mut out);
        self.store.gc(now);
        out
    }

    /// Evaluates every group at `ts` regardless of intervals, in order (promtool's unit tests
    /// do this). Returns the transitions.
    pub fn evaluate_all_at(&mut self, ts: i64) -> Vec<Transition> {
        let mut out = Vec::new();
        let all: Vec<usize> = (0..self.groups.len()).collect();
        self.eval_groups(&all, ts, &mut out);
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
}

/// Evaluates the rules of one group at `ts` in order, reading and writing through `out`;
/// transitions and diagnostics are appended.
/// `shared`: results of subexpressions to reuse, when no rule of the group reads what an
/// earlier one writes (see [`eval::SharedResults`]).
pub(crate) fn eval_group(
    config: &EngineConfig,
    gs: &mut GroupState,
    store: &mut Out<'_>,
    ts: i64,
    shared: Option<&eval::SharedResults>,
    out: &mut Vec<Transition>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let GroupState { group, rules, .. } = gs;
    for (ri, rs) in rules.iter_mut().enumerate() {
        store.set_rule(ri);
        let res = eval_rule(config, group, rs, store, ts, shared, out);
        match res {
            Ok(()) => rs.last_error = None,
            Err(msg) => {
                diagnostics.push(Diagnostic {
                    severity: Severity::Error,
                    kind: DiagnosticKind::EvalError,
                    rule: Some(format!("{}/{}", group.name, rs.rule.name)),
                    t_ms: ts,
                    message: msg.clone(),
                });
                rs.last_error = Some(msg);
            }
        }
    }
}

/// The instant vector of `expr` at `ts` (a scalar becomes one sample without labels).
pub(crate) fn instant_vector(
    expr: &crate::syntax::Expr,
    store: &Store,
    ts: i64,
    shared: Option<&eval::SharedResults>,
) -> Result<Vec<eval::Sample>, String> {
    let v = match shared {
        Some(sh) => eval::eval_instant_shared(expr, store, ts, sh),
        None => eval::eval_instant(expr, store, ts),
    };
    match v.map_err(|e| e.to_string())? {
        Value::Vector(v) => Ok(v),
        Value::Scalar(v) => Ok(vec![eval::Sample {
            labels: Labels::empty(),
            value: v,
        }]),
        Value::Matrix(_) => Err("rule result is a range vector, not an instant vector".into()),
        Value::String(_) => Err("rule result is a string, not an instant vector".into()),
    }
}

fn eval_rule(
    config: &EngineConfig,
    group: &Group,
    rs: &mut RuleState,
    store: &mut Out<'_>,
    ts: i64,
    shared: Option<&eval::SharedResults>,
    out: &mut Vec<Transition>,
) -> Result<(), String> {
    let vector = match instant_vector(&rs.rule.expr, store.store(), ts, shared) {
        Ok(v) => v,
        Err(e) => {
            // Prometheus marks the rule's previous output stale when it fails
            rs.written.finish(store, ts);
            return Err(e);
        }
    };
    if rs.rule.kind == RuleKind::Recording {
        return eval_recording(group, rs, store, ts, vector);
    }
    alerting::eval_alerting(config, group, rs, store, ts, vector, out)
}

/// Writes a recording rule's result (output labels cached per result series).
fn eval_recording(
    group: &Group,
    rs: &mut RuleState,
    store: &mut Out<'_>,
    ts: i64,
    vector: Vec<eval::Sample>,
) -> Result<(), String> {
    let limit = group.limit;
    let mut seen: FxHashMap<Labels, ()> = FxHashMap::default();
    seen.reserve(vector.len());
    let mut samples = Vec::with_capacity(vector.len());
    for s in vector {
        let d = rs.derived.entry(s.labels).or_insert_with_key(|l| Derived {
            labels: output::recording_labels(&rs.rule, l),
            annotations: Vec::new(),
            value_bits: 0,
            used: ts,
        });
        d.used = ts;
        if seen.insert(d.labels.clone(), ()).is_some() {
            rs.written.finish(store, ts);
            return Err(
                "vector contains metrics with the same labelset after applying rule labels".into(),
            );
        }
        samples.push((d.labels.clone(), s.value));
    }
    output::sweep(&mut rs.derived, ts);
    if limit > 0 && samples.len() > limit {
        rs.written.finish(store, ts);
        return Err(format!(
            "exceeded limit of {limit} with {} series",
            samples.len()
        ));
    }
    for (l, v) in &samples {
        rs.written.write(store, l, ts, *v);
    }
    rs.written.finish(store, ts);
    Ok(())
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

#[cfg(test)]
mod tests;
