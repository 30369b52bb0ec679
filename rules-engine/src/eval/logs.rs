//! Log pipelines (line filters, `json`, `logfmt`, `regexp`, `pattern`, label filters, `unwrap`)
//! and the range aggregations over them (`count_over_time`, `rate`, `bytes_over_time`,
//! `*_over_time` of unwrapped values, `absent_over_time`).

use super::functions::{absent_labels, parse_go_float, quantile, variance};
use super::{Ctx, EvalError, Sample, Series, Value};
use crate::input::{FxHashMap, Labels};
use crate::syntax::{
    CmpOp, Function as F, LabelFilterExpr, LogRange, LogSelector, Stage, UnwrapConv,
};

/// Labels being built for one line: the stream's labels plus extracted ones.
struct LineLabels<'a> {
    stream: &'a Labels,
    extracted: Vec<(String, String)>,
}

impl LineLabels<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.extracted
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .or_else(|| self.stream.get(name))
    }

    fn add(&mut self, key: &str, value: String) {
        let mut key = sanitize(key);
        if key.is_empty() {
            return;
        }
        if self.stream.get(&key).is_some() {
            key.push_str("_extracted");
        }
        if let Some(slot) = self.extracted.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
        } else {
            self.extracted.push((key, value));
        }
    }

    fn build(self, drop: Option<&str>) -> Labels {
        if self.extracted.is_empty() && drop.is_none() {
            return self.stream.clone();
        }
        let pairs = self
            .stream
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain(self.extracted)
            .filter(|(k, _)| Some(k.as_str()) != drop);
        Labels::from_pairs(pairs)
    }
}

fn sanitize(k: &str) -> String {
    let mut s: String = k
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

/// Runs the pipeline on one line. Returns the output labels and the unwrapped value (1.0
/// without `unwrap`), or `None` when the line is filtered out.
pub(crate) fn run_pipeline(
    sel: &LogSelector,
    stream: &Labels,
    line: &str,
) -> Option<(Labels, f64)> {
    let mut ll = LineLabels {
        stream,
        extracted: Vec::new(),
    };
    let mut value = 1.0;
    let mut unwrapped: Option<&str> = None;
    for st in &sel.pipeline {
        match st {
            Stage::Line(f) => {
                if !f.matches(line) {
                    return None;
                }
            }
            Stage::Json => parse_json(line, &mut ll),
            Stage::Logfmt => parse_logfmt(line, &mut ll),
            Stage::Regexp(r) | Stage::Pattern(r) => {
                if let Some(caps) = r.regex.captures(line) {
                    for name in r.regex.capture_names().flatten() {
                        if let Some(m) = caps.name(name) {
                            ll.add(name, m.as_str().to_string());
                        }
                    }
                }
            }
            Stage::LabelFilter(e) => {
                if !label_filter(e, &ll) {
                    return None;
                }
            }
            Stage::Unwrap(u) => {
                let raw = ll.get(&u.label)?;
                value = match u.conv {
                    UnwrapConv::None => parse_go_float(raw)?,
                    UnwrapConv::Duration => parse_go_duration(raw)?,
                    UnwrapConv::Bytes => parse_bytes(raw)?,
                };
                unwrapped = Some(&u.label);
            }
        }
    }
    Some((ll.build(unwrapped), value))
}

fn label_filter(e: &LabelFilterExpr, ll: &LineLabels<'_>) -> bool {
    match e {
        LabelFilterExpr::Str(m) => m.matches(ll.get(&m.name).unwrap_or("")),
        LabelFilterExpr::Num { name, op, value } => {
            let x = ll.get(name).and_then(parse_go_float);
            compare(x, *op, *value)
        }
        LabelFilterExpr::Duration {
            name, op, seconds, ..
        } => compare(ll.get(name).and_then(parse_go_duration), *op, *seconds),
        LabelFilterExpr::Bytes {
            name, op, bytes, ..
        } => compare(ll.get(name).and_then(parse_bytes), *op, *bytes),
        LabelFilterExpr::And(a, b) => label_filter(a, ll) && label_filter(b, ll),
        LabelFilterExpr::Or(a, b) => label_filter(a, ll) || label_filter(b, ll),
    }
}

/// A numeric label comparison; a label that is missing or does not parse fails.
fn compare(x: Option<f64>, op: CmpOp, value: f64) -> bool {
    let Some(x) = x else {
        return false;
    };
    match op {
        CmpOp::Eq => x == value,
        CmpOp::Ne => x != value,
        CmpOp::Gt => x > value,
        CmpOp::Ge => x >= value,
        CmpOp::Lt => x < value,
        CmpOp::Le => x <= value,
        CmpOp::Regex | CmpOp::NotRegex => false,
    }
}

fn parse_json(line: &str, ll: &mut LineLabels<'_>) {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(line) else {
        return;
    };
    fn walk(prefix: &str, v: &serde_json::Value, ll: &mut LineLabels<'_>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}_{k}")
                    };
                    walk(&key, v, ll);
                }
            }
            serde_json::Value::String(s) => ll.add(prefix, s.clone()),
            serde_json::Value::Number(n) => ll.add(prefix, n.to_string()),
            serde_json::Value::Bool(b) => ll.add(prefix, b.to_string()),
            serde_json::Value::Null | serde_json::Value::Array(_) => {}
        }
    }
    for (k, v) in &map {
        walk(k, v, ll);
    }
}

fn parse_logfmt(line: &str, ll: &mut LineLabels<'_>) {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        let ks = i;
        while i < b.len() && b[i] != b'=' && b[i] != b' ' {
            i += 1;
        }
        let key = &line[ks..i];
        if i < b.len() && b[i] == b'=' {
            i += 1;
            if i < b.len() && b[i] == b'"' {
                i += 1;
                let mut val = String::new();
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' && i + 1 < b.len() && b[i + 1].is_ascii() {
                        i += 1;
                        val.push(match b[i] {
                            b'n' => '\n',
                            b't' => '\t',
                            c => c as char,
                        });
                        i += 1;
                        continue;
                    }
                    let ch_len = line[i..].chars().next().map_or(1, char::len_utf8);
                    val.push_str(&line[i..i + ch_len]);
                    i += ch_len;
                }
                i += 1;
                if !key.is_empty() {
                    ll.add(key, val);
                }
            } else {
                let vs = i;
                while i < b.len() && b[i] != b' ' {
                    i += 1;
                }
                if !key.is_empty() {
                    ll.add(key, line[vs..i].to_string());
                }
            }
        } else if !key.is_empty() {
            ll.add(key, String::new());
        }
    }
}

/// Parses a Go duration (`1h2m3.5s`, `250ms`, `10us`) into seconds.
pub(crate) fn parse_go_duration(s: &str) -> Option<f64> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0.0);
    }
    let mut total = 0.0;
    let mut any = false;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[u..];
        total += num * mult;
        any = true;
    }
    any.then_some(if neg { -total } else { total })
}

/// Parses a byte size (`10KB`, `1.5MiB`, `42`) into bytes.
pub(crate) fn parse_bytes(s: &str) -> Option<f64> {
    let n = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let num: f64 = s[..n].parse().ok()?;
    let mult = match s[n..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "tb" | "t" => 1e12,
        "kib" | "ki" => 1024.0,
        "mib" | "mi" => 1024.0 * 1024.0,
        "gib" | "gi" => 1024.0 * 1024.0 * 1024.0,
        "tib" | "ti" => 1024.0f64.powi(4),
        _ => return None,
    };
    Some(num * mult)
}

/// Per output label set: the (t, value, bytes) entries of a log range.
struct Collected {
    order: Vec<Labels>,
    map: FxHashMap<Labels, Vec<(i64, f64, usize)>>,
}

fn collect(ctx: &Ctx<'_>, r: &LogRange) -> Collected {
    let end = ctx.t - r.offset_ms;
    let start = end - r.range_ms;
    let mut c = Collected {
        order: Vec::new(),
        map: FxHashMap::default(),
    };
    for st in ctx.store.select_streams(&r.selector.matchers) {
        // left-open range (start, end] like Loki
        let from = st.lines.partition_point(|(t, _)| *t <= start);
        for (t, line) in st.lines.range(from..) {
            if *t > end {
                break;
            }
            if let Some((labels, v)) = run_pipeline(&r.selector, &st.labels, line) {
                let e = c.map.entry(labels.clone()).or_insert_with(|| {
                    c.order.push(labels);
                    Vec::new()
                });
                e.push((*t, v, line.len()));
            }
        }
    }
    c
}

/// A log range as a matrix (each line a point with its unwrapped value, or 1).
pub(crate) fn log_range_matrix(ctx: &Ctx<'_>, r: &LogRange) -> Vec<Series> {
    let mut c = collect(ctx, r);
    c.order
        .into_iter()
        .map(|l| {
            let pts = c.map.remove(&l).unwrap_or_default();
            Series {
                labels: l,
                points: pts.into_iter().map(|(t, v, _)| (t, v)).collect(),
            }
        })
        .collect()
}

/// A range function applied to a log range.
pub(crate) fn eval_log_range_fn(
    ctx: &Ctx<'_>,
    f: F,
    r: &LogRange,
    param: Option<f64>,
) -> Result<Value, EvalError> {
    let mut c = collect(ctx, r);
    if f == F::AbsentOverTime {
        return Ok(Value::Vector(if c.order.is_empty() {
            vec![Sample {
                labels: absent_labels(&crate::syntax::Expr::LogRange(r.clone())),
                value: 1.0,
            }]
        } else {
            Vec::new()
        }));
    }
    let secs = r.range_ms as f64 / 1000.0;
    let unwrapped = r
        .selector
        .pipeline
        .iter()
        .any(|s| matches!(s, Stage::Unwrap(_)));
    let mut out = Vec::with_capacity(c.order.len());
    for l in c.order {
        let e = c.map.remove(&l).unwrap_or_default();
        let vals = || e.iter().map(|x| x.1);
        let v = match f {
            F::CountOverTime => e.len() as f64,
            F::Rate if unwrapped => vals().sum::<f64>() / secs,
            F::Rate => e.len() as f64 / secs,
            F::BytesOverTime => e.iter().map(|x| x.2 as f64).sum(),
            F::BytesRate => e.iter().map(|x| x.2 as f64).sum::<f64>() / secs,
            F::SumOverTime => vals().sum(),
            F::AvgOverTime => vals().sum::<f64>() / e.len() as f64,
            F::MinOverTime => vals().fold(f64::NAN, |m, x| if x < m || m.is_nan() { x } else { m }),
            F::MaxOverTime => vals().fold(f64::NAN, |m, x| if x > m || m.is_nan() { x } else { m }),
            F::LastOverTime => e.last().map_or(f64::NAN, |x| x.1),
            F::PresentOverTime => 1.0,
            F::StddevOverTime => variance(vals()).sqrt(),
            F::StdvarOverTime => variance(vals()),
            F::QuantileOverTime => {
                let mut xs: Vec<f64> = vals().collect();
                quantile(param.unwrap_or(f64::NAN), &mut xs)
            }
            other => {
                return Err(EvalError::Unsupported(format!(
                    "function {} over logs",
                    other.name()
                )));
            }
        };
        out.push(Sample {
            labels: l,
            value: v,
        });
    }
    Ok(Value::Vector(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{Expr, parse_expr};

    fn sel(src: &str) -> LogSelector {
        match parse_expr(src).unwrap() {
            Expr::Log(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn json_and_label_filter() {
        let s = sel(r#"{app="api"} | json | status >= 500"#);
        let stream = Labels::from_pairs([("app", "api")]);
        let (l, v) = run_pipeline(
            &s,
            &stream,
            r#"{"status":503,"req":{"path":"/x"},"app":"z"}"#,
        )
        .unwrap();
        assert_eq!(
            l.to_string(),
            r#"{app="api", app_extracted="z", req_path="/x", status="503"}"#
        );
        assert_eq!(v, 1.0);
        assert!(run_pipeline(&s, &stream, r#"{"status":200}"#).is_none());
        assert!(run_pipeline(&s, &stream, "not json").is_none());
    }

    #[test]
    fn logfmt_unwrap_and_conversions() {
        let s = sel(r#"{app="api"} | logfmt | level="error" | unwrap duration(took)"#);
        let stream = Labels::from_pairs([("app", "api")]);
        let (l, v) =
            run_pipeline(&s, &stream, r#"level=error msg="a b \"c\"" took=1m30.5s"#).unwrap();
        assert_eq!(
            l.to_string(),
            r#"{app="api", level="error", msg="a b \"c\""}"#
        );
        assert_eq!(v, 90.5);
        assert_eq!(parse_bytes("1.5KiB"), Some(1536.0));
        let s = sel(r#"{app="api"} | logfmt"#);
        let (l, _) = run_pipeline(&s, &stream, "a=\"x\\é\" b=ü c").unwrap();
        assert_eq!(l.get("a"), Some("x\\é"));
        assert_eq!(l.get("b"), Some("ü"));
        assert_eq!(parse_go_duration("250ms"), Some(0.25));
    }

    #[test]
    fn duration_and_bytes_filters() {
        let s = sel(r#"{app="api"} | logfmt | took > 250ms and size <= 1.5KiB"#);
        assert_eq!(
            Expr::Log(s.clone()).to_string(),
            r#"{app="api"} | logfmt | took > 250ms and size <= 1.5KiB"#
        );
        let st = Labels::from_pairs([("app", "api")]);
        assert!(run_pipeline(&s, &st, "took=1.5s size=1000").is_some());
        assert!(run_pipeline(&s, &st, "took=100ms size=1000").is_none());
        assert!(run_pipeline(&s, &st, "took=1s size=2KiB").is_none());
        assert!(run_pipeline(&s, &st, "took=fast size=1").is_none());
        let err = parse_expr(r#"{app="api"} | x > 5parsecs"#).unwrap_err();
        assert!(
            err.message.contains("neither a number, a duration"),
            "{err}"
        );
    }

    #[test]
    fn pattern_and_regexp() {
        let s =
            sel(r#"{a="b"} | pattern "<ip> - <_> [<ts>] \"<method> <path> <_>\" <status> <_>""#);
        let st = Labels::from_pairs([("a", "b")]);
        let line = r#"10.0.0.1 - frank [10/Oct/2000:13:55:36] "GET /x HTTP/1.0" 404 2326"#;
        let (l, _) = run_pipeline(&s, &st, line).unwrap();
        assert_eq!(l.get("ip"), Some("10.0.0.1"));
        assert_eq!(l.get("method"), Some("GET"));
        assert_eq!(l.get("status"), Some("404"));
        let s = sel(r#"{a="b"} |~ "GET|POST" | regexp "\" (?P<code>\\d{3}) " | code != "200""#);
        let (l, _) = run_pipeline(&s, &st, line).unwrap();
        assert_eq!(l.get("code"), Some("404"));
    }
}
