//! Prometheus 2.42's wording of expression parse errors (`1:7: parse error: unclosed left
//! parenthesis`), for tools that mirror promtool's output. A small emulation of Prometheus'
//! PromQL lexer finds the lexer errors (unclosed parentheses, brackets and braces, unterminated
//! strings, bad characters) and describes tokens the way its parser does (`identifier "foo"`,
//! `<op:+>`, `end of input`); grammar errors keep this crate's position.

mod lex;

use super::ParseError;
use lex::{Item, lex};

fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, str::len) + 1;
    (line, col)
}

/// The first place where Prometheus' grammar rejects the token stream with a message that
/// names its context (`in label matching, expected string`, `in grouping opts, ...`,
/// `in offset, expected duration`), as (offset, message).
fn grammar_context(items: &[(usize, Item)]) -> Option<(usize, String)> {
    const GROUPING: [&str; 6] = [
        "<by>",
        "<without>",
        "<on>",
        "<ignoring>",
        "<group_left>",
        "<group_right>",
    ];
    let tok = |k: usize| match items.get(k) {
        Some((_, Item::Token(d))) => d.as_str(),
        Some((_, Item::Eof)) => "end of input",
        _ => "",
    };
    // open parentheses/braces: true for a grouping list, `{` for braces
    let mut open: Vec<&str> = Vec::new();
    for (k, (at, item)) in items.iter().enumerate() {
        let found = match item {
            Item::Error(_) => return None,
            Item::Eof => "end of input".to_string(),
            Item::Token(d) => d.clone(),
        };
        let prev = if k == 0 { "" } else { tok(k - 1) };
        let unexpected = |ctx: &str| Some((*at, format!("unexpected {found}{ctx}")));
        if prev == "<offset>" && !found.starts_with("duration ") && found != "<op:->" {
            return unexpected(" in offset, expected duration");
        }
        if prev == "<op:@>"
            && !found.starts_with("number ")
            && !matches!(found.as_str(), "<op:->" | "<op:+>" | "<start>" | "<end>")
        {
            return unexpected(" in @, expected timestamp");
        }
        match open.last().copied() {
            Some("{") => {
                let ctx = if prev == "\"{\"" || prev == "\",\"" {
                    (!found.starts_with("identifier ") && found != "\"}\"")
                        .then_some(" in label matching, expected identifier or \"}\"")
                } else if prev.starts_with("identifier ") {
                    (!matches!(found.as_str(), "\"=\"" | "<op:!=>" | "<op:=~>" | "<op:!~>"))
                        .then_some(" in label matching, expected label matching operator")
                } else if matches!(prev, "\"=\"" | "<op:!=>" | "<op:=~>" | "<op:!~>") {
                    (!found.starts_with("string ")).then_some(" in label matching, expected string")
                } else if prev.starts_with("string ") {
                    (found != "\",\"" && found != "\"}\"")
                        .then_some(" in label matching, expected \",\" or \"}\"")
                } else {
                    None
                };
                if let Some(c) = ctx {
                    return unexpected(c);
                }
            }
            Some("grouping") => {
                let is_label = found.starts_with("identifier ")
                    || found.starts_with('<') && !found.starts_with("<op:");
                let ctx = if prev == "\"(\"" || prev == "\",\"" {
                    (!is_label && found != "\")\"").then_some(" in grouping opts, expected label")
                } else {
                    (found != "\",\"" && found != "\")\"")
                        .then_some(" in grouping opts, expected \",\" or \")\"")
                };
                if let Some(c) = ctx {
                    return unexpected(c);
                }
            }
            _ => {}
        }
        if GROUPING[..4].contains(&prev) && found != "\"(\"" {
            return unexpected(" in grouping opts, expected \"(\"");
        }
        if (found == "<by>" || found == "<without>") && !open.is_empty() && prev == "\")\"" {
            return unexpected(" in aggregation");
        }
        match found.as_str() {
            "\"(\"" => open.push(if GROUPING.contains(&prev) {
                "grouping"
            } else {
                "("
            }),
            "\"{\"" => open.push("{"),
            "\")\"" | "\"}\"" => {
                open.pop();
            }
            _ => {}
        }
    }
    None
}

/// `e` (from parsing `src`) worded as Prometheus 2.42 words it: `1:7: parse error: ...`.
pub fn prometheus_message(src: &str, e: &ParseError) -> String {
    let syntax = !e.expected.is_empty() || e.message.starts_with("unexpected ");
    let items = lex(src);
    // a lexer error before (or where) our parser stopped is what Prometheus reports
    if let Some((at, Item::Error(m))) = items.last()
        && (*at <= e.offset || m.starts_with("unexpected right parenthesis") && *at <= e.offset + 1)
    {
        let (l, c) = line_col(src, *at);
        return format!("{l}:{c}: parse error: {m}");
    }
    if let Some((at, m)) = grammar_context(&items)
        && at <= e.offset
    {
        let (l, c) = line_col(src, at);
        return format!("{l}:{c}: parse error: {m}");
    }
    if !syntax {
        return format!("{}:{}: parse error: {}", e.line, e.col, e.message);
    }
    // the token at the error position, as the parser describes it
    let found = items
        .iter()
        .find(|(at, _)| *at >= e.offset)
        .or(items.last());
    match found {
        Some((at, Item::Token(d))) => {
            let (l, c) = line_col(src, *at);
            format!("{l}:{c}: parse error: unexpected {d}")
        }
        Some((at, _)) => {
            let (l, c) = line_col(src, *at);
            format!("{l}:{c}: parse error: unexpected end of input")
        }
        None => format!("{}:{}: parse error: {}", e.line, e.col, e.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse_expr;

    fn msg(s: &str) -> String {
        prometheus_message(s, &parse_expr(s).unwrap_err())
    }

    #[test]
    fn words_errors_like_prometheus() {
        assert_eq!(msg("sum(up"), "1:7: parse error: unclosed left parenthesis");
        assert_eq!(msg("up +"), "1:5: parse error: unexpected end of input");
        assert_eq!(msg("up =="), "1:6: parse error: unexpected end of input");
        assert_eq!(
            msg("up{job=\"a\""),
            "1:11: parse error: unexpected end of input inside braces"
        );
        assert_eq!(
            msg("rate(up)"),
            "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector"
        );
        assert_eq!(
            msg("up{job=\"a}"),
            "1:8: parse error: unterminated quoted string"
        );
        assert_eq!(msg("up[5m"), "1:6: parse error: unclosed left bracket");
        for (e, want) in [
            ("up)", "1:4: parse error: unexpected right parenthesis ')'"),
            (
                "rate(up[5x])",
                "1:9: parse error: bad duration syntax: \"5\"",
            ),
            (
                "up[-5m]",
                "1:4: parse error: missing unit character in duration",
            ),
            (
                "up offset 5",
                "1:11: parse error: unexpected number \"5\" in offset, expected duration",
            ),
            (
                "up{job=a}",
                "1:8: parse error: unexpected identifier \"a\" in label matching, expected string",
            ),
            (
                "sum by (job up",
                "1:13: parse error: unexpected identifier \"up\" in grouping opts, expected \",\" or \")\"",
            ),
            (
                "sum(up) by job",
                "1:12: parse error: unexpected identifier \"job\" in grouping opts, expected \"(\"",
            ),
            (
                "sum(rate(x[5m]) by (job)",
                "1:17: parse error: unexpected <by> in aggregation",
            ),
            (
                "up and 1",
                "1:1: parse error: set operator \"and\" not allowed in binary scalar expression",
            ),
        ] {
            assert_eq!(msg(e), want, "{e}");
        }
    }
}
