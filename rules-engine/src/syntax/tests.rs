//! Parser tests: acceptance, canonical printing, round trips, error messages.

use super::*;

/// Parses `input` and checks its canonical print is `expect`, and that printing is a fixpoint.
fn check(input: &str, expect: &str) {
    let e = parse_expr(input).unwrap_or_else(|e| panic!("{input}: {e}"));
    let printed = e.to_string();
    assert_eq!(printed, expect, "canonical form of {input}");
    let again = parse_expr(&printed).unwrap_or_else(|e| panic!("reparse {printed}: {e}"));
    assert_eq!(again, e, "round trip of {input}");
}

/// Checks that `input` fails with the error `expect` (`line:col: message`).
fn check_err(input: &str, expect: &str) {
    match parse_expr(input) {
        Ok(e) => panic!("{input} parsed as {e}"),
        Err(e) => assert_eq!(e.to_string(), expect, "error for {input}"),
    }
}

#[test]
fn at_modifier() {
    check("foo @ 10", "foo @ 10.000");
    check("foo @ 1.5 offset 1m", "foo @ 1.500 offset 1m");
    check("foo offset 1m @ -2", "foo @ -2.000 offset 1m");
    check("rate(foo[5m] @ end())", "rate(foo[5m] @ end())");
    check("(foo)[5m:1m] @ start()", "foo[5m:1m] @ start()");
    let e = parse_expr("foo @ 100 offset 1m").unwrap();
    match e {
        Expr::Vector(v) => assert_eq!(v.ref_time(1_000_000), 40_000),
        other => panic!("{other}"),
    }
}

#[test]
fn selectors() {
    check("up", "up");
    check(
        r#"up{job="api",  instance=~"a.*"}"#,
        r#"up{job="api", instance=~"a.*"}"#,
    );
    check(r#"{__name__="up"}"#, r#"{__name__="up"}"#);
    check("http_requests_total[5m]", "http_requests_total[5m]");
    check("foo[90m] offset 1h", "foo[1h30m] offset 1h");
    check("foo offset -5m", "foo offset -5m");
    check("rate(foo[5m:])", "rate(foo[5m:])");
    check(
        "max_over_time(rate(foo[1m])[10m:30s])",
        "max_over_time(rate(foo[1m])[10m:30s])",
    );
}

#[test]
fn operators_and_precedence() {
    check("a + b * c", "a + b * c");
    check("(a + b) * c", "(a + b) * c");
    check("a - (b - c)", "a - (b - c)");
    check("(a - b) - c", "a - b - c");
    check("2 ^ 3 ^ 2", "2 ^ 3 ^ 2");
    check("(2 ^ 3) ^ 2", "(2 ^ 3) ^ 2");
    check("-1", "-1");
    check("-a ^ 2", "-a ^ 2");
    check("(-a) ^ 2", "(-a) ^ 2");
    check("-(a + b)", "-(a + b)");
    check("a > bool 1", "a > bool 1");
    check("1 == bool 1", "1 == bool 1");
    check("a / on(job) group_left(x) b", "a / on(job) group_left(x) b");
    check(
        "a * ignoring(x) group_right b",
        "a * ignoring(x) group_right() b",
    );
    check("a and b or c unless d", "a and b or c unless d");
    check("a or b and c", "a or b and c");
    check("a AND b", "a and b");
    check("0x10 + 1e3 + .5 + Inf", "16 + 1000 + 0.5 + Inf");
}

#[test]
fn calls_and_aggregations() {
    check("sum by (job) (rate(x[5m]))", "sum by (job) (rate(x[5m]))");
    check("sum(rate(x[5m])) by (job)", "sum by (job) (rate(x[5m]))");
    check("topk(3, x)", "topk(3, x)");
    check(r#"count_values("v", x)"#, r#"count_values("v", x)"#);
    check(
        "quantile without (a, b) (0.9, x)",
        "quantile without (a, b) (0.9, x)",
    );
    check(
        r#"label_replace(up, "dst", "$1", "src", "(.*)")"#,
        r#"label_replace(up, "dst", "$1", "src", "(.*)")"#,
    );
    check("time()", "time()");
    check("round(x)", "round(x)");
    check("round(x, 0.5)", "round(x, 0.5)");
}

#[test]
fn log_expressions() {
    check(r#"{app="api"} |= "error""#, r#"{app="api"} |= "error""#);
    check(
        r#"count_over_time({app="api"} |= "err" != "debug" |~ "a.c" !~ "x" [5m])"#,
        r#"count_over_time({app="api"} |= "err" != "debug" |~ "a.c" !~ "x" [5m])"#,
    );
    check(
        r#"sum by (status) (rate({app="api"} | json | status >= 500 [1m]))"#,
        r#"sum by (status) (rate({app="api"} | json | status >= 500 [1m]))"#,
    );
    check(
        r#"avg_over_time({app="api"} | logfmt | level="error", dur > 1 | unwrap dur [5m] offset 1h)"#,
        r#"avg_over_time({app="api"} | logfmt | level="error" and dur > 1 | unwrap dur [5m] offset 1h)"#,
    );
    check(
        r#"bytes_over_time({app="api"} | regexp "(?P<ip>\\S+) " [1m])"#,
        r#"bytes_over_time({app="api"} | regexp "(?P<ip>\\S+) " [1m])"#,
    );
    check(
        r#"count_over_time({app="x"} | pattern "<ip> - <_> <code>" | code = 500 or code = 503 [1m])"#,
        r#"count_over_time({app="x"} | pattern "<ip> - <_> <code>" | code == 500 or code == 503 [1m])"#,
    );
    assert_eq!(
        parse_expr(r#"{app="api"} |= "x""#).unwrap().kind(),
        ExprKind::LogStream
    );
    assert_eq!(parse_expr("up").unwrap().kind(), ExprKind::Metric);
}

#[test]
fn errors() {
    check_err(
        "rate(foo[5m]",
        r#"1:13: unexpected end of input; expected "," or ")" or operator"#,
    );
    check_err("sum(", "1:5: unexpected end of input; expected expression");
    check_err(
        "foo{bar}",
        r#"1:8: unexpected "}"; expected "=" or "!=" or "=~" or "!~""#,
    );
    check_err(
        "foo[5x]",
        "1:6: expected a duration unit (ms, s, m, h, d, w, y)",
    );
    check_err("nosuch(x)", r#"1:1: unknown function with name "nosuch""#);
    check_err(
        "rate(x)",
        r#"1:6: expected type range vector in call to function "rate", got instant vector"#,
    );
    check_err(
        "1 > 2",
        "1:3: comparisons between scalars must use BOOL modifier",
    );
    check_err(
        "x +\n  ",
        "2:3: unexpected end of input; expected expression",
    );
    check_err(
        "{}",
        "1:1: vector selector must contain at least one non-empty matcher",
    );
    check_err(
        "topk(x)",
        "1:1: wrong number of arguments for aggregate expression provided, expected 2, got 1",
    );
    check_err(
        "a + b )",
        r#"1:7: unexpected ")"; expected operator or end of input"#,
    );
    check_err(
        r#"{a="b"} | foo >"#,
        r#"1:16: unexpected end of input; expected string or number"#,
    );
}

#[test]
fn more_errors() {
    for (input, want) in [
        (r#"foo{a="b}"#, "1:7: unterminated quoted string"),
        (
            r#"foo{a=~"("}"#,
            "1:8: invalid regular expression: unclosed group",
        ),
        (r#"foo{a="\q"}"#, r#"1:8: unknown escape sequence "\q""#),
        (
            "sum by (a b) (x)",
            r#"1:11: unexpected "b"; expected "," or ")""#,
        ),
        (
            "foo offset",
            "1:11: unexpected end of input; expected duration",
        ),
        (
            "sum(foo) @ 10",
            "1:10: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery",
        ),
        (
            "foo @ 10 @ 20",
            "1:1: @ <timestamp> may not be set multiple times",
        ),
        ("foo @ 10 [5m]", "1:10: no @ modifiers allowed before range"),
        (
            "foo @ bar",
            "1:7: unexpected \"bar\"; expected timestamp or start() or end()",
        ),
        (
            r#"{a="b"} | unwrap"#,
            "1:17: unexpected end of input; expected label name",
        ),
        (
            "count_values(1, x)",
            "1:14: expected type string in aggregation parameter, got scalar",
        ),
        (
            "x and 1",
            r#"1:1: set operator "and" not allowed in binary scalar expression"#,
        ),
        (
            "rate(x[5m] offset 1m offset 2m)",
            "1:6: offset may not be set multiple times",
        ),
        (
            "sum(x) by",
            r#"1:10: unexpected end of input; expected "(""#,
        ),
        (
            "x[5m] + 1",
            "1:7: binary expression must contain only scalar and instant vector types, got range vector",
        ),
        (
            "foo{a=\"b\",\n  c=~\"d\"\n  e=\"f\"}",
            r#"3:3: unexpected "e"; expected "," or "}""#,
        ),
        (
            "histogram_quantile(x, y)",
            r#"1:20: expected type scalar in call to function "histogram_quantile", got instant vector"#,
        ),
        (
            "label_replace(x, \"a\")",
            r#"1:1: expected 5 argument(s) in call to "label_replace", got 2"#,
        ),
        (
            "foo bar",
            r#"1:5: unexpected "bar"; expected operator or end of input"#,
        ),
        (
            "a + on(b) group_left(b) c",
            r#"1:3: label "b" must not occur in ON and GROUP clause at once"#,
        ),
        (
            "{a=\"b\"} |~ \"(\"",
            "1:12: invalid regular expression: unclosed group",
        ),
        (
            "bytes_over_time(x[5m])",
            r#"1:17: "bytes_over_time" needs a log range like {app="x"} |= "y" [5m]"#,
        ),
        (
            "5m",
            "1:1: unexpected duration or identifier after number; durations are only allowed in ranges and offsets",
        ),
        (
            "x == bool",
            "1:10: unexpected end of input; expected expression",
        ),
        (
            "{a=\"b\"} | 1",
            "1:11: unexpected \"1\"; expected json or logfmt or regexp or pattern or unwrap or label filter",
        ),
    ] {
        check_err(input, want);
    }
    let e = parse_expr("foo{a=\"b\",\n  c=~\"d\"\n  e=\"f\"}").unwrap_err();
    assert_eq!((e.line, e.col), (3, 3));
    assert_eq!(e.expected, vec!["\",\"", "\"}\""]);
}
