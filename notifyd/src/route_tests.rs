//! Unit tests for the route tree: matching, inheritance, keys and amtool-style tree output.

use super::*;
use crate::config::parse_str;

const CONFIG: &str = r#"
route:
  receiver: default
  group_by: [alertname]
  group_wait: 10s
  routes:
    - matchers: ['team="a"', 'sev=~"crit|page"']
      receiver: team-a
      continue: true
      group_by: ['...']
    - match: {team: a}
      receiver: team-a2
      repeat_interval: 1h
      routes:
        - match_re: {svc: "db.*"}
          receiver: db
          group_wait: 1s
    - matchers: ['env!="prod"']
      receiver: nonprod
receivers:
  - name: default
  - name: team-a
  - name: team-a2
  - name: db
  - name: nonprod
"#;

fn tree() -> Route {
    Route::new(&parse_str(CONFIG, "t.yml").unwrap().config.route)
}

fn labels(s: &str) -> LabelSet {
    s.split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn check(input: &str, expect: &str) {
    let got = tree().receivers(&labels(input)).join(",");
    assert_eq!(got, expect, "labels: {input}");
}

#[test]
fn receivers_follow_alertmanager_semantics() {
    check("team=a sev=crit svc=dbx", "team-a,db");
    check("team=a sev=crit svc=dbx env=prod", "team-a,db");
    check("team=a sev=warn", "team-a2");
    check("team=a sev=page env=prod", "team-a,team-a2");
    check("env=prod", "default");
    check("", "nonprod");
    check("team=b env=prod", "default");
}

#[test]
fn settings_are_inherited() {
    let t = tree();
    let db = &t.routes[1].routes[0];
    assert_eq!(db.opts.receiver, "db");
    assert_eq!(db.opts.group_wait, Duration::from_secs(1));
    assert_eq!(
        db.opts.repeat_interval,
        Duration::from_secs(3600),
        "from parent"
    );
    assert_eq!(db.opts.group_interval, Duration::from_secs(300), "default");
    assert_eq!(db.opts.group_by.iter().collect::<Vec<_>>(), ["alertname"]);
    assert!(t.routes[0].opts.group_by_all);
    assert_eq!(t.routes[2].opts.group_wait, Duration::from_secs(10));
}

#[test]
fn group_by_inheritance_follows_alertmanager() {
    let cfg = "route:\n  receiver: r\n  group_by: [a]\n  routes:\n    - {receiver: r, group_by: }\n    - {receiver: r, group_by: []}\n    - receiver: r\n      group_by: ['...']\n      routes: [{receiver: r, group_by: [b]}, {receiver: r}]\nreceivers: [{name: r}]\n";
    let t = Route::new(&parse_str(cfg, "t.yml").unwrap().config.route);
    assert_eq!(
        t.routes[0].opts.group_by.len(),
        1,
        "null: inherited like Go's nil slice"
    );
    assert_eq!(
        t.routes[1].opts.group_by.len(),
        1,
        "[]: also inherited (Go leaves the slice nil)"
    );
    assert!(t.routes[2].opts.group_by_all);
    assert!(
        !t.routes[2].routes[0].opts.group_by_all,
        "named labels turn `...` off"
    );
    assert!(
        t.routes[2].routes[1].opts.group_by_all,
        "`...` is inherited"
    );
}

#[test]
fn keys_and_group_labels() {
    let t = tree();
    assert_eq!(t.key, "{}");
    assert_eq!(
        t.routes[1].routes[0].key,
        r#"{}/{team="a"}/{svc=~"^(?:db.*)$"}"#
    );
    assert_eq!(
        t.routes[1].routes[0].id,
        r#"{}/{team="a"}/{svc=~"^(?:db.*)$"}/0"#
    );
    let l = labels("alertname=Up team=a sev=crit");
    assert_eq!(t.group_labels(&l), labels("alertname=Up"));
    assert_eq!(t.routes[0].group_labels(&l), l);
    assert_eq!(t.routes[2].group_labels(&labels("x=1")), LabelSet::new());
}

#[test]
fn show_tree_matches_amtool_layout() {
    let expect = "\
.
└── default-route  receiver: default
    ├── {sev=~\"crit|page\",team=\"a\"}  continue: true  receiver: team-a
    ├── {team=\"a\"}  receiver: team-a2
    │\u{a0}\u{a0} └── {svc=~\"^(?:db.*)$\"}  receiver: db
    └── {env!=\"prod\"}  receiver: nonprod
";
    assert_eq!(tree().show_tree(), expect);
}

#[test]
fn matching_tree_matches_amtool_layout() {
    let expect = "\
.
└── default-route
    ├── {sev=~\"crit|page\",team=\"a\"}  receiver: team-a
    └── {team=\"a\"}
        └── {svc=~\"^(?:db.*)$\"}  receiver: db
";
    assert_eq!(
        tree().matching_tree(&labels("team=a sev=crit svc=dbx env=prod")),
        expect
    );
}

proptest::proptest! {
    /// Laws: every alert reaches at least one receiver, and labels no matcher mentions change
    /// nothing.
    #[test]
    fn routing_laws(
        pairs in proptest::collection::vec(
            (proptest::sample::select(vec!["team", "sev", "svc", "env"]),
             proptest::sample::select(vec!["a", "crit", "page", "dbx", "prod", ""])),
            0..5,
        ),
        extra in "[a-z]{1,8}",
    ) {
        let t = tree();
        let l: LabelSet = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let got = t.receivers(&l);
        proptest::prop_assert!(!got.is_empty());
        let mut more = l.clone();
        more.insert("unrelated".into(), extra);
        proptest::prop_assert_eq!(t.receivers(&more), got);
    }
}
