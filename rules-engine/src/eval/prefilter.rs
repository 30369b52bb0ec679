//! A combined prefilter over the line filters of many log expressions, so that each log line
//! is scanned once.
//!
//! Every positive filter (`|=` literals and `|~` regexes of all selectors) forms one regex
//! alternation. Most lines match none of them, and those are decided by precomputed verdicts;
//! blocks of lines are searched at once, as `rg` does. Only a line that matches runs one
//! `RegexSet` pass telling which positive filters match, plus one Aho-Corasick scan for the
//! `!=` literals and the (rare) `!~` regexes.

use aho_corasick::{AhoCorasick, MatchKind};
use regex::{Regex, RegexSet};

use crate::input::Labels;
use crate::syntax::{Expr, LineFilterOp, Matcher, Stage};

#[derive(Debug, Clone)]
enum Cond {
    /// `|=` / `|~`: index into the positive patterns
    Pos(usize),
    /// `!=`: index into the negative literals
    NegLit(usize),
    /// `!~`
    NegRe(Regex),
    /// `!= ""`: never passes
    Never,
}

#[derive(Debug, Clone)]
struct Sel {
    expr: usize,
    matchers: Vec<Matcher>,
    conds: Vec<Cond>,
    /// Verdict for a line that matches no positive pattern (None: negatives must be checked).
    no_hit: Option<bool>,
}

/// Prefilter built from the log selectors of many expressions.
///
/// [`LogPrefilter::candidates`] tells which expressions could use a line: one of their log
/// selectors has all positive line filters matching and no negative one. Metric-only
/// expressions are never candidates. The engine stores and evaluates only candidate lines;
/// [`LogPrefilter::scan_text`] does the same for a whole block of lines at once.
#[derive(Debug, Clone, Default)]
pub struct LogPrefilter {
    n: usize,
    sels: Vec<Sel>,
    /// alternation of every positive pattern
    any: Option<Regex>,
    /// the positive patterns as a set, for lines that match `any`
    set: Option<RegexSet>,
    n_pos: usize,
    /// the `!=` literals
    neg: Option<AhoCorasick>,
    n_neg: usize,
    /// selectors whose verdict on a no-hit line is not static
    dynamic: Vec<usize>,
    /// sorted expression indexes that are candidates for any no-hit line
    no_hit_true: Vec<usize>,
}

fn intern(pool: &mut Vec<String>, s: String) -> usize {
    match pool.iter().position(|p| *p == s) {
        Some(i) => i,
        None => {
            pool.push(s);
            pool.len() - 1
        }
    }
}

impl LogPrefilter {
    /// Builds the prefilter for `exprs` (index `i` in results refers to the i-th expression).
    pub fn new<'a>(exprs: impl IntoIterator<Item = &'a Expr>) -> Self {
        let mut pos: Vec<String> = Vec::new();
        let mut neg: Vec<String> = Vec::new();
        let mut sels = Vec::new();
        let mut n = 0;
        for (ei, e) in exprs.into_iter().enumerate() {
            n = ei + 1;
            for s in e.log_selectors() {
                let mut conds = Vec::new();
                for st in &s.pipeline {
                    let Stage::Line(f) = st else { continue };
                    let c = match f.op {
                        LineFilterOp::Contains if f.pattern.is_empty() => continue,
                        LineFilterOp::NotContains if f.pattern.is_empty() => Cond::Never,
                        LineFilterOp::Contains => {
                            Cond::Pos(intern(&mut pos, regex::escape(&f.pattern)))
                        }
                        LineFilterOp::Regex => {
                            Cond::Pos(intern(&mut pos, format!("(?:{})", f.pattern)))
                        }
                        LineFilterOp::NotContains => {
                            Cond::NegLit(intern(&mut neg, f.pattern.clone()))
                        }
                        LineFilterOp::NotRegex => match &f.regex {
                            Some(r) => Cond::NegRe(r.clone()),
                            None => continue,
                        },
                    };
                    conds.push(c);
                }
                let has_positive = conds
                    .iter()
                    .any(|c| matches!(c, Cond::Pos(_) | Cond::Never));
                let no_hit = if has_positive {
                    Some(false)
                } else if conds.is_empty() {
                    Some(true)
                } else {
                    None
                };
                sels.push(Sel {
                    expr: ei,
                    matchers: s.matchers.clone(),
                    conds,
                    no_hit,
                });
            }
        }
        let dynamic = (0..sels.len())
            .filter(|&i| sels[i].no_hit.is_none())
            .collect();
        let mut no_hit_true: Vec<usize> = sels
            .iter()
            .filter(|s| s.no_hit == Some(true))
            .map(|s| s.expr)
            .collect();
        no_hit_true.dedup();
        let any = (!pos.is_empty())
            .then(|| {
                regex::RegexBuilder::new(&pos.join("|"))
                    .size_limit(256 << 20)
                    .dfa_size_limit(256 << 20)
                    .build()
                    .ok()
            })
            .flatten();
        let set = (!pos.is_empty())
            .then(|| {
                regex::RegexSetBuilder::new(&pos)
                    .size_limit(256 << 20)
                    .dfa_size_limit(256 << 20)
                    .build()
                    .ok()
            })
            .flatten();
        let negac = (!neg.is_empty())
            .then(|| {
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&neg)
                    .ok()
            })
            .flatten();
        LogPrefilter {
            n,
            sels,
            any,
            set,
            n_pos: pos.len(),
            neg: negac,
            n_neg: neg.len(),
            dynamic,
            no_hit_true,
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

    /// Scans a block of newline-separated lines (e.g. a chunk read from a log file) from
    /// `stream` (or any stream when `None`) and calls `f(line, candidates)` for each line that
    /// some expression may need, in order. When every selector has a positive filter, this
    /// searches the whole block at once and touches only matching lines, which is several
    /// times faster than calling [`LogPrefilter::candidates`] per line.
    pub fn scan_text<'t>(
        &self,
        stream: Option<&Labels>,
        text: &'t str,
        mut f: impl FnMut(&'t str, &[usize]),
    ) {
        let mut out = Vec::new();
        let every_line = self
            .sels
            .iter()
            .any(|s| s.no_hit != Some(false) && Self::stream_ok(s, stream));
        let Some(any) = self.any.as_ref().filter(|_| !every_line) else {
            for line in text.lines() {
                self.scan(stream, line, &mut out);
                if !out.is_empty() {
                    f(line, &out);
                }
            }
            return;
        };
        let bytes = text.as_bytes();
        let mut next_line = 0;
        for m in any.find_iter(text) {
            if m.start() < next_line {
                continue; // another match on a line already handled
            }
            let start = bytes[next_line..m.start()]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(next_line, |p| next_line + p + 1);
            let end = bytes[m.start()..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |p| m.start() + p);
            let mut line = &text[start..end];
            if let Some(l) = line.strip_suffix('\r') {
                line = l;
            }
            self.scan_hit(stream, line, &mut out);
            if !out.is_empty() {
                f(line, &out);
            }
            next_line = end + 1;
        }
    }

    fn stream_ok(s: &Sel, stream: Option<&Labels>) -> bool {
        stream.is_none_or(|st| {
            s.matchers
                .iter()
                .all(|m| m.matches(st.get(&m.name).unwrap_or("")))
        })
    }

    fn scan(&self, stream: Option<&Labels>, line: &str, out: &mut Vec<usize>) {
        out.clear();
        let hit_any = self.any.as_ref().is_some_and(|re| re.is_match(line));
        if hit_any {
            return self.scan_hit(stream, line, out);
        }
        // no positive filter matches: static verdicts, plus selectors with only negatives
        if stream.is_none() {
            out.extend_from_slice(&self.no_hit_true);
        } else {
            for s in &self.sels {
                if s.no_hit == Some(true)
                    && out.last() != Some(&s.expr)
                    && Self::stream_ok(s, stream)
                {
                    out.push(s.expr);
                }
            }
        }
        if !self.dynamic.is_empty() {
            let neg = self.neg_hits(line);
            for &i in &self.dynamic {
                let s = &self.sels[i];
                if !out.contains(&s.expr)
                    && Self::stream_ok(s, stream)
                    && Self::eval_sel(s, line, &[], &neg)
                {
                    out.push(s.expr);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
    }

    /// The path for a line that matches at least one positive filter.
    fn scan_hit(&self, stream: Option<&Labels>, line: &str, out: &mut Vec<usize>) {
        out.clear();
        let mut pos = vec![false; self.n_pos];
        if let Some(set) = &self.set {
            for i in set.matches(line).iter() {
                pos[i] = true;
            }
        }
        let neg = self.neg_hits(line);
        for s in &self.sels {
            if out.last() == Some(&s.expr) || !Self::stream_ok(s, stream) {
                continue;
            }
            if Self::eval_sel(s, line, &pos, &neg) && !out.contains(&s.expr) {
                out.push(s.expr);
            }
        }
        out.sort_unstable();
    }

    /// Which `!=` literals occur in `line`.
    fn neg_hits(&self, line: &str) -> Vec<bool> {
        let mut hits = vec![false; self.n_neg];
        if let Some(ac) = &self.neg {
            for m in ac.find_overlapping_iter(line) {
                hits[m.pattern().as_usize()] = true;
            }
        }
        hits
    }

    /// Evaluates a selector's conditions given which positive patterns match (`pos`, empty
    /// when none does) and which negative literals occur (`neg`).
    fn eval_sel(s: &Sel, line: &str, pos: &[bool], neg: &[bool]) -> bool {
        s.conds.iter().all(|c| match c {
            Cond::Never => false,
            Cond::Pos(i) => pos.get(*i).copied().unwrap_or(false),
            Cond::NegLit(i) => !neg.get(*i).copied().unwrap_or(false),
            Cond::NegRe(r) => !r.is_match(line),
        })
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
            r#"count_over_time({app="web"} |~ "[0-9]{3} ms" [1m])"#,
            r#"count_over_time({app="web"} |~ "(?i)user\\d+ failed" [1m])"#,
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
        p.candidates("took 250 ms", &mut out);
        assert_eq!(out, vec![2, 4, 5]);
        p.candidates("USER42 FAILED to log in", &mut out);
        assert_eq!(out, vec![2, 4, 6]);
        let api = Labels::from_pairs([("app", "api")]);
        p.candidates_for_stream(&api, "GET lock timeout error", &mut out);
        assert_eq!(out, vec![0, 2]);
        assert!(p.any_for_stream(&api, "x"));
        assert!(p.any("x"));
        let other = Labels::from_pairs([("app", "other")]);
        assert!(!p.any_for_stream(&other, "error"));
    }

    #[test]
    fn scan_text_finds_the_same_lines() {
        let exprs: Vec<Expr> = [
            r#"count_over_time({app="api"} |= "error" != "debug" [5m])"#,
            r#"count_over_time({app="db"} |~ "time(out)? after [0-9]+" [5m])"#,
        ]
        .iter()
        .map(|s| parse_expr(s).unwrap())
        .collect();
        let p = LogPrefilter::new(&exprs);
        let text = "ok\nan error\r\ndebug error\ntimeout after 5s\n\nerror, time after 3\nlast";
        let mut got = Vec::new();
        p.scan_text(None, text, |l, c| got.push((l.to_string(), c.to_vec())));
        let mut want = Vec::new();
        let mut out = Vec::new();
        for l in text.lines() {
            p.candidates(l, &mut out);
            if !out.is_empty() {
                want.push((l.to_string(), out.clone()));
            }
        }
        assert_eq!(got, want);
        assert_eq!(got.len(), 3);
        let db = Labels::from_pairs([("app", "db")]);
        let mut n = 0;
        p.scan_text(Some(&db), text, |_, c| {
            assert_eq!(c, [1]);
            n += 1;
        });
        assert_eq!(n, 2);
    }

    #[test]
    fn agrees_with_running_every_filter() {
        let srcs = [
            r#"{a="b"} |= "foo" |~ "ba[rz]""#,
            r#"{a="b"} != "foo" !~ "q+x""#,
            r#"{a="b"} |~ "^start" |= "end""#,
            r#"{a="b"} |~ "x*""#,
            r#"{a="b"} |~ "(?i)warn|err""#,
            r#"{a="b"} |= "a.b" != """#,
        ];
        let exprs: Vec<Expr> = srcs.iter().map(|s| parse_expr(s).unwrap()).collect();
        let p = LogPrefilter::new(&exprs);
        let lines = [
            "foo bar",
            "foo baz end",
            "start foo end",
            "qqx",
            "Warning",
            "ERR!",
            "",
            "bar",
            "start",
            "a.b",
            "axb",
        ];
        let mut out = Vec::new();
        for l in lines {
            p.candidates(l, &mut out);
            let want: Vec<usize> = exprs
                .iter()
                .enumerate()
                .filter(|(_, e)| {
                    e.log_selectors().iter().any(|s| {
                        s.pipeline.iter().all(|st| match st {
                            Stage::Line(f) => f.matches(l),
                            _ => true,
                        })
                    })
                })
                .map(|(i, _)| i)
                .collect();
            assert_eq!(out, want, "line {l:?}");
        }
    }
}
