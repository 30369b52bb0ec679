//! Range functions over a series' window: `rate`, `increase`, `delta`, `irate`, `idelta`,
//! `deriv`, `predict_linear`, `holt_winters`, `resets`, `changes`, `*_over_time`, with
//! Prometheus 2.42's arithmetic (extrapolation, Welford variance, quantile interpolation).

use super::{absent_labels, finish};
use crate::eval::{Ctx, EvalError, Sample, Value, logs};
use crate::syntax::{Call, Expr, Function as F};

pub(super) fn range_function(ctx: &Ctx<'_>, c: &Call) -> Result<Value, EvalError> {
    let f = c.func;
    let mut trend = f64::NAN;
    let (marg, param) = if f == F::QuantileOverTime {
        (&c.args[1], Some(ctx.eval_scalar(&c.args[0])?))
    } else if f == F::PredictLinear {
        (&c.args[0], Some(ctx.eval_scalar(&c.args[1])?))
    } else if f == F::HoltWinters {
        let (sf, tf) = (ctx.eval_scalar(&c.args[1])?, ctx.eval_scalar(&c.args[2])?);
        trend = tf;
        (&c.args[0], Some(sf))
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
        let range_end = ms.selector.ref_time(ctx.t);
        let range_start = range_end - ms.range_ms;
        let ids = ctx.store.select_cached(&ms.selector);
        let mut out = Vec::with_capacity(ids.len());
        let mut err = None;
        ctx.for_each_range_of(ms, &ids, |s, p| {
            match range_value(f, p, range_start, range_end, ctx.t, param, trend) {
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
        // the selected series are unique; with one metric name they stay unique when the
        // name is dropped (Prometheus' duplicate check cannot fail), so skip it
        if f == F::LastOverTime || ms.selector.fixed_metric_name().is_some() {
            return Ok(Value::Vector(out));
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
    let range_end = match marg {
        Expr::Matrix(ms) => ms.selector.ref_time(ctx.t),
        Expr::Subquery(sq) => sq.ref_time(ctx.t),
        _ => ctx.t,
    };
    let range_start = range_end - range_ms;
    let mut out = Vec::with_capacity(series.len());
    for s in series {
        let v = range_value(f, &s.points, range_start, range_end, ctx.t, param, trend)?;
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
    trend: f64,
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
        F::HoltWinters => {
            // checked per series, like Prometheus (no series, no error)
            let sf = param.unwrap_or(f64::NAN);
            for (what, short, v) in [("smoothing", "sf", sf), ("trend", "tf", trend)] {
                if v <= 0.0 || v >= 1.0 {
                    return Err(EvalError::Invalid(format!(
                        "invalid {what} factor. Expected: 0 < {short} < 1, got: {}",
                        crate::gofmt::fmt_f_prec(v, 6)
                    )));
                }
            }
            holt_winters(p, sf, trend)
        }
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

/// Prometheus 2.42's `holt_winters`: double exponential smoothing with smoothing factor `sf`
/// and trend factor `tf` (both checked to be in (0, 1)); no output below two points.
fn holt_winters(p: &[(i64, f64)], sf: f64, tf: f64) -> Option<f64> {
    if p.len() < 2 {
        return None;
    }
    let mut s1 = p[0].1;
    let mut b = p[1].1 - p[0].1;
    let mut s0 = s1;
    for (i, &(_, x)) in p.iter().enumerate().skip(1) {
        // trend from the previous smoothed values (none yet before the second point)
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        s0 = s1;
        s1 = sf * x + (1.0 - sf) * (s0 + b);
    }
    Some(s1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        assert_eq!(quantile(0.5, &mut [1.0, 3.0, 2.0]), 2.0);
        assert_eq!(quantile(0.25, &mut [1.0, 2.0, 3.0, 4.0, 5.0]), 2.0);
        assert_eq!(quantile(2.0, &mut [1.0]), f64::INFINITY);
    }
}
