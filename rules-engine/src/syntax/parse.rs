//! The expression grammar (precedence climbing over nom token parsers) and static type checks.

use super::ast::*;
use super::functions::Function;
use super::lex::*;
use super::logparse::{log_pipeline, looks_like_pipeline};

mod calls;
mod check;
use calls::{aggregate, call};
use check::check_binary;

/// Parses a whole expression (the entry point used by [`super::parse_expr`]).
pub(crate) fn expr_all(i: &str) -> Res<'_, Expr> {
    let (rest, e) = expr(i, 0)?;
    let rest = ws(rest);
    if !rest.is_empty() {
        return fail_expected(rest, &["operator", "end of input"]);
    }
    Ok((rest, e))
}

fn binop_at(i: &str) -> Option<(BinOp, &str)> {
    let t = ws(i);
    const SYMS: [(&str, BinOp); 12] = [
        ("==", BinOp::Eq),
        ("!=", BinOp::Ne),
        (">=", BinOp::Ge),
        ("<=", BinOp::Le),
        (">", BinOp::Gt),
        ("<", BinOp::Lt),
        ("+", BinOp::Add),
        ("-", BinOp::Sub),
        ("*", BinOp::Mul),
        ("/", BinOp::Div),
        ("%", BinOp::Mod),
        ("^", BinOp::Pow),
    ];
    for (s, op) in SYMS {
        if let Some(r) = t.strip_prefix(s) {
            if s == "!=" && looks_like_pipeline(t) {
                return None;
            }
            return Some((op, r));
        }
    }
    let (r, w) = metric_ident(t).ok()?;
    let op = match w.to_ascii_lowercase().as_str() {
        "and" => BinOp::And,
        "or" => BinOp::Or,
        "unless" => BinOp::Unless,
        "atan2" => BinOp::Atan2,
        _ => return None,
    };
    Some((op, r))
}

/// Parses a binary expression whose operators bind at least as tight as `min_prec`.
fn expr(i: &str, min_prec: u8) -> Res<'_, Expr> {
    let start = ws(i);
    let (mut i, mut lhs) = unary(start)?;
    loop {
        let Some((op, after)) = binop_at(i) else {
            return Ok((i, lhs));
        };
        let prec = op.precedence();
        if prec < min_prec {
            return Ok((i, lhs));
        }
        let op_pos = ws(i);
        let (after, (return_bool, matching)) = modifiers(after, op, op_pos)?;
        let next_min = if op.is_right_assoc() { prec } else { prec + 1 };
        let rhs_start = ws(after);
        let (rest, rhs) = cut_err(expr(rhs_start, next_min))?;
        // Matching on no labels with a scalar side is dropped, as Prometheus drops it.
        let scalar_side = [&lhs, &rhs]
            .iter()
            .any(|e| e.value_type() == ValueType::Scalar);
        let matching = matching.filter(|m| !(scalar_side && m.labels.is_empty()));
        let b = BinaryExpr {
            op,
            lhs,
            rhs,
            return_bool,
            matching,
        };
        check_binary(&b, op_pos, start)?;
        lhs = Expr::Binary(Box::new(b));
        i = rest;
    }
}

fn label_list(i: &str) -> Res<'_, Vec<String>> {
    let (mut i, ()) = cut_err(sym(i, "("))?;
    let mut out = Vec::new();
    loop {
        if let Ok((r, ())) = sym(i, ")") {
            return Ok((r, out));
        }
        let (r, l) = match label_name(i) {
            Ok(x) => x,
            Err(_) => return fail_expected(ws(i), &["label name", "\")\""]),
        };
        out.push(l.to_string());
        i = r;
        if let Ok((r, ())) = sym(i, ",") {
            i = r;
        } else if !peek_sym(i, ")") {
            return fail_expected(ws(i), &["\",\"", "\")\""]);
        }
    }
}

type Modifiers = (bool, Option<VectorMatching>);

/// The `bool` and vector-matching modifiers after the operator at `op_pos`.
fn modifiers<'a>(i: &'a str, op: BinOp, op_pos: &'a str) -> Res<'a, Modifiers> {
    let mut i = i;
    let mut return_bool = false;
    if let Ok((r, ())) = keyword(i, "bool") {
        if !op.is_comparison() {
            // at the operator, as Prometheus reports it
            return fail(
                op_pos,
                "bool modifier can only be used on comparison operators",
            );
        }
        return_bool = true;
        i = r;
    }
    let on = if let Ok((r, ())) = keyword(i, "on") {
        i = r;
        Some(true)
    } else if let Ok((r, ())) = keyword(i, "ignoring") {
        i = r;
        Some(false)
    } else {
        None
    };
    let Some(on) = on else {
        if peek_ident(i).is_some_and(|w| w == "group_left" || w == "group_right") {
            return fail(
                ws(i),
                "group modifier requires on(...) or ignoring(...) first",
            );
        }
        return Ok((i, (return_bool, None)));
    };
    let (r, labels) = label_list(i)?;
    i = r;
    let mut card = Cardinality::OneToOne;
    for (kw, left) in [("group_left", true), ("group_right", false)] {
        if let Ok((r, ())) = keyword(i, kw) {
            let (r2, extra) = if peek_sym(r, "(") {
                label_list(r)?
            } else {
                (r, Vec::new())
            };
            i = r2;
            card = if left {
                Cardinality::ManyToOne(extra)
            } else {
                Cardinality::OneToMany(extra)
            };
            break;
        }
    }
    Ok((i, (return_bool, Some(VectorMatching { on, labels, card }))))
}

fn unary(i: &str) -> Res<'_, Expr> {
    let t = ws(i);
    for (c, op) in [('-', UnaryOp::Neg), ('+', UnaryOp::Pos)] {
        if let Some(r) = t.strip_prefix(c) {
            let (rest, e) = cut_err(expr(r, BinOp::Pow.precedence()))?;
            let ty = e.value_type();
            if ty != ValueType::Scalar && ty != ValueType::Vector {
                return fail(
                    t,
                    format!(
                        "unary expression only allowed on expressions of type scalar or instant vector, got \"{ty}\""
                    ),
                );
            }
            return Ok((
                rest,
                match (op, e) {
                    (UnaryOp::Neg, Expr::Number(v)) => Expr::Number(-v),
                    (UnaryOp::Pos, Expr::Number(v)) => Expr::Number(v),
                    (op, e) => Expr::Unary(op, Box::new(e)),
                },
            ));
        }
    }
    postfix(t)
}

/// What follows `@`: a (signed) number of Unix seconds, `start()` or `end()`.
fn at_modifier(i: &str) -> Res<'_, AtModifier> {
    for (kw, at) in [("start", AtModifier::Start), ("end", AtModifier::End)] {
        if let Ok((r, ())) = keyword(i, kw) {
            let (r, ()) = cut_err(sym(r, "("))?;
            let (r, ()) = cut_err(sym(r, ")"))?;
            return Ok((r, at));
        }
    }
    let t = ws(i);
    let (t2, neg) = match t.strip_prefix('-') {
        Some(x) => (x, true),
        None => (t.strip_prefix('+').unwrap_or(t), false),
    };
    let (r, v) = match number_lit(t2) {
        Ok(x) => x,
        Err(_) => return fail_expected(t, &["timestamp", "start()", "end()"]),
    };
    let v = if neg { -v } else { v };
    let ms = (v * 1000.0).round();
    if !ms.is_finite() || ms.abs() > 9.2e18 {
        return fail(
            t,
            format!(
                "timestamp out of bounds for @ modifier: {}",
                crate::gofmt::fmt_f_prec(v, 6)
            ),
        );
    }
    Ok((r, AtModifier::Time(ms as i64)))
}

/// A primary expression followed by `[range]`, `[range:step]`, `offset` and `@`.
fn postfix(i: &str) -> Res<'_, Expr> {
    let expr_start = ws(i);
    let (mut i, mut e) = primary(i)?;
    loop {
        if peek_sym(i, "[") {
            let open = ws(i);
            let (r, ()) = sym(i, "[")?;
            let (r, range) = match duration_lit(r) {
                Ok(x) => x,
                Err(nom::Err::Error(_)) => return fail_expected(ws(r), &["duration"]),
                Err(e) => return Err(e),
            };
            if let Ok((r2, ())) = sym(r, ":") {
                let (r3, step) = match duration_lit(r2) {
                    Ok(x) => x,
                    Err(_) => (r2, 0),
                };
                let (r4, ()) = cut_err(sym(r3, "]"))?;
                if !matches!(e.value_type(), ValueType::Vector) {
                    return fail(
                        open,
                        format!(
                            "subquery is only allowed on instant vector, got {}",
                            e.value_type()
                        ),
                    );
                }
                e = Expr::Subquery(Subquery {
                    expr: Box::new(e),
                    range_ms: range,
                    step_ms: step,
                    offset_ms: 0,
                    at: None,
                });
                i = r4;
                continue;
            }
            let (r, ()) = cut_err(sym(r, "]")).map_err(|_| {
                nom::Err::Failure(PErr {
                    rest_len: ws(r).len(),
                    expected: vec!["\"]\"".into(), "\":\"".into()],
                    message: None,
                })
            })?;
            e = match e {
                Expr::Vector(v) if v.at.is_some() => {
                    return fail(open, "no @ modifiers allowed before range");
                }
                Expr::Vector(v) if v.offset_ms == 0 => Expr::Matrix(MatrixSelector {
                    selector: v,
                    range_ms: range,
                }),
                Expr::Vector(_) => {
                    return fail(
                        open,
                        "offset must follow the range: write sel[5m] offset 1m",
                    );
                }
                Expr::Log(s) => Expr::LogRange(LogRange {
                    selector: s,
                    range_ms: range,
                    offset_ms: 0,
                }),
                _ => {
                    return fail(open, "ranges only allowed for vector selectors");
                }
            };
            i = r;
        } else if let Ok((r, ())) = keyword(i, "offset") {
            let kw_pos = ws(i);
            let t = ws(r);
            let (r2, neg) = match t.strip_prefix('-') {
                Some(x) => (x, true),
                None => (t, false),
            };
            let (r2, d) = cut_err(duration_lit(r2))?;
            let d = if neg { -d } else { d };
            let already = |o: i64| -> Res<'_, ()> {
                if o != 0 {
                    fail(expr_start, "offset may not be set multiple times")
                } else {
                    Ok((kw_pos, ()))
                }
            };
            match &mut e {
                Expr::Vector(v) => {
                    already(v.offset_ms)?;
                    v.offset_ms = d;
                }
                Expr::Matrix(m) => {
                    already(m.selector.offset_ms)?;
                    m.selector.offset_ms = d;
                }
                Expr::Subquery(s) => {
                    already(s.offset_ms)?;
                    s.offset_ms = d;
                }
                Expr::LogRange(l) => {
                    already(l.offset_ms)?;
                    l.offset_ms = d;
                }
                _ => {
                    return fail(
                        kw_pos,
                        "offset modifier must be preceded by a selector or subquery",
                    );
                }
            }
            i = r2;
        } else if peek_sym(i, "@") {
            let at_pos = ws(i);
            let (r, ()) = sym(i, "@")?;
            let (r, at) = at_modifier(r)?;
            let slot = match &mut e {
                Expr::Vector(v) => &mut v.at,
                Expr::Matrix(m) => &mut m.selector.at,
                Expr::Subquery(s) => &mut s.at,
                _ => {
                    return fail(
                        at_pos,
                        "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery",
                    );
                }
            };
            if slot.is_some() {
                return fail(expr_start, "@ <timestamp> may not be set multiple times");
            }
            *slot = Some(at);
            i = r;
        } else {
            return Ok((i, e));
        }
    }
}

fn primary(i: &str) -> Res<'_, Expr> {
    let t = ws(i);
    let Some(c) = t.chars().next() else {
        return fail_expected(t, &["expression"]);
    };
    match c {
        '(' => {
            let (r, e) = cut_err(expr(&t[1..], 0))?;
            let (r, ()) = match sym(r, ")") {
                Ok(x) => x,
                Err(_) => return fail_expected(ws(r), &["\")\"", "operator"]),
            };
            Ok((r, e))
        }
        '"' | '\'' | '`' => {
            let (r, s) = string_lit(t)?;
            Ok((r, Expr::String(s)))
        }
        '{' => selector(t, None),
        c if c.is_ascii_digit() || c == '.' => {
            let (r, v) = number_lit(t)?;
            if r.starts_with(|c: char| c.is_ascii_alphabetic()) {
                return fail(
                    t,
                    "unexpected duration or identifier after number; durations are only allowed in ranges and offsets",
                );
            }
            Ok((r, Expr::Number(v)))
        }
        c if c.is_ascii_alphabetic() || c == '_' || c == ':' => ident_expr(t),
        _ => fail(
            t,
            format!("unexpected {}; expected an expression", describe(t)),
        ),
    }
}

fn ident_expr(t: &str) -> Res<'_, Expr> {
    let (r, w) = metric_ident(t)?;
    let lw = w.to_ascii_lowercase();
    if let Some(op) = AggOp::from_name(&lw)
        && (peek_sym(r, "(")
            || peek_ident(r)
                .is_some_and(|k| k.eq_ignore_ascii_case("by") || k.eq_ignore_ascii_case("without")))
    {
        return aggregate(t, op, r);
    }
    if peek_sym(r, "(") {
        let Some(func) = Function::from_name(w) else {
            return fail(t, format!("unknown function with name \"{w}\""));
        };
        return call(t, func, r);
    }
    if lw == "inf" || lw == "nan" {
        let (r, v) = number_lit(t)?;
        return Ok((r, Expr::Number(v)));
    }
    const KEYWORDS: [&str; 12] = [
        "and",
        "or",
        "unless",
        "atan2",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "offset",
    ];
    if KEYWORDS.contains(&lw.as_str()) || AggOp::from_name(&lw).is_some() {
        return fail(
            t,
            format!("unexpected {}; expected an expression", describe(t)),
        );
    }
    selector(r, Some(w))
}

/// Parses the label matchers in `{…}` (the brace at the start of `i`).
pub(crate) fn matchers(i: &str) -> Res<'_, Vec<Matcher>> {
    let (mut i, ()) = sym(i, "{")?;
    let mut out = Vec::new();
    loop {
        if let Ok((r, ())) = sym(i, "}") {
            return Ok((r, out));
        }
        let name_pos = ws(i);
        let (r, name) = match label_name(i) {
            Ok(x) => x,
            Err(_) => return fail_expected(name_pos, &["label name", "\"}\""]),
        };
        let t = ws(r);
        let (r, op) = if let Some(r) = t.strip_prefix("=~") {
            (r, MatchOp::Regex)
        } else if let Some(r) = t.strip_prefix("!~") {
            (r, MatchOp::NotRegex)
        } else if let Some(r) = t.strip_prefix("!=") {
            (r, MatchOp::NotEqual)
        } else if let Some(r) = t.strip_prefix('=') {
            (r, MatchOp::Equal)
        } else {
            return fail_expected(t, &["\"=\"", "\"!=\"", "\"=~\"", "\"!~\""]);
        };
        let vpos = ws(r);
        let (r, value) = match string_lit(r) {
            Ok(x) => x,
            Err(nom::Err::Error(_)) => return fail_expected(vpos, &["string"]),
            Err(e) => return Err(e),
        };
        match Matcher::new(name, op, &value) {
            Ok(m) => out.push(m),
            Err(e) => {
                return fail(
                    vpos,
                    format!("invalid regular expression: {}", short_regex_err(&e)),
                );
            }
        }
        i = r;
        if let Ok((r, ())) = sym(i, ",") {
            i = r;
        } else if !peek_sym(i, "}") {
            return fail_expected(ws(i), &["\",\"", "\"}\""]);
        }
    }
}

pub(crate) fn short_regex_err(e: &regex::Error) -> String {
    let s = e.to_string();
    let last = s.lines().last().unwrap_or("").trim();
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

fn selector<'a>(i: &'a str, name: Option<&str>) -> Res<'a, Expr> {
    let start = ws(i);
    let (r, ms) = if peek_sym(i, "{") {
        matchers(i)?
    } else {
        (i, Vec::new())
    };
    if name.is_none() && looks_like_pipeline(r) {
        let (r, pipeline) = log_pipeline(r)?;
        if ms.iter().all(|m| m.matches_empty()) {
            return fail(
                start,
                "log stream selector must contain at least one matcher that does not match the empty string",
            );
        }
        return Ok((
            r,
            Expr::Log(LogSelector {
                matchers: ms,
                pipeline,
            }),
        ));
    }
    if let Some(n) = name {
        if ms.iter().any(|m| m.name == crate::input::METRIC_NAME) {
            return fail(
                start,
                format!("metric name must not be set twice: \"{n}\" and a __name__ matcher"),
            );
        }
    } else if ms.iter().all(|m| m.matches_empty()) {
        return fail(
            start,
            "vector selector must contain at least one non-empty matcher",
        );
    }
    Ok((
        r,
        Expr::Vector(VectorSelector {
            name: name.map(str::to_string),
            matchers: ms,
            offset_ms: 0,
            at: None,
        }),
    ))
}
