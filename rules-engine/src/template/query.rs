//! Prometheus' template query functions: `query` runs a PromQL expression at the time of the
//! rule evaluation (through a [`Query`] the caller supplies), and `first`, `label`, `value`,
//! `strvalue` and `sortByLabel` take its result apart.
//!
//! As in Prometheus (`template/template.go`, `rules.EngineQueryFunc`): an instant vector
//! becomes a list of samples in the engine's result order, a scalar a one-element list with
//! no labels, any other result is the error `rule result is not a vector or scalar`; a sample
//! has `.Labels` (with `__name__`) and `.Value`; `first` of an empty list fails with
//! `first() called on vector with no elements`; `strvalue` is the `__value__` label;
//! `sortByLabel` is a stable sort on one label's value (missing: empty).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::Val;
use super::funcs::{FnError, arity, type_name};
use crate::eval::{self, Store, Value};
use crate::input::FxHashMap;
use crate::syntax::{parse_expr, prometheus_message};

/// The result of a query: its samples, or the error text.
pub type QueryResult = Result<Arc<[QuerySample]>, String>;

/// One sample of a query result, as templates see it.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySample {
    /// The series' labels (`.Labels`), `__name__` included.
    pub labels: Arc<BTreeMap<String, String>>,
    /// The value (`.Value`).
    pub value: f64,
}

/// Runs the PromQL expressions of the template function `query`: an instant query at the
/// time of the rule evaluation against the data the rule reads. An error is the text the
/// template reports (`error calling query: <text>`).
pub trait Query {
    /// The samples of `expr` (a scalar is one sample without labels).
    fn query(&self, expr: &str) -> QueryResult;
}

impl<F> Query for F
where
    F: Fn(&str) -> QueryResult,
{
    fn query(&self, expr: &str) -> QueryResult {
        self(expr)
    }
}

/// [`Query`] against a store at one evaluation time. Results are kept per expression text:
/// the store does not change while one rule's templates are rendered.
pub(crate) struct StoreQuery<'a> {
    store: &'a Store,
    ts: i64,
    cache: RefCell<FxHashMap<String, QueryResult>>,
}

impl<'a> StoreQuery<'a> {
    /// Queries `store` at `ts` (ms).
    pub(crate) fn new(store: &'a Store, ts: i64) -> Self {
        StoreQuery {
            store,
            ts,
            cache: RefCell::default(),
        }
    }

    fn run(&self, text: &str) -> QueryResult {
        let expr = parse_expr(text).map_err(|e| prometheus_message(text, &e))?;
        let sample = |labels: BTreeMap<String, String>, value| QuerySample {
            labels: Arc::new(labels),
            value,
        };
        match eval::eval_instant(&expr, self.store, self.ts).map_err(|e| e.to_string())? {
            Value::Vector(v) => Ok(v
                .into_iter()
                .map(|s| {
                    let labels = s
                        .labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                    sample(labels, s.value)
                })
                .collect()),
            Value::Scalar(v) => Ok(Arc::from([sample(BTreeMap::new(), v)])),
            Value::Matrix(_) | Value::String(_) => {
                Err("rule result is not a vector or scalar".into())
            }
        }
    }
}

impl Query for StoreQuery<'_> {
    fn query(&self, text: &str) -> QueryResult {
        if let Some(r) = self.cache.borrow().get(text) {
            return r.clone();
        }
        let r = self.run(text);
        self.cache.borrow_mut().insert(text.to_string(), r.clone());
        r
    }
}

/// The names of the query functions.
pub(super) const NAMES: &[&str] = &[
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "sortByLabel",
];

fn wrong_type(want: &str, got: &Val) -> FnError {
    FnError::Exec(format!(
        "wrong type for value; expected {want}; got {}",
        type_name(got)
    ))
}

fn string(v: &Val) -> Result<&str, FnError> {
    match v {
        Val::Str(s) => Ok(s),
        other => Err(wrong_type("string", other)),
    }
}

fn sample(v: &Val) -> Result<&QuerySample, FnError> {
    match v {
        Val::Sample(s) => Ok(s),
        other => Err(wrong_type("*template.sample", other)),
    }
}

fn samples(v: &Val) -> Result<&Arc<[QuerySample]>, FnError> {
    match v {
        Val::Samples(s) => Ok(s),
        other => Err(wrong_type("template.queryResult", other)),
    }
}

/// Calls the query function `name` (one of [`NAMES`]); `query` answers `query`.
pub(super) fn call(name: &str, args: &[Val], query: Option<&dyn Query>) -> Result<Val, FnError> {
    Ok(match name {
        "query" => {
            arity(name, args, 1)?;
            let text = string(&args[0])?;
            let q = query.ok_or_else(|| "no query engine to run it".to_string())?;
            Val::Samples(q.query(text)?)
        }
        "first" => {
            arity(name, args, 1)?;
            match samples(&args[0])?.first() {
                Some(s) => Val::Sample(s.clone()),
                None => {
                    return Err("first() called on vector with no elements"
                        .to_string()
                        .into());
                }
            }
        }
        "label" => {
            arity(name, args, 2)?;
            let label = string(&args[0])?;
            let s = sample(&args[1])?;
            Val::Str(s.labels.get(label).cloned().unwrap_or_default())
        }
        "value" => {
            arity(name, args, 1)?;
            Val::Float(sample(&args[0])?.value)
        }
        "strvalue" => {
            arity(name, args, 1)?;
            let s = sample(&args[0])?;
            Val::Str(s.labels.get("__value__").cloned().unwrap_or_default())
        }
        "sortByLabel" => {
            arity(name, args, 2)?;
            let label = string(&args[0])?;
            let mut v = samples(&args[1])?.to_vec();
            // stable, like Go's sort.Stable; a missing label sorts as ""
            fn key<'s>(s: &'s QuerySample, label: &str) -> &'s str {
                s.labels.get(label).map_or("", String::as_str)
            }
            v.sort_by(|a, b| key(a, label).cmp(key(b, label)));
            Val::Samples(v.into())
        }
        other => return Err(format!("function {other:?} not defined").into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Labels;
    use crate::template::{Template, TemplateData};

    /// `m{instance="b"} 2`, `m{instance="a"} 2000` and `m{instance="c"} 7` (in that order)
    /// at 60 s; `m{instance="b"}` also at 0 s with 1.
    fn store() -> Store {
        let mut s = Store::new();
        let m = |i: &str| Labels::from_pairs([("__name__", "m"), ("instance", i)]);
        s.add_sample(&m("b"), 0, 1.0).unwrap();
        s.add_sample(&m("b"), 60_000, 2.0).unwrap();
        s.add_sample(&m("a"), 60_000, 2000.0).unwrap();
        s.add_sample(&m("c"), 60_000, 7.0).unwrap();
        s
    }

    fn render_at(text: &str, ts: i64) -> Result<String, String> {
        let store = store();
        let q = StoreQuery::new(&store, ts);
        let t = Template::parse("__alert_T", text).map_err(|e| e.to_string())?;
        t.render_with(&TemplateData::default(), Some(&q))
            .map_err(|e| e.to_string())
    }

    fn render(text: &str) -> String {
        render_at(text, 60_000).unwrap()
    }

    fn error(text: &str) -> String {
        render_at(text, 60_000).unwrap_err()
    }

    #[test]
    fn query_first_value() {
        assert_eq!(
            render("{{ with query \"sum(m)\" }}{{ . | first | value | humanize }}{{ end }} up"),
            "2.009k up"
        );
        assert_eq!(render("{{ query \"m\" | first | value }}"), "2");
        // the value at the evaluation time, not the latest one
        assert_eq!(
            render_at("{{ query \"m\" | first | value }}", 30_000).unwrap(),
            "1"
        );
        assert_eq!(render("{{ (query \"count(m)\" | first).Value }}"), "3");
        // a scalar is one sample without labels
        assert_eq!(
            render("{{ range query \"scalar(sum(m))\" }}{{ .Value }} {{ .Labels }}{{ end }}"),
            "2009 map[]"
        );
        assert_eq!(
            render("{{ query \"m\" | first }}"),
            "{map[__name__:m instance:b] 2}"
        );
    }

    #[test]
    fn range_over_a_query_sorted_by_label() {
        // result order is the store's (series creation) order until sorted
        assert_eq!(
            render("{{ range query \"m\" }}{{ .Labels.instance }}{{ end }}"),
            "bac"
        );
        assert_eq!(
            render(
                "{{ range query \"m\" | sortByLabel \"instance\" }}{{ .Labels.instance }}={{ .Value }} {{ end }}"
            ),
            "a=2000 b=2 c=7 "
        );
        assert_eq!(
            render(
                "{{ range $i, $s := query \"m * 2\" }}{{ $i }}:{{ $s.Labels.__name__ }}{{ $s.Value }} {{ end }}"
            ),
            "0:4 1:4000 2:14 "
        );
        // stable: a missing label sorts first, ties keep their order
        assert_eq!(
            render(
                "{{ range sortByLabel \"nope\" (query \"m\") }}{{ label \"instance\" . }}{{ end }}"
            ),
            "bac"
        );
        assert_eq!(
            render(
                "{{ len (query \"m\") }} {{ with query \"m\" }}{{ index . 2 | value }}{{ end }}"
            ),
            "3 7"
        );
    }

    #[test]
    fn label_and_strvalue() {
        assert_eq!(
            render("{{ query \"m\" | first | label \"instance\" }}"),
            "b"
        );
        assert_eq!(render("[{{ query \"m\" | first | label \"nope\" }}]"), "[]");
        assert_eq!(render("[{{ query \"m\" | first | strvalue }}]"), "[]");
        assert_eq!(
            render(
                "{{ query `label_replace(m, \"__value__\", \"v$1\", \"instance\", \"(.*)\")` | first | strvalue }}"
            ),
            "vb"
        );
    }

    #[test]
    fn empty_results() {
        assert_eq!(
            render("{{ with query \"nothing\" }}some{{ else }}none{{ end }}"),
            "none"
        );
        assert_eq!(
            render("{{ range query \"m > 1e6\" }}x{{ else }}empty{{ end }}"),
            "empty"
        );
        assert_eq!(
            error("{{ query \"nothing\" | first | value }}"),
            "template: __alert_T:1:133: executing \"__alert_T\" at <first>: error calling first: \
             first() called on vector with no elements"
        );
    }

    #[test]
    fn query_errors_are_execution_errors() {
        // bad query text: Prometheus' parse error
        assert_eq!(
            error("{{ query \"sum(m\" }}"),
            "template: __alert_T:1:115: executing \"__alert_T\" at <query \"sum(m\">: error \
             calling query: 1:6: parse error: unclosed left parenthesis"
        );
        // an evaluation error, on a later line (columns there are not shifted)
        let e = error("a\n  {{ query \"m + on() group_left m\" }}");
        assert!(
            e.starts_with(
                "template: __alert_T:2:5: executing \"__alert_T\" at <query \"m + on() group_left \
                 m\">: error calling query: found duplicate series for the match group {} on the \
                 right hand-side of the operation: ["
            ),
            "{e}"
        );
        assert!(
            error("{{ query \"\\\"str\\\"\" }}")
                .ends_with("error calling query: rule result is not a vector or scalar")
        );
        assert!(error("{{ query \"m[5m]\" }}").ends_with("rule result is not a vector or scalar"));
        // wrong types and argument counts are reported at the function, without "error calling"
        assert_eq!(
            error("{{ 1 | first }}"),
            "template: __alert_T:1:119: executing \"__alert_T\" at <first>: wrong type for value; \
             expected template.queryResult; got int"
        );
        assert!(error("{{ query \"m\" | value }}").ends_with(
            "at <value>: wrong type for value; expected *template.sample; got template.queryResult"
        ));
        assert!(
            error("{{ query }}")
                .ends_with("at <query>: wrong number of args for query: want 1 got 0")
        );
        assert!(
            error("{{ (query \"m\" | first).Nope }}")
                .ends_with("can't evaluate field Nope in type *template.sample")
        );
        // without a query engine
        let t = Template::parse("__alert_T", "{{ query \"m\" }}").unwrap();
        let e = t.render(&TemplateData::default()).unwrap_err().to_string();
        assert!(
            e.ends_with("error calling query: no query engine to run it"),
            "{e}"
        );
        // rendered into the text like Prometheus
        assert_eq!(
            t.render_or_error_text(&TemplateData::default()),
            "<error expanding template: error executing template __alert_T: template: \
             __alert_T:1:115: executing \"__alert_T\" at <query \"m\">: error calling query: no \
             query engine to run it>"
        );
    }

    #[test]
    fn results_are_kept_per_expression_within_one_evaluation() {
        let store = store();
        let q = StoreQuery::new(&store, 60_000);
        let (a, b) = (q.query("m").unwrap(), q.query("m").unwrap());
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.len(), 3);
        assert_eq!(
            q.query("sum(").unwrap_err(),
            "1:5: parse error: unclosed left parenthesis"
        );
    }

    #[test]
    fn templates_know_whether_they_query() {
        let uses = |t: &str| Template::parse("__alert_T", t).unwrap().uses_query();
        assert!(uses("{{ query \"up\" }}"));
        assert!(uses(
            "{{ if 1 }}{{ with (len (query \"up\")) }}{{ . }}{{ end }}{{ end }}"
        ));
        assert!(uses(
            "{{ range $i, $x := $labels }}{{ (query \"up\" | first).Value }}{{ end }}"
        ));
        assert!(!uses("{{ $labels.query }} query"));
        assert!(!uses("{{ humanize $value }}"));
    }
}
