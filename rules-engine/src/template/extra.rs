//! Helpers behind Prometheus' host, link, time and duration template functions, written to
//! produce exactly what Go's `net`, `net/url`, `time` and Prometheus' `model` packages produce.

use crate::gofmt::fmt_g;

/// Go's `net.SplitHostPort`: `host:port`, `[v6]:port`; `None` where Go returns an error.
pub(super) fn split_host_port(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        if port.contains([':', '[', ']']) || host.contains(['[', ']']) {
            return None;
        }
        return Some((host, port));
    }
    let (host, port) = s.rsplit_once(':')?;
    if host.contains([':', '[', ']']) || port.contains(['[', ']']) {
        return None;
    }
    Some((host, port))
}

/// Go's `net.JoinHostPort`.
fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Prometheus' `stripPort`: the host of `host:port`, the input unchanged when it has no port.
pub(super) fn strip_port(s: &str) -> String {
    split_host_port(s).map_or(s, |(h, _)| h).to_string()
}

/// Prometheus' `stripDomain`: the first DNS label of a host name, keeping a port; IP addresses
/// are returned unchanged.
pub(super) fn strip_domain(s: &str) -> String {
    let (host, port) = split_host_port(s).unwrap_or((s, ""));
    if host.parse::<std::net::IpAddr>().is_ok() {
        return s.to_string();
    }
    let first = host.split('.').next().unwrap_or("");
    if port.is_empty() {
        first.to_string()
    } else {
        join_host_port(first, port)
    }
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Prometheus' `graphLink` (`tab = 0`) and `tableLink` (`tab = 1`).
pub(super) fn expr_link(expr: &str, tab: u8) -> String {
    format!("/graph?g0.expr={}&g0.tab={tab}", query_escape(expr))
}

/// Days since 1970-01-01 to a (year, month, day) civil date (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Prometheus' `toTime` printed with Go's `time.Time.String()` in UTC (millisecond precision,
/// like `model.TimeFromUnixNano`). `Ok(None)` for NaN and infinities.
pub(super) fn timestamp_string(v: f64) -> Result<Option<String>, String> {
    if v.is_nan() || v.is_infinite() {
        return Ok(None);
    }
    let ns = v * 1e9;
    if ns > i64::MAX as f64 || ns < i64::MIN as f64 {
        return Err(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            fmt_g(v, None)
        ));
    }
    let ms = (ns as i64) / 1_000_000;
    let (secs, milli) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, mo, d) = civil_from_days(days);
    let mut frac = String::new();
    if milli != 0 {
        frac = format!(".{milli:03}").trim_end_matches('0').to_string();
    }
    Ok(Some(format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}{frac} +0000 UTC",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )))
}

/// Prometheus' `model.ParseDuration` (`1h30m`, `250ms`, `1y2w`), in seconds.
pub(super) fn parse_duration(s: &str) -> Result<f64, String> {
    crate::rule::PromDuration::parse(s).map(|d| d.0 as f64 / 1000.0)
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal numbers (hexadecimal floats are not
/// handled): no surrounding space, `_` only between digits, `inf`/`infinity`/`nan` in any
/// case; the error texts are Go's.
pub(super) fn parse_float(s: &str) -> Result<f64, &'static str> {
    const SYNTAX: &str = "invalid syntax";
    let lower = s.to_ascii_lowercase();
    let (negative, body) = match lower.as_bytes().first() {
        Some(b'-') => (true, &lower[1..]),
        Some(b'+') => (false, &lower[1..]),
        _ => (false, lower.as_str()),
    };
    match body {
        "inf" | "infinity" if negative => return Ok(f64::NEG_INFINITY),
        "inf" | "infinity" => return Ok(f64::INFINITY),
        "nan" if body.len() == s.len() => return Ok(f64::NAN),
        _ => {}
    }
    let digits = body.as_bytes();
    let valid_underscores = digits.iter().enumerate().all(|(i, c)| {
        *c != b'_'
            || (i > 0
                && digits[i - 1].is_ascii_digit()
                && digits.get(i + 1).is_some_and(u8::is_ascii_digit))
    });
    if !valid_underscores
        || !digits
            .iter()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'+' | b'-' | b'_'))
    {
        return Err(SYNTAX);
    }
    let v: f64 = lower.replace('_', "").parse().map_err(|_| SYNTAX)?;
    if v.is_infinite() {
        return Err("value out of range");
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_parse_like_go() {
        assert_eq!(parse_float("1.5e3"), Ok(1500.0));
        assert_eq!(parse_float("-.5"), Ok(-0.5));
        assert_eq!(parse_float("1_000"), Ok(1000.0));
        assert_eq!(parse_float("+Inf"), Ok(f64::INFINITY));
        assert_eq!(parse_float("-infinity"), Ok(f64::NEG_INFINITY));
        assert!(parse_float("NaN").is_ok_and(f64::is_nan));
        assert_eq!(parse_float("1e400"), Err("value out of range"));
        for bad in [
            " 1", "1 ", "abc", "", "+nan", "1__0", "_1", "1_", "0x10", "1e", "--1",
        ] {
            assert_eq!(parse_float(bad), Err("invalid syntax"), "{bad:?}");
        }
    }

    #[test]
    fn hosts() {
        assert_eq!(strip_port("host.example.com:9100"), "host.example.com");
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(strip_port("x:y:z"), "x:y:z");
        assert_eq!(strip_port("plain"), "plain");
        assert_eq!(strip_domain("host.example.com:9100"), "host:9100");
        assert_eq!(strip_domain("host.example.com"), "host");
        assert_eq!(strip_domain("[::1]:80"), "[::1]:80");
        assert_eq!(strip_domain("1.2.3.4:5"), "1.2.3.4:5");
        assert_eq!(strip_domain("a.b:"), "a");
    }

    #[test]
    fn links() {
        assert_eq!(
            expr_link("rate(x{a=\"b\"}[5m]) > 1", 0),
            "/graph?g0.expr=rate%28x%7Ba%3D%22b%22%7D%5B5m%5D%29+%3E+1&g0.tab=0"
        );
        assert_eq!(
            expr_link("up == 0", 1),
            "/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
        );
    }

    #[test]
    fn timestamps() {
        let ts = |v| timestamp_string(v).unwrap().unwrap();
        assert_eq!(ts(1_700_000_000.5), "2023-11-14 22:13:20.5 +0000 UTC");
        assert_eq!(ts(123_456_789.0), "1973-11-29 21:33:09 +0000 UTC");
        assert_eq!(ts(-1.5), "1969-12-31 23:59:58.5 +0000 UTC");
        assert_eq!(ts(0.0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(timestamp_string(f64::NAN), Ok(None));
        assert!(timestamp_string(1e300).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m"), Ok(5400.0));
        assert_eq!(parse_duration("1d2ms"), Ok(86_400.002));
        assert_eq!(parse_duration("250ms"), Ok(0.25));
        assert_eq!(parse_duration("0"), Ok(0.0));
        assert_eq!(
            parse_duration("5x"),
            Err("not a valid duration string: \"5x\"".into())
        );
        assert!(parse_duration("1s1m").is_err());
        // Go's nanosecond time.Duration bound: 106751 days fit, 106752 do not
        assert_eq!(parse_duration("106751d"), Ok(106_751.0 * 86_400.0));
        assert_eq!(
            parse_duration("106752d"),
            Err("duration out of range".into())
        );
        assert!(parse_duration("").is_err());
    }
}
