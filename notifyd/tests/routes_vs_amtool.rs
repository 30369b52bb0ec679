//! Differential test: `notifyd routes test` must print exactly what Alertmanager's own
//! `amtool config routes test` prints, for hand-written configs (tests/routes/*.yml: continue,
//! nested routes, regex and negative matchers, group_by, legacy match/match_re, quoting) and many
//! label sets, hand-written and generated. `amtool` comes from Debian `prometheus-alertmanager`
//! (installed by ./scripts/test); the test fails loudly without it.
#![allow(clippy::print_stdout)] // progress lines help when a case fails

use std::path::{Path, PathBuf};
use std::process::Command;

use notifyd::config;
use notifyd::matcher::MatchOp;
use notifyd::route::Route;
use notifyd::route_cli;

const CONFIGS: &[&str] = &[
    "basic.yml",
    "regex.yml",
    "continue.yml",
    "legacy.yml",
    "quoting.yml",
    "simple.yml",
];

/// Hand-written label sets (as command-line arguments) tried against every config.
const HAND: &[&str] = &[
    "",
    "team=a sev=crit svc=dbx",
    "team=a sev=crit svc=dbx env=prod",
    "team=a sev=page env=prod",
    "env=prod",
    "a=1 b=1 c=1 d=1",
    "a=1 c=2 d=1",
    "a=2 b=2 c=1 d=1",
    "b=1 c=1",
    "severity=critical env=dev",
    "severity=critical-ish env=prod instance=db12",
    "instance=db team=",
    "team=c svc=web",
    "svc=api foo=x",
    "service=database owner=team-x severity=warning",
    "service=database owner=team-X severity=critical",
    "service=database owner=team-Y",
    "service=files severity=info cluster=eu-1",
    "service=files severity=critical cluster=eu-west",
    "service=foo2 alertname=Watchdog",
    "alertname=Watchdog",
    r#"msg="a, b" who="x y""#,
    r#"q="say \"hi\"""#,
    r#"path="C:\\tmp\\x""#,
    "city=Zürich",
    r#"spaced="value with spaces""#,
    r#"nl="line1\nline2""#,
    "num=42",
    "num=٣",
    "num=7 word=é",
    "num=7 word=ab_9",
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/routes")
}

fn amtool(args: &[String]) -> (String, i32) {
    let out = Command::new("amtool").args(args).output().unwrap_or_else(|e| {
        panic!("cannot run amtool ({e}): install Debian prometheus-alertmanager (./scripts/test does)")
    });
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn split_args(s: &str) -> Vec<String> {
    // Split on spaces outside double quotes (the hand-written sets above use no other quoting).
    let (mut out, mut cur, mut quoted, mut esc) = (Vec::new(), String::new(), false, false);
    for c in s.chars() {
        match c {
            ' ' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                continue;
            }
            '"' if !esc => quoted = !quoted,
            _ => {}
        }
        esc = c == '\\' && !esc;
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn quote(v: &str) -> String {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return v.to_string();
    }
    let mut q = String::from("\"");
    for c in v.chars() {
        match c {
            '\\' => q.push_str("\\\\"),
            '"' => q.push_str("\\\""),
            '\n' => q.push_str("\\n"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// Label sets generated from the names and values a config's matchers mention, plus noise.
fn generated(route: &Route, n: usize, seed: u64) -> Vec<Vec<String>> {
    let mut names: Vec<String> = vec!["alertname".into(), "other".into()];
    let mut values: Vec<String> = vec!["".into(), "zzz".into(), "1".into(), "db12".into()];
    for r in route.walk() {
        for m in &r.matchers {
            if !names.contains(&m.name) {
                names.push(m.name.clone());
            }
            let vs: Vec<String> = match m.op {
                MatchOp::Equal | MatchOp::NotEqual => vec![m.value.clone()],
                _ => m
                    .value
                    .split('|')
                    .map(|p| {
                        p.chars()
                            .filter(|c| !"^$()?:*+[]".contains(*c))
                            .collect::<String>()
                    })
                    .map(|p| p.trim_end_matches('.').to_string())
                    .collect(),
            };
            for v in vs {
                if !values.contains(&v) {
                    values.push(v);
                }
            }
        }
    }
    let mut state = seed;
    let mut next = move |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound as u64) as usize
    };
    (0..n)
        .map(|_| {
            let k = next(5);
            (0..k)
                .map(|_| {
                    let name = &names[next(names.len())];
                    format!("{name}={}", quote(&values[next(values.len())]))
                })
                .collect()
        })
        .collect()
}

fn ours(config: &Path, tree: bool, labels: &[String]) -> (String, i32) {
    let o = route_cli::routes_test(config, tree, labels);
    (o.stdout, i32::from(o.code))
}

#[test]
fn receivers_and_trees_match_amtool() {
    let mut cases: Vec<(PathBuf, bool, Vec<String>)> = Vec::new();
    for (ci, name) in CONFIGS.iter().enumerate() {
        let path = dir().join(name);
        let loaded = config::load_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let route = Route::new(&loaded.config.route);
        for h in HAND {
            cases.push((path.clone(), false, split_args(h)));
        }
        for (i, g) in generated(&route, 30, 0x9e37_79b9_7f4a_7c15 ^ ci as u64)
            .into_iter()
            .enumerate()
        {
            cases.push((path.clone(), i % 5 == 0, g));
        }
        cases.push((path.clone(), true, split_args(HAND[2])));
    }
    // Run amtool on two threads (one process per case).
    let half = cases.len() / 2;
    let (a, b) = cases.split_at(half);
    let run = |part: &[(PathBuf, bool, Vec<String>)]| -> Vec<(String, i32)> {
        part.iter()
            .map(|(p, tree, labels)| {
                let mut args = vec!["config".into(), "routes".into(), "test".into()];
                args.push(format!("--config.file={}", p.display()));
                if *tree {
                    args.push("--tree".into());
                }
                args.extend(labels.iter().cloned());
                amtool(&args)
            })
            .collect()
    };
    let (ra, rb) = std::thread::scope(|s| {
        let ha = s.spawn(|| run(a));
        let hb = s.spawn(|| run(b));
        (ha.join().unwrap(), hb.join().unwrap())
    });
    let mut mismatches = Vec::new();
    let mut distinct = std::collections::BTreeSet::new();
    for ((path, tree, labels), expect) in cases.iter().zip(ra.into_iter().chain(rb)) {
        distinct.insert(expect.0.lines().last().unwrap_or("").to_string());
        let got = ours(path, *tree, labels);
        if got != expect {
            mismatches.push(format!(
                "{} tree={tree} {labels:?}\n  amtool:  {expect:?}\n  notifyd: {got:?}",
                path.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    println!(
        "{} cases compared with amtool, {} mismatches",
        cases.len(),
        mismatches.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(cases.len() >= 300, "enough cases");
    // The label sets must exercise the trees, not just fall through to the root receiver.
    println!("{} distinct receiver lists: {distinct:?}", distinct.len());
    assert!(distinct.len() >= 30, "too little variety: {distinct:?}");
}

#[test]
fn routes_show_matches_amtool() {
    for name in CONFIGS {
        let path = dir().join(name);
        let expect = amtool(&[
            "config".into(),
            "routes".into(),
            "show".into(),
            format!("--config.file={}", path.display()),
        ]);
        let got = route_cli::routes_show(&path);
        assert_eq!((got.stdout, i32::from(got.code)), expect, "{name}");
    }
}

#[test]
fn the_binary_prints_what_amtool_prints() {
    let path = dir().join("basic.yml");
    let labels = ["team=a", "sev=crit", "svc=dbx"];
    for tree in [false, true] {
        let mut args: Vec<String> = vec!["config".into(), "routes".into(), "test".into()];
        args.push(format!("--config.file={}", path.display()));
        let mut ours = Command::new(env!("CARGO_BIN_EXE_notifyd"));
        ours.args(["routes", "test", "--config"]).arg(&path);
        if tree {
            args.push("--tree".into());
            ours.arg("--tree");
        }
        args.extend(labels.iter().map(|s| s.to_string()));
        let out = ours.args(labels).output().unwrap();
        assert_eq!(
            (
                String::from_utf8_lossy(&out.stdout).into_owned(),
                out.status.code().unwrap()
            ),
            amtool(&args)
        );
    }
    for expect in ["team-a,db", "team-a"] {
        let ours = Command::new(env!("CARGO_BIN_EXE_notifyd"))
            .args(["routes", "test", "--config"])
            .arg(&path)
            .arg(format!("--verify-receivers={expect}"))
            .args(labels)
            .output()
            .unwrap();
        let theirs = amtool(&[
            "config".into(),
            "routes".into(),
            "test".into(),
            format!("--config.file={}", path.display()),
            format!("--verify.receivers={expect}"),
            "team=a".into(),
            "sev=crit".into(),
            "svc=dbx".into(),
        ]);
        assert_eq!(
            (
                String::from_utf8_lossy(&ours.stdout).into_owned(),
                ours.status.code().unwrap()
            ),
            theirs,
            "--verify-receivers={expect}"
        );
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_notifyd"))
        .args(["routes", "test", "--config"])
        .arg(&path)
        .arg("team!=a")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stderr)
            .contains("labels must be specified as key=value pairs")
    );
}
