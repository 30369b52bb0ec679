//! Notification templates: a Go-template subset sufficient for Alertmanager's common usage.
//!
//! # The subset
//! - Text and actions `{{ ... }}` with trim markers `{{-` / `-}}` and comments `{{/* ... */}}`.
//! - Data (as in Alertmanager): `.Receiver`, `.Status`, `.Alerts` (each with `.Status`, `.Labels`,
//!   `.Annotations`, `.StartsAt`, `.EndsAt`, `.GeneratorURL`, `.Fingerprint`), `.Alerts.Firing`,
//!   `.Alerts.Resolved`, `.GroupLabels`, `.CommonLabels`, `.CommonAnnotations`, `.ExternalURL`,
//!   `.GroupKey`. Times (`.StartsAt`, `.EndsAt`) are RFC 3339 strings with `.Format "<Go layout>"`
//!   and `.Unix`. Label maps have `.SortedPairs` (items with `.Name`, `.Value`; the list has
//!   `.Names` / `.Values`), `.Names`, `.Values` and `.Remove <names>`. A missing label is `""`.
//! - `if` / `else if` / `else`, `range` (with `$i, $v :=` or `$v :=`), `with`, `end`, variables
//!   (`$x := ...`, `$x = ...`, `$` is the top-level data), pipelines `a | f b`, parentheses,
//!   `define "name"` and `template "name" .`.
//! - Functions: `len`, `index`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `and`, `or`, `not`, `print`,
//!   `println`, `printf` (`%s %d %v %q %%`), `toUpper`, `toLower`, `title`, `join` (`join sep list`),
//!   `trimSpace`, `match` (`match re s`), `reReplaceAll` (`reReplaceAll re repl s`), `safeHtml`,
//!   `html`, `urlquery`, `stringSlice`.
//! - Default templates `email.default.subject`, `email.default.text`, `email.default.html` are
//!   built in; `{{ template "email.default.subject" . }}` works as in Alertmanager.
//!
//! HTML bodies escape every printed value unless it went through `safeHtml`.

use std::collections::BTreeMap;

use notifiers::Notification;

use crate::receivers::EmailConfig;
use crate::tmpl::{self, Node, TemplateError};

/// A template value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value.
    Null,
    /// A string (the `bool` marks HTML already safe).
    Str(String, bool),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A list.
    List(Vec<Value>),
    /// A map or struct (`kv` marks label maps, whose missing keys read as `""`).
    Map(BTreeMap<String, Value>, bool),
}

fn s(v: &str) -> Value {
    Value::Str(v.to_string(), false)
}

fn kv(m: &BTreeMap<String, String>) -> Value {
    Value::Map(m.iter().map(|(k, v)| (k.clone(), s(v))).collect(), true)
}

impl Value {
    fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Str(s, _) => !s.is_empty(),
            Value::Int(i) => *i != 0,
            Value::Bool(b) => *b,
            Value::List(l) => !l.is_empty(),
            Value::Map(m, _) => !m.is_empty(),
        }
    }

    fn text(&self) -> String {
        match self {
            Value::Null => "<no value>".into(),
            Value::Str(s, _) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::List(l) => format!(
                "[{}]",
                l.iter().map(Value::text).collect::<Vec<_>>().join(" ")
            ),
            Value::Map(m, _) => {
                format!(
                    "map[{}]",
                    m.iter()
                        .map(|(k, v)| format!("{k}:{}", v.text()))
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            }
        }
    }
}

/// The data a template renders against.
#[derive(Debug, Clone)]
pub struct Data(Value);

impl Data {
    /// Alertmanager's template data for a notification.
    pub fn from_notification(n: &Notification) -> Self {
        let alerts = n
            .alerts
            .iter()
            .map(|a| {
                let status = match a.status {
                    notifiers::AlertStatus::Firing => "firing",
                    notifiers::AlertStatus::Resolved => "resolved",
                };
                Value::Map(
                    [
                        ("Status".to_string(), s(status)),
                        ("Labels".to_string(), kv(&a.labels)),
                        ("Annotations".to_string(), kv(&a.annotations)),
                        ("StartsAt".to_string(), s(&a.starts_at)),
                        ("EndsAt".to_string(), s(&a.ends_at)),
                        ("GeneratorURL".to_string(), s(&a.generator_url)),
                        ("Fingerprint".to_string(), s(&a.fingerprint)),
                    ]
                    .into(),
                    false,
                )
            })
            .collect();
        let status = match n.status {
            notifiers::AlertStatus::Firing => "firing",
            notifiers::AlertStatus::Resolved => "resolved",
        };
        Data(Value::Map(
            [
                ("Receiver".to_string(), s(&n.receiver)),
                ("Status".to_string(), s(status)),
                ("Alerts".to_string(), Value::List(alerts)),
                ("GroupLabels".to_string(), kv(&n.group_labels)),
                ("CommonLabels".to_string(), kv(&n.common_labels)),
                ("CommonAnnotations".to_string(), kv(&n.common_annotations)),
                ("ExternalURL".to_string(), s(&n.external_url)),
                ("GroupKey".to_string(), s(&n.group_key)),
            ]
            .into(),
            false,
        ))
    }

    /// Data from fixture JSON: an Alertmanager webhook payload (`{"receiver": .., "alerts": [..]}`)
    /// or a bare list of alerts; missing fields are derived (status, common labels, ...).
    pub fn from_fixture_json(json: &str) -> Result<Self, String> {
        let v: serde_json::Value =
            serde_json::from_str(json).map_err(|e| format!("invalid JSON: {e}"))?;
        let (top, alerts) = match &v {
            serde_json::Value::Array(a) => (serde_json::Map::new(), a.clone()),
            serde_json::Value::Object(o) => (
                o.clone(),
                o.get("alerts")
                    .and_then(|a| a.as_array())
                    .cloned()
                    .unwrap_or_default(),
            ),
            _ => return Err("expected an object or a list of alerts".into()),
        };
        let str_map = |v: Option<&serde_json::Value>| -> BTreeMap<String, String> {
            v.and_then(|v| v.as_object())
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default()
        };
        let get = |o: &serde_json::Value, k: &str| {
            o.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let mut out = Vec::new();
        for a in &alerts {
            let labels = str_map(a.get("labels"));
            let status = match get(a, "status").as_str() {
                "" => "firing".to_string(),
                s => s.to_string(),
            };
            out.push(notifiers::Alert {
                status: if status == "resolved" {
                    notifiers::AlertStatus::Resolved
                } else {
                    notifiers::AlertStatus::Firing
                },
                fingerprint: format!("{:016x}", crate::group::fingerprint(&labels)),
                labels,
                annotations: str_map(a.get("annotations")),
                starts_at: get(a, "startsAt"),
                ends_at: get(a, "endsAt"),
                generator_url: get(a, "generatorURL"),
            });
        }
        let common = |f: &dyn Fn(&notifiers::Alert) -> &BTreeMap<String, String>| {
            let mut it = out.iter();
            let mut c = it.next().map(|a| f(a).clone()).unwrap_or_default();
            for a in it {
                c.retain(|k, v| f(a).get(k) == Some(v));
            }
            c
        };
        let tv = serde_json::Value::Object(top.clone());
        let n = Notification {
            receiver: get(&tv, "receiver"),
            status: if out
                .iter()
                .any(|a| a.status == notifiers::AlertStatus::Firing)
            {
                notifiers::AlertStatus::Firing
            } else {
                notifiers::AlertStatus::Resolved
            },
            group_labels: str_map(top.get("groupLabels")),
            common_labels: top
                .get("commonLabels")
                .map_or_else(|| common(&|a| &a.labels), |v| str_map(Some(v))),
            common_annotations: top
                .get("commonAnnotations")
                .map_or_else(|| common(&|a| &a.annotations), |v| str_map(Some(v))),
            external_url: get(&tv, "externalURL"),
            group_key: get(&tv, "groupKey"),
            alerts: out,
            truncated_alerts: 0,
            idempotency_key: String::new(),
            title: String::new(),
            text: String::new(),
            html: String::new(),
        };
        Ok(Data::from_notification(&n))
    }
}

/// A template could not be parsed or executed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// Syntax error.
    #[error("template syntax: {0}")]
    Syntax(#[from] TemplateError),
    /// Error while executing, at a line:col of the template.
    #[error("template: {line}:{col}: {message}")]
    Exec {
        /// Line.
        line: usize,
        /// Column.
        col: usize,
        /// What went wrong.
        message: String,
    },
}

/// Built-in templates, named as in Alertmanager.
pub const DEFAULTS: &str = r#"{{ define "__subject" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }} {{ if gt (len .CommonLabels) (len .GroupLabels) }}({{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join " " }}{{ end }}){{ end }}{{ end }}
{{- define "email.default.subject" }}{{ template "__subject" . }}{{ end }}
{{- define "__text_alert_list" }}{{ range . }}Labels:
{{ range .Labels.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Annotations:
{{ range .Annotations.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Source: {{ .GeneratorURL }}
{{ end }}{{ end }}
{{- define "email.default.text" }}{{ template "__subject" . }}
{{ if gt (len .Alerts.Firing) 0 }}
Alerts Firing:
{{ template "__text_alert_list" .Alerts.Firing }}{{ end }}{{ if gt (len .Alerts.Resolved) 0 }}
Alerts Resolved:
{{ template "__text_alert_list" .Alerts.Resolved }}{{ end }}
View in notifyd: {{ .ExternalURL }}
{{ end }}
{{- define "__html_alert_list" }}{{ range . }}<tr><td><strong>{{ .Labels.alertname }}</strong><br>{{ range .Labels.SortedPairs }}{{ .Name }} = {{ .Value }}<br>{{ end }}{{ if .Annotations }}{{ range .Annotations.SortedPairs }}{{ .Name }} = {{ .Value }}<br>{{ end }}{{ end }}{{ if .GeneratorURL }}<a href="{{ .GeneratorURL }}">Source</a>{{ end }}</td></tr>
{{ end }}{{ end }}
{{- define "email.default.html" }}<!DOCTYPE html>
<html><head><meta charset="UTF-8"><title>{{ template "__subject" . }}</title></head>
<body><h2>{{ .Alerts | len }} alert{{ if gt (len .Alerts) 1 }}s{{ end }} for {{ range .GroupLabels.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }}</h2>
<table>
{{ if gt (len .Alerts.Firing) 0 }}<tr><th>[{{ .Alerts.Firing | len }}] Firing</th></tr>
{{ template "__html_alert_list" .Alerts.Firing }}{{ end }}{{ if gt (len .Alerts.Resolved) 0 }}<tr><th>[{{ .Alerts.Resolved | len }}] Resolved</th></tr>
{{ template "__html_alert_list" .Alerts.Resolved }}{{ end }}</table>
<p><a href="{{ .ExternalURL }}">View in notifyd</a></p>
</body></html>
{{ end }}"#;

/// The three templates of an email config, with Alertmanager's defaults filled in.
#[derive(Debug, Clone)]
pub struct EmailTemplates {
    /// `headers.Subject`.
    pub subject: String,
    /// `text`.
    pub text: String,
    /// `html`.
    pub html: String,
}

impl EmailTemplates {
    /// The templates configured for `e`, defaults where unset.
    pub fn of(e: &EmailConfig) -> Self {
        EmailTemplates {
            subject: e
                .headers
                .get("Subject")
                .cloned()
                .unwrap_or_else(|| r#"{{ template "email.default.subject" . }}"#.into()),
            text: e
                .text
                .clone()
                .unwrap_or_else(|| r#"{{ template "email.default.text" . }}"#.into()),
            html: e
                .html
                .clone()
                .unwrap_or_else(|| r#"{{ template "email.default.html" . }}"#.into()),
        }
    }
}

/// Named templates available to every template: the built-in ones plus those `define`d in the
/// config's `templates:` files.
#[derive(Debug, Clone)]
pub struct Library {
    defines: BTreeMap<String, Vec<Node>>,
}

impl Default for Library {
    fn default() -> Self {
        // DEFAULTS is a constant checked by the tests; an error here would be a bug in it.
        let defines = tmpl::parse(DEFAULTS).map(|t| t.defines).unwrap_or_default();
        Library { defines }
    }
}

impl Library {
    /// The built-ins plus the `define`s of each `(name, text)` file; later files win.
    pub fn with_files(files: &[(String, String)]) -> Result<Self, (String, RenderError)> {
        let mut lib = Library::default();
        for (name, text) in files {
            let t = tmpl::parse(text).map_err(|e| (name.clone(), RenderError::from(e)))?;
            lib.defines.extend(t.defines);
        }
        Ok(lib)
    }

    /// Renders template text (plain text: no escaping).
    pub fn render(&self, src: &str, data: &Data) -> Result<String, RenderError> {
        self.render_mode(src, data, false)
    }

    /// Renders template text for an HTML body: printed values are escaped unless `safeHtml`.
    pub fn render_html(&self, src: &str, data: &Data) -> Result<String, RenderError> {
        self.render_mode(src, data, true)
    }

    /// Fills `title`, `text` and `html` of an email notification from its config's templates.
    pub fn render_email(&self, n: &mut Notification, e: &EmailConfig) -> Result<(), RenderError> {
        let t = EmailTemplates::of(e);
        let data = Data::from_notification(n);
        n.title = self.render(&t.subject, &data)?.trim().to_string();
        n.text = self.render(&t.text, &data)?;
        n.html = self.render_html(&t.html, &data)?;
        Ok(())
    }

    fn render_mode(&self, src: &str, data: &Data, html: bool) -> Result<String, RenderError> {
        let user = tmpl::parse(src)?;
        let mut defines = self.defines.clone();
        defines.extend(user.defines.clone());
        let mut ex = Exec {
            src,
            defines: &defines,
            vars: vec![("$".into(), data.0.clone())],
            html,
            out: String::new(),
        };
        ex.nodes(&user.body, &data.0)?;
        Ok(ex.out)
    }
}

/// Renders template text against data with the built-in templates (plain text: no escaping).
pub fn render(src: &str, data: &Data) -> Result<String, RenderError> {
    Library::default().render(src, data)
}

/// Renders template text for an HTML body: printed values are HTML-escaped unless `safeHtml`.
pub fn render_html(src: &str, data: &Data) -> Result<String, RenderError> {
    Library::default().render_html(src, data)
}

/// Fills `title`, `text` and `html` of an email notification from its config's templates.
pub fn render_email(n: &mut Notification, e: &EmailConfig) -> Result<(), RenderError> {
    Library::default().render_email(n, e)
}

struct Exec<'a> {
    src: &'a str,
    defines: &'a BTreeMap<String, Vec<Node>>,
    vars: Vec<(String, Value)>,
    html: bool,
    out: String,
}

#[path = "render_exec.rs"]
mod exec;

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
