//! Parser for the Go-template subset used by notification templates (see [`crate::render`]).
//!
//! Produces a small AST; errors carry the line and column inside the template text.

use std::collections::BTreeMap;

/// A template syntax error at a line:col of the template text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: {message}")]
pub struct TemplateError {
    /// Line (1-based) in the template text.
    pub line: usize,
    /// Column (1-based).
    pub col: usize,
    /// What is wrong.
    pub message: String,
}

/// A parsed template: its body plus `define`d sub-templates.
#[derive(Debug, Clone, Default)]
pub struct Template {
    /// The top-level nodes.
    pub body: Vec<Node>,
    /// `{{ define "name" }}` blocks.
    pub defines: BTreeMap<String, Vec<Node>>,
}

/// One node of the template body.
#[derive(Debug, Clone)]
pub enum Node {
    /// Literal text.
    Text(String),
    /// `{{ pipeline }}` (prints unless it declares a variable).
    Action(Pipeline, usize),
    /// `{{ if }} ... {{ else if }} ... {{ else }} ... {{ end }}`.
    If(Vec<(Pipeline, Vec<Node>)>, Vec<Node>),
    /// `{{ range [$i, $e :=] pipeline }} ... {{ else }} ... {{ end }}`.
    Range(Pipeline, Vec<Node>, Vec<Node>),
    /// `{{ with pipeline }} ... {{ else }} ... {{ end }}`.
    With(Pipeline, Vec<Node>, Vec<Node>),
    /// `{{ template "name" pipeline }}`.
    Call(String, Option<Pipeline>, usize),
}

/// A pipeline: optional variable declaration, then commands joined by `|`.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Variables declared (`$x :=`) or assigned (`$x =`).
    pub vars: Vec<String>,
    /// Whether the variables are declared (`:=`) rather than assigned.
    pub declare: bool,
    /// The commands.
    pub cmds: Vec<Vec<Arg>>,
}

/// One argument of a command.
#[derive(Debug, Clone)]
pub enum Arg {
    /// `.` or `.A.B` (fields of dot).
    Field(Vec<String>),
    /// `$x` or `$x.A.B`.
    Var(String, Vec<String>),
    /// A function name.
    Func(String),
    /// A string literal.
    Str(String),
    /// An integer literal.
    Int(i64),
    /// `true` / `false`.
    Bool(bool),
    /// `( pipeline )` with optional fields after it.
    Sub(Box<Pipeline>, Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
    Pipe,
    Declare,
    Assign,
    Comma,
}

struct Action {
    toks: Vec<Tok>,
    at: usize,
}

enum Item {
    Text(String),
    Action(Action),
}

fn pos_of(src: &str, at: usize) -> (usize, usize) {
    let before = &src[..at.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn err(src: &str, at: usize, message: impl Into<String>) -> TemplateError {
    let (line, col) = pos_of(src, at);
    TemplateError {
        line,
        col,
        message: message.into(),
    }
}

fn lex(src: &str) -> Result<Vec<Item>, TemplateError> {
    let mut items = Vec::new();
    let mut rest = 0;
    while let Some(off) = src[rest..].find("{{") {
        let open = rest + off;
        let mut text = src[rest..open].to_string();
        let mut inner = open + 2;
        if src[inner..].starts_with("- ")
            || src[inner..].starts_with("-\n")
            || src[inner..].starts_with("-\t")
        {
            text.truncate(text.trim_end().len());
            inner += 1;
        }
        if !text.is_empty() {
            items.push(Item::Text(text));
        }
        let close = src[inner..]
            .find("}}")
            .ok_or_else(|| err(src, open, "unclosed action"))?
            + inner;
        let (body_end, mut next) = (close, close + 2);
        let mut body = &src[inner..body_end];
        if body.ends_with(" -") || body.ends_with("\n-") || body.ends_with("\t-") {
            body = &body[..body.len() - 1];
            next += src[next..].len() - src[next..].trim_start().len();
        }
        rest = next;
        let trimmed = body.trim();
        if trimmed.starts_with("/*") {
            if !trimmed.ends_with("*/") {
                return Err(err(src, open, "unclosed comment"));
            }
            continue;
        }
        items.push(Item::Action(Action {
            toks: tokens(src, body, inner)?,
            at: open,
        }));
    }
    if rest < src.len() {
        items.push(Item::Text(src[rest..].to_string()));
    }
    Ok(items)
}

fn tokens(src: &str, body: &str, base: usize) -> Result<Vec<Tok>, TemplateError> {
    let mut out = Vec::new();
    let b: Vec<(usize, char)> = body.char_indices().collect();
    let mut i = 0;
    while i < b.len() {
        let (at, c) = b[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => (out.push(Tok::Open), i += 1).1,
            ')' => (out.push(Tok::Close), i += 1).1,
            '|' => (out.push(Tok::Pipe), i += 1).1,
            ',' => (out.push(Tok::Comma), i += 1).1,
            ':' if b.get(i + 1).map(|x| x.1) == Some('=') => (out.push(Tok::Declare), i += 2).1,
            '=' => (out.push(Tok::Assign), i += 1).1,
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    let Some(&(_, c)) = b.get(i) else {
                        return Err(err(src, base + at, "unterminated string"));
                    };
                    i += 1;
                    match c {
                        '"' => break,
                        '\\' => {
                            let Some(&(_, e)) = b.get(i) else {
                                return Err(err(src, base + at, "unterminated string"));
                            };
                            i += 1;
                            s.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                other => other,
                            });
                        }
                        c => s.push(c),
                    }
                }
                out.push(Tok::Str(s));
            }
            '`' => {
                let start = i + 1;
                let end = b[start..]
                    .iter()
                    .position(|x| x.1 == '`')
                    .ok_or_else(|| err(src, base + at, "unterminated raw string"))?;
                out.push(Tok::Str(
                    b[start..start + end].iter().map(|x| x.1).collect(),
                ));
                i = start + end + 1;
            }
            _ => {
                let start = i;
                while i < b.len() && !b[i].1.is_whitespace() && !"()|,\"`:=".contains(b[i].1) {
                    i += 1;
                }
                if start == i {
                    return Err(err(src, base + at, format!("unexpected character {c:?}")));
                }
                out.push(Tok::Word(b[start..i].iter().map(|x| x.1).collect()));
            }
        }
    }
    Ok(out)
}

/// Parses template text.
pub fn parse(src: &str) -> Result<Template, TemplateError> {
    let items = lex(src)?;
    let mut p = Parser {
        src,
        items: items.into_iter(),
        defines: BTreeMap::new(),
        last_at: 0,
    };
    let (body, end) = p.nodes()?;
    match end {
        Stop::Eof => {}
        Stop::End => return Err(err(src, p.last_at, "unexpected {{ end }}")),
        Stop::Else(_) => return Err(err(src, p.last_at, "unexpected {{ else }}")),
    }
    Ok(Template {
        body,
        defines: p.defines,
    })
}

struct Parser<'a> {
    src: &'a str,
    items: std::vec::IntoIter<Item>,
    defines: BTreeMap<String, Vec<Node>>,
    last_at: usize,
}

/// How a run of nodes ended.
enum Stop {
    /// `{{ end }}` at this offset.
    End,
    /// `{{ else ... }}` with the tokens after `else`.
    Else(Vec<Tok>),
    /// End of input.
    Eof,
}

impl Parser<'_> {
    /// Parses nodes until `end`, `else` (returned with the rest of its tokens) or EOF.
    fn nodes(&mut self) -> Result<(Vec<Node>, Stop), TemplateError> {
        let mut out = Vec::new();
        while let Some(item) = self.items.next() {
            let a = match item {
                Item::Text(t) => {
                    out.push(Node::Text(t));
                    continue;
                }
                Item::Action(a) => a,
            };
            let kw = match a.toks.first() {
                Some(Tok::Word(w)) => w.clone(),
                _ => String::new(),
            };
            let rest = a.toks.get(1..).unwrap_or_default().to_vec();
            self.last_at = a.at;
            match kw.as_str() {
                "end" => return Ok((out, Stop::End)),
                "else" => return Ok((out, Stop::Else(rest))),
                "if" => out.push(self.if_chain(rest, a.at)?),
                "range" | "with" => {
                    let pipe = self.pipeline(&rest, a.at)?;
                    let (body, end) = self.nodes()?;
                    let else_ = self.else_body(end, a.at, &kw)?;
                    out.push(if kw == "range" {
                        Node::Range(pipe, body, else_)
                    } else {
                        Node::With(pipe, body, else_)
                    });
                }
                "define" => {
                    let Some(Tok::Str(name)) = rest.first() else {
                        return Err(err(self.src, a.at, "define needs a quoted name"));
                    };
                    let (body, end) = self.nodes()?;
                    if !matches!(end, Stop::End) {
                        return Err(err(self.src, a.at, "define without end"));
                    }
                    self.defines.insert(name.clone(), body);
                }
                "template" => {
                    let Some(Tok::Str(name)) = rest.first() else {
                        return Err(err(self.src, a.at, "template needs a quoted name"));
                    };
                    let pipe = if rest.len() > 1 {
                        Some(self.pipeline(&rest[1..], a.at)?)
                    } else {
                        None
                    };
                    out.push(Node::Call(name.clone(), pipe, a.at));
                }
                _ => out.push(Node::Action(self.pipeline(&a.toks, a.at)?, a.at)),
            }
        }
        Ok((out, Stop::Eof))
    }

    fn if_chain(&mut self, cond: Vec<Tok>, at: usize) -> Result<Node, TemplateError> {
        let mut branches = Vec::new();
        let mut cond = cond;
        loop {
            let pipe = self.pipeline(&cond, at)?;
            let (body, end) = self.nodes()?;
            branches.push((pipe, body));
            match end {
                Stop::End => return Ok(Node::If(branches, Vec::new())),
                Stop::Else(toks) if toks.first() == Some(&Tok::Word("if".into())) => {
                    cond = toks[1..].to_vec();
                }
                Stop::Else(_) => {
                    let (else_, end) = self.nodes()?;
                    if !matches!(end, Stop::End) {
                        return Err(err(self.src, at, "if without end"));
                    }
                    return Ok(Node::If(branches, else_));
                }
                Stop::Eof => return Err(err(self.src, at, "if without end")),
            }
        }
    }

    fn else_body(&mut self, end: Stop, at: usize, kw: &str) -> Result<Vec<Node>, TemplateError> {
        match end {
            Stop::End => Ok(Vec::new()),
            Stop::Else(_) => {
                let (else_, end) = self.nodes()?;
                if !matches!(end, Stop::End) {
                    return Err(err(self.src, at, format!("{kw} without end")));
                }
                Ok(else_)
            }
            Stop::Eof => Err(err(self.src, at, format!("{kw} without end"))),
        }
    }

    fn pipeline(&self, toks: &[Tok], at: usize) -> Result<Pipeline, TemplateError> {
        let mut toks = toks;
        let mut vars = Vec::new();
        let mut declare = false;
        if let Some(p) = toks
            .iter()
            .position(|t| *t == Tok::Declare || *t == Tok::Assign)
            && toks[..p]
                .iter()
                .all(|t| matches!(t, Tok::Word(w) if w.starts_with('$')) || *t == Tok::Comma)
        {
            declare = toks[p] == Tok::Declare;
            vars = toks[..p]
                .iter()
                .filter_map(|t| {
                    if let Tok::Word(w) = t {
                        Some(w.clone())
                    } else {
                        None
                    }
                })
                .collect();
            toks = &toks[p + 1..];
        }
        let mut cmds = Vec::new();
        let mut i = 0;
        let mut cmd = Vec::new();
        while i < toks.len() {
            match &toks[i] {
                Tok::Pipe => {
                    if cmd.is_empty() {
                        return Err(err(self.src, at, "missing command before `|`"));
                    }
                    cmds.push(std::mem::take(&mut cmd));
                    i += 1;
                }
                Tok::Open => {
                    let mut depth = 0;
                    let start = i + 1;
                    let mut j = i;
                    loop {
                        match toks.get(j) {
                            Some(Tok::Open) => depth += 1,
                            Some(Tok::Close) => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            Some(_) => {}
                            None => return Err(err(self.src, at, "unclosed `(`")),
                        }
                        j += 1;
                    }
                    let sub = self.pipeline(&toks[start..j], at)?;
                    i = j + 1;
                    let mut fields = Vec::new();
                    if let Some(Tok::Word(w)) = toks.get(i)
                        && w.starts_with('.')
                    {
                        fields = w[1..].split('.').map(str::to_string).collect();
                        i += 1;
                    }
                    cmd.push(Arg::Sub(Box::new(sub), fields));
                }
                Tok::Str(s) => (cmd.push(Arg::Str(s.clone())), i += 1).1,
                Tok::Word(w) => {
                    cmd.push(
                        word(w).ok_or_else(|| err(self.src, at, format!("unexpected {w:?}")))?,
                    );
                    i += 1;
                }
                other => return Err(err(self.src, at, format!("unexpected {}", tok_text(other)))),
            }
        }
        if cmd.is_empty() {
            return Err(err(self.src, at, "missing value for command"));
        }
        cmds.push(cmd);
        Ok(Pipeline {
            vars,
            declare,
            cmds,
        })
    }
}

fn word(w: &str) -> Option<Arg> {
    if w == "." {
        return Some(Arg::Field(Vec::new()));
    }
    if let Some(f) = w.strip_prefix('.') {
        return Some(Arg::Field(f.split('.').map(str::to_string).collect()));
    }
    if let Some(v) = w.strip_prefix('$') {
        let mut parts = v.split('.');
        let name = format!("${}", parts.next().unwrap_or(""));
        return Some(Arg::Var(name, parts.map(str::to_string).collect()));
    }
    match w {
        "true" => return Some(Arg::Bool(true)),
        "false" => return Some(Arg::Bool(false)),
        _ => {}
    }
    if let Ok(n) = w.parse() {
        return Some(Arg::Int(n));
    }
    w.chars()
        .all(|c| c.is_alphanumeric() || c == '_')
        .then(|| Arg::Func(w.to_string()))
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Word(w) => w.clone(),
        Tok::Str(s) => format!("{s:?}"),
        Tok::Open => "(".into(),
        Tok::Close => ")".into(),
        Tok::Pipe => "|".into(),
        Tok::Declare => ":=".into(),
        Tok::Assign => "=".into(),
        Tok::Comma => ",".into(),
    }
}
