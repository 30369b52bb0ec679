//! [`ProviderSource`]: any `figment::Provider` as a layer, so figment users can adopt c5store
//! one provider at a time.

use std::fmt;
use std::sync::Arc;

use figment::value::Value as FValue;
use figment::{Profile, Provider};

use crate::error::LoadError;
use crate::merge::Layer;
use crate::origin::Origin;
use crate::source::{LoadContext, Source};
use crate::value::{Map, Value};

/// Wraps a `figment::Provider`. Its data for the default profile, then the active profile, then
/// figment's global profile are merged in that order (figment's own precedence). Every value's
/// origin is `provider:<metadata name>` (figment keeps no line numbers).
pub struct ProviderSource<P> {
    provider: P,
}

impl<P: Provider> ProviderSource<P> {
    /// Wraps `provider`.
    pub fn new(provider: P) -> Self {
        ProviderSource { provider }
    }
}

impl<P: Provider> fmt::Debug for ProviderSource<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderSource")
            .field("name", &self.provider.metadata().name)
            .finish()
    }
}

impl<P: Provider + Send + Sync> Source for ProviderSource<P> {
    fn load(&self, cx: &LoadContext<'_>) -> Result<Vec<Layer>, Vec<LoadError>> {
        let meta = self.provider.metadata();
        let name = meta.name.to_string();
        let data = self.provider.data().map_err(|e| {
            vec![LoadError::Provider {
                name: name.clone(),
                message: e.to_string(),
            }]
        })?;
        let origin_name: Arc<str> = format!("provider:{name}").into();
        let mut profiles = vec![Profile::Default];
        if let Some(p) = cx.profile {
            profiles.push(Profile::new(p));
        }
        profiles.push(Profile::Global);
        let mut origin = Origin::named(origin_name);
        if let Some(figment::Source::File(path)) = &meta.source {
            origin.file = Some(Arc::from(path.as_path()));
        }
        Ok(profiles
            .into_iter()
            .filter_map(|p| data.get(&p))
            .map(|dict| {
                let tree = Value::Map(
                    dict.iter()
                        .map(|(k, v)| (k.as_str().into(), from_figment(v)))
                        .collect::<Map>(),
                );
                Layer::new(tree, origin.clone())
            })
            .collect())
    }
}

/// figment value → c5store value (`u64` above `i64::MAX` and 128-bit numbers become floats).
pub(crate) fn from_figment(v: &FValue) -> Value {
    use figment::value::Num;
    match v {
        FValue::String(_, s) => Value::String(s.as_str().into()),
        FValue::Char(_, c) => Value::from(c.to_string()),
        FValue::Bool(_, b) => Value::Bool(*b),
        FValue::Num(_, n) => match *n {
            Num::U8(x) => Value::Int(x.into()),
            Num::U16(x) => Value::Int(x.into()),
            Num::U32(x) => Value::Int(x.into()),
            Num::I8(x) => Value::Int(x.into()),
            Num::I16(x) => Value::Int(x.into()),
            Num::I32(x) => Value::Int(x.into()),
            Num::I64(x) => Value::Int(x),
            Num::U64(x) => i64::try_from(x).map_or(Value::Float(x as f64), Value::Int),
            Num::USize(x) => i64::try_from(x).map_or(Value::Float(x as f64), Value::Int),
            Num::ISize(x) => i64::try_from(x).map_or(Value::Float(x as f64), Value::Int),
            Num::U128(x) => i64::try_from(x).map_or(Value::Float(x as f64), Value::Int),
            Num::I128(x) => i64::try_from(x).map_or(Value::Float(x as f64), Value::Int),
            Num::F32(x) => Value::Float(x.into()),
            Num::F64(x) => Value::Float(x),
        },
        FValue::Empty(_, _) => Value::Null,
        FValue::Dict(_, d) => Value::Map(
            d.iter()
                .map(|(k, v)| (k.as_str().into(), from_figment(v)))
                .collect(),
        ),
        FValue::Array(_, a) => Value::Seq(a.iter().map(from_figment).collect()),
    }
}
