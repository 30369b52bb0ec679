//! The table of known functions: names, argument types and result types.

use super::ast::ValueType;

macro_rules! functions {
    ($( $variant:ident => $name:literal, [$($arg:ident),*], $opt:literal, $variadic:literal, $ret:ident; )*) => {
        /// A known function.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Function {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl Function {
            /// Every function.
            pub const ALL: &'static [Function] = &[$(Function::$variant,)*];

            /// The name as written in expressions.
            pub fn name(self) -> &'static str {
                match self { $(Function::$variant => $name,)* }
            }

            /// Argument types in order.
            pub fn arg_types(self) -> &'static [ValueType] {
                match self { $(Function::$variant => &[$(ValueType::$arg),*],)* }
            }

            /// How many trailing arguments may be left out.
            pub fn optional_args(self) -> usize {
                match self { $(Function::$variant => $opt,)* }
            }

            /// True when the last argument may repeat.
            pub fn variadic(self) -> bool {
                match self { $(Function::$variant => $variadic,)* }
            }

            /// The result type.
            pub fn return_type(self) -> ValueType {
                match self { $(Function::$variant => ValueType::$ret,)* }
            }
        }
    };
}

functions! {
    Abs => "abs", [Vector], 0, false, Vector;
    Absent => "absent", [Vector], 0, false, Vector;
    AbsentOverTime => "absent_over_time", [Matrix], 0, false, Vector;
    AvgOverTime => "avg_over_time", [Matrix], 0, false, Vector;
    BytesOverTime => "bytes_over_time", [Matrix], 0, false, Vector;
    BytesRate => "bytes_rate", [Matrix], 0, false, Vector;
    Ceil => "ceil", [Vector], 0, false, Vector;
    Changes => "changes", [Matrix], 0, false, Vector;
    Clamp => "clamp", [Vector, Scalar, Scalar], 0, false, Vector;
    ClampMax => "clamp_max", [Vector, Scalar], 0, false, Vector;
    ClampMin => "clamp_min", [Vector, Scalar], 0, false, Vector;
    CountOverTime => "count_over_time", [Matrix], 0, false, Vector;
    DayOfMonth => "day_of_month", [Vector], 1, false, Vector;
    DayOfWeek => "day_of_week", [Vector], 1, false, Vector;
    DayOfYear => "day_of_year", [Vector], 1, false, Vector;
    DaysInMonth => "days_in_month", [Vector], 1, false, Vector;
    Delta => "delta", [Matrix], 0, false, Vector;
    Deriv => "deriv", [Matrix], 0, false, Vector;
    Exp => "exp", [Vector], 0, false, Vector;
    Floor => "floor", [Vector], 0, false, Vector;
    HistogramQuantile => "histogram_quantile", [Scalar, Vector], 0, false, Vector;
    Hour => "hour", [Vector], 1, false, Vector;
    Idelta => "idelta", [Matrix], 0, false, Vector;
    Increase => "increase", [Matrix], 0, false, Vector;
    Irate => "irate", [Matrix], 0, false, Vector;
    LabelJoin => "label_join", [Vector, String, String, String], 1, true, Vector;
    LabelReplace => "label_replace", [Vector, String, String, String, String], 0, false, Vector;
    LastOverTime => "last_over_time", [Matrix], 0, false, Vector;
    Ln => "ln", [Vector], 0, false, Vector;
    Log10 => "log10", [Vector], 0, false, Vector;
    Log2 => "log2", [Vector], 0, false, Vector;
    MaxOverTime => "max_over_time", [Matrix], 0, false, Vector;
    MinOverTime => "min_over_time", [Matrix], 0, false, Vector;
    Minute => "minute", [Vector], 1, false, Vector;
    Month => "month", [Vector], 1, false, Vector;
    PredictLinear => "predict_linear", [Matrix, Scalar], 0, false, Vector;
    PresentOverTime => "present_over_time", [Matrix], 0, false, Vector;
    QuantileOverTime => "quantile_over_time", [Scalar, Matrix], 0, false, Vector;
    Rate => "rate", [Matrix], 0, false, Vector;
    Resets => "resets", [Matrix], 0, false, Vector;
    Round => "round", [Vector, Scalar], 1, false, Vector;
    Scalar => "scalar", [Vector], 0, false, Scalar;
    Sgn => "sgn", [Vector], 0, false, Vector;
    Sort => "sort", [Vector], 0, false, Vector;
    SortDesc => "sort_desc", [Vector], 0, false, Vector;
    Sqrt => "sqrt", [Vector], 0, false, Vector;
    StddevOverTime => "stddev_over_time", [Matrix], 0, false, Vector;
    StdvarOverTime => "stdvar_over_time", [Matrix], 0, false, Vector;
    SumOverTime => "sum_over_time", [Matrix], 0, false, Vector;
    Time => "time", [], 0, false, Scalar;
    Timestamp => "timestamp", [Vector], 0, false, Vector;
    Vector => "vector", [Scalar], 0, false, Vector;
    Year => "year", [Vector], 1, false, Vector;
    Acos => "acos", [Vector], 0, false, Vector;
    Acosh => "acosh", [Vector], 0, false, Vector;
    Asin => "asin", [Vector], 0, false, Vector;
    Asinh => "asinh", [Vector], 0, false, Vector;
    Atan => "atan", [Vector], 0, false, Vector;
    Atanh => "atanh", [Vector], 0, false, Vector;
    Cos => "cos", [Vector], 0, false, Vector;
    Cosh => "cosh", [Vector], 0, false, Vector;
    Deg => "deg", [Vector], 0, false, Vector;
    HoltWinters => "holt_winters", [Matrix, Scalar, Scalar], 0, false, Vector;
    Pi => "pi", [], 0, false, Scalar;
    Rad => "rad", [Vector], 0, false, Vector;
    Sin => "sin", [Vector], 0, false, Vector;
    Sinh => "sinh", [Vector], 0, false, Vector;
    Tan => "tan", [Vector], 0, false, Vector;
    Tanh => "tanh", [Vector], 0, false, Vector;
}

impl Function {
    /// Looks a function up by name.
    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.iter().copied().find(|f| f.name() == name)
    }

    /// True for functions that exist only for log ranges.
    pub fn log_only(self) -> bool {
        matches!(self, Function::BytesOverTime | Function::BytesRate)
    }
}
