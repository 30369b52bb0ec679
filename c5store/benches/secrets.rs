//! Load time of a config with 1,000 age-encrypted values (X25519, one recipient) against the same
//! config in plaintext, through the full builder pipeline (parse → merge → secret resolution →
//! snapshot), plus the cost of decrypting one `.c5encval` value on its own.
//!
//! Run: `CARGO_TARGET_DIR=/work/target-secrets cargo bench -p c5store --bench secrets`

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use c5store::C5Store;
use c5store::secret::c5encval::{encrypt_age, parse_recipient};
use c5store::secret::{Keyring, decrypt_envelope, envelope_value, parse_envelope};
use criterion::Criterion;

const VALUES: usize = 1_000;

fn write_configs(dir: &Path, recipient: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let r = [parse_recipient(recipient).expect("recipient")];
    let (mut plain, mut enc) = (String::from("secrets:\n"), String::from("secrets:\n"));
    for i in 0..VALUES {
        let v = format!("value-{i:04}-s3cr3t");
        let _ = writeln!(plain, "  k{i:04}: {v}");
        let payload = encrypt_age(&r, v.as_bytes()).expect("encrypt");
        let _ = writeln!(
            enc,
            "  k{i:04}:\n    .c5encval: [age, bench, \"{payload}\"]"
        );
    }
    let (p, e) = (dir.join("plain.yaml"), dir.join("encrypted.yaml"));
    std::fs::write(&p, plain).expect("write");
    std::fs::write(&e, enc).expect("write");
    (p, e)
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public().to_string();
    let (plain, enc) = write_configs(dir.path(), &recipient);
    let mut k = Keyring::new();
    k.add_x25519(id, "bench");
    let keyring = Arc::new(k);

    // sanity: both load and agree
    let a = C5Store::builder().file(&plain).load().expect("plain");
    let b = C5Store::builder()
        .file(&enc)
        .secrets(keyring.clone())
        .load()
        .expect("encrypted");
    assert_eq!(
        a.get::<String>("secrets.k0999").expect("plain value"),
        b.get::<String>("secrets.k0999").expect("secret value")
    );

    let one = envelope_value(
        "age",
        "bench",
        &encrypt_age(&[parse_recipient(&recipient).expect("r")], b"one-value").expect("encrypt"),
    );

    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut g = c.benchmark_group("load_1000_values");
    g.bench_function("plaintext", |bch| {
        bch.iter(|| {
            black_box(
                C5Store::builder()
                    .file(black_box(&plain))
                    .load()
                    .expect("load"),
            )
        })
    });
    g.bench_function("age_x25519", |bch| {
        bch.iter(|| {
            black_box(
                C5Store::builder()
                    .file(black_box(&enc))
                    .secrets(keyring.clone())
                    .load()
                    .expect("load"),
            )
        })
    });
    g.finish();
    c.bench_function("decrypt_one_age_value", |bch| {
        bch.iter(|| {
            let env = parse_envelope(black_box(&one)).expect("envelope");
            black_box(decrypt_envelope(&env, &keyring).expect("decrypt"))
        })
    });
    c.final_summary();
}
