//! The error texts of Go's YAML decoders as promtool prints them: `gopkg.in/yaml.v2`
//! (`UnmarshalStrict`, test files) and `gopkg.in/yaml.v3` (`KnownFields`, rule files). A schema
//! walk over the node tree lists every unknown field and type mismatch in document order
//! (`yaml: unmarshal errors:\n  line N: field x not found in type main.testGroup`), the way the
//! Go decoders collect them; syntax errors are re-worded as `yaml: line N: problem`.

use crate::rule::PromDuration;
use crate::yaml::{Kind, Node, YamlError};

/// The Go type a node is decoded into.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ty {
    /// A struct: Go type name and its fields.
    Struct(&'static str, &'static [(&'static str, Ty)]),
    /// A slice: element type and Go type name.
    Seq(&'static Ty, &'static str),
    /// A `map[string]string` (or `labels.Labels`, decoded through one).
    StrMap,
    /// A string (any scalar).
    Str,
    /// A float64.
    Float,
    /// An int.
    Int,
    /// A `model.Duration` (custom unmarshaler: the first bad value aborts the decode).
    Duration,
    /// A `yaml.Node`: anything.
    Any,
}

const SERIES: Ty = Ty::Struct("main.series", &[("series", Ty::Str), ("values", Ty::Str)]);
const LOG_LINE: Ty = Ty::Struct(
    "main.logLine",
    &[
        ("at", Ty::Duration),
        ("line", Ty::Str),
        ("repeat", Ty::Int),
        ("every", Ty::Duration),
    ],
);
const LOG_INPUT: Ty = Ty::Struct(
    "main.logInput",
    &[
        ("stream", Ty::Str),
        ("lines", Ty::Seq(&LOG_LINE, "[]main.logLine")),
    ],
);
const EXP_ALERT: Ty = Ty::Struct(
    "main.alert",
    &[("exp_labels", Ty::StrMap), ("exp_annotations", Ty::StrMap)],
);
const ALERT_TEST: Ty = Ty::Struct(
    "main.alertTestCase",
    &[
        ("eval_time", Ty::Duration),
        ("alertname", Ty::Str),
        ("exp_alerts", Ty::Seq(&EXP_ALERT, "[]main.alert")),
    ],
);
const SAMPLE: Ty = Ty::Struct("main.sample", &[("labels", Ty::Str), ("value", Ty::Float)]);
const EXPR_TEST: Ty = Ty::Struct(
    "main.promqlTestCase",
    &[
        ("expr", Ty::Str),
        ("eval_time", Ty::Duration),
        ("exp_samples", Ty::Seq(&SAMPLE, "[]main.sample")),
    ],
);
const TEST_GROUP: Ty = Ty::Struct(
    "main.testGroup",
    &[
        ("interval", Ty::Duration),
        ("input_series", Ty::Seq(&SERIES, "[]main.series")),
        ("input_logs", Ty::Seq(&LOG_INPUT, "[]main.logInput")),
        (
            "alert_rule_test",
            Ty::Seq(&ALERT_TEST, "[]main.alertTestCase"),
        ),
        (
            "promql_expr_test",
            Ty::Seq(&EXPR_TEST, "[]main.promqlTestCase"),
        ),
        ("external_labels", Ty::StrMap),
        ("external_url", Ty::Str),
        ("name", Ty::Str),
    ],
);
const STR_LIST: Ty = Ty::Seq(&Ty::Str, "[]string");

/// promtool's `unitTestFile` (plus the `input_logs` extension).
pub(crate) const TEST_FILE: Ty = Ty::Struct(
    "main.unitTestFile",
    &[
        ("rule_files", STR_LIST),
        ("evaluation_interval", Ty::Duration),
        ("group_eval_order", STR_LIST),
        ("tests", Ty::Seq(&TEST_GROUP, "[]main.testGroup")),
    ],
);

const RULE_NODE: Ty = Ty::Struct(
    "rulefmt.RuleNode",
    &[
        ("record", Ty::Any),
        ("alert", Ty::Any),
        ("expr", Ty::Any),
        ("for", Ty::Duration),
        ("keep_firing_for", Ty::Duration),
        ("labels", Ty::StrMap),
        ("annotations", Ty::StrMap),
        ("resolve_expr", Ty::Any),
        ("resolve_for", Ty::Duration),
        ("nodata", Ty::Str),
    ],
);
const RULE_GROUP: Ty = Ty::Struct(
    "rulefmt.RuleGroup",
    &[
        ("name", Ty::Str),
        ("interval", Ty::Duration),
        ("limit", Ty::Int),
        ("labels", Ty::StrMap),
        ("rules", Ty::Seq(&RULE_NODE, "[]rulefmt.RuleNode")),
    ],
);

/// rulefmt's `RuleGroups` (plus this crate's rule extensions).
pub(crate) const RULE_FILE: Ty = Ty::Struct(
    "rulefmt.RuleGroups",
    &[("groups", Ty::Seq(&RULE_GROUP, "[]rulefmt.RuleGroup"))],
);

/// rulefmt's second, lenient decode of the same text (only the outer shapes are typed).
pub(crate) const RULE_FILE_NODES: Ty = Ty::Struct(
    "rulefmt.ruleGroups",
    &[("groups", Ty::Seq(&Ty::Any, "[]yaml.Node"))],
);

/// Which Go YAML library's rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `gopkg.in/yaml.v2` (YAML 1.1 booleans).
    V2,
    /// `gopkg.in/yaml.v3`.
    V3,
}

/// The tag Go's resolver gives a scalar.
fn tag_of(value: &str, plain: bool, d: Dialect) -> &'static str {
    if !plain {
        return "!!str";
    }
    match value {
        "" | "~" | "null" | "Null" | "NULL" => return "!!null",
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => return "!!bool",
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => return "!!float",
        _ => {}
    }
    if d == Dialect::V2
        && matches!(
            value,
            "y" | "Y"
                | "yes"
                | "Yes"
                | "YES"
                | "on"
                | "On"
                | "ON"
                | "n"
                | "N"
                | "no"
                | "No"
                | "NO"
                | "off"
                | "Off"
                | "OFF"
        )
    {
        return "!!bool";
    }
    let Some(first) = value.chars().next() else {
        return "!!str";
    };
    if !(first.is_ascii_digit() || matches!(first, '+' | '-' | '.')) {
        return "!!str";
    }
    let plain = value.replace('_', "");
    if go_int(&plain) {
        return "!!int";
    }
    if yaml_style_float(&plain) {
        return "!!float";
    }
    "!!str"
}

/// `strconv.ParseInt(s, 0, 64)` or `ParseUint` succeeds (decimal, `0x`, `0o`, `0b`, octal `0`).
fn go_int(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (digits, radix) = if let Some(h) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (h, 16)
    } else if let Some(b) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
        (b, 2)
    } else if let Some(o) = body.strip_prefix("0o").or(body.strip_prefix("0O")) {
        (o, 8)
    } else if body.len() > 1 && body.starts_with('0') {
        (&body[1..], 8)
    } else {
        (body, 10)
    };
    !digits.is_empty()
        && digits.chars().all(|c| c.is_digit(radix))
        && u64::from_str_radix(digits, radix).is_ok()
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > st
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    } else {
        if !digits(&mut i) {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

/// How a decode ended.
pub(crate) enum Decoded {
    /// No problem.
    Ok,
    /// `yaml: unmarshal errors:` with these lines (`line N: ...`).
    TypeErrors(Vec<String>),
    /// A custom unmarshaler's error that aborted the decode (a bad duration).
    Fatal(String),
}

impl Decoded {
    /// The error text as Go prints it, if any.
    pub(crate) fn message(&self) -> Option<String> {
        match self {
            Decoded::Ok => None,
            Decoded::TypeErrors(lines) => {
                Some(format!("yaml: unmarshal errors:\n  {}", lines.join("\n  ")))
            }
            Decoded::Fatal(m) => Some(m.clone()),
        }
    }
}

struct Walk {
    dialect: Dialect,
    strict: bool,
    errors: Vec<String>,
    fatal: Option<String>,
}

impl Walk {
    fn terror(&mut self, n: &Node, into: &str) {
        let text = match &n.kind {
            Kind::Scalar { value, plain } => {
                let tag = tag_of(value, *plain, self.dialect);
                let shown = if value.len() > 10 {
                    format!(" `{}...`", truncate_bytes(value, 7))
                } else {
                    format!(" `{value}`")
                };
                format!("{tag}{shown}")
            }
            Kind::Seq(_) => "!!seq".into(),
            Kind::Map(_) => "!!map".into(),
            Kind::Null => "!!null".into(),
        };
        self.errors.push(format!(
            "line {}: cannot unmarshal {text} into {into}",
            n.pos.line
        ));
    }

    fn walk(&mut self, n: &Node, ty: &Ty) {
        if self.fatal.is_some() || n.is_null() {
            return;
        }
        match (ty, &n.kind) {
            (Ty::Any, _) => {}
            (Ty::Struct(name, fields), Kind::Map(entries)) => {
                for (i, (k, v)) in entries.iter().enumerate() {
                    let key = k.name.as_str();
                    let repeated = entries[..i].iter().any(|(e, _)| e.name == k.name);
                    match fields.iter().find(|(f, _)| *f == key) {
                        // yaml.v2 strict: a field set twice (only a parser that keeps repeated
                        // keys, as test files are read, gets here)
                        Some(_) if repeated => self.errors.push(format!(
                            "line {}: field {key} already set in type {name}",
                            k.pos.line
                        )),
                        Some((_, fty)) => self.walk(v, fty),
                        None if self.strict => self.errors.push(format!(
                            "line {}: field {key} not found in type {name}",
                            k.pos.line
                        )),
                        None => {}
                    }
                    if self.fatal.is_some() {
                        return;
                    }
                }
            }
            (Ty::Struct(name, _), _) => self.terror(n, name),
            (Ty::Seq(item, _), Kind::Seq(items)) => {
                for it in items {
                    self.walk(it, item);
                }
            }
            (Ty::Seq(_, name), _) => self.terror(n, name),
            (Ty::StrMap, Kind::Map(entries)) => {
                for (i, (k, v)) in entries.iter().enumerate() {
                    if entries[..i].iter().any(|(e, _)| e.name == k.name) {
                        self.errors.push(format!(
                            "line {}: key {:?} already set in map",
                            k.pos.line, k.name
                        ));
                        continue;
                    }
                    self.walk(v, &Ty::Str);
                }
            }
            (Ty::StrMap, _) => self.terror(n, "map[string]string"),
            (Ty::Str, Kind::Scalar { .. }) => {}
            (Ty::Str, _) => self.terror(n, "string"),
            (Ty::Float, Kind::Scalar { value, plain }) => {
                if !matches!(tag_of(value, *plain, self.dialect), "!!int" | "!!float") {
                    self.terror(n, "float64");
                }
            }
            (Ty::Float, _) => self.terror(n, "float64"),
            (Ty::Int, Kind::Scalar { value, plain }) => {
                if tag_of(value, *plain, self.dialect) != "!!int" {
                    self.terror(n, "int");
                }
            }
            (Ty::Int, _) => self.terror(n, "int"),
            (Ty::Duration, Kind::Scalar { value, .. }) => {
                if let Err(e) = PromDuration::parse(value) {
                    self.fatal = Some(e);
                }
            }
            (Ty::Duration, _) => self.terror(n, "string"),
        }
    }
}

fn truncate_bytes(s: &str, n: usize) -> &str {
    let mut end = n.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Decodes `root` as `ty` the way Go's decoder would, collecting its errors.
pub(crate) fn decode(root: &Node, ty: &Ty, dialect: Dialect, strict: bool) -> Decoded {
    let mut w = Walk {
        dialect,
        strict,
        errors: Vec::new(),
        fatal: None,
    };
    w.walk(root, ty);
    match (w.fatal, w.errors.is_empty()) {
        (Some(f), _) => Decoded::Fatal(f),
        (None, true) => Decoded::Ok,
        (None, false) => Decoded::TypeErrors(w.errors),
    }
}

/// A syntax error as Go's YAML libraries print it: `yaml: line N: problem`. `src` is the text
/// (to find where a broken block collection or mapping started, as libyaml's context mark).
pub(crate) fn syntax_message(e: &YamlError, src: &str, dialect: Dialect) -> String {
    let (context, problem) = match e.message.split_once(", ") {
        Some((c, p)) if c.starts_with("while ") => (Some(c), p),
        _ => (None, e.message.as_str()),
    };
    let open_flow = e.pos.and_then(|p| flow_open_line(src, p.line, p.col));
    // saphyr's wording where libyaml says it differently
    let (context, problem) = match problem {
        // a `key:` after an unclosed `[`: libyaml misses the `]`
        "illegal placement of ':' indicator" if matches!(open_flow, Some((_, '['))) => (
            Some("while parsing a flow sequence"),
            "did not find expected ',' or ']'",
        ),
        "tabs disallowed within this context (block indentation)" => {
            (context, "found character that cannot start any token")
        }
        "simple key expect ':'" => (context, "could not find expected ':'"),
        "expected ',' or ']'" => (context, "did not find expected ',' or ']'"),
        // libyaml does not check the indentation of quoted scalars: it reads on to the end
        "invalid indentation in quoted scalar" => (context, "found unexpected end of stream"),
        "\"-\" is only valid inside a block" => (
            Some("while parsing a flow node"),
            "did not find expected node content",
        ),
        p => (context, p),
    };
    if problem.ends_with("unknown anchor")
        && let Some(name) = undefined_alias(src)
    {
        return format!("yaml: unknown anchor '{name}' referenced");
    }
    let mut problem_line = e.pos.map_or(0, |p| p.line);
    if problem == "found unexpected end of stream" && dialect == Dialect::V2 {
        // libyaml's problem mark is the end of the text (saphyr points at the construct)
        problem_line = src.matches('\n').count() + 1;
    }
    // scanner errors report the 1-based line of the problem; parser errors its 0-based line,
    // and yaml.v3 prefers the 0-based line where the broken construct started
    let parser_error = matches!(
        context,
        Some(c) if c.starts_with("while parsing")
    );
    let line = if parser_error {
        let context = context.unwrap_or("");
        let ctx = if context.contains("flow") {
            open_flow.map(|(line, _)| line)
        } else {
            context_line(src, problem_line, context)
        };
        match (dialect, ctx) {
            (Dialect::V3, Some(c)) if c > 0 => c,
            _ => problem_line.saturating_sub(1),
        }
    } else {
        problem_line
    };
    if line == 0 {
        format!("yaml: {problem}")
    } else {
        format!("yaml: line {line}: {problem}")
    }
}

/// The 0-based line of the innermost `[` or `{` still open before 1-based `line`:`col` (quoted
/// scalars and comments skipped), and which bracket: where libyaml's context mark for a broken
/// flow collection is.
fn flow_open_line(src: &str, line: usize, col: usize) -> Option<(usize, char)> {
    let mut open: Vec<(usize, char)> = Vec::new();
    let mut quote: Option<char> = None;
    for (i, text) in src.lines().enumerate().take(line) {
        let mut prev = ' ';
        let mut chars = text.chars().enumerate().peekable();
        while let Some((c_at, c)) = chars.next() {
            if i + 1 == line && c_at + 1 >= col {
                break;
            }
            match (quote, c) {
                (Some('"'), '\\') => {
                    chars.next();
                }
                (Some(q), c) if c == q => {
                    if q == '\'' && chars.peek().is_some_and(|(_, n)| *n == '\'') {
                        chars.next();
                    } else {
                        quote = None;
                    }
                }
                (Some(_), _) => {}
                // a quote opens a scalar only where one can start (`it's` is plain)
                (None, '\'' | '"') if prev.is_whitespace() || "[{,:".contains(prev) => {
                    quote = Some(c);
                }
                (None, '#') if prev.is_whitespace() => break,
                (None, '[' | '{') => open.push((i, c)),
                (None, ']' | '}') => {
                    open.pop();
                }
                _ => {}
            }
            prev = c;
        }
    }
    open.last().copied()
}

/// The first alias (`*name`) in `src` whose anchor (`&name`) is not defined before it.
fn undefined_alias(src: &str) -> Option<String> {
    let word = |rest: &str| -> String {
        rest.chars()
            .take_while(|c| !c.is_whitespace() && !",[]{}".contains(*c))
            .collect()
    };
    let mut anchors: Vec<String> = Vec::new();
    for (i, c) in src.char_indices() {
        let prev_ok = src[..i]
            .chars()
            .next_back()
            .is_none_or(|p| p.is_whitespace() || "-:[{,".contains(p));
        if !prev_ok {
            continue;
        }
        match c {
            '&' => anchors.push(word(&src[i + 1..])),
            '*' => {
                let name = word(&src[i + 1..]);
                if !name.is_empty() && !anchors.contains(&name) {
                    return Some(name);
                }
            }
            _ => {}
        }
    }
    None
}

/// 0-based line where the block collection/mapping that the parser was in started: the first
/// line of the run of lines at the collection's indentation before the problem line.
fn context_line(src: &str, problem_line: usize, context: &str) -> Option<usize> {
    let lines: Vec<&str> = src.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let blank = |l: &str| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#')
    };
    let bad = problem_line.checked_sub(1)?;
    let bad_indent = indent(lines.get(bad)?);
    let seq = context.contains("block collection") || context.contains("sequence");
    // the collection is the innermost one, above the problem line, indented less than it
    // (a sequence) or at most as much (a mapping)
    let mut i = bad;
    let mut col = None;
    while i > 0 {
        i -= 1;
        let l = lines[i];
        if blank(l) {
            continue;
        }
        let ind = indent(l);
        let is_item = l.trim_start().starts_with("- ") || l.trim_start() == "-";
        if seq && is_item && ind < bad_indent || !seq && ind <= bad_indent && !is_item {
            col = Some(ind);
            break;
        }
    }
    let col = col?;
    let mut start = i;
    while i > 0 {
        i -= 1;
        let l = lines[i];
        if blank(l) {
            continue;
        }
        let ind = indent(l);
        if ind < col {
            break;
        }
        if ind == col {
            start = i;
        }
    }
    Some(start)
}

#[cfg(test)]
mod tests;
