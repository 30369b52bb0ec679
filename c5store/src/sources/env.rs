//! [`EnvSource`] (process environment) and [`DotenvSource`] (`.env` files, read with `dotenvy`).
//!
//! Names: `<PREFIX>__A__B` sets `a.b` (`__` nests). Each segment matches an existing key of the
//! lower layers case-insensitively, ignoring `_` and `-` (`MAX_CONN` reaches `maxConn` and
//! `max_conn`); a segment matching nothing becomes a new lowercase key. A numeric segment where
//! the lower tree has a sequence overrides that element (`APP__HOSTS__0`), one past the end
//! appends. A last segment ending in `_FILE` reads the value from the file it names (trailing
//! newline trimmed, never parsed).
//!
//! Values: `[..]` and `{..}` are YAML flow collections, `"..."`/`'...'` quoted strings, plain
//! text resolves by the YAML core schema (`5432` integer, `true` bool, `1.5` float, `null`/`~`
//! deletes the key); anything else, including the empty string, stays a string verbatim.
//! A flow collection or quoted string that does not parse is an error naming the variable and the
//! column (never the value, which may be a secret).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::LoadError;
use crate::merge::{Layer, MergeMode, Origins};
use crate::origin::{Origin, to_u32};
use crate::parse::Recorder;
use crate::parse::yaml::{parse_document, resolve_plain};
use crate::source::{LoadContext, Source};
use crate::value::{Map, Segment, Value, push_segment};

/// Environment variables `<PREFIX>__...` as one layer.
#[derive(Clone, Debug)]
pub struct EnvSource {
    prefix: String,
    vars: Option<Vec<(String, String)>>,
}

impl EnvSource {
    /// Reads the process environment at each load.
    pub fn new(prefix: &str) -> Self {
        EnvSource {
            prefix: prefix.to_owned(),
            vars: None,
        }
    }

    /// Uses the given variables instead of the process environment (tests, embedding).
    pub fn from_vars<K: Into<String>, V: Into<String>>(
        prefix: &str,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let vars = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        EnvSource {
            prefix: prefix.to_owned(),
            vars: Some(vars),
        }
    }
}

impl Source for EnvSource {
    fn load(&self, cx: &LoadContext<'_>) -> Result<Vec<Layer>, Vec<LoadError>> {
        let vars: Vec<(String, String)> = match &self.vars {
            Some(v) => v.clone(),
            // non-UTF-8 variables cannot name our keys: skip them
            None => std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        };
        let entries = vars.into_iter().map(|(k, v)| {
            let mut o = Origin::named("env");
            o.var = Some(k.as_str().into());
            (k, v, o)
        });
        build_layer(Some(&self.prefix), entries, cx.below, "env")
    }
}

/// A `.env` file: its variables, filtered by the env prefix, as one layer. The variables are not
/// put into the process environment.
#[derive(Clone, Debug)]
pub struct DotenvSource {
    path: PathBuf,
    prefix: Option<String>,
    optional: bool,
}

impl DotenvSource {
    /// A required `.env` file. Without [`DotenvSource::prefix`], the builder's env prefix applies;
    /// without either, every variable of the file is a key.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        DotenvSource {
            path: path.into(),
            prefix: None,
            optional: false,
        }
    }

    /// Only variables starting with `<prefix>__`.
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = Some(prefix.to_owned());
        self
    }

    /// Skip when the file does not exist.
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
}

impl Source for DotenvSource {
    fn load(&self, cx: &LoadContext<'_>) -> Result<Vec<Layer>, Vec<LoadError>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return if self.optional {
                    Ok(Vec::new())
                } else {
                    Err(vec![LoadError::NotFound {
                        path: self.path.clone(),
                    }])
                };
            }
            Err(source) => {
                return Err(vec![LoadError::Io {
                    path: self.path.clone(),
                    source,
                }]);
            }
        };
        let file: Arc<Path> = Arc::from(self.path.as_path());
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        let lines: Vec<&str> = text.lines().collect();
        let mut cursor = 0; // dotenvy reads lines in order: search from the last one found
        for item in dotenvy::from_read_iter(text.as_bytes()) {
            match item {
                Ok((k, v)) => {
                    let (line, col) = find_definition(&lines, cursor, &k);
                    cursor = line.max(1) as usize;
                    let mut o = Origin::at("dotenv".into(), Some(file.clone()), line, col);
                    o.var = Some(k.as_str().into());
                    entries.push((k, v, o));
                }
                Err(dotenvy::Error::LineParse(rest, index)) => {
                    // `rest` is the text after `=` (it may hold a secret: report its position only)
                    let (line, col) = find_bad_value(&lines, cursor, &rest, index);
                    cursor = line.max(1) as usize;
                    let origin = Origin::at("dotenv".into(), Some(file.clone()), line, col);
                    let message =
                        "cannot parse this line (quote values that contain spaces)".into();
                    errors.push(LoadError::Syntax {
                        origin,
                        format: "dotenv",
                        message,
                    });
                }
                Err(e) => errors.push(LoadError::Syntax {
                    origin: Origin::at("dotenv".into(), Some(file.clone()), 0, 0),
                    format: "dotenv",
                    message: e.to_string(),
                }),
            }
        }
        let prefix = self.prefix.as_deref().or(cx.env_prefix);
        match build_layer(prefix, entries.into_iter(), cx.below, "dotenv") {
            Ok(l) if errors.is_empty() => Ok(l),
            Ok(_) => Err(errors),
            Err(e) => {
                errors.extend(e);
                Err(errors)
            }
        }
    }

    fn watch_paths(&self) -> Vec<PathBuf> {
        vec![self.path.clone()]
    }
}

/// 1-based line and column of the first `KEY=` (optionally after `export`) at or after line
/// index `from` of a `.env` text.
fn find_definition(lines: &[&str], from: usize, key: &str) -> (u32, u32) {
    for (i, line) in lines.iter().enumerate().skip(from) {
        let t = line.trim_start();
        let t2 = t.strip_prefix("export ").map_or(t, str::trim_start);
        if let Some(rest) = t2.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return (to_u32(i + 1), to_u32(line.len() - t2.len() + 1));
        }
    }
    (0, 0)
}

/// Position of a value dotenvy could not parse: the first line at or after `from` whose text
/// after `=` starts with `rest`; the column points at byte `index` of `rest`.
fn find_bad_value(lines: &[&str], from: usize, rest: &str, index: usize) -> (u32, u32) {
    for (i, line) in lines.iter().enumerate().skip(from) {
        if let Some(eq) = line.find('=') {
            let after = &line[eq + 1..];
            let trimmed = after.trim_start();
            if trimmed.starts_with(rest.trim_end()) {
                let start = eq + 1 + (after.len() - trimmed.len());
                let upto = line.get(..start + index.min(trimmed.len())).unwrap_or(line);
                return (to_u32(i + 1), to_u32(upto.chars().count() + 1));
            }
        }
    }
    (0, 0)
}

/// Lowercase, without `_` and `-`: the form in which env segments and keys are compared.
fn normalize(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
}

fn same_key(a: &str, b: &str) -> bool {
    normalize(a).eq(normalize(b))
}

/// Builds the env layer from (name, raw value, origin) entries.
fn build_layer(
    prefix: Option<&str>,
    entries: impl Iterator<Item = (String, String, Origin)>,
    below: &Value,
    source: &str,
) -> Result<Vec<Layer>, Vec<LoadError>> {
    let full_prefix = prefix.filter(|p| !p.is_empty()).map(|p| format!("{p}__"));
    let mut selected: Vec<(String, String, Origin)> = entries
        .filter(|(k, _, _)| {
            full_prefix
                .as_ref()
                .is_none_or(|p| k.starts_with(p.as_str()) && k.len() > p.len())
        })
        .collect();
    selected.sort_by(|a, b| a.0.cmp(&b.0));
    let mut tree = Value::empty_map();
    let mut origins = Origins::default();
    let mut errors = Vec::new();
    for (name, raw, origin) in selected {
        let rest = full_prefix
            .as_ref()
            .map_or(name.as_str(), |p| &name[p.len()..]);
        match one_var(rest, &raw, &origin, below, &mut tree) {
            Ok(path) => {
                origins.insert(path, origin);
            }
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let fallback = Origin::named(source);
    Ok(vec![Layer {
        tree,
        origins,
        positions: Default::default(),
        fallback,
        mode: MergeMode {
            append_arrays: false,
            index_patches: true,
        },
    }])
}

fn env_err(origin: &Origin, message: impl Into<String>) -> LoadError {
    LoadError::Env {
        origin: origin.clone(),
        message: message.into(),
    }
}

/// Places one variable in `tree`; returns the canonical path it set.
fn one_var(
    rest: &str,
    raw: &str,
    origin: &Origin,
    below: &Value,
    tree: &mut Value,
) -> Result<String, LoadError> {
    let mut segs: Vec<&str> = rest.split("__").collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Err(env_err(
            origin,
            "empty key segment (`____` or a trailing `__`)",
        ));
    }
    let mut from_file = false;
    if let Some(last) = segs.last_mut() {
        let n = last.len();
        if n > 5 && last.is_char_boundary(n - 5) && last[n - 5..].eq_ignore_ascii_case("_FILE") {
            *last = &last[..n - 5];
            from_file = true;
        }
    }
    let value = if from_file {
        let path = PathBuf::from(raw.trim());
        match std::fs::read_to_string(&path) {
            Ok(s) => Value::String(s.trim_end_matches(['\n', '\r']).into()),
            Err(source) => {
                return Err(LoadError::EnvFile {
                    origin: origin.clone(),
                    path,
                    source,
                });
            }
        }
    } else {
        parse_value(raw, origin)?
    };
    // resolve segments against the lower tree
    let mut below_node = Some(below);
    let mut path = String::new();
    let mut node = tree;
    let last = segs.len() - 1;
    for (i, seg) in segs.iter().enumerate() {
        let (key, canon): (String, Segment<'_>) = match below_node {
            Some(Value::Seq(s)) if seg.bytes().all(|b| b.is_ascii_digit()) => {
                let idx: usize = seg
                    .parse()
                    .map_err(|_| env_err(origin, "index too large"))?;
                if idx > s.len() {
                    return Err(env_err(
                        origin,
                        format!("index {idx} is past the end of a list of {} items", s.len()),
                    ));
                }
                below_node = s.get(idx);
                (idx.to_string(), Segment::Index(idx))
            }
            Some(Value::Map(m)) => match m.keys().find(|k| same_key(k, seg)) {
                Some(k) => {
                    below_node = m.get(k);
                    (k.to_string(), Segment::Key(""))
                }
                None => {
                    below_node = None;
                    (seg.to_lowercase(), Segment::Key(""))
                }
            },
            _ => {
                below_node = None;
                (seg.to_lowercase(), Segment::Key(""))
            }
        };
        match canon {
            Segment::Index(i) => push_segment(&mut path, Segment::Index(i)),
            Segment::Key(_) => push_segment(&mut path, Segment::Key(&key)),
        }
        let Value::Map(m) = node else {
            return Err(env_err(
                origin,
                "conflicts with a shorter variable that sets a parent key to a value",
            ));
        };
        if i == last {
            if matches!(m.get(key.as_str()), Some(Value::Map(_))) {
                return Err(env_err(
                    origin,
                    "conflicts with a longer variable that sets a key below it",
                ));
            }
            m.insert(key.into(), value);
            return Ok(path);
        }
        node = m
            .entry(key.into())
            .or_insert_with(|| Value::Map(Map::default()));
    }
    Ok(path)
}

/// Parses one env value (see the module docs).
pub(crate) fn parse_value(raw: &str, origin: &Origin) -> Result<Value, LoadError> {
    let t = raw.trim();
    match t.as_bytes().first() {
        None => Ok(Value::String(raw.into())),
        Some(b'[' | b'{' | b'"' | b'\'') => {
            let mut rec = Recorder::new("env", None);
            match parse_document(t, &mut rec) {
                Ok(v) => Ok(v),
                Err(errs) => {
                    let (msg, col) = match errs.first() {
                        Some(LoadError::Syntax {
                            origin: o, message, ..
                        }) => (message.clone(), o.col),
                        Some(e) => (e.to_string(), 0),
                        None => (String::from("invalid value"), 0),
                    };
                    Err(env_err(
                        origin,
                        format!(
                            "cannot parse the value as YAML: {msg} (column {col} of the value)"
                        ),
                    ))
                }
            }
        }
        Some(_) => match resolve_plain(t) {
            Value::String(_) => Ok(Value::String(raw.into())),
            v => Ok(v),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o() -> Origin {
        let mut o = Origin::named("env");
        o.var = Some("APP__X".into());
        o
    }

    #[test]
    fn values_parse_as_yaml_scalars_and_flow_collections() {
        assert_eq!(parse_value("5432", &o()).unwrap(), Value::Int(5432));
        assert_eq!(
            parse_value("[a, b]", &o()).unwrap(),
            Value::from(vec!["a", "b"])
        );
        assert_eq!(parse_value("true", &o()).unwrap(), Value::Bool(true));
        assert_eq!(parse_value("~", &o()).unwrap(), Value::Null);
        assert_eq!(parse_value("", &o()).unwrap(), Value::String("".into()));
        assert_eq!(
            parse_value("p@ss: #word", &o()).unwrap(),
            Value::String("p@ss: #word".into())
        );
        assert_eq!(
            parse_value("'quoted: x'", &o()).unwrap(),
            Value::String("quoted: x".into())
        );
        let e = parse_value("[a, b", &o()).unwrap_err().to_string();
        assert!(
            e.starts_with("env APP__X: cannot parse the value as YAML"),
            "{e}"
        );
    }

    #[test]
    fn segments_match_existing_keys_case_insensitively() {
        let below = Value::from(
            serde_json::json!({"db": {"maxConn": 1, "pool_size": 2}, "hosts": ["a", "b"]}),
        );
        let vars = [
            ("APP__DB__MAX_CONN", "5"),
            ("APP__DB__POOLSIZE", "6"),
            ("APP__HOSTS__1", "z"),
            ("APP__NEW_KEY", "n"),
            ("OTHER", "x"),
        ];
        let entries = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string(), o()));
        let l = build_layer(Some("APP"), entries, &below, "env")
            .unwrap()
            .remove(0);
        assert_eq!(l.tree.get_path("db.maxConn"), Some(&Value::Int(5)));
        assert_eq!(l.tree.get_path("db.pool_size"), Some(&Value::Int(6)));
        assert_eq!(l.tree.get_path("hosts.1"), Some(&Value::from("z")));
        assert_eq!(l.tree.get_path("new_key"), Some(&Value::from("n")));
        assert!(l.origins.contains_key("hosts[1]"));
        assert_eq!(l.tree.as_map().map(|m| m.len()), Some(3));
    }

    #[test]
    fn dotenv_positions() {
        let lines = ["A=1", "  export APP__B=2", "C=a b"];
        assert_eq!(find_definition(&lines, 0, "APP__B"), (2, 10));
        assert_eq!(find_definition(&lines, 2, "APP__B"), (0, 0));
        assert_eq!(find_bad_value(&lines, 2, "a b", 2), (3, 5));
    }
}
