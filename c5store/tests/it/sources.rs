//! Every source kind through the builder: files of each format, directories, profiles, optional
//! and missing files, `.env`, memory and figment providers (both directions).

use c5store::sources::{DirSource, FileSource, MemorySource};
use c5store::{C5Store, LoadError, Value};
use serde_json::json;

use crate::support::{at, dir_with, file_name};

#[test]
fn yaml_toml_and_json_files_merge_in_order() {
    let d = dir_with(&[
        (
            "a.yaml",
            "db:\n  host: a\n  port: 1\n  tags: [x]\nname: yaml\n",
        ),
        ("b.toml", "[db]\nport = 2\n"),
        ("c.json", "{\"db\": {\"host\": \"c\"}, \"extra\": 1.5}"),
    ]);
    let snap = C5Store::builder()
        .file(at(&d, "a.yaml"))
        .file(at(&d, "b.toml"))
        .file(at(&d, "c.json"))
        .load()
        .unwrap();
    assert_eq!(snap.get::<&str>("db.host").unwrap(), "c");
    assert_eq!(snap.get::<i64>("db.port").unwrap(), 2);
    assert_eq!(snap.get::<Vec<String>>("db.tags").unwrap(), ["x"]);
    assert_eq!(snap.get::<f64>("extra").unwrap(), 1.5);
    assert_eq!(snap.get::<String>("name").unwrap(), "yaml");
    assert_eq!(snap.version(), 1);
}

#[test]
fn optional_missing_file_is_skipped_required_one_is_an_error() {
    let d = dir_with(&[("a.yaml", "x: 1\n")]);
    let snap = C5Store::builder()
        .file(at(&d, "a.yaml"))
        .optional_file(at(&d, "nope.yaml"))
        .load()
        .unwrap();
    assert_eq!(snap.get::<i64>("x").unwrap(), 1);
    let err = C5Store::builder()
        .file(at(&d, "nope.yaml"))
        .load()
        .unwrap_err();
    assert!(matches!(
        err.iter().next(),
        Some(LoadError::NotFound { .. })
    ));
    assert!(err.to_string().contains("nope.yaml: not found"), "{err}");
    let err = C5Store::builder().file(at(&d, "a.ini")).load().unwrap_err();
    assert!(err.to_string().contains("unsupported file type"), "{err}");
}

#[test]
fn files_read_one_after_another_on_a_thread_keep_their_own_text() {
    // file text is read into a buffer reused per thread: a big file, then smaller ones, then a
    // file that is not UTF-8 (an error naming it), then a small one again
    let big: String = (0..20_000)
        .map(|i| format!("[s{i}]\nv = \"{i}\"\n"))
        .collect();
    assert!(big.len() > 256 * 1024);
    let d = dir_with(&[
        ("big.toml", &big),
        ("short.toml", "v = \"short\"\n"),
        ("shorter.toml", "w = 1\n"),
    ]);
    std::fs::write(at(&d, "bad.toml"), b"v = \"\xff\"\n").unwrap();
    let snap = C5Store::builder()
        .file(at(&d, "big.toml"))
        .file(at(&d, "short.toml"))
        .file(at(&d, "shorter.toml"))
        .load()
        .unwrap();
    assert_eq!(snap.get::<&str>("s19999.v").unwrap(), "19999");
    assert_eq!(snap.get::<&str>("v").unwrap(), "short");
    assert_eq!(snap.get::<i64>("w").unwrap(), 1);
    assert!(!snap.exists("x"));
    for _ in 0..2 {
        let snap = C5Store::builder()
            .file(at(&d, "short.toml"))
            .file(at(&d, "shorter.toml"))
            .load()
            .unwrap();
        assert_eq!(snap.keys_with_prefix(""), ["v", "w"]);
    }
    let err = C5Store::builder()
        .file(at(&d, "bad.toml"))
        .load()
        .unwrap_err();
    assert!(
        matches!(err.iter().next(), Some(LoadError::Io { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("bad.toml"), "{err}");
    let snap = C5Store::builder()
        .file(at(&d, "shorter.toml"))
        .load()
        .unwrap();
    assert_eq!(snap.keys_with_prefix(""), ["w"]);
}

#[test]
fn plain_directory_loads_every_supported_file_sorted_by_name() {
    let d = dir_with(&[
        ("conf/20-b.toml", "v = \"b\"\nb = true\n"),
        ("conf/10-a.yaml", "v: a\na: true\n"),
        ("conf/30-c.json", "{\"v\": \"c\"}"),
        ("conf/notes.txt", "ignored"),
    ]);
    let snap = C5Store::builder().dir(at(&d, "conf")).load().unwrap();
    assert_eq!(snap.get::<&str>("v").unwrap(), "c");
    assert!(snap.get::<bool>("a").unwrap() && snap.get::<bool>("b").unwrap());
    let e = snap.explain("v").unwrap();
    let files: Vec<&str> = e
        .provenance
        .as_ref()
        .unwrap()
        .overridden
        .iter()
        .map(|o| file_name(o.origin.file.as_deref().unwrap()))
        .collect();
    assert_eq!(files, ["20-b.toml", "10-a.yaml"]);
}

#[test]
fn profile_directory_order_is_default_profile_local() {
    let d = dir_with(&[
        ("cfg/default.yaml", "level: default\nd: 1\n"),
        ("cfg/prod.toml", "level = \"prod\"\np = 1\n"),
        ("cfg/staging.yaml", "level: staging\ns: 1\n"),
        ("cfg/local.json", "{\"l\": 1}"),
    ]);
    let snap = C5Store::builder()
        .dir(at(&d, "cfg"))
        .profile("prod")
        .load()
        .unwrap();
    assert_eq!(snap.get::<&str>("level").unwrap(), "prod");
    assert!(snap.exists("d") && snap.exists("p") && snap.exists("l"));
    assert!(!snap.exists("s"), "another profile's file must not load");

    let snap = C5Store::builder().dir(at(&d, "cfg")).load().unwrap();
    assert_eq!(snap.get::<&str>("level").unwrap(), "default");
    assert!(snap.exists("l"));

    // the profile from an environment variable (the process env of this test binary)
    let files = DirSource::new(at(&d, "cfg"))
        .files(Some("staging"))
        .unwrap();
    let names: Vec<&str> = files.iter().map(|p| file_name(p)).collect();
    assert_eq!(names, ["default.yaml", "staging.yaml", "local.json"]);
}

#[test]
fn profile_from_env_var_applies_when_not_set_explicitly() {
    let d = dir_with(&[
        ("cfg/default.yaml", "level: default\n"),
        ("cfg/qa.yaml", "level: qa\n"),
    ]);
    // PATH is always set: use a variable we know exists rather than mutating the environment
    let var = "C5STORE_IT_PROFILE_THAT_IS_NOT_SET";
    let snap = C5Store::builder()
        .dir(at(&d, "cfg"))
        .profile_from_env(var)
        .load()
        .unwrap();
    assert_eq!(snap.get::<&str>("level").unwrap(), "default");
    let snap = C5Store::builder()
        .dir(at(&d, "cfg"))
        .profile("qa")
        .profile_from_env("PATH")
        .load()
        .unwrap();
    assert_eq!(
        snap.get::<&str>("level").unwrap(),
        "qa",
        "explicit profile wins over the env var"
    );
}

#[test]
fn dotenv_file_with_prefix_and_positions() {
    let d = dir_with(&[
        ("a.yaml", "db:\n  port: 1\n  maxConn: 2\n"),
        (
            ".env",
            "# comment\nAPP__DB__PORT=6000\nexport APP__DB__MAX_CONN=9\nOTHER=1\n",
        ),
    ]);
    let snap = C5Store::builder()
        .file(at(&d, "a.yaml"))
        .dotenv(at(&d, ".env"))
        .env_vars("APP", Vec::<(String, String)>::new())
        .load()
        .unwrap();
    assert_eq!(snap.get::<u16>("db.port").unwrap(), 6000);
    assert_eq!(snap.get::<u16>("db.maxConn").unwrap(), 9);
    assert!(
        !snap.exists("other"),
        "variables without the prefix are ignored"
    );
    let o = snap
        .explain("db.maxConn")
        .unwrap()
        .origin()
        .unwrap()
        .clone();
    assert_eq!(
        (o.line, o.col, o.var.as_deref()),
        (3, 8, Some("APP__DB__MAX_CONN"))
    );
    assert_eq!(&*o.source, "dotenv");
    let snap = C5Store::builder()
        .optional_dotenv(at(&d, "missing.env"))
        .load()
        .unwrap();
    assert!(!snap.exists("db"));
}

#[test]
fn memory_and_serializable_defaults() {
    #[derive(serde::Serialize)]
    struct Defaults {
        port: u16,
        hosts: Vec<&'static str>,
    }
    let snap = C5Store::builder()
        .defaults(&Defaults {
            port: 80,
            hosts: vec!["a"],
        })
        .unwrap()
        .source(MemorySource::new("override", Value::from(json!({"hosts": ["b"]}))).append_arrays())
        .load()
        .unwrap();
    assert_eq!(snap.get::<u16>("port").unwrap(), 80);
    assert_eq!(snap.get::<Vec<String>>("hosts").unwrap(), ["a", "b"]);
    assert_eq!(
        &*snap.explain("hosts[1]").unwrap().origin().unwrap().source,
        "memory:override"
    );
    assert_eq!(
        &*snap.explain("port").unwrap().origin().unwrap().source,
        "memory:defaults"
    );
}

#[test]
fn append_arrays_opt_in_per_file() {
    let d = dir_with(&[("a.yaml", "l: [1, 2]\n"), ("b.yaml", "l: [3]\n")]);
    let snap = C5Store::builder()
        .file(at(&d, "a.yaml"))
        .source(FileSource::new(at(&d, "b.yaml")).append_arrays())
        .load()
        .unwrap();
    assert_eq!(snap.get::<Vec<i64>>("l").unwrap(), [1, 2, 3]);
    assert_eq!(snap.explain("l[2]").unwrap().origin().unwrap().line, 1);
    let snap = C5Store::builder()
        .file(at(&d, "a.yaml"))
        .file(at(&d, "b.yaml"))
        .load()
        .unwrap();
    assert_eq!(snap.get::<Vec<i64>>("l").unwrap(), [3]);
}

#[test]
fn figment_provider_as_a_source() {
    use figment::providers::{Format, Serialized, Toml};
    let d = dir_with(&[("f.toml", "[db]\nport = 7\nname = \"fig\"\n")]);
    let snap = C5Store::builder()
        .memory("base", Value::from(json!({"db": {"port": 1, "host": "h"}})))
        .provider(Toml::file(at(&d, "f.toml")))
        .provider(Serialized::defaults(json!({"extra": [1, 2]})))
        .load()
        .unwrap();
    assert_eq!(snap.get::<u16>("db.port").unwrap(), 7);
    assert_eq!(snap.get::<&str>("db.host").unwrap(), "h");
    assert_eq!(snap.get::<Vec<u8>>("extra").unwrap(), [1, 2]);
    let o = snap.explain("db.port").unwrap().origin().unwrap().clone();
    assert!(o.source.starts_with("provider:"), "{o}");
    assert_eq!(file_name(o.file.as_deref().unwrap()), "f.toml");
}

#[test]
fn snapshot_is_a_figment_provider() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Db {
        host: String,
        port: u16,
    }
    let snap = C5Store::builder()
        .memory("m", Value::from(json!({"db": {"host": "h", "port": 5}})))
        .load()
        .unwrap();
    let fig = figment::Figment::from(snap.clone())
        .merge(figment::providers::Serialized::default("db.port", 6));
    let db: Db = fig.extract_inner("db").unwrap();
    assert_eq!(
        db,
        Db {
            host: "h".into(),
            port: 6
        }
    );
}
