//! The checks Prometheus makes of a parsed binary expression (operand types, modifiers), in its
//! order and at its positions.

use super::*;

/// Prometheus' type checks of a binary expression: operator-level problems point at the operator
/// (`pos`), whole-expression ones at its start (`start`), as Prometheus reports them.
pub(super) fn check_binary<'a>(b: &BinaryExpr, pos: &'a str, start: &'a str) -> Res<'a, ()> {
    let (lt, rt) = (b.lhs.value_type(), b.rhs.value_type());
    for t in [lt, rt] {
        if t != ValueType::Scalar && t != ValueType::Vector {
            return fail(
                pos,
                format!(
                    "binary expression must contain only scalar and instant vector types, got {t}"
                ),
            );
        }
    }
    let both_scalar = lt == ValueType::Scalar && rt == ValueType::Scalar;
    if b.op.is_comparison() && both_scalar && !b.return_bool {
        return fail(pos, "comparisons between scalars must use BOOL modifier");
    }
    if let Some(m) = &b.matching
        && let Cardinality::ManyToOne(extra) | Cardinality::OneToMany(extra) = &m.card
        && m.on
        && let Some(l) = extra.iter().find(|l| m.labels.contains(l))
    {
        return fail(
            pos,
            format!("label \"{l}\" must not occur in ON and GROUP clause at once"),
        );
    }
    // Then, in Prometheus' order (its checkAST): vector matching with a scalar side, grouping
    // of a set operation (both checked once the whole expression is parsed, at the
    // expression's start), then a set operation on a scalar.
    if b.matching.is_some() && (lt == ValueType::Scalar || rt == ValueType::Scalar) {
        return fail(
            start,
            "vector matching only allowed between instant vectors",
        );
    }
    if b.op.is_set()
        && let Some(m) = &b.matching
        && m.card != Cardinality::OneToOne
    {
        return fail(
            start,
            format!("no grouping allowed for \"{}\" operation", b.op.as_str()),
        );
    }
    if b.op.is_set() && (lt == ValueType::Scalar || rt == ValueType::Scalar) {
        return fail(
            start,
            format!(
                "set operator \"{}\" not allowed in binary scalar expression",
                b.op.as_str()
            ),
        );
    }
    Ok((pos, ()))
}
