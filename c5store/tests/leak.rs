//! The secret leak test, alone in its own test binary: it captures TRACE output with a scoped
//! subscriber, and tracing's per-callsite interest cache is process-wide, so another test hitting
//! the same callsites on another thread at the same moment could hide the events it checks.
#![allow(clippy::unwrap_used)] // a failing unwrap is a failing test

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use c5store::C5Store;
use c5store::secret::c5encval::{encrypt_age, parse_recipient};
use c5store::secret::{Keyring, REDACTED};

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

fn age_payload(plaintext: &str) -> String {
    let text = std::fs::read_to_string(fixture("alice.agekey")).unwrap();
    let recipient = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap();
    encrypt_age(&[parse_recipient(recipient).unwrap()], plaintext.as_bytes()).unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn no_plaintext_leaks_through_debug_display_errors_explain_or_trace_logs() {
    const PLAINTEXTS: [&str; 3] = ["leak-canary-1", "leak-canary-2", "leak-canary-3"];
    let dir = tempfile::tempdir().unwrap();
    let base = write(dir.path(), "base.yaml", "db:\n  password: dev-only\n");
    let f = write(
        dir.path(),
        "prod.yaml",
        &format!(
            "db:\n  password:\n    .c5encval: [age, alice, \"{}\"]\n  list:\n    - .c5encval: [age, alice, \"{}\"]\napi:\n  key:\n    .c5encval: [age, alice, \"{}\"]\n",
            age_payload(PLAINTEXTS[0]),
            age_payload(PLAINTEXTS[1]),
            age_payload(PLAINTEXTS[2])
        ),
    );
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let mut out = String::new();
    tracing::subscriber::with_default(subscriber, || {
        let snap = C5Store::builder()
            .file(&base)
            .file(&f)
            .secrets(keyring(&["alice.agekey"]))
            .load()
            .unwrap();
        assert_eq!(
            snap.get::<String>("api.key").unwrap(),
            PLAINTEXTS[2],
            "the value itself is readable"
        );
        out.push_str(&format!("{snap:?}\n{}\n", snap.root()));
        out.push_str(&serde_json::to_string(snap.root()).unwrap());
        out.push_str(&snap.root().to_json().to_string());
        for key in ["db.password", "db.list[0]", "api.key", "db"] {
            let e = snap.explain(key).unwrap();
            out.push_str(&format!("{e}\n{e:?}\n{:?}\n", snap.value(key)));
        }
        // a wrong-type read must not quote the plaintext either
        out.push_str(&snap.get::<u16>("api.key").unwrap_err().to_string());
        out.push_str(&format!("{:?}", snap.get::<Vec<u8>>("db.password")));
        // a failed load's errors
        let bad = C5Store::builder()
            .file(&f)
            .secrets(keyring(&["mallory.agekey"]))
            .load()
            .unwrap_err();
        out.push_str(&format!("{bad}\n{bad:?}\n"));
        tracing::trace!(snapshot = ?snap, "snapshot loaded");
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("decrypted secret value"),
        "TRACE output was captured: {logs}"
    );
    assert!(out.contains(REDACTED), "{out}");
    assert!(
        out.contains("prod.yaml:3:"),
        "explain shows the origin: {out}"
    );
    assert!(
        !out.contains("dev-only"),
        "explain does not show values a secret overrode: {out}"
    );
    for p in PLAINTEXTS {
        assert!(!out.contains(p), "{p} leaked in output:\n{out}");
        assert!(!logs.contains(p), "{p} leaked in logs:\n{logs}");
    }
}
