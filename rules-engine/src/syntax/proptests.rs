//! Property test: printing any well-typed tree and parsing it back gives the same tree.

use proptest::prelude::*;

use super::*;

const METRICS: [&str; 5] = ["up", "http_requests_total", "a:b:c", "_x", "node_cpu"];
const LABELS: [&str; 6] = ["job", "instance", "le", "on", "by", "code_2"];

fn label() -> impl Strategy<Value = String> {
    prop::sample::select(&LABELS[..]).prop_map(str::to_string)
}

fn value_str() -> impl Strategy<Value = String> {
    prop::string::string_regex("[a-z0-9 \"\\\\\n\t\u{e9}.*+]{0,8}").unwrap()
}

fn regex_str() -> impl Strategy<Value = String> {
    prop::sample::select(&["a.*", "x|y", "[0-9]+", "", "\\d{2}", "(?i)err"][..])
        .prop_map(str::to_string)
}

fn matcher() -> impl Strategy<Value = Matcher> {
    (label(), 0..4u8, value_str(), regex_str()).prop_map(|(n, op, v, r)| match op {
        0 => Matcher::new(&n, MatchOp::Equal, &v).unwrap(),
        1 => Matcher::new(&n, MatchOp::NotEqual, &v).unwrap(),
        2 => Matcher::new(&n, MatchOp::Regex, &r).unwrap(),
        _ => Matcher::new(&n, MatchOp::NotRegex, &r).unwrap(),
    })
}

fn duration() -> impl Strategy<Value = i64> {
    prop_oneof![
        prop::sample::select(
            &[
                1000i64,
                60_000,
                300_000,
                5_400_000,
                86_400_000,
                604_800_000,
                250
            ][..]
        ),
        1i64..100_000_000_000,
    ]
}

fn offset() -> impl Strategy<Value = i64> {
    prop_oneof![3 => Just(0i64), 1 => duration(), 1 => duration().prop_map(|d| -d)]
}

fn vector_selector() -> impl Strategy<Value = VectorSelector> {
    (
        prop::option::of(prop::sample::select(&METRICS[..])),
        prop::collection::vec(matcher(), 0..3),
        offset(),
        at(),
    )
        .prop_map(|(name, mut matchers, offset_ms, at)| {
            if name.is_none() {
                // at least one matcher that does not match the empty string
                matchers.push(Matcher::new("job", MatchOp::Equal, "api").unwrap());
            }
            VectorSelector {
                name: name.map(str::to_string),
                matchers,
                offset_ms,
                at,
            }
        })
}

fn at() -> impl Strategy<Value = Option<AtModifier>> {
    prop_oneof![
        4 => Just(None),
        1 => Just(Some(AtModifier::Start)),
        1 => Just(Some(AtModifier::End)),
        2 => (-10_000_000_000_000i64..10_000_000_000_000).prop_map(|ms| Some(AtModifier::Time(ms))),
    ]
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::num::f64::NORMAL | prop::num::f64::ZERO | prop::num::f64::SUBNORMAL,
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        (0u32..1000).prop_map(f64::from),
    ]
}

fn scalar_leaf() -> BoxedStrategy<Expr> {
    prop_oneof![
        number().prop_map(Expr::Number),
        Just(Expr::Call(Call {
            func: Function::Time,
            args: vec![],
        })),
    ]
    .boxed()
}

fn vector_leaf() -> BoxedStrategy<Expr> {
    vector_selector().prop_map(Expr::Vector).boxed()
}

fn matrix() -> BoxedStrategy<Expr> {
    prop_oneof![
        (vector_selector(), duration())
            .prop_map(|(selector, range_ms)| Expr::Matrix(MatrixSelector { selector, range_ms })),
        log_range(),
    ]
    .boxed()
}

fn line_filter() -> impl Strategy<Value = Stage> {
    (0..4u8, value_str(), regex_str()).prop_map(|(op, lit, re)| {
        let f = match op {
            0 => LineFilter::new(LineFilterOp::Contains, &lit),
            1 => LineFilter::new(LineFilterOp::NotContains, &lit),
            2 => LineFilter::new(LineFilterOp::Regex, &re),
            _ => LineFilter::new(LineFilterOp::NotRegex, &re),
        };
        Stage::Line(f.unwrap())
    })
}

fn label_filter() -> impl Strategy<Value = LabelFilterExpr> {
    let leaf = prop_oneof![
        matcher().prop_map(LabelFilterExpr::Str),
        (
            label(),
            0..6u8,
            number().prop_filter("finite", |x| x.is_finite())
        )
            .prop_map(|(name, op, value)| LabelFilterExpr::Num {
                name,
                op: [
                    CmpOp::Eq,
                    CmpOp::Ne,
                    CmpOp::Gt,
                    CmpOp::Ge,
                    CmpOp::Lt,
                    CmpOp::Le
                ][op as usize],
                value,
            }),
    ];
    let unit = (
        label(),
        0..6u8,
        prop::sample::select(&["250ms", "1m30s", "-2h", "10KB", "1.5MiB", "3b"][..]),
    )
        .prop_map(|(name, op, text)| {
            let op = [
                CmpOp::Eq,
                CmpOp::Ne,
                CmpOp::Gt,
                CmpOp::Ge,
                CmpOp::Lt,
                CmpOp::Le,
            ][op as usize];
            match crate::eval::parse_go_duration(text) {
                Some(seconds) => LabelFilterExpr::Duration {
                    name,
                    op,
                    seconds,
                    text: text.into(),
                },
                None => LabelFilterExpr::Bytes {
                    name,
                    op,
                    bytes: crate::eval::parse_bytes(text).unwrap(),
                    text: text.into(),
                },
            }
        });
    let leaf = prop_oneof![3 => leaf, 1 => unit];
    leaf.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| LabelFilterExpr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| LabelFilterExpr::Or(Box::new(a), Box::new(b))),
        ]
    })
}

fn stage() -> impl Strategy<Value = Stage> {
    prop_oneof![
        3 => line_filter(),
        1 => Just(Stage::Json),
        1 => Just(Stage::Logfmt),
        1 => label_filter().prop_map(Stage::LabelFilter),
        1 => (label(), 0..3u8).prop_map(|(label, c)| Stage::Unwrap(Unwrap {
            label,
            conv: [UnwrapConv::None, UnwrapConv::Duration, UnwrapConv::Bytes][c as usize],
        })),
        1 => Just(Stage::Regexp(PatternRegex {
            source: "(?P<ip>\\S+) \"".into(),
            regex: regex::Regex::new("(?P<ip>\\S+) \"").unwrap(),
        })),
        1 => Just("<ip> - <_> [<ts>]").prop_map(|s: &str| Stage::Pattern(PatternRegex {
            source: s.into(),
            regex: super::logparse::compile_pattern(s).unwrap(),
        })),
    ]
}

fn log_selector() -> impl Strategy<Value = LogSelector> {
    (
        prop::collection::vec(matcher(), 0..2),
        prop::collection::vec(stage(), 1..4),
    )
        .prop_map(|(mut matchers, pipeline)| {
            matchers.push(Matcher::new("app", MatchOp::Equal, "api").unwrap());
            LogSelector { matchers, pipeline }
        })
}

fn log_range() -> BoxedStrategy<Expr> {
    (log_selector(), duration(), offset())
        .prop_map(|(selector, range_ms, offset_ms)| {
            Expr::LogRange(LogRange {
                selector,
                range_ms,
                offset_ms,
            })
        })
        .boxed()
}

fn op_of(i: u8) -> BinOp {
    use BinOp::*;
    [
        Add, Sub, Mul, Div, Mod, Pow, Atan2, Eq, Ne, Gt, Lt, Ge, Le, And, Or, Unless,
    ][i as usize % 16]
}

/// Any well-typed expression of type `ty` (scalar or vector) up to `depth` levels.
fn typed(ty: ValueType, depth: u32) -> BoxedStrategy<Expr> {
    let leaf = if ty == ValueType::Scalar {
        scalar_leaf()
    } else {
        vector_leaf()
    };
    if depth == 0 {
        return leaf;
    }
    let d = depth - 1;
    let mut options: Vec<(u32, BoxedStrategy<Expr>)> = vec![(3, leaf)];
    // unary minus / plus (never directly on a number: the parser folds those)
    options.push((
        1,
        (typed(ty, d), any::<bool>())
            .prop_filter_map("no unary on literal", |(e, neg)| {
                (!matches!(e, Expr::Number(_))).then(|| {
                    Expr::Unary(if neg { UnaryOp::Neg } else { UnaryOp::Pos }, Box::new(e))
                })
            })
            .boxed(),
    ));
    // binary
    let bin = (0u8..16, any::<bool>(), any::<bool>(), typed(ValueType::Scalar, d), typed(ty, d), typed(ty, d), 0u8..4, prop::collection::vec(label(), 0..2))
        .prop_map(move |(op, flip, use_bool, s, a, b, mm, labels)| {
            let mut op = op_of(op);
            let (lhs, rhs) = if ty == ValueType::Scalar || (flip && !op.is_set()) {
                (s, a)
            } else {
                (a, b)
            };
            let both_vec = lhs.value_type() == ValueType::Vector
                && rhs.value_type() == ValueType::Vector;
            if !both_vec && op.is_set() {
                op = BinOp::Add;
            }
            let return_bool = op.is_comparison() && (use_bool || !both_vec && ty == ValueType::Scalar);
            let matching = (both_vec && mm > 0).then(|| VectorMatching {
                on: mm != 2,
                labels: labels.clone(),
                card: if op.is_set() || mm == 1 {
                    Cardinality::OneToOne
                } else if mm == 3 {
                    Cardinality::ManyToOne(vec!["extra".into()])
                } else {
                    Cardinality::OneToMany(vec![])
                },
            });
            let matching = match matching {
                Some(m) if m.on && matches!(&m.card, Cardinality::ManyToOne(x) if m.labels.iter().any(|l| x.contains(l))) => None,
                m => m,
            };
            Expr::Binary(Box::new(BinaryExpr {
                op,
                lhs,
                rhs,
                return_bool,
                matching,
            }))
        })
        .prop_filter("scalar binary types", move |e| e.value_type() == ty)
        .boxed();
    options.push((2, bin));
    if ty == ValueType::Vector {
        // range functions
        let rf = (
            prop::sample::select(
                &[
                    Function::Rate,
                    Function::Increase,
                    Function::Delta,
                    Function::Irate,
                    Function::Deriv,
                    Function::Changes,
                    Function::AvgOverTime,
                    Function::CountOverTime,
                    Function::LastOverTime,
                    Function::AbsentOverTime,
                ][..],
            ),
            matrix(),
        )
            .prop_map(|(func, m)| {
                Expr::Call(Call {
                    func,
                    args: vec![m],
                })
            })
            .boxed();
        options.push((2, rf));
        let sub = (
            typed(ValueType::Vector, d),
            duration(),
            prop_oneof![Just(0i64), duration()],
            offset(),
            at(),
        )
            .prop_map(|(e, range_ms, step_ms, offset_ms, at)| {
                Expr::Call(Call {
                    func: Function::MaxOverTime,
                    args: vec![Expr::Subquery(Subquery {
                        expr: Box::new(e),
                        range_ms,
                        step_ms,
                        offset_ms,
                        at,
                    })],
                })
            })
            .boxed();
        options.push((1, sub));
        let vf = (
            prop::sample::select(
                &[
                    Function::Abs,
                    Function::Absent,
                    Function::Timestamp,
                    Function::Sort,
                ][..],
            ),
            typed(ValueType::Vector, d),
        )
            .prop_map(|(func, a)| {
                Expr::Call(Call {
                    func,
                    args: vec![a],
                })
            })
            .boxed();
        options.push((1, vf));
        let misc = (
            typed(ValueType::Vector, d),
            typed(ValueType::Scalar, d),
            value_str(),
            regex_str(),
            0u8..4,
        )
            .prop_map(|(v, s, st, re, which)| match which {
                0 => Expr::Call(Call {
                    func: Function::ClampMax,
                    args: vec![v, s],
                }),
                1 => Expr::Call(Call {
                    func: Function::HistogramQuantile,
                    args: vec![s, v],
                }),
                2 => Expr::Call(Call {
                    func: Function::LabelReplace,
                    args: vec![
                        v,
                        Expr::String("dst".into()),
                        Expr::String(st),
                        Expr::String("src".into()),
                        Expr::String(re),
                    ],
                }),
                _ => Expr::Call(Call {
                    func: Function::Vector,
                    args: vec![s],
                }),
            })
            .boxed();
        options.push((1, misc));
        let agg = (
            0usize..12,
            typed(ValueType::Vector, d),
            typed(ValueType::Scalar, d),
            prop::option::of((any::<bool>(), prop::collection::vec(label(), 0..3))),
        )
            .prop_map(|(op, e, s, g)| {
                let op = AggOp::ALL[op];
                let param = match op {
                    AggOp::CountValues => Some(Expr::String("v".into())),
                    o if o.has_param() => Some(s),
                    _ => None,
                };
                Expr::Aggregate(Box::new(Aggregate {
                    op,
                    expr: e,
                    param,
                    grouping: g.map(|(without, labels)| Grouping { without, labels }),
                }))
            })
            .boxed();
        options.push((2, agg));
    } else {
        options.push((
            1,
            typed(ValueType::Vector, d)
                .prop_map(|v| {
                    Expr::Call(Call {
                        func: Function::Scalar,
                        args: vec![v],
                    })
                })
                .boxed(),
        ));
    }
    prop::strategy::Union::new_weighted(options).boxed()
}

fn any_expr() -> BoxedStrategy<Expr> {
    prop_oneof![
        4 => typed(ValueType::Vector, 3),
        1 => typed(ValueType::Scalar, 2),
        1 => matrix(),
        1 => log_selector().prop_map(Expr::Log),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn print_parse_round_trip(e in any_expr()) {
        let printed = e.to_string();
        let back = parse_expr(&printed).map_err(|err| TestCaseError::fail(format!("{printed}\n{err}")))?;
        prop_assert_eq!(&back, &e, "printed: {}", printed);
        prop_assert_eq!(back.to_string(), printed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Arbitrary text and token soup never panic the parser, and errors point inside the input.
    #[test]
    fn parser_never_panics(s in prop_oneof![
        ".{0,40}",
        prop::collection::vec(prop::sample::select(&[
            "sum", "by", "(", ")", "{", "}", "[5m]", "[1m:]", "rate", "x", "a=\"b\"", ",", "+", "-",
            "bool", "on", "group_left", "offset", "1h", "|=", "|~", "!=", "| json", "| unwrap",
            "\"s\"", "1e3", "0x", "é", "#", "\n", "@", "==", ">", "and", "|", "[", "]", ":",
        ][..]), 0..12).prop_map(|v| v.join(" ")),
    ]) {
        if let Err(e) = parse_expr(&s) {
            prop_assert!(e.offset <= s.len());
            prop_assert!(e.line >= 1 && e.col >= 1);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Evaluating any well-typed expression over a small store never panics.
    #[test]
    fn eval_never_panics(e in any_expr()) {
        use crate::eval::{Store, eval_instant};
        use crate::input::{Labels, LogRecord};
        let mut st = Store::new();
        for (i, name) in METRICS.iter().enumerate() {
            for j in 0..3 {
                let l = Labels::from_pairs([("__name__", *name), ("job", "api"), ("le", ["0.1", "1", "+Inf"][j])]);
                for k in 0..20i64 {
                    st.add_sample(&l, k * 15_000, (i * j) as f64 + k as f64).unwrap();
                }
            }
        }
        st.add_log(LogRecord {
            labels: Labels::from_pairs([("app", "api")]),
            t_ms: 100_000,
            line: r#"{"job":"x","le":"1"} job=y 10.0.0.1 - a [b]"#.into(),
        });
        let _ = eval_instant(&e, &st, 300_000);
    }
}
