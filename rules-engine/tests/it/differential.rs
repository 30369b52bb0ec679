//! Differential test against promtool 2.42: a seeded generator writes ≥ 300 random rule files
//! (one per case: selectors, functions, aggregations, binary ops, recording rules, alerts with
//! `for`/`keep_firing_for`) and a few promtool test files (one test group per case, batched so
//! promtool runs on few files). Expectations are filled from our engine's results, some of them
//! deliberately wrong; then both `promtool test rules` and our runner judge every case and the
//! verdicts must agree. Disagreements are printed with the failing case.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::Command;

use rules_engine::unittest::{self, Actuals};

use crate::common::{FsFiles, Rng};

const CASES: usize = 320;
const FILES: usize = 20;

/// One generated case: its rule file text and its test group (without expectations).
struct Case {
    id: usize,
    rules: String,
    series: Vec<(String, String)>,
    alert_tests: Vec<(i64, String)>,
    expr_tests: Vec<(i64, String)>,
}

fn sel(r: &mut Rng, id: usize, metric: &str) -> String {
    let extra = match r.below(6) {
        0 => ", job=\"a\"".to_string(),
        1 => ", job=~\"a|b\"".to_string(),
        2 => ", inst!=\"2\"".to_string(),
        3 => ", inst!~\"3\"".to_string(),
        _ => String::new(),
    };
    format!("{metric}{{case=\"{id}\"{extra}}}")
}

fn range(r: &mut Rng) -> &'static str {
    ["2m", "3m", "5m", "10m"][r.below(4) as usize]
}

fn offset(r: &mut Rng) -> &'static str {
    if r.below(6) == 0 { " offset 1m" } else { "" }
}

/// A random instant-vector expression over the case's series.
fn vector_expr(r: &mut Rng, id: usize, depth: u32) -> String {
    let g = sel(r, id, "g_temp");
    let c = sel(r, id, "c_total");
    match r.below(if depth > 1 { 12 } else { 22 }) {
        0 => g,
        1 => format!("{g}{}", offset(r)),
        2 => format!("rate({c}[{}]{})", range(r), offset(r)),
        3 => format!("increase({c}[{}])", range(r)),
        4 => format!("irate({c}[{}])", range(r)),
        5 => {
            let f = r.pick(&[
                "delta",
                "idelta",
                "deriv",
                "resets",
                "changes",
                "avg_over_time",
                "min_over_time",
                "max_over_time",
                "sum_over_time",
                "count_over_time",
                "last_over_time",
                "stddev_over_time",
            ]);
            format!("{f}({g}[{}])", range(r))
        }
        6 => format!(
            "quantile_over_time(0.{}, {g}[{}])",
            1 + r.below(9),
            range(r)
        ),
        7 => {
            let f = r.pick(&["abs", "ceil", "floor", "round", "timestamp"]);
            format!("{f}({})", vector_expr(r, id, depth + 1))
        }
        8 => match r.below(3) {
            0 => format!("clamp({g}, 2, 6)"),
            1 => format!("clamp_min({g}, 3)"),
            _ => format!("clamp_max({g}, 4)"),
        },
        9 => format!("label_replace({g}, \"host\", \"h-$1\", \"inst\", \"(.*)\")"),
        10 => format!(
            "{g} {} {}",
            r.pick(&["+", "-", "*", "/", "%"]),
            1 + r.below(4)
        ),
        11 => format!(
            "{g} {} {}",
            r.pick(&[">", "<", ">=", "<=", "==", "!="]),
            r.below(8)
        ),
        12 => {
            let op = r.pick(&["sum", "avg", "min", "max", "count", "stddev"]);
            let grouping = r.pick(&["by (job)", "by (job, case)", "without (inst)", ""]);
            format!("{op} {grouping} ({})", vector_expr(r, id, depth + 1))
        }
        // topk/bottomk are left out: Prometheus breaks ties by heap order, an implementation
        // detail (the first runs found such cases and nothing else)
        13 => format!("{g} {} ignoring (inst) group_left {c}", r.pick(&["*", "-"])),
        14 => format!("quantile by (job) (0.5, {g})"),
        15 => format!("count_values(\"v\", {g})"),
        16 => format!("{g} {} bool {}", r.pick(&[">", "<", "=="]), r.below(8)),
        17 => format!(
            "{g} {} {}",
            r.pick(&["and", "or", "unless"]),
            sel(r, id, "g_temp")
        ),
        18 => format!("{g} {} on (job, inst, case) {c}", r.pick(&["+", "/", ">"])),
        19 => format!(
            "{g} / on (job, case) group_left sum by (job, case) ({})",
            sel(r, id, "g_temp")
        ),
        20 => format!("absent(g_temp{{case=\"{id}\", job=\"zz\"}})"),
        _ => format!("absent_over_time({g}[{}])", range(r)),
    }
}

fn gen_case(r: &mut Rng, id: usize, minutes: i64) -> Case {
    let n = 2 + r.below(4) as usize;
    let mut series = Vec::new();
    for k in 0..n {
        let job = ["a", "b"][k % 2];
        let inst = 1 + k / 2;
        // counter with an occasional reset
        let mut vals = Vec::new();
        let (mut v, step) = (r.below(10) as i64, 1 + r.below(5) as i64);
        for i in 0..=minutes {
            if i > 3 && r.below(25) == 0 {
                v = 0;
            }
            vals.push(if r.below(30) == 0 {
                "_".to_string()
            } else {
                v.to_string()
            });
            v += step;
        }
        series.push((
            format!("c_total{{case=\"{id}\", job=\"{job}\", inst=\"{inst}\"}}"),
            vals.join(" "),
        ));
        let g = match r.below(4) {
            0 => format!("{}+{}x{minutes}", r.below(5), r.below(3)),
            1 => {
                let half = minutes / 2;
                format!(
                    "{}x{half} _ {}x{}",
                    r.below(8),
                    r.below(8),
                    minutes - half - 1
                )
            }
            2 => {
                let mut g: Vec<String> = (0..=minutes).map(|_| r.below(9).to_string()).collect();
                if r.below(3) == 0 {
                    let at = (minutes / 2) as usize;
                    g[at] = "stale".into();
                }
                g.join(" ")
            }
            _ => format!("{}-1x{}", minutes, minutes),
        };
        series.push((
            format!("g_temp{{case=\"{id}\", job=\"{job}\", inst=\"{inst}\"}}"),
            g,
        ));
    }
    let mut rules = String::from("groups:\n");
    let _ = writeln!(rules, "- name: case{id}\n  rules:");
    let mut alert_tests = Vec::new();
    let mut expr_tests = Vec::new();
    // a recording rule, then alerts (one of them on the recorded series)
    let rec = format!("case{id}:rec");
    let rec_expr = format!("sum by (job, case) ({})", vector_expr(r, id, 1));
    let _ = writeln!(
        rules,
        "  - record: {rec}\n    expr: {}",
        yaml_str(&rec_expr)
    );
    expr_tests.push((
        r.below(minutes as u64 + 1) as i64 * 60_000,
        format!("{rec}{{case=\"{id}\"}}"),
    ));
    for k in 0..(1 + r.below(3)) {
        let name = format!("C{id}_A{k}");
        let expr = if k == 1 {
            format!("{rec} > {}", r.below(30))
        } else {
            let base = vector_expr(r, id, 1);
            format!("({base}) > {}", r.below(6))
        };
        let _ = writeln!(rules, "  - alert: {name}\n    expr: {}", yaml_str(&expr));
        let for_ = r.pick(&["0s", "1m", "2m", "3m"]);
        if *for_ != "0s" || r.below(2) == 0 {
            let _ = writeln!(rules, "    for: {for_}");
        }
        if r.below(3) == 0 {
            let _ = writeln!(rules, "    keep_firing_for: {}", r.pick(&["1m", "2m"]));
        }
        let _ = writeln!(
            rules,
            "    labels:\n      severity: {}",
            r.pick(&["page", "warn"])
        );
        if r.below(2) == 0 {
            let _ = writeln!(rules, "      origin: {}", yaml_str("{{ $labels.job }}-x"));
        }
        let ann = r.pick(&[
            "v={{ $value }}",
            "{{ $labels.inst }} is {{ humanize $value }}",
            "{{ printf \"%.2f\" $value }} on {{ $labels.job }}",
            "{{ $value | humanizePercentage }}",
            "static",
        ]);
        let _ = writeln!(rules, "    annotations:\n      summary: {}", yaml_str(ann));
        for _ in 0..3 {
            let t = r.below(minutes as u64 * 2 + 1) as i64 * 30_000;
            alert_tests.push((t, name.clone()));
        }
    }
    for _ in 0..2 {
        let t = r.below(minutes as u64 + 1) as i64 * 60_000;
        expr_tests.push((t, vector_expr(r, id, 0)));
    }
    Case {
        id,
        rules,
        series,
        alert_tests,
        expr_tests,
    }
}

fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn dur(ms: i64) -> String {
    if ms % 60_000 == 0 {
        format!("{}m", ms / 60_000)
    } else {
        format!("{}s", ms / 1000)
    }
}

fn yaml_f64(v: f64) -> String {
    if v.is_nan() {
        ".nan".into()
    } else if v == f64::INFINITY {
        ".inf".into()
    } else if v == f64::NEG_INFINITY {
        "-.inf".into()
    } else {
        format!("{v:?}")
    }
}

/// Writes a test file for `cases`; with `act`, expectations come from it (perturbed for the
/// cases in `wrong`).
fn write_test_file(
    cases: &[Case],
    act: Option<&[Actuals]>,
    wrong: &BTreeSet<usize>,
    interval: &str,
) -> String {
    let mut s = String::from("rule_files:\n");
    for c in cases {
        let _ = writeln!(s, "  - rules_{}.yml", c.id);
    }
    let _ = writeln!(s, "evaluation_interval: {interval}\ntests:");
    for (ci, c) in cases.iter().enumerate() {
        let a = act.map(|a| &a[ci]);
        let _ = writeln!(
            s,
            "- name: case{}\n  interval: {interval}\n  input_series:",
            c.id
        );
        for (ser, vals) in &c.series {
            let _ = writeln!(
                s,
                "  - series: {}\n    values: {}",
                yaml_str(ser),
                yaml_str(vals)
            );
        }
        let bad = wrong.contains(&c.id);
        let _ = writeln!(s, "  alert_rule_test:");
        for (ti, (t, name)) in c.alert_tests.iter().enumerate() {
            let _ = writeln!(
                s,
                "  - eval_time: {}\n    alertname: {name}\n    exp_alerts:",
                dur(*t)
            );
            let mut got = a.map(|a| a.alerts[ti].clone()).unwrap_or_default();
            if bad && ti == 0 {
                if got.is_empty() {
                    got.push((vec![("bogus".into(), "1".into())], vec![]));
                } else {
                    got.pop();
                }
            }
            for (labels, anns) in got {
                let _ = writeln!(s, "    - exp_labels:");
                for (k, v) in labels.iter().filter(|(k, _)| k != "alertname") {
                    let _ = writeln!(s, "        {k}: {}", yaml_str(v));
                }
                let _ = writeln!(s, "      exp_annotations:");
                for (k, v) in &anns {
                    let _ = writeln!(s, "        {k}: {}", yaml_str(v));
                }
            }
        }
        let _ = writeln!(s, "  promql_expr_test:");
        for (ti, (t, expr)) in c.expr_tests.iter().enumerate() {
            let _ = writeln!(
                s,
                "  - expr: {}\n    eval_time: {}\n    exp_samples:",
                yaml_str(expr),
                dur(*t)
            );
            let got = a
                .and_then(|a| a.exprs.get(ti))
                .and_then(|r| r.as_ref().ok())
                .cloned()
                .unwrap_or_default();
            for (si, (l, v)) in got.iter().enumerate() {
                let v = if bad && ti == 1 && si == 0 {
                    v + 1.0
                } else {
                    *v
                };
                let _ = writeln!(
                    s,
                    "    - labels: {}\n      value: {}",
                    yaml_str(&l.to_string()),
                    yaml_f64(v)
                );
            }
        }
    }
    s
}

/// Splits promtool-style stderr into failing case ids (`usize::MAX`: an error naming no case).
fn failing_cases(stderr: &str) -> BTreeSet<usize> {
    let re = regex::Regex::new(r#"case(\d+)|C(\d+)_|case=\\"(\d+)\\""#).unwrap();
    let id = |line: &str| {
        re.captures(line).and_then(|c| {
            (1..=3)
                .find_map(|i| c.get(i))
                .and_then(|m| m.as_str().parse::<usize>().ok())
        })
    };
    let mut out = BTreeSet::new();
    for line in stderr.lines() {
        if line.trim().is_empty() || line == "  FAILED:" || line.starts_with("        ") {
            continue;
        }
        let head = ["    name: ", "    alertname: ", "    expr: ", "    rule: "];
        if head.iter().any(|h| line.starts_with(h)) {
            out.insert(id(line).unwrap_or(usize::MAX));
        } else {
            out.insert(usize::MAX);
        }
    }
    out
}

#[test]
#[allow(clippy::disallowed_methods)] // wall-clock timing of the test itself, printed only
fn verdicts_agree_with_promtool() {
    let promtool = which("promtool");
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now(); // test timing report only
    let mut ours_time = std::time::Duration::ZERO;
    let mut rng = Rng::new(0xC5_2042);
    let per_file = CASES / FILES;
    let mut disagreements = Vec::new();
    let mut rounding = Vec::new();
    let mut identical_outputs = 0;
    let (mut ours_failed, mut total) = (0usize, 0usize);
    let mut files = Vec::new();
    for f in 0..FILES {
        let interval = if f % 2 == 0 { "1m" } else { "30s" };
        let minutes = 20;
        let cases: Vec<Case> = (0..per_file)
            .map(|i| gen_case(&mut rng, f * per_file + i, minutes))
            .collect();
        for c in &cases {
            std::fs::write(dir.path().join(format!("rules_{}.yml", c.id)), &c.rules).unwrap();
        }
        let path = dir.path().join(format!("test_{f}.yml"));
        let wrong: BTreeSet<usize> = cases
            .iter()
            .filter(|_| rng.below(6) == 0)
            .map(|c| c.id)
            .collect();
        files.push((path, cases, wrong, interval));
    }
    // two workers (the machine has two cores): fill expectations from our results, then run
    // promtool and our runner on the final file
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some((path, cases, wrong, interval)) = files.get(i) else {
                        break;
                    };
                    let p = path.display().to_string();
                    let t0 = std::time::Instant::now();
                    std::fs::write(
                        path,
                        write_test_file(cases, None, &BTreeSet::new(), interval),
                    )
                    .unwrap();
                    let (_, act) = unittest::run_file_with_actuals(&p, &FsFiles);
                    assert_eq!(act.len(), cases.len(), "one result per test group");
                    std::fs::write(path, write_test_file(cases, Some(&act), wrong, interval))
                        .unwrap();
                    // judged with groups evaluated on two threads; the sequential run must
                    // give the same report and results
                    let opts = unittest::RunOptions { threads: 2 };
                    let (report, par_act) = unittest::run_file_with(&p, &FsFiles, &opts);
                    let ours = t0.elapsed();
                    let (serial, serial_act) = unittest::run_file_with_actuals(&p, &FsFiles);
                    assert_eq!(
                        report.output(),
                        serial.output(),
                        "{p}: parallel vs sequential"
                    );
                    // (as text: NaN results compare equal)
                    assert_eq!(
                        format!("{par_act:?}"),
                        format!("{serial_act:?}"),
                        "{p}: parallel vs sequential results"
                    );
                    let prom = Command::new(&promtool)
                        .args(["test", "rules"])
                        .arg(path)
                        .output()
                        .unwrap();
                    results.lock().unwrap().push((i, report, prom, ours));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|r| r.0);
    for (i, report, prom, ours) in results {
        let (path, cases, wrong, _) = &files[i];
        let p = path.display().to_string();
        ours_time += ours;
        let prom_err = String::from_utf8_lossy(&prom.stderr).to_string();
        let prom_out = String::from_utf8_lossy(&prom.stdout).to_string();
        let (mut our_out, mut our_err) = (String::new(), String::new());
        for (stream, line) in report.output() {
            let buf = if stream == unittest::Stream::Stdout {
                &mut our_out
            } else {
                &mut our_err
            };
            buf.push_str(&line);
            buf.push('\n');
        }
        if our_out == prom_out && our_err == prom_err {
            identical_outputs += 1;
        }
        let prom_fail = failing_cases(&prom_err);
        let our_fail = failing_cases(&our_err);
        assert!(
            !prom_fail.contains(&usize::MAX),
            "promtool failed a whole file {p}:\n{prom_err}"
        );
        assert!(
            !our_fail.contains(&usize::MAX),
            "we failed a whole file {p}:\n{our_err}"
        );
        for c in cases {
            total += 1;
            let (ours, theirs) = (our_fail.contains(&c.id), prom_fail.contains(&c.id));
            ours_failed += usize::from(ours);
            if wrong.contains(&c.id) && !(ours && theirs) {
                disagreements.push(format!(
                    "case {}: perturbed but ours failed={ours} promtool failed={theirs}",
                    c.id
                ));
                continue;
            }
            if ours != theirs && only_rounding(&prom_err, &our_err, c.id) {
                rounding.push(c.id);
                continue;
            }
            if ours != theirs {
                let ours_txt = excerpt(&our_err, c.id);
                let prom_txt = excerpt(&prom_err, c.id);
                disagreements.push(format!(
                    "case {} (perturbed: {}): ours failed={ours} promtool failed={theirs}\n--- rules\n{}--- series\n{:#?}\n--- ours\n{ours_txt}\n--- promtool\n{prom_txt}",
                    c.id,
                    wrong.contains(&c.id),
                    c.rules,
                    c.series
                ));
            }
        }
    }
    eprintln!(
        "differential: {total} cases in {FILES} files, {ours_failed} failing by design, \
         {} disagreements, {} cases differing only in the last digits of a float \
         ({rounding:?}), {identical_outputs}/{FILES} files with byte-identical output; \
         total {:?}, our runner {:?}",
        disagreements.len(),
        rounding.len(),
        started.elapsed(),
        ours_time
    );
    if std::env::var_os("C5_KEEP_DIFF").is_some() {
        eprintln!("kept generated files in {}", dir.keep().display());
    }
    assert!(total >= 300);
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n\n")
    );
}

/// True when the failures of case `id` (in either output) are all expression results whose
/// labels agree and whose values agree to 1e-9 relative: summation-order rounding, logged
/// separately from semantic disagreements.
fn only_rounding(prom_err: &str, our_err: &str, id: usize) -> bool {
    let mark = format!("case=\\\"{id}\\\"");
    let mut blocks = Vec::new();
    for err in [prom_err, our_err] {
        let lines: Vec<&str> = err.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let head = l.starts_with("    ") && !l.starts_with("        ");
            if head && (l.contains(&format!("case{id},")) || l.contains(&format!("C{id}_"))) {
                return false; // an alert or rule failure of this case
            }
            if head && l.contains(&mark) {
                if !l.starts_with("    expr:") || l.contains(", err: ") || i + 2 >= lines.len() {
                    return false;
                }
                blocks.push((lines[i + 1].to_string(), lines[i + 2].to_string()));
            }
        }
    }
    let re = regex::Regex::new(r"(\{[^}]*\}) (\S+?)(?:,|$)").unwrap();
    let parse = |s: &str| -> Vec<(String, f64)> {
        re.captures_iter(s)
            .map(|c| (c[1].to_string(), c[2].parse().unwrap_or(f64::NAN)))
            .collect()
    };
    !blocks.is_empty()
        && blocks.iter().all(|(exp, got)| {
            let (e, g) = (parse(exp), parse(got));
            e.len() == g.len()
                && e.iter().zip(&g).all(|(a, b)| {
                    a.0 == b.0 && (a.1 - b.1).abs() <= 1e-9 * a.1.abs().max(b.1.abs()).max(1e-300)
                })
        })
}

fn excerpt(stderr: &str, id: usize) -> String {
    let marks = [
        format!("case{id},"),
        format!("case=\\\"{id}\\\""),
        format!("C{id}_"),
        format!("case{id}:"),
    ];
    let lines: Vec<&str> = stderr.lines().collect();
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        if marks.iter().any(|m| l.contains(m.as_str())) {
            for l2 in lines.iter().skip(i).take(14) {
                out.push_str(l2);
                out.push('\n');
            }
            break;
        }
    }
    out
}

fn which(bin: &str) -> String {
    let ok = Command::new(bin)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{bin} is required (Debian package `prometheus`); ./scripts/test installs it"
    );
    bin.to_string()
}
