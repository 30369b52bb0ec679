//! A serde `Deserializer` over a [`Node`] tree: a plain scalar may be a null, bool, integer or
//! float, a quoted one is always a string, keys are strings; errors carry the position of the
//! innermost node or key.

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use crate::{ErrorKind, Key, Kind, Node, YamlError};

impl de::Error for YamlError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        YamlError {
            pos: None,
            message: msg.to_string(),
            kind: ErrorKind::Decode,
        }
    }
}

/// Deserializes a typed value from a node; errors carry the position of the innermost node.
pub fn from_node<'de, T: de::Deserialize<'de>>(node: &'de Node) -> Result<T, YamlError> {
    T::deserialize(node)
}

/// Parses `src` with the default [`Options`](crate::Options) and deserializes it, returning
/// the value and the tree.
pub fn from_str<T: de::DeserializeOwned>(src: &str) -> Result<(T, Node), YamlError> {
    crate::Options::default().from_str(src)
}

fn parse_int(s: &str) -> Option<i64> {
    let t = s.replace('_', "");
    if let Some(h) = t.strip_prefix("0x") {
        return i64::from_str_radix(h, 16).ok();
    }
    if let Some(o) = t.strip_prefix("0o") {
        return i64::from_str_radix(o, 8).ok();
    }
    t.parse::<i64>().ok()
}

fn parse_float(s: &str) -> Option<f64> {
    match s {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let first = s.chars().next()?;
    if !(first.is_ascii_digit() || matches!(first, '-' | '+' | '.')) {
        return None;
    }
    s.replace('_', "").parse::<f64>().ok()
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

impl<'de> de::Deserializer<'de> for &'de Node {
    type Error = YamlError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        let r = match &self.kind {
            Kind::Null => visitor.visit_unit(),
            Kind::Scalar { value, plain: true } => {
                if let Some(b) = parse_bool(value) {
                    visitor.visit_bool(b)
                } else if let Some(i) = parse_int(value) {
                    visitor.visit_i64(i)
                } else if let Some(f) = parse_float(value) {
                    visitor.visit_f64(f)
                } else {
                    visitor.visit_str(value)
                }
            }
            Kind::Scalar {
                value,
                plain: false,
            } => visitor.visit_str(value),
            Kind::Seq(items) => visitor.visit_seq(SeqDe { iter: items.iter() }),
            Kind::Map(entries) => visitor.visit_map(MapDe {
                iter: entries.iter(),
                value: None,
            }),
        };
        r.map_err(|e| e.at(self.pos))
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        match &self.kind {
            Kind::Scalar { value, .. } => visitor
                .visit_str(value)
                .map_err(|e: YamlError| e.at(self.pos)),
            // Go's decoders give a null its type's zero value: the empty string.
            Kind::Null => visitor.visit_str("").map_err(|e: YamlError| e.at(self.pos)),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        if self.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        if self.is_null() {
            return visitor
                .visit_seq(SeqDe { iter: [].iter() })
                .map_err(|e: YamlError| e.at(self.pos));
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, YamlError> {
        if self.is_null() {
            return visitor
                .visit_map(MapDe {
                    iter: [].iter(),
                    value: None,
                })
                .map_err(|e: YamlError| e.at(self.pos));
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, YamlError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, YamlError> {
        match &self.kind {
            Kind::Scalar { value, .. } => visitor
                .visit_enum(value.as_str().into_deserializer())
                .map_err(|e: YamlError| e.at(self.pos)),
            _ => Err(YamlError {
                pos: Some(self.pos),
                message: "expected a string".into(),
                kind: ErrorKind::Decode,
            }),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit
        unit_struct newtype_struct tuple tuple_struct identifier ignored_any
    }
}

struct SeqDe<'de> {
    iter: std::slice::Iter<'de, Node>,
}

impl<'de> SeqAccess<'de> for SeqDe<'de> {
    type Error = YamlError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, YamlError> {
        match self.iter.next() {
            None => Ok(None),
            Some(n) => seed.deserialize(n).map(Some).map_err(|e| e.at(n.pos)),
        }
    }
}

struct MapDe<'de> {
    iter: std::slice::Iter<'de, (Key, Node)>,
    value: Option<&'de Node>,
}

impl<'de> MapAccess<'de> for MapDe<'de> {
    type Error = YamlError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, YamlError> {
        match self.iter.next() {
            None => Ok(None),
            Some((k, v)) => {
                self.value = Some(v);
                let key: de::value::BorrowedStrDeserializer<'de, YamlError> =
                    de::value::BorrowedStrDeserializer::new(&k.name);
                seed.deserialize(key).map(Some).map_err(|e| e.at(k.pos))
            }
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, YamlError> {
        match self.value.take() {
            Some(v) => seed.deserialize(v).map_err(|e| e.at(v.pos)),
            None => Err(de::Error::custom("value without a key")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use crate::{ErrorKind, Pos, from_str};

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct T {
        a: String,
        #[serde(default)]
        b: Option<Vec<i64>>,
    }

    #[test]
    fn unknown_field_has_position() {
        let err = from_str::<T>("a: x\nzz: 1\n").unwrap_err();
        assert_eq!(err.pos, Some(Pos { line: 2, col: 1 }));
        assert_eq!(err.kind, ErrorKind::Decode);
        assert!(err.message.contains("unknown field `zz`"), "{err}");
    }

    #[test]
    fn nested_value_error_has_position() {
        let err = from_str::<T>("a: x\nb: [1, two]\n").unwrap_err();
        assert_eq!(err.pos, Some(Pos { line: 2, col: 8 }), "{err}");
    }

    #[test]
    fn plain_numbers_are_strings_when_asked() {
        let (t, _) = from_str::<T>("a: 15\nb: ~\n").unwrap();
        assert_eq!(t.a, "15");
        assert!(t.b.is_none());
    }

    #[test]
    fn missing_field_points_at_mapping() {
        let err = from_str::<T>("x:\n  - 1\n").unwrap_err();
        assert_eq!(err.pos, Some(Pos { line: 1, col: 1 }), "{err}");
    }

    #[test]
    fn null_is_the_zero_value_as_in_go() {
        // An empty string, an empty collection, or `None` for an option.
        let (t, _) = from_str::<T>("a: ~\nb: null\n").unwrap();
        assert_eq!((t.a.as_str(), t.b), ("", None));
        let (m, _) = from_str::<BTreeMap<String, String>>("x: ~\ny: ''\nz:\n").unwrap();
        assert_eq!(m.values().collect::<Vec<_>>(), ["", "", ""]);
        // Other types still reject a null, with its position.
        let err = from_str::<BTreeMap<String, bool>>("a: ~\n").unwrap_err();
        assert_eq!(err.pos, Some(Pos { line: 1, col: 4 }), "{err}");
        let (m, _) = from_str::<BTreeMap<String, Vec<String>>>("a:\nb: [x]\n").unwrap();
        assert_eq!(m["a"], Vec::<String>::new());
        assert_eq!(m["b"], vec!["x".to_string()]);
    }

    #[test]
    fn scalars_by_style() {
        #[derive(Deserialize, Debug, PartialEq)]
        #[serde(untagged)]
        enum Any {
            B(bool),
            I(i64),
            F(f64),
            S(String),
        }
        let (v, _) =
            from_str::<Vec<Any>>("[true, 0x1f, 1_000, 1.5, .inf, 'true', \"2\", x]").unwrap();
        assert_eq!(
            v,
            [
                Any::B(true),
                Any::I(31),
                Any::I(1000),
                Any::F(1.5),
                Any::F(f64::INFINITY),
                Any::S("true".into()),
                Any::S("2".into()),
                Any::S("x".into()),
            ]
        );
    }

    #[test]
    fn unit_enums_from_scalars() {
        #[derive(Deserialize, Debug, PartialEq)]
        #[serde(rename_all = "lowercase")]
        enum E {
            Red,
            Blue,
        }
        let (v, _) = from_str::<Vec<E>>("[red, 'blue']").unwrap();
        assert_eq!(v, [E::Red, E::Blue]);
        let err = from_str::<Vec<E>>("[red, [x]]").unwrap_err();
        assert_eq!(err.pos, Some(Pos { line: 1, col: 7 }), "{err}");
    }
}
