//! Aggregation operators (`sum`, `avg`, `topk`, `count_values`, …) with `by` / `without`.

use super::functions::{quantile, variance};
use super::{Ctx, EvalError, Sample, Value};
use crate::input::{FxHashMap, Labels, METRIC_NAME};
use crate::syntax::{AggOp, Aggregate, Grouping};

/// The output labels of a group for `by` / `without` (and no clause: no labels).
pub(crate) fn group_labels(l: &Labels, g: Option<&Grouping>) -> Labels {
    match g {
        None => Labels::empty(),
        Some(g) if g.without => {
            l.filtered(|n| n != METRIC_NAME && !g.labels.iter().any(|x| x == n))
        }
        Some(g) => l.filtered(|n| g.labels.iter().any(|x| x == n)),
    }
}

/// Whether label `name` is kept in the group labels for `by` / `without`.
fn kept(name: &str, g: Option<&Grouping>) -> bool {
    match g {
        None => false,
        Some(g) if g.without => name != METRIC_NAME && !g.labels.iter().any(|x| x == name),
        Some(g) => g.labels.iter().any(|x| x == name),
    }
}

/// Hash of the pairs [`group_labels`] would keep (no allocation).
fn group_hash(l: &Labels, g: Option<&Grouping>) -> u64 {
    use std::hash::Hasher;
    let mut h = crate::input::FxHasher::default();
    for (k, v) in l.iter().filter(|(k, _)| kept(k, g)) {
        h.write(k.as_bytes());
        h.write_u8(0xff);
        h.write(v.as_bytes());
        h.write_u8(0xfe);
    }
    h.finish()
}

/// Whether `l` belongs to the group labelled `gl`.
fn same_group(gl: &Labels, l: &Labels, g: Option<&Grouping>) -> bool {
    gl.iter().eq(l.iter().filter(|(k, _)| kept(k, g)))
}

struct Group {
    labels: Labels,
    /// input indexes (operators that need all values)
    members: Vec<usize>,
    /// next group with the same hash
    next: Option<usize>,
    /// values seen (streaming operators)
    n: f64,
    /// running result (streaming operators)
    acc: f64,
}

pub(crate) fn eval_aggregate(ctx: &Ctx<'_>, a: &Aggregate) -> Result<Value, EvalError> {
    let v = ctx.eval_vector(&a.expr)?;
    let g = a.grouping.as_ref();
    if a.op == AggOp::CountValues {
        let Some(p) = &a.param else {
            return Err(EvalError::Invalid("count_values needs a label name".into()));
        };
        let label = ctx.eval_string(p)?;
        if !valid_label(&label) {
            return Err(EvalError::Invalid(format!("invalid label name {label:?}")));
        }
        let mut counts: FxHashMap<Labels, f64> = FxHashMap::default();
        let mut order = Vec::new();
        for s in &v {
            let l = group_labels(&s.labels, g).with(&label, &format_go_float(s.value));
            let c = counts.entry(l.clone()).or_insert_with(|| {
                order.push(l);
                0.0
            });
            *c += 1.0;
        }
        return Ok(Value::Vector(
            order
                .into_iter()
                .map(|l| {
                    let value = counts.get(&l).copied().unwrap_or(0.0);
                    Sample { labels: l, value }
                })
                .collect(),
        ));
    }
    let param = match (&a.param, a.op) {
        (Some(p), AggOp::Topk | AggOp::Bottomk | AggOp::Quantile) => Some(ctx.eval_scalar(p)?),
        _ => None,
    };
    // group the input: hash the kept pairs in place, allocate labels once per group; the
    // simple operators accumulate as they go (in input order, like Prometheus), the others
    // collect their members
    let streaming = matches!(
        a.op,
        AggOp::Sum | AggOp::Avg | AggOp::Count | AggOp::Group | AggOp::Min | AggOp::Max
    );
    let mut groups: Vec<Group> = Vec::new();
    // hash → first group with it; `Group::next` chains groups with the same hash
    let mut index: FxHashMap<u64, usize> = FxHashMap::default();
    index.reserve(v.len().min(64));
    for (i, s) in v.iter().enumerate() {
        let key = group_hash(&s.labels, g);
        let mut found = None;
        let mut cur = index.get(&key).copied();
        let mut last = None;
        while let Some(gi) = cur {
            if same_group(&groups[gi].labels, &s.labels, g) {
                found = Some(gi);
                break;
            }
            last = Some(gi);
            cur = groups[gi].next;
        }
        let gi = match found {
            Some(gi) => gi,
            None => {
                let gi = groups.len();
                groups.push(Group {
                    labels: group_labels(&s.labels, g),
                    members: Vec::new(),
                    next: None,
                    n: 0.0,
                    acc: 0.0,
                });
                match last {
                    Some(l) => groups[l].next = Some(gi),
                    None => {
                        index.insert(key, gi);
                    }
                }
                gi
            }
        };
        let grp = &mut groups[gi];
        if streaming {
            accumulate(a.op, grp, s.value);
        } else {
            grp.members.push(i);
        }
    }
    let mut out = Vec::with_capacity(groups.len());
    for grp in groups {
        let vals = || grp.members.iter().map(|&i| v[i].value);
        let value = match a.op {
            AggOp::Sum | AggOp::Avg | AggOp::Min | AggOp::Max => grp.acc,
            AggOp::Count => grp.n,
            AggOp::Group => 1.0,
            AggOp::Stddev => variance(vals()).sqrt(),
            AggOp::Stdvar => variance(vals()),
            AggOp::Quantile => {
                let mut xs: Vec<f64> = vals().collect();
                quantile(param.unwrap_or(f64::NAN), &mut xs)
            }
            AggOp::Topk | AggOp::Bottomk => {
                let k = param.unwrap_or(0.0);
                if k.is_nan() || k < 1.0 {
                    continue;
                }
                let k = if k >= grp.members.len() as f64 {
                    grp.members.len()
                } else {
                    k as usize
                };
                let mut m = grp.members.clone();
                let top = a.op == AggOp::Topk;
                m.sort_by(|&x, &y| {
                    let (a, b) = (v[x].value, v[y].value);
                    // NaN ranks last for both topk and bottomk
                    match (a.is_nan(), b.is_nan()) {
                        (true, true) => std::cmp::Ordering::Equal,
                        (true, false) => std::cmp::Ordering::Greater,
                        (false, true) => std::cmp::Ordering::Less,
                        _ if top => b.partial_cmp(&a).unwrap_or(std::cmp::Ordering::Equal),
                        _ => a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal),
                    }
                });
                for &i in &m[..k] {
                    out.push(v[i].clone());
                }
                continue;
            }
            AggOp::CountValues => unreachable_count_values(),
        };
        out.push(Sample {
            labels: grp.labels,
            value,
        });
    }
    Ok(Value::Vector(out))
}

/// Adds `x` to a group of a streaming operator (`n`: values seen so far, `acc`: the running
/// sum / mean / min / max), with the arithmetic of the member-list version it replaces.
fn accumulate(op: AggOp, grp: &mut Group, x: f64) {
    grp.n += 1.0;
    let n = grp.n;
    match op {
        AggOp::Sum => {
            grp.acc = if n == 1.0 { x } else { grp.acc + x };
        }
        AggOp::Avg => {
            let mean = grp.acc;
            if n == 1.0 {
                grp.acc = x;
                return;
            }
            if f64::is_infinite(mean) {
                if x.is_infinite() && (mean > 0.0) == (x > 0.0) {
                    return;
                }
                if !x.is_infinite() && !x.is_nan() {
                    return;
                }
            }
            grp.acc = mean + (x / n - mean / n);
        }
        AggOp::Min => {
            let m = if n == 1.0 { f64::NAN } else { grp.acc };
            grp.acc = if x < m || m.is_nan() { x } else { m };
        }
        AggOp::Max => {
            let m = if n == 1.0 { f64::NAN } else { grp.acc };
            grp.acc = if x > m || m.is_nan() { x } else { m };
        }
        _ => {}
    }
}

fn unreachable_count_values() -> f64 {
    // handled above; keep the match exhaustive without panicking
    f64::NAN
}

fn valid_label(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|x| x.is_ascii_alphabetic() || x == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: shortest decimal without exponent.
pub(crate) fn format_go_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}
