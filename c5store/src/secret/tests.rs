//! Unit tests of the secret layer: round trips, compatibility fixtures and failure modes.

use std::path::PathBuf;

use super::c5encval::{self, ALG_AGE, parse_recipient};
use super::*;
use crate::value::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/secrets")
        .join(name)
}

fn x25519() -> (age::x25519::Identity, String) {
    let id = age::x25519::Identity::generate();
    let r = id.to_public().to_string();
    (id, r)
}

fn keyring_with(ids: Vec<age::x25519::Identity>) -> Keyring {
    let mut k = Keyring::new();
    for id in ids {
        k.add_x25519(id, "test");
    }
    k
}

fn age_env(recipients: &[&str], plaintext: &str) -> Value {
    let rs: Vec<_> = recipients
        .iter()
        .map(|r| parse_recipient(r).unwrap())
        .collect();
    envelope_value(
        ALG_AGE,
        "test",
        &c5encval::encrypt_age(&rs, plaintext.as_bytes()).unwrap(),
    )
}

fn no_locate(_: &str) -> Option<String> {
    None
}

fn tree(pairs: Vec<(&str, Value)>) -> Value {
    Value::Map(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

fn secret_at<'a>(t: &'a Value, path: &str) -> &'a str {
    match t.get_path(path) {
        Some(Value::Secret(s)) => s.expose_secret(),
        other => panic!("{path} is not a secret: {other:?}"),
    }
}

#[test]
fn age_round_trip_resolves_to_redacted_secret() {
    let (id, r) = x25519();
    let mut t = tree(vec![(
        "db",
        tree(vec![
            ("password", age_env(&[&r], "pw-1")),
            ("port", Value::Int(1)),
        ]),
    )]);
    let n = resolve_secrets(&mut t, &keyring_with(vec![id]), &no_locate).unwrap();
    assert_eq!(n, 1);
    assert_eq!(secret_at(&t, "db.password"), "pw-1");
    assert_eq!(t.get_path("db.port"), Some(&Value::Int(1)));
    let shown = format!("{t} {t:?} {}", serde_json::to_string(&t).unwrap());
    assert!(!shown.contains("pw-1"), "{shown}");
    assert!(shown.contains(REDACTED));
}

#[test]
fn multi_recipient_each_identity_decrypts_alone() {
    let (a, ra) = x25519();
    let (b, rb) = x25519();
    let env = age_env(&[&ra, &rb], "shared");
    for id in [a, b] {
        let mut t = tree(vec![("s", env.clone())]);
        resolve_secrets(&mut t, &keyring_with(vec![id]), &no_locate).unwrap();
        assert_eq!(secret_at(&t, "s"), "shared");
    }
}

#[test]
fn rotation_old_identity_no_longer_decrypts() {
    let (old, r_old) = x25519();
    let (new, r_new) = x25519();
    let env = age_env(&[&r_old], "rotate-me");
    let plain = decrypt_envelope(
        &parse_envelope(&env).unwrap(),
        &keyring_with(vec![old.clone()]),
    )
    .unwrap();
    let rotated = age_env(&[&r_new], plain.expose_secret());
    let mut t = tree(vec![("s", rotated.clone())]);
    resolve_secrets(&mut t, &keyring_with(vec![new]), &no_locate).unwrap();
    assert_eq!(secret_at(&t, "s"), "rotate-me");
    let mut t = tree(vec![("s", rotated)]);
    let errs = resolve_secrets(&mut t, &keyring_with(vec![old]), &no_locate).unwrap_err();
    assert!(matches!(
        errs[0].reason,
        DecryptFailure::NoMatchingIdentity { .. }
    ));
}

#[test]
fn wrong_key_names_key_path_and_location_and_never_nulls() {
    let (_, r) = x25519();
    let (other, _) = x25519();
    let mut t = tree(vec![(
        "db",
        tree(vec![
            ("password", age_env(&[&r], "secret-pw")),
            ("x", age_env(&[&r], "x")),
        ]),
    )]);
    let locate = |p: &str| (p == "db.password").then(|| "conf/prod.yaml:3:5".to_owned());
    let errs = resolve_secrets(&mut t, &keyring_with(vec![other]), &locate).unwrap_err();
    assert_eq!(errs.len(), 2, "every failing value is reported");
    let msg = errs[0].to_string();
    assert!(
        msg.starts_with("conf/prod.yaml:3:5: `db.password`: cannot decrypt: no identity"),
        "{msg}"
    );
    assert!(!msg.contains("secret-pw"));
    assert!(
        is_envelope(t.get_path("db.password").unwrap()),
        "the failed value is left as it was"
    );
}

#[test]
fn truncated_tampered_unknown_and_malformed() {
    let (id, r) = x25519();
    let k = keyring_with(vec![id]);
    let env = age_env(&[&r], "tamper-target");
    let payload = parse_envelope(&env).unwrap().payload.to_owned();
    let raw = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &payload).unwrap();
    let enc = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
    let check = |v: Value| {
        let e = parse_envelope(&v).and_then(|e| decrypt_envelope(&e, &k));
        e.map(|s| s.expose_secret().clone()).unwrap_err()
    };
    // cut inside the header: truncated; cut inside the payload: it no longer authenticates
    assert_eq!(
        check(envelope_value("age", "k", &enc(&raw[..60]))),
        DecryptFailure::Truncated
    );
    let cut = check(envelope_value("age", "k", &enc(&raw[..raw.len() - 10])));
    assert!(cut.to_string().contains("cut short or modified"), "{cut}");
    let mut tampered = raw.clone();
    let last = tampered.len() - 3;
    tampered[last] ^= 0x40;
    assert!(matches!(
        check(envelope_value("age", "k", &enc(&tampered))),
        DecryptFailure::Corrupt(_)
    ));
    assert!(matches!(
        check(envelope_value("age", "k", "%%%")),
        DecryptFailure::Corrupt(_)
    ));
    assert_eq!(
        check(envelope_value("rot13", "k", &payload)),
        DecryptFailure::UnknownAlgorithm("rot13".into())
    );
    let two = Value::Map(
        [(C5ENCVAL_KEY.into(), Value::from(vec!["age", "k"]))]
            .into_iter()
            .collect(),
    );
    assert!(matches!(check(two), DecryptFailure::Malformed(_)));
    let msg = DecryptError::new(
        "a.b",
        Some("f.yaml:1:2".into()),
        check(envelope_value("rot13", "k", &payload)),
    )
    .to_string();
    assert_eq!(
        msg,
        "f.yaml:1:2: `a.b`: cannot decrypt: unknown algorithm `rot13` (known: age, ecies_x25519)"
    );
}

#[test]
fn armored_payload_and_passphrase() {
    let (id, r) = x25519();
    let rec = parse_recipient(&r).unwrap();
    let mut buf = Vec::new();
    let enc = age::Encryptor::with_recipients(std::iter::once(rec.as_ref() as &dyn age::Recipient))
        .unwrap();
    let armor =
        age::armor::ArmoredWriter::wrap_output(&mut buf, age::armor::Format::AsciiArmor).unwrap();
    let mut w = enc.wrap_output(armor).unwrap();
    std::io::Write::write_all(&mut w, b"armored!").unwrap();
    w.finish().unwrap().finish().unwrap();
    let env = envelope_value("age", "k", std::str::from_utf8(&buf).unwrap());
    let s = decrypt_envelope(&parse_envelope(&env).unwrap(), &keyring_with(vec![id])).unwrap();
    assert_eq!(s.expose_secret(), "armored!");

    let env = envelope_value(
        "age",
        "k",
        &c5encval::encrypt_age_passphrase("correct horse", 10, b"pp").unwrap(),
    );
    let mut k = Keyring::new();
    k.add_passphrase("correct horse", "test");
    assert_eq!(
        decrypt_envelope(&parse_envelope(&env).unwrap(), &k)
            .unwrap()
            .expose_secret(),
        "pp"
    );
    let mut wrong = Keyring::new();
    wrong.add_passphrase("wrong", "test");
    assert!(decrypt_envelope(&parse_envelope(&env).unwrap(), &wrong).is_err());
}

#[test]
fn ssh_ed25519_identity_and_recipient() {
    let mut k = Keyring::new();
    k.load_file(&fixture("ssh_ed25519")).unwrap();
    let public = std::fs::read_to_string(fixture("ssh_ed25519.pub")).unwrap();
    let env = age_env(&[public.trim()], "via-ssh");
    assert_eq!(
        decrypt_envelope(&parse_envelope(&env).unwrap(), &k)
            .unwrap()
            .expose_secret(),
        "via-ssh"
    );
}

#[test]
fn go_age_cli_values_decrypt() {
    // Produced by the reference Go `age` CLI (tests/fixtures/secrets/generate.py).
    let mut k = Keyring::new();
    k.load_file(&fixture("alice.agekey")).unwrap();
    let text = std::fs::read_to_string(fixture("go_age.yaml")).unwrap();
    let armored: String = text
        .lines()
        .skip_while(|l| !l.contains("BEGIN AGE"))
        .take_while(|l| !l.contains("shared:"))
        .map(|l| format!("{}\n", l.trim()))
        .collect();
    let env = envelope_value("age", "alice", &armored);
    assert_eq!(
        decrypt_envelope(&parse_envelope(&env).unwrap(), &k)
            .unwrap()
            .expose_secret(),
        "go-age-armored-secret"
    );
    let b64 = text.split('"').nth(1).unwrap();
    for key in ["alice.agekey", "bob.agekey"] {
        let mut k = Keyring::new();
        k.load_file(&fixture(key)).unwrap();
        let env = envelope_value("age", "team", b64);
        assert_eq!(
            decrypt_envelope(&parse_envelope(&env).unwrap(), &k)
                .unwrap()
                .expose_secret(),
            "go-age-two-recipients"
        );
    }
    let mut mallory = Keyring::new();
    mallory.load_file(&fixture("mallory.agekey")).unwrap();
    let env = envelope_value("age", "team", b64);
    assert!(matches!(
        decrypt_envelope(&parse_envelope(&env).unwrap(), &mallory),
        Err(DecryptFailure::NoMatchingIdentity { .. })
    ));
}

#[test]
fn c5store_ecies_values_decrypt_with_pem_key_by_name() {
    // Produced by Python `cryptography` following C5Store's byte layout (generate.py).
    let text = std::fs::read_to_string(fixture("c5store_ecies.yaml")).unwrap();
    let payload = text.split('"').nth(5).unwrap();
    let env = envelope_value("ecies_x25519", "c5test", payload);
    let mut k = Keyring::new();
    k.load_dir(&fixture("")).unwrap_or_default();
    let mut k2 = Keyring::new();
    k2.load_file(&fixture("c5test.pem")).unwrap();
    assert_eq!(
        decrypt_envelope(&parse_envelope(&env).unwrap(), &k2)
            .unwrap()
            .expose_secret(),
        "python-ecies-secret"
    );
    let other_name = envelope_value("ecies_x25519", "other", payload);
    assert_eq!(
        decrypt_envelope(&parse_envelope(&other_name).unwrap(), &k2).unwrap_err(),
        DecryptFailure::NoMatchingIdentity {
            algorithm: "ecies_x25519".into(),
            key_name: "other".into()
        }
    );
}

#[test]
fn ecies_round_trip_through_keyring() {
    let mut rng = rand::thread_rng();
    let secret = x25519_dalek::StaticSecret::random_from_rng(&mut rng);
    let payload = ecies::encrypt(&x25519_dalek::PublicKey::from(&secret), b"c5", &mut rng);
    let mut k = Keyring::new();
    k.add_c5store_key("app", secret, "test");
    let mut t = tree(vec![("p", envelope_value("ecies_x25519", "app", &payload))]);
    resolve_secrets(&mut t, &k, &no_locate).unwrap();
    assert_eq!(secret_at(&t, "p"), "c5");
}

fn sops_fixture_json() -> Value {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("sops.json")).unwrap()).unwrap();
    Value::from(v)
}

#[test]
fn sops_json_fixture_decrypts_and_verifies_mac() {
    for key in ["alice.agekey", "bob.agekey"] {
        let mut k = Keyring::new();
        k.load_file(&fixture(key)).unwrap();
        let mut doc = sops_fixture_json();
        sops::decrypt_document(&mut doc, &k, &no_locate).unwrap();
        assert_eq!(secret_at(&doc, "db.password"), "sops-db-password");
        assert_eq!(secret_at(&doc, "db.port"), "5432");
        assert_eq!(secret_at(&doc, "db.tls"), "True");
        assert_eq!(secret_at(&doc, "hosts[1]"), "b.example");
        assert_eq!(
            doc.get_path("api_unencrypted"),
            Some(&Value::from("public-value"))
        );
        assert!(doc.get_path("sops").is_none());
    }
}

#[test]
fn sops_tampering_is_detected() {
    let mut k = Keyring::new();
    k.load_file(&fixture("alice.agekey")).unwrap();
    // an unencrypted value changed: only the MAC can tell
    let mut doc = sops_fixture_json();
    *doc.as_map_mut()
        .unwrap()
        .get_mut("api_unencrypted")
        .unwrap() = Value::from("evil");
    let e = sops::decrypt_document(&mut doc, &k, &|p| Some(format!("sops.json:{p}"))).unwrap_err();
    assert_eq!(e.reason, DecryptFailure::MacMismatch);
    assert_eq!(e.key_path, "sops.mac");
    // two encrypted values swapped: the key path is authenticated data
    let mut doc = sops_fixture_json();
    let db = doc
        .as_map_mut()
        .unwrap()
        .get_mut("db")
        .unwrap()
        .as_map_mut()
        .unwrap();
    let user = db.get("user").unwrap().clone();
    *db.get_mut("password").unwrap() = user;
    let e = sops::decrypt_document(&mut doc, &k, &no_locate).unwrap_err();
    assert_eq!(e.key_path, "db.password");
    assert!(matches!(e.reason, DecryptFailure::Corrupt(_)));
    // no matching identity
    let mut m = Keyring::new();
    m.load_file(&fixture("mallory.agekey")).unwrap();
    let e = sops::decrypt_document(&mut sops_fixture_json(), &m, &no_locate).unwrap_err();
    assert!(
        matches!(e.reason, DecryptFailure::NoMatchingIdentity { .. }),
        "{e}"
    );
}

#[test]
fn sops_round_trip_with_our_encryptor() {
    let (id, r) = x25519();
    let plain = Value::from(
        serde_json::json!({"a": {"b": "x", "n": 7, "f": 1.5, "t": false}, "l": ["p", "q"], "c_unencrypted": 3}),
    );
    let enc = sops::encrypt_document(
        &plain,
        &[(r.clone(), parse_recipient(&r).unwrap())],
        "2026-01-01T00:00:00Z",
    )
    .unwrap();
    assert!(
        enc.get_path("a.b")
            .unwrap()
            .as_str()
            .unwrap()
            .starts_with("ENC[AES256_GCM,")
    );
    assert_eq!(enc.get_path("c_unencrypted"), Some(&Value::Int(3)));
    let mut doc = enc.clone();
    sops::decrypt_document(&mut doc, &keyring_with(vec![id]), &no_locate).unwrap();
    assert_eq!(secret_at(&doc, "a.n"), "7");
    assert_eq!(secret_at(&doc, "a.f"), "1.5");
    assert_eq!(secret_at(&doc, "a.t"), "False");
    assert_eq!(secret_at(&doc, "l[0]"), "p");
}

#[test]
fn keyring_loading_sources_and_permission_warning() {
    let dir = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let path = dir.path().join("k.txt");
    std::fs::write(
        &path,
        format!(
            "# c5\n{}\n",
            age::secrecy::ExposeSecret::expose_secret(&id.to_string())
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let mut k = Keyring::new();
    assert_eq!(k.load_file(&path).unwrap(), 1);
    assert_eq!(k.warnings().len(), 1);
    assert!(k.warnings()[0].contains("chmod 600"));
    // directory: two keys, a public key skipped; a non-key file is an error naming it
    std::fs::copy(fixture("c5test.pem"), dir.path().join("c5test.pem")).unwrap();
    std::fs::write(dir.path().join("k.pub"), "age1whatever").unwrap();
    let mut k = Keyring::new();
    assert_eq!(k.load_dir(dir.path()).unwrap(), 2);
    assert!(format!("{k:?}").contains("c5test"));
    std::fs::write(dir.path().join("notes.md"), "hello, not a key").unwrap();
    let err = Keyring::new().load_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("notes.md") && !err.contains("hello"), "{err}");
    let dbg = format!("{k:?}");
    assert!(!dbg.contains("AGE-SECRET-KEY"), "{dbg}");
}
