//! The serde shapes of a promtool rule test file as written: [`TestFileSpec`] and the test
//! groups, input series and logs, and alert and expression expectations it holds.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::rule::PromDuration;

/// A unit test file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFileSpec {
    /// Rule files, relative to the test file.
    #[serde(default)]
    pub rule_files: Vec<String>,
    /// Evaluation interval (default 1 m).
    #[serde(default)]
    pub evaluation_interval: Option<PromDuration>,
    /// Group names in evaluation order.
    #[serde(default)]
    pub group_eval_order: Vec<String>,
    /// The test groups.
    #[serde(default)]
    pub tests: Vec<TestGroupSpec>,
}

/// One test group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestGroupSpec {
    /// Spacing of input series values.
    #[serde(default)]
    pub interval: Option<PromDuration>,
    /// Input series.
    #[serde(default)]
    pub input_series: Vec<SeriesSpec>,
    /// Input log lines (extension).
    #[serde(default)]
    pub input_logs: Vec<LogInputSpec>,
    /// Alert expectations.
    #[serde(default)]
    pub alert_rule_test: Vec<AlertTestSpec>,
    /// Expression expectations.
    #[serde(default)]
    pub promql_expr_test: Vec<ExprTestSpec>,
    /// `$externalLabels`.
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
    /// `$externalURL`.
    #[serde(default)]
    pub external_url: String,
    /// Name printed in failures.
    #[serde(default)]
    pub name: String,
}

/// `series` + `values`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesSpec {
    /// `metric{label="value"}`.
    #[serde(default)]
    pub series: String,
    /// Value sequence.
    #[serde(default)]
    pub values: String,
}

/// One log stream's lines.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogInputSpec {
    /// Stream labels, `{app="api"}`.
    pub stream: String,
    /// The lines.
    #[serde(default)]
    pub lines: Vec<LogLineSpec>,
}

/// A log line at a time, optionally repeated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogLineSpec {
    /// Time of the (first) line.
    pub at: PromDuration,
    /// The text.
    pub line: String,
    /// How many times in total (default 1).
    #[serde(default)]
    pub repeat: Option<u64>,
    /// Spacing of repeats (default 1 s).
    #[serde(default)]
    pub every: Option<PromDuration>,
}

/// Expected firing alerts of one rule at one time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertTestSpec {
    /// When.
    #[serde(default)]
    pub eval_time: PromDuration,
    /// Which alert.
    #[serde(default)]
    pub alertname: String,
    /// The firing alerts expected.
    #[serde(default)]
    pub exp_alerts: Vec<ExpAlertSpec>,
}

/// One expected alert.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpAlertSpec {
    /// Labels (without `alertname`).
    #[serde(default)]
    pub exp_labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default)]
    pub exp_annotations: BTreeMap<String, String>,
}

/// Expected result of an expression.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExprTestSpec {
    /// The expression.
    #[serde(default)]
    pub expr: String,
    /// When.
    #[serde(default)]
    pub eval_time: PromDuration,
    /// The samples expected.
    #[serde(default)]
    pub exp_samples: Vec<ExpSampleSpec>,
}

/// One expected sample.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpSampleSpec {
    /// `metric{label="value"}`.
    #[serde(default)]
    pub labels: String,
    /// The value.
    #[serde(default)]
    pub value: f64,
}
