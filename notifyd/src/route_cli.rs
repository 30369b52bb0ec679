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
    routes_test_verify(config, tree, labels, None)
}

/// `routes test` with `--verify-receivers R1,R2`: like amtool's `--verify.receivers`, exit 1 with a
/// warning line when the receivers differ.
pub fn routes_test_verify(
    config: &Path,
    tree: bool,
    labels: &[String],
    expected: Option<&str>,
) -> CliOutput {
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
    let got = root.receivers(&ls).join(",");
    stdout.push_str(&got);
    stdout.push('\n');
    let mut code = 0;
    if expected.is_some_and(|e| !e.is_empty() && e != got) {
        stdout.push_str("WARNING: Expected receivers did not match resolved receivers.\n");
        code = 1;
    }
    CliOutput {
        stdout,
        stderr: warnings,
        code,
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
    let mut library = render::Library::default();
    if let Some(cfg) = config {
        let (loaded, w) = match load(cfg) {
            Ok(x) => x,
            Err(o) => return o,
        };
        warnings = w;
        let base = cfg.parent().unwrap_or(Path::new("."));
        let files = match config::load_templates(&loaded.config, base) {
            Ok(f) => f,
            Err(e) => return CliOutput::fail(e.to_string(), warnings),
        };
        library = match render::Library::with_files(&files) {
            Ok(l) => l,
            Err((file, e)) => return CliOutput::fail(format!("{file}: {e}"), warnings),
        };
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
            library.render_html(src, &data)
        } else {
            library.render(src, &data)
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

/// Reads a silences file (a JSON list; missing file = none).
fn read_silences(file: &Path) -> Result<crate::silence::Silences, String> {
    crate::silence_file::load(file).map_err(|e| e.to_string())
}

/// Writes a silences file atomically.
fn write_silences(file: &Path, s: &crate::silence::Silences) -> Result<(), String> {
    crate::silence_file::save(file, s).map_err(|e| e.to_string())
}

/// What `notifyd silence add` needs.
#[derive(Debug, Clone)]
pub struct SilenceAdd<'a> {
    /// Matchers, e.g. `alertname="Disk" instance=~"db.*"`.
    pub matchers: &'a str,
    /// Start (RFC 3339); `None` for now.
    pub starts_at: Option<&'a str>,
    /// End (RFC 3339); wins over `duration`.
    pub ends_at: Option<&'a str>,
    /// Length, e.g. `2h` (default 1h).
    pub duration: Option<&'a str>,
    /// Author.
    pub created_by: &'a str,
    /// Why.
    pub comment: &'a str,
}

/// `notifyd silence add`: validates, stores and prints the new silence's id.
pub fn silence_add(file: &Path, a: &SilenceAdd<'_>, now: i64) -> CliOutput {
    let run = || -> Result<String, String> {
        let mut store = read_silences(file)?;
        let time = |s: &str| {
            crate::timeinterval::parse_rfc3339(s)
                .ok_or_else(|| format!("not an RFC 3339 time: {s:?}"))
        };
        let starts = a.starts_at.map(time).transpose()?.unwrap_or(now);
        let ends = match (a.ends_at, a.duration) {
            (Some(e), _) => time(e)?,
            (None, d) => {
                let d = crate::decode::parse_duration(d.unwrap_or("1h"))?;
                starts.saturating_add(i64::try_from(d.as_millis()).map_err(|e| e.to_string())?)
            }
        };
        let s = crate::silence::Silence {
            id: String::new(),
            matchers: crate::silence::api_matchers(a.matchers).map_err(|e| e.to_string())?,
            starts_at: starts,
            ends_at: ends,
            updated_at: now,
            created_by: a.created_by.to_string(),
            comment: a.comment.to_string(),
        };
        let id = store.create(s, now).map_err(|e| e.to_string())?;
        write_silences(file, &store)?;
        Ok(id + "\n")
    };
    match run() {
        Ok(stdout) => CliOutput {
            stdout,
            ..CliOutput::default()
        },
        Err(e) => CliOutput::fail(e, String::new()),
    }
}

/// `notifyd silence expire ID...`.
pub fn silence_expire(file: &Path, ids: &[String], now: i64) -> CliOutput {
    let run = || -> Result<String, String> {
        let mut store = read_silences(file)?;
        for id in ids {
            store.expire(id, now).map_err(|e| e.to_string())?;
        }
        write_silences(file, &store)?;
        Ok(String::new())
    };
    match run() {
        Ok(stdout) => CliOutput {
            stdout,
            ..CliOutput::default()
        },
        Err(e) => CliOutput::fail(e, String::new()),
    }
}

/// `notifyd silence list [--state pending|active|expired]`: one line per silence.
pub fn silence_list(file: &Path, state: Option<&str>, now: i64) -> CliOutput {
    use crate::silence::SilenceState;
    let state = match state {
        None => None,
        Some("pending") => Some(SilenceState::Pending),
        Some("active") => Some(SilenceState::Active),
        Some("expired") => Some(SilenceState::Expired),
        Some(other) => {
            return CliOutput::fail(
                format!("unknown state {other:?} (pending, active or expired)"),
                String::new(),
            );
        }
    };
    match read_silences(file) {
        Ok(store) => CliOutput {
            stdout: store
                .list(state, now)
                .iter()
                .map(|s| s.summary(now) + "\n")
                .collect(),
            ..CliOutput::default()
        },
        Err(e) => CliOutput::fail(e, String::new()),
    }
}
