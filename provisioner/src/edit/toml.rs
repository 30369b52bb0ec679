//! TOML documents through `toml_edit`: comments, whitespace and ordering are kept; a replaced
//! value keeps the decoration (comments) around it.

use toml_edit::{Array, DocumentMut, InlineTable, Item, Value};

use super::{Document, Leaf, Replacement, Visitor, push_index, push_key};

/// A TOML document being edited.
pub struct TomlDoc {
    doc: DocumentMut,
    /// The original text, for positions in errors.
    src: String,
}

impl TomlDoc {
    /// Parses `text`.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let doc = text
            .parse::<DocumentMut>()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Self {
            doc,
            src: text.to_owned(),
        })
    }
}

fn envelope_of<'a>(
    mut entries: impl Iterator<Item = (&'a str, Option<&'a Value>)>,
    len: usize,
) -> Option<Leaf> {
    let (k, v) = entries.next()?;
    if len != 1 || k != ".c5encval" {
        return None;
    }
    let a = v?.as_array()?;
    let s: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
    match (a.len(), s.as_slice()) {
        (3, [x, y, z]) => Some(Leaf::Envelope {
            algorithm: (*x).to_owned(),
            key_name: (*y).to_owned(),
            payload: (*z).to_owned(),
        }),
        _ => None,
    }
}

fn value_leaf(v: &Value) -> Option<Leaf> {
    match v {
        Value::InlineTable(t) => envelope_of(t.iter().map(|(k, v)| (k, Some(v))), t.len()),
        Value::Array(_) => None,
        Value::String(s) => Some(Leaf::Plain {
            text: s.value().clone(),
        }),
        other => Some(Leaf::Plain {
            text: other.clone().decorated("", "").to_string(),
        }),
    }
}

fn new_value(r: Replacement) -> Value {
    match r {
        Replacement::Plain(s) => Value::from(s),
        Replacement::Envelope {
            algorithm,
            key_name,
            payload,
        } => {
            let mut arr = Array::new();
            for s in [algorithm, key_name, payload] {
                arr.push(s);
            }
            let mut t = InlineTable::new();
            t.insert(".c5encval", Value::Array(arr));
            Value::InlineTable(t)
        }
    }
}

fn replace_value(v: &mut Value, r: Replacement) {
    let decor = v.decor().clone();
    *v = new_value(r);
    *v.decor_mut() = decor;
}

fn walk_value(v: &mut Value, path: &str, visit: &mut Visitor<'_>) -> anyhow::Result<()> {
    if let Some(leaf) = value_leaf(v) {
        if let Some(r) = visit(path, &leaf)? {
            replace_value(v, r);
        }
        return Ok(());
    }
    match v {
        Value::InlineTable(t) => {
            for (k, child) in t.iter_mut() {
                walk_value(child, &push_key(path, k.get()), visit)?;
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter_mut().enumerate() {
                walk_value(child, &push_index(path, i), visit)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn walk_item(item: &mut Item, path: &str, visit: &mut Visitor<'_>) -> anyhow::Result<()> {
    match item {
        Item::Value(v) => walk_value(v, path, visit),
        Item::Table(t) => {
            let env = envelope_of(t.iter().map(|(k, i)| (k, i.as_value())), t.len());
            if let Some(leaf) = env {
                if let Some(r) = visit(path, &leaf)? {
                    *item = Item::Value(new_value(r));
                }
                return Ok(());
            }
            for (k, child) in t.iter_mut() {
                walk_item(child, &push_key(path, k.get()), visit)?;
            }
            Ok(())
        }
        Item::ArrayOfTables(a) => {
            for (i, t) in a.iter_mut().enumerate() {
                let p = push_index(path, i);
                for (k, child) in t.iter_mut() {
                    walk_item(child, &push_key(&p, k.get()), visit)?;
                }
            }
            Ok(())
        }
        Item::None => Ok(()),
    }
}

impl Document for TomlDoc {
    fn edit(&mut self, visit: &mut Visitor<'_>) -> anyhow::Result<()> {
        for (k, child) in self.doc.as_table_mut().iter_mut() {
            walk_item(child, k.get(), visit)?;
        }
        Ok(())
    }

    fn render(&self) -> anyhow::Result<String> {
        Ok(self.doc.to_string())
    }

    fn position(&self, path: &str) -> Option<(usize, usize)> {
        super::origin_position(c5store::Format::Toml, &self.src, path)
    }
}
