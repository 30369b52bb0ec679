//! A combined prefilter over the line filters of many log expressions, so that each log line
//! is scanned once: one Aho-Corasick automaton for all literal filters (`|=`, `!=`) and one
//! `RegexSet` for all regex filters (`|~`, `!~`), run only when a literal check left a
//! selector undecided.

use aho_corasick::{AhoCorasick, MatchKind};
use regex::RegexSet;

use crate::input::Labels;
use crate::syntax::{Expr, LineFilterOp, Matcher, Stage};

#[derive(Debug, Clone)]
struct Cond {
    /// index into literals (regex = false) or regexes (regex = true)
    idx: usize,
    regex: bool,
    negate: bool,
}

#[derive(Debug, Clone)]
struct Sel {
    expr: usize,
    matchers: Vec<Matcher>,
    conds: Vec<Cond>,
}

/// Prefilter built from the log selectors of many expressions.
///
/// [`LogPrefilter::candidates`] tells which expressions could use a line: one of their log
/// selectors has all positive line filters matching and no negative one. Metric-only
/// expressions are never candidates. The engine stores and evaluates only candidate lines.
#[derive(Debug, Clone, Default)]
pub struct LogPrefilter {
    n: usize,
    sels: Vec<Sel>,
    ac: Option<AhoCorasick>,
    n_lits: usize,
    set: Option<RegexSet>,
    n_regexes: usize,
}

impl LogPrefilter {
    /// Builds the prefilter for `exprs` (index `i` in results refers to the i-th expression).
    pub fn new<'a>(exprs: impl IntoIterator<Item = &'a Expr>) -> Self {
        let mut lits: Vec<String> = Vec::new();
        let mut res: Vec<String> = Vec::new();
        let mut sels = Vec::new();
        let mut n = 0;
        for (ei, e) in exprs.into_iter().enumerate() {
            n = ei + 1;
            for s in e.log_selectors() {
                let mut conds = Vec::new();
                for st in &s.pipeline {
                    let Stage::Line(f) = st else { continue };
                    let (regex, negate) = match f.op {
                        LineFilterOp::Contains => (false, false),
                        LineFilterOp::NotContains => (false, true),
                        LineFilterOp::Regex => (true, false),
                        LineFilterOp::NotRegex => (true, true),
                    };
                    if !regex && f.pattern.is_empty() {
                        if negate {
                            // `!= ""` excludes every line
                            conds.push(Cond {
                                idx: usize::MAX,
                                regex: false,
                                negate: true,
                            });
                        }
                        continue;
                    }
                    let pool = if regex { &mut res } else { &mut lits };
                    let idx = match pool.iter().position(|p| *p == f.pattern) {
                        Some(i) => i,
                        None => {
                            pool.push(f.pattern.clone());
                            pool.len() - 1
                        }
                    };
                    conds.push(Cond { idx, regex, negate });
                }
                // literal conditions first: they are cheap and may decide the selector
                conds.sort_by_key(|c| c.regex);
                sels.push(Sel {
                    expr: ei,
                    matchers: s.matchers.clone(),
                    conds,
                });
            }
        }
        let ac = if lits.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&lits)
                .ok()
        };
        let set = if res.is_empty() {
            None
        } else {
            RegexSet::new(&res).ok()
        };
        LogPrefilter {
            n,
            sels,
            n_lits: lits.len(),
            ac,
            n_regexes: res.len(),
            set,
        }
    }

    /// Number of expressions the prefilter was built from.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when built from no expression.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Writes into `out` the (sorted, unique) indexes of the expressions that may need `line`,
    /// whatever stream it comes from.
    pub fn candidates(&self, line: &str, out: &mut Vec<usize>) {
        self.scan(None, line, out);
    }

    /// Like [`LogPrefilter::candidates`], but also checks each selector's stream matchers
    /// against the line's stream labels.
    pub fn candidates_for_stream(&self, stream: &Labels, line: &str, out: &mut Vec<usize>) {
        self.scan(Some(stream), line, out);
    }

    /// True when any expression may need `line` (from any stream).
    pub fn any(&self, line: &str) -> bool {
        let mut out = Vec::new();
        self.scan(None, line, &mut out);
        !out.is_empty()
    }

    /// True when any expression may need `line` from `stream`.
    pub fn any_for_stream(&self, stream: &Labels, line: &str) -> bool {
        let mut out = Vec::new();
        self.scan(Some(stream), line, &mut out);
        !out.is_empty()
    }

    fn scan(&self, stream: Option<&Labels>, line: &str, out: &mut Vec<usize>) {
        out.clear();
        let mut lit_hits = vec![false; self.n_lits];
        if let Some(ac) = &self.ac {
            for m in ac.find_overlapping_iter(line) {
                lit_hits[m.pattern().as_usize()] = true;
            }
        }
        let mut re_hits: Option<Vec<bool>> = None;
        for s in &self.sels {
            if out.last() == Some(&s.expr) {
                continue;
            }
            if let Some(st) = stream
                && !s
                    .matchers
                    .iter()
                    .all(|m| m.matches(st.get(&m.name).unwrap_or("")))
            {
                continue;
            }
            let mut ok = true;
            for c in &s.conds {
                let hit = if c.idx == usize::MAX {
                    true
                } else if c.regex {
                    let hits = re_hits.get_or_insert_with(|| {
                        let mut h = vec![false; self.n_regexes];
                        if let Some(set) = &self.set {
                            for i in set.matches(line).iter() {
                                h[i] = true;
                            }
                        }
                        h
                    });
                    hits[c.idx]
                } else {
                    lit_hits[c.idx]
                };
                if hit == c.negate {
                    ok = false;
                    break;
                }
            }
            if ok && !out.contains(&s.expr) {
                out.push(s.expr);
            }
        }
        out.sort_unstable();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse_expr;

    #[test]
    fn selects_by_filters_and_streams() {
        let exprs: Vec<Expr> = [
            r#"count_over_time({app="api"} |= "error" != "debug" [5m])"#,
            r#"count_over_time({app="db"} |~ "timeout|deadlock" [5m])"#,
            r#"rate({app="api"} | json [1m])"#,
            "rate(x[5m])",
            r#"count_over_time({app="api"} !~ "^GET" |= "" [1m])"#,
        ]
        .iter()
        .map(|s| parse_expr(s).unwrap())
        .collect();
        let p = LogPrefilter::new(&exprs);
        let mut out = Vec::new();
        p.candidates("an error occurred", &mut out);
        assert_eq!(out, vec![0, 2, 4]);
        p.candidates("debug error", &mut out);
        assert_eq!(out, vec![2, 4]);
        p.candidates("GET lock timeout", &mut out);
        assert_eq!(out, vec![1, 2]);
        let api = Labels::from_pairs([("app", "api")]);
        p.candidates_for_stream(&api, "GET lock timeout error", &mut out);
        assert_eq!(out, vec![0, 2]);
        assert!(p.any_for_stream(&api, "x"));
        assert!(p.any("x"));
        let other = Labels::from_pairs([("app", "web")]);
        assert!(!p.any_for_stream(&other, "error"));
    }
}
