//! Evaluating independent groups concurrently with the result of the sequential order.
//!
//! Groups are evaluated in order and a group sees what earlier groups wrote at the same time
//! (recording rules, `ALERTS` / `ALERTS_FOR_STATE`), and a rule sees what earlier rules of its
//! group wrote. A run of consecutive groups can therefore be evaluated at once when
//! - no group reads a metric that an earlier group of the run writes, and
//! - no rule reads a metric that an earlier rule of its own group writes:
//!
//! then every rule reads exactly what it would read in order (the store as it was before the
//! run). Each group of such a run reads the store shared and collects its writes in a buffer;
//! the buffers are applied in group order afterwards, so series are created and samples
//! appended in the sequential order too. A selector without a fixed metric name reads every
//! metric, and so does a rule whose templates call `query`; a recording rule with a `__name__`
//! label may write any.

use std::collections::BTreeSet;

use super::output::{self, BufferedWrite, Out};
use super::{Engine, GroupState, Transition, eval_group};
use crate::diagnostic::Diagnostic;
use crate::input::METRIC_NAME;
use crate::rule::{Rule, RuleKind};
use crate::syntax::Expr;

/// A set of metric names, or all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Names {
    all: bool,
    names: BTreeSet<String>,
}

impl Names {
    fn add(&mut self, name: Option<&str>) {
        match name {
            Some(n) => {
                self.names.insert(n.to_string());
            }
            None => self.all = true,
        }
    }

    fn extend(&mut self, other: &Names) {
        self.all |= other.all;
        self.names.extend(other.names.iter().cloned());
    }

    fn intersects(&self, other: &Names) -> bool {
        if self.all {
            return other.all || !other.names.is_empty();
        }
        if other.all {
            return !self.names.is_empty();
        }
        self.names.iter().any(|n| other.names.contains(n))
    }
}

/// The metric names an expression reads (log selectors read log streams, which no rule
/// writes).
fn reads(e: &Expr) -> Names {
    let mut out = Names::default();
    e.walk(&mut |x| match x {
        Expr::Vector(vs) => out.add(vs.fixed_metric_name()),
        Expr::Matrix(ms) => out.add(ms.selector.fixed_metric_name()),
        _ => {}
    });
    out
}

/// The metric names a rule writes.
fn writes(rule: &Rule, alert_series: bool) -> Names {
    let mut out = Names::default();
    match rule.kind {
        RuleKind::Recording => {
            let renamed = rule.labels.iter().any(|l| l.name == METRIC_NAME);
            out.add((!renamed).then_some(rule.name.as_str()));
        }
        RuleKind::Alerting => {
            if alert_series {
                out.add(Some("ALERTS"));
                out.add(Some("ALERTS_FOR_STATE"));
            }
        }
    }
    out
}

/// What one group reads and writes, and whether its rules can run with buffered writes.
#[derive(Debug, Clone, Default)]
pub(crate) struct GroupDeps {
    reads: Names,
    writes: Names,
    /// no rule reads what an earlier rule of the group writes
    self_contained: bool,
}

/// The dependencies of a group's rules.
pub(crate) fn group_deps(gs: &GroupState, alert_series: bool) -> GroupDeps {
    let mut d = GroupDeps {
        self_contained: true,
        ..Default::default()
    };
    for rs in &gs.rules {
        // the expression (the alert paths evaluate `resolve_expr` and the comparison's input
        // at the same time)
        let mut r = reads(&rs.rule.expr);
        if let Some(re) = &rs.rule.resolve_expr {
            r.extend(&reads(re));
        }
        // a template's `query` may read anything (its text may even be computed)
        let queries = rs.rule.labels.iter().chain(&rs.rule.annotations);
        if queries
            .filter_map(|p| p.template.as_ref())
            .any(|t| t.uses_query())
        {
            r.add(None);
        }
        if r.intersects(&d.writes) {
            d.self_contained = false;
        }
        d.reads.extend(&r);
        d.writes.extend(&writes(&rs.rule, alert_series));
    }
    d
}

/// Splits the groups `gis` into runs (ranges of positions in `gis`) that can be evaluated at
/// once: a run of several groups has only self-contained groups, none reading what an earlier
/// one of the run writes. With one thread every run is one group.
pub(crate) fn runs(
    deps: &[GroupDeps],
    gis: &[usize],
    threads: usize,
) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < gis.len() {
        let mut j = i + 1;
        if threads > 1 && deps[gis[i]].self_contained {
            let mut written = deps[gis[i]].writes.clone();
            while j < gis.len() {
                let d = &deps[gis[j]];
                if !d.self_contained || d.reads.intersects(&written) {
                    break;
                }
                written.extend(&d.writes);
                j += 1;
            }
        }
        out.push(i..j);
        i = j;
    }
    out
}

/// A split into runs for some groups and thread count: (groups, threads, runs).
pub(crate) type RunsCache = (Vec<usize>, usize, Vec<std::ops::Range<usize>>);

/// What one group's evaluation produced, applied after the run.
#[derive(Default)]
struct GroupResult {
    transitions: Vec<Transition>,
    diagnostics: Vec<Diagnostic>,
    writes: Vec<BufferedWrite>,
}

impl Engine {
    /// Evaluates the groups `gis` (increasing indexes) at `ts` with the sequential result,
    /// runs of independent groups on up to `eval_threads` threads.
    pub(super) fn eval_groups(&mut self, gis: &[usize], ts: i64, out: &mut Vec<Transition>) {
        let threads = self.config.eval_threads.max(1);
        // the split is the same at every evaluation of the same groups: keep the last one
        let cached = self
            .runs_cache
            .as_ref()
            .filter(|(g, t, _)| g.as_slice() == gis && *t == threads);
        let split = match cached {
            Some((_, _, r)) => r.clone(),
            None => {
                let r = runs(&self.deps, gis, threads);
                self.runs_cache = Some((gis.to_vec(), threads, r.clone()));
                r
            }
        };
        for r in split {
            if r.len() == 1 {
                let gi = gis[r.start];
                let mut store = Out::Direct(&mut self.store);
                // rules of a self-contained group read nothing the group writes: they can
                // share subexpression results
                let shared = (self.share_subexpressions && self.deps[gi].self_contained)
                    .then(|| crate::eval::SharedResults::new(self.repeated.clone()));
                eval_group(
                    &self.config,
                    &mut self.groups[gi],
                    &mut store,
                    ts,
                    shared.as_ref(),
                    out,
                    &mut self.diagnostics,
                );
            } else {
                self.eval_run(&gis[r], ts, threads, out);
            }
        }
    }

    /// Evaluates a run of independent groups concurrently, then applies their results in
    /// group order.
    fn eval_run(&mut self, run: &[usize], ts: i64, threads: usize, out: &mut Vec<Transition>) {
        let config = &self.config;
        let store = &self.store;
        let share = self.share_subexpressions;
        let repeated = &self.repeated;
        // each group is taken by the next free thread (groups differ in cost: how many
        // alerts they hold, how many series their selectors match)
        let jobs: Vec<std::sync::Mutex<(&mut GroupState, GroupResult)>> = self
            .groups
            .iter_mut()
            .enumerate()
            .filter(|(gi, _)| run.binary_search(gi).is_ok())
            .map(|(_, g)| std::sync::Mutex::new((g, GroupResult::default())))
            .collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || {
            // the store does not change during the run: one set of shared results per thread
            let shared = crate::eval::SharedResults::new(repeated.clone());
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(job) = jobs.get(i) else {
                    break;
                };
                let mut job = job
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let (g, res) = &mut *job;
                let mut o = Out::Buffered {
                    store,
                    writes: &mut res.writes,
                    rule: 0,
                };
                eval_group(
                    config,
                    g,
                    &mut o,
                    ts,
                    share.then_some(&shared),
                    &mut res.transitions,
                    &mut res.diagnostics,
                );
            }
        };
        std::thread::scope(|s| {
            for _ in 1..threads.min(jobs.len()) {
                s.spawn(work);
            }
            work();
        });
        for job in jobs {
            let (g, r) = job
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            out.extend(r.transitions);
            self.diagnostics.extend(r.diagnostics);
            output::apply(&mut self.store, &mut g.rules, r.writes);
        }
    }
}

#[cfg(test)]
mod tests;
