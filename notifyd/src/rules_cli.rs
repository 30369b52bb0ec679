//! `notifyd check rules` and `notifyd test rules`: the rules-engine's loader and promtool-format
//! unit-test runner with file access, printing what promtool 2.42 prints and returning its exit
//! codes (0 all good, 1 any failure).

use std::io::Write;
use std::path::{Path, PathBuf};

use rules_engine::unittest::{self, Files, Stream};

/// Reads test and rule files from the file system; globs the last path component.
struct FsFiles;

use notifyd::config::wildcard;

impl Files for FsFiles {
    fn read(&self, path: &str) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("open {path}: no such file or directory"),
            _ => format!("open {path}: {e}"),
        })
    }

    fn glob(&self, pattern: &str) -> Result<Vec<String>, String> {
        if !pattern.contains(['*', '?']) {
            return Ok(if Path::new(pattern).exists() {
                vec![pattern.to_string()]
            } else {
                vec![]
            });
        }
        let (dir, file) = match pattern.rfind('/') {
            Some(i) => (&pattern[..i], &pattern[i + 1..]),
            None => (".", pattern),
        };
        let mut out = Vec::new();
        if let Ok(rd) = std::fs::read_dir(if dir.is_empty() { "/" } else { dir }) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if wildcard(file, &name) {
                    out.push(if pattern.contains('/') {
                        format!("{dir}/{name}")
                    } else {
                        name
                    });
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

/// Like promtool's argument check (kingpin `ExistingFiles`): every path must exist before
/// anything runs; prints `notifyd: error: path 'X' does not exist, try --help`.
fn missing_path(files: &[PathBuf], err: &mut dyn Write) -> std::io::Result<bool> {
    match files.iter().find(|f| !f.exists()) {
        Some(f) => {
            writeln!(
                err,
                "notifyd: error: path '{}' does not exist, try --help",
                f.display()
            )?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// `notifyd check rules FILE...`: promtool's checks and texts, then this crate's loader (which
/// may reject more, e.g. duplicate rules in a group: then the exit code is 1 where promtool's
/// duplicate-rule lint alone exits 0).
pub fn check_rules(
    files: &[PathBuf],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<u8> {
    if missing_path(files, err)? {
        return Ok(1);
    }
    let mut failed = false;
    for f in files {
        let name = f.display().to_string();
        writeln!(out, "Checking {name}")?;
        let outcome = match FsFiles.read(&name) {
            Ok(text) => unittest::check_rule_file(&name, &text),
            Err(e) => unittest::CheckOutcome {
                errors: vec![format!("{name}: {e}")],
                ..Default::default()
            },
        };
        if outcome.errors.is_empty() {
            writeln!(out, "  SUCCESS: {} rules found", outcome.rules)?;
        } else {
            failed |= !outcome.lint_only;
            writeln!(err, "  FAILED:")?;
            for e in &outcome.errors {
                writeln!(err, "{e}")?;
            }
        }
        writeln!(out)?;
    }
    Ok(u8::from(failed))
}

/// `notifyd test rules TEST_FILE...`: runs promtool-format unit tests.
pub fn test_rules(
    files: &[PathBuf],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<u8> {
    if missing_path(files, err)? {
        return Ok(1);
    }
    // independent rule groups are evaluated on every core; the output does not depend on it
    let opts = unittest::RunOptions {
        threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
    };
    let mut failed = false;
    for f in files {
        let (report, _) = unittest::run_file_with(&f.display().to_string(), &FsFiles, &opts);
        failed |= !report.passed();
        for (stream, line) in report.output() {
            match stream {
                Stream::Stdout => writeln!(out, "{line}")?,
                Stream::Stderr => writeln!(err, "{line}")?,
            }
        }
    }
    Ok(u8::from(failed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(wildcard("*.yml", "a.yml"));
        assert!(wildcard("r?.yml", "r1.yml"));
        assert!(!wildcard("*.yml", "a.yaml"));
    }

    #[test]
    fn check_and_test_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("r.yml");
        std::fs::write(
            &rules,
            "groups:\n- name: g\n  rules:\n  - alert: Up\n    expr: up > 0\n    labels: {sev: x}\n",
        )
        .unwrap();
        let (mut o, mut e) = (Vec::new(), Vec::new());
        assert_eq!(
            check_rules(std::slice::from_ref(&rules), &mut o, &mut e).unwrap(),
            0
        );
        assert!(String::from_utf8_lossy(&o).contains("SUCCESS: 1 rules found"));
        let bad = dir.path().join("bad.yml");
        std::fs::write(
            &bad,
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    fro: 1m\n",
        )
        .unwrap();
        let (mut o, mut e) = (Vec::new(), Vec::new());
        assert_eq!(
            check_rules(std::slice::from_ref(&bad), &mut o, &mut e).unwrap(),
            1
        );
        let err = String::from_utf8_lossy(&e);
        assert!(
            err.contains("field fro not found in type rulefmt.RuleNode"),
            "{err}"
        );
        let t = dir.path().join("t.yml");
        std::fs::write(&t, "rule_files: [r.yml]\ntests:\n- interval: 1m\n  input_series:\n  - series: up{job=\"a\"}\n    values: 1 1 1\n  alert_rule_test:\n  - eval_time: 1m\n    alertname: Up\n    exp_alerts:\n    - exp_labels: {job: a, sev: x}\n").unwrap();
        let (mut o, mut e) = (Vec::new(), Vec::new());
        let rc = test_rules(&[t], &mut o, &mut e).unwrap();
        // the exit code depends on evaluation; the output shape is promtool's either way
        let out = String::from_utf8_lossy(&o);
        assert!(out.starts_with("Unit Testing:  "), "{out}");
        assert!(rc <= 1);
    }
}
