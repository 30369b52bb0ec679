//! A Prometheus-compatible subset of Go's `text/template` for alert labels and annotations.
//!
//! Supported: text, `{{ }}` actions with `{{-`/`-}}` trimming, comments, `$labels.x`, `$value`,
//! `$externalLabels.x`, `$externalURL`, `.Labels.x`, `.Value`, string/number literals, pipelines
//! (`x | f`), parentheses, variables (`$x := ...`), `if`/`else if`/`else`/`with`/`range`/`end`, and
//! the functions `humanize`, `humanize1024`, `humanizePercentage`, `humanizeDuration`, `printf`,
//! `toUpper`, `toLower`, `title`, `reReplaceAll`, `match`, `stripPort`, `safeHtml`, `len`,
//! `index`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `and`, `or`, `not`, `print`, `println`,
//! `humanizeTimestamp`, `toTime`, `stripDomain`, `args`, `graphLink`, `tableLink`,
//! `externalURL`, `parseDuration`, and the query functions `query`, `first`, `value`, `label`,
//! `strvalue` and `sortByLabel` (see [`Query`]: `query` runs PromQL at the rule's evaluation
//! time; a result is a list of samples with `.Labels` and `.Value`, for `range`, `with`,
//! `len`, `index`); field access on a parenthesized pipeline (`(query "x" | first).Value`).
//! Missing label keys render as the empty string (Prometheus uses `missingkey=zero`). Parse
//! errors surface at rule load. Execution errors read like Go's (`template:
//! __alert_X:1:115: executing "__alert_X" at <first>: error calling first: …`, columns on line
//! 1 shifted by the variable definitions Prometheus puts before alert templates) for function
//! calls; other execution errors carry no position.

mod extra;
mod funcs;
mod parse;
mod printf;
mod query;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::gofmt;
use funcs::FnError;
pub use parse::TemplateError;
use parse::{Arg, Cmd, Node, Pipeline};
pub(crate) use query::StoreQuery;
pub use query::{Query, QueryResult, QuerySample};

/// Bytes Prometheus puts before an alert template on its first line (`{{$labels := .Labels}}`
/// and the definitions of `$externalLabels`, `$externalURL`, `$value`): Go's error columns on
/// line 1 count them.
const ALERT_DEFS_LEN: usize = 112;

/// The data a template sees: the alert's labels, its value and the external labels/URL.
#[derive(Debug, Clone, Default)]
pub struct TemplateData {
    /// The alert's labels (`$labels`).
    pub labels: BTreeMap<String, String>,
    /// External labels of the evaluator (`$externalLabels`).
    pub external_labels: BTreeMap<String, String>,
    /// External URL (`$externalURL`).
    pub external_url: String,
    /// The sample value (`$value`).
    pub value: f64,
}

/// A parsed template, ready to render many times.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    text: String,
    nodes: Vec<Node>,
    trivial: Option<String>,
    uses_value: bool,
    uses_query: bool,
}

/// Whether `f` holds for a command of `nodes` (nested pipelines included).
fn any_cmd(nodes: &[Node], f: &impl Fn(&Cmd) -> bool) -> bool {
    nodes.iter().any(|n| match n {
        Node::Text(_) => false,
        Node::Action(p) => any_cmd_in(p, f),
        Node::If { cond, then, els } | Node::With { cond, then, els } => {
            any_cmd_in(cond, f) || any_cmd(then, f) || any_cmd(els, f)
        }
        Node::Range {
            over, body, els, ..
        } => any_cmd_in(over, f) || any_cmd(body, f) || any_cmd(els, f),
    })
}

fn any_cmd_in(p: &Pipeline, f: &impl Fn(&Cmd) -> bool) -> bool {
    p.cmds.iter().any(|c| {
        let args = match c {
            Cmd::Call(call) => call.args.as_slice(),
            Cmd::Arg(a) => std::slice::from_ref(a),
        };
        f(c) || args.iter().any(|a| match a {
            Arg::Pipe(p) | Arg::Chain(p, _) => any_cmd_in(p, f),
            _ => false,
        })
    })
}

/// Whether a command reads the value (`$value`, `$`, `.`).
fn cmd_uses_value(c: &Cmd) -> bool {
    let args = match c {
        Cmd::Call(call) => call.args.as_slice(),
        Cmd::Arg(a) => std::slice::from_ref(a),
    };
    args.iter().any(|a| match a {
        Arg::Var(name, _) => name == "$value" || name == "$",
        Arg::Dot(_) => true,
        _ => false,
    })
}

/// A value during template execution.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Str(String),
    Float(f64),
    Int(i64),
    Bool(bool),
    Map(Arc<BTreeMap<String, String>>),
    /// One sample of a query result (Go: `*template.sample`).
    Sample(QuerySample),
    /// A query result (Go: `template.queryResult`).
    Samples(Arc<[QuerySample]>),
    Data,
    Nil,
}

/// Go's `%v` of a map: `map[k:v k2:v2]`, keys sorted.
fn write_map(f: &mut fmt::Formatter<'_>, m: &BTreeMap<String, String>) -> fmt::Result {
    f.write_str("map[")?;
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        write!(f, "{k}:{v}")?;
    }
    f.write_str("]")
}

/// Go's `%v` of a sample struct: `{map[...] value}`.
fn write_sample(f: &mut fmt::Formatter<'_>, s: &QuerySample) -> fmt::Result {
    f.write_str("{")?;
    write_map(f, &s.labels)?;
    write!(f, " {}}}", gofmt::fmt_g(s.value, None))
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Str(s) => f.write_str(s),
            Val::Float(v) => f.write_str(&gofmt::fmt_g(*v, None)),
            Val::Int(i) => write!(f, "{i}"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Map(m) => write_map(f, m),
            Val::Sample(s) => write_sample(f, s),
            // Go prints the samples' addresses here; their contents are more useful
            Val::Samples(v) => {
                f.write_str("[")?;
                for (i, s) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write_sample(f, s)?;
                }
                f.write_str("]")
            }
            Val::Data => f.write_str("{...}"),
            Val::Nil => f.write_str("<no value>"),
        }
    }
}

impl Val {
    fn truthy(&self) -> bool {
        match self {
            Val::Str(s) => !s.is_empty(),
            Val::Float(v) => *v != 0.0,
            Val::Int(i) => *i != 0,
            Val::Bool(b) => *b,
            Val::Map(m) => !m.is_empty(),
            Val::Samples(v) => !v.is_empty(),
            Val::Sample(_) | Val::Data => true,
            Val::Nil => false,
        }
    }
}

struct Scope<'a> {
    data: &'a TemplateData,
    query: Option<&'a dyn Query>,
    labels: Arc<BTreeMap<String, String>>,
    external: Arc<BTreeMap<String, String>>,
    vars: Vec<(String, Val)>,
    dot: Val,
}

impl Template {
    /// Parses `text`; `name` is used in error messages (Prometheus uses `__alert_<name>`).
    pub fn parse(name: &str, text: &str) -> Result<Template, TemplateError> {
        let nodes = parse::parse(name, text)?;
        let trivial = if text.contains("{{") {
            None
        } else {
            Some(text.to_string())
        };
        let uses_value = any_cmd(&nodes, &cmd_uses_value);
        let uses_query = any_cmd(&nodes, &|c| matches!(c, Cmd::Call(c) if c.name == "query"));
        Ok(Template {
            name: name.to_string(),
            text: text.to_string(),
            nodes,
            trivial,
            uses_value,
            uses_query,
        })
    }

    /// Whether the template calls `query`: its output may then change with the data at every
    /// evaluation.
    pub fn uses_query(&self) -> bool {
        self.uses_query
    }

    /// Whether the output may depend on the sample value (`$value`, `.Value`, `$` or `.`):
    /// when not, it depends only on the labels and the external labels/URL, so a rendering can
    /// be reused for the same label set. Conservative: any use of `.` counts.
    pub fn uses_value(&self) -> bool {
        self.uses_value
    }

    /// Renders the template. Execution errors are returned (Prometheus renders them into the
    /// text as `<error expanding template: ...>`; see [`Template::render_or_error_text`]).
    /// Without a [`Query`], `query` fails.
    pub fn render(&self, data: &TemplateData) -> Result<String, TemplateError> {
        self.render_with(data, None)
    }

    /// Renders the template; `query` runs the template function `query`.
    pub fn render_with(
        &self,
        data: &TemplateData,
        query: Option<&dyn Query>,
    ) -> Result<String, TemplateError> {
        if let Some(t) = &self.trivial {
            return Ok(t.clone());
        }
        let mut scope = Scope {
            data,
            query,
            labels: Arc::new(data.labels.clone()),
            external: Arc::new(data.external_labels.clone()),
            vars: Vec::new(),
            dot: Val::Data,
        };
        scope.vars.push(("$".into(), Val::Data));
        scope
            .vars
            .push(("$labels".into(), Val::Map(scope.labels.clone())));
        scope
            .vars
            .push(("$externalLabels".into(), Val::Map(scope.external.clone())));
        scope
            .vars
            .push(("$externalURL".into(), Val::Str(data.external_url.clone())));
        scope.vars.push(("$value".into(), Val::Float(data.value)));
        let mut out = String::new();
        self.exec(&self.nodes, &mut scope, &mut out)?;
        Ok(out)
    }

    /// Renders like Prometheus: an execution error becomes the text of the result.
    pub fn render_or_error_text(&self, data: &TemplateData) -> String {
        self.render_or_error_text_with(data, None)
    }

    /// [`Template::render_or_error_text`] with a [`Query`] for `query`.
    pub fn render_or_error_text_with(
        &self,
        data: &TemplateData,
        query: Option<&dyn Query>,
    ) -> String {
        self.render_with(data, query).unwrap_or_else(|e| {
            format!(
                "<error expanding template: error executing template {}: {e}>",
                self.name
            )
        })
    }

    fn err(&self, msg: String) -> TemplateError {
        TemplateError {
            message: format!("template: {}: {msg}", self.name),
        }
    }

    /// An execution error at byte `pos` of the text, in Go's words: `template: NAME:LINE:COL:
    /// executing "NAME" at <CONTEXT>: MSG`.
    fn err_at(&self, pos: usize, context: &str, msg: String) -> TemplateError {
        let before = self.text.get(..pos).unwrap_or(&self.text);
        let line = 1 + before.matches('\n').count();
        let col = match before.rfind('\n') {
            Some(nl) => pos - nl - 1,
            None => pos + ALERT_DEFS_LEN,
        };
        TemplateError {
            message: format!(
                "template: {name}:{line}:{col}: executing {} at <{context}>: {msg}",
                gofmt::go_quote(&self.name),
                name = self.name
            ),
        }
    }

    fn exec(
        &self,
        nodes: &[Node],
        sc: &mut Scope<'_>,
        out: &mut String,
    ) -> Result<(), TemplateError> {
        for n in nodes {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Action(p) => {
                    let v = self.pipeline(p, sc)?;
                    if p.decl.is_none() {
                        out.push_str(&v.to_string());
                    }
                }
                Node::If { cond, then, els } => {
                    let depth = sc.vars.len();
                    let v = self.pipeline(cond, sc)?;
                    if v.truthy() {
                        self.exec(then, sc, out)?;
                    } else {
                        self.exec(els, sc, out)?;
                    }
                    sc.vars.truncate(depth);
                }
                Node::With { cond, then, els } => {
                    let depth = sc.vars.len();
                    let v = self.pipeline(cond, sc)?;
                    if v.truthy() {
                        let old = std::mem::replace(&mut sc.dot, v);
                        self.exec(then, sc, out)?;
                        sc.dot = old;
                    } else {
                        self.exec(els, sc, out)?;
                    }
                    sc.vars.truncate(depth);
                }
                Node::Range {
                    key,
                    val,
                    over,
                    body,
                    els,
                } => {
                    let depth = sc.vars.len();
                    let v = self.pipeline(over, sc)?;
                    let items: Vec<(Val, Val)> = match &v {
                        Val::Map(m) => m
                            .iter()
                            .map(|(k, v)| (Val::Str(k.clone()), Val::Str(v.clone())))
                            .collect(),
                        Val::Samples(ss) => ss
                            .iter()
                            .enumerate()
                            .map(|(i, s)| (Val::Int(i as i64), Val::Sample(s.clone())))
                            .collect(),
                        Val::Nil => Vec::new(),
                        other => return Err(self.err(format!("range can't iterate over {other}"))),
                    };
                    if items.is_empty() {
                        self.exec(els, sc, out)?;
                    }
                    for (k, v) in items {
                        let inner = sc.vars.len();
                        if let Some(kn) = key {
                            sc.vars.push((kn.clone(), k));
                        }
                        if let Some(vn) = val {
                            sc.vars.push((vn.clone(), v.clone()));
                        }
                        let old = std::mem::replace(&mut sc.dot, v);
                        self.exec(body, sc, out)?;
                        sc.dot = old;
                        sc.vars.truncate(inner);
                    }
                    sc.vars.truncate(depth);
                }
            }
        }
        Ok(())
    }

    fn pipeline(&self, p: &Pipeline, sc: &mut Scope<'_>) -> Result<Val, TemplateError> {
        let mut prev: Option<Val> = None;
        for cmd in &p.cmds {
            prev = Some(self.command(cmd, prev.take(), sc)?);
        }
        let v = prev.unwrap_or(Val::Nil);
        if let Some((name, is_decl)) = &p.decl {
            if *is_decl {
                sc.vars.push((name.clone(), v.clone()));
            } else if let Some(slot) = sc.vars.iter_mut().rev().find(|(n, _)| n == name) {
                slot.1 = v.clone();
            }
        }
        Ok(v)
    }

    fn command(
        &self,
        cmd: &Cmd,
        piped: Option<Val>,
        sc: &mut Scope<'_>,
    ) -> Result<Val, TemplateError> {
        match cmd {
            Cmd::Call(c) => {
                let mut vals = Vec::with_capacity(c.args.len() + 1);
                for a in &c.args {
                    vals.push(self.arg(a, sc)?);
                }
                if let Some(p) = piped {
                    vals.push(p);
                }
                funcs::call(&c.name, vals, &sc.data.external_url, sc.query).map_err(|e| match e {
                    FnError::Call(m) => {
                        self.err_at(c.pos, &c.text, format!("error calling {}: {m}", c.name))
                    }
                    FnError::Exec(m) => self.err_at(c.pos, &c.name, m),
                })
            }
            Cmd::Arg(a) => {
                if piped.is_some() {
                    return Err(self.err("can't give argument to non-function".into()));
                }
                self.arg(a, sc)
            }
        }
    }

    fn arg(&self, a: &Arg, sc: &mut Scope<'_>) -> Result<Val, TemplateError> {
        Ok(match a {
            Arg::Str(s) => Val::Str(s.clone()),
            Arg::Num(v, is_int) => {
                if *is_int {
                    Val::Int(*v as i64)
                } else {
                    Val::Float(*v)
                }
            }
            Arg::Bool(b) => Val::Bool(*b),
            Arg::Nil => Val::Nil,
            Arg::Pipe(p) => self.pipeline(p, sc)?,
            Arg::Chain(p, fields) => {
                let v = self.pipeline(p, sc)?;
                self.fields(v, fields, sc)?
            }
            Arg::Var(name, fields) => {
                let base = sc
                    .vars
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| self.err(format!("undefined variable {name:?}")))?;
                self.fields(base, fields, sc)?
            }
            Arg::Dot(fields) => self.fields(sc.dot.clone(), fields, sc)?,
        })
    }

    fn fields(&self, mut v: Val, fields: &[String], sc: &Scope<'_>) -> Result<Val, TemplateError> {
        for f in fields {
            v = match v {
                Val::Map(m) => Val::Str(m.get(f).cloned().unwrap_or_default()),
                Val::Data => match f.as_str() {
                    "Labels" => Val::Map(sc.labels.clone()),
                    "ExternalLabels" => Val::Map(sc.external.clone()),
                    "ExternalURL" => Val::Str(sc.data.external_url.clone()),
                    "Value" => Val::Float(sc.data.value),
                    _ => return Err(self.err(format!("can't evaluate field {f}"))),
                },
                Val::Sample(s) => match f.as_str() {
                    "Labels" => Val::Map(s.labels.clone()),
                    "Value" => Val::Float(s.value),
                    _ => {
                        let msg = format!("can't evaluate field {f} in type *template.sample");
                        return Err(self.err(msg));
                    }
                },
                other => {
                    return Err(self.err(format!(
                        "can't evaluate field {f} in type {}",
                        funcs::type_name(&other)
                    )));
                }
            };
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests;
