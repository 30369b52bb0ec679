//! Secrets through the public API: every format and algorithm round-trips, SOPS and C5Store
//! fixtures load, failures name key path and file:line:col (the leak test is `tests/leak.rs`).

use std::io::Write;
use std::path::{Path, PathBuf};

use c5store::secret::c5encval::{encrypt_age, parse_recipient};
use c5store::secret::{Keyring, REDACTED, ecies};
use c5store::{C5Store, Value};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/secrets")
        .join(name)
}

fn keyring(files: &[&str]) -> Keyring {
    let mut k = Keyring::new();
    for f in files {
        k.load_file(&fixture(f)).unwrap();
    }
    k
}

fn alice_recipient() -> String {
    let text = std::fs::read_to_string(fixture("alice.agekey")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_owned()
}

fn age_payload(plaintext: &str) -> String {
    encrypt_age(
        &[parse_recipient(&alice_recipient()).unwrap()],
        plaintext.as_bytes(),
    )
    .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    p
}

#[test]
fn age_values_round_trip_in_yaml_toml_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let (y, t, j) = (
        age_payload("yaml-pw"),
        age_payload("toml-pw"),
        age_payload("json-pw"),
    );
    let files = [
        write(
            dir.path(),
            "a.yaml",
            &format!("db:\n  host: h\n  password:\n    .c5encval: [age, alice, \"{y}\"]\n"),
        ),
        write(
            dir.path(),
            "b.toml",
            &format!("[api]\ntoken = {{ \".c5encval\" = [\"age\", \"alice\", \"{t}\"] }}\n"),
        ),
        write(
            dir.path(),
            "c.json",
            &format!("{{\"mq\": {{\"pass\": {{\".c5encval\": [\"age\", \"alice\", \"{j}\"]}}}}}}"),
        ),
    ];
    let snap = files
        .iter()
        .fold(C5Store::builder(), |b, f| b.file(f))
        .secrets(keyring(&["alice.agekey"]))
        .load()
        .unwrap();
    assert_eq!(snap.get::<String>("db.password").unwrap(), "yaml-pw");
    assert_eq!(snap.get::<&str>("api.token").unwrap(), "toml-pw");
    assert_eq!(snap.get::<String>("mq.pass").unwrap(), "json-pw");
    assert_eq!(snap.get::<String>("db.host").unwrap(), "h");
    assert!(matches!(snap.value("db.password"), Some(Value::Secret(_))));
}

#[test]
fn go_age_and_c5store_ecies_fixtures_load() {
    let snap = C5Store::builder()
        .file(fixture("go_age.yaml"))
        .file(fixture("c5store_ecies.yaml"))
        .secrets(keyring(&["bob.agekey", "c5test.pem"]))
        .load();
    // bob cannot open the armored value encrypted to alice alone: the error names it
    let err = snap.unwrap_err().to_string();
    assert!(
        err.contains("service.token") && err.contains("go_age.yaml:"),
        "{err}"
    );
    assert!(!err.contains("service.shared"), "{err}");

    let snap = C5Store::builder()
        .file(fixture("go_age.yaml"))
        .file(fixture("c5store_ecies.yaml"))
        .secrets(keyring(&["alice.agekey", "c5test.pem"]))
        .load()
        .unwrap();
    assert_eq!(
        snap.get::<String>("service.token").unwrap(),
        "go-age-armored-secret"
    );
    assert_eq!(
        snap.get::<String>("service.shared").unwrap(),
        "go-age-two-recipients"
    );
    assert_eq!(
        snap.get::<String>("database.password").unwrap(),
        "python-ecies-secret"
    );
    assert_eq!(snap.get::<String>("database.user").unwrap(), "app");
}

#[test]
fn ecies_round_trip_with_a_pem_keys_dir() {
    let dir = tempfile::tempdir().unwrap();
    let secret = x25519_dalek_key(dir.path(), "svc");
    let payload = ecies::encrypt(&secret, b"ecies-pw", &mut rand_rng());
    let cfg = write(
        dir.path(),
        "c.yaml",
        &format!("p:\n  .c5encval: [ecies_x25519, svc, \"{payload}\"]\n"),
    );
    let mut k = Keyring::new();
    k.load_dir(&dir.path().join("keys")).unwrap();
    let snap = C5Store::builder().file(&cfg).secrets(k).load().unwrap();
    assert_eq!(snap.get::<String>("p").unwrap(), "ecies-pw");
}

fn rand_rng() -> impl rand_core_like::Rng {
    rand_core_like::rng()
}

mod rand_core_like {
    pub trait Rng: rand::RngCore + rand::CryptoRng {}
    impl<T: rand::RngCore + rand::CryptoRng> Rng for T {}
    pub fn rng() -> rand::rngs::ThreadRng {
        rand::thread_rng()
    }
}

fn x25519_dalek_key(dir: &Path, name: &str) -> x25519_dalek::PublicKey {
    let secret = x25519_dalek::StaticSecret::random_from_rng(rand::thread_rng());
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    std::fs::write(
        dir.join("keys").join(format!("{name}.pem")),
        ecies::private_key_pem(&secret).as_bytes(),
    )
    .unwrap();
    x25519_dalek::PublicKey::from(&secret)
}

#[test]
fn sops_yaml_and_json_fixtures_load_as_layers() {
    for file in ["sops.yaml", "sops.json"] {
        let snap = C5Store::builder()
            .file(fixture(file))
            .secrets(keyring(&["bob.agekey"]))
            .load()
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            snap.get::<String>("db.password").unwrap(),
            "sops-db-password",
            "{file}"
        );
        assert_eq!(snap.get::<String>("db.user").unwrap(), "app");
        assert_eq!(snap.get::<String>("db.port").unwrap(), "5432");
        assert_eq!(snap.get::<String>("hosts[0]").unwrap(), "a.example");
        assert_eq!(
            snap.get::<String>("api_unencrypted").unwrap(),
            "public-value"
        );
        assert!(!snap.exists("sops"), "metadata is not part of the config");
    }
}

#[test]
fn sops_mac_mismatch_is_a_load_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("sops.yaml")).unwrap();
    let tampered = text.replace(
        "api_unencrypted: \"public-value\"",
        "api_unencrypted: \"evil\"",
    );
    assert_ne!(text, tampered);
    let f = write(dir.path(), "sops.yaml", &tampered);
    let err = C5Store::builder()
        .file(&f)
        .secrets(keyring(&["alice.agekey"]))
        .load()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("MAC mismatch") && err.contains("sops.yaml:"),
        "{err}"
    );
}

#[test]
fn failures_name_key_path_file_line_col_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let good = age_payload("fine");
    let raw = base64_decode(&good);
    let truncated = base64_encode(&raw[..raw.len() - 8]);
    let f = write(
        dir.path(),
        "bad.yaml",
        &format!(
            "a:\n  ok:\n    .c5encval: [age, alice, \"{good}\"]\n  cut:\n    .c5encval: [age, alice, \"{truncated}\"]\n  weird:\n    .c5encval: [rot13, k, \"x\"]\n  short:\n    .c5encval: [age, k]\n"
        ),
    );
    let errs = C5Store::builder()
        .file(&f)
        .secrets(keyring(&["alice.agekey"]))
        .load()
        .unwrap_err();
    let msgs: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(msgs.len(), 3, "{msgs:#?}");
    assert!(
        msgs[0].starts_with("a.cut: cannot decrypt: corrupt or tampered payload: the age payload does not authenticate"),
        "{}",
        msgs[0]
    );
    assert!(msgs[0].contains("bad.yaml:5:"), "{}", msgs[0]);
    assert!(
        msgs[1].starts_with("a.weird: cannot decrypt: unknown algorithm `rot13`")
            && msgs[1].contains("bad.yaml:7:"),
        "{}",
        msgs[1]
    );
    assert!(
        msgs[2].starts_with("a.short: cannot decrypt: malformed")
            && msgs[2].contains("bad.yaml:9:"),
        "{}",
        msgs[2]
    );
    // without a matching identity
    let errs = C5Store::builder()
        .file(&f)
        .secrets(keyring(&["mallory.agekey"]))
        .load()
        .unwrap_err();
    let first = errs.iter().next().unwrap().to_string();
    assert!(
        first.starts_with("a.ok: cannot decrypt: no identity in the keyring")
            && first.contains("bad.yaml:3:"),
        "{first}"
    );
}

fn base64_decode(s: &str) -> Vec<u8> {
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b)
}

#[test]
fn secrets_read_as_typed_scalars_and_as_secret_wrappers() {
    use c5store::secret::Secret;
    let dir = tempfile::tempdir().unwrap();
    let (port, pw, flag) = (
        age_payload("5432"),
        age_payload("s3cr3t"),
        age_payload("true"),
    );
    let file = write(
        dir.path(),
        "a.yaml",
        &format!(
            "db:\n  port:\n    .c5encval: [age, alice, \"{port}\"]\n  password:\n    \
             .c5encval: [age, alice, \"{pw}\"]\n  tls:\n    .c5encval: [age, alice, \"{flag}\"]\n"
        ),
    );
    let snap = C5Store::builder()
        .file(&file)
        .secrets(keyring(&["alice.agekey"]))
        .load()
        .unwrap();
    // The plaintext parses as the requested scalar type.
    assert_eq!(snap.get::<u16>("db.port").unwrap(), 5432);
    assert_eq!(snap.get::<i64>("db.port").unwrap(), 5432);
    assert_eq!(snap.get::<f64>("db.port").unwrap(), 5432.0);
    assert!(snap.get::<bool>("db.tls").unwrap());
    // Secret<T> wrappers read the same way and stay redacted.
    let port: Secret<u16> = snap.get("db.port").unwrap();
    assert_eq!(*port.expose_secret(), 5432);
    let password: Secret<String> = snap.get("db.password").unwrap();
    assert_eq!(password.expose_secret(), "s3cr3t");
    assert_eq!(format!("{password:?}"), REDACTED);
    #[derive(serde::Deserialize)]
    struct Db {
        port: Secret<u16>,
        password: Secret<String>,
    }
    let db: Db = snap.get_into("db").unwrap();
    assert_eq!(*db.port.expose_secret(), 5432);
    assert_eq!(db.password.expose_secret(), "s3cr3t");
    // A secret that does not parse as the type fails without quoting the plaintext.
    let err = snap.get::<u16>("db.password").unwrap_err().to_string();
    assert!(err.contains("db.password"), "{err}");
    assert!(!err.contains("s3cr3t"), "{err}");
}
