//! Function calls: range functions (`rate`, `*_over_time`, …), element-wise math, label
//! manipulation, `absent*`, `histogram_quantile`, time functions.

mod math;
mod range;
mod time;

use regex::Regex;

use super::{Ctx, EvalError, Sample, Series, Value, check_unique, go_max, go_min};
use crate::input::{Labels, METRIC_NAME};
use crate::syntax::{Call, Expr, Function as F, MatchOp};
pub(crate) use math::parse_go_float;
use range::range_function;
pub(crate) use range::{quantile, variance};

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
            Ok(Value::Vector(math::histogram_quantile(q, v)))
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
            map_values(v, move |x| time::date_part(f, x))
        }
        F::Pi => Ok(Value::Scalar(std::f64::consts::PI)),
        _ => {
            let Some(g) = math::elementwise(f) else {
                return Err(EvalError::Unsupported(format!("function {}", f.name())));
            };
            let v = ctx.eval_vector(&c.args[0])?;
            map_values(v, g)
        }
    }
}

pub(super) fn drop_names(mut v: Vec<Sample>) -> Vec<Sample> {
    for s in &mut v {
        s.labels = s.labels.without_metric_name();
    }
    v
}

pub(super) fn finish(v: Vec<Sample>) -> Result<Value, EvalError> {
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

/// Series helper used by tests and the log evaluator.
#[allow(dead_code)]
pub(crate) fn series(labels: Labels, points: Vec<(i64, f64)>) -> Series {
    Series { labels, points }
}
