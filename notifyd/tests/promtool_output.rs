//! `notifyd test rules` and `notifyd check rules` print what promtool 2.42 prints: for every
//! case under `rules-engine/tests/fixtures/promtool_output/{test,check}/<case>/`, both tools run
//! on the same files (in the case directory, arguments from `args`, default `test.yml`) and
//! stdout, stderr and the exit code must be byte-identical; a mismatch prints a unified diff.
//! promtool comes from Debian's `prometheus` package (./scripts/test installs it); the test fails
//! loudly without it. The only normalization: promtool's own name in kingpin's argument errors
//! (`promtool: error: path 'x' does not exist`) reads `notifyd: error: ...`.
//!
//! A case may carry an `exception` file, `<mode> <why>`, for the few places where identity is
//! impossible or unwanted (listed in ARCHITECTURE.md):
//! - `verdict`: only the exit code is compared (promtool's output is not deterministic there);
//! - `prefix`: stdout identical, promtool's stderr a prefix of ours, promtool exits 0 and we exit
//!   1 (notifyd's loader is stricter, e.g. duplicate rules in a group);
//! - `stricter`: promtool passes (exit 0), notifyd fails (exit 1) for the same stricter-loader
//!   reason.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions; a failing unwrap fails the test
#![allow(clippy::print_stdout)] // one line per case: which ones are identical, which documented

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules-engine/tests/fixtures/promtool_output")
}

fn promtool_available() -> bool {
    Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A line diff (`-` promtool, `+` notifyd) from a longest common subsequence; outputs are small.
fn unified(a: &str, b: &str) -> String {
    let (x, y): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut lcs = vec![vec![0usize; y.len() + 1]; x.len() + 1];
    for i in (0..x.len()).rev() {
        for j in (0..y.len()).rev() {
            lcs[i][j] = if x[i] == y[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::from("--- promtool\n+++ notifyd\n"));
    while i < x.len() || j < y.len() {
        if i < x.len() && j < y.len() && x[i] == y[j] {
            out.push_str(&format!(" {}\n", x[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < x.len() && (j == y.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("-{}\n", x[i]));
            i += 1;
        } else {
            out.push_str(&format!("+{}\n", y[j]));
            j += 1;
        }
    }
    out
}

struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

fn run(bin: &str, cmd: &str, dir: &Path, args: &[String]) -> Run {
    let o: Output = Command::new(bin)
        .args([cmd, "rules"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    Run {
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        code: o.status.code().unwrap_or(-1),
    }
}

/// Runs every case of `cmd` (`test` or `check`); returns (cases, byte-identical, failures).
fn run_cases(cmd: &str) -> (usize, usize, Vec<String>) {
    let ours = env!("CARGO_BIN_EXE_notifyd");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures().join(cmd))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let (mut identical, mut failures) = (0, Vec::new());
    for dir in &dirs {
        let name = format!("{cmd}/{}", dir.file_name().unwrap().to_string_lossy());
        let args: Vec<String> = std::fs::read_to_string(dir.join("args"))
            .unwrap_or_else(|_| "test.yml".into())
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let exception = std::fs::read_to_string(dir.join("exception")).ok();
        let mode = exception
            .as_deref()
            .and_then(|e| e.split_whitespace().next())
            .unwrap_or("identical");
        let mut theirs = run("promtool", cmd, dir, &args);
        theirs.stderr = theirs
            .stderr
            .replace("promtool: error: ", "notifyd: error: ");
        let mine = run(ours, cmd, dir, &args);
        let same = theirs.stdout == mine.stdout
            && theirs.stderr == mine.stderr
            && theirs.code == mine.code;
        identical += usize::from(same);
        let ok = match mode {
            "identical" => same,
            "verdict" => theirs.code == mine.code,
            "prefix" => {
                theirs.stdout == mine.stdout
                    && mine.stderr.starts_with(&theirs.stderr)
                    && (theirs.code, mine.code) == (0, 1)
            }
            "stricter" => (theirs.code, mine.code) == (0, 1),
            other => panic!("{name}: unknown exception mode {other:?}"),
        };
        println!(
            "{name}: {}",
            if same {
                "identical".to_string()
            } else {
                format!("{mode} ({})", if ok { "as documented" } else { "MISMATCH" })
            }
        );
        if !ok {
            failures.push(format!(
                "== {name} ({mode}): exit code promtool {} notifyd {}\nstdout:\n{}stderr:\n{}",
                theirs.code,
                mine.code,
                unified(&theirs.stdout, &mine.stdout),
                unified(&theirs.stderr, &mine.stderr)
            ));
        }
    }
    (dirs.len(), identical, failures)
}

#[test]
fn test_rules_output_is_promtools() {
    assert!(
        promtool_available(),
        "promtool is required (Debian package `prometheus`); ./scripts/test installs it"
    );
    let (n, identical, failures) = run_cases("test");
    println!("test rules: {identical}/{n} cases byte-identical");
    assert!(n >= 30, "corpus has {n} cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn check_rules_output_is_promtools() {
    assert!(
        promtool_available(),
        "promtool is required (Debian package `prometheus`); ./scripts/test installs it"
    );
    let (n, identical, failures) = run_cases("check");
    println!("check rules: {identical}/{n} cases byte-identical");
    assert!(n >= 8, "corpus has {n} cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn diff_marks_changed_lines() {
    assert_eq!(
        unified("a\nb\nc\n", "a\nx\nc\n"),
        "--- promtool\n+++ notifyd\n a\n-b\n+x\n c\n"
    );
}
