//! The `notifyd routes ...` and `notifyd template render` commands, as functions returning what to
//! print, so tests can compare them byte for byte with `amtool`.
//!
//! Output formats follow `amtool` 0.25: `routes test` prints the receivers joined by `,` (with
//! `--tree`, first the matching part of the tree under `Matching routes:`), `routes show` prints
//! `Routing tree:` and the whole tree. Config warnings go to stderr.

use std::path::Path;

use crate::config::{self, Loaded};
use crate::matcher::{self, LabelSet, MatchOp};
use crate::render;
use crate::route::Route;

/// What a command prints and its exit code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CliOutput {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Exit code.
    pub code: u8,
}

impl CliOutput {
    fn fail(stderr: String, warnings: String) -> Self {
        CliOutput {
            stdout: String::new(),
            stderr: format!("{warnings}notifyd: error: {stderr}\n"),
            code: 1,
        }
    }
}

fn load(path: &Path) -> Result<(Loaded, String), CliOutput> {
    match config::load_file(path) {
        Ok(l) => {
            let w: String = l.warning_lines().map(|s| s + "\n").collect();
            Ok((l, w))
        }
        Err(e) => Err(CliOutput::fail(
            format!("invalid config:\n{e}"),
            String::new(),
        )),
    }
}

/// Parses `name=value` arguments as amtool does (values may be quoted; other operators are refused).
pub fn parse_label_args(args: &[String]) -> Result<LabelSet, String> {
    let mut ls = LabelSet::new();
    for a in args {
        let m = matcher::parse_matcher(a).map_err(|e| format!("Failed to parse labels: {e}"))?;
        if m.op != MatchOp::Equal {
            return Err(
                "Failed to parse labels: labels must be specified as key=value pairs".into(),
            );
        }
        ls.insert(m.name, m.value);
    }
    Ok(ls)
}

/// `notifyd routes test --config FILE [--tree] LABEL=VALUE...`.
pub fn routes_test(config: &Path, tree: bool, labels: &[String]) -> CliOutput {
    let (loaded, warnings) = match load(config) {
        Ok(x) => x,
        Err(o) => return o,
    };
    let ls = match parse_label_args(labels) {
        Ok(ls) => ls,
        Err(e) => return CliOutput::fail(e, warnings),
    };
    let root = Route::new(&loaded.config.route);
    let mut stdout = String::new();
    if tree {
        stdout.push_str("Matching routes:\n");
        stdout.push_str(&root.matching_tree(&ls));
        stdout.push_str("\n\n");
    }
    stdout.push_str(&root.receivers(&ls).join(","));
    stdout.push('\n');
    CliOutput {
        stdout,
        stderr: warnings,
        code: 0,
    }
}

/// `notifyd routes show --config FILE`: the whole tree.
pub fn routes_show(config: &Path) -> CliOutput {
    let (loaded, warnings) = match load(config) {
        Ok(x) => x,
        Err(o) => return o,
    };
    let root = Route::new(&loaded.config.route);
    CliOutput {
        stdout: format!("Routing tree:\n{}\n", root.show_tree()),
        stderr: warnings,
        code: 0,
    }
}

/// `notifyd template render`: renders a template (text, file, or the receiver's configured ones)
/// against fixture alerts in JSON (an Alertmanager webhook payload, or a list of alerts).
pub fn template_render(
    template: Option<&str>,
    template_file: Option<&Path>,
    alerts_file: &Path,
    config: Option<&Path>,
    receiver: Option<&str>,
) -> CliOutput {
    let fixture = match std::fs::read_to_string(alerts_file) {
        Ok(s) => s,
        Err(e) => return CliOutput::fail(format!("{}: {e}", alerts_file.display()), String::new()),
    };
    let data = match render::Data::from_fixture_json(&fixture) {
        Ok(d) => d,
        Err(e) => return CliOutput::fail(format!("{}: {e}", alerts_file.display()), String::new()),
    };
    let mut templates: Vec<(String, String)> = Vec::new();
    if let Some(t) = template {
        templates.push(("template".into(), t.to_string()));
    }
    if let Some(p) = template_file {
        match std::fs::read_to_string(p) {
            Ok(s) => templates.push((p.display().to_string(), s)),
            Err(e) => return CliOutput::fail(format!("{}: {e}", p.display()), String::new()),
        }
    }
    let mut warnings = String::new();
    if let Some(cfg) = config {
        let (loaded, w) = match load(cfg) {
            Ok(x) => x,
            Err(o) => return o,
        };
        warnings = w;
        let name = receiver.map_or_else(
            || loaded.config.route.receiver.clone().unwrap_or_default(),
            str::to_string,
        );
        let Some(r) = loaded.config.receiver(&name) else {
            return CliOutput::fail(format!("no receiver named {name:?}"), warnings);
        };
        for (i, e) in r.email.iter().enumerate() {
            let t = render::EmailTemplates::of(e);
            templates.push((format!("email_configs[{i}].headers.Subject"), t.subject));
            templates.push((format!("email_configs[{i}].text"), t.text));
            templates.push((format!("email_configs[{i}].html"), t.html));
        }
        for (i, w) in r.webhook.iter().enumerate() {
            if let Some(t) = &w.body_template {
                templates.push((format!("webhook_configs[{i}].body_template"), t.clone()));
            }
        }
    }
    if templates.is_empty() {
        return CliOutput::fail(
            "nothing to render: give --template, --template-file or --config".into(),
            warnings,
        );
    }
    let many = templates.len() > 1;
    let mut stdout = String::new();
    for (name, src) in &templates {
        let rendered = if name.ends_with(".html") {
            render::render_html(src, &data)
        } else {
            render::render(src, &data)
        };
        match rendered {
            Ok(s) => {
                if many {
                    stdout.push_str(&format!("--- {name}\n"));
                }
                stdout.push_str(&s);
                if !s.ends_with('\n') {
                    stdout.push('\n');
                }
            }
            Err(e) => return CliOutput::fail(format!("{name}: {e}"), warnings),
        }
    }
    CliOutput {
        stdout,
        stderr: warnings,
        code: 0,
    }
}
