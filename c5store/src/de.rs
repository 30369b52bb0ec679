//! serde `Deserializer` over a borrowed [`Value`]: typed reads without copying, and errors that
//! name the full key path of the offending leaf. Allocates only when it fails.

use std::fmt;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

use crate::value::{Segment, Value, push_segment};

/// The path from the deserialization root to the current node, kept on the stack.
#[derive(Clone, Copy)]
pub(crate) enum Trail<'p> {
    /// The root: the branch prefix and the key asked for.
    Root(&'p str, &'p str),
    /// A map entry below `parent`.
    Key(&'p Trail<'p>, &'p str),
    /// A sequence element below `parent`.
    Index(&'p Trail<'p>, usize),
}

impl Trail<'_> {
    /// Writes the full dotted path.
    pub(crate) fn render(&self, out: &mut String) {
        match self {
            Trail::Root(prefix, key) => {
                out.push_str(prefix);
                if !prefix.is_empty() && !key.is_empty() && !key.starts_with('[') {
                    out.push('.');
                }
                out.push_str(key);
            }
            Trail::Key(p, k) => {
                p.render(out);
                push_segment(out, Segment::Key(k));
            }
            Trail::Index(p, i) => {
                p.render(out);
                push_segment(out, Segment::Index(*i));
            }
        }
    }
}

/// A deserialization failure and the path of the node where it happened.
#[derive(Debug)]
pub(crate) struct DeError {
    pub(crate) message: String,
    pub(crate) path: Option<String>,
}

impl DeError {
    fn at(mut self, trail: &Trail<'_>) -> Self {
        if self.path.is_none() {
            let mut p = String::new();
            trail.render(&mut p);
            self.path = Some(p);
        }
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            message: msg.to_string(),
            path: None,
        }
    }
}

/// Deserializes from one borrowed node.
pub(crate) struct ValueDe<'de, 'p> {
    value: &'de Value,
    trail: Trail<'p>,
}

impl<'de, 'p> ValueDe<'de, 'p> {
    pub(crate) fn new(value: &'de Value, trail: Trail<'p>) -> Self {
        ValueDe { value, trail }
    }

    fn unexpected(&self) -> de::Unexpected<'de> {
        // leaf-kinds:
        match self.value {
            Value::Null => de::Unexpected::Unit,
            Value::Bool(b) => de::Unexpected::Bool(*b),
            Value::Int(i) => de::Unexpected::Signed(*i),
            Value::Float(f) => de::Unexpected::Float(*f),
            Value::String(s) => de::Unexpected::Str(s),
            Value::Seq(_) => de::Unexpected::Seq,
            Value::Map(_) => de::Unexpected::Map,
            Value::Secret(_) => de::Unexpected::Other("a secret"),
        }
    }
}

/// Typed scalar reads of a secret: the decrypted plaintext (always text) is parsed as the
/// requested type, so `get::<u16>` works on an encrypted port (SOPS `type:int` values included).
/// A failed parse names the type and the path, never the plaintext. Non-secret values take the
/// ordinary `deserialize_any` path.
macro_rules! secret_scalars {
    ($($method:ident => $ty:ty, $visit:ident;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            if let Value::Secret(s) = self.value {
                let parsed = s.expose_secret().trim().parse::<$ty>();
                let r = match parsed {
                    Ok(v) => visitor.$visit(v),
                    Err(_) => Err(de::Error::custom(concat!(
                        "a secret value does not read as ",
                        stringify!($ty),
                        " (plaintext not shown)"
                    ))),
                };
                return r.map_err(|e: DeError| e.at(&self.trail));
            }
            self.deserialize_any(visitor)
        }
    )*};
}

impl<'de> Deserializer<'de> for ValueDe<'de, '_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let trail = &self.trail;
        // leaf-kinds:
        let r = match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Seq(s) => {
                let mut acc = SeqAcc {
                    iter: s.iter().enumerate(),
                    parent: trail,
                };
                let out = visitor.visit_seq(&mut acc)?;
                if acc.iter.len() > 0 {
                    Err(de::Error::invalid_length(s.len(), &"fewer elements"))
                } else {
                    Ok(out)
                }
            }
            Value::Map(m) => visitor.visit_map(MapAcc {
                iter: m.iter(),
                next: None,
                parent: trail,
            }),
            // A secret reads as a string; a failed read must not quote the plaintext.
            Value::Secret(s) => {
                visitor
                    .visit_borrowed_str(s.expose_secret())
                    .map_err(|_: DeError| {
                        de::Error::custom(
                            "a secret value reads only as a string (plaintext not shown)",
                        )
                    })
            }
        };
        r.map_err(|e| e.at(trail))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let trail = &self.trail;
        let r = match self.value {
            Value::String(s) => visitor.visit_enum(BorrowedStrDeserializer::<DeError>::new(s)),
            Value::Map(m) if m.len() == 1 => match m.iter().next() {
                Some((k, v)) => visitor.visit_enum(EnumAcc {
                    key: k,
                    value: v,
                    parent: trail,
                }),
                None => Err(de::Error::invalid_type(self.unexpected(), &"enum")),
            },
            _ => Err(de::Error::invalid_type(
                self.unexpected(),
                &"a string or a map with one key",
            )),
        };
        r.map_err(|e| e.at(trail))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    secret_scalars! {
        deserialize_bool => bool, visit_bool;
        deserialize_i8 => i8, visit_i8;
        deserialize_i16 => i16, visit_i16;
        deserialize_i32 => i32, visit_i32;
        deserialize_i64 => i64, visit_i64;
        deserialize_i128 => i128, visit_i128;
        deserialize_u8 => u8, visit_u8;
        deserialize_u16 => u16, visit_u16;
        deserialize_u32 => u32, visit_u32;
        deserialize_u64 => u64, visit_u64;
        deserialize_u128 => u128, visit_u128;
        deserialize_f32 => f32, visit_f32;
        deserialize_f64 => f64, visit_f64;
    }

    serde::forward_to_deserialize_any! {
        char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

struct SeqAcc<'p, I> {
    iter: I,
    parent: &'p Trail<'p>,
}

impl<'de, 'p, I: Iterator<Item = (usize, &'de Value)>> SeqAccess<'de> for &mut SeqAcc<'p, I> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.iter.next() {
            Some((i, v)) => {
                let trail = Trail::Index(self.parent, i);
                seed.deserialize(ValueDe { value: v, trail }).map(Some)
            }
            None => Ok(None),
        }
    }
}

struct MapAcc<'de, 'p> {
    iter: indexmap::map::Iter<'de, crate::value::Key, Value>,
    next: Option<(&'de str, &'de Value)>,
    parent: &'p Trail<'p>,
}

impl<'de> MapAccess<'de> for MapAcc<'de, '_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.iter.next() {
            Some((k, v)) => {
                self.next = Some((k, v));
                let trail = Trail::Key(self.parent, k);
                seed.deserialize(BorrowedStrDeserializer::<DeError>::new(k))
                    .map(Some)
                    .map_err(|e| e.at(&trail))
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.next.take() {
            Some((k, v)) => seed.deserialize(ValueDe {
                value: v,
                trail: Trail::Key(self.parent, k),
            }),
            None => Err(de::Error::custom("value requested before key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct EnumAcc<'de, 'p> {
    key: &'de str,
    value: &'de Value,
    parent: &'p Trail<'p>,
}

impl<'de: 'p, 'p> EnumAccess<'de> for EnumAcc<'de, 'p> {
    type Error = DeError;
    type Variant = ValueDe<'de, 'p>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), DeError> {
        let tag = seed.deserialize(BorrowedStrDeserializer::<DeError>::new(self.key))?;
        Ok((
            tag,
            ValueDe {
                value: self.value,
                trail: Trail::Key(self.parent, self.key),
            },
        ))
    }
}

impl<'de> VariantAccess<'de> for ValueDe<'de, '_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        match self.value {
            Value::Null => Ok(()),
            _ => Err(de::Error::invalid_type(self.unexpected(), &"unit variant")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }
}

impl<'de> IntoDeserializer<'de, DeError> for &'de Value {
    type Deserializer = ValueDe<'de, 'static>;
    fn into_deserializer(self) -> Self::Deserializer {
        ValueDe {
            value: self,
            trail: Trail::Root("", ""),
        }
    }
}

/// Builds a [`Value`] from any self-describing deserializer.
impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any configuration value")
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                serde::Deserialize::deserialize(d)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
                Ok(Value::Bool(b))
            }
            fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
                Ok(Value::Int(i))
            }
            fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
                Ok(i64::try_from(u).map_or(Value::Float(u as f64), Value::Int))
            }
            fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
                Ok(Value::Float(f))
            }
            fn visit_str<E>(self, s: &str) -> Result<Value, E> {
                Ok(Value::String(s.into()))
            }
            fn visit_string<E>(self, s: String) -> Result<Value, E> {
                Ok(Value::String(s.into()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
                let mut v = Vec::with_capacity(a.size_hint().unwrap_or(0).min(4096));
                while let Some(e) = a.next_element()? {
                    v.push(e);
                }
                Ok(Value::Seq(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
                let mut m = crate::value::Map::default();
                while let Some((k, v)) = a.next_entry::<String, Value>()? {
                    m.insert(crate::value::Key::from(k), v);
                }
                Ok(Value::Map(m))
            }
        }
        d.deserialize_any(V)
    }
}
