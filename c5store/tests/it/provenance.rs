//! Per-leaf provenance across three layers of different formats, including nested leaves whose
//! top-level key is defined in another file (the C5Store 0.4.12 bug).

use c5store::C5Store;

use crate::support::{at, dir_with, file_name};

fn three_layers() -> (tempfile::TempDir, c5store::Snapshot) {
    let d = dir_with(&[
        (
            "1.yaml",
            "db:\n  host: one\n  pool:\n    min: 1\n    max: 10\n  port: 5432\n",
        ),
        ("2.toml", "[db.pool]\nmax = 20\n"),
        (
            "3.json",
            "{\n  \"db\": {\n    \"pool\": {\"max\": 30},\n    \"host\": \"three\"\n  }\n}\n",
        ),
    ]);
    let snap = C5Store::builder()
        .file(at(&d, "1.yaml"))
        .file(at(&d, "2.toml"))
        .file(at(&d, "3.json"))
        .load()
        .unwrap();
    (d, snap)
}

fn place(o: &c5store::Origin) -> (String, u32, u32) {
    (
        file_name(o.file.as_deref().unwrap()).to_owned(),
        o.line,
        o.col,
    )
}

#[test]
fn nested_leaf_names_its_own_file_line_and_column_and_every_override() {
    let (_d, snap) = three_layers();
    let e = snap.explain("db.pool.max").unwrap();
    let p = e.provenance.unwrap();
    assert_eq!(place(&p.origin), ("3.json".into(), 3, 21));
    let below: Vec<_> = p
        .overridden
        .iter()
        .map(|o| (place(&o.origin), o.value.clone()))
        .collect();
    assert_eq!(
        below,
        vec![
            (("2.toml".into(), 2, 7), 20i64.into()),
            (("1.yaml".into(), 5, 10), 10i64.into())
        ]
    );
    // siblings keep their own origins
    assert_eq!(
        place(snap.explain("db.pool.min").unwrap().origin().unwrap()),
        ("1.yaml".into(), 4, 10)
    );
    assert_eq!(
        place(snap.explain("db.port").unwrap().origin().unwrap()),
        ("1.yaml".into(), 6, 9)
    );
    assert_eq!(
        place(snap.explain("db.host").unwrap().origin().unwrap()),
        ("3.json".into(), 4, 13)
    );
}

#[test]
fn explain_text_lists_winner_then_overridden_layers() {
    let (_d, snap) = three_layers();
    let text = snap.explain("db.pool.max").unwrap().to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "db.pool.max = 30");
    assert!(
        lines[1].starts_with("  from ") && lines[1].ends_with("3.json:3:21 (json)"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("  over 20 at ") && lines[2].ends_with("2.toml:2:7 (toml)"),
        "{text}"
    );
    assert!(
        lines[3].starts_with("  over 10 at ") && lines[3].ends_with("1.yaml:5:10 (yaml)"),
        "{text}"
    );
}

#[test]
fn sequence_elements_and_branches_have_provenance() {
    let d = dir_with(&[(
        "a.yaml",
        "servers:\n  - name: a\n    port: 1\n  - name: b\n    port: 2\n",
    )]);
    let snap = C5Store::builder().file(at(&d, "a.yaml")).load().unwrap();
    assert_eq!(
        place(snap.explain("servers[1].port").unwrap().origin().unwrap()),
        ("a.yaml".into(), 5, 11)
    );
    assert_eq!(
        snap.explain("servers.1.port").unwrap().key,
        "servers[1].port"
    );
    let b = snap.branch("servers[1]");
    assert_eq!(
        place(b.explain("name").unwrap().origin().unwrap()),
        ("a.yaml".into(), 4, 11)
    );
}

#[test]
fn deleted_keys_have_no_provenance_and_replaced_subtrees_are_recorded() {
    let d = dir_with(&[
        ("a.yaml", "db:\n  host: h\nx: 1\n"),
        ("b.yaml", "db: null\nx: {y: 2}\n"),
    ]);
    let snap = C5Store::builder()
        .file(at(&d, "a.yaml"))
        .file(at(&d, "b.yaml"))
        .load()
        .unwrap();
    assert!(snap.explain("db").is_none() && snap.explain("db.host").is_none());
    let p = snap.explain("x").unwrap().provenance.unwrap().clone();
    assert_eq!(p.overridden[0].value, 1i64.into());
    assert_eq!(snap.get::<i64>("x.y").unwrap(), 2);
}

#[test]
fn first_layer_taken_whole_matches_the_node_by_node_merge() {
    use c5store::{Format, Layer, Origin, Value, merge, parse};
    let text = "a:\n  b: [1, {c: 2}]\n  d: x\nm: &m {k: 1}\nn:\n  <<: *m\n  j: 2\n";
    let layer = parse(Format::Yaml, text, Some(std::path::Path::new("f.yaml"))).unwrap();
    let whole = merge([layer.clone()]);
    let pre = Layer::new(
        Value::from(serde_json::json!({"zzz": 1})),
        Origin::named("pre"),
    );
    let by_node = merge([pre, layer]);
    let whole_entries = whole.provenance.entries(&whole.tree);
    let by_node_entries = by_node.provenance.entries(&by_node.tree);
    assert_eq!(whole_entries.len() + 1, by_node_entries.len());
    for (path, p) in whole_entries {
        if !path.is_empty() {
            assert_eq!(
                Some(p),
                by_node.provenance.get(&by_node.tree, &path),
                "{path}"
            );
        }
    }
}

/// Three TOML layers (the reader's node-aligned positions, the first layer taken whole), then a
/// YAML layer whose null deletes a TOML key: every override is still listed with its place.
#[test]
fn toml_layers_keep_every_override_and_a_later_null_still_deletes() {
    let d = dir_with(&[
        (
            "1.toml",
            "[db]\nhost = \"a\"\nport = 1\n\n[db.pool]\nmax = 10\nmin = 1\n",
        ),
        ("2.toml", "[db]\nport = 2\n\n[db.pool]\nmax = 20\n"),
        ("3.toml", "db.port = 3\ndb.tags = [\"x\", \"y\"]\n"),
        ("4.yaml", "db:\n  pool:\n    min: null\n"),
    ]);
    let snap = C5Store::builder()
        .file(at(&d, "1.toml"))
        .file(at(&d, "2.toml"))
        .file(at(&d, "3.toml"))
        .file(at(&d, "4.yaml"))
        .load()
        .unwrap();
    let p = snap.explain("db.port").unwrap().provenance.unwrap();
    assert_eq!(place(&p.origin), ("3.toml".into(), 1, 11));
    let below: Vec<_> = p
        .overridden
        .iter()
        .map(|o| (place(&o.origin), o.value.clone()))
        .collect();
    assert_eq!(
        below,
        vec![
            (("2.toml".into(), 2, 8), 2i64.into()),
            (("1.toml".into(), 3, 8), 1i64.into())
        ]
    );
    assert_eq!(
        place(snap.explain("db.tags[1]").unwrap().origin().unwrap()),
        ("3.toml".into(), 2, 17)
    );
    assert_eq!(
        place(snap.explain("db.host").unwrap().origin().unwrap()),
        ("1.toml".into(), 2, 8)
    );
    assert!(!snap.exists("db.pool.min"));
    assert!(snap.explain("db.pool.min").is_none());
    let max = snap.explain("db.pool.max").unwrap().provenance.unwrap();
    assert_eq!(place(&max.origin), ("2.toml".into(), 5, 7));
    assert_eq!(max.overridden.len(), 1);
    // the annotated render walks the same tree
    let yaml = c5store::emit::to_yaml_annotated(snap.root(), snap.provenance_tree());
    assert!(yaml.contains("port: 3  # "), "{yaml}");
    assert!(yaml.contains("3.toml:1:11 (toml)"), "{yaml}");
}
