//! Function calls: range functions (`rate`, `*_over_time`, …), element-wise math, label
//! manipulation, `absent*`, `histogram_quantile`, time functions.

use regex::Regex;

use super::{Ctx, EvalError, Sample, Series, Value, check_unique, go_max, go_min, logs};
use crate::input::{Labels, METRIC_NAME};
use crate::syntax::{Call, Expr, Function as F, MatchOp};

pub(crate) fn eval_call(ctx: &Ctx<'_>, c: &Call) -> Result<Value, EvalError> {
    let f = c.func;
    match f {
        F::Time => return Ok(Value::Scalar(ctx.t as f64 / 1000.0)),
        F::Vector => {
            let v = ctx.eval_scalar(&c.args[0])?;
            return Ok(Value::Vector(vec![Sample {
                labels: Labels::empty(),
                value: v,
            }]));
        }
        F::Scalar => {
            let v = ctx.eval_vector(&c.args[0])?;
            return Ok(Value::Scalar(if v.len() == 1 {
                v[0].value
            } else {
                f64::NAN
            }));
        }
        F::Absent => {
            let v = ctx.eval_vector(&c.args[0])?;
            return Ok(Value::Vector(if v.is_empty() {
                vec![Sample {
                    labels: absent_labels(&c.args[0]),
                    value: 1.0,
                }]
            } else {
                Vec::new()
            }));
        }
        F::Timestamp => {
            let v = match &c.args[0] {
                Expr::Vector(vs) => ctx.vector_selector(vs, |t, _| t as f64 / 1000.0),
                e => {
                    let t = ctx.t as f64 / 1000.0;
                    let mut v = ctx.eval_vector(e)?;
                    v.iter_mut().for_each(|s| s.value = t);
                    v
                }
            };
            return finish(drop_names(v));
        }
        _ => {}
    }
    if f.arg_types().first() == Some(&crate::syntax::ValueType::Matrix) || f == F::QuantileOverTime
    {
        return range_function(ctx, c);
    }
    match f {
        F::LabelReplace => label_replace(ctx, &c.args),
        F::LabelJoin => label_join(ctx, &c.args),
        F::HistogramQuantile => {
            let q = ctx.eval_scalar(&c.args[0])?;
            let v = ctx.eval_vector(&c.args[1])?;
            Ok(Value::Vector(histogram_quantile(q, v)))
        }
        F::Sort | F::SortDesc => {
            let mut v = ctx.eval_vector(&c.args[0])?;
            v.sort_by(|a, b| {
                let o = if f == F::Sort {
                    a.value.partial_cmp(&b.value)
                } else {
                    b.value.partial_cmp(&a.value)
                };
                // NaN sorts last in both directions
                o.unwrap_or_else(|| a.value.is_nan().cmp(&b.value.is_nan()))
            });
            Ok(Value::Vector(v))
        }
        F::Clamp | F::ClampMax | F::ClampMin => {
            let v = ctx.eval_vector(&c.args[0])?;
            let a = ctx.eval_scalar(&c.args[1])?;
            let (lo, hi) = match f {
                F::Clamp => (a, ctx.eval_scalar(&c.args[2])?),
                F::ClampMax => (f64::NEG_INFINITY, a),
                _ => (a, f64::INFINITY),
            };
            if f == F::Clamp && hi < lo {
                return Ok(Value::Vector(Vec::new()));
            }
            let g: Box<dyn Fn(f64) -> f64> = match f {
                F::Clamp => Box::new(move |x| go_max(lo, go_min(hi, x))),
                F::ClampMax => Box::new(move |x| go_min(hi, x)),
                _ => Box::new(move |x| go_max(lo, x)),
            };
            map_values(v, g)
        }
        F::Round => {
            let v = ctx.eval_vector(&c.args[0])?;
            let to = match c.args.get(1) {
                Some(e) => ctx.eval_scalar(e)?,
                None => 1.0,
            };
            let inv = 1.0 / to;
            map_values(v, move |x| (x * inv + 0.5).floor() / inv)
        }
        F::DayOfMonth
        | F::DayOfWeek
        | F::DayOfYear
        | F::DaysInMonth
        | F::Hour
        | F::Minute
        | F::Month
        | F::Year => {
            let v = match c.args.first() {
                Some(e) => ctx.eval_vector(e)?,
                None => vec![Sample {
                    labels: Labels::empty(),
                    value: ctx.t as f64 / 1000.0,
                }],
            };
            map_values(v, move |x| date_part(f, x))
        }
        _ => {
            let v = ctx.eval_vector(&c.args[0])?;
            let g: fn(f64) -> f64 = match f {
                F::Abs => f64::abs,
                F::Ceil => f64::ceil,
                F::Floor => f64::floor,
                F::Exp => f64::exp,
                F::Sqrt => f64::sqrt,
                F::Ln => f64::ln,
                F::Log2 => f64::log2,
                F::Log10 => f64::log10,
                F::Sgn => |x: f64| {
                    if x > 0.0 {
                        1.0
                    } else if x < 0.0 {
                        -1.0
                    } else {
                        x
                    }
                },
                other => {
                    return Err(EvalError::Unsupported(format!("function {}", other.name())));
                }
            };
            map_values(v, g)
        }
    }
}

fn drop_names(mut v: Vec<Sample>) -> Vec<Sample> {
    for s in &mut v {
        s.labels = s.labels.without_metric_name();
    }
    v
}

fn finish(v: Vec<Sample>) -> Result<Value, EvalError> {
    check_unique(&v)?;
    Ok(Value::Vector(v))
}

fn map_values(v: Vec<Sample>, g: impl Fn(f64) -> f64) -> Result<Value, EvalError> {
    let v: Vec<Sample> = v
        .into_iter()
        .map(|s| Sample {
            labels: s.labels.without_metric_name(),
            value: g(s.value),
        })
        .collect();
    finish(v)
}

/// Labels of `absent(...)` / `absent_over_time(...)`: the equality matchers of the selector
/// (a label with any other or a second matcher is left out).
pub(crate) fn absent_labels(e: &Expr) -> Labels {
    let matchers: Vec<&crate::syntax::Matcher> = match e {
        Expr::Vector(vs) => vs.matchers.iter().collect(),
        Expr::Matrix(ms) => ms.selector.matchers.iter().collect(),
        Expr::LogRange(r) => r.selector.matchers.iter().collect(),
        _ => return Labels::empty(),
    };
    let mut set: Vec<(&str, &str)> = Vec::new();
    let mut drop: Vec<&str> = Vec::new();
    for m in matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        if m.op == MatchOp::Equal && !set.iter().any(|(n, _)| *n == m.name) {
            set.push((&m.name, &m.value));
        } else {
            drop.push(&m.name);
        }
    }
    set.retain(|(n, _)| !drop.contains(n));
    Labels::from_pairs(set)
}

fn range_function(ctx: &Ctx<'_>, c: &Call) -> Result<Value, EvalError> {
    let f = c.func;
    let (marg, param) = if f == F::QuantileOverTime {
        (&c.args[1], Some(ctx.eval_scalar(&c.args[0])?))
    } else if f == F::PredictLinear {
        (&c.args[0], Some(ctx.eval_scalar(&c.args[1])?))
    } else {
        (&c.args[0], None)
    };
    if let Expr::LogRange(r) = marg {
        return logs::eval_log_range_fn(ctx, f, r, param);
    }
    if let Expr::Matrix(ms) = marg
        && f != F::AbsentOverTime
    {
        // fast path: read the store's windows in place
        let range_end = ctx.t - ms.selector.offset_ms;
        let range_start = range_end - ms.range_ms;
        let mut out = Vec::new();
        let mut err = None;
        ctx.for_each_range(ms, |s, p| {
            match range_value(f, p, range_start, range_end, ctx.t, param) {
                Ok(Some(v)) => out.push(Sample {
                    labels: if f == F::LastOverTime {
                        s.labels.clone()
                    } else {
                        s.labels_without_name()
                    },
                    value: v,
                }),
                Ok(None) => {}
                Err(e) => err = Some(e),
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        return finish(out);
    }
    let (series, range_ms) = match marg {
        Expr::Matrix(ms) => (ctx.matrix_selector(ms), ms.range_ms),
        Expr::Subquery(sq) => match ctx.eval(marg)? {
            Value::Matrix(m) => (m, sq.range_ms),
            _ => return Err(EvalError::Invalid("subquery did not yield a range".into())),
        },
        other => {
            return Err(EvalError::Invalid(format!(
                "expected range vector in call to {}, got {other}",
                f.name()
            )));
        }
    };
    if f == F::AbsentOverTime {
        return Ok(Value::Vector(if series.is_empty() {
            vec![Sample {
                labels: absent_labels(marg),
                value: 1.0,
            }]
        } else {
            Vec::new()
        }));
    }
    let offset = match marg {
        Expr::Matrix(ms) => ms.selector.offset_ms,
        Expr::Subquery(sq) => sq.offset_ms,
        _ => 0,
    };
    let range_end = ctx.t - offset;
    let range_start = range_end - range_ms;
    let mut out = Vec::with_capacity(series.len());
    for s in series {
        let v = range_value(f, &s.points, range_start, range_end, ctx.t, param)?;
        if let Some(v) = v {
            let labels = if f == F::LastOverTime {
                s.labels
            } else {
                s.labels.without_metric_name()
            };
            out.push(Sample { labels, value: v });
        }
    }
    finish(out)
}

/// One range function over one series' points (`None`: no output for this series).
fn range_value(
    f: F,
    p: &[(i64, f64)],
    range_start: i64,
    range_end: i64,
    t: i64,
    param: Option<f64>,
) -> Result<Option<f64>, EvalError> {
    Ok(match f {
        F::Rate => extrapolated_rate(p, range_start, range_end, true, true),
        F::Increase => extrapolated_rate(p, range_start, range_end, true, false),
        F::Delta => extrapolated_rate(p, range_start, range_end, false, false),
        F::Irate => instant_value(p, true),
        F::Idelta => instant_value(p, false),
        F::Deriv => (p.len() >= 2).then(|| linear_regression(p, p[0].0).0),
        F::PredictLinear => (p.len() >= 2).then(|| {
            let (slope, icpt) = linear_regression(p, t);
            slope * param.unwrap_or(0.0) + icpt
        }),
        F::Resets => Some(p.windows(2).filter(|w| w[1].1 < w[0].1).count() as f64),
        F::Changes => Some(
            p.windows(2)
                .filter(|w| w[1].1 != w[0].1 && !(w[1].1.is_nan() && w[0].1.is_nan()))
                .count() as f64,
        ),
        F::AvgOverTime => Some(avg_over_time(p)),
        F::SumOverTime => Some(p.iter().map(|x| x.1).sum()),
        F::CountOverTime => Some(p.len() as f64),
        F::MinOverTime => Some(
            p.iter()
                .fold(p[0].1, |m, x| if x.1 < m || m.is_nan() { x.1 } else { m }),
        ),
        F::MaxOverTime => Some(
            p.iter()
                .fold(p[0].1, |m, x| if x.1 > m || m.is_nan() { x.1 } else { m }),
        ),
        F::LastOverTime => p.last().map(|x| x.1),
        F::PresentOverTime => Some(1.0),
        F::StddevOverTime => Some(variance(p.iter().map(|x| x.1)).sqrt()),
        F::StdvarOverTime => Some(variance(p.iter().map(|x| x.1))),
        F::QuantileOverTime => {
            let mut vals: Vec<f64> = p.iter().map(|x| x.1).collect();
            Some(quantile(param.unwrap_or(f64::NAN), &mut vals))
        }
        other => {
            return Err(EvalError::Unsupported(format!(
                "function {} over metrics",
                other.name()
            )));
        }
    })
}

/// Prometheus' `extrapolatedRate` (2.42).
pub(crate) fn extrapolated_rate(
    p: &[(i64, f64)],
    range_start: i64,
    range_end: i64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if p.len() < 2 {
        return None;
    }
    let (first, last) = (p[0], p[p.len() - 1]);
    let mut result = last.1 - first.1;
    if is_counter {
        let mut prev = first.1;
        for &(_, v) in &p[1..] {
            if v < prev {
                result += prev;
            }
            prev = v;
        }
    }
    let mut duration_to_start = (first.0 - range_start) as f64 / 1000.0;
    let duration_to_end = (range_end - last.0) as f64 / 1000.0;
    let sampled_interval = (last.0 - first.0) as f64 / 1000.0;
    let avg_between = sampled_interval / (p.len() - 1) as f64;
    if is_counter && result > 0.0 && first.1 >= 0.0 {
        let duration_to_zero = sampled_interval * (first.1 / result);
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }
    let threshold = avg_between * 1.1;
    let mut extrapolate_to = sampled_interval;
    extrapolate_to += if duration_to_start < threshold {
        duration_to_start
    } else {
        avg_between / 2.0
    };
    extrapolate_to += if duration_to_end < threshold {
        duration_to_end
    } else {
        avg_between / 2.0
    };
    let mut factor = extrapolate_to / sampled_interval;
    if is_rate {
        factor /= (range_end - range_start) as f64 / 1000.0;
    }
    Some(result * factor)
}

fn instant_value(p: &[(i64, f64)], is_rate: bool) -> Option<f64> {
    if p.len() < 2 {
        return None;
    }
    let (prev, last) = (p[p.len() - 2], p[p.len() - 1]);
    let mut v = if is_rate && last.1 < prev.1 {
        last.1
    } else {
        last.1 - prev.1
    };
    let interval = last.0 - prev.0;
    if interval == 0 {
        return None;
    }
    if is_rate {
        v /= interval as f64 / 1000.0;
    }
    Some(v)
}

/// Least-squares fit; returns (slope per second, value at `intercept_t`).
fn linear_regression(p: &[(i64, f64)], intercept_t: i64) -> (f64, f64) {
    let init = p[0].1;
    let const_y = p.iter().all(|x| x.1 == init);
    if const_y {
        if init.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init);
    }
    let (mut n, mut sx, mut sy, mut sxy, mut sx2) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(t, v) in p {
        n += 1.0;
        let x = (t - intercept_t) as f64 / 1e3;
        sx += x;
        sy += v;
        sxy += x * v;
        sx2 += x * x;
    }
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

fn avg_over_time(p: &[(i64, f64)]) -> f64 {
    let mut mean: f64 = 0.0;
    let mut count = 0.0;
    for &(_, v) in p {
        count += 1.0;
        if mean.is_infinite() {
            if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
                continue;
            }
            if !v.is_infinite() && !v.is_nan() {
                continue;
            }
        }
        mean += v / count - mean / count;
    }
    mean
}

/// Population variance (Welford).
pub(crate) fn variance(vals: impl Iterator<Item = f64>) -> f64 {
    let (mut count, mut mean, mut aux) = (0.0, 0.0, 0.0);
    for v in vals {
        count += 1.0;
        let delta = v - mean;
        mean += delta / count;
        aux += delta * (v - mean);
    }
    aux / count
}

/// Prometheus' `quantile` (linear interpolation between closest ranks).
pub(crate) fn quantile(q: f64, vals: &mut [f64]) -> f64 {
    if vals.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    vals.sort_by(|a, b| {
        // Go's sort with `<` puts NaN… wherever; Prometheus sorts NaN first
        match (a.is_nan(), b.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Less,
            (false, true) => std::cmp::Ordering::Greater,
            _ => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
        }
    });
    let n = vals.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    vals[lower as usize] * (1.0 - weight) + vals[upper as usize] * weight
}

fn histogram_quantile(q: f64, v: Vec<Sample>) -> Vec<Sample> {
    let mut groups: Vec<(Labels, Vec<(f64, f64)>)> = Vec::new();
    let mut index: std::collections::HashMap<Labels, usize> = std::collections::HashMap::new();
    for s in v {
        let Some(le) = s.labels.get("le") else {
            continue;
        };
        let Some(ub) = parse_go_float(le) else {
            continue;
        };
        let key = s.labels.filtered(|n| n != "le" && n != METRIC_NAME);
        let i = *index.entry(key.clone()).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push((ub, s.value));
    }
    groups
        .into_iter()
        .map(|(labels, b)| Sample {
            labels,
            value: bucket_quantile(q, b),
        })
        .collect()
}

/// Parses a float like Go's `strconv.ParseFloat` (accepts `+Inf`, `Inf`, `NaN`).
pub(crate) fn parse_go_float(s: &str) -> Option<f64> {
    let t = s.trim();
    let l = t.to_ascii_lowercase();
    match l.as_str() {
        "+inf" | "inf" | "+infinity" | "infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => t.parse().ok(),
    }
}

fn bucket_quantile(q: f64, mut b: Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    b.sort_by(|x, y| x.0.partial_cmp(&y.0).unwrap_or(std::cmp::Ordering::Equal));
    if b.last().is_none_or(|x| x.0 != f64::INFINITY) {
        return f64::NAN;
    }
    // coalesce equal bounds
    let mut c: Vec<(f64, f64)> = Vec::with_capacity(b.len());
    for (ub, n) in b {
        match c.last_mut() {
            Some(last) if last.0 == ub => last.1 += n,
            _ => c.push((ub, n)),
        }
    }
    // ensure monotonic
    let mut max = f64::NEG_INFINITY;
    for x in &mut c {
        if x.1 > max {
            max = x.1;
        } else if x.1 < max {
            x.1 = max;
        }
    }
    if c.len() < 2 {
        return f64::NAN;
    }
    let observations = c[c.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let n = c.len() - 1;
    let idx = c[..n].partition_point(|x| x.1 < rank);
    if idx == n {
        return c[n - 1].0;
    }
    if idx == 0 && c[0].0 <= 0.0 {
        return c[0].0;
    }
    let mut start = 0.0;
    let end = c[idx].0;
    let mut count = c[idx].1;
    if idx > 0 {
        start = c[idx - 1].0;
        count -= c[idx - 1].1;
        rank -= c[idx - 1].1;
    }
    start + (end - start) * (rank / count)
}

fn is_label_name(s: &str) -> bool {
    let mut ch = s.chars();
    ch.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && ch.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn label_replace(ctx: &Ctx<'_>, args: &[Expr]) -> Result<Value, EvalError> {
    let v = ctx.eval_vector(&args[0])?;
    let dst = ctx.eval_string(&args[1])?;
    let repl = ctx.eval_string(&args[2])?;
    let src = ctx.eval_string(&args[3])?;
    let re_src = ctx.eval_string(&args[4])?;
    let re = Regex::new(&format!("^(?s:{re_src})$")).map_err(|e| {
        EvalError::Invalid(format!(
            "invalid regular expression in label_replace(): {re_src}: {e}"
        ))
    })?;
    if !is_label_name(&dst) {
        return Err(EvalError::Invalid(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let mut out = Vec::with_capacity(v.len());
    for s in v {
        let val = s.labels.get(&src).unwrap_or("");
        let labels = match re.captures(val) {
            Some(caps) => {
                let mut res = String::new();
                caps.expand(&repl, &mut res);
                s.labels.with(&dst, &res)
            }
            None => s.labels,
        };
        out.push(Sample {
            labels,
            value: s.value,
        });
    }
    finish(out)
}

fn label_join(ctx: &Ctx<'_>, args: &[Expr]) -> Result<Value, EvalError> {
    let v = ctx.eval_vector(&args[0])?;
    let dst = ctx.eval_string(&args[1])?;
    let sep = ctx.eval_string(&args[2])?;
    let mut srcs = Vec::new();
    for a in &args[3..] {
        srcs.push(ctx.eval_string(a)?);
    }
    if !is_label_name(&dst) {
        return Err(EvalError::Invalid(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    let out: Vec<Sample> = v
        .into_iter()
        .map(|s| {
            let joined: Vec<&str> = srcs.iter().map(|n| s.labels.get(n).unwrap_or("")).collect();
            let joined = joined.join(&sep);
            Sample {
                labels: s.labels.with(&dst, &joined),
                value: s.value,
            }
        })
        .collect();
    finish(out)
}

/// Civil date parts of a Unix time in seconds (UTC), like Prometheus' time functions.
fn date_part(f: F, secs: f64) -> f64 {
    if secs.is_nan() || secs.is_infinite() {
        return secs;
    }
    let s = secs.floor() as i64;
    let days = s.div_euclid(86_400);
    let sod = s.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let mut y = yoe + era * 400;
    let doy_mar = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy_mar + 2) / 153;
    let d = doy_mar - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    if m <= 2 {
        y += 1;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    const CUM: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let v = match f {
        F::DayOfMonth => d,
        F::DayOfWeek => (days + 4).rem_euclid(7),
        F::DayOfYear => CUM[(m - 1) as usize] + d + i64::from(leap && m > 2),
        F::DaysInMonth => match m {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        },
        F::Hour => sod / 3600,
        F::Minute => (sod % 3600) / 60,
        F::Month => m,
        _ => y,
    };
    v as f64
}

/// Series helper used by tests and the log evaluator.
#[allow(dead_code)]
pub(crate) fn series(labels: Labels, points: Vec<(i64, f64)>) -> Series {
    Series { labels, points }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_parts() {
        // 2024-02-29T13:45:00Z
        let t = 1_709_214_300.0;
        assert_eq!(date_part(F::Year, t), 2024.0);
        assert_eq!(date_part(F::Month, t), 2.0);
        assert_eq!(date_part(F::DayOfMonth, t), 29.0);
        assert_eq!(date_part(F::DaysInMonth, t), 29.0);
        assert_eq!(date_part(F::DayOfYear, t), 60.0);
        assert_eq!(date_part(F::DayOfWeek, t), 4.0);
        assert_eq!(date_part(F::Hour, t), 13.0);
        assert_eq!(date_part(F::Minute, t), 45.0);
    }

    #[test]
    fn quantiles() {
        assert_eq!(quantile(0.5, &mut [1.0, 3.0, 2.0]), 2.0);
        assert_eq!(quantile(0.25, &mut [1.0, 2.0, 3.0, 4.0, 5.0]), 2.0);
        assert_eq!(quantile(2.0, &mut [1.0]), f64::INFINITY);
        let b = vec![(0.1, 10.0), (0.5, 50.0), (f64::INFINITY, 100.0)];
        assert!((bucket_quantile(0.5, b.clone()) - 0.5).abs() < 1e-12);
        assert!((bucket_quantile(0.25, b) - 0.25).abs() < 1e-12);
    }
}
