//! The `notifyd routes` and `notifyd template render` commands run as a real process: exit codes,
//! stdout, and config errors/warnings on stderr with file:line:col.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions; a failing unwrap fails the test

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn notifyd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_notifyd"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn template_render_against_fixture_alerts() {
    let alerts = fixture("alerts.json");
    let out = notifyd(&[
        "template",
        "render",
        "--alerts",
        alerts.to_str().unwrap(),
        "--template",
        r#"{{ template "email.default.subject" . }}"#,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "[FIRING:1] DiskFull (page)\n");

    let config = fixture("receivers.yml");
    let out = notifyd(&[
        "template",
        "render",
        "--alerts",
        alerts.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "--- email_configs[0].headers.Subject\n[FIRING] DiskFull on 2 hosts\n\
         --- email_configs[0].text\nfiring: db1 - disk 95% full on db1\nresolved: db2 - disk ok on db2\n\n\
         --- email_configs[0].html\n<p>DiskFull</p>\n\
         --- webhook_configs[0].body_template\n{\"text\": \"DiskFull: 1 firing\"}\n"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.ends_with(
            "receivers.yml:16:5: warning: receiver: `slack_configs` is an Alertmanager setting \
             notifyd does not support; it is ignored\n"
        ),
        "{stderr}"
    );
}

#[test]
fn template_errors_exit_1_with_position() {
    let alerts = fixture("alerts.json");
    let out = notifyd(&[
        "template",
        "render",
        "--alerts",
        alerts.to_str().unwrap(),
        "--template",
        "ok\n{{ range .Alerts }}",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "notifyd: error: template: template syntax: 2:1: range without end\n"
    );
}

#[test]
fn bad_config_is_reported_with_file_line_col() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("am.yml");
    std::fs::write(
        &path,
        "route:\n  receiver: team\n  routes:\n    - matchers: ['sev=~\"(\"']\n      group_wiat: 1m\nreceivers:\n  - name: team\n",
    )
    .unwrap();
    let out = notifyd(&["routes", "test", "--config", path.to_str().unwrap(), "a=b"]);
    assert_eq!(out.status.code(), Some(1));
    let p = path.display();
    assert_eq!(
        text(&out.stderr),
        format!(
            "notifyd: error: invalid config:\n\
             {p}:5:7: error: route: unknown field `group_wiat` (expected one of: receiver, group_by, \
             continue, match, match_re, matchers, group_wait, group_interval, repeat_interval, \
             mute_time_intervals, active_time_intervals, routes, resolve_wait)\n\
             {p}:4:18: error: route: `matchers`: invalid regex \"(\": unclosed group\n"
        )
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn routes_show_prints_the_tree() {
    let config = fixture("receivers.yml");
    let out = notifyd(&["routes", "show", "--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "Routing tree:\n.\n└── default-route  receiver: team-a\n\n"
    );
}

#[test]
fn silences_add_list_expire() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("silences.json");
    let f = file.to_str().unwrap();
    let add = notifyd(&[
        "silence",
        "add",
        "--file",
        f,
        "--author",
        "ops",
        "--comment",
        "db maintenance",
        "--start",
        "2020-01-01T00:00:00Z",
        "--end",
        "2999-01-01T00:00:00Z",
        r#"alertname="Disk""#,
        r#"instance=~"db.*""#,
    ]);
    assert_eq!(add.status.code(), Some(0), "{}", text(&add.stderr));
    let id = text(&add.stdout).trim().to_string();
    assert_eq!(id.len(), 36, "uuid-shaped id: {id}");
    let list = text(&notifyd(&["silence", "list", "--file", f, "--state", "active"]).stdout);
    assert!(
        list.starts_with(&format!(
            "{id} Active alertname=\"Disk\",instance=~\"db.*\" "
        )),
        "{list}"
    );
    assert!(
        list.ends_with(" -> 2999-01-01T00:00:00Z ops \"db maintenance\"\n"),
        "{list}"
    );
    assert_eq!(
        notifyd(&["silence", "expire", "--file", f, &id])
            .status
            .code(),
        Some(0)
    );
    assert!(
        text(&notifyd(&["silence", "list", "--file", f, "--state", "active"]).stdout).is_empty()
    );
    let again = notifyd(&["silence", "expire", "--file", f, &id]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        text(&again.stderr),
        format!("notifyd: error: silence {id} already expired\n")
    );
    let bad = notifyd(&[
        "silence",
        "add",
        "--file",
        f,
        "--author",
        "a",
        "--comment",
        "c",
        r#"a=~".*""#,
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("at least one matcher must not match the empty string"));
}

#[test]
fn template_files_from_the_config_are_used() {
    let alerts = fixture("alerts.json");
    let config = fixture("with_templates.yml");
    let out = notifyd(&[
        "template",
        "render",
        "--alerts",
        alerts.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "--- email_configs[0].headers.Subject\n[FIRING] DiskFull (1 firing)\n\
         --- email_configs[0].text\nhosts: db1 db2 \n\
         --- email_configs[0].html\n<b>db1 db2 </b>\n"
    );
}

/// Silences made with the CLI live in a file; a policy started afterwards (a restarted daemon)
/// loads them and applies them, and sees expiries made with the CLI when it reloads the file.
#[test]
fn silences_from_the_cli_apply_to_a_restarted_policy() {
    use notifyd::group::AlertIn;
    use notifyd::policy::Policy;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("silences.json");
    let f = file.to_str().unwrap();
    let add = notifyd(&[
        "silence",
        "add",
        "--file",
        f,
        "--author",
        "ops",
        "--comment",
        "db maintenance",
        "--duration",
        "2h",
        r#"instance=~"db.*""#,
    ]);
    assert_eq!(add.status.code(), Some(0), "{}", text(&add.stderr));
    let id = text(&add.stdout).trim().to_string();

    let config = "route: {receiver: hook, group_by: [instance], group_wait: 0s}\n\
                  receivers: [{name: hook, webhook_configs: [{url: 'http://127.0.0.1:9/x'}]}]\n";
    let start = |now: i64| {
        let mut p = Policy::new(
            notifyd::config::parse_str(config, "c.yml").unwrap().config,
            "http://c5",
        );
        p.silences = notifyd::silence_file::load(&file).unwrap();
        for instance in ["db1", "web1"] {
            let alert = AlertIn {
                labels: [("alertname", "Down"), ("instance", instance)]
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
                annotations: Default::default(),
                starts_at: now,
                ends_at: None,
                generator_url: String::new(),
            };
            p.ingest(alert, now);
        }
        p.tick(now)
    };
    let now = notifyd::clock::now_ms();
    let out = start(now);
    let instances: Vec<&str> = out
        .iter()
        .map(|d| d.notification.alerts[0].labels["instance"].as_str())
        .collect();
    assert_eq!(instances, ["web1"], "db1 is silenced after the restart");

    let expire = notifyd(&["silence", "expire", "--file", f, &id]);
    assert_eq!(expire.status.code(), Some(0), "{}", text(&expire.stderr));
    let out = start(notifyd::clock::now_ms() + 1);
    assert_eq!(out.len(), 2, "the expiry is applied too: {out:?}");
}
