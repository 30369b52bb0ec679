//! [`MemorySource`]: values set by code (defaults, tests).

use std::sync::Arc;

use crate::error::LoadError;
use crate::merge::Layer;
use crate::origin::Origin;
use crate::source::{LoadContext, Source};
use crate::value::Value;

/// A tree held in memory. Its origin is `memory:<name>`.
#[derive(Clone, Debug)]
pub struct MemorySource {
    name: Arc<str>,
    tree: Value,
    append_arrays: bool,
}

impl MemorySource {
    /// A named in-memory layer. A root that is not a map is wrapped as an empty map.
    pub fn new(name: &str, tree: Value) -> Self {
        let tree = if matches!(tree, Value::Map(_)) {
            tree
        } else {
            Value::empty_map()
        };
        MemorySource {
            name: format!("memory:{name}").into(),
            tree,
            append_arrays: false,
        }
    }

    /// A named layer built from any serializable value (a struct of defaults).
    pub fn from_serialize<T: serde::Serialize + ?Sized>(
        name: &str,
        value: &T,
    ) -> Result<Self, serde_json::Error> {
        Ok(MemorySource::new(name, Value::from_serialize(value)?))
    }

    /// This layer's sequences append to lower ones.
    pub fn append_arrays(mut self) -> Self {
        self.append_arrays = true;
        self
    }
}

impl Source for MemorySource {
    fn load(&self, _cx: &LoadContext<'_>) -> Result<Vec<Layer>, Vec<LoadError>> {
        let mut l = Layer::new(self.tree.clone(), Origin::named(self.name.clone()));
        l.mode.append_arrays = self.append_arrays;
        Ok(vec![l])
    }
}
