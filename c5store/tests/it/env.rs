//! Environment variables: prefix and `__` nesting, case-insensitive matching against camelCase
//! and snake_case keys, YAML values, lists, index overrides, `_FILE`, and bad values.

use c5store::{C5Store, LoadError, Snapshot, Value};
use serde_json::json;

use crate::support::{at, dir_with};

fn base() -> Value {
    Value::from(json!({
        "db": {"port": 1, "maxConnections": 2, "pool_size": 3, "password": "x"},
        "hosts": ["a", "b"],
        "servers": [{"name": "s0", "port": 1}, {"name": "s1", "port": 2}],
        "feature": {"on": false}
    }))
}

fn load(vars: &[(&str, &str)]) -> Result<Snapshot, c5store::LoadErrors> {
    C5Store::builder()
        .memory("base", base())
        .env_vars("APP", vars.iter().copied())
        .load()
}

#[test]
fn nesting_and_typed_values() {
    let s = load(&[
        ("APP__DB__PORT", "5432"),
        ("APP__FEATURE__ON", "true"),
        ("APP__RATIO", "0.25"),
    ])
    .unwrap();
    assert_eq!(s.value("db.port"), Some(&Value::Int(5432)));
    assert!(s.get::<bool>("feature.on").unwrap());
    assert_eq!(s.get::<f64>("ratio").unwrap(), 0.25);
    let o = s.explain("db.port").unwrap().origin().unwrap().clone();
    assert_eq!(
        (&*o.source, o.var.as_deref()),
        ("env", Some("APP__DB__PORT"))
    );
    assert_eq!(o.to_string(), "env APP__DB__PORT");
}

#[test]
fn segments_match_camel_and_snake_case_keys_case_insensitively() {
    let s = load(&[
        ("APP__DB__MAX_CONNECTIONS", "20"),
        ("APP__db__POOLSIZE", "30"),
        ("APP__NEW_THING", "n"),
    ])
    .unwrap();
    assert_eq!(s.get::<u32>("db.maxConnections").unwrap(), 20);
    assert_eq!(s.get::<u32>("db.pool_size").unwrap(), 30);
    assert!(
        !s.exists("db.max_connections"),
        "no duplicate snake_case key is created"
    );
    assert_eq!(s.get::<&str>("new_thing").unwrap(), "n");
}

#[test]
fn lists_and_index_overrides() {
    let s = load(&[("APP__HOSTS", "[x, y, z]")]).unwrap();
    assert_eq!(s.get::<Vec<String>>("hosts").unwrap(), ["x", "y", "z"]);

    let s = load(&[
        ("APP__HOSTS__0", "x"),
        ("APP__SERVERS__1__PORT", "9"),
        ("APP__HOSTS__2", "c"),
    ])
    .unwrap();
    assert_eq!(s.get::<Vec<String>>("hosts").unwrap(), ["x", "b", "c"]);
    assert_eq!(s.get::<u16>("servers[1].port").unwrap(), 9);
    assert_eq!(
        s.get::<&str>("servers[1].name").unwrap(),
        "s1",
        "sibling keys survive"
    );
    assert_eq!(
        &*s.explain("hosts[1]").unwrap().origin().unwrap().source,
        "memory:base"
    );
    assert_eq!(
        s.explain("hosts[0]")
            .unwrap()
            .origin()
            .unwrap()
            .var
            .as_deref(),
        Some("APP__HOSTS__0")
    );

    let e = load(&[("APP__HOSTS__7", "x")]).unwrap_err();
    assert!(
        e.to_string()
            .contains("APP__HOSTS__7: index 7 is past the end of a list of 2 items"),
        "{e}"
    );
}

#[test]
fn flow_maps_quoted_strings_and_null_deletion() {
    let s = load(&[
        ("APP__DB", "{port: 7, host: h}"),
        ("APP__NAME", "'007'"),
        ("APP__FEATURE", "~"),
    ])
    .unwrap();
    assert_eq!(s.get::<u16>("db.port").unwrap(), 7);
    assert_eq!(s.get::<&str>("db.host").unwrap(), "h");
    assert_eq!(
        s.get::<u32>("db.pool_size").unwrap(),
        3,
        "maps from env deep-merge"
    );
    assert_eq!(s.get::<&str>("name").unwrap(), "007");
    assert!(!s.exists("feature"), "null deletes");
}

#[test]
fn plain_text_that_is_not_yaml_stays_verbatim() {
    let s = load(&[("APP__DB__PASSWORD", "p@ss: #w0rd *x"), ("APP__EMPTY", "")]).unwrap();
    assert_eq!(s.get::<&str>("db.password").unwrap(), "p@ss: #w0rd *x");
    assert_eq!(s.get::<&str>("empty").unwrap(), "");
}

#[test]
fn file_indirection_reads_and_trims_the_file() {
    let d = dir_with(&[("pw.txt", "s3cret\n")]);
    let pw = at(&d, "pw.txt");
    let s = load(&[("APP__DB__PASSWORD_FILE", pw.to_str().unwrap())]).unwrap();
    assert_eq!(s.get::<&str>("db.password").unwrap(), "s3cret");
    assert!(!s.exists("db.password_file"));
    let e = load(&[("APP__DB__PASSWORD_FILE", "/nonexistent/pw")]).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("env APP__DB__PASSWORD_FILE: cannot read /nonexistent/pw"),
        "{msg}"
    );
    assert!(matches!(e.iter().next(), Some(LoadError::EnvFile { .. })));
}

#[test]
fn bad_values_are_all_reported_without_the_value() {
    let e = load(&[
        ("APP__HOSTS", "[a, b"),
        ("APP__DB__PASSWORD", "{hunter2"),
        ("APP__X____Y", "1"),
        ("APP__OK", "1"),
    ])
    .unwrap_err();
    assert_eq!(e.len(), 3, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("env APP__HOSTS: cannot parse the value as YAML"),
        "{msg}"
    );
    assert!(msg.contains("env APP__DB__PASSWORD: cannot parse"), "{msg}");
    assert!(msg.contains("APP__X____Y: empty key segment"), "{msg}");
    assert!(
        !msg.contains("hunter2"),
        "a value that may be a secret never appears: {msg}"
    );
}

#[test]
fn conflicting_variables_are_an_error() {
    let e = load(&[("APP__A", "1"), ("APP__A__B", "2")]).unwrap_err();
    assert!(e.to_string().contains("APP__A__B: conflicts"), "{e}");
}

#[test]
fn variables_without_the_prefix_or_with_another_are_ignored() {
    let s = load(&[
        ("APPX__DB__PORT", "9"),
        ("app__db__port", "9"),
        ("APP_DB_PORT", "9"),
    ])
    .unwrap();
    assert_eq!(s.get::<u16>("db.port").unwrap(), 1);
}
