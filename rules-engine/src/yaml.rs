//! Rule and test files' YAML: the shared [`c5_yaml`] node tree (line:col on every node and key)
//! and its serde `Deserializer`, read the way promtool's Go decoders read a file: the first
//! document only, `<<` merge keys applied (yaml.v2 and yaml.v3 both do), a repeated key an
//! error worded as yaml.v3 words it.

pub use c5_yaml::{ErrorKind, Key, Kind, Node, Pos, YamlError, from_node};

/// How promtool's decoders read: the first document only, merge keys applied.
const PROMTOOL: c5_yaml::Options = c5_yaml::Options {
    merge_keys: true,
    first_document_only: true,
    keep_duplicate_keys: false,
};

/// How promtool reads a test file (yaml.v2's `UnmarshalStrict`): as [`PROMTOOL`], but a repeated
/// key is kept, for the decode walk to report among the other decode errors.
const PROMTOOL_V2: c5_yaml::Options = c5_yaml::Options {
    keep_duplicate_keys: true,
    ..PROMTOOL
};

/// Parses the first document of `src` into a node tree. An empty document is a null.
pub fn parse(src: &str) -> Result<Node, YamlError> {
    PROMTOOL.parse(src)
}

/// Parses a test file the way yaml.v2 reads it: as [`parse`], but a repeated key is kept as a
/// second entry, for the decode walk to report among its other errors.
pub fn parse_v2(src: &str) -> Result<Node, YamlError> {
    PROMTOOL_V2.parse(src)
}

/// Parses and deserializes in one step.
pub fn from_str<T: serde::de::DeserializeOwned>(src: &str) -> Result<(T, Node), YamlError> {
    PROMTOOL.from_str(src)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_promtool() {
        // `<<` merges the aliased mapping; the mapping's own keys win
        let n = parse("d: &d {x: 1, y: 2}\ne: {<<: *d, y: 3}\n").unwrap();
        let e = n.get("e").unwrap();
        assert!(e.get("<<").is_none());
        assert_eq!(e.get("x").unwrap().as_str(), Some("1"));
        assert_eq!(e.get("y").unwrap().as_str(), Some("3"));
        // the first document only; what follows is not read
        let n = parse("a: 1\n---\nb: [\n").unwrap();
        assert_eq!(n.get("a").unwrap().as_str(), Some("1"));
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "2:1: mapping key \"a\" already defined at line 1"
        );
    }
}
