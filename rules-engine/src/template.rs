//! A Prometheus-compatible subset of Go's `text/template` for alert labels and annotations.
//!
//! Supported: text, `{{ }}` actions with `{{-`/`-}}` trimming, comments, `$labels.x`, `$value`,
//! `$externalLabels.x`, `$externalURL`, `.Labels.x`, `.Value`, string/number literals, pipelines
//! (`x | f`), parentheses, variables (`$x := ...`), `if`/`else if`/`else`/`with`/`range`/`end`, and
//! the functions `humanize`, `humanize1024`, `humanizePercentage`, `humanizeDuration`, `printf`,
//! `toUpper`, `toLower`, `title`, `reReplaceAll`, `match`, `stripPort`, `safeHtml`, `len`,
//! `index`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `and`, `or`, `not`, `print`, `println`,
//! `humanizeTimestamp`, `toTime`, `stripDomain`, `args`, `graphLink`, `tableLink`,
//! `externalURL` and `parseDuration`. Not yet: the query functions (`query`, `first`, `value`,
//! `label`, `strvalue`, `sortByLabel`), which need store access. Missing label keys render as
//! the empty string (Prometheus uses `missingkey=zero`). Parse errors surface at rule load.

mod extra;
mod funcs;
mod parse;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::gofmt;
pub use parse::TemplateError;
use parse::{Arg, Cmd, Node, Pipeline};

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
    nodes: Vec<Node>,
    trivial: Option<String>,
    uses_value: bool,
}

fn nodes_use_value(nodes: &[Node]) -> bool {
    nodes.iter().any(|n| match n {
        Node::Text(_) => false,
        Node::Action(p) => pipeline_uses_value(p),
        Node::If { cond, then, els } | Node::With { cond, then, els } => {
            pipeline_uses_value(cond) || nodes_use_value(then) || nodes_use_value(els)
        }
        Node::Range {
            over, body, els, ..
        } => pipeline_uses_value(over) || nodes_use_value(body) || nodes_use_value(els),
    })
}

fn pipeline_uses_value(p: &Pipeline) -> bool {
    p.cmds.iter().any(|c| match c {
        Cmd::Call(_, args) => args.iter().any(arg_uses_value),
        Cmd::Arg(a) => arg_uses_value(a),
    })
}

fn arg_uses_value(a: &Arg) -> bool {
    match a {
        Arg::Var(name, _) => name == "$value" || name == "$",
        Arg::Dot(_) => true,
        Arg::Pipe(p) => pipeline_uses_value(p),
        Arg::Str(_) | Arg::Num(..) | Arg::Bool(_) | Arg::Nil => false,
    }
}

/// A value during template execution.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Str(String),
    Float(f64),
    Int(i64),
    Bool(bool),
    Map(Arc<BTreeMap<String, String>>),
    Data,
    Nil,
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Str(s) => f.write_str(s),
            Val::Float(v) => f.write_str(&gofmt::fmt_g(*v, None)),
            Val::Int(i) => write!(f, "{i}"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Map(m) => {
                f.write_str("map[")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{k}:{v}")?;
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
            Val::Data => true,
            Val::Nil => false,
        }
    }
}

struct Scope<'a> {
    data: &'a TemplateData,
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
        let uses_value = nodes_use_value(&nodes);
        Ok(Template {
            name: name.to_string(),
            nodes,
            trivial,
            uses_value,
        })
    }

    /// Whether the output may depend on the sample value (`$value`, `.Value`, `$` or `.`):
    /// when not, it depends only on the labels and the external labels/URL, so a rendering can
    /// be reused for the same label set. Conservative: any use of `.` counts.
    pub fn uses_value(&self) -> bool {
        self.uses_value
    }

    /// Renders the template. Execution errors are returned (Prometheus renders them into the
    /// text as `<error expanding template: ...>`; see [`Template::render_or_error_text`]).
    pub fn render(&self, data: &TemplateData) -> Result<String, TemplateError> {
        if let Some(t) = &self.trivial {
            return Ok(t.clone());
        }
        let mut scope = Scope {
            data,
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
        self.render(data)
            .unwrap_or_else(|e| format!("<error expanding template: {e}>"))
    }

    fn err(&self, msg: String) -> TemplateError {
        TemplateError {
            message: format!("template: {}: {msg}", self.name),
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
                    let items: Vec<(String, String)> = match &v {
                        Val::Map(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                        Val::Nil => Vec::new(),
                        other => return Err(self.err(format!("range can't iterate over {other}"))),
                    };
                    if items.is_empty() {
                        self.exec(els, sc, out)?;
                    }
                    for (k, v) in items {
                        let inner = sc.vars.len();
                        if let Some(kn) = key {
                            sc.vars.push((kn.clone(), Val::Str(k.clone())));
                        }
                        if let Some(vn) = val {
                            sc.vars.push((vn.clone(), Val::Str(v.clone())));
                        }
                        let old = std::mem::replace(&mut sc.dot, Val::Str(v));
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
            Cmd::Call(name, args) => {
                let mut vals = Vec::with_capacity(args.len() + 1);
                for a in args {
                    vals.push(self.arg(a, sc)?);
                }
                if let Some(p) = piped {
                    vals.push(p);
                }
                funcs::call(name, vals, &sc.data.external_url)
                    .map_err(|m| self.err(format!("executing {name:?}: {m}")))
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
                other => {
                    return Err(self.err(format!("can't evaluate field {f} in type {other}")));
                }
            };
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str, value: f64) -> String {
        let t = Template::parse("__alert_T", text).unwrap();
        let mut data = TemplateData {
            value,
            ..Default::default()
        };
        data.labels.insert("instance".into(), "host:9100".into());
        data.labels.insert("job".into(), "node".into());
        data.external_labels.insert("cluster".into(), "eu1".into());
        t.render(&data).unwrap()
    }

    #[test]
    fn variables_and_fields() {
        assert_eq!(
            render("{{ $labels.instance }} is {{ $value }}", 0.5),
            "host:9100 is 0.5"
        );
        assert_eq!(render("{{ .Labels.job }}/{{ .Value }}", 3.0), "node/3");
        assert_eq!(render("[{{ $labels.missing }}]", 0.0), "[]");
        assert_eq!(render("{{ $externalLabels.cluster }}", 0.0), "eu1");
        assert_eq!(render("a {{- \" b \" -}} c", 0.0), "a b c");
        assert_eq!(render("{{/* comment */}}x", 0.0), "x");
    }

    #[test]
    fn functions() {
        assert_eq!(render("{{ humanize 1234567 }}", 0.0), "1.235M");
        assert_eq!(render("{{ $value | humanize }}", 0.00123), "1.23m");
        assert_eq!(render("{{ humanizePercentage 0.1234 }}", 0.0), "12.34%");
        assert_eq!(render("{{ humanizeDuration 3725 }}", 0.0), "1h 2m 5s");
        assert_eq!(render("{{ humanizeDuration 0.25 }}", 0.0), "250ms");
        assert_eq!(render("{{ printf \"%.2f\" $value }}", 1.23456), "1.23");
        assert_eq!(render("{{ printf \"%s=%d\" \"a\" 3 }}", 0.0), "a=3");
        assert_eq!(render("{{ toUpper $labels.job }}", 0.0), "NODE");
        assert_eq!(
            render("{{ reReplaceAll \":.*\" \"\" $labels.instance }}", 0.0),
            "host"
        );
        assert_eq!(
            render("{{ if gt $value 1.0 }}big{{ else }}small{{ end }}", 2.0),
            "big"
        );
        assert_eq!(
            render(
                "{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}",
                0.0
            ),
            "instance=host:9100;job=node;"
        );
    }

    #[test]
    fn prometheus_extra_functions() {
        assert_eq!(render("{{ humanize1024 1234567 }}", 0.0), "1.177Mi");
        assert_eq!(
            render("{{ $value | humanizeTimestamp }}", 1_700_000_000.5),
            "2023-11-14 22:13:20.5 +0000 UTC"
        );
        assert_eq!(
            render("{{ toTime 123456789 }}", 0.0),
            "1973-11-29 21:33:09 +0000 UTC"
        );
        assert_eq!(render("{{ humanizeTimestamp \"NaN\" }}", 0.0), "NaN");
        assert_eq!(
            render("{{ stripDomain $labels.instance }}", 0.0),
            "host:9100"
        );
        assert_eq!(
            render("{{ args 1 \"x\" 2.5 }}", 0.0),
            "map[arg0:1 arg1:x arg2:2.5]"
        );
        assert_eq!(render("{{ $a := args 1 \"x\" }}{{ $a.arg1 }}", 0.0), "x");
        assert_eq!(
            render("{{ tableLink \"up == 0\" }}", 0.0),
            "/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
        );
        assert_eq!(render("{{ parseDuration \"1h30m\" }}", 0.0), "5400");
        let t = Template::parse("__alert_T", "{{ externalURL }}|{{ $externalURL }}").unwrap();
        let data = TemplateData {
            external_url: "http://prom:9090".into(),
            ..Default::default()
        };
        assert_eq!(
            t.render(&data).unwrap(),
            "http://prom:9090|http://prom:9090"
        );
        let t = Template::parse("__alert_T", "{{ parseDuration \"5x\" }}").unwrap();
        let e = t.render(&data).unwrap_err().to_string();
        assert!(e.contains("not a valid duration string"), "{e}");
    }

    #[test]
    fn value_dependence_is_detected() {
        let uses = |t: &str| Template::parse("__alert_T", t).unwrap().uses_value();
        assert!(!uses("plain text"));
        assert!(!uses(
            "{{ $labels.instance }} in {{ $externalLabels.cluster }}"
        ));
        assert!(!uses("{{ range $k, $v := $labels }}{{ $k }}{{ end }}"));
        assert!(uses("{{ $value }}"));
        assert!(uses("{{ humanize $value }}"));
        assert!(uses("{{ printf \"%.1f\" (humanize $value) }}"));
        assert!(uses("{{ .Value }}"));
        assert!(uses("{{ $.Value }}"));
        assert!(uses("{{ if gt $value 1.0 }}big{{ end }}"));
        assert!(uses("{{ $v := $value }}{{ $v }}"));
        assert!(uses("{{ with $labels.job }}{{ . }}{{ end }}"));
    }

    #[test]
    fn parse_errors_are_reported() {
        let e = Template::parse("__alert_T", "{{ nope 1 }}").unwrap_err();
        assert!(
            e.to_string().contains("function \"nope\" not defined"),
            "{e}"
        );
        let e = Template::parse("__alert_T", "{{ $labels.x ").unwrap_err();
        assert!(e.to_string().contains("unclosed action"), "{e}");
        let e = Template::parse("__alert_T", "{{ if 1 }}x").unwrap_err();
        assert!(e.to_string().contains("unexpected EOF"), "{e}");
        let e = Template::parse("__alert_T", "a {{ if }}b{{ end }}").unwrap_err();
        assert_eq!(e.to_string(), "template: __alert_T:1: missing value for if");
        let e = Template::parse("__alert_T", "{{ with }}b{{ end }}").unwrap_err();
        assert!(e.to_string().ends_with("missing value for with"), "{e}");
        let e = Template::parse("__alert_T", "{{ $nope }}").unwrap_err();
        assert!(e.to_string().contains("undefined variable"), "{e}");
    }
}
