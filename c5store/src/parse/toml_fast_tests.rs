//! Differential tests: wherever the one-pass TOML reader answers, its values, key order and
//! positions equal those of the `DeTable` path; on documents it must not take (errors, shapes
//! it leaves to `DeTable`) it declines.

use proptest::prelude::*;

use super::Recorder;
use super::toml::parse_detable;
use super::toml_fast;
use crate::prov_tree::Node;
use crate::value::Value;

/// The `DeTable` reading of `text`: values and root position node, or `None` on errors.
fn slow(text: &str) -> Option<(Value, Node)> {
    let mut rec = Recorder::new("toml", None);
    let v = parse_detable(text, &mut rec).ok()?;
    Some((v, rec.positions.root))
}

/// Asserts the fast reader declines or agrees with `DeTable`; returns whether it answered.
fn check(text: &str) -> bool {
    let Some((fv, fnode)) = toml_fast::parse(text) else {
        return false;
    };
    let Some((sv, snode)) = slow(text) else {
        panic!("fast path accepted a document DeTable rejects:\n{text}");
    };
    // Debug, so that NaN equals NaN
    assert_eq!(format!("{fv:?}"), format!("{sv:?}"), "values of:\n{text}");
    assert_eq!(fnode, snode, "positions of:\n{text}");
    true
}

const KEYS: &[&str] = &[
    "a", "b", "c", "host", "port", "_x", "1", "-", "\"q k\"", "'lit'", "\"a.b\"", "\"\"", "\"é\"",
    "A", "a1",
];

const SCALARS: &[&str] = &[
    "1",
    "-3",
    "+5",
    "0",
    "1_000",
    "007",
    "0x1F",
    "0xdead_beef",
    "0o17",
    "0b101",
    "0x",
    "99999999999999999999",
    "9223372036854775807",
    "-9223372036854775808",
    "1.5",
    "1e3",
    "-2E-2",
    "1_0.5e-2",
    "1.",
    ".5",
    "inf",
    "-inf",
    "+nan",
    "nan",
    "true",
    "false",
    "True",
    "\"plain\"",
    "\"a\\tb\\n\\\"q\\\"\"",
    "\"\\u00e9\\U0001F600\"",
    "\"bad\\q\"",
    "'lit\\n'",
    "\"\"\"ml\nline\"\"\"",
    "\"\"\"ml \\\n   cont\"\"\"",
    "'''raw\nml'''",
    "\"\"",
    "\"unterminated",
    "1979-05-27T07:32:00Z",
    "1979-05-27",
    "07:32:00",
    "07:32",
    "1979-05-27 07:32:00.5-07:00",
    "1979-05-27T07:32:00.999999",
    "1979-13-45",
    "2000-02-30",
    "bare",
];

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(KEYS).prop_map(str::to_owned)
}

fn ws() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["", " ", "  ", "\t"][..])
}

fn value() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(SCALARS).prop_map(str::to_owned);
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            (
                prop::collection::vec(inner.clone(), 0..4),
                prop::sample::select(&[", ", ",", ",\n  ", " ,# c\n"][..]),
                any::<bool>()
            )
                .prop_map(|(items, sep, trailing)| {
                    let mut s = format!("[{}", items.join(sep));
                    if trailing && !items.is_empty() {
                        s.push(',');
                    }
                    s.push(']');
                    s
                }),
            (key(), inner).prop_map(|(k, v)| format!("{{ {k} = {v} }}")),
        ]
    })
}

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (key(), ws(), ws(), value(), prop::sample::select(&["", " # c", "\t#x"][..]))
            .prop_map(|(k, w1, w2, v, c)| format!("{k}{w1}={w2}{v}{c}")),
        3 => (prop::collection::vec(key(), 1..4), ws(), ws())
            .prop_map(|(ks, w1, w2)| format!("[{w1}{}{w2}]", ks.join(" . "))),
        1 => (prop::collection::vec(key(), 1..3), value())
            .prop_map(|(ks, v)| format!("{} = {v}", ks.join("."))),
        1 => prop::collection::vec(key(), 1..3).prop_map(|ks| format!("[[{}]]", ks.join("."))),
        1 => prop::sample::select(&["", "# comment", "   ", "= 1", "[a", "a = ", "\u{7}"][..])
            .prop_map(str::to_owned),
    ]
}

fn document() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(line(), 0..14),
        prop::sample::select(&["\n", "\r\n"][..]),
    )
        .prop_map(|(lines, nl)| lines.join(nl))
}

/// Valid scalars only, for documents the fast reader mostly takes.
const GOOD_SCALARS: &[&str] = &[
    "1",
    "-3",
    "+5",
    "1_000",
    "0x1F",
    "0o17",
    "0b101",
    "1.5",
    "1e3",
    "-inf",
    "nan",
    "true",
    "false",
    "\"plain\"",
    "\"a\\tb\"",
    "'lit'",
    "\"\"\"ml\nx\"\"\"",
    "1979-05-27T07:32:00Z",
    "07:32:00",
    "1979-05-27",
];

fn good_value() -> impl Strategy<Value = String> {
    prop::sample::select(GOOD_SCALARS)
        .prop_map(str::to_owned)
        .prop_recursive(2, 8, 3, |inner| {
            // arrays on one line or spread over lines with comments (positions after them count
            // the newlines the parser reports)
            (
                prop::collection::vec(inner, 0..3),
                prop::sample::select(&[", ", ",\n  ", " , # c\n"][..]),
            )
                .prop_map(|(items, sep)| format!("[{}]", items.join(sep)))
        })
}

fn good_key() -> impl Strategy<Value = String> {
    (0u8..40).prop_map(|i| match i % 4 {
        0 => format!("k{i}"),
        1 => format!("\"k {i}\""),
        2 => format!("'k{i}'"),
        _ => format!("k_{i}"),
    })
}

/// Sections of a header (1-3 segments) and a few key/value lines.
fn good_document() -> impl Strategy<Value = String> {
    let section = (
        prop::collection::vec(good_key(), 1..4),
        prop::collection::vec((good_key(), good_value()), 0..5),
    )
        .prop_map(|(path, kvs)| {
            let mut s = format!("[{}]\n", path.join("."));
            for (k, v) in kvs {
                s.push_str(&format!("{k} = {v}\n"));
            }
            s
        });
    (
        prop::collection::vec((good_key(), good_value()), 0..3),
        prop::collection::vec(section, 0..8),
    )
        .prop_map(|(top, sections)| {
            let mut s = String::new();
            for (k, v) in top {
                s.push_str(&format!("{k} = {v}\n"));
            }
            s + &sections.concat()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn fast_reader_declines_or_equals_detable(doc in document()) {
        check(&doc);
    }

    #[test]
    fn fast_reader_equals_detable_on_plain_documents(doc in good_document()) {
        check(&doc);
    }
}

#[test]
fn fast_reader_takes_the_common_shape() {
    let mut doc = String::new();
    for i in 0..5 {
        doc.push_str(&format!(
            "[section_{i}]\nhost = \"host-{i}.internal\"\nport = {}\nenabled = true\n\
             weight = 0.5\ntags = [\"a\", \"b\", \"c\"]\n\n[section_{i}.limits]\nmin = 1\n\
             max = 100\n\n",
            1000 + i
        ));
    }
    assert!(check(&doc));
    let scalars = "# top\ntitle = \"t\\u00e9\" # c\nhex = 0xff\noct = 0o7\nbin = 0b1\n\
        big = 1_000\nf = -1.5e3\ni = inf\nn = nan\nd = 1979-05-27T07:32:00Z\nld = 1979-05-27\n\
        lt = 07:32:00\nlit = 'C:\\x'\nml = \"\"\"\na\nb\"\"\"\nnested = [[1, 2], [\"x\"], []]\n\
        empty = []\n[\"quoted key\".'lit'.x]\ny = 2\n[a.b]\n[a]\nz = 3\n";
    // `[a]` after `[a.b]` redefines an implicit table: DeTable's business
    assert!(!check(scalars));
    let without = scalars.replace("[a.b]\n[a]\n", "[a]\n");
    assert!(check(&without));
}

#[test]
fn fast_reader_validates_comments_and_newlines_like_detable() {
    // the reader checks these itself (no `ValidateWhitespace` wrapper): it must not accept
    // what `DeTable` rejects, and where both read the document they agree
    for doc in [
        "a = 1 # bell \u{7}\n",
        "a = 1 # del \u{7f}\n",
        "a = 1 # é ok\nb = 2\n",
        "a = 1\rb = 2\n",
        "a = 1\r\nb = [1, # c\u{1}\n 2]\n",
        "a = [\n  1, # fine\r\n  2,\n]\n",
    ] {
        check(doc);
    }
    assert!(check("a = [\n  1, # fine\r\n  2,\n]\n"));
    assert!(toml_fast::parse("a = 1 # bell \u{7}\n").is_none());
}

#[test]
fn fast_reader_declines_errors_and_other_shapes() {
    for doc in [
        "a = 1\na = 2",
        "[a]\n[a]",
        "a.b = 1",
        "a = { b = 1 }",
        "[[a]]\nb = 1",
        "a = 99999999999999999999",
        "a = 1979-13-45",
        "a = \"bad\\q\"",
        "[a]\nb = 1\n[a.b.c]",
        "a = [1,",
        "= 1",
    ] {
        assert!(!check(doc), "{doc}");
        assert!(toml_fast::parse(doc).is_none(), "{doc}");
    }
}
