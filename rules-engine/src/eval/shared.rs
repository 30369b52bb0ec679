//! Results of subexpressions shared between rules evaluated at the same time over a store that
//! does not change in between for what they read.
//!
//! Rule files often repeat an expression with different thresholds (`rate(x[5m]) > 1` and
//! `rate(x[5m]) > 5`) or in several recording rules. The engine evaluates a group (or a run of
//! independent groups) with a [`SharedResults`] when no rule of it reads what an earlier one
//! writes: then a subexpression evaluated at time `t` has the same value for every rule, and
//! the first evaluation is reused. Only range functions over a plain range selector
//! (`rate(x[5m])`) and parameterless aggregations of them (`sum by (job) (rate(x[5m]))`) are
//! shared: they are the expensive nodes, and they consume no subquery budget.

use std::cell::RefCell;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

use super::Sample;
use crate::input::{FxHashMap, FxHasher};
use crate::syntax::{AggOp, Expr, ValueType, VectorSelector};

/// One shared result: the node, its evaluation time, its value.
type Entry = (Expr, i64, Vec<Sample>);

/// Hashes of the shareable nodes that occur more than once in a rule set: only their results
/// are kept (a node that occurs once would only cost a copy).
pub(crate) type Repeated = Arc<HashSet<u64, BuildHasherDefault<FxHasher>>>;

/// The [`Repeated`] set of some expressions (each with all its subexpressions).
pub(crate) fn repeated_nodes<'a>(exprs: impl IntoIterator<Item = &'a Expr>) -> Repeated {
    let mut counts: FxHashMap<u64, u32> = FxHashMap::default();
    for e in exprs {
        e.walk(&mut |x| {
            if shareable(x) {
                *counts.entry(node_hash(x)).or_default() += 1;
            }
        });
    }
    Arc::new(
        counts
            .into_iter()
            .filter(|&(_, n)| n > 1)
            .map(|(h, _)| h)
            .collect(),
    )
}

/// Shared subexpression results (one evaluation time or several; keyed by time).
#[derive(Default)]
pub(crate) struct SharedResults {
    repeated: Repeated,
    map: RefCell<FxHashMap<u64, Vec<Entry>>>,
}

impl SharedResults {
    /// An empty set keeping the results of the `repeated` nodes.
    pub(crate) fn new(repeated: Repeated) -> Self {
        SharedResults {
            repeated,
            map: RefCell::default(),
        }
    }

    /// The result of `e` at `t`, computed by `f` the first time.
    pub(crate) fn get_or_eval<E>(
        &self,
        e: &Expr,
        t: i64,
        f: impl FnOnce() -> Result<Vec<Sample>, E>,
    ) -> Result<Vec<Sample>, E> {
        let node = node_hash(e);
        if !self.repeated.contains(&node) {
            return f();
        }
        let mut h = FxHasher::default();
        h.write_u64(node);
        h.write_i64(t);
        let key = h.finish();
        if let Some(list) = self.map.borrow().get(&key)
            && let Some((_, _, v)) = list.iter().find(|(x, xt, _)| *xt == t && x == e)
        {
            return Ok(v.clone());
        }
        let v = f()?;
        self.map
            .borrow_mut()
            .entry(key)
            .or_default()
            .push((e.clone(), t, v.clone()));
        Ok(v)
    }
}

/// Whether `e` is a node whose results are shared: a range function whose only argument is a
/// range selector, or an aggregation without parameter of such a node.
pub(crate) fn shareable(e: &Expr) -> bool {
    match e {
        Expr::Call(c) => {
            c.func.arg_types() == [ValueType::Matrix]
                && matches!(c.args.as_slice(), [Expr::Matrix(_)])
        }
        Expr::Aggregate(a) => {
            a.param.is_none()
                && !matches!(a.op, AggOp::CountValues | AggOp::Topk | AggOp::Bottomk)
                && shareable(&a.expr)
        }
        _ => false,
    }
}

fn hash_selector(vs: &VectorSelector, h: &mut FxHasher) {
    vs.name.hash(h);
    for m in &vs.matchers {
        m.name.hash(h);
        std::mem::discriminant(&m.op).hash(h);
        m.value.hash(h);
    }
    vs.offset_ms.hash(h);
}

fn node_hash(e: &Expr) -> u64 {
    let mut h = FxHasher::default();
    hash_expr(e, &mut h);
    h.finish()
}

/// A hash of the parts of a shareable node that tell nodes apart (equal nodes hash equally;
/// others may collide, which only costs a comparison).
fn hash_expr(e: &Expr, h: &mut FxHasher) {
    std::mem::discriminant(e).hash(h);
    match e {
        Expr::Call(c) => {
            c.func.hash(h);
            for a in &c.args {
                hash_expr(a, h);
            }
        }
        Expr::Aggregate(a) => {
            a.op.hash(h);
            if let Some(g) = &a.grouping {
                g.without.hash(h);
                g.labels.hash(h);
            }
            hash_expr(&a.expr, h);
        }
        Expr::Matrix(ms) => {
            ms.range_ms.hash(h);
            hash_selector(&ms.selector, h);
        }
        Expr::Vector(vs) => hash_selector(vs, h),
        _ => {}
    }
}
