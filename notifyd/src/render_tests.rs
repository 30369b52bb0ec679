//! Template tests: each case renders a template against fixture data and compares the text.

use super::*;

const FIXTURE: &str = r#"{
  "receiver": "team-a",
  "groupLabels": {"alertname": "DiskFull"},
  "externalURL": "http://c5:9093",
  "alerts": [
    {"status": "firing", "labels": {"alertname": "DiskFull", "instance": "db1", "severity": "page"},
     "annotations": {"summary": "disk <90%> full"}, "startsAt": "2024-03-04T09:30:00Z",
     "generatorURL": "http://prom/graph"},
    {"status": "resolved", "labels": {"alertname": "DiskFull", "instance": "db2", "severity": "page"},
     "annotations": {"summary": "disk ok"}, "startsAt": "2024-03-04T09:00:00Z"}
  ]
}"#;

fn data() -> Data {
    Data::from_fixture_json(FIXTURE).unwrap()
}

fn check(template: &str, expect: &str) {
    let got = match render(template, &data()) {
        Ok(s) => s,
        Err(e) => format!("error: {e}"),
    };
    assert_eq!(got, expect, "template: {template}");
}

#[test]
fn fields_and_functions() {
    check(
        "{{ .Status }} {{ .CommonLabels.alertname }} {{ .Receiver }}",
        "firing DiskFull team-a",
    );
    check(
        "{{ .Status | toUpper }}:{{ .Alerts.Firing | len }}",
        "FIRING:1",
    );
    check("{{ len .Alerts }} {{ .CommonLabels.missing }}|", "2 |");
    check(
        "{{ .CommonLabels.Names | join \",\" }}",
        "alertname,severity",
    );
    check("{{ join \" \" .GroupLabels.Values }}", "DiskFull");
    check("{{ index .CommonLabels \"severity\" }}", "page");
    check(
        "{{ printf \"%s has %d\" .Receiver (len .Alerts) }}",
        "team-a has 2",
    );
    check(
        "{{ .CommonLabels.Remove (stringSlice \"alertname\") }}",
        "map[severity:page]",
    );
    check(
        "{{ reReplaceAll \"db(.)\" \"host-$1\" \"db7\" }} {{ match \"^d\" \"db\" }}",
        "host-7 true",
    );
    check(
        "{{ title \"disk full\" }} {{ toLower \"X\" }} {{ trimSpace \"  y \" }}",
        "Disk Full x y",
    );
}

#[test]
fn time_formatting_with_go_layouts() {
    check(
        "{{ range .Alerts }}{{ .StartsAt.Format \"2006-01-02 15:04:05 MST\" }};{{ end }}",
        "2024-03-04 09:30:00 UTC;2024-03-04 09:00:00 UTC;",
    );
    check(
        "{{ (index .Alerts 0).StartsAt.Format \"Mon Jan _2 3:04PM\" }}",
        "Mon Mar  4 9:30AM",
    );
    check(
        "{{ (index .Alerts 0).StartsAt.Format \"Monday, 02-January-06 15:04 -0700\" }}",
        "Monday, 04-March-24 09:30 +0000",
    );
    check("{{ (index .Alerts 0).StartsAt.Unix }}", "1709544600");
    check(
        "{{ .Receiver.Format \"2006\" }}",
        "error: template: 1:1: Format: not a time: \"team-a\"",
    );
}

#[test]
fn control_flow_and_variables() {
    check(
        "{{ range .Alerts }}{{ .Labels.instance }}={{ .Status }};{{ end }}",
        "db1=firing;db2=resolved;",
    );
    check(
        "{{ range $i, $a := .Alerts }}{{ $i }}:{{ $a.Labels.instance }} {{ end }}",
        "0:db1 1:db2 ",
    );
    check(
        "{{ range .Alerts.Resolved }}{{ $.Receiver }}/{{ .Labels.instance }}{{ end }}",
        "team-a/db2",
    );
    check(
        "{{ if eq .Status \"resolved\" }}R{{ else if gt (len .Alerts) 1 }}many{{ else }}one{{ end }}",
        "many",
    );
    check(
        "{{ with .CommonAnnotations.summary }}{{ . }}{{ else }}none{{ end }}",
        "none",
    );
    check("{{ $n := len .Alerts }}{{ $n = 7 }}{{ $n }}", "7");
    check(
        "{{ range .Alerts.Firing -}}\n  {{ .Labels.instance }}\n{{- end }}",
        "db1",
    );
    check(
        "{{/* a comment */}}x{{ define \"t\" }}[{{ . }}]{{ end }}{{ template \"t\" .Status }}",
        "x[firing]",
    );
    check(
        "{{ if and .Alerts (not .CommonAnnotations) }}yes{{ end }}",
        "yes",
    );
}

#[test]
fn default_subject_matches_alertmanager() {
    check(
        "{{ template \"email.default.subject\" . }}",
        "[FIRING:1] DiskFull (page)",
    );
    let text = render("{{ template \"email.default.text\" . }}", &data()).unwrap();
    assert!(
        text.contains("Alerts Firing:\nLabels:\n - alertname = DiskFull\n - instance = db1"),
        "{text}"
    );
    assert!(text.contains("Alerts Resolved:"), "{text}");
}

#[test]
fn html_escapes_values_but_not_safe_html() {
    let data = data();
    let out = render_html(
        "<b>{{ (index .Alerts 0).Annotations.summary }}</b>{{ \"<i>\" | safeHtml }}",
        &data,
    )
    .unwrap();
    assert_eq!(out, "<b>disk &lt;90%&gt; full</b><i>");
    let page = render_html("{{ template \"email.default.html\" . }}", &data).unwrap();
    assert!(page.contains("disk &lt;90%&gt; full"), "{page}");
}

#[test]
fn errors_point_into_the_template() {
    check(
        "ok {{ .Status ",
        "error: template syntax: 1:4: unclosed action",
    );
    check(
        "{{ if .Status }}x",
        "error: template syntax: 1:1: if without end",
    );
    check(
        "a\n  {{ nosuch .Status }}",
        "error: template: 2:3: function \"nosuch\" not defined",
    );
    check(
        "{{ template \"nope\" . }}",
        "error: template: 1:1: no such template \"nope\"",
    );
    check(
        "{{ end }}",
        "error: template syntax: 1:1: unexpected {{ end }}",
    );
}

proptest::proptest! {
    /// Templates never panic, whatever the text: they render or return an error.
    #[test]
    fn never_panics(src in "([ -~]|\\{\\{|\\}\\}|\\{\\{-|-\\}\\}| \\.Alerts| range| end| if| \\|){0,40}") {
        let _ = render(&src, &data());
        let _ = render_html(&src, &data());
    }
}
