//! `c5 keygen/encrypt/decrypt/rekey` and secrets in `render/get/explain`, through the binary.
// Tests may unwrap: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn c5(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_c5"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("C5_PROFILE")
        .env_remove("C5_IDENTITY_FILE")
        .env_remove("C5_AGE_KEY")
        .env_remove("CREDENTIALS_DIRECTORY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status,
        out(&o),
        err(&o)
    );
    out(&o)
}

fn out(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

struct Keys {
    dir: tempfile::TempDir,
    a: String,
    b: String,
}

impl Keys {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let a = ok(c5(&["keygen", "-o", "a.key"], dir.path(), &[]))
            .trim()
            .to_owned();
        let b = ok(c5(&["keygen", "-o", "b.key"], dir.path(), &[]))
            .trim()
            .to_owned();
        Keys { dir, a, b }
    }
    fn p(&self) -> &Path {
        self.dir.path()
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.p().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.p().join(name)).unwrap()
    }
}

#[test]
fn keygen_writes_a_0600_identity_and_prints_its_recipient() {
    let k = Keys::new();
    assert!(k.a.starts_with("age1") && k.a != k.b);
    let text = k.read("a.key");
    assert!(text.contains(&format!("# public key: {}", k.a)));
    assert!(text.contains("AGE-SECRET-KEY-1"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(k.p().join("a.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    let again = c5(&["keygen", "-o", "a.key"], k.p(), &[]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "refuses to overwrite an identity"
    );
    let to_stdout = c5(&["keygen"], k.p(), &[]);
    assert!(out(&to_stdout).contains("AGE-SECRET-KEY-1") && err(&to_stdout).contains("age1"));
}

const YAML: &str = "# service config\ndb:\n  user: app # the login\n  password: hunter2 # keep me\n  nested:\n    token: t0k\n    port: 5432\nlast: true\n";
const TOML: &str = "# service config\n[db]\nuser = \"app\" # the login\npassword = \"hunter2\" # keep me\n\n[db.nested]\ntoken = \"t0k\"\nport = 5432\n";
const JSON: &str = "{\"z\": 1, \"db\": {\"user\": \"app\", \"password\": \"hunter2\", \"nested\": {\"token\": \"t0k\", \"port\": 5432}}, \"a\": 2}";

#[test]
fn encrypt_decrypt_round_trip_in_every_format_keeps_layout() {
    let k = Keys::new();
    for (name, text) in [("c.yaml", YAML), ("c.toml", TOML), ("c.json", JSON)] {
        k.write(name, text);
        ok(c5(
            &["encrypt", "-r", &k.a, name, "db.password"],
            k.p(),
            &[],
        ));
        ok(c5(
            &["encrypt", "-r", &k.a, "--all-under", "db.nested", name],
            k.p(),
            &[],
        ));
        let enc = k.read(name);
        assert!(
            !enc.contains("hunter2") && !enc.contains("t0k"),
            "{name}: {enc}"
        );
        assert_eq!(enc.matches(".c5encval").count(), 3, "{name}: {enc}");
        if name != "c.json" {
            assert!(enc.starts_with("# service config\n"), "{name}: {enc}");
            assert!(
                enc.contains("# keep me") && enc.contains("# the login"),
                "{name}: {enc}"
            );
        } else {
            let order: Vec<&str> = ["\"z\"", "\"db\"", "\"a\""].into_iter().collect();
            let pos: Vec<usize> = order.iter().map(|k| enc.find(k).unwrap()).collect();
            assert!(pos.windows(2).all(|w| w[0] < w[1]), "key order kept: {enc}");
        }
        // already encrypted: refused without --force
        let again = c5(&["encrypt", "-r", &k.a, name, "db.password"], k.p(), &[]);
        assert_eq!(again.status.code(), Some(2));
        assert!(err(&again).contains("already encrypted"), "{}", err(&again));
        // a map needs --all-under
        let map = c5(&["encrypt", "-r", &k.a, name, "db"], k.p(), &[]);
        assert!(err(&map).contains("--all-under"), "{}", err(&map));
        // single values
        let one = ok(c5(
            &[
                "decrypt",
                "-i",
                "a.key",
                name,
                "db.password",
                "db.nested.port",
            ],
            k.p(),
            &[],
        ));
        assert_eq!(one, "hunter2\n5432\n");
        // whole document, same format, plaintext back in place
        let doc = ok(c5(&["decrypt", "-i", "a.key", name], k.p(), &[]));
        assert!(
            doc.contains("hunter2") && doc.contains("t0k") && !doc.contains(".c5encval"),
            "{doc}"
        );
        if name != "c.json" {
            assert!(doc.contains("# keep me"), "{doc}");
        }
        // --force re-encrypts with an identity that opens the value
        ok(c5(
            &[
                "encrypt",
                "--force",
                "-i",
                "a.key",
                "-r",
                &k.b,
                name,
                "db.password",
            ],
            k.p(),
            &[],
        ));
        let b = ok(c5(
            &["decrypt", "-i", "b.key", name, "db.password"],
            k.p(),
            &[],
        ));
        assert_eq!(b, "hunter2\n");
    }
}

#[test]
fn decrypt_without_identity_fails_and_writes_plaintext_only_with_o() {
    let k = Keys::new();
    k.write("c.yaml", YAML);
    ok(c5(
        &["encrypt", "-r", &k.a, "c.yaml", "db.password"],
        k.p(),
        &[],
    ));
    let no = c5(&["decrypt", "-i", "b.key", "c.yaml"], k.p(), &[]);
    assert_eq!(no.status.code(), Some(2));
    assert!(
        err(&no).contains("c.yaml:4:13: `db.password`"),
        "file:line:col of the value: {}",
        err(&no)
    );
    assert!(
        err(&no).contains("db.password") && err(&no).contains("no identity"),
        "{}",
        err(&no)
    );
    let o = c5(
        &["decrypt", "-i", "a.key", "-o", "plain.yaml", "c.yaml"],
        k.p(),
        &[],
    );
    assert!(
        o.status.success() && out(&o).is_empty(),
        "nothing on stdout with -o"
    );
    assert!(k.read("plain.yaml").contains("hunter2"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(k.p().join("plain.yaml"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn wrong_key_errors_name_file_line_col_in_toml_and_json() {
    let k = Keys::new();
    // after `encrypt`, TOML keeps its layout (value at line 4, column 12) and JSON is
    // pretty-printed (`    "password": {` puts the value at line 5, column 17)
    for (name, text, at) in [
        ("c.toml", TOML, "c.toml:4:12: `db.password`"),
        ("c.json", JSON, "c.json:5:17: `db.password`"),
    ] {
        k.write(name, text);
        ok(c5(
            &["encrypt", "-r", &k.a, name, "db.password"],
            k.p(),
            &[],
        ));
        let no = c5(&["decrypt", "-i", "b.key", name], k.p(), &[]);
        assert_eq!(no.status.code(), Some(2), "{name}: {}", err(&no));
        assert!(err(&no).contains(at), "{name}: want {at}: {}", err(&no));
        assert!(err(&no).contains("no identity"), "{name}: {}", err(&no));
        let rekey = c5(&["rekey", "-i", "b.key", "-r", &k.b, name], k.p(), &[]);
        assert_eq!(rekey.status.code(), Some(2), "{name}: {}", err(&rekey));
        assert!(
            err(&rekey).contains(at),
            "{name}: want {at}: {}",
            err(&rekey)
        );
        for o in [&no, &rekey] {
            let (stdout, stderr) = (out(o), err(o));
            assert!(!stderr.contains("hunter2") && !stdout.contains("hunter2"));
            assert!(!stderr.contains("AGE-SECRET-KEY") && !stdout.contains("AGE-SECRET-KEY"));
        }
    }
}

#[test]
fn multi_recipient_and_rekey_rotation_with_counts_per_file() {
    let k = Keys::new();
    let files: Vec<String> = (0..5).map(|i| format!("f{i}.yaml")).collect();
    for (i, f) in files.iter().enumerate() {
        k.write(f, &format!("s:\n  a: one{i}\n  b: two{i}\n  c: plain\n"));
        ok(c5(
            &["encrypt", "-r", &k.a, "-r", &k.b, f, "s.a", "s.b"],
            k.p(),
            &[],
        ));
    }
    for key in ["a.key", "b.key"] {
        assert_eq!(
            ok(c5(&["decrypt", "-i", key, "f0.yaml", "s.a"], k.p(), &[])),
            "one0\n"
        );
    }
    // rotate: drop a, keep b, add a fresh c (from a recipients file)
    let c = ok(c5(&["keygen", "-o", "c.key"], k.p(), &[]))
        .trim()
        .to_owned();
    k.write("recipients.txt", &format!("# team\n{}\n{c}\n", k.b));
    let mut args = vec!["rekey", "-i", "a.key", "-R", "recipients.txt"];
    args.extend(files.iter().map(String::as_str));
    let report = ok(c5(&args, k.p(), &[]));
    for f in &files {
        assert!(
            report.contains(&format!("{f}: 2 value(s) re-encrypted")),
            "{report}"
        );
    }
    assert_eq!(
        ok(c5(
            &["decrypt", "-i", "c.key", "f4.yaml", "s.b"],
            k.p(),
            &[]
        )),
        "two4\n"
    );
    assert_eq!(
        ok(c5(
            &["decrypt", "-i", "b.key", "f4.yaml", "s.a"],
            k.p(),
            &[]
        )),
        "one4\n"
    );
    let old = c5(&["decrypt", "-i", "a.key", "f4.yaml", "s.a"], k.p(), &[]);
    assert_eq!(
        old.status.code(),
        Some(2),
        "the removed identity no longer decrypts"
    );
}

#[test]
fn render_get_explain_redact_unless_revealed_and_fail_without_identity() {
    let k = Keys::new();
    k.write("base.yaml", "db:\n  host: h\n  password: dev-password\n");
    k.write(
        "prod.yaml",
        "db:\n  password: leak-canary-xyz\n  list: [leak-canary-abc]\n",
    );
    ok(c5(
        &[
            "encrypt",
            "-r",
            &k.a,
            "prod.yaml",
            "db.password",
            "db.list[0]",
        ],
        k.p(),
        &[],
    ));

    std::fs::create_dir(k.p().join("keys")).unwrap();
    std::fs::copy(k.p().join("a.key"), k.p().join("keys/a.key")).unwrap();
    let render = ok(c5(
        &["render", "-i", "a.key", "base.yaml", "prod.yaml"],
        k.p(),
        &[],
    ));
    assert!(render.contains("password: <redacted>"), "{render}");
    let json = ok(c5(
        &[
            "render",
            "--format",
            "json",
            "--keys-dir",
            "keys",
            "base.yaml",
            "prod.yaml",
        ],
        k.p(),
        &[],
    ));
    assert!(json.contains("\"<redacted>\""), "{json}");
    let get = ok(c5(
        &["get", "db.password", "base.yaml", "prod.yaml"],
        k.p(),
        &[("C5_IDENTITY_FILE", "a.key")],
    ));
    assert_eq!(get.trim(), "<redacted>");
    let explain = c5(
        &[
            "explain",
            "-i",
            "a.key",
            "db.password",
            "base.yaml",
            "prod.yaml",
        ],
        k.p(),
        &[],
    );
    let explained = ok(explain);
    assert!(
        explained.contains("prod.yaml:2:") && explained.contains("base.yaml:3:"),
        "{explained}"
    );
    for text in [&render, &json, &get, &explained] {
        assert!(
            !text.contains("leak-canary") && !text.contains("dev-password"),
            "{text}"
        );
    }

    let revealed = ok(c5(
        &[
            "render",
            "--reveal",
            "-i",
            "a.key",
            "base.yaml",
            "prod.yaml",
        ],
        k.p(),
        &[],
    ));
    assert!(
        revealed.contains("leak-canary-xyz") && revealed.contains("leak-canary-abc"),
        "{revealed}"
    );
    let got = ok(c5(
        &[
            "get",
            "--reveal",
            "-i",
            "a.key",
            "db.password",
            "base.yaml",
            "prod.yaml",
        ],
        k.p(),
        &[],
    ));
    assert_eq!(got.trim(), "leak-canary-xyz");

    for args in [
        vec!["render", "-i", "b.key", "base.yaml", "prod.yaml"],
        vec!["get", "db.host", "base.yaml", "prod.yaml"],
    ] {
        let o = c5(&args, k.p(), &[]);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let e = err(&o);
        assert!(
            e.contains("db.password") && e.contains("prod.yaml:2:") && e.contains("no identity"),
            "{e}"
        );
        assert!(!e.contains("leak-canary") && out(&o).is_empty(), "{e}");
    }
}

#[test]
fn key_file_with_open_permissions_warns() {
    let k = Keys::new();
    k.write("c.yaml", "x: 1\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(k.p().join("a.key"), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        let o = c5(&["render", "-i", "a.key", "c.yaml"], k.p(), &[]);
        assert!(o.status.success());
        assert!(
            err(&o).contains("warning: key file a.key is accessible by group or others"),
            "{}",
            err(&o)
        );
        assert!(!err(&o).contains("AGE-SECRET-KEY"));
    }
}

#[test]
fn identities_from_env_key_and_systemd_credentials_directory() {
    let k = Keys::new();
    k.write("c.yaml", "db:\n  password: from-env-test\n");
    ok(c5(
        &["encrypt", "-r", &k.a, "c.yaml", "db.password"],
        k.p(),
        &[],
    ));
    let key_text = k.read("a.key");
    let via_env = ok(c5(
        &["get", "--reveal", "db.password", "c.yaml"],
        k.p(),
        &[("C5_AGE_KEY", &key_text)],
    ));
    assert_eq!(via_env.trim(), "from-env-test");
    // systemd: a credentials directory holding the key next to an unrelated credential
    std::fs::create_dir(k.p().join("creds")).unwrap();
    std::fs::copy(k.p().join("a.key"), k.p().join("creds/app.key")).unwrap();
    std::fs::write(k.p().join("creds/db-password"), "not a key").unwrap();
    let creds = k.p().join("creds");
    let via_creds = ok(c5(
        &["get", "--reveal", "db.password", "c.yaml"],
        k.p(),
        &[("CREDENTIALS_DIRECTORY", creds.to_str().unwrap())],
    ));
    assert_eq!(via_creds.trim(), "from-env-test");
    // -i wins over the environment: b cannot open it
    let o = c5(
        &["get", "-i", "b.key", "db.password", "c.yaml"],
        k.p(),
        &[("C5_AGE_KEY", &key_text)],
    );
    assert_eq!(o.status.code(), Some(2));
}
