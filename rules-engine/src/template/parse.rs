//! Lexing and parsing of the template subset into a small tree; errors mimic Go's wording.

mod lex;

use std::fmt;

use super::funcs;
use lex::{Item, Tok, lex};

/// A template that does not parse or fails to execute, in Go's wording
/// (`template: NAME:LINE: message`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    /// The full message.
    pub message: String,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(String),
    Action(Pipeline),
    If {
        cond: Pipeline,
        then: Vec<Node>,
        els: Vec<Node>,
    },
    With {
        cond: Pipeline,
        then: Vec<Node>,
        els: Vec<Node>,
    },
    Range {
        key: Option<String>,
        val: Option<String>,
        over: Pipeline,
        body: Vec<Node>,
        els: Vec<Node>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    /// Variable name and whether it is a declaration (`:=`) rather than an assignment (`=`).
    pub decl: Option<(String, bool)>,
    pub cmds: Vec<Cmd>,
}

#[derive(Debug, Clone)]
pub(crate) enum Cmd {
    Call(Call),
    Arg(Arg),
}

/// A function call command.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub name: String,
    pub args: Vec<Arg>,
    /// Byte offset of the function name in the template text.
    pub pos: usize,
    /// The command as Go prints it in error contexts (`query "up"`).
    pub text: String,
}

#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Str(String),
    Num(f64, bool),
    Bool(bool),
    Nil,
    Var(String, Vec<String>),
    Dot(Vec<String>),
    Pipe(Box<Pipeline>),
    /// Fields of a parenthesized pipeline's result: `(pipeline).Field`.
    Chain(Box<Pipeline>, Vec<String>),
}

struct Ctx<'a> {
    name: &'a str,
}

impl Ctx<'_> {
    fn err(&self, line: usize, msg: impl fmt::Display) -> TemplateError {
        TemplateError {
            message: format!("template: {}:{line}: {msg}", self.name),
        }
    }
}

pub(crate) fn parse(name: &str, text: &str) -> Result<Vec<Node>, TemplateError> {
    let cx = Ctx { name };
    let items = lex(&cx, text)?;
    let mut p = Parser {
        cx: &cx,
        items,
        pos: 0,
        eof_line: 1 + text.matches('\n').count(),
        vars: vec![
            "$".into(),
            "$labels".into(),
            "$externalLabels".into(),
            "$externalURL".into(),
            "$value".into(),
        ],
    };
    let (nodes, end) = p.list()?;
    if let Some((line, kw)) = end {
        return Err(cx.err(line, format!("unexpected {{{{{kw}}}}}")));
    }
    Ok(nodes)
}

struct Parser<'a> {
    cx: &'a Ctx<'a>,
    items: Vec<Item>,
    pos: usize,
    /// The line of the end of the text (Go reports a missing `{{end}}` there).
    eof_line: usize,
    vars: Vec<String>,
}

/// How a list ended: `None` at EOF, or the keyword (`end`, `else`) with its line and the
/// remaining tokens after the keyword.
type End = Option<(usize, String)>;

impl Parser<'_> {
    fn list(&mut self) -> Result<(Vec<Node>, End), TemplateError> {
        let mut nodes = Vec::new();
        while self.pos < self.items.len() {
            let idx = self.pos;
            self.pos += 1;
            match &self.items[idx] {
                Item::Text(t) => nodes.push(Node::Text(t.clone())),
                Item::Action { line, toks } => {
                    let line = *line;
                    let toks = toks.clone();
                    match toks.first() {
                        Some(Tok::Ident(k, _)) if k == "end" => {
                            return Ok((nodes, Some((line, "end".into()))));
                        }
                        Some(Tok::Ident(k, _)) if k == "else" => {
                            // stash the remainder for `else if`
                            self.items[idx] = Item::Action {
                                line,
                                toks: toks[1..].to_vec(),
                            };
                            self.pos = idx;
                            return Ok((nodes, Some((line, "else".into()))));
                        }
                        Some(Tok::Ident(k, _)) if k == "if" || k == "with" || k == "range" => {
                            let kw = k.clone();
                            nodes.push(self.control(&kw, line, &toks[1..])?);
                        }
                        _ => {
                            let p = self.pipeline(line, &toks, "command")?;
                            nodes.push(Node::Action(p));
                        }
                    }
                }
            }
        }
        Ok((nodes, None))
    }

    fn control(&mut self, kw: &str, line: usize, toks: &[Tok]) -> Result<Node, TemplateError> {
        let depth = self.vars.len();
        let (mut key, mut val) = (None, None);
        let mut toks = toks;
        if kw == "range" {
            // $k, $v := ... | $v := ...
            match toks {
                [
                    Tok::Var(k, f1),
                    Tok::Comma,
                    Tok::Var(v, f2),
                    Tok::Declare,
                    rest @ ..,
                ] if f1.is_empty() && f2.is_empty() => {
                    key = Some(k.clone());
                    val = Some(v.clone());
                    toks = rest;
                }
                [Tok::Var(v, f), Tok::Declare, rest @ ..] if f.is_empty() => {
                    val = Some(v.clone());
                    toks = rest;
                }
                _ => {}
            }
        }
        let cond = self.pipeline(line, toks, kw)?;
        if let Some(k) = &key {
            self.vars.push(k.clone());
        }
        if let Some(v) = &val {
            self.vars.push(v.clone());
        }
        let (then, end) = self.list()?;
        let mut els = Vec::new();
        match end {
            None => return Err(self.cx.err(self.eof_line, "unexpected EOF")),
            Some((_, e)) if e == "end" => {}
            Some((eline, _)) => {
                // else or else if
                let idx = self.pos;
                self.pos += 1;
                let rest = match &self.items[idx] {
                    Item::Action { toks, .. } => toks.clone(),
                    Item::Text(_) => Vec::new(),
                };
                self.vars.truncate(depth);
                if let Some(Tok::Ident(k, _)) = rest.first()
                    && (k == "if" || k == "with")
                {
                    let inner = k.clone();
                    els.push(self.control(&inner, eline, &rest[1..])?);
                } else {
                    let (e, end2) = self.list()?;
                    els = e;
                    match end2 {
                        Some((_, x)) if x == "end" => {}
                        Some((l, x)) => {
                            return Err(self.cx.err(l, format!("unexpected {{{{{x}}}}}")));
                        }
                        None => return Err(self.cx.err(self.eof_line, "unexpected EOF")),
                    }
                }
            }
        }
        self.vars.truncate(depth);
        Ok(match kw {
            "if" => Node::If { cond, then, els },
            "with" => Node::With { cond, then, els },
            _ => Node::Range {
                key,
                val,
                over: cond,
                body: then,
                els,
            },
        })
    }

    fn pipeline(
        &mut self,
        line: usize,
        toks: &[Tok],
        context: &str,
    ) -> Result<Pipeline, TemplateError> {
        let mut toks = toks;
        let mut decl = None;
        if let [Tok::Var(v, f), op @ (Tok::Declare | Tok::Assign), rest @ ..] = toks
            && f.is_empty()
        {
            let is_decl = *op == Tok::Declare;
            if !is_decl && !self.vars.contains(v) {
                return Err(self.cx.err(line, format!("undefined variable {v:?}")));
            }
            decl = Some((v.clone(), is_decl));
            toks = rest;
        }
        if toks.is_empty() {
            return Err(self.cx.err(line, format!("missing value for {context}")));
        }
        let mut cmds = Vec::new();
        for part in split_top(toks, &Tok::Pipe) {
            if part.is_empty() {
                return Err(self.cx.err(line, "missing command"));
            }
            cmds.push(self.command(line, part)?);
        }
        if let Some((v, true)) = &decl {
            self.vars.push(v.clone());
        }
        Ok(Pipeline { decl, cmds })
    }

    fn command(&mut self, line: usize, toks: &[Tok]) -> Result<Cmd, TemplateError> {
        let mut args = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            let (a, n) = self.operand(line, &toks[i..])?;
            args.push(a);
            i += n;
        }
        match (toks.first(), args.len()) {
            (Some(Tok::Ident(name, pos)), _)
                if !matches!(name.as_str(), "true" | "false" | "nil") =>
            {
                if !funcs::exists(name) {
                    return Err(self.cx.err(line, format!("function {name:?} not defined")));
                }
                Ok(Cmd::Call(Call {
                    name: name.clone(),
                    args: args.into_iter().skip(1).collect(),
                    pos: *pos,
                    text: go_text(toks),
                }))
            }
            (_, 1) => Ok(Cmd::Arg(args.remove(0))),
            _ => Err(self.cx.err(
                line,
                format!("can't give argument to non-function {}", toks[0]),
            )),
        }
    }

    fn operand(&mut self, line: usize, toks: &[Tok]) -> Result<(Arg, usize), TemplateError> {
        Ok(match &toks[0] {
            Tok::Str(s, _) => (Arg::Str(s.clone()), 1),
            Tok::Num(v, i, _) => (Arg::Num(*v, *i), 1),
            Tok::Ident(k, _) if k == "true" => (Arg::Bool(true), 1),
            Tok::Ident(k, _) if k == "false" => (Arg::Bool(false), 1),
            Tok::Ident(k, _) if k == "nil" => (Arg::Nil, 1),
            Tok::Ident(k, _) => (Arg::Str(k.clone()), 1), // function name placeholder
            Tok::Var(v, f) => {
                if !self.vars.contains(v) {
                    return Err(self.cx.err(line, format!("undefined variable {v:?}")));
                }
                (Arg::Var(v.clone(), f.clone()), 1)
            }
            Tok::Dot(f) => (Arg::Dot(f.clone()), 1),
            Tok::LParen => {
                let mut depth = 0;
                let mut end = None;
                for (j, t) in toks.iter().enumerate() {
                    match t {
                        Tok::LParen => depth += 1,
                        Tok::RParen => {
                            depth -= 1;
                            if depth == 0 {
                                end = Some(j);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let Some(end) = end else {
                    return Err(self.cx.err(line, "unclosed left paren"));
                };
                let p = Box::new(self.pipeline(line, &toks[1..end], "parenthesized pipeline")?);
                match toks.get(end + 1) {
                    Some(Tok::Chain(fields)) => (Arg::Chain(p, fields.clone()), end + 2),
                    _ => (Arg::Pipe(p), end + 1),
                }
            }
            other => return Err(self.cx.err(line, format!("unexpected {other} in operand"))),
        })
    }
}

/// A command as Go's `text/template` prints it: its tokens separated by one space, none
/// inside parentheses or before a chained field.
fn go_text(toks: &[Tok]) -> String {
    let mut out = String::new();
    for (i, t) in toks.iter().enumerate() {
        let glued = matches!(t, Tok::RParen | Tok::Chain(_))
            || matches!(i.checked_sub(1).map(|j| &toks[j]), Some(Tok::LParen));
        if i > 0 && !glued {
            out.push(' ');
        }
        out.push_str(&t.to_string());
    }
    out
}

fn split_top<'t>(toks: &'t [Tok], sep: &Tok) -> Vec<&'t [Tok]> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::LParen => depth += 1,
            Tok::RParen => depth -= 1,
            t if t == sep && depth == 0 => {
                out.push(&toks[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&toks[start..]);
    out
}
