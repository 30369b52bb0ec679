//! No input makes a parser panic: random bytes and mutated documents for each format and for env
//! values. (A panic fails the test; errors are fine.)

use c5store::{C5Store, Format, parse};
use proptest::prelude::*;

const SEEDS: [&str; 4] = [
    "a: &x {b: [1, 2, {c: d}]}\nd: *x\ne:\n  <<: *x\n  f: 'g'\n",
    "[t]\na = 1\nb = [1, {c = 2}]\n[[arr]]\nx = 1979-05-27T07:32:00Z\n",
    "{\"a\": [1, 2.5e3, \"x\\u00e9\", {\"b\": null}], \"c\": true}",
    "A=1\nAPP__B=\"x y\"\nexport C='z'\n",
];

fn mutate(seed: &str, cuts: &[(usize, u8)]) -> String {
    let mut b = seed.as_bytes().to_vec();
    for &(i, c) in cuts {
        if b.is_empty() {
            break;
        }
        let i = i % b.len();
        match c % 3 {
            0 => b[i] = c,
            1 => {
                b.remove(i);
            }
            _ => b.insert(i, c),
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,64}") {
        for f in [Format::Yaml, Format::Toml, Format::Json] {
            let _ = parse(f, &text, None);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..96)) {
        let text = String::from_utf8_lossy(&bytes);
        for f in [Format::Yaml, Format::Toml, Format::Json] {
            let _ = parse(f, &text, None);
        }
    }

    #[test]
    fn mutated_documents_never_panic(cuts in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        for (seed, f) in SEEDS[..3].iter().zip([Format::Yaml, Format::Toml, Format::Json]) {
            let _ = parse(f, &mutate(seed, &cuts), None);
        }
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.env");
        std::fs::write(&p, mutate(SEEDS[3], &cuts)).unwrap();
        let _ = C5Store::builder().dotenv(&p).load();
    }

    #[test]
    fn env_values_and_names_never_panic(name in "APP__[A-Za-z0-9_]{0,12}", value in "\\PC{0,24}") {
        let _ = C5Store::builder()
            .memory("m", c5store::Value::from(serde_json::json!({"a": [1, {"b": 2}], "c": {"d": 1}})))
            .env_vars("APP", [(name, value)])
            .load();
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for (f, open) in [(Format::Yaml, "["), (Format::Json, "["), (Format::Toml, "")] {
        let text = match f {
            Format::Toml => format!("a = {}{}", "[".repeat(5000), "]".repeat(5000)),
            _ => format!("{{\"a\": {}{}}}", open.repeat(100_000), "]".repeat(100_000)),
        };
        assert!(parse(f, &text, None).is_err(), "{f:?}");
    }
}
