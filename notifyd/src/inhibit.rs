//! Inhibition rules with Alertmanager's semantics (`inhibit/inhibit.go`).
//!
//! A firing alert matching a rule's `source_matchers` mutes every alert matching its
//! `target_matchers` that has the same values for the `equal` labels (a label missing on both sides
//! counts as equal). An alert matching both sides cannot be muted by a source that also matches the
//! target side, so an alert never inhibits itself. Pure: sources are fed in, time is a parameter.

use std::collections::BTreeMap;

use crate::config::InhibitRuleConfig;
use crate::group::{AlertIn, Millis};
use crate::matcher::{self, LabelSet, Matcher};

/// One inhibition rule.
#[derive(Debug, Clone)]
pub struct InhibitRule {
    /// Matchers a source alert satisfies.
    pub source: Vec<Matcher>,
    /// Matchers a muted alert satisfies.
    pub target: Vec<Matcher>,
    /// Labels whose values must be equal in source and target.
    pub equal: Vec<String>,
    /// Current source alerts by fingerprint.
    sources: BTreeMap<u64, AlertIn>,
}

/// All inhibition rules and their source alerts.
#[derive(Debug, Clone, Default)]
pub struct Inhibitor {
    /// The rules, in config order.
    pub rules: Vec<InhibitRule>,
}

impl Inhibitor {
    /// Builds the rules from config.
    pub fn new(rules: &[InhibitRuleConfig]) -> Self {
        Inhibitor {
            rules: rules
                .iter()
                .map(|r| InhibitRule {
                    source: r.source_matchers.clone(),
                    target: r.target_matchers.clone(),
                    equal: r.equal.clone(),
                    sources: BTreeMap::new(),
                })
                .collect(),
        }
    }

    /// Records an alert (new, refreshed or resolved) as a possible source.
    pub fn observe(&mut self, alert: &AlertIn) {
        let fp = alert.fingerprint();
        for r in &mut self.rules {
            if matcher::all_match(&r.source, &alert.labels) {
                r.sources.insert(fp, alert.clone());
            }
        }
    }

    /// Drops sources that are resolved at `now` (call now and then to bound memory).
    pub fn gc(&mut self, now: Millis) {
        for r in &mut self.rules {
            r.sources.retain(|_, a| !a.resolved_at(now));
        }
    }

    /// The index of the first rule that mutes an alert with `labels` at `now`, if any.
    pub fn muted_by(&self, labels: &LabelSet, now: Millis) -> Option<usize> {
        self.rules.iter().position(|r| {
            if !matcher::all_match(&r.target, labels) {
                return false;
            }
            let also_source = matcher::all_match(&r.source, labels);
            r.sources.values().any(|s| {
                if s.resolved_at(now) {
                    return false;
                }
                if also_source && matcher::all_match(&r.target, &s.labels) {
                    return false;
                }
                r.equal.iter().all(|l| s.labels.get(l) == labels.get(l))
            })
        })
    }

    /// Whether an alert with `labels` is inhibited at `now`.
    pub fn mutes(&self, labels: &LabelSet, now: Millis) -> bool {
        self.muted_by(labels, now).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;

    const RULES: &str = r#"
route: {receiver: r}
receivers: [{name: r}]
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [alertname, cluster]
  - source_match: {alertname: NodeDown}
    target_match_re: {alertname: '.+'}
    equal: [node]
  - source_matchers: [kind="both"]
    target_matchers: [kind=~"both|x"]
"#;

    fn inhibitor() -> Inhibitor {
        Inhibitor::new(&parse_str(RULES, "t.yml").unwrap().config.inhibit_rules)
    }

    fn labels(s: &str) -> LabelSet {
        s.split_whitespace()
            .map(|kv| kv.split_once('=').unwrap())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn alert(s: &str, ends: Option<Millis>) -> AlertIn {
        AlertIn {
            labels: labels(s),
            annotations: BTreeMap::new(),
            starts_at: 0,
            ends_at: ends,
            generator_url: String::new(),
        }
    }

    /// Feeds `sources`, then asks whether `target` is muted at time 100.
    fn check(sources: &[(&str, Option<Millis>)], target: &str, expect: Option<usize>) {
        let mut i = inhibitor();
        for (s, e) in sources {
            i.observe(&alert(s, *e));
        }
        assert_eq!(
            i.muted_by(&labels(target), 100),
            expect,
            "{sources:?} -> {target}"
        );
    }

    #[test]
    fn critical_mutes_warning_with_equal_labels() {
        let crit = "alertname=Disk cluster=a severity=critical";
        check(
            &[(crit, None)],
            "alertname=Disk cluster=a severity=warning",
            Some(0),
        );
        check(
            &[(crit, None)],
            "alertname=Disk cluster=b severity=warning",
            None,
        );
        check(
            &[(crit, None)],
            "alertname=Disk cluster=a severity=info",
            None,
        );
        check(
            &[(crit, Some(50))],
            "alertname=Disk cluster=a severity=warning",
            None,
        );
        check(
            &[(crit, Some(150))],
            "alertname=Disk cluster=a severity=warning",
            Some(0),
        );
    }

    #[test]
    fn missing_equal_labels_count_as_equal() {
        check(&[("alertname=NodeDown", None)], "alertname=Disk", Some(1));
        check(
            &[("alertname=NodeDown node=n1", None)],
            "alertname=Disk node=n2",
            None,
        );
        check(
            &[("alertname=NodeDown node=n1", None)],
            "alertname=Disk node=n1",
            Some(1),
        );
    }

    #[test]
    fn an_alert_does_not_inhibit_itself() {
        check(&[("kind=both", None)], "kind=both", None);
        check(&[("kind=both", None)], "kind=x", Some(2));
        // A NodeDown matches rule 1 on both sides, so another NodeDown cannot mute it.
        check(&[("alertname=NodeDown", None)], "alertname=NodeDown", None);
    }

    #[test]
    fn gc_drops_resolved_sources() {
        let mut i = inhibitor();
        i.observe(&alert("alertname=NodeDown", Some(50)));
        i.gc(100);
        assert!(i.rules[1].sources.is_empty());
    }
}
