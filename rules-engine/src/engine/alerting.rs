//! One evaluation of an alerting rule: result samples → alert labels and annotations (cached
//! per series; templates are re-rendered only when the value changes and a template uses it),
//! the lifecycle step of every alert, and the `ALERTS` / `ALERTS_FOR_STATE` series.

use std::collections::HashSet;
use std::sync::Arc;

use super::output::{Derived, DerivedCache, Out, sweep};
use super::{EngineConfig, RuleState, Transition, instant_vector, transition};
use crate::alert::{self, AlertState, Seen, Timing};
use crate::eval;
use crate::input::{FxHashMap, Labels, METRIC_NAME};
use crate::rule::{Group, NoDataPolicy, Rule};
use crate::template::{Query, StoreQuery, TemplateData};

/// The `ALERTS` / `ALERTS_FOR_STATE` label sets of one alert (rebuilt when its state changes).
pub(crate) struct AlertSeries {
    state: AlertState,
    alerts: Labels,
    for_state: Labels,
}

impl AlertSeries {
    fn new(labels: &Labels, state: AlertState) -> Self {
        let mut pairs = labels.arc_pairs().to_vec();
        pairs.push((Arc::from(METRIC_NAME), Arc::from("ALERTS_FOR_STATE")));
        let for_state = Labels::from_arc_pairs(pairs);
        AlertSeries {
            state,
            alerts: alerts_labels(labels, state),
            for_state,
        }
    }
}

/// `ALERTS{<alert labels>, alertstate="<state>"}`.
fn alerts_labels(labels: &Labels, state: AlertState) -> Labels {
    let mut pairs = labels.arc_pairs().to_vec();
    pairs.push((Arc::from(METRIC_NAME), Arc::from("ALERTS")));
    pairs.push((Arc::from("alertstate"), Arc::from(state.as_str())));
    Labels::from_arc_pairs(pairs)
}

/// Template data for one sample.
fn template_data(cfg: &super::EngineConfig, labels: &Labels, value: f64) -> TemplateData {
    TemplateData {
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        external_labels: cfg.external_labels.clone(),
        external_url: cfg.external_url.clone(),
        value,
    }
}

/// Final alert labels and rendered annotations of one result sample (uncached); `query`
/// answers the templates' `query` calls.
pub(crate) fn alert_labels(
    cfg: &super::EngineConfig,
    rule: &Rule,
    s: &eval::Sample,
    query: Option<&dyn Query>,
) -> (Labels, Vec<(String, String)>) {
    let templated = rule.labels.iter().any(|l| l.template.is_some())
        || rule.annotations.iter().any(|a| a.template.is_some());
    let data = templated.then(|| template_data(cfg, &s.labels, s.value));
    let render = |p: &crate::rule::TemplatedPair| match (&p.template, &data) {
        (Some(t), Some(d)) => t.render_or_error_text_with(d, query),
        _ => p.raw.clone(),
    };
    // the sample's (interned) strings are shared, not copied
    let mut pairs: Vec<(Arc<str>, Arc<str>)> = s
        .labels
        .arc_pairs()
        .iter()
        .filter(|(k, _)| &**k != METRIC_NAME)
        .cloned()
        .collect();
    for l in &rule.labels {
        pairs.push((Arc::from(l.name.as_str()), Arc::from(render(l))));
    }
    pairs.push((Arc::from("alertname"), Arc::from(rule.name.as_str())));
    let annotations = rule
        .annotations
        .iter()
        .map(|a| (a.name.clone(), render(a)))
        .collect();
    (Labels::from_arc_pairs(pairs), annotations)
}

/// Looks up (or renders) the derived labels of `s` in `cache`; re-renders when the value
/// changed and a template uses it, and at every evaluation when the templates query the store
/// (`query` is given only then).
fn derived<'c>(
    cache: &'c mut DerivedCache,
    cfg: &super::EngineConfig,
    rule: &Rule,
    value_dependent: bool,
    s: &eval::Sample,
    ts: i64,
    query: Option<&dyn Query>,
) -> &'c Derived {
    let bits = s.value.to_bits();
    let fresh = |s: &eval::Sample| {
        let (labels, annotations) = alert_labels(cfg, rule, s, query);
        Derived {
            labels,
            annotations,
            value_bits: bits,
            used: ts,
        }
    };
    let d = cache
        .entry(s.labels.clone())
        .and_modify(|d| {
            if query.is_some() || (value_dependent && d.value_bits != bits) {
                let mut f = fresh(s);
                if f.labels == d.labels {
                    // keep the shared label set: maps keyed by it compare by pointer
                    f.labels = d.labels.clone();
                }
                *d = f;
            }
        })
        .or_insert_with(|| fresh(s));
    d.used = ts;
    d
}

/// Whether an expression that returned nothing had no input either: for a comparison against
/// a number (`x > 5`, `5 < x`) its vector side must be empty too; otherwise the empty result
/// is the answer.
fn input_empty(expr: &crate::syntax::Expr, store: &crate::eval::Store, ts: i64) -> bool {
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
        return instant_vector(side, store, ts, None).is_ok_and(|v| v.is_empty());
    }
    true
}

/// One evaluation of an alerting rule at `ts` with its result `vector`.
pub(super) fn eval_alerting(
    config: &EngineConfig,
    group: &Group,
    rs: &mut RuleState,
    store: &mut Out<'_>,
    ts: i64,
    vector: Vec<eval::Sample>,
    out: &mut Vec<Transition>,
) -> Result<(), String> {
    let rule = &rs.rule;
    let no_data = vector.is_empty()
        && rule.nodata != NoDataPolicy::Ok
        && input_empty(&rule.expr, store.store(), ts);
    if no_data && rule.nodata == NoDataPolicy::KeepLast {
        return Ok(());
    }
    let resolve_vector = rule
        .resolve_expr
        .as_ref()
        .map(|re| instant_vector(re, store.store(), ts, None));
    let limit = group.limit;
    let group_name = &group.name;
    let timing = Timing {
        for_ms: rule.for_ms,
        keep_firing_for_ms: rule.keep_firing_for_ms,
        resolve_for_ms: rule.resolve_for_ms,
    };
    let uses = |f: fn(&crate::template::Template) -> bool| {
        rule.labels
            .iter()
            .chain(&rule.annotations)
            .any(|p| p.template.as_ref().is_some_and(f))
    };
    let value_dependent = uses(crate::template::Template::uses_value);
    // the templates' queries run against the store as the rule's expression saw it (this
    // rule writes only after rendering)
    let store_query =
        uses(crate::template::Template::uses_query).then(|| StoreQuery::new(store.store(), ts));
    let query = store_query.as_ref().map(|q| q as &dyn Query);
    // final labels → (value, derived-cache key)
    let mut present: FxHashMap<Labels, (f64, Labels)> = FxHashMap::default();
    present.reserve(vector.len());
    for s in &vector {
        let d = derived(&mut rs.derived, config, rule, value_dependent, s, ts, query);
        if present
            .insert(d.labels.clone(), (s.value, s.labels.clone()))
            .is_some()
        {
            return Err(
                "vector contains metrics with the same labelset after applying alert labels".into(),
            );
        }
    }
    let mut nodata_annotations = None;
    if no_data && rule.nodata == NoDataPolicy::Alerting {
        let s = eval::Sample {
            labels: Labels::from_pairs([("nodata", "true")]),
            value: 0.0,
        };
        let (labels, ann) = alert_labels(config, rule, &s, query);
        nodata_annotations = Some(ann);
        present.insert(labels, (0.0, s.labels));
    }
    let resolve_set: Option<HashSet<Labels>> = match resolve_vector {
        None => None,
        Some(v) => Some(
            v?.iter()
                .map(|s| alert_labels(config, rule, s, query).0)
                .collect(),
        ),
    };
    drop(store_query);
    let nodata_state = no_data && rule.nodata == NoDataPolicy::Nodata;
    for (labels, (value, key)) in &present {
        let a = rs
            .alerts
            .entry(labels.clone())
            .or_insert_with(|| alert::new_alert(labels.clone(), ts));
        let want = rs
            .derived
            .get(key)
            .map(|d| &d.annotations)
            .or(nodata_annotations.as_ref());
        let annotations = match want {
            Some(w) if *w != a.annotations => w.clone(),
            // unchanged: hand the record its own annotations back (no copy)
            _ => std::mem::take(&mut a.annotations),
        };
        let seen = Seen::Present {
            value: *value,
            annotations,
        };
        if let Some(c) = alert::step(a, seen, ts, timing) {
            out.push(transition(group_name, &rule.name, a, c, ts));
        }
    }
    let mut expired = Vec::new();
    for (labels, a) in rs.alerts.iter_mut() {
        if present.contains_key(labels) {
            continue;
        }
        let seen = if nodata_state {
            Seen::NoData
        } else {
            let resolve_ok = resolve_set.as_ref().is_none_or(|s| s.contains(labels));
            Seen::Absent { resolve_ok }
        };
        if let Some(c) = alert::step(a, seen, ts, timing) {
            out.push(transition(group_name, &rule.name, a, c, ts));
        }
        if alert::is_expired(a, ts) {
            expired.push(labels.clone());
        }
    }
    for l in expired {
        rs.alerts.remove(&l);
    }
    sweep(&mut rs.derived, ts);
    let active = rs
        .alerts
        .values()
        .filter(|a| a.state != AlertState::Inactive)
        .count();
    if limit > 0 && active > limit {
        rs.alerts.clear();
        rs.alert_series.clear();
        rs.written.finish(store, ts);
        return Err(format!("exceeded limit of {limit} with {active} alerts"));
    }
    if config.write_alert_series {
        let alert_series = &mut rs.alert_series;
        alert_series.retain(|l, _| rs.alerts.contains_key(l));
        for a in rs.alerts.values() {
            if !matches!(a.state, AlertState::Pending | AlertState::Firing) {
                continue;
            }
            let series = alert_series
                .entry(a.labels.clone())
                .and_modify(|s| {
                    if s.state != a.state {
                        // ALERTS_FOR_STATE keeps its label set (and its written slot)
                        s.alerts = alerts_labels(&a.labels, a.state);
                        s.state = a.state;
                    }
                })
                .or_insert_with(|| AlertSeries::new(&a.labels, a.state));
            let active_at = (a.active_at_ms / 1000) as f64;
            rs.written.write(store, &series.for_state, ts, active_at);
            rs.written.write(store, &series.alerts, ts, 1.0);
        }
        rs.written.finish(store, ts);
    }
    Ok(())
}
