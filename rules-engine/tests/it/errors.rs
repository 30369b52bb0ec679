//! Error messages: every problem in a rule file or test file names file:line:col and says what
//! is wrong; several problems are reported in one pass.

use rules_engine::rule::load_rule_file;
use rules_engine::unittest;

use crate::common::FsFiles;

fn check(src: &str, expect: &[&str]) {
    let err = load_rule_file("rules.yml", src).expect_err("the file must not load");
    let text = err.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), expect.len(), "one line per problem:\n{text}");
    for (line, want) in lines.iter().zip(expect) {
        assert!(
            line.starts_with(want),
            "expected a line starting with\n  {want}\ngot\n  {line}"
        );
    }
}

const HEAD: &str = "groups:\n- name: g\n  rules:\n";

#[test]
fn unknown_field() {
    check(
        &format!("{HEAD}  - alert: A\n    expr: up\n    fro: 5m\n"),
        &["rules.yml:6:5: unknown field `fro`, expected one of `record`, `alert`, `expr`, `for`"],
    );
    check(
        "groups:\n- name: g\n  intervall: 1m\n",
        &["rules.yml:3:3: unknown field `intervall`"],
    );
}

#[test]
fn invalid_durations() {
    check(
        &format!("{HEAD}  - alert: A\n    expr: up\n    for: 5 minutes\n"),
        &["rules.yml:6:10: not a valid duration string: \"5 minutes\""],
    );
    check(
        "groups:\n- name: g\n  interval: 1m1h\n  rules: []\n",
        &["rules.yml:3:13: not a valid duration string: \"1m1h\""],
    );
}

#[test]
fn duplicate_rules_and_groups() {
    check(
        &format!(
            "{HEAD}  - alert: A\n    expr: up\n  - alert: A\n    expr: up == 0\n- name: g\n  rules: []\n"
        ),
        &[
            "rules.yml:6:12: group \"g\": duplicate rule name \"A\" (first at line 4)",
            "rules.yml:8:9: group name \"g\" is repeated in the same file (first at line 2)",
        ],
    );
    // the same name with different labels is fine (one rule per severity)
    let ok = format!(
        "{HEAD}  - alert: A\n    expr: up > 1\n    labels: {{s: warn}}\n  - alert: A\n    expr: up > 2\n    labels: {{s: page}}\n"
    );
    assert!(load_rule_file("rules.yml", &ok).is_ok());
}

#[test]
fn expression_errors_point_into_the_file() {
    check(
        &format!("{HEAD}  - alert: A\n    expr: sum(rate(x[5m])\n"),
        &[
            "rules.yml:5:26: group \"g\", rule 1, \"A\": could not parse expression: 1:16: unexpected end of input",
        ],
    );
    check(
        &format!("{HEAD}  - record: a:b\n    expr: 'rate(x[5q])'\n"),
        &["rules.yml:5:"],
    );
}

#[test]
fn rule_shape_errors_are_all_reported() {
    check(
        &format!(
            "{HEAD}  - alert: A\n    record: b\n    expr: up\n  - record: x\n    expr: up\n    for: 1m\n  - alert: C\n    expr: up\n    labels:\n      bad-name: x\n"
        ),
        &[
            "rules.yml:4:5: group \"g\", rule 1, \"A\": only one of 'record' and 'alert' must be set",
            "rules.yml:9:10: group \"g\", rule 2, \"x\": invalid field 'for' in recording rule",
            "rules.yml:13:7: group \"g\", rule 3, \"C\": invalid label name: bad-name",
        ],
    );
}

#[test]
fn template_errors_at_load() {
    check(
        &format!(
            "{HEAD}  - alert: A\n    expr: up\n    annotations:\n      s: '{{{{ $labels.x | nosuch }}}}'\n"
        ),
        &[
            "rules.yml:7:10: group \"g\", rule 1, \"A\": annotation \"s\": template: __alert_A:1: function \"nosuch\" not defined",
        ],
    );
    check(
        &format!(
            "{HEAD}  - alert: A\n    expr: up\n    labels:\n      s: '{{{{ if $value }}}}x'\n"
        ),
        &[
            "rules.yml:7:10: group \"g\", rule 1, \"A\": label \"s\": template: __alert_A:1: unexpected EOF",
        ],
    );
}

#[test]
fn yaml_syntax_errors() {
    check("groups:\n- name: g\n  rules: [\n", &["rules.yml:4:1: "]);
    check(
        "groups:\n- name: g\n  name: h\n",
        &["rules.yml:3:3: mapping key \"name\" already defined at line 2"],
    );
}

#[test]
fn test_file_errors() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.yml");
    std::fs::write(
        &t,
        "rule_files: []\ntests:\n- interval: 1m\n  input_seris: []\n",
    )
    .unwrap();
    let r = unittest::run_file(&t.display().to_string(), &FsFiles);
    assert_eq!(r.errors.len(), 1);
    // promtool's (yaml.v2's) wording, every unknown field listed with its line
    assert_eq!(
        r.errors[0],
        "yaml: unmarshal errors:\n  line 4: field input_seris not found in type main.testGroup"
    );
    std::fs::write(&t, "rule_files: [missing.yml]\ntests:\n- interval: 1m\n  input_series:\n  - series: up\n    values: 1 2 x\n").unwrap();
    let r = unittest::run_file(&t.display().to_string(), &FsFiles);
    assert!(
        r.warnings[0].starts_with("  WARNING: no file match pattern "),
        "{:?}",
        r.warnings
    );
    assert_eq!(r.errors[0], "1:8: parse error: unexpected \"x\"");
}
