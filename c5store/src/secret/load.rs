//! Wiring into the load pipeline: [`SecretResolver`] (the [`Transform`] that decrypts
//! `.c5encval` values after merge), [`SopsSource`] (decrypts SOPS files as they load, before
//! merge, since their MAC covers the whole file) and [`Builder::secrets`].

use std::collections::HashMap;
use std::sync::Arc;

use crate::builder::Builder;
use crate::error::LoadError;
use crate::merge::{Layer, Merged};
use crate::origin::Origin;
use crate::pipeline::Transform;
use crate::source::{LoadContext, Source};
use crate::value::{Segment, Value, push_segment};

use super::{DecryptError, Keyring, SecretString, is_envelope, resolve_secrets, sops};

/// The pure step that replaces every `.c5encval` envelope of the merged tree with a
/// `Value::Secret`, or reports each value that fails with its key path and origin.
#[derive(Debug, Clone)]
pub struct SecretResolver {
    keyring: Arc<Keyring>,
}

impl SecretResolver {
    /// A resolver decrypting with `keyring`.
    pub fn new(keyring: Arc<Keyring>) -> Self {
        Self { keyring }
    }
}

fn to_load_error(e: DecryptError, origin: Option<Origin>) -> LoadError {
    LoadError::Invalid {
        key: e.key_path,
        origin,
        message: format!("cannot decrypt: {}", e.reason),
    }
}

impl Transform for SecretResolver {
    fn apply(&self, merged: &mut Merged) -> Result<(), Vec<LoadError>> {
        let mut secret_paths = Vec::new();
        collect_envelopes(&merged.tree, &mut String::new(), &mut secret_paths);
        // where each envelope was defined, looked up before the tree is rewritten
        let origins: HashMap<&str, Origin> = secret_paths
            .iter()
            .filter_map(|p| {
                let o = merged.provenance.origin(&merged.tree, p)?;
                Some((p.as_str(), o))
            })
            .collect();
        let locate = |p: &str| origins.get(p).and_then(Origin::location);
        let result = resolve_secrets(&mut merged.tree, &self.keyring, &locate);
        // lower layers a secret overrode are not shown by `explain` either
        for path in &secret_paths {
            if let Some(over) = merged.provenance.overridden_mut(&merged.tree, path) {
                for o in over {
                    o.value = redacted();
                }
            }
        }
        result.map(|_| ()).map_err(|errs| {
            errs.into_iter()
                .map(|e| {
                    let origin = origins
                        .get(e.key_path.as_str())
                        .cloned()
                        .or_else(|| merged.provenance.nearest_origin(&merged.tree, &e.key_path));
                    to_load_error(e, origin)
                })
                .collect()
        })
    }
}

fn redacted() -> Value {
    Value::Secret(Arc::new(SecretString::default()))
}

fn collect_envelopes(v: &Value, path: &mut String, out: &mut Vec<String>) {
    if is_envelope(v) {
        out.push(path.clone());
        return;
    }
    let len = path.len();
    match v {
        Value::Map(m) => {
            for (k, c) in m {
                push_segment(path, Segment::Key(k));
                collect_envelopes(c, path, out);
                path.truncate(len);
            }
        }
        Value::Seq(s) => {
            for (i, c) in s.iter().enumerate() {
                push_segment(path, Segment::Index(i));
                collect_envelopes(c, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Wraps any source: each layer that is a SOPS document (a top-level `sops` map with a `mac`)
/// is decrypted and MAC-checked with the keyring before it is merged; other layers pass
/// through unchanged.
#[derive(Debug)]
pub struct SopsSource {
    inner: Arc<dyn Source>,
    keyring: Arc<Keyring>,
}

impl SopsSource {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Source>, keyring: Arc<Keyring>) -> Self {
        Self { inner, keyring }
    }
}

/// Decrypts `layer` in place when it is a SOPS document.
pub fn decrypt_sops_layer(layer: &mut Layer, keyring: &Keyring) -> Result<(), LoadError> {
    if !sops::is_sops_document(&layer.tree) {
        return Ok(());
    }
    if !layer.positions.sources.is_empty() {
        // decryption reshapes the tree (the `sops` key goes), which node-aligned origins
        // cannot follow: keep them by path instead
        layer.origins = layer
            .positions
            .entries(&layer.tree)
            .into_iter()
            .map(|(p, prov)| (p, prov.origin))
            .collect();
        layer.positions = crate::prov_tree::ProvenanceTree::default();
    }
    let origins = &layer.origins;
    let fallback = layer.fallback.clone();
    let origin_of = |p: &str| origins.get(p).cloned();
    let locate = |p: &str| {
        origin_of(p)
            .or_else(|| Some(fallback.clone()))
            .and_then(|o| o.location())
    };
    sops::decrypt_document(&mut layer.tree, keyring, &locate).map_err(|e| {
        let origin = origin_of(&e.key_path).or_else(|| Some(fallback.clone()));
        to_load_error(e, origin)
    })
}

impl Source for SopsSource {
    fn load(&self, cx: &LoadContext<'_>) -> Result<Vec<Layer>, Vec<LoadError>> {
        let mut layers = self.inner.load(cx)?;
        let errors: Vec<LoadError> = layers
            .iter_mut()
            .filter_map(|l| decrypt_sops_layer(l, &self.keyring).err())
            .collect();
        if errors.is_empty() {
            Ok(layers)
        } else {
            Err(errors)
        }
    }

    fn watch_paths(&self) -> Vec<std::path::PathBuf> {
        self.inner.watch_paths()
    }
}

impl Builder {
    /// Decrypts secrets with `keyring`: SOPS files among the sources added so far load as
    /// decrypted layers, and every `.c5encval` value of the merged tree becomes a
    /// `Value::Secret`. Call it after adding the sources.
    pub fn secrets(mut self, keyring: impl Into<Arc<Keyring>>) -> Self {
        let keyring = keyring.into();
        let sources = std::mem::take(&mut self.pipeline.sources);
        self.pipeline.sources = sources
            .into_iter()
            .map(|s| Arc::new(SopsSource::new(s, keyring.clone())) as Arc<dyn Source>)
            .collect();
        self.transform(SecretResolver::new(keyring))
    }
}
