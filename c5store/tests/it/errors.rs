//! Errors name file:line:col for every format, all independent problems of a load are reported
//! at once, and type mismatches on `get` name the key and where the value came from.

use c5store::{C5Store, GetError, LoadError};

use crate::support::{at, dir_with};

#[test]
fn syntax_errors_in_each_format_name_file_line_and_column() {
    let d = dir_with(&[
        ("bad.yaml", "a: 1\nb:\n  - x\n  c: [1, 2\n"),
        ("bad.toml", "[db]\nport = 54x32\n"),
        ("bad.json", "{\n  \"a\": 1,\n  \"b\": x\n}\n"),
        ("bad.env", "A=1\nAPP__X=a b\n"),
    ]);
    let err = C5Store::builder()
        .file(at(&d, "bad.yaml"))
        .file(at(&d, "bad.toml"))
        .file(at(&d, "bad.json"))
        .dotenv(at(&d, "bad.env"))
        .file(at(&d, "missing.yaml"))
        .load()
        .unwrap_err();
    assert_eq!(err.len(), 5, "{err}");
    let msgs: Vec<String> = err.iter().map(ToString::to_string).collect();
    let p = |n: &str| at(&d, n).display().to_string();
    assert!(
        msgs[0].starts_with(&format!("{}:4:", p("bad.yaml"))),
        "{}",
        msgs[0]
    );
    assert!(msgs[0].contains("yaml error"), "{}", msgs[0]);
    assert!(
        msgs[1].starts_with(&format!("{}:2:", p("bad.toml"))),
        "{}",
        msgs[1]
    );
    assert!(
        msgs[2].starts_with(&format!("{}:3:8: json error", p("bad.json"))),
        "{}",
        msgs[2]
    );
    assert!(
        msgs[3].starts_with(&format!("{}:2:10: dotenv error", p("bad.env"))),
        "{}",
        msgs[3]
    );
    assert!(msgs[4].contains("missing.yaml: not found"), "{}", msgs[4]);
    assert!(
        err.to_string().starts_with("5 configuration errors:\n"),
        "{err}"
    );
}

#[test]
fn several_errors_in_one_file_are_all_reported() {
    let d = dir_with(&[
        ("dup.yaml", "a: 1\na: 2\nb: {x: 1, x: 2}\n"),
        ("multi.toml", "a = \nb = 1\nc = ]\n"),
    ]);
    let err = C5Store::builder()
        .file(at(&d, "dup.yaml"))
        .file(at(&d, "multi.toml"))
        .load()
        .unwrap_err();
    let yaml: Vec<_> = err
        .iter()
        .filter(|e| e.to_string().contains("dup.yaml"))
        .collect();
    let toml: Vec<_> = err
        .iter()
        .filter(|e| e.to_string().contains("multi.toml"))
        .collect();
    assert_eq!(yaml.len(), 2, "{err}");
    assert!(
        yaml[0]
            .to_string()
            .contains("dup.yaml:2:1: yaml error: duplicate key `a`"),
        "{err}"
    );
    assert!(toml.len() >= 2, "{err}");
    assert!(matches!(
        err.iter().next(),
        Some(LoadError::Syntax { format: "yaml", .. })
    ));
}

#[test]
fn top_level_must_be_a_map() {
    let d = dir_with(&[("list.yaml", "- a\n- b\n"), ("num.json", "42")]);
    let err = C5Store::builder()
        .file(at(&d, "list.yaml"))
        .file(at(&d, "num.json"))
        .load()
        .unwrap_err();
    assert_eq!(err.len(), 2);
    assert!(
        err.to_string()
            .contains("list.yaml:1:1: yaml error: the top level must be a map, found a sequence"),
        "{err}"
    );
}

#[test]
fn type_mismatch_names_key_and_origin() {
    let d = dir_with(&[(
        "a.yaml",
        "db:\n  port: fifty\nservers:\n  - port: 1\n  - port: x\n",
    )]);
    let snap = C5Store::builder().file(at(&d, "a.yaml")).load().unwrap();
    let e = snap.get::<u16>("db.port").unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("db.port: invalid type: string \"fifty\", expected u16 (at "),
        "{msg}"
    );
    assert!(msg.ends_with("a.yaml:2:9 (yaml))"), "{msg}");

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)] // read through Debug only
    struct Server {
        port: u16,
    }
    let e = snap.get_into::<Vec<Server>>("servers").unwrap_err();
    match &e {
        GetError::Type { key, origin, .. } => {
            assert_eq!(key, "servers[1].port");
            assert_eq!(origin.as_ref().map(|o| (o.line, o.col)), Some((5, 11)));
        }
        other => panic!("unexpected {other:?}"),
    }
    let e = snap.get::<u16>("db.nope").unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.to_string(), "key `db.nope` not found");
    let e = snap.get::<u16>("db..port").unwrap_err();
    assert!(matches!(e, GetError::InvalidPath { .. }), "{e:?}");
}

#[test]
fn unknown_and_missing_fields_name_the_path() {
    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // read through Debug only
    struct Db {
        host: String,
    }
    let d = dir_with(&[("a.yaml", "db:\n  host: h\n  prot: 1\nempty: {}\n")]);
    let snap = C5Store::builder().file(at(&d, "a.yaml")).load().unwrap();
    let e = snap.get_into::<Db>("db").unwrap_err().to_string();
    assert!(e.starts_with("db.prot: unknown field `prot`"), "{e}");
    assert!(e.contains("a.yaml:3:9"), "{e}");
    let e = snap.get_into::<Db>("empty").unwrap_err().to_string();
    assert!(e.starts_with("empty: missing field `host`"), "{e}");
}
