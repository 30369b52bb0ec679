//! The alert lifecycle of one (rule, label set) as a pure function: [`step`] takes the alert's
//! current record, what this evaluation saw and the time, and updates the record in place,
//! returning the state change if there was one.
//!
//! inactive → pending (`for`) → firing → inactive (resolved), with Prometheus 2.42 semantics
//! (`for` counted from the first evaluation that saw the series; `keep_firing_for` counted from
//! the first evaluation that did not), plus the extensions `resolve_for`, `resolve_expr`
//! (hysteresis) and the `nodata` state.

use serde::{Deserialize, Serialize};

use crate::input::Labels;

/// Where an alert is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Not active (never was, or resolved).
    Inactive,
    /// Condition holds, waiting for `for`.
    Pending,
    /// Firing.
    Firing,
    /// The rule returned no data at all and its policy is `nodata`.
    Nodata,
}

impl AlertState {
    /// Lowercase name as Prometheus prints it (`pending`, `firing`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Nodata => "nodata",
        }
    }
}

/// The timing parameters of an alerting rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timing {
    /// `for` (ms).
    pub for_ms: i64,
    /// `keep_firing_for` (ms).
    pub keep_firing_for_ms: i64,
    /// `resolve_for` (ms).
    pub resolve_for_ms: i64,
}

/// How long a resolved alert is kept (Prometheus: 15 minutes) before it is forgotten.
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// One alert's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Final labels (series labels without `__name__`, rule labels, `alertname`).
    #[serde(with = "labels_serde")]
    pub labels: Labels,
    /// Rendered annotations, name order.
    pub annotations: Vec<(String, String)>,
    /// The last value seen.
    pub value: f64,
    /// Current state.
    pub state: AlertState,
    /// When the condition started holding (ms).
    pub active_at_ms: i64,
    /// When it started firing.
    pub fired_at_ms: Option<i64>,
    /// When it resolved.
    pub resolved_at_ms: Option<i64>,
    /// Start of the current `keep_firing_for` window.
    pub keep_firing_since_ms: Option<i64>,
    /// Last evaluation at which the condition held.
    pub last_true_ms: i64,
    /// The state before entering `nodata`.
    pub before_nodata: Option<AlertState>,
}

/// What one evaluation saw for this alert's label set.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// The expression returned the series, with its value and rendered annotations.
    Present {
        /// Sample value.
        value: f64,
        /// Rendered annotations.
        annotations: Vec<(String, String)>,
    },
    /// The expression did not return it. `resolve_ok` is false when a `resolve_expr` exists
    /// and does not return the series (hysteresis holds the alert).
    Absent {
        /// Whether the alert may resolve now as far as `resolve_expr` is concerned.
        resolve_ok: bool,
    },
    /// The rule returned nothing at all and its policy is `nodata`.
    NoData,
}

/// A state change of one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// State before this step.
    pub from: AlertState,
    /// State after this step.
    pub to: AlertState,
}

/// A fresh record for a label set first seen at `now` (state inactive until stepped).
pub fn new_alert(labels: Labels, now: i64) -> Alert {
    Alert {
        labels,
        annotations: Vec::new(),
        value: 0.0,
        state: AlertState::Inactive,
        active_at_ms: now,
        fired_at_ms: None,
        resolved_at_ms: None,
        keep_firing_since_ms: None,
        last_true_ms: now,
        before_nodata: None,
    }
}

/// Advances `a` by one evaluation at `now`. Returns the state change, if any; call
/// [`is_expired`] afterwards to know whether the record can be dropped.
pub fn step(a: &mut Alert, seen: Seen, now: i64, t: Timing) -> Option<Change> {
    let from = a.state;
    if a.state == AlertState::Nodata && seen != Seen::NoData {
        a.state = a.before_nodata.take().unwrap_or(AlertState::Pending);
    }
    match seen {
        Seen::NoData => {
            if matches!(a.state, AlertState::Pending | AlertState::Firing) {
                a.before_nodata = Some(a.state);
                a.state = AlertState::Nodata;
            }
        }
        Seen::Present { value, annotations } => {
            a.value = value;
            a.annotations = annotations;
            a.keep_firing_since_ms = None;
            a.last_true_ms = now;
            if a.state == AlertState::Inactive {
                a.state = AlertState::Pending;
                a.active_at_ms = now;
                a.fired_at_ms = None;
                a.resolved_at_ms = None;
            }
        }
        Seen::Absent { resolve_ok } => {
            let mut hold = false;
            if a.state == AlertState::Firing && t.keep_firing_for_ms > 0 {
                let since = *a.keep_firing_since_ms.get_or_insert(now);
                hold |= now - since < t.keep_firing_for_ms;
            }
            if matches!(a.state, AlertState::Pending | AlertState::Firing) {
                hold |= t.resolve_for_ms > 0 && now - a.last_true_ms < t.resolve_for_ms;
                hold |= !resolve_ok;
            }
            if !hold && a.state != AlertState::Inactive {
                if a.state == AlertState::Firing {
                    a.resolved_at_ms = Some(now);
                }
                a.state = AlertState::Inactive;
                a.keep_firing_since_ms = None;
            }
        }
    }
    if a.state == AlertState::Pending && now - a.active_at_ms >= t.for_ms {
        a.state = AlertState::Firing;
        a.fired_at_ms = Some(now);
    }
    (a.state != from).then_some(Change { from, to: a.state })
}

/// Whether an inactive record can be forgotten: never-fired ones at once, resolved ones after
/// [`RESOLVED_RETENTION_MS`].
pub fn is_expired(a: &Alert, now: i64) -> bool {
    a.state == AlertState::Inactive
        && a.resolved_at_ms
            .is_none_or(|r| now - r > RESOLVED_RETENTION_MS)
}

/// Serde for [`Labels`] as a list of `[name, value]` pairs.
pub(crate) mod labels_serde {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::input::Labels;

    pub(crate) fn serialize<S: Serializer>(l: &Labels, s: S) -> Result<S::Ok, S::Error> {
        let v: Vec<(&str, &str)> = l.iter().collect();
        v.serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Labels, D::Error> {
        let v: Vec<(String, String)> = Vec::deserialize(d)?;
        Ok(Labels::from_pairs(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn present(v: f64) -> Seen {
        Seen::Present {
            value: v,
            annotations: Vec::new(),
        }
    }
    const ABSENT: Seen = Seen::Absent { resolve_ok: true };

    fn run(inputs: &[bool], t: Timing, step_ms: i64) -> Vec<AlertState> {
        let mut a = new_alert(Labels::empty(), 0);
        inputs
            .iter()
            .enumerate()
            .map(|(i, on)| {
                step(
                    &mut a,
                    if *on { present(1.0) } else { ABSENT },
                    i as i64 * step_ms,
                    t,
                );
                a.state
            })
            .collect()
    }

    use AlertState::{Firing as F, Inactive as I, Pending as P};

    #[test]
    fn pending_then_firing_then_resolved() {
        let t = Timing {
            for_ms: 120,
            ..Default::default()
        };
        assert_eq!(
            run(&[true, true, true, true, false], t, 60),
            [P, P, F, F, I]
        );
    }

    #[test]
    fn zero_for_fires_at_once_and_gap_resets_pending() {
        assert_eq!(run(&[true, false, true], Timing::default(), 60), [F, I, F]);
        let t = Timing {
            for_ms: 120,
            ..Default::default()
        };
        assert_eq!(
            run(&[true, true, false, true, true, true], t, 60),
            [P, P, I, P, P, F]
        );
    }

    #[test]
    fn keep_firing_for_holds_a_firing_alert() {
        let t = Timing {
            keep_firing_for_ms: 120,
            ..Default::default()
        };
        assert_eq!(
            run(&[true, false, false, false, true], t, 60),
            [F, F, F, I, F]
        );
    }

    #[test]
    fn resolve_for_bridges_gaps_in_pending() {
        let t = Timing {
            for_ms: 180,
            resolve_for_ms: 120,
            ..Default::default()
        };
        assert_eq!(run(&[true, true, false, true], t, 60), [P, P, P, F]);
    }

    #[test]
    fn hysteresis_holds_until_resolve_expr_matches() {
        let mut a = new_alert(Labels::empty(), 0);
        let t = Timing::default();
        step(&mut a, present(95.0), 0, t);
        assert_eq!(a.state, F);
        assert_eq!(
            step(&mut a, Seen::Absent { resolve_ok: false }, 60, t),
            None
        );
        let c = step(&mut a, Seen::Absent { resolve_ok: true }, 120, t).unwrap();
        assert_eq!((c.from, c.to, a.resolved_at_ms), (F, I, Some(120)));
    }

    #[test]
    fn nodata_round_trip() {
        let mut a = new_alert(Labels::empty(), 0);
        let t = Timing::default();
        step(&mut a, present(1.0), 0, t);
        let c = step(&mut a, Seen::NoData, 60, t).unwrap();
        assert_eq!(c.to, AlertState::Nodata);
        let c = step(&mut a, present(1.0), 120, t).unwrap();
        assert_eq!(
            (c.from, c.to, a.fired_at_ms),
            (AlertState::Nodata, F, Some(0))
        );
    }

    proptest! {
        #[test]
        fn lifecycle_invariants(
            inputs in proptest::collection::vec(any::<bool>(), 1..60),
            for_steps in 0i64..5, kff_steps in 0i64..4, rf_steps in 0i64..3,
        ) {
            let step_ms = 15_000;
            let t = Timing {
                for_ms: for_steps * step_ms,
                keep_firing_for_ms: kff_steps * step_ms,
                resolve_for_ms: rf_steps * step_ms,
            };
            let mut a = new_alert(Labels::empty(), 0);
            let mut prev = AlertState::Inactive;
            let mut run_len = 0i64; // consecutive present evaluations
            for (i, on) in inputs.iter().enumerate() {
                let now = i as i64 * step_ms;
                let change = step(&mut a, if *on { present(i as f64) } else { ABSENT }, now, t);
                // a change is reported exactly when the state changed
                prop_assert_eq!(change.is_some(), a.state != prev);
                if let Some(c) = change {
                    prop_assert_eq!(c.from, prev);
                    prop_assert_eq!(c.to, a.state);
                }
                run_len = if *on { run_len + 1 } else { 0 };
                match a.state {
                    AlertState::Firing => {
                        // fired only after `for` elapsed since activation
                        let fired = a.fired_at_ms.unwrap();
                        prop_assert!(fired - a.active_at_ms >= t.for_ms);
                        prop_assert!(fired <= now);
                    }
                    AlertState::Pending => prop_assert!(now - a.active_at_ms < t.for_ms),
                    AlertState::Inactive => {
                        // without any holding extension an absent series resolves at once
                        prop_assert!(!*on);
                    }
                    AlertState::Nodata => prop_assert!(false, "no nodata input given"),
                }
                if *on && t.resolve_for_ms == 0 {
                    // with no gap bridging, `for` is measured over the current run
                    prop_assert_eq!(a.state == AlertState::Firing || prev == AlertState::Firing,
                        (run_len - 1) * step_ms >= t.for_ms || prev == AlertState::Firing);
                }
                if !*on && t.keep_firing_for_ms == 0 && t.resolve_for_ms == 0 {
                    prop_assert_eq!(a.state, AlertState::Inactive);
                }
                if let (Some(r), Some(f)) = (a.resolved_at_ms, a.fired_at_ms) {
                    prop_assert!(r >= f);
                }
                prev = a.state;
            }
        }
    }
}
