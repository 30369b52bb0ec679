//! Tests of template parsing and rendering (the query functions: `query::tests`).

use super::*;

fn render(text: &str, value: f64) -> String {
    let t = Template::parse("__alert_T", text).unwrap();
    let mut data = TemplateData {
        value,
        ..Default::default()
    };
    data.labels.insert("instance".into(), "host:9100".into());
    data.labels.insert("job".into(), "node".into());
    data.external_labels.insert("cluster".into(), "eu1".into());
    t.render(&data).unwrap()
}

#[test]
fn variables_and_fields() {
    assert_eq!(
        render("{{ $labels.instance }} is {{ $value }}", 0.5),
        "host:9100 is 0.5"
    );
    assert_eq!(render("{{ .Labels.job }}/{{ .Value }}", 3.0), "node/3");
    assert_eq!(render("[{{ $labels.missing }}]", 0.0), "[]");
    assert_eq!(render("{{ $externalLabels.cluster }}", 0.0), "eu1");
    assert_eq!(render("a {{- \" b \" -}} c", 0.0), "a b c");
    assert_eq!(render("{{/* comment */}}x", 0.0), "x");
}

#[test]
fn functions() {
    assert_eq!(render("{{ humanize 1234567 }}", 0.0), "1.235M");
    assert_eq!(render("{{ $value | humanize }}", 0.00123), "1.23m");
    assert_eq!(render("{{ humanizePercentage 0.1234 }}", 0.0), "12.34%");
    assert_eq!(render("{{ humanizeDuration 3725 }}", 0.0), "1h 2m 5s");
    assert_eq!(render("{{ humanizeDuration 0.25 }}", 0.0), "250ms");
    assert_eq!(render("{{ printf \"%.2f\" $value }}", 1.23456), "1.23");
    assert_eq!(render("{{ printf \"%s=%d\" \"a\" 3 }}", 0.0), "a=3");
    assert_eq!(render("{{ toUpper $labels.job }}", 0.0), "NODE");
    // one rune for one rune, as Go's unicode.ToUpper/ToLower (no `SS` for `ß`)
    assert_eq!(
        render(
            "{{ toUpper \"straße\" }} {{ toLower \"ÀB\" }} {{ title \"ßa b\" }}",
            0.0
        ),
        "STRAßE àb ßa B"
    );
    assert_eq!(
        render("{{ reReplaceAll \":.*\" \"\" $labels.instance }}", 0.0),
        "host"
    );
    assert_eq!(
        render("{{ if gt $value 1.0 }}big{{ else }}small{{ end }}", 2.0),
        "big"
    );
    assert_eq!(
        render(
            "{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}",
            0.0
        ),
        "instance=host:9100;job=node;"
    );
}

#[test]
fn prometheus_extra_functions() {
    assert_eq!(render("{{ humanize1024 1234567 }}", 0.0), "1.177Mi");
    assert_eq!(
        render("{{ $value | humanizeTimestamp }}", 1_700_000_000.5),
        "2023-11-14 22:13:20.5 +0000 UTC"
    );
    assert_eq!(
        render("{{ toTime 123456789 }}", 0.0),
        "1973-11-29 21:33:09 +0000 UTC"
    );
    assert_eq!(render("{{ humanizeTimestamp \"NaN\" }}", 0.0), "NaN");
    assert_eq!(
        render("{{ stripDomain $labels.instance }}", 0.0),
        "host:9100"
    );
    assert_eq!(
        render("{{ args 1 \"x\" 2.5 }}", 0.0),
        "map[arg0:1 arg1:x arg2:2.5]"
    );
    assert_eq!(render("{{ $a := args 1 \"x\" }}{{ $a.arg1 }}", 0.0), "x");
    assert_eq!(
        render("{{ tableLink \"up == 0\" }}", 0.0),
        "/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
    );
    assert_eq!(render("{{ parseDuration \"1h30m\" }}", 0.0), "5400");
    let t = Template::parse("__alert_T", "{{ externalURL }}|{{ $externalURL }}").unwrap();
    let data = TemplateData {
        external_url: "http://prom:9090".into(),
        ..Default::default()
    };
    assert_eq!(
        t.render(&data).unwrap(),
        "http://prom:9090|http://prom:9090"
    );
    let t = Template::parse("__alert_T", "{{ parseDuration \"5x\" }}").unwrap();
    let e = t.render(&data).unwrap_err().to_string();
    assert!(e.contains("not a valid duration string"), "{e}");
}

#[test]
fn value_dependence_is_detected() {
    let uses = |t: &str| Template::parse("__alert_T", t).unwrap().uses_value();
    assert!(!uses("plain text"));
    assert!(!uses(
        "{{ $labels.instance }} in {{ $externalLabels.cluster }}"
    ));
    assert!(!uses("{{ range $k, $v := $labels }}{{ $k }}{{ end }}"));
    assert!(uses("{{ $value }}"));
    assert!(uses("{{ humanize $value }}"));
    assert!(uses("{{ printf \"%.1f\" (humanize $value) }}"));
    assert!(uses("{{ .Value }}"));
    assert!(uses("{{ $.Value }}"));
    assert!(uses("{{ if gt $value 1.0 }}big{{ end }}"));
    assert!(uses("{{ $v := $value }}{{ $v }}"));
    assert!(uses("{{ with $labels.job }}{{ . }}{{ end }}"));
}

#[test]
fn parse_errors_are_reported() {
    let e = Template::parse("__alert_T", "{{ nope 1 }}").unwrap_err();
    assert!(
        e.to_string().contains("function \"nope\" not defined"),
        "{e}"
    );
    let e = Template::parse("__alert_T", "{{ $labels.x ").unwrap_err();
    assert!(e.to_string().contains("unclosed action"), "{e}");
    let e = Template::parse("__alert_T", "{{ if 1 }}x").unwrap_err();
    assert_eq!(e.to_string(), "template: __alert_T:1: unexpected EOF");
    // Go reports a missing {{end}} on the last line
    let e = Template::parse("__alert_T", "{{ with 1 }}\n{{ . }}\nx\n").unwrap_err();
    assert_eq!(e.to_string(), "template: __alert_T:4: unexpected EOF");
    let e = Template::parse("__alert_T", "a {{ if }}b{{ end }}").unwrap_err();
    assert_eq!(e.to_string(), "template: __alert_T:1: missing value for if");
    let e = Template::parse("__alert_T", "{{ with }}b{{ end }}").unwrap_err();
    assert!(e.to_string().ends_with("missing value for with"), "{e}");
    let e = Template::parse("__alert_T", "{{ $nope }}").unwrap_err();
    assert!(e.to_string().contains("undefined variable"), "{e}");
}
