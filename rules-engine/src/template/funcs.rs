//! The template functions Prometheus offers; the query functions (`query`, `first`, `value`,
//! `label`, `strvalue`, `sortByLabel`) are in the `query` module.

use super::printf::sprintf;
use super::query::{self, Query};
use super::{Val, extra};
use crate::gofmt::fmt_g;

const NAMES: &[&str] = &[
    "humanize",
    "humanize1024",
    "humanizePercentage",
    "humanizeDuration",
    "printf",
    "toUpper",
    "toLower",
    "title",
    "reReplaceAll",
    "match",
    "stripPort",
    "safeHtml",
    "len",
    "index",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "and",
    "or",
    "not",
    "print",
    "println",
    "humanizeTimestamp",
    "toTime",
    "stripDomain",
    "args",
    "graphLink",
    "tableLink",
    "externalURL",
    "parseDuration",
];

pub(super) fn exists(name: &str) -> bool {
    NAMES.contains(&name) || query::NAMES.contains(&name)
}

/// Why a function call failed, which decides how Go's `text/template` reports it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FnError {
    /// The function returned an error: `error calling f: …`, at the command.
    Call(String),
    /// The call is wrong (argument count, argument type): the message alone, at the name.
    Exec(String),
}

impl From<String> for FnError {
    fn from(m: String) -> Self {
        FnError::Call(m)
    }
}

fn to_float(v: &Val) -> Result<f64, String> {
    match v {
        Val::Float(f) => Ok(*f),
        Val::Int(i) => Ok(*i as f64),
        Val::Str(s) => extra::parse_float(s).map_err(|e| {
            format!(
                "strconv.ParseFloat: parsing {}: {e}",
                crate::gofmt::go_quote(s)
            )
        }),
        other => Err(format!("can't convert {} to float", type_name(other))),
    }
}

fn to_str(v: &Val) -> String {
    v.to_string()
}

/// `wrong number of args for NAME: want N got M`, Go's text, unless `args` has `n` values.
pub(super) fn arity(name: &str, args: &[Val], n: usize) -> Result<(), FnError> {
    if args.len() != n {
        return Err(FnError::Exec(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        )));
    }
    Ok(())
}

fn humanize(mut v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return fmt_g(v, Some(4));
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", fmt_g(v, Some(4)))
}

fn humanize1024(mut v: f64) -> String {
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return fmt_g(v, Some(4));
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", fmt_g(v, Some(4)))
}

fn humanize_duration(mut v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return fmt_g(v, Some(4));
    }
    if v == 0.0 {
        return format!("{}s", fmt_g(v, Some(4)));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        v = v.abs();
        let d = v as i64;
        let (s, m, h, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86400);
        if days != 0 {
            return format!("{sign}{days}d {h}h {m}m {s}s");
        }
        if h != 0 {
            return format!("{sign}{h}h {m}m {s}s");
        }
        if m != 0 {
            return format!("{sign}{m}m {s}s");
        }
        return format!("{sign}{}s", fmt_g(v, Some(4)));
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", fmt_g(v, Some(4)))
}

/// Go's `unicode.ToUpper`: one rune for one rune (`ß` stays `ß`, where full case mapping
/// gives `SS`).
fn upper(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Go's `unicode.ToLower`, one rune for one rune.
fn lower(c: char) -> char {
    let mut low = c.to_lowercase();
    match (low.next(), low.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// The Go type Prometheus' templates have for a value (in type errors).
pub(super) fn type_name(v: &Val) -> &'static str {
    match v {
        Val::Str(_) => "string",
        Val::Float(_) => "float64",
        Val::Int(_) => "int",
        Val::Bool(_) => "bool",
        Val::Map(_) => "map[string]string",
        Val::Sample(_) => "*template.sample",
        Val::Samples(_) => "template.queryResult",
        Val::Data | Val::Nil => "<nil>",
    }
}

fn compare(name: &str, a: &Val, b: &Val) -> Result<std::cmp::Ordering, String> {
    match (a, b) {
        (Val::Str(x), Val::Str(y)) => Ok(x.cmp(y)),
        (Val::Bool(x), Val::Bool(y)) if matches!(name, "eq" | "ne") => Ok(x.cmp(y)),
        (Val::Int(x), Val::Int(y)) => Ok(x.cmp(y)),
        (Val::Float(_) | Val::Int(_), Val::Float(_) | Val::Int(_)) => {
            let (x, y) = (to_float(a)?, to_float(b)?);
            x.partial_cmp(&y)
                .ok_or_else(|| "invalid comparison".to_string())
        }
        _ => Err("incompatible types for comparison".into()),
    }
}

/// Calls the function `name`; `external_url` answers `externalURL`, `query` the query
/// functions.
pub(super) fn call(
    name: &str,
    args: Vec<Val>,
    external_url: &str,
    query: Option<&dyn Query>,
) -> Result<Val, FnError> {
    use std::cmp::Ordering::*;
    if query::NAMES.contains(&name) {
        return query::call(name, &args, query);
    }
    Ok(match name {
        "externalURL" => {
            arity(name, &args, 0)?;
            Val::Str(external_url.to_string())
        }
        "humanize" => {
            arity(name, &args, 1)?;
            Val::Str(humanize(to_float(&args[0])?))
        }
        "humanize1024" => {
            arity(name, &args, 1)?;
            Val::Str(humanize1024(to_float(&args[0])?))
        }
        "humanizePercentage" => {
            arity(name, &args, 1)?;
            Val::Str(format!("{}%", fmt_g(to_float(&args[0])? * 100.0, Some(4))))
        }
        "humanizeDuration" => {
            arity(name, &args, 1)?;
            Val::Str(humanize_duration(to_float(&args[0])?))
        }
        "printf" => {
            let Some((f, rest)) = args.split_first() else {
                return Err(FnError::Exec(
                    "wrong number of args for printf: want at least 1 got 0".into(),
                ));
            };
            Val::Str(sprintf(&to_str(f), rest))
        }
        "print" | "println" => {
            let mut s = args.iter().map(to_str).collect::<Vec<_>>().join(" ");
            if name == "println" {
                s.push('\n');
            }
            Val::Str(s)
        }
        "toUpper" => {
            arity(name, &args, 1)?;
            Val::Str(to_str(&args[0]).chars().map(upper).collect())
        }
        "toLower" => {
            arity(name, &args, 1)?;
            Val::Str(to_str(&args[0]).chars().map(lower).collect())
        }
        "title" => {
            arity(name, &args, 1)?;
            let s = to_str(&args[0]);
            let mut out = String::with_capacity(s.len());
            let mut prev_letter = false;
            for c in s.chars() {
                if !prev_letter {
                    out.push(upper(c))
                } else {
                    out.push(c)
                }
                prev_letter = c.is_alphanumeric() || c == '_' || c == '\'';
            }
            Val::Str(out)
        }
        "safeHtml" => {
            arity(name, &args, 1)?;
            Val::Str(to_str(&args[0]))
        }
        "stripPort" => {
            arity(name, &args, 1)?;
            Val::Str(extra::strip_port(&to_str(&args[0])))
        }
        "stripDomain" => {
            arity(name, &args, 1)?;
            Val::Str(extra::strip_domain(&to_str(&args[0])))
        }
        "humanizeTimestamp" | "toTime" => {
            arity(name, &args, 1)?;
            let v = to_float(&args[0])?;
            match extra::timestamp_string(v)? {
                Some(t) => Val::Str(t),
                None if name == "humanizeTimestamp" => Val::Str(fmt_g(v, Some(4))),
                None => return Err(FnError::Call("value is NaN or Inf".into())),
            }
        }
        "args" => {
            let m = args
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let s = match a {
                        Val::Nil => "<nil>".to_string(),
                        other => to_str(other),
                    };
                    (format!("arg{i}"), s)
                })
                .collect();
            Val::Map(std::sync::Arc::new(m))
        }
        "graphLink" | "tableLink" => {
            arity(name, &args, 1)?;
            Val::Str(extra::expr_link(
                &to_str(&args[0]),
                u8::from(name == "tableLink"),
            ))
        }
        "parseDuration" => {
            arity(name, &args, 1)?;
            Val::Float(extra::parse_duration(&to_str(&args[0]))?)
        }
        "reReplaceAll" => {
            arity(name, &args, 3)?;
            let re = regex::Regex::new(&to_str(&args[0])).map_err(|e| e.to_string())?;
            Val::Str(
                re.replace_all(&to_str(&args[2]), to_str(&args[1]).as_str())
                    .into_owned(),
            )
        }
        "match" => {
            arity(name, &args, 2)?;
            let re = regex::Regex::new(&to_str(&args[0])).map_err(|e| e.to_string())?;
            Val::Bool(re.is_match(&to_str(&args[1])))
        }
        "len" => {
            arity(name, &args, 1)?;
            match &args[0] {
                Val::Str(s) => Val::Int(s.len() as i64),
                Val::Map(m) => Val::Int(m.len() as i64),
                Val::Samples(s) => Val::Int(s.len() as i64),
                other => return Err(format!("len of type {}", type_name(other)).into()),
            }
        }
        "index" => {
            arity(name, &args, 2)?;
            match (&args[0], &args[1]) {
                (Val::Map(m), k) => Val::Str(m.get(&to_str(k)).cloned().unwrap_or_default()),
                (Val::Samples(s), Val::Int(i)) => {
                    match usize::try_from(*i).ok().and_then(|i| s.get(i)) {
                        Some(x) => Val::Sample(x.clone()),
                        None => return Err(format!("index out of range: {i}").into()),
                    }
                }
                (other, _) => {
                    return Err(format!("can't index item of type {}", type_name(other)).into());
                }
            }
        }
        "eq" | "ne" | "lt" | "le" | "gt" | "ge" => {
            arity(name, &args, 2)?;
            let o = compare(name, &args[0], &args[1])?;
            Val::Bool(match name {
                "eq" => o == Equal,
                "ne" => o != Equal,
                "lt" => o == Less,
                "le" => o != Greater,
                "gt" => o == Greater,
                _ => o != Less,
            })
        }
        "not" => {
            arity(name, &args, 1)?;
            Val::Bool(!args[0].truthy())
        }
        "and" => {
            let mut last = Val::Nil;
            for a in args {
                if !a.truthy() {
                    return Ok(a);
                }
                last = a;
            }
            last
        }
        "or" => {
            let mut last = Val::Nil;
            for a in args {
                if a.truthy() {
                    return Ok(a);
                }
                last = a;
            }
            last
        }
        other => return Err(format!("function {other:?} not defined").into()),
    })
}
