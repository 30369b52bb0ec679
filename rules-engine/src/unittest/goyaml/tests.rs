//! Unit tests of the Go YAML error texts.

use super::*;
use crate::yaml;

fn v2(src: &str) -> Option<String> {
    decode(&yaml::parse(src).unwrap(), &TEST_FILE, Dialect::V2, true).message()
}

#[test]
fn a_broken_flow_collection_is_placed_at_its_open_bracket() {
    let src = "a:\n  b: [x, 'y]', \"z[\", it's, # [\n    {c: d},\n    e\n";
    // the `[` of line 2 is still open at line 4 (quoted and commented brackets do not count)
    assert_eq!(flow_open_line(src, 4, 5), Some((1, '[')));
    assert_eq!(flow_open_line(src, 3, 8), Some((2, '{')), "inside {{c: d}}");
    assert_eq!(flow_open_line("a: [1]\nb: 2\n", 2, 1), None);
}

#[test]
fn lists_every_unknown_field_like_yaml_v2() {
    let m = v2("rule_file: [a]\ntests:\n- interval: 1m\n  input_series:\n  - series: up\n    value: 1\n  foo: 2\n").unwrap();
    assert_eq!(
        m,
        "yaml: unmarshal errors:\n  line 1: field rule_file not found in type main.unitTestFile\n  line 6: field value not found in type main.series\n  line 7: field foo not found in type main.testGroup"
    );
}

#[test]
fn type_errors_and_durations() {
    let m = v2("tests:\n- promql_expr_test:\n  - exp_samples:\n    - value: -Inf\n    - value: 'abcdefghijkl'\n").unwrap();
    assert_eq!(
        m,
        "yaml: unmarshal errors:\n  line 4: cannot unmarshal !!str `-Inf` into float64\n  line 5: cannot unmarshal !!str `abcdefg...` into float64"
    );
    assert_eq!(
        v2("tests:\n- interval: 5x\n  foo: 1\n").unwrap(),
        "not a valid duration string: \"5x\""
    );
    assert_eq!(
        v2("tests:\n- promql_expr_test:\n  - exp_samples:\n    - value: .inf\n"),
        None
    );
    assert_eq!(
        v2("tests: abc\n").unwrap(),
        "yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `abc` into []main.testGroup"
    );
}

#[test]
fn tags() {
    assert_eq!(tag_of("1_000", true, Dialect::V2), "!!int");
    assert_eq!(tag_of("0x1F", true, Dialect::V2), "!!int");
    assert_eq!(tag_of("1e3", true, Dialect::V2), "!!float");
    assert_eq!(tag_of("yes", true, Dialect::V2), "!!bool");
    assert_eq!(tag_of("yes", true, Dialect::V3), "!!str");
    assert_eq!(tag_of("1", false, Dialect::V2), "!!str");
}
