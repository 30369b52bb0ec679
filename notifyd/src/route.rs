//! The route tree with Alertmanager's semantics (`dispatch/route.go` in Alertmanager 0.25).
//!
//! A route matches when all its matchers match. Children are tried in order; the first matching
//! child stops the search unless it has `continue: true`. A matching route with no matching child is
//! itself a result. Children inherit `receiver`, `group_by`, `group_wait`, `group_interval`,
//! `repeat_interval` (and notifyd's `resolve_wait`); `mute_time_intervals` and
//! `active_time_intervals` are not inherited, as in Alertmanager.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::config::RouteConfig;
use crate::matcher::{self, LabelSet, Matcher};

/// Settings in effect at a route after inheritance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteOpts {
    /// Receiver name.
    pub receiver: String,
    /// Labels to group by.
    pub group_by: BTreeSet<String>,
    /// Group by all labels (`...`).
    pub group_by_all: bool,
    /// Wait before the first notification of a new group (default 30s).
    pub group_wait: Duration,
    /// Wait between notifications of a group that changed (default 5m).
    pub group_interval: Duration,
    /// Wait before repeating an unchanged notification (default 4h).
    pub repeat_interval: Duration,
    /// notifyd: wait before flushing a group after one of its alerts resolved (default 5s).
    pub resolve_wait: Duration,
    /// Names of intervals during which notifications are muted.
    pub mute_time_intervals: Vec<String>,
    /// Names of intervals outside which notifications are muted.
    pub active_time_intervals: Vec<String>,
}

impl Default for RouteOpts {
    fn default() -> Self {
        RouteOpts {
            receiver: String::new(),
            group_by: BTreeSet::new(),
            group_by_all: false,
            group_wait: Duration::from_secs(30),
            group_interval: Duration::from_secs(300),
            repeat_interval: Duration::from_secs(4 * 3600),
            resolve_wait: Duration::from_secs(5),
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
        }
    }
}

/// One node of the route tree, with inherited settings resolved.
#[derive(Debug, Clone)]
pub struct Route {
    /// Matchers (sorted as Alertmanager sorts them).
    pub matchers: Vec<Matcher>,
    /// `continue`.
    pub continue_matching: bool,
    /// Settings in effect.
    pub opts: RouteOpts,
    /// Children.
    pub routes: Vec<Route>,
    /// Alertmanager's route key: the parent's key, `/`, and this route's matchers.
    pub key: String,
    /// The key plus the position among siblings (Alertmanager's route ID).
    pub id: String,
}

impl Route {
    /// Builds the tree from config, applying inheritance from the defaults.
    pub fn new(cfg: &RouteConfig) -> Route {
        build(cfg, None, None)
    }

    /// The routes an alert with `labels` ends at, in order (Alertmanager's `Route.Match`).
    pub fn match_labels(&self, labels: &LabelSet) -> Vec<&Route> {
        if !matcher::all_match(&self.matchers, labels) {
            return Vec::new();
        }
        let mut all = Vec::new();
        for child in &self.routes {
            let m = child.match_labels(labels);
            let matched = !m.is_empty();
            all.extend(m);
            if matched && !child.continue_matching {
                break;
            }
        }
        if all.is_empty() {
            all.push(self);
        }
        all
    }

    /// The receivers an alert reaches, in order, duplicates kept (as `amtool config routes test`).
    pub fn receivers(&self, labels: &LabelSet) -> Vec<&str> {
        self.match_labels(labels)
            .into_iter()
            .map(|r| r.opts.receiver.as_str())
            .collect()
    }

    /// The group labels for an alert at this route: all labels, or the `group_by` ones present.
    pub fn group_labels(&self, labels: &LabelSet) -> LabelSet {
        if self.opts.group_by_all {
            return labels.clone();
        }
        labels
            .iter()
            .filter(|(k, _)| self.opts.group_by.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Every route in the tree, depth first.
    pub fn walk(&self) -> Vec<&Route> {
        let mut out = vec![self];
        for c in &self.routes {
            out.extend(c.walk());
        }
        out
    }

    fn slug(&self, show_continue: bool, show_receiver: bool) -> String {
        let mut s = if self.matchers.is_empty() {
            "default-route".to_string()
        } else {
            matcher::format_matchers(&self.matchers)
        };
        if self.continue_matching && show_continue {
            s.push_str("  continue: true");
        }
        if show_receiver {
            s.push_str("  receiver: ");
            s.push_str(&self.opts.receiver);
        }
        s
    }

    /// The whole tree as `amtool config routes show` prints it (without the header line).
    pub fn show_tree(&self) -> String {
        let mut t = Tree::default();
        fn add(r: &Route, t: &mut Tree, parent: usize) {
            let me = t.add(parent, r.slug(true, true));
            for c in &r.routes {
                add(c, t, me);
            }
        }
        add(self, &mut t, 0);
        t.render()
    }

    /// The matching part of the tree as `amtool config routes test --tree` prints it.
    pub fn matching_tree(&self, labels: &LabelSet) -> String {
        let mut t = Tree::default();
        fn add(r: &Route, t: &mut Tree, parent: usize, labels: &LabelSet) {
            let me = t.add(parent, r.slug(false, false));
            let mut is_final = true;
            for c in &r.routes {
                if matcher::all_match(&c.matchers, labels) {
                    add(c, t, me, labels);
                    is_final = false;
                    if !c.continue_matching {
                        break;
                    }
                }
            }
            if is_final {
                t.nodes[me].0 = r.slug(false, true);
            }
        }
        add(self, &mut t, 0, labels);
        t.render()
    }
}

fn build(cfg: &RouteConfig, parent: Option<&Route>, position: Option<usize>) -> Route {
    let mut opts = parent.map(|p| p.opts.clone()).unwrap_or_default();
    if let Some(r) = &cfg.receiver
        && !r.is_empty()
    {
        opts.receiver = r.clone();
    }
    // Alertmanager: named labels replace the inherited ones and turn `...` off; `...` alone turns
    // it on; neither inherits both.
    if let Some(g) = &cfg.group_by {
        opts.group_by = g.iter().cloned().collect();
        opts.group_by_all = false;
    } else if cfg.group_by_all {
        opts.group_by_all = true;
    }
    for (src, dst) in [
        (cfg.group_wait, &mut opts.group_wait),
        (cfg.group_interval, &mut opts.group_interval),
        (cfg.repeat_interval, &mut opts.repeat_interval),
        (cfg.resolve_wait, &mut opts.resolve_wait),
    ] {
        if let Some(d) = src {
            *dst = d;
        }
    }
    opts.mute_time_intervals = cfg.mute_time_intervals.clone();
    opts.active_time_intervals = cfg.active_time_intervals.clone();
    let own = matcher::format_matchers(&cfg.matchers);
    let key = match parent {
        Some(p) => format!("{}/{own}", p.key),
        None => own,
    };
    let id = match position {
        Some(i) => format!("{key}/{i}"),
        None => key.clone(),
    };
    let mut route = Route {
        matchers: cfg.matchers.clone(),
        continue_matching: cfg.continue_matching,
        opts,
        routes: Vec::new(),
        key,
        id,
    };
    let children: Vec<Route> = cfg
        .routes
        .iter()
        .enumerate()
        .map(|(i, c)| build(c, Some(&route), Some(i)))
        .collect();
    route.routes = children;
    route
}

/// A minimal port of the `treeprint` layout amtool uses.
#[derive(Default)]
struct Tree {
    /// (text, children); index 0 is the root `.`.
    nodes: Vec<(String, Vec<usize>)>,
}

impl Tree {
    fn add(&mut self, parent: usize, text: String) -> usize {
        if self.nodes.is_empty() {
            self.nodes.push((".".into(), Vec::new()));
        }
        self.nodes.push((text, Vec::new()));
        let id = self.nodes.len() - 1;
        self.nodes[parent].1.push(id);
        id
    }

    fn render(&self) -> String {
        let mut out = String::from(".\n");
        self.render_children(0, "", &mut out);
        out
    }

    fn render_children(&self, node: usize, prefix: &str, out: &mut String) {
        let children = &self.nodes[node].1;
        for (i, &c) in children.iter().enumerate() {
            let last = i + 1 == children.len();
            out.push_str(prefix);
            out.push_str(if last { "└── " } else { "├── " });
            out.push_str(&self.nodes[c].0);
            out.push('\n');
            // treeprint draws the vertical link as "│", two no-break spaces and a space.
            let next = format!("{prefix}{}", if last { "    " } else { "│\u{a0}\u{a0} " });
            self.render_children(c, &next, out);
        }
    }
}

#[cfg(test)]
#[path = "route_tests.rs"]
mod tests;
