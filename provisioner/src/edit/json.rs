//! JSON documents: `serde_json` with `preserve_order`, so key order survives; formatting is
//! re-emitted pretty-printed.

use serde_json::Value;

use super::{Document, Leaf, Replacement, Visitor, push_index, push_key};

/// A JSON document being edited.
pub struct JsonDoc {
    root: Value,
    /// The original text, for positions in errors.
    src: String,
}

impl JsonDoc {
    /// Parses `text`.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let root = serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("line {} column {}: {e}", e.line(), e.column()))?;
        Ok(Self {
            root,
            src: text.to_owned(),
        })
    }
}

fn envelope(v: &Value) -> Option<Leaf> {
    let m = v.as_object()?;
    let a = m.get(".c5encval")?.as_array()?;
    match (m.len(), a.as_slice()) {
        (1, [Value::String(x), Value::String(y), Value::String(z)]) => Some(Leaf::Envelope {
            algorithm: x.clone(),
            key_name: y.clone(),
            payload: z.clone(),
        }),
        _ => None,
    }
}

fn to_value(r: Replacement) -> Value {
    match r {
        Replacement::Plain(s) => Value::String(s),
        Replacement::Envelope {
            algorithm,
            key_name,
            payload,
        } => {
            serde_json::json!({ ".c5encval": [algorithm, key_name, payload] })
        }
    }
}

fn walk(v: &mut Value, path: &str, visit: &mut Visitor<'_>) -> anyhow::Result<()> {
    let leaf = match &*v {
        Value::Object(_) => envelope(v),
        Value::Array(_) | Value::Null => None,
        Value::String(s) => Some(Leaf::Plain { text: s.clone() }),
        other => Some(Leaf::Plain {
            text: other.to_string(),
        }),
    };
    if let Some(leaf) = leaf {
        if let Some(r) = visit(path, &leaf)? {
            *v = to_value(r);
        }
        return Ok(());
    }
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                walk(child, &push_key(path, k), visit)?;
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter_mut().enumerate() {
                walk(child, &push_index(path, i), visit)?;
            }
        }
        _ => {}
    }
    Ok(())
}

impl Document for JsonDoc {
    fn edit(&mut self, visit: &mut Visitor<'_>) -> anyhow::Result<()> {
        walk(&mut self.root, "", visit)
    }

    fn render(&self) -> anyhow::Result<String> {
        Ok(serde_json::to_string_pretty(&self.root)? + "\n")
    }

    fn position(&self, path: &str) -> Option<(usize, usize)> {
        super::origin_position(c5store::Format::Json, &self.src, path)
    }
}
