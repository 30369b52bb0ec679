//! The config file's YAML: the shared [`c5_yaml`] node tree (line:col on every node and key)
//! with what Alertmanager files use (anchors, aliases, merge keys `<<: *defaults`), exactly one
//! document, and a repeated key an error as in Go's `yaml.UnmarshalStrict`.

pub use c5_yaml::{ErrorKind, Key, Kind, Node, Pos, YamlError};

/// Parses one YAML document into a [`Node`]; an empty document is [`Kind::Null`]. A repeated
/// key reads ``key `a` already set in this mapping at line 1``.
pub fn parse(src: &str) -> Result<Node, YamlError> {
    c5_yaml::parse(src).map_err(|mut e| {
        if let ErrorKind::DuplicateKey { key, first } = &e.kind {
            e.message = format!(
                "key `{key}` already set in this mapping at line {}",
                first.line
            );
        }
        e
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_in_notifyd_words() {
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(e.pos, Some(Pos { line: 2, col: 1 }));
        assert_eq!(e.message, "key `a` already set in this mapping at line 1");
    }

    #[test]
    fn merge_keys_and_one_document() {
        let n = parse("d: &d {x: 1}\ne: {<<: *d, y: 2}\n").unwrap();
        let e = n.get("e").unwrap();
        assert!(e.get("x").is_some() && e.get("<<").is_none());
        let e = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(e.message, "only one YAML document is allowed");
    }
}
