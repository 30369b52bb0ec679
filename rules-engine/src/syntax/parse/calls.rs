//! Function calls and aggregations: argument lists, their type checks, and `by`/`without`
//! grouping.

use super::*;

pub(super) fn call<'a>(start: &'a str, func: Function, i: &'a str) -> Res<'a, Expr> {
    let (mut i, ()) = sym(i, "(")?;
    let mut args = Vec::new();
    let mut arg_pos = Vec::new();
    if let Ok((r, ())) = sym(i, ")") {
        i = r;
    } else {
        loop {
            arg_pos.push(ws(i));
            let (r, a) = cut_err(expr(i, 0))?;
            args.push(a);
            if let Ok((r2, ())) = sym(r, ",") {
                i = r2;
                continue;
            }
            match sym(r, ")") {
                Ok((r2, ())) => {
                    i = r2;
                    break;
                }
                Err(_) => return fail_expected(ws(r), &["\",\"", "\")\"", "operator"]),
            }
        }
    }
    let types = func.arg_types();
    let min = types.len() - func.optional_args();
    let max = if func.variadic() {
        usize::MAX
    } else {
        types.len()
    };
    if args.len() < min || args.len() > max {
        let want = if min == types.len() && max == types.len() {
            format!("{min}")
        } else if max == usize::MAX {
            format!("at least {min}")
        } else {
            format!("{min} to {max}")
        };
        return fail(
            start,
            format!(
                "expected {want} argument(s) in call to \"{}\", got {}",
                func.name(),
                args.len()
            ),
        );
    }
    for (k, a) in args.iter().enumerate() {
        let want = types[k.min(types.len() - 1)];
        let got = a.value_type();
        if want != got {
            return fail(
                arg_pos[k],
                format!(
                    "expected type {want} in call to function \"{}\", got {got}",
                    func.name()
                ),
            );
        }
        if func.log_only() && !matches!(a, Expr::LogRange(_)) {
            return fail(
                arg_pos[k],
                format!(
                    "\"{}\" needs a log range like {{app=\"x\"}} |= \"y\" [5m]",
                    func.name()
                ),
            );
        }
    }
    Ok((i, Expr::Call(Call { func, args })))
}

pub(super) fn aggregate<'a>(start: &'a str, op: AggOp, i: &'a str) -> Res<'a, Expr> {
    let mut i = i;
    let grouping_kw = |i: &'a str| -> Res<'a, Option<Grouping>> {
        for (kw, without) in [("by", false), ("without", true)] {
            if let Ok((r, ())) = keyword(i, kw) {
                let (r, labels) = label_list(r)?;
                return Ok((r, Some(Grouping { without, labels })));
            }
        }
        Ok((i, None))
    };
    let (r, mut grouping) = grouping_kw(i)?;
    i = r;
    let (r, ()) = cut_err(sym(i, "("))?;
    let param_pos = ws(r);
    let (r, first) = cut_err(expr(r, 0))?;
    let (r, param, e, e_pos) = if let Ok((r2, ())) = sym(r, ",") {
        let e_pos = ws(r2);
        let (r3, e) = cut_err(expr(r2, 0))?;
        (r3, Some(first), e, e_pos)
    } else {
        (r, None, first, param_pos)
    };
    let (r, ()) = match sym(r, ")") {
        Ok(x) => x,
        Err(_) => {
            let exp: &[&str] = if param.is_none() && op.has_param() {
                &["\",\""]
            } else {
                &["\")\"", "operator"]
            };
            return fail_expected(ws(r), exp);
        }
    };
    i = r;
    if grouping.is_none() {
        let (r, g) = grouping_kw(i)?;
        i = r;
        grouping = g;
    }
    if op.has_param() != param.is_some() {
        let msg = if op.has_param() {
            "wrong number of arguments for aggregate expression provided, expected 2, got 1"
                .to_string()
        } else {
            "wrong number of arguments for aggregate expression provided, expected 1, got 2"
                .to_string()
        };
        return fail(start, msg);
    }
    // Prometheus checks the aggregated expression before the parameter.
    if e.value_type() != ValueType::Vector {
        return fail(
            e_pos,
            format!(
                "expected type instant vector in aggregation expression, got {}",
                e.value_type()
            ),
        );
    }
    if let Some(p) = &param {
        let want = if op == AggOp::CountValues {
            ValueType::String
        } else {
            ValueType::Scalar
        };
        if p.value_type() != want {
            return fail(
                param_pos,
                format!(
                    "expected type {want} in aggregation parameter, got {}",
                    p.value_type()
                ),
            );
        }
    }
    Ok((
        i,
        Expr::Aggregate(Box::new(Aggregate {
            op,
            expr: e,
            param,
            grouping,
        })),
    ))
}
