//! Alert state that outlives an engine: [`EngineState`] export/import (notifyd persists it
//! across restarts) and [`Engine::replace_rules`], which keeps the state of unchanged rules.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::{Engine, RuleState, rule_states};
use crate::alert::Alert;
use crate::error::StateError;
use crate::rule::{Group, RuleKind};

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
    /// [`crate::rule::Rule::identity`].
    pub identity: String,
    /// The alert records.
    pub alerts: Vec<Alert>,
}

const STATE_VERSION: u32 = 1;

impl Engine {
    /// Replaces the rule set. Alert state is kept for rules whose kind, name, expression and
    /// labels are unchanged ([`crate::rule::Rule::identity`]); the store and its data are kept.
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
                    r.alert_series.clear();
                }
            }
        }
        Ok(())
    }
}
