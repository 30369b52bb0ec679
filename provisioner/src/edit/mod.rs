//! Format-preserving edits of config files for `c5 encrypt/decrypt/rekey`: visit every leaf
//! with its key path and optionally replace it, keeping comments and layout (TOML via
//! `toml_edit`, YAML by splicing the source text at the parser's spans) or key order (JSON).

mod json;
mod toml;
mod yaml;

use std::path::Path;

use anyhow::{Context, bail};

/// One leaf as an editor sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leaf {
    /// A scalar; `text` is its string value (numbers and booleans as written).
    Plain {
        /// The value as text.
        text: String,
    },
    /// A `{".c5encval": [algorithm, key_name, payload]}` envelope.
    Envelope {
        /// Algorithm name.
        algorithm: String,
        /// Key name.
        key_name: String,
        /// Payload.
        payload: String,
    },
}

/// What to put in place of a leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replacement {
    /// An encrypted envelope.
    Envelope {
        /// Algorithm name.
        algorithm: String,
        /// Key name.
        key_name: String,
        /// Payload.
        payload: String,
    },
    /// A plaintext string.
    Plain(String),
}

/// The visitor: gets each leaf's canonical key path (`db.password`, `hosts[0]`) and the leaf,
/// returns what to replace it with, if anything.
pub type Visitor<'a> = dyn FnMut(&str, &Leaf) -> anyhow::Result<Option<Replacement>> + 'a;

/// A parsed config document that can be edited in place.
pub trait Document {
    /// Visits every leaf in document order, applying the replacements the visitor returns.
    fn edit(&mut self, visit: &mut Visitor<'_>) -> anyhow::Result<()>;
    /// The document text with all replacements applied.
    fn render(&self) -> anyhow::Result<String>;
    /// 1-based `(line, column)` where the value at `path` starts in the original text.
    fn position(&self, path: &str) -> Option<(usize, usize)>;
}

/// 1-based `(line, column)` of the node at `path` in `src`, as c5store's own reader records it
/// (the same canonical paths: `db.password`, `servers[0].token`). Only called on the error path,
/// so the second parse costs nothing in the common case.
pub(crate) fn origin_position(
    format: c5store::Format,
    src: &str,
    path: &str,
) -> Option<(usize, usize)> {
    let layer = c5store::parse(format, src, None).ok()?;
    let origin = layer.origin_of(path)?;
    let line = usize::try_from(origin.line).ok()?;
    let col = usize::try_from(origin.col).ok()?;
    (line > 0 && col > 0).then_some((line, col))
}

/// Opens `text` as a document of the format named by `path`'s extension.
pub fn parse(path: &Path, text: &str) -> anyhow::Result<Box<dyn Document>> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let doc: Box<dyn Document> = match ext.as_str() {
        "yaml" | "yml" => {
            Box::new(yaml::YamlDoc::parse(text).with_context(|| path.display().to_string())?)
        }
        "toml" => Box::new(toml::TomlDoc::parse(text).with_context(|| path.display().to_string())?),
        "json" => Box::new(json::JsonDoc::parse(text).with_context(|| path.display().to_string())?),
        _ => bail!(
            "{}: unsupported file type (expected .yaml, .yml, .toml or .json)",
            path.display()
        ),
    };
    Ok(doc)
}

/// Appends a map key to a canonical path.
pub(crate) fn push_key(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Appends a sequence index to a canonical path.
pub(crate) fn push_index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// Whether `path` is `prefix` or lies below it.
pub fn is_under(path: &str, prefix: &str) -> bool {
    prefix.is_empty()
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(name: &str, src: &str) -> (Vec<(String, Leaf)>, String) {
        let mut doc = parse(Path::new(name), src).unwrap();
        let mut seen = Vec::new();
        doc.edit(&mut |p, l| {
            seen.push((p.to_owned(), l.clone()));
            Ok(match l {
                Leaf::Plain { text } if p.ends_with("password") => Some(Replacement::Envelope {
                    algorithm: "age".into(),
                    key_name: "k".into(),
                    payload: format!("ENC({text})"),
                }),
                Leaf::Envelope { payload, .. } => Some(Replacement::Plain(payload.to_uppercase())),
                _ => None,
            })
        })
        .unwrap();
        (seen, doc.render().unwrap())
    }

    #[test]
    fn yaml_keeps_comments_and_order() {
        let src = "# top comment\ndb:\n  user: app # who\n  password: hunter2   # trailing\n  old:\n    .c5encval:\n      - age\n      - k\n      - |\n        line1\n  after: 1\nhosts: [a, \"b\"]\n";
        let (seen, out) = roundtrip("x.yaml", src);
        let paths: Vec<_> = seen.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "db.user",
                "db.password",
                "db.old",
                "db.after",
                "hosts[0]",
                "hosts[1]"
            ]
        );
        assert_eq!(
            out,
            "# top comment\ndb:\n  user: app # who\n  password: {\".c5encval\": [\"age\", \"k\", \"ENC(hunter2)\"]}   # trailing\n  old:\n    \"LINE1\\n\"\n  after: 1\nhosts: [a, \"b\"]\n"
        );
    }

    #[test]
    fn yaml_flow_envelope_and_nested_seq() {
        let src = "a:\n  s: {.c5encval: [age, k, \"xy\"]} # c\n  l:\n    - password: p1\n";
        let (seen, out) = roundtrip("x.yml", src);
        assert_eq!(seen[1].0, "a.l[0].password");
        assert_eq!(
            out,
            "a:\n  s: \"XY\" # c\n  l:\n    - password: {\".c5encval\": [\"age\", \"k\", \"ENC(p1)\"]}\n"
        );
    }

    #[test]
    fn toml_keeps_comments_and_layout() {
        let src = "# header\n[db]\nuser = \"app\" # who\npassword = \"hunter2\" # trailing\nold = { \".c5encval\" = [\"age\", \"k\", \"zz\"] }\n\n[[servers]]\npassword = 's'\n";
        let (seen, out) = roundtrip("x.toml", src);
        let paths: Vec<_> = seen.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["db.user", "db.password", "db.old", "servers[0].password"]
        );
        assert!(out.starts_with("# header\n[db]\nuser = \"app\" # who\npassword = { \".c5encval\" = [\"age\", \"k\", \"ENC(hunter2)\"] } # trailing\nold = \"ZZ\"\n"), "{out}");
        assert!(
            out.contains("[[servers]]\npassword = { \".c5encval\""),
            "{out}"
        );
    }

    #[test]
    fn json_keeps_key_order() {
        let src = r#"{"z": 1, "db": {"password": "p", "a": {".c5encval": ["age", "k", "q"]}}, "b": [true]}"#;
        let (seen, out) = roundtrip("x.json", src);
        let paths: Vec<_> = seen.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["z", "db.password", "db.a", "b[0]"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["z", "db", "b"]
        );
        assert_eq!(v["db"]["a"], "Q");
        assert_eq!(v["db"]["password"][".c5encval"][2], "ENC(p)");
    }

    #[test]
    fn every_format_knows_where_a_value_starts() {
        let cases = [
            ("x.yaml", "db:\n  user: app\n  password: p\nhosts: [a, b]\n"),
            (
                "x.toml",
                "[db]\nuser = \"app\"\npassword = \"p\"\n[x]\nhosts = [\"a\", \"b\"]\n",
            ),
            (
                "x.json",
                "{\"db\": {\"user\": \"app\",\n  \"password\": \"p\"},\n \"hosts\": [\"a\", \"b\"]}",
            ),
        ];
        let want = [
            [Some((3, 13)), Some((4, 12)), None],
            [Some((3, 12)), None, Some((5, 15))],
            [Some((2, 15)), Some((3, 17)), None],
        ];
        for ((name, src), want) in cases.iter().zip(want) {
            let mut doc = parse(Path::new(name), src).unwrap();
            doc.edit(&mut |_, _| Ok(None)).unwrap();
            let got = ["db.password", "hosts[1]", "x.hosts[1]"].map(|p| doc.position(p));
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn is_under_matches_subtrees_only() {
        assert!(is_under("db.password", "db"));
        assert!(is_under("db[0]", "db"));
        assert!(is_under("db", "db"));
        assert!(!is_under("dbx.password", "db"));
    }
}
