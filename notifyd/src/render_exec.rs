//! Execution of parsed templates: node walking, pipelines, fields, methods and functions.

use super::{Exec, RenderError, Value, s};
use crate::tmpl::{Arg, Node, Pipeline};

type R<T> = Result<T, RenderError>;

impl Exec<'_> {
    fn fail(&self, at: usize, message: impl Into<String>) -> RenderError {
        let before = &self.src[..at.min(self.src.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        RenderError::Exec {
            line,
            col,
            message: message.into(),
        }
    }

    pub(super) fn nodes(&mut self, nodes: &[Node], dot: &Value) -> R<()> {
        for n in nodes {
            match n {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(p, at) => {
                    let v = self.pipeline(p, dot, *at)?;
                    if p.vars.is_empty() {
                        self.print(&v);
                    }
                }
                Node::If(branches, else_) => {
                    let depth = self.vars.len();
                    let mut done = false;
                    for (cond, body) in branches {
                        if self.pipeline(cond, dot, 0)?.truthy() {
                            self.nodes(body, dot)?;
                            done = true;
                            break;
                        }
                    }
                    if !done {
                        self.nodes(else_, dot)?;
                    }
                    self.vars.truncate(depth);
                }
                Node::With(p, body, else_) => {
                    let depth = self.vars.len();
                    let v = self.pipeline(p, dot, 0)?;
                    if v.truthy() {
                        self.nodes(body, &v)?;
                    } else {
                        self.nodes(else_, dot)?;
                    }
                    self.vars.truncate(depth);
                }
                Node::Range(p, body, else_) => self.range(p, body, else_, dot)?,
                Node::Call(name, p, at) => {
                    let Some(body) = self.defines.get(name) else {
                        return Err(self.fail(*at, format!("no such template {name:?}")));
                    };
                    let arg = match p {
                        Some(p) => self.pipeline(p, dot, *at)?,
                        None => Value::Null,
                    };
                    let saved = std::mem::replace(&mut self.vars, vec![("$".into(), arg.clone())]);
                    let r = self.nodes(body, &arg);
                    self.vars = saved;
                    r?;
                }
            }
        }
        Ok(())
    }

    fn range(&mut self, p: &Pipeline, body: &[Node], else_: &[Node], dot: &Value) -> R<()> {
        let depth = self.vars.len();
        let plain = Pipeline {
            vars: Vec::new(),
            declare: false,
            cmds: p.cmds.clone(),
        };
        let v = self.pipeline(&plain, dot, 0)?;
        let items: Vec<(Value, Value)> = match v {
            Value::List(l) => l
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i as i64), v))
                .collect(),
            Value::Map(m, _) => m.into_iter().map(|(k, v)| (s(&k), v)).collect(),
            Value::Int(n) => (0..n).map(|i| (Value::Int(i), Value::Int(i))).collect(),
            Value::Null => Vec::new(),
            other => return Err(self.fail(0, format!("range can't iterate over {}", other.text()))),
        };
        if items.is_empty() {
            self.nodes(else_, dot)?;
        }
        for (k, v) in items {
            match p.vars.as_slice() {
                [] => {}
                [e] => self.vars.push((e.clone(), v.clone())),
                [i, e, ..] => {
                    self.vars.push((i.clone(), k));
                    self.vars.push((e.clone(), v.clone()));
                }
            }
            self.nodes(body, &v)?;
            self.vars.truncate(depth);
        }
        Ok(())
    }

    fn print(&mut self, v: &Value) {
        let text = v.text();
        if self.html && !matches!(v, Value::Str(_, true)) {
            self.out.push_str(&escape_html(&text));
        } else {
            self.out.push_str(&text);
        }
    }

    fn pipeline(&mut self, p: &Pipeline, dot: &Value, at: usize) -> R<Value> {
        let mut prev: Option<Value> = None;
        for cmd in &p.cmds {
            prev = Some(self.command(cmd, dot, prev, at)?);
        }
        let v = prev.unwrap_or(Value::Null);
        if !p.vars.is_empty() {
            for name in &p.vars {
                if p.declare {
                    self.vars.push((name.clone(), v.clone()));
                } else if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    slot.1 = v.clone();
                } else {
                    return Err(self.fail(at, format!("undefined variable {name}")));
                }
            }
        }
        Ok(v)
    }

    fn command(&mut self, cmd: &[Arg], dot: &Value, piped: Option<Value>, at: usize) -> R<Value> {
        let mut args = Vec::new();
        for a in &cmd[1..] {
            args.push(self.arg(a, dot, at)?);
        }
        if let Some(p) = piped {
            args.push(p);
        }
        match &cmd[0] {
            Arg::Func(name) => self.call(name, args, at),
            // A method with arguments: `.CommonLabels.Remove .GroupLabels.Names`,
            // `$a.StartsAt.Format "15:04"`, `(index .Alerts 0).StartsAt.Format "15:04"`.
            Arg::Field(path) if !args.is_empty() && !path.is_empty() => {
                let recv = self.fields(dot.clone(), &path[..path.len() - 1], at)?;
                self.method(&recv, &path[path.len() - 1], &args, at)
            }
            Arg::Var(name, path) if !args.is_empty() && !path.is_empty() => {
                let base = self.arg(&Arg::Var(name.clone(), Vec::new()), dot, at)?;
                let recv = self.fields(base, &path[..path.len() - 1], at)?;
                self.method(&recv, &path[path.len() - 1], &args, at)
            }
            Arg::Sub(p, path) if !args.is_empty() && !path.is_empty() => {
                let base = self.pipeline(p, dot, at)?;
                let recv = self.fields(base, &path[..path.len() - 1], at)?;
                self.method(&recv, &path[path.len() - 1], &args, at)
            }
            head if args.is_empty() => self.arg(head, dot, at),
            _ => Err(self.fail(at, "can't give arguments to a non-function")),
        }
    }

    fn arg(&mut self, a: &Arg, dot: &Value, at: usize) -> R<Value> {
        match a {
            Arg::Field(path) => self.fields(dot.clone(), path, at),
            Arg::Var(name, path) => {
                let Some((_, v)) = self.vars.iter().rev().find(|(n, _)| n == name) else {
                    return Err(self.fail(at, format!("undefined variable {name}")));
                };
                self.fields(v.clone(), path, at)
            }
            Arg::Func(name) => self.call(name, Vec::new(), at),
            Arg::Str(t) => Ok(s(t)),
            Arg::Int(i) => Ok(Value::Int(*i)),
            Arg::Bool(b) => Ok(Value::Bool(*b)),
            Arg::Sub(p, path) => {
                let v = self.pipeline(p, dot, at)?;
                self.fields(v, path, at)
            }
        }
    }

    fn fields(&self, mut v: Value, path: &[String], at: usize) -> R<Value> {
        for f in path {
            v = self.method(&v, f, &[], at)?;
        }
        Ok(v)
    }

    /// Field access or a method of label maps and alert lists.
    fn method(&self, v: &Value, name: &str, args: &[Value], at: usize) -> R<Value> {
        match (v, name) {
            (Value::Map(m, _), _) if m.contains_key(name) && args.is_empty() => Ok(m[name].clone()),
            (Value::Map(m, true), "SortedPairs") => Ok(Value::List(
                m.iter()
                    .map(|(k, v)| {
                        Value::Map(
                            [("Name".into(), s(k)), ("Value".into(), v.clone())].into(),
                            false,
                        )
                    })
                    .collect(),
            )),
            (Value::Map(m, true), "Names") => Ok(Value::List(m.keys().map(|k| s(k)).collect())),
            (Value::Map(m, true), "Values") => Ok(Value::List(m.values().cloned().collect())),
            (Value::Map(m, true), "Remove") => {
                let drop: Vec<String> = args.iter().flat_map(list_strings).collect();
                Ok(Value::Map(
                    m.iter()
                        .filter(|(k, _)| !drop.contains(k))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    true,
                ))
            }
            (Value::Map(_, true), _) => Ok(s("")),
            (Value::List(l), "Firing" | "Resolved") => {
                let want = name.to_ascii_lowercase();
                Ok(Value::List(
                    l.iter()
                        .filter(
                            |a| matches!(a, Value::Map(m, _) if m.get("Status") == Some(&s(&want))),
                        )
                        .cloned()
                        .collect(),
                ))
            }
            (Value::List(l), "Names" | "Values") => {
                let key = if name == "Names" { "Name" } else { "Value" };
                Ok(Value::List(
                    l.iter()
                        .filter_map(|p| {
                            if let Value::Map(m, _) = p {
                                m.get(key).cloned()
                            } else {
                                None
                            }
                        })
                        .collect(),
                ))
            }
            // `.StartsAt.Format "2006-01-02 15:04"`: times are RFC 3339 strings in UTC.
            (Value::Str(t, _), "Format") if args.len() == 1 => {
                let ms = crate::timeinterval::parse_rfc3339(t)
                    .ok_or_else(|| self.fail(at, format!("Format: not a time: {t:?}")))?;
                Ok(s(&go_time_format(ms, &args[0].text())))
            }
            (Value::Str(t, _), "Unix") if args.is_empty() => {
                let ms = crate::timeinterval::parse_rfc3339(t)
                    .ok_or_else(|| self.fail(at, format!("Unix: not a time: {t:?}")))?;
                Ok(Value::Int(ms.div_euclid(1000)))
            }
            (Value::Null, _) => Ok(Value::Null),
            _ => Err(self.fail(at, format!("can't evaluate field {name} in {}", v.text()))),
        }
    }

    fn call(&self, name: &str, args: Vec<Value>, at: usize) -> R<Value> {
        let n = args.len();
        let want = |k: usize| -> R<()> {
            if n == k {
                Ok(())
            } else {
                Err(self.fail(at, format!("{name}: want {k} argument(s), got {n}")))
            }
        };
        let str_arg = |i: usize| args.get(i).map(Value::text).unwrap_or_default();
        Ok(match name {
            "len" => {
                want(1)?;
                Value::Int(match &args[0] {
                    Value::Str(t, _) => t.len() as i64,
                    Value::List(l) => l.len() as i64,
                    Value::Map(m, _) => m.len() as i64,
                    Value::Null => 0,
                    other => return Err(self.fail(at, format!("len of {}", other.text()))),
                })
            }
            "index" => {
                want(2)?;
                match (&args[0], &args[1]) {
                    (Value::Map(m, kv), k) => {
                        m.get(&k.text())
                            .cloned()
                            .unwrap_or(if *kv { s("") } else { Value::Null })
                    }
                    (Value::List(l), Value::Int(i)) => l
                        .get(*i as usize)
                        .cloned()
                        .ok_or_else(|| self.fail(at, format!("index out of range: {i}")))?,
                    _ => return Err(self.fail(at, "index of a non-collection")),
                }
            }
            "eq" | "ne" | "lt" | "le" | "gt" | "ge" => {
                if n < 2 {
                    return Err(self.fail(at, format!("{name}: want 2 arguments")));
                }
                let ord = compare(&args[0], &args[1])
                    .ok_or_else(|| self.fail(at, format!("{name}: incompatible types")))?;
                let r = match name {
                    "eq" => {
                        ord.is_eq()
                            || args[2..]
                                .iter()
                                .any(|a| compare(&args[0], a).is_some_and(|o| o.is_eq()))
                    }
                    "ne" => ord.is_ne(),
                    "lt" => ord.is_lt(),
                    "le" => ord.is_le(),
                    "gt" => ord.is_gt(),
                    _ => ord.is_ge(),
                };
                Value::Bool(r)
            }
            "and" => args
                .iter()
                .find(|a| !a.truthy())
                .or(args.last())
                .cloned()
                .unwrap_or(Value::Null),
            "or" => args
                .iter()
                .find(|a| a.truthy())
                .or(args.last())
                .cloned()
                .unwrap_or(Value::Null),
            "not" => {
                want(1)?;
                Value::Bool(!args[0].truthy())
            }
            "print" => s(&args.iter().map(Value::text).collect::<Vec<_>>().join("")),
            "println" => s(&format!(
                "{}\n",
                args.iter().map(Value::text).collect::<Vec<_>>().join(" ")
            )),
            "printf" => s(&printf(&str_arg(0), args.get(1..).unwrap_or_default())),
            "toUpper" => s(&str_arg(0).to_uppercase()),
            "toLower" => s(&str_arg(0).to_lowercase()),
            "title" => s(&str_arg(0)
                .split(' ')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join(" ")),
            "trimSpace" => s(str_arg(0).trim()),
            "join" => {
                want(2)?;
                s(&list_strings(&args[1]).join(&args[0].text()))
            }
            "match" => {
                want(2)?;
                let re = regex::Regex::new(&str_arg(0))
                    .map_err(|e| self.fail(at, format!("match: {e}")))?;
                Value::Bool(re.is_match(&str_arg(1)))
            }
            "reReplaceAll" => {
                want(3)?;
                let re = regex::Regex::new(&str_arg(0))
                    .map_err(|e| self.fail(at, format!("reReplaceAll: {e}")))?;
                s(&re.replace_all(&str_arg(2), str_arg(1).as_str()))
            }
            "safeHtml" => Value::Str(str_arg(0), true),
            "html" => s(&escape_html(&str_arg(0))),
            "urlquery" => s(&str_arg(0)
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    b' ' => "+".into(),
                    b => format!("%{b:02X}"),
                })
                .collect::<String>()),
            "stringSlice" => Value::List(args.iter().map(|a| s(&a.text())).collect()),
            other => return Err(self.fail(at, format!("function {other:?} not defined"))),
        })
    }
}

fn list_strings(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l.iter().map(Value::text).collect(),
        Value::Null => Vec::new(),
        other => vec![other.text()],
    }
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Str(x, _), Value::Str(y, _)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Null, Value::Null) => Some(std::cmp::Ordering::Equal),
        _ => None,
    }
}

fn printf(fmt: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut it = args.iter();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('q') => out.push_str(&format!(
                "{:?}",
                it.next().map(Value::text).unwrap_or_default()
            )),
            Some(_) => out.push_str(
                &it.next()
                    .map(Value::text)
                    .unwrap_or_else(|| "%!(MISSING)".into()),
            ),
            None => out.push_str("%!(NOVERB)"),
        }
    }
    out
}

/// Formats Unix ms (UTC) with a Go reference-time layout (`2006-01-02T15:04:05Z07:00` and the
/// usual pieces: `Jan`, `January`, `Mon`, `Monday`, `PM`, `03`, `MST`, `-0700`, `.000`).
pub fn go_time_format(ms: i64, layout: &str) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&str; 7] = [
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
    ];
    let c = crate::timeinterval::civil(ms.div_euclid(1000));
    let (h, m) = (c.minute_of_day / 60, c.minute_of_day % 60);
    let h12 = if h % 12 == 0 { 12 } else { h % 12 };
    let month = MONTHS[(c.month - 1) as usize];
    let day = DAYS[c.weekday as usize];
    let frac = ms.rem_euclid(1000);
    let tokens: [(&str, String); 24] = [
        ("January", month.to_string()),
        ("Monday", day.to_string()),
        ("Z07:00", "Z".into()),
        ("-07:00", "+00:00".into()),
        ("-0700", "+0000".into()),
        (".000", format!(".{frac:03}")),
        ("2006", format!("{:04}", c.year)),
        ("Jan", month[..3].to_string()),
        ("Mon", day[..3].to_string()),
        ("MST", "UTC".into()),
        ("01", format!("{:02}", c.month)),
        ("02", format!("{:02}", c.day)),
        ("03", format!("{h12:02}")),
        ("04", format!("{m:02}")),
        ("05", format!("{:02}", c.second)),
        ("06", format!("{:02}", c.year.rem_euclid(100))),
        ("15", format!("{h:02}")),
        ("PM", if h >= 12 { "PM" } else { "AM" }.into()),
        ("pm", if h >= 12 { "pm" } else { "am" }.into()),
        ("_2", format!("{:>2}", c.day)),
        ("1", c.month.to_string()),
        ("2", c.day.to_string()),
        ("3", h12.to_string()),
        ("4", m.to_string()),
    ];
    let mut out = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        for (tok, val) in &tokens {
            if let Some(r) = rest.strip_prefix(tok) {
                out.push_str(val);
                rest = r;
                continue 'outer;
            }
        }
        let ch = rest.chars().next().unwrap_or(' ');
        out.push(ch);
        rest = &rest[ch.len_utf8()..];
    }
    out
}

/// Escapes `& < > " '` for HTML.
pub fn escape_html(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
