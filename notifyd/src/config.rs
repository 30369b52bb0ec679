//! Alertmanager-compatible routing config: `global`, `route`, `receivers`, `inhibit_rules`,
//! `time_intervals` / `mute_time_intervals` and `templates`.
//!
//! Existing Alertmanager files load unchanged. Alertmanager settings notifyd does not implement
//! (Slack, PagerDuty, OAuth2, ...) load with a warning that names the field and its file:line:col;
//! unknown fields and invalid values are errors with file:line:col, like Alertmanager's strict
//! parsing. Extensions beyond Alertmanager are marked "notifyd extension" below.

use std::path::Path;
use std::time::Duration;

use crate::decode::{Cx, Diagnostic, Fields, Severity};
use crate::matcher::{self, MatchOp, Matcher};
use crate::receivers::{self, Receiver};
use crate::timeinterval::{self, TimeInterval};
use crate::yaml::{self, Pos};

/// A config file could not be read or is invalid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file has errors (each with file:line:col); warnings found on the way are included.
    #[error("{}", format_diags(.0))]
    Invalid(Vec<Diagnostic>),
}

fn format_diags(d: &[Diagnostic]) -> String {
    d.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A loaded config plus warnings about settings that have no effect.
#[derive(Debug)]
pub struct Loaded {
    /// The config.
    pub config: Config,
    /// Warnings (unsupported Alertmanager settings), each with file:line:col.
    pub warnings: Vec<Diagnostic>,
}

/// The whole routing and delivery config.
#[derive(Debug, Clone)]
pub struct Config {
    /// Global defaults.
    pub global: Global,
    /// The root of the route tree.
    pub route: RouteConfig,
    /// Receivers by name, in file order.
    pub receivers: Vec<Receiver>,
    /// Inhibition rules.
    pub inhibit_rules: Vec<InhibitRuleConfig>,
    /// Named time intervals (`time_intervals` and the older `mute_time_intervals`).
    pub time_intervals: Vec<(String, Vec<TimeInterval>)>,
    /// Template file paths (globs are taken literally).
    pub templates: Vec<String>,
}

/// The `global` section (the parts that matter to email, webhook and grouping).
#[derive(Debug, Clone)]
pub struct Global {
    /// `resolve_timeout`: an alert without an end time resolves after this long (default 5m).
    pub resolve_timeout: Duration,
    /// SMTP defaults applied to every email config that leaves them out.
    pub smtp: receivers::SmtpDefaults,
}

/// One node of the route tree as written (no inheritance applied; see [`crate::route`]).
#[derive(Debug, Clone, Default)]
pub struct RouteConfig {
    /// Where the route starts in the file.
    pub pos: Pos,
    /// `receiver`.
    pub receiver: Option<String>,
    /// `group_by` labels; `None` (absent, null, `[]` or only `...`) inherits.
    pub group_by: Option<Vec<String>>,
    /// `group_by: ['...']`: group by all labels.
    pub group_by_all: bool,
    /// `continue`.
    pub continue_matching: bool,
    /// `match`, `match_re` and `matchers`, merged and sorted as Alertmanager does.
    pub matchers: Vec<Matcher>,
    /// `group_wait`.
    pub group_wait: Option<Duration>,
    /// `group_interval`.
    pub group_interval: Option<Duration>,
    /// `repeat_interval`.
    pub repeat_interval: Option<Duration>,
    /// notifyd extension `resolve_wait`: how soon after an alert resolves its group is flushed
    /// (Alertmanager waits for the next `group_interval`, issue #1510). Inherited; default 5s.
    pub resolve_wait: Option<Duration>,
    /// `mute_time_intervals` (names).
    pub mute_time_intervals: Vec<String>,
    /// `active_time_intervals` (names).
    pub active_time_intervals: Vec<String>,
    /// Child routes.
    pub routes: Vec<RouteConfig>,
}

/// One inhibition rule as written.
#[derive(Debug, Clone)]
pub struct InhibitRuleConfig {
    /// Where the rule starts.
    pub pos: Pos,
    /// `source_match`, `source_match_re`, `source_matchers`.
    pub source_matchers: Vec<Matcher>,
    /// `target_match`, `target_match_re`, `target_matchers`.
    pub target_matchers: Vec<Matcher>,
    /// `equal`: labels that must have the same value in source and target.
    pub equal: Vec<String>,
}

const TOP: &[&str] = &[
    "global",
    "route",
    "receivers",
    "inhibit_rules",
    "templates",
    "time_intervals",
    "mute_time_intervals",
];
const GLOBAL: &[&str] = &[
    "resolve_timeout",
    "smtp_from",
    "smtp_hello",
    "smtp_smarthost",
    "smtp_auth_username",
    "smtp_auth_password",
    "smtp_auth_password_file",
    "smtp_auth_identity",
    "smtp_require_tls",
];
const GLOBAL_UNSUPPORTED: &[&str] = &[
    "http_config",
    "smtp_auth_secret",
    "slack_api_url",
    "slack_api_url_file",
    "pagerduty_url",
    "opsgenie_api_url",
    "opsgenie_api_key",
    "opsgenie_api_key_file",
    "wechat_api_url",
    "wechat_api_secret",
    "wechat_api_corp_id",
    "victorops_api_url",
    "victorops_api_key",
    "victorops_api_key_file",
    "telegram_api_url",
    "webex_api_url",
];
const ROUTE: &[&str] = &[
    "receiver",
    "group_by",
    "continue",
    "match",
    "match_re",
    "matchers",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "mute_time_intervals",
    "active_time_intervals",
    "routes",
    "resolve_wait",
];
const INHIBIT: &[&str] = &[
    "source_match",
    "source_match_re",
    "source_matchers",
    "target_match",
    "target_match_re",
    "target_matchers",
    "equal",
];

/// Reads and parses a config file.
pub fn load_file(path: &Path) -> Result<Loaded, ConfigError> {
    let name = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: name.clone(),
        source,
    })?;
    parse_str(&src, &name)
}

/// Parses config text; `file` names it in diagnostics.
pub fn parse_str(src: &str, file: &str) -> Result<Loaded, ConfigError> {
    let mut cx = Cx::new(file);
    let root = match yaml::parse(src) {
        Ok(n) => n,
        Err(e) => {
            cx.err(
                e.pos.unwrap_or_default(),
                format!("invalid YAML: {}", e.message),
            );
            return Err(ConfigError::Invalid(cx.diags));
        }
    };
    let config = decode(&mut cx, &root);
    if cx.has_errors() {
        return Err(ConfigError::Invalid(cx.diags));
    }
    Ok(Loaded {
        config,
        warnings: cx.diags,
    })
}

fn decode(cx: &mut Cx, root: &yaml::Node) -> Config {
    let top = cx.fields(root, "config", TOP, &[]);
    let global = decode_global(cx, top.get("global"));
    let route = match top.get("route") {
        Some(n) => decode_route(cx, n),
        None => {
            cx.err(top.pos, "no `route` provided in config");
            RouteConfig::default()
        }
    };
    let mut receivers_list = Vec::new();
    if let Some(n) = top.get("receivers") {
        for item in cx.seq(n, "receivers") {
            if let Some(r) = receivers::decode_receiver(cx, item, &global.smtp) {
                if receivers_list.iter().any(|x: &Receiver| x.name == r.name) {
                    cx.err(
                        item.pos,
                        format!("notification config name {:?} is not unique", r.name),
                    );
                }
                receivers_list.push(r);
            }
        }
    }
    let inhibit_rules = top
        .get("inhibit_rules")
        .map(|n| {
            cx.seq(n, "inhibit_rules")
                .iter()
                .map(|r| decode_inhibit(cx, r))
                .collect()
        })
        .unwrap_or_default();
    let mut time_intervals: Vec<(String, Vec<TimeInterval>)> = Vec::new();
    for key in ["mute_time_intervals", "time_intervals"] {
        if let Some(n) = top.get(key) {
            for item in cx.seq(n, key) {
                if let Some((name, ti)) = timeinterval::decode_named(cx, item, key) {
                    if time_intervals.iter().any(|(x, _)| *x == name) {
                        cx.err(item.pos, format!("time interval {name:?} is not unique"));
                    }
                    time_intervals.push((name, ti));
                }
            }
        }
    }
    let templates = top
        .get("templates")
        .map(|n| {
            cx.strings(n, "templates")
                .into_iter()
                .map(|(s, _)| s)
                .collect()
        })
        .unwrap_or_default();
    let has_route = top.get("route").is_some();
    let config = Config {
        global,
        route,
        receivers: receivers_list,
        inhibit_rules,
        time_intervals,
        templates,
    };
    if has_route {
        validate(cx, &config);
    }
    config
}

fn decode_global(cx: &mut Cx, node: Option<&yaml::Node>) -> Global {
    let null = yaml::Node {
        pos: Pos::default(),
        kind: yaml::Kind::Null,
    };
    let f = cx.fields(node.unwrap_or(&null), "global", GLOBAL, GLOBAL_UNSUPPORTED);
    let w = "global";
    Global {
        resolve_timeout: cx
            .duration(&f, "resolve_timeout", w)
            .unwrap_or(Duration::from_secs(300)),
        smtp: receivers::SmtpDefaults {
            from: cx.opt_string(&f, "smtp_from", w),
            hello: cx.opt_string(&f, "smtp_hello", w),
            smarthost: cx.opt_string(&f, "smtp_smarthost", w),
            auth_username: cx.opt_string(&f, "smtp_auth_username", w),
            auth_password: receivers::opt_secret(cx, &f, "smtp_auth_password", w),
            auth_password_file: cx.opt_string(&f, "smtp_auth_password_file", w),
            auth_identity: cx.opt_string(&f, "smtp_auth_identity", w),
            require_tls: cx.bool(&f, "smtp_require_tls", w).unwrap_or(true),
        },
    }
}

/// Reads `match` (equality), `match_re` (regex) and `matchers` (strings) into one sorted list.
pub(crate) fn decode_matchers(
    cx: &mut Cx,
    f: &Fields<'_>,
    [eq_key, re_key, m_key]: [&str; 3],
    what: &str,
) -> Vec<Matcher> {
    let mut out = Vec::new();
    for (key, op) in [(eq_key, MatchOp::Equal), (re_key, MatchOp::Regex)] {
        let Some(n) = f.get(key) else { continue };
        for (name, value, pos) in cx.string_map(n, &format!("{what}: `{key}`")) {
            if !matcher::is_valid_label_name(&name) {
                cx.err(pos, format!("{what}: `{key}`: invalid label name {name:?}"));
                continue;
            }
            // Alertmanager stores legacy regexes anchored, and prints them that way.
            let value = if op == MatchOp::Regex {
                format!("^(?:{value})$")
            } else {
                value
            };
            match Matcher::new(&name, op, &value) {
                Ok(m) => out.push(m),
                Err(e) => cx.err(pos, format!("{what}: `{key}`: {e}")),
            }
        }
    }
    if let Some(n) = f.get(m_key) {
        for (s, pos) in cx.strings(n, &format!("{what}: `{m_key}`")) {
            match matcher::parse_matchers(&s) {
                Ok(ms) => out.extend(ms),
                Err(e) => cx.err(pos, format!("{what}: `{m_key}`: {e}")),
            }
        }
    }
    out.sort_by(Matcher::cmp_am);
    out
}

fn decode_route(cx: &mut Cx, node: &yaml::Node) -> RouteConfig {
    let f = cx.fields(node, "route", ROUTE, &[]);
    let w = "route";
    let mut r = RouteConfig {
        pos: node.pos,
        receiver: cx.opt_string(&f, "receiver", w),
        continue_matching: cx.bool(&f, "continue", w).unwrap_or(false),
        matchers: decode_matchers(cx, &f, ["match", "match_re", "matchers"], w),
        group_wait: cx.duration(&f, "group_wait", w),
        group_interval: cx.duration(&f, "group_interval", w),
        repeat_interval: cx.duration(&f, "repeat_interval", w),
        resolve_wait: cx.duration(&f, "resolve_wait", w),
        ..RouteConfig::default()
    };
    if let Some(n) = f.get("group_by") {
        let labels = cx.strings(n, "route: `group_by`");
        let mut names: Vec<String> = Vec::new();
        for (l, pos) in &labels {
            if l == "..." {
                r.group_by_all = true;
            } else if !matcher::is_valid_label_name(l) {
                cx.err(*pos, format!("route: `group_by`: invalid label name {l:?}"));
            } else if names.contains(l) {
                cx.err(*pos, format!("route: duplicated label {l:?} in group_by"));
            }
            names.push(l.clone());
        }
        if r.group_by_all && labels.len() > 1 {
            cx.err(
                n.pos,
                "route: cannot have wildcard group_by (`...`) and other labels at the same time",
            );
        }
        // As in Alertmanager, only named labels set `group_by`; `[]` (like null) inherits it.
        names.retain(|l| l != "...");
        r.group_by = (!names.is_empty()).then_some(names);
    }
    for (key, out) in [
        ("mute_time_intervals", &mut r.mute_time_intervals),
        ("active_time_intervals", &mut r.active_time_intervals),
    ] {
        if let Some(n) = f.get(key) {
            *out = cx.strings(n, key).into_iter().map(|(s, _)| s).collect();
        }
    }
    if let Some(n) = f.get("routes") {
        r.routes = cx
            .seq(n, "routes")
            .iter()
            .map(|c| decode_route(cx, c))
            .collect();
    }
    r
}

fn decode_inhibit(cx: &mut Cx, node: &yaml::Node) -> InhibitRuleConfig {
    let f = cx.fields(node, "inhibit rule", INHIBIT, &[]);
    let w = "inhibit rule";
    let source_matchers = decode_matchers(
        cx,
        &f,
        ["source_match", "source_match_re", "source_matchers"],
        w,
    );
    let target_matchers = decode_matchers(
        cx,
        &f,
        ["target_match", "target_match_re", "target_matchers"],
        w,
    );
    let mut equal = Vec::new();
    if let Some(n) = f.get("equal") {
        for (l, pos) in cx.strings(n, "inhibit rule: `equal`") {
            if !matcher::is_valid_label_name(&l) {
                cx.err(
                    pos,
                    format!("inhibit rule: `equal`: invalid label name {l:?}"),
                );
            }
            equal.push(l);
        }
    }
    InhibitRuleConfig {
        pos: node.pos,
        source_matchers,
        target_matchers,
        equal,
    }
}

fn validate(cx: &mut Cx, c: &Config) {
    let root = &c.route;
    match &root.receiver {
        None => cx.err(root.pos, "root route must specify a default receiver"),
        Some(r) if r.is_empty() => cx.err(root.pos, "root route must specify a default receiver"),
        _ => {}
    }
    if !root.matchers.is_empty() {
        cx.err(root.pos, "root route must not have any matchers");
    }
    if !root.mute_time_intervals.is_empty() {
        cx.err(root.pos, "root route must not have any mute time intervals");
    }
    if !root.active_time_intervals.is_empty() {
        cx.err(
            root.pos,
            "root route must not have any active time intervals",
        );
    }
    validate_route(cx, c, root);
}

fn validate_route(cx: &mut Cx, c: &Config, r: &RouteConfig) {
    if let Some(name) = &r.receiver
        && !name.is_empty()
        && !c.receivers.iter().any(|x| x.name == *name)
    {
        cx.err(r.pos, format!("undefined receiver {name:?} used in route"));
    }
    for name in r.mute_time_intervals.iter().chain(&r.active_time_intervals) {
        if !c.time_intervals.iter().any(|(x, _)| x == name) {
            cx.err(
                r.pos,
                format!("undefined time interval {name:?} used in route"),
            );
        }
    }
    if r.group_interval == Some(Duration::ZERO) {
        cx.err(r.pos, "group_interval cannot be zero");
    }
    if r.repeat_interval == Some(Duration::ZERO) {
        cx.err(r.pos, "repeat_interval cannot be zero");
    }
    for child in &r.routes {
        validate_route(cx, c, child);
    }
}

/// Reads the `templates:` files (paths relative to `base`, usually the config file's directory;
/// `*` and `?` wildcards in the file name, as Alertmanager's globs are mostly used). A pattern that
/// matches nothing is not an error, as in Alertmanager. Returns `(path, text)` in a stable order.
pub fn load_templates(config: &Config, base: &Path) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    for pattern in &config.templates {
        let full = base.join(pattern);
        let (dir, name) = match (full.parent(), full.file_name().and_then(|n| n.to_str())) {
            (Some(d), Some(n)) => (d.to_path_buf(), n.to_string()),
            _ => continue,
        };
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.display().to_string(),
                source,
            })
        };
        if !name.contains(['*', '?']) {
            if full.is_file() {
                out.push((full.display().to_string(), read(&full)?));
            }
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<std::path::PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| wildcard(&name, n))
            })
            .collect();
        paths.sort();
        for p in paths {
            out.push((p.display().to_string(), read(&p)?));
        }
    }
    Ok(out)
}

/// Shell-style match of `*` and `?` (no character classes); also globs rule and test files.
pub fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

impl Config {
    /// The receiver called `name`.
    pub fn receiver(&self, name: &str) -> Option<&Receiver> {
        self.receivers.iter().find(|r| r.name == name)
    }

    /// The time interval called `name`.
    pub fn time_interval(&self, name: &str) -> Option<&[TimeInterval]> {
        self.time_intervals
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.as_slice())
    }
}

impl Loaded {
    /// Only the warnings (for printing to stderr).
    pub fn warning_lines(&self) -> impl Iterator<Item = String> + '_ {
        self.warnings
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .map(ToString::to_string)
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
