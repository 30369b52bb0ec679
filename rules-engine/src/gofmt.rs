//! Go-compatible number formatting (`%v`, `%g`, `%.4g`, `%e`, `%f`, `%E`) and string quoting
//! (`%q`) so rendered templates and promtool-style output match Prometheus byte for byte.

/// Decimal digits (no trailing zeros) and decimal-point position: value = 0.d1d2.. × 10^dp.
fn digits(v: f64, sig: Option<usize>) -> (String, i32) {
    if v == 0.0 {
        return (String::new(), 0);
    }
    let s = match sig {
        None => format!("{:e}", v.abs()),
        Some(p) => format!("{:.*e}", p.saturating_sub(1), v.abs()),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    while d.len() > 1 && d.ends_with('0') {
        d.pop();
    }
    if d == "0" {
        return (String::new(), 0);
    }
    (d, exp + 1)
}

fn special(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("NaN".into())
    } else if v == f64::INFINITY {
        Some("+Inf".into())
    } else if v == f64::NEG_INFINITY {
        Some("-Inf".into())
    } else {
        None
    }
}

fn fmt_e(neg: bool, d: &str, dp: i32, frac: usize, e: char) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    let first = d.chars().next().unwrap_or('0');
    out.push(first);
    if frac > 0 {
        out.push('.');
        let rest: String = d.chars().skip(1).collect();
        out.push_str(&rest);
        for _ in rest.len()..frac {
            out.push('0');
        }
    }
    out.push(e);
    let exp = if d.is_empty() { 0 } else { dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
    out
}

fn fmt_f(neg: bool, d: &str, dp: i32, frac: usize) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    let bytes = d.as_bytes();
    if dp > 0 {
        for i in 0..dp as usize {
            out.push(*bytes.get(i).unwrap_or(&b'0') as char);
        }
    } else {
        out.push('0');
    }
    if frac > 0 {
        out.push('.');
        for i in 0..frac as i32 {
            let idx = dp + i;
            let c = if idx < 0 {
                b'0'
            } else {
                *bytes.get(idx as usize).unwrap_or(&b'0')
            };
            out.push(c as char);
        }
    }
    out
}

/// Go's `%g` with an optional precision (`None` = shortest, as `%v` prints a float64).
pub fn fmt_g(v: f64, prec: Option<usize>) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    let neg = v.is_sign_negative() && v != 0.0;
    let prec = prec.map(|p| p.max(1));
    let (d, dp) = digits(v, prec);
    let nd = d.len() as i32;
    let (mut p, eprec) = match prec {
        None => (nd, 6),
        Some(p) => {
            let p = p as i32;
            let mut e = p;
            if e > nd && nd >= dp {
                e = nd;
            }
            (p, e)
        }
    };
    let exp = dp - 1;
    if !d.is_empty() && (exp < -4 || exp >= eprec) {
        if p > nd {
            p = nd;
        }
        return fmt_e(neg, &d, dp, (p - 1).max(0) as usize, 'e');
    }
    if p > dp {
        p = nd;
    }
    fmt_f(neg, &d, dp, (p - dp).max(0) as usize)
}

/// Go's `%e`/`%E` with a precision (`None` = shortest).
pub fn fmt_e_prec(v: f64, prec: Option<usize>, upper: bool) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    let neg = v.is_sign_negative() && v != 0.0;
    let (d, dp) = digits(v, prec.map(|p| p + 1));
    let frac = match prec {
        Some(p) => p,
        None => d.len().saturating_sub(1),
    };
    fmt_e(neg, &d, dp, frac, if upper { 'E' } else { 'e' })
}

/// Go's `%f` with a precision (default 6).
pub fn fmt_f_prec(v: f64, prec: usize) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    format!("{v:.prec$}")
}

/// Go's `strconv.FormatFloat(v, 'E', -1, 64)` as promtool prints sample values.
pub fn fmt_big_e(v: f64) -> String {
    fmt_e_prec(v, None, true)
}

/// Go's `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            // not printable for Go (`unicode.IsPrint`): other controls, separators
            c if c.is_control() || (c.is_whitespace() && c != ' ') || is_format_char(c) => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Unicode format characters Go does not print (zero-width spaces and joiners, bidi marks).
fn is_format_char(c: char) -> bool {
    matches!(c as u32, 0xad | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2064 | 0xfeff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_g_matches_go() {
        for (v, want) in [
            (0.0, "0"),
            (1.0, "1"),
            (-2.5, "-2.5"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (1e6, "1e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
        ] {
            assert_eq!(fmt_g(v, None), want, "{v}");
        }
    }

    #[test]
    fn precision_g_matches_go() {
        for (v, want) in [
            (1.5, "1.5"),
            (1234.5678, "1235"),
            (1.2345678, "1.235"),
            (0.0, "0"),
            (100.0, "100"),
            (12345.0, "1.234e+04"),
            (0.000012345, "1.234e-05"),
            (999.99, "1000"),
        ] {
            assert_eq!(fmt_g(v, Some(4)), want, "{v}");
        }
    }

    #[test]
    fn big_e_matches_promtool() {
        assert_eq!(fmt_big_e(2.0), "2E+00");
        assert_eq!(fmt_big_e(0.5), "5E-01");
        assert_eq!(fmt_big_e(1234.5), "1.2345E+03");
        assert_eq!(fmt_big_e(0.0), "0E+00");
        assert_eq!(fmt_big_e(-3.0), "-3E+00");
    }
}
