//! Binary operators: arithmetic, comparisons (with `bool`), set operators, and vector matching
//! (`on`/`ignoring`, `group_left`/`group_right`).

use super::{Ctx, EvalError, Sample, Value};
use crate::input::{FxHashMap, Labels, METRIC_NAME};
use crate::syntax::{BinOp, BinaryExpr, Cardinality, VectorMatching};

pub(crate) fn eval_binary(ctx: &Ctx<'_>, b: &BinaryExpr) -> Result<Value, EvalError> {
    let l = ctx.eval(&b.lhs)?;
    let r = ctx.eval(&b.rhs)?;
    match (l, r) {
        (Value::Scalar(x), Value::Scalar(y)) => {
            let (v, keep) = elem_op(b.op, x, y);
            Ok(Value::Scalar(if b.op.is_comparison() {
                f64::from(u8::from(keep))
            } else {
                v
            }))
        }
        (Value::Vector(v), Value::Scalar(s)) => Ok(Value::Vector(vector_scalar(b, v, s, false))),
        (Value::Scalar(s), Value::Vector(v)) => Ok(Value::Vector(vector_scalar(b, v, s, true))),
        (Value::Vector(l), Value::Vector(r)) => {
            let default = VectorMatching {
                on: false,
                labels: Vec::new(),
                card: Cardinality::OneToOne,
            };
            let m = b.matching.as_ref().unwrap_or(&default);
            match b.op {
                BinOp::And => Ok(Value::Vector(and_unless(l, r, m, true))),
                BinOp::Unless => Ok(Value::Vector(and_unless(l, r, m, false))),
                BinOp::Or => Ok(Value::Vector(or(l, r, m))),
                _ => vector_vector(b, l, r, m).map(Value::Vector),
            }
        }
        (l, r) => Err(EvalError::Invalid(format!(
            "binary operator {} not defined between {} and {}",
            b.op.as_str(),
            super::type_name(&l),
            super::type_name(&r)
        ))),
    }
}

/// Go `vectorElemBinop`: the value and, for comparisons, whether the pair is kept.
fn elem_op(op: BinOp, x: f64, y: f64) -> (f64, bool) {
    match op {
        BinOp::Add => (x + y, true),
        BinOp::Sub => (x - y, true),
        BinOp::Mul => (x * y, true),
        BinOp::Div => (x / y, true),
        BinOp::Pow => (x.powf(y), true),
        BinOp::Mod => (x % y, true),
        BinOp::Atan2 => (x.atan2(y), true),
        BinOp::Eq => (x, x == y),
        BinOp::Ne => (x, x != y),
        BinOp::Gt => (x, x > y),
        BinOp::Lt => (x, x < y),
        BinOp::Ge => (x, x >= y),
        BinOp::Le => (x, x <= y),
        BinOp::And | BinOp::Or | BinOp::Unless => (f64::NAN, false),
    }
}

fn drops_name(op: BinOp) -> bool {
    matches!(
        op,
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Pow | BinOp::Mod
    )
}

fn vector_scalar(b: &BinaryExpr, v: Vec<Sample>, s: f64, scalar_left: bool) -> Vec<Sample> {
    let mut out = Vec::with_capacity(v.len());
    for mut smp in v {
        let (lv, rv) = if scalar_left {
            (s, smp.value)
        } else {
            (smp.value, s)
        };
        let (mut value, mut keep) = elem_op(b.op, lv, rv);
        if b.op.is_comparison() && scalar_left {
            value = rv;
        }
        if b.return_bool {
            value = f64::from(u8::from(keep));
            keep = true;
        }
        if keep {
            smp.value = value;
            if drops_name(b.op) || b.return_bool {
                smp.labels = smp.labels.without_metric_name();
            }
            out.push(smp);
        }
    }
    out
}

/// The matching signature of a series: `on` labels, or all but `ignoring` labels and the name.
fn signature(l: &Labels, m: &VectorMatching) -> Labels {
    if m.on {
        l.filtered(|n| m.labels.iter().any(|x| x == n))
    } else {
        l.filtered(|n| n != METRIC_NAME && !m.labels.iter().any(|x| x == n))
    }
}

fn and_unless(l: Vec<Sample>, r: Vec<Sample>, m: &VectorMatching, and: bool) -> Vec<Sample> {
    let mut sigs: FxHashMap<Labels, ()> = FxHashMap::default();
    for s in &r {
        sigs.insert(signature(&s.labels, m), ());
    }
    l.into_iter()
        .filter(|s| sigs.contains_key(&signature(&s.labels, m)) == and)
        .collect()
}

fn or(l: Vec<Sample>, r: Vec<Sample>, m: &VectorMatching) -> Vec<Sample> {
    let mut sigs: FxHashMap<Labels, ()> = FxHashMap::default();
    for s in &l {
        sigs.insert(signature(&s.labels, m), ());
    }
    let mut out = l;
    for s in r {
        if !sigs.contains_key(&signature(&s.labels, m)) {
            out.push(s);
        }
    }
    out
}

fn vector_vector(
    b: &BinaryExpr,
    lhs: Vec<Sample>,
    rhs: Vec<Sample>,
    m: &VectorMatching,
) -> Result<Vec<Sample>, EvalError> {
    let one_to_many = matches!(m.card, Cardinality::OneToMany(_));
    let (many, one) = if one_to_many { (rhs, lhs) } else { (lhs, rhs) };
    let mut one_sigs: FxHashMap<Labels, usize> = FxHashMap::default();
    for (i, s) in one.iter().enumerate() {
        let sig = signature(&s.labels, m);
        if let Some(&j) = one_sigs.get(&sig) {
            let side = if one_to_many { "left" } else { "right" };
            // Prometheus' `MatchLabels`: the signature's labels (no name unless `on` names
            // it), then this series and the earlier one with the same signature
            return Err(EvalError::Matching(format!(
                "found duplicate series for the match group {sig} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                s.labels, one[j].labels
            )));
        }
        one_sigs.insert(sig, i);
    }
    let include: &[String] = match &m.card {
        Cardinality::ManyToOne(l) | Cardinality::OneToMany(l) => l,
        Cardinality::OneToOne => &[],
    };
    let mut matched: FxHashMap<Labels, Vec<Labels>> = FxHashMap::default();
    let mut out = Vec::new();
    for ls in many {
        let sig = signature(&ls.labels, m);
        let Some(&ri) = one_sigs.get(&sig) else {
            continue;
        };
        let rs = &one[ri];
        let (vl, vr) = if one_to_many {
            (rs.value, ls.value)
        } else {
            (ls.value, rs.value)
        };
        let (mut value, keep) = elem_op(b.op, vl, vr);
        if b.return_bool {
            value = f64::from(u8::from(keep));
        } else if !keep {
            continue;
        }
        let metric = result_metric(&ls.labels, &rs.labels, b, m, include);
        let entry = matched.entry(sig).or_default();
        if m.card == Cardinality::OneToOne {
            if !entry.is_empty() {
                return Err(EvalError::Matching(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into(),
                ));
            }
        } else if entry.contains(&metric) {
            return Err(EvalError::Matching(
                "multiple matches for labels: grouping labels must ensure unique matches".into(),
            ));
        }
        entry.push(metric.clone());
        out.push(Sample {
            labels: metric,
            value,
        });
    }
    Ok(out)
}

fn result_metric(
    many: &Labels,
    one: &Labels,
    b: &BinaryExpr,
    m: &VectorMatching,
    include: &[String],
) -> Labels {
    let drop_name = drops_name(b.op) || b.return_bool;
    let mut l = if m.card == Cardinality::OneToOne {
        if m.on {
            many.filtered(|n| m.labels.iter().any(|x| x == n) && !(drop_name && n == METRIC_NAME))
        } else {
            many.filtered(|n| !(m.labels.iter().any(|x| x == n) || (drop_name && n == METRIC_NAME)))
        }
    } else if drop_name {
        many.without_metric_name()
    } else {
        many.clone()
    };
    for n in include {
        l = match one.get(n) {
            Some(v) => l.with(n, v),
            None => l.without(n),
        };
    }
    l
}
