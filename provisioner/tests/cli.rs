//! The `c5` binary end to end: render/get/explain/demo on real files, exit codes and messages.
// Tests may unwrap: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

fn c5(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_c5"));
    cmd.args(args).current_dir(cwd).env_remove("C5_PROFILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn fixture() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let w = |name: &str, text: &str| std::fs::write(d.path().join(name), text).unwrap();
    w(
        "base.yaml",
        "db:\n  host: localhost\n  port: 5432\n  pool:\n    max: 10\nhosts: [a, b]\n",
    );
    w(
        "prod.toml",
        "[db]\nhost = \"db.prod\"\n\n[db.pool]\nmax = 50\n",
    );
    w("local.json", "{\n  \"db\": {\"pool\": {\"max\": 99}}\n}\n");
    d
}

#[test]
fn render_merges_in_order_in_each_format() {
    let d = fixture();
    let o = c5(
        &[
            "render",
            "--format",
            "json",
            "base.yaml",
            "prod.toml",
            "local.json",
        ],
        d.path(),
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["db"]["host"], "db.prod");
    assert_eq!(v["db"]["port"], 5432);
    assert_eq!(v["db"]["pool"]["max"], 99);
    assert_eq!(v["hosts"], serde_json::json!(["a", "b"]));

    let o = c5(&["render", "base.yaml", "prod.toml"], d.path(), &[]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).contains("db:\n  host: db.prod\n  port: 5432\n"),
        "{}",
        stdout(&o)
    );

    let o = c5(&["render", "--format", "toml", "base.yaml"], d.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t: toml::Table = stdout(&o).parse().unwrap();
    assert_eq!(t["db"]["port"].as_integer(), Some(5432));
}

#[test]
fn render_reads_env_with_prefix_and_dotenv_files() {
    let d = fixture();
    std::fs::write(
        d.path().join("app.env"),
        "APP__DB__PORT=7000\nAPP__HOSTS=\"[x, y, z]\"\n",
    )
    .unwrap();
    let o = c5(
        &[
            "render",
            "--format",
            "json",
            "--env-prefix",
            "APP",
            "base.yaml",
            "app.env",
        ],
        d.path(),
        &[("APP__DB__HOST", "from-env"), ("APP__DB__POOL__MAX", "7")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["db"]["host"], "from-env");
    assert_eq!(v["db"]["port"], 7000);
    assert_eq!(v["db"]["pool"]["max"], 7);
    assert_eq!(v["hosts"], serde_json::json!(["x", "y", "z"]));
}

#[test]
fn get_prints_scalars_bare_and_collections_as_json() {
    let d = fixture();
    let o = c5(&["get", "db.port", "base.yaml"], d.path(), &[]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), "5432\n"));
    let o = c5(&["get", "db.host", "base.yaml", "prod.toml"], d.path(), &[]);
    assert_eq!(stdout(&o), "db.prod\n");
    let o = c5(&["get", "hosts[1]", "base.yaml"], d.path(), &[]);
    assert_eq!(stdout(&o), "b\n");
    let o = c5(&["get", "db.pool", "base.yaml"], d.path(), &[]);
    assert_eq!(stdout(&o), "{\"max\":10}\n");
}

#[test]
fn absent_key_exits_1_and_config_error_exits_2() {
    let d = fixture();
    let o = c5(&["get", "db.nope", "base.yaml"], d.path(), &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty());
    assert!(stderr(&o).contains("db.nope"), "{}", stderr(&o));
    let o = c5(&["explain", "nope", "base.yaml"], d.path(), &[]);
    assert_eq!(o.status.code(), Some(1));

    std::fs::write(d.path().join("bad.yaml"), "a: 1\nb: [1, 2\n").unwrap();
    std::fs::write(d.path().join("bad.toml"), "x = \n").unwrap();
    let o = c5(
        &["get", "a", "bad.yaml", "bad.toml", "missing.json"],
        d.path(),
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("3 configuration errors"), "{err}");
    assert!(err.contains("bad.yaml:"), "{err}");
    assert!(err.contains("bad.toml:1:"), "{err}");
    assert!(err.contains("missing.json: not found"), "{err}");
    assert!(stdout(&o).is_empty());
}

#[test]
fn explain_shows_winner_and_overridden_layers_with_positions() {
    let d = fixture();
    let o = c5(
        &[
            "explain",
            "db.pool.max",
            "base.yaml",
            "prod.toml",
            "local.json",
        ],
        d.path(),
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "db.pool.max = 99");
    assert_eq!(lines[1], "  from local.json:2:26 (json)");
    assert_eq!(lines[2], "  over 50 at prod.toml:5:7 (toml)");
    assert_eq!(lines[3], "  over 10 at base.yaml:5:10 (yaml)");
}

#[test]
fn directories_and_profiles() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("config");
    std::fs::create_dir(&cfg).unwrap();
    std::fs::write(
        cfg.join("default.yaml"),
        "level: default\nonly_default: 1\n",
    )
    .unwrap();
    std::fs::write(cfg.join("prod.yaml"), "level: prod\n").unwrap();
    std::fs::write(cfg.join("dev.yaml"), "level: dev\n").unwrap();
    std::fs::write(cfg.join("local.toml"), "local = true\n").unwrap();
    let o = c5(
        &["get", "level", "--profile", "prod", "config"],
        d.path(),
        &[],
    );
    assert_eq!(stdout(&o), "prod\n", "{}", stderr(&o));
    let o = c5(&["get", "level", "config"], d.path(), &[]);
    assert_eq!(stdout(&o), "default\n");
    let o = c5(
        &["get", "level", "config"],
        d.path(),
        &[("C5_PROFILE", "dev")],
    );
    assert_eq!(stdout(&o), "dev\n", "profile from $C5_PROFILE");
    let o = c5(
        &["get", "level", "--profile", "prod", "config"],
        d.path(),
        &[("C5_PROFILE", "dev")],
    );
    assert_eq!(stdout(&o), "prod\n", "--profile wins over $C5_PROFILE");
    let o = c5(
        &["get", "local", "--profile", "dev", "config"],
        d.path(),
        &[],
    );
    assert_eq!(stdout(&o), "true\n");
}

#[test]
fn demo_renders_the_bundled_example_with_provenance_from_any_directory() {
    let elsewhere = tempfile::tempdir().unwrap();
    let o = c5(&["demo"], elsewhere.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("max: 50  # "), "{out}");
    assert!(out.contains("config/production.toml:10:7 (toml)"), "{out}");
    assert!(out.contains("(APP__DB__POOL__MIN)"), "{out}");
    assert!(out.contains("over 10 at "), "{out}");
}

#[test]
fn usage_errors_exit_2() {
    let d = fixture();
    let o = c5(&["render"], d.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    let o = c5(&["render", "--format", "xml", "base.yaml"], d.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
}
