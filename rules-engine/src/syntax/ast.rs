//! The expression tree shared by PromQL-style metric expressions and LogQL-style log
//! expressions. Parentheses are not kept: the printer re-inserts them where precedence needs.

use regex::Regex;

mod analysis;
mod log;
pub use log::*;

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A number literal (`1`, `-2.5e3`, `0x1f`, `Inf`, `NaN`).
    Number(f64),
    /// A string literal (`"abc"`, `'abc'`, `` `abc` ``).
    String(String),
    /// An instant vector selector: `name{matchers} offset 5m`.
    Vector(VectorSelector),
    /// A range vector selector: `name{matchers}[5m] offset 1m`.
    Matrix(MatrixSelector),
    /// A subquery `expr[range:step] offset d` (step 0 means the default evaluation step).
    Subquery(Subquery),
    /// `-expr` or `+expr` (a minus on a number literal is folded into the literal).
    Unary(UnaryOp, Box<Expr>),
    /// `lhs op [bool] [on(..)|ignoring(..)] [group_left(..)|group_right(..)] rhs`.
    Binary(Box<BinaryExpr>),
    /// A function call `f(args...)`.
    Call(Call),
    /// An aggregation `op [by|without (labels)] ([param,] expr)`.
    Aggregate(Box<Aggregate>),
    /// A log stream query: `{app="api"} |= "x" | json | status >= 500`.
    Log(LogSelector),
    /// A log range `{app="api"} |= "x" [5m] offset 1m`, the argument of a log range aggregation.
    LogRange(LogRange),
}

/// Whether an expression is computed from metrics or from logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExprKind {
    /// Only metric selectors (or none): a PromQL expression.
    Metric,
    /// A metric-valued expression that reads log streams (e.g. `count_over_time({..} |= "x" [5m])`).
    Log,
    /// A bare log stream query (a list of lines, not a metric: not valid as a rule expression).
    LogStream,
}

/// The type of value an expression evaluates to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// A single number.
    Scalar,
    /// A set of series with one sample each.
    Vector,
    /// A set of series with a range of samples each.
    Matrix,
    /// A string.
    String,
    /// Log lines.
    Streams,
}

impl std::fmt::Display for ValueType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ValueType::Scalar => "scalar",
            ValueType::Vector => "instant vector",
            ValueType::Matrix => "range vector",
            ValueType::String => "string",
            ValueType::Streams => "log stream",
        })
    }
}

/// A label matcher operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~` (anchored)
    Regex,
    /// `!~` (anchored)
    NotRegex,
}

impl MatchOp {
    /// The operator's token.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// One label matcher `name op "value"`; regex matchers carry their compiled, anchored regex.
#[derive(Clone, Debug)]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// Operator.
    pub op: MatchOp,
    /// The literal value or regex source.
    pub value: String,
    /// Compiled `^(?:value)$` for regex matchers.
    pub regex: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Matcher {
    /// Builds a matcher, compiling the regex for `=~`/`!~`.
    pub fn new(name: &str, op: MatchOp, value: &str) -> Result<Matcher, regex::Error> {
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(Regex::new(&format!("^(?s:{value})$"))?),
            _ => None,
        };
        Ok(Matcher {
            name: name.to_string(),
            op,
            value: value.to_string(),
            regex,
        })
    }

    /// Does a label value (empty when the label is absent) satisfy this matcher?
    pub fn matches(&self, v: &str) -> bool {
        match self.op {
            MatchOp::Equal => v == self.value,
            MatchOp::NotEqual => v != self.value,
            MatchOp::Regex => self.regex.as_ref().is_some_and(|r| r.is_match(v)),
            MatchOp::NotRegex => !self.regex.as_ref().is_some_and(|r| r.is_match(v)),
        }
    }

    /// True when the matcher matches the empty string (so it also selects series without the
    /// label).
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }
}

/// `name{matchers} offset d`.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorSelector {
    /// The metric name written before the braces, if any.
    pub name: Option<String>,
    /// Matchers written in braces (a `__name__` matcher stays here).
    pub matchers: Vec<Matcher>,
    /// Offset in milliseconds (0 = none; negative looks into the future).
    pub offset_ms: i64,
    /// The `@` modifier, if any.
    pub at: Option<AtModifier>,
}

/// The `@` modifier: evaluate a selector or subquery at a fixed time (`@ 1700000000`) or at the
/// start or end of the query (`@ start()`, `@ end()`: the evaluation time for rules and instant
/// queries) instead of the evaluation time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtModifier {
    /// A Unix time in milliseconds.
    Time(i64),
    /// `start()`.
    Start,
    /// `end()`.
    End,
}

impl AtModifier {
    /// The time (ms) the modified expression is evaluated at, given the evaluation time `t`.
    pub fn resolve(self, t: i64) -> i64 {
        match self {
            AtModifier::Time(ms) => ms,
            AtModifier::Start | AtModifier::End => t,
        }
    }
}

/// The reference time of a selector or subquery evaluated at `t`: `@` then `offset` applied.
fn ref_time(at: Option<AtModifier>, offset_ms: i64, t: i64) -> i64 {
    at.map_or(t, |a| a.resolve(t)) - offset_ms
}

impl VectorSelector {
    /// The time this selector reads at when evaluated at `t` (`@` and `offset` applied).
    pub fn ref_time(&self, t: i64) -> i64 {
        ref_time(self.at, self.offset_ms, t)
    }

    /// The one metric name every selected series has: the name before the braces or a
    /// `__name__="..."` matcher (`None` when series with different names can match).
    pub fn fixed_metric_name(&self) -> Option<&str> {
        if let Some(n) = &self.name {
            return Some(n);
        }
        self.matchers
            .iter()
            .find(|m| {
                m.name == crate::input::METRIC_NAME && m.op == MatchOp::Equal && !m.value.is_empty()
            })
            .map(|m| m.value.as_str())
    }

    /// All matchers including the one implied by the metric name.
    pub fn all_matchers(&self) -> impl Iterator<Item = std::borrow::Cow<'_, Matcher>> {
        let name = self.name.as_ref().map(|n| {
            std::borrow::Cow::Owned(Matcher {
                name: crate::input::METRIC_NAME.to_string(),
                op: MatchOp::Equal,
                value: n.clone(),
                regex: None,
            })
        });
        name.into_iter()
            .chain(self.matchers.iter().map(std::borrow::Cow::Borrowed))
    }
}

/// `selector[range]`; the offset lives in the inner selector.
#[derive(Clone, Debug, PartialEq)]
pub struct MatrixSelector {
    /// The selector.
    pub selector: VectorSelector,
    /// The range in milliseconds.
    pub range_ms: i64,
}

/// `expr[range:step] offset d`.
#[derive(Clone, Debug, PartialEq)]
pub struct Subquery {
    /// The inner expression (an instant vector).
    pub expr: Box<Expr>,
    /// The range in milliseconds.
    pub range_ms: i64,
    /// The resolution in milliseconds (0: the default, 1 m here).
    pub step_ms: i64,
    /// Offset in milliseconds.
    pub offset_ms: i64,
    /// The `@` modifier, if any.
    pub at: Option<AtModifier>,
}

impl Subquery {
    /// The end of the subquery's range when evaluated at `t` (`@` and `offset` applied).
    pub fn ref_time(&self, t: i64) -> i64 {
        ref_time(self.at, self.offset_ms, t)
    }
}

/// `-` or `+`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-`
    Neg,
    /// `+`
    Pos,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^`
    Pow,
    /// `atan2`
    Atan2,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `<`
    Lt,
    /// `>=`
    Ge,
    /// `<=`
    Le,
    /// `and`
    And,
    /// `or`
    Or,
    /// `unless`
    Unless,
}

impl BinOp {
    /// The operator's token.
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Pow => "^",
            BinOp::Atan2 => "atan2",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Gt => ">",
            BinOp::Lt => "<",
            BinOp::Ge => ">=",
            BinOp::Le => "<=",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Unless => "unless",
        }
    }

    /// Binding strength: higher binds tighter (`or` 1 … `^` 6).
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And | BinOp::Unless => 2,
            BinOp::Eq | BinOp::Ne | BinOp::Gt | BinOp::Lt | BinOp::Ge | BinOp::Le => 3,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Mul | BinOp::Div | BinOp::Mod | BinOp::Atan2 => 5,
            BinOp::Pow => 6,
        }
    }

    /// True for `==`, `!=`, `>`, `<`, `>=`, `<=`.
    pub fn is_comparison(self) -> bool {
        self.precedence() == 3
    }

    /// True for `and`, `or`, `unless`.
    pub fn is_set(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or | BinOp::Unless)
    }

    /// True for `^` (the only right-associative operator).
    pub fn is_right_assoc(self) -> bool {
        self == BinOp::Pow
    }
}

/// Which side may have many series per match group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cardinality {
    /// One-to-one (no group modifier).
    OneToOne,
    /// `group_left(labels)`: many on the left.
    ManyToOne(Vec<String>),
    /// `group_right(labels)`: many on the right.
    OneToMany(Vec<String>),
}

/// `on(labels)` / `ignoring(labels)` and the group modifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VectorMatching {
    /// `on` (true) or `ignoring` (false).
    pub on: bool,
    /// The listed labels.
    pub labels: Vec<String>,
    /// The group modifier.
    pub card: Cardinality,
}

/// A binary expression.
#[derive(Clone, Debug, PartialEq)]
pub struct BinaryExpr {
    /// Operator.
    pub op: BinOp,
    /// Left operand.
    pub lhs: Expr,
    /// Right operand.
    pub rhs: Expr,
    /// The `bool` modifier of comparisons.
    pub return_bool: bool,
    /// Vector matching, when written.
    pub matching: Option<VectorMatching>,
}

/// A function call.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The function.
    pub func: super::functions::Function,
    /// Arguments.
    pub args: Vec<Expr>,
}

/// Aggregation operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AggOp {
    /// `sum`
    Sum,
    /// `avg`
    Avg,
    /// `min`
    Min,
    /// `max`
    Max,
    /// `count`
    Count,
    /// `stddev`
    Stddev,
    /// `stdvar`
    Stdvar,
    /// `group`
    Group,
    /// `topk`
    Topk,
    /// `bottomk`
    Bottomk,
    /// `quantile`
    Quantile,
    /// `count_values`
    CountValues,
}

impl AggOp {
    /// All operators.
    pub const ALL: [AggOp; 12] = [
        AggOp::Sum,
        AggOp::Avg,
        AggOp::Min,
        AggOp::Max,
        AggOp::Count,
        AggOp::Stddev,
        AggOp::Stdvar,
        AggOp::Group,
        AggOp::Topk,
        AggOp::Bottomk,
        AggOp::Quantile,
        AggOp::CountValues,
    ];

    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            AggOp::Sum => "sum",
            AggOp::Avg => "avg",
            AggOp::Min => "min",
            AggOp::Max => "max",
            AggOp::Count => "count",
            AggOp::Stddev => "stddev",
            AggOp::Stdvar => "stdvar",
            AggOp::Group => "group",
            AggOp::Topk => "topk",
            AggOp::Bottomk => "bottomk",
            AggOp::Quantile => "quantile",
            AggOp::CountValues => "count_values",
        }
    }

    /// Looks an operator up by keyword.
    pub fn from_name(s: &str) -> Option<AggOp> {
        AggOp::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// True when the operator takes a parameter before the expression.
    pub fn has_param(self) -> bool {
        matches!(
            self,
            AggOp::Topk | AggOp::Bottomk | AggOp::Quantile | AggOp::CountValues
        )
    }
}

/// `by (labels)` or `without (labels)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grouping {
    /// `without` (true) or `by` (false).
    pub without: bool,
    /// The labels.
    pub labels: Vec<String>,
}

/// An aggregation.
#[derive(Clone, Debug, PartialEq)]
pub struct Aggregate {
    /// Operator.
    pub op: AggOp,
    /// The aggregated expression.
    pub expr: Expr,
    /// The parameter of topk/bottomk/quantile/count_values.
    pub param: Option<Expr>,
    /// The grouping clause, if written.
    pub grouping: Option<Grouping>,
}
