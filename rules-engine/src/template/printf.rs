//! Go's `fmt.Sprintf` as templates' `printf` uses it: flags (`-+# 0`), width, precision, the
//! verbs for each value type, and Go's texts for a verb that does not fit its value
//! (`%!d(string=x)`), a missing value (`%!d(MISSING)`) and extra values (`%!(EXTRA int=3)`).

use super::Val;
use super::funcs::type_name;
use crate::gofmt::{fmt_e_prec, fmt_f_prec, fmt_g};

/// One `%` directive: flags, width and precision.
#[derive(Default)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

impl Spec {
    /// Pads `s` to the width: spaces on the left (or right with `-`), or zeros after the sign
    /// with `0` (numbers) or before everything (strings, as Go before 1.23 did).
    fn pad(&self, s: String, numeric: bool) -> String {
        let len = s.chars().count();
        let Some(width) = self.width.filter(|w| *w > len) else {
            return s;
        };
        let fill = width - len;
        if self.minus {
            return s + &" ".repeat(fill);
        }
        if self.zero {
            let sign = if numeric && (s.starts_with('-') || s.starts_with('+')) {
                1
            } else {
                0
            };
            let (head, tail) = s.split_at(sign);
            return format!("{head}{}{tail}", "0".repeat(fill));
        }
        " ".repeat(fill) + &s
    }

    /// `+` or ` ` before a non-negative number, as the flags ask.
    fn sign(&self, s: String) -> String {
        if s.starts_with('-') {
            s
        } else if self.plus {
            format!("+{s}")
        } else if self.space {
            format!(" {s}")
        } else {
            s
        }
    }
}

/// Formats `args` by `format` as Go's `fmt.Sprintf` does.
pub(crate) fn sprintf(format: &str, args: &[Val]) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut next = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                _ => break,
            }
            chars.next();
        }
        let number = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
            let mut n: Option<usize> = None;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize));
                chars.next();
            }
            n
        };
        spec.width = number(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.prec = Some(number(&mut chars).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next += 1;
        out.push_str(&match one(verb, arg, &spec) {
            Some(s) => s,
            None => format!("%!{verb}({}={arg})", type_name(arg)),
        });
    }
    if next < args.len() {
        let extra: Vec<String> = args[next..]
            .iter()
            .map(|a| format!("{}={a}", type_name(a)))
            .collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

/// `arg` formatted by `verb`, or `None` if the verb does not apply to its type.
fn one(verb: char, arg: &Val, spec: &Spec) -> Option<String> {
    match arg {
        Val::Bool(b) => matches!(verb, 't' | 'v').then(|| spec.pad(b.to_string(), false)),
        Val::Int(i) => {
            let digits = |s: String| match spec.prec {
                Some(p) if s.len() < p => "0".repeat(p - s.len()) + &s,
                _ => s,
            };
            let magnitude = i.unsigned_abs();
            let body = match verb {
                'd' | 'v' => digits(magnitude.to_string()),
                'x' => digits(format!("{magnitude:x}")),
                'X' => digits(format!("{magnitude:X}")),
                'o' => digits(format!("{magnitude:o}")),
                'b' => digits(format!("{magnitude:b}")),
                _ => return None,
            };
            let prefix = match (verb, spec.sharp) {
                ('x', true) => "0x",
                ('X', true) => "0X",
                ('o', true) => "0",
                _ => "",
            };
            let neg = if *i < 0 { "-" } else { "" };
            Some(spec.pad(spec.sign(format!("{neg}{prefix}{body}")), true))
        }
        Val::Float(f) => {
            let s = match verb {
                'f' | 'F' => fmt_f_prec(*f, spec.prec.unwrap_or(6)),
                'e' | 'E' => fmt_e_prec(*f, Some(spec.prec.unwrap_or(6)), verb == 'E'),
                'g' | 'v' => fmt_g(*f, spec.prec),
                'G' => fmt_g(*f, spec.prec).to_uppercase(),
                _ => return None,
            };
            Some(spec.pad(spec.sign(s), f.is_finite()))
        }
        Val::Str(s) => {
            let cut = |s: &str| match spec.prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.to_string(),
            };
            let body = match verb {
                's' | 'v' => cut(s),
                'q' => crate::gofmt::go_quote(&cut(s)),
                'x' => cut(s).bytes().map(|b| format!("{b:02x}")).collect(),
                'X' => cut(s).bytes().map(|b| format!("{b:02X}")).collect(),
                _ => return None,
            };
            Some(spec.pad(body, false))
        }
        other => matches!(verb, 's' | 'v').then(|| spec.pad(other.to_string(), false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(format: &str, args: &[Val]) -> String {
        sprintf(format, args)
    }

    #[test]
    fn flags_width_and_precision_as_go() {
        let f = Val::Float;
        assert_eq!(
            p("%08.3f|%-8.2f|%+.1f", &[f(1.23456), f(2.5), f(2.0)]),
            "0001.235|2.50    |+2.0"
        );
        assert_eq!(p("%08.3f", &[f(-1.23456)]), "-001.235");
        assert_eq!(
            p(
                "%+d|%05d|%+05d|% d|%x|%X|%#x|%o",
                &[
                    Val::Int(5),
                    Val::Int(42),
                    Val::Int(-3),
                    Val::Int(5),
                    Val::Int(-255),
                    Val::Int(255),
                    Val::Int(255),
                    Val::Int(8)
                ]
            ),
            "+5|00042|-0003| 5|-ff|FF|0xff|10"
        );
        let s = |v: &str| Val::Str(v.into());
        assert_eq!(
            p(
                "%5s|%-5s|%05s|%.2s",
                &[s("ab"), s("ab"), s("ab"), s("abcdef")]
            ),
            "   ab|ab   |000ab|ab"
        );
        assert_eq!(p("%5t|%.1f%%", &[Val::Bool(true), f(99.5)]), " true|99.5%");
    }

    #[test]
    fn wrong_verbs_missing_and_extra_values_read_as_go() {
        assert_eq!(
            p(
                "%s|%d|%t|%f",
                &[
                    Val::Bool(true),
                    Val::Str("x".into()),
                    Val::Str("x".into()),
                    Val::Int(3)
                ]
            ),
            "%!s(bool=true)|%!d(string=x)|%!t(string=x)|%!f(int=3)"
        );
        assert_eq!(p("%d %d", &[Val::Int(1)]), "1 %!d(MISSING)");
        assert_eq!(p("%d", &[Val::Int(1), Val::Int(2)]), "1%!(EXTRA int=2)");
        assert_eq!(p("100%", &[]), "100%!(NOVERB)");
    }
}
