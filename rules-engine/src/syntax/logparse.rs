//! The LogQL-style pipeline after a stream selector: line filters, parsers, label filters,
//! `unwrap`.

use regex::Regex;

use super::ast::*;
use super::lex::*;
use super::parse::short_regex_err;

/// Does `i` start a pipeline stage (`|=`, `|~`, `!~`, `| stage`, or `!= "…"`)?
pub(crate) fn looks_like_pipeline(i: &str) -> bool {
    let t = ws(i);
    if t.starts_with('|') || t.starts_with("!~") {
        return true;
    }
    if let Some(r) = t.strip_prefix("!=") {
        return ws(r).starts_with(['"', '\'', '`']);
    }
    false
}

/// Parses pipeline stages while they continue.
pub(crate) fn log_pipeline(mut i: &str) -> Res<'_, Vec<Stage>> {
    let mut out = Vec::new();
    while looks_like_pipeline(i) {
        let (r, s) = stage(i)?;
        out.push(s);
        i = r;
    }
    Ok((i, out))
}

fn stage(i: &str) -> Res<'_, Stage> {
    let t = ws(i);
    for (tok, op) in [
        ("|=", LineFilterOp::Contains),
        ("|~", LineFilterOp::Regex),
        ("!=", LineFilterOp::NotContains),
        ("!~", LineFilterOp::NotRegex),
    ] {
        if let Some(r) = t.strip_prefix(tok) {
            let vpos = ws(r);
            let (r, pat) = match string_lit(r) {
                Ok(x) => x,
                Err(nom::Err::Error(_)) => return fail_expected(vpos, &["string"]),
                Err(e) => return Err(e),
            };
            return match LineFilter::new(op, &pat) {
                Ok(f) => Ok((r, Stage::Line(f))),
                Err(e) => fail(
                    vpos,
                    format!("invalid regular expression: {}", short_regex_err(&e)),
                ),
            };
        }
    }
    let Some(r) = t.strip_prefix('|') else {
        return fail_expected(t, &["\"|\""]);
    };
    let spos = ws(r);
    if spos.starts_with('(') {
        let (r, e) = lf_or(r)?;
        return Ok((r, Stage::LabelFilter(e)));
    }
    let Ok((r2, w)) = label_name(r) else {
        return fail_expected(
            spos,
            &[
                "json",
                "logfmt",
                "regexp",
                "pattern",
                "unwrap",
                "label filter",
            ],
        );
    };
    match w {
        "json" => Ok((r2, Stage::Json)),
        "logfmt" => Ok((r2, Stage::Logfmt)),
        "regexp" => {
            let (r3, src) = string_arg(r2)?;
            let re = match Regex::new(&src) {
                Ok(re) => re,
                Err(e) => {
                    return fail(
                        ws(r2),
                        format!("invalid regular expression: {}", short_regex_err(&e)),
                    );
                }
            };
            if re.capture_names().flatten().next().is_none() {
                return fail(
                    ws(r2),
                    "regexp stage needs at least one named group like (?P<name>...)",
                );
            }
            Ok((
                r3,
                Stage::Regexp(PatternRegex {
                    source: src,
                    regex: re,
                }),
            ))
        }
        "pattern" => {
            let (r3, src) = string_arg(r2)?;
            match compile_pattern(&src) {
                Ok(re) => Ok((
                    r3,
                    Stage::Pattern(PatternRegex {
                        source: src,
                        regex: re,
                    }),
                )),
                Err(m) => fail(ws(r2), m),
            }
        }
        "unwrap" => {
            let lpos = ws(r2);
            let (r3, first) = match label_name(r2) {
                Ok(x) => x,
                Err(_) => return fail_expected(lpos, &["label name"]),
            };
            let conv = match first {
                "duration" | "duration_seconds" if peek_sym(r3, "(") => UnwrapConv::Duration,
                "bytes" if peek_sym(r3, "(") => UnwrapConv::Bytes,
                _ => {
                    return Ok((
                        r3,
                        Stage::Unwrap(Unwrap {
                            label: first.to_string(),
                            conv: UnwrapConv::None,
                        }),
                    ));
                }
            };
            let (r4, ()) = sym(r3, "(")?;
            let (r4, label) = match label_name(r4) {
                Ok(x) => x,
                Err(_) => return fail_expected(ws(r4), &["label name"]),
            };
            let (r4, ()) = cut_err(sym(r4, ")"))?;
            Ok((
                r4,
                Stage::Unwrap(Unwrap {
                    label: label.to_string(),
                    conv,
                }),
            ))
        }
        _ => {
            let (r, e) = lf_or(r)?;
            Ok((r, Stage::LabelFilter(e)))
        }
    }
}

fn string_arg(i: &str) -> Res<'_, String> {
    match string_lit(i) {
        Ok(x) => Ok(x),
        Err(nom::Err::Error(_)) => fail_expected(ws(i), &["string"]),
        Err(e) => Err(e),
    }
}

fn lf_or(i: &str) -> Res<'_, LabelFilterExpr> {
    let (mut i, mut e) = lf_and(i)?;
    while let Ok((r, ())) = keyword(i, "or") {
        let (r, rhs) = lf_and(r)?;
        e = LabelFilterExpr::Or(Box::new(e), Box::new(rhs));
        i = r;
    }
    Ok((i, e))
}

fn lf_and(i: &str) -> Res<'_, LabelFilterExpr> {
    let (mut i, mut e) = lf_atom(i)?;
    loop {
        let r = if let Ok((r, ())) = keyword(i, "and") {
            r
        } else if let Ok((r, ())) = sym(i, ",") {
            r
        } else {
            return Ok((i, e));
        };
        let (r, rhs) = lf_atom(r)?;
        e = LabelFilterExpr::And(Box::new(e), Box::new(rhs));
        i = r;
    }
}

fn lf_atom(i: &str) -> Res<'_, LabelFilterExpr> {
    if let Ok((r, ())) = sym(i, "(") {
        let (r, e) = lf_or(r)?;
        let (r, ()) = cut_err(sym(r, ")"))?;
        return Ok((r, e));
    }
    let npos = ws(i);
    let (r, name) = match label_name(i) {
        Ok(x) => x,
        Err(_) => return fail_expected(npos, &["label name", "\"(\""]),
    };
    let t = ws(r);
    const OPS: [(&str, CmpOp); 9] = [
        ("==", CmpOp::Eq),
        ("=~", CmpOp::Regex),
        ("!~", CmpOp::NotRegex),
        ("!=", CmpOp::Ne),
        (">=", CmpOp::Ge),
        ("<=", CmpOp::Le),
        (">", CmpOp::Gt),
        ("<", CmpOp::Lt),
        ("=", CmpOp::Eq),
    ];
    let Some((tok, op)) = OPS.iter().find(|(s, _)| t.starts_with(s)) else {
        return fail_expected(
            t,
            &[
                "\"=\"", "\"!=\"", "\"=~\"", "\"!~\"", "\">\"", "\">=\"", "\"<\"", "\"<=\"",
                "\"==\"",
            ],
        );
    };
    let r = &t[tok.len()..];
    let vpos = ws(r);
    if vpos.starts_with(['"', '\'', '`']) {
        let (r, s) = string_lit(vpos)?;
        let mop = match op {
            CmpOp::Eq => MatchOp::Equal,
            CmpOp::Ne => MatchOp::NotEqual,
            CmpOp::Regex => MatchOp::Regex,
            CmpOp::NotRegex => MatchOp::NotRegex,
            _ => {
                return fail(
                    t,
                    format!("operator \"{tok}\" needs a number, not a string"),
                );
            }
        };
        return match Matcher::new(name, mop, &s) {
            Ok(m) => Ok((r, LabelFilterExpr::Str(m))),
            Err(e) => fail(
                vpos,
                format!("invalid regular expression: {}", short_regex_err(&e)),
            ),
        };
    }
    if matches!(op, CmpOp::Regex | CmpOp::NotRegex) {
        return fail_expected(vpos, &["string"]);
    }
    let (neg, num_pos) = match vpos.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, vpos),
    };
    let (r, v) = match number_lit(num_pos) {
        Ok(x) => x,
        Err(_) => return fail_expected(vpos, &["string", "number"]),
    };
    if r.starts_with(|c: char| c.is_ascii_alphabetic() || c == 'µ') {
        let len = vpos
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == 'µ'))
            .unwrap_or(vpos.len());
        let text = &vpos[..len];
        let rest = &vpos[len..];
        if let Some(seconds) = crate::eval::parse_go_duration(text) {
            return Ok((
                rest,
                LabelFilterExpr::Duration {
                    name: name.to_string(),
                    op: *op,
                    seconds,
                    text: text.to_string(),
                },
            ));
        }
        if let Some(bytes) = crate::eval::parse_bytes(text) {
            return Ok((
                rest,
                LabelFilterExpr::Bytes {
                    name: name.to_string(),
                    op: *op,
                    bytes,
                    text: text.to_string(),
                },
            ));
        }
        return fail(
            vpos,
            format!(
                "\"{text}\" is neither a number, a duration (250ms, 1m30s) nor a byte size (10KB, 1.5MiB)"
            ),
        );
    }
    Ok((
        r,
        LabelFilterExpr::Num {
            name: name.to_string(),
            op: *op,
            value: if neg { -v } else { v },
        },
    ))
}

/// Compiles a Loki `pattern` (`<name>` captures, `<_>` skips, literal text between) into an
/// anchored regex.
pub(crate) fn compile_pattern(src: &str) -> Result<Regex, String> {
    let mut re = String::from("(?s)^");
    let mut rest = src;
    let mut named = 0;
    let mut prev_capture = false;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('<')
            && let Some(end) = after.find('>')
        {
            {
                let name = &after[..end];
                let valid = !name.is_empty()
                    && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if valid {
                    if prev_capture {
                        return Err(format!(
                            "pattern has consecutive captures before \"<{name}>\"; put literal text between them"
                        ));
                    }
                    let last = after[end + 1..].is_empty();
                    let body = if last { ".*" } else { ".*?" };
                    if name == "_" {
                        re.push_str(&format!("(?:{body})"));
                    } else {
                        named += 1;
                        re.push_str(&format!("(?P<{name}>{body})"));
                    }
                    prev_capture = true;
                    rest = &after[end + 1..];
                    continue;
                }
            }
        }
        let first = rest.chars().next().map_or(1, char::len_utf8);
        let next = rest[first..].find('<').map_or(rest.len(), |p| p + first);
        re.push_str(&regex::escape(&rest[..next]));
        prev_capture = false;
        rest = &rest[next..];
    }
    if named == 0 {
        return Err("pattern needs at least one named capture like <name>".into());
    }
    Regex::new(&re).map_err(|e| format!("invalid pattern: {}", short_regex_err(&e)))
}
