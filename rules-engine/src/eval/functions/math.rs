//! Element-wise math (`abs`, `exp`, `sqrt`, `ln`, trigonometry, `deg`, `rad`, `sgn`, …) and
//! `histogram_quantile` with Prometheus' bucket interpolation.

use crate::eval::Sample;
use crate::input::{Labels, METRIC_NAME};
use crate::syntax::Function as F;

/// The element-wise function of `f`, if it is one.
pub(super) fn elementwise(f: F) -> Option<fn(f64) -> f64> {
    Some(match f {
        F::Abs => f64::abs,
        F::Ceil => f64::ceil,
        F::Floor => f64::floor,
        F::Exp => f64::exp,
        F::Sqrt => f64::sqrt,
        F::Ln => f64::ln,
        F::Log2 => f64::log2,
        F::Log10 => f64::log10,
        F::Sin => f64::sin,
        F::Cos => f64::cos,
        F::Tan => f64::tan,
        F::Asin => f64::asin,
        F::Acos => f64::acos,
        F::Atan => f64::atan,
        F::Sinh => f64::sinh,
        F::Cosh => f64::cosh,
        F::Tanh => f64::tanh,
        F::Asinh => f64::asinh,
        F::Acosh => f64::acosh,
        F::Atanh => f64::atanh,
        F::Deg => |x: f64| x * 180.0 / std::f64::consts::PI,
        F::Rad => |x: f64| x * std::f64::consts::PI / 180.0,
        F::Sgn => |x: f64| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x
            }
        },
        _ => return None,
    })
}

pub(super) fn histogram_quantile(q: f64, v: Vec<Sample>) -> Vec<Sample> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_quantiles() {
        let b = vec![(0.1, 10.0), (0.5, 50.0), (f64::INFINITY, 100.0)];
        assert!((bucket_quantile(0.5, b.clone()) - 0.5).abs() < 1e-12);
        assert!((bucket_quantile(0.25, b) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn trigonometry() {
        let deg = elementwise(F::Deg).unwrap();
        assert_eq!(deg(std::f64::consts::PI), 180.0);
        assert_eq!(elementwise(F::Rad).unwrap()(180.0), std::f64::consts::PI);
        assert!(elementwise(F::Rate).is_none());
    }
}
