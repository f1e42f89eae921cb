//! The subset of Python that packetdrill's `%{ ... }%` code blocks use, evaluated without
//! Python.
//!
//! packetdrill (`code.c`) does not run a block when it is reached: it records the socket's
//! `TCP_INFO` at that moment and, after the last event of a script that passed, writes one
//! Python file (for each block: an assignment per `tcpi_*` field and symbolic constant,
//! then the block's text) and runs it with `python3`. The first failing statement fails
//! the script with "error in Python code" at that block's line. [`Interpreter`] does the
//! same: [`Interpreter::run_block`] assigns a snapshot's variables, then runs the block's
//! statements in the one global namespace, so a variable set in one block is seen by the
//! next (`cwnd += 10`).
//!
//! Supported: statements `assert cond[, msg]`, `print(...)`, `name = expr`,
//! `name op= expr`, `pass` and expression statements, separated by newlines and `;`,
//! with `#` comments, `\` continuations and lines continued inside brackets; expressions
//! with ints (any size Python accepts here, held in `i128`), floats, strings, `True`,
//! `False`, `None`, tuples, `+ - * / // % **`, `& | ^ ~ << >>`, chained comparisons,
//! `and`/`or`/`not`, `in`, `'fmt' % args`, and the built-ins `int`, `abs`, `min`, `max`,
//! `len`, `str`, `hex`, `bool`, `float`, `print`. An indented logical line is Python's
//! `IndentationError`, as packetdrill would report it.
//!
//! A name whose value the runner cannot supply (a `tcpi_*` field the core does not
//! expose) is a [`Lookup::Unknown`]; using it stops evaluation with
//! [`PyError::Unknown`], which the executor turns into a SKIP naming the field.

use std::collections::HashMap;
use std::fmt;

/// A parsed block.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    /// Statements in order, each with its 0-based line within the block.
    pub stmts: Vec<(usize, Stmt)>,
}

/// A statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// `assert cond[, msg]`
    Assert(Expr, Option<Expr>),
    /// `name = expr` (also `a = b = expr` as several names).
    Assign(Vec<String>, Expr),
    /// `name op= expr`
    AugAssign(String, BinOp, Expr),
    /// `pass`
    Pass,
    /// Any expression (a `print(...)` call, for one).
    Expr(Expr),
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (true division)
    Div,
    /// `//`
    FloorDiv,
    /// `%` (modulo, or string formatting)
    Mod,
    /// `**`
    Pow,
    /// `&`
    BitAnd,
    /// `|`
    BitOr,
    /// `^`
    BitXor,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in`
    In,
    /// `not in`
    NotIn,
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A literal value.
    Lit(Value),
    /// A variable.
    Name(String),
    /// `(a, b)`
    Tuple(Vec<Expr>),
    /// `-x`
    Neg(Box<Expr>),
    /// `+x`
    Pos(Box<Expr>),
    /// `~x`
    Invert(Box<Expr>),
    /// `not x`
    Not(Box<Expr>),
    /// `a op b`
    Bin(BinOp, Box<Expr>, Box<Expr>),
    /// `a < b <= c`
    Cmp(Box<Expr>, Vec<(CmpOp, Expr)>),
    /// `a and b`
    And(Box<Expr>, Box<Expr>),
    /// `a or b`
    Or(Box<Expr>, Box<Expr>),
    /// `a if cond else b`
    IfElse(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `f(args)`
    Call(String, Vec<Expr>),
}

/// A runtime value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// An int.
    Int(i128),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// `True` / `False`.
    Bool(bool),
    /// `None`.
    None,
    /// A tuple.
    Tuple(Vec<Value>),
}

impl Value {
    fn truthy(&self) -> bool {
        match self {
            Value::Int(v) => *v != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Bool(b) => *b,
            Value::None => false,
            Value::Tuple(t) => !t.is_empty(),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bool(_) => "bool",
            Value::None => "NoneType",
            Value::Tuple(_) => "tuple",
        }
    }

    /// Python's `repr`.
    fn repr(&self) -> String {
        match self {
            Value::Str(s) => format!("'{s}'"),
            Value::Tuple(t) => {
                let items: Vec<String> = t.iter().map(Value::repr).collect();
                if items.len() == 1 {
                    format!("({},)", items[0])
                } else {
                    format!("({})", items.join(", "))
                }
            }
            other => other.to_string(),
        }
    }

    fn num(&self) -> Option<Num> {
        match self {
            Value::Int(v) => Some(Num::I(*v)),
            Value::Bool(b) => Some(Num::I(i128::from(*b))),
            Value::Float(f) => Some(Num::F(*f)),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    /// Python's `str`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Float(x) => {
                if x.fract() == 0.0 && x.abs() < 1e16 {
                    write!(f, "{x:.1}")
                } else {
                    write!(f, "{x}")
                }
            }
            Value::Str(s) => f.write_str(s),
            Value::Bool(true) => f.write_str("True"),
            Value::Bool(false) => f.write_str("False"),
            Value::None => f.write_str("None"),
            Value::Tuple(_) => f.write_str(&self.repr()),
        }
    }
}

#[derive(Clone, Copy)]
enum Num {
    I(i128),
    F(f64),
}

impl Num {
    fn f(self) -> f64 {
        match self {
            Num::I(v) => v as f64,
            Num::F(x) => x,
        }
    }
}

/// What a name stands for in a snapshot.
#[derive(Clone, Debug, PartialEq)]
pub enum Lookup {
    /// A value.
    Value(Value),
    /// A value the runner cannot supply, with the reason.
    Unknown(String),
}

/// Why evaluation stopped.
#[derive(Clone, Debug, PartialEq)]
pub enum PyError {
    /// `assert` failed; the message is Python's (the assert's message, or empty).
    Assertion(String),
    /// Python would raise this (`NameError: ...`, `TypeError: ...`, `ZeroDivisionError`).
    Raise(String),
    /// A name the runner cannot supply (the SKIP reason).
    Unknown(String),
}

impl fmt::Display for PyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PyError::Assertion(m) if m.is_empty() => f.write_str("AssertionError"),
            PyError::Assertion(m) => write!(f, "AssertionError: {m}"),
            PyError::Raise(m) => f.write_str(m),
            PyError::Unknown(m) => f.write_str(m),
        }
    }
}

/// A syntax error (the block cannot be evaluated as Python).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// 0-based line within the block.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

// ----- lexing ---------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum T {
    Int(i128),
    Float(f64),
    Str(String),
    Name(String),
    Op(&'static str),
}

const OPS: [&str; 38] = [
    "**=", "//=", ">>=", "<<=", "**", "//", "==", "!=", "<=", ">=", "<<", ">>", "+=", "-=", "*=",
    "/=", "%=", "&=", "|=", "^=", "+", "-", "*", "/", "%", "&", "|", "^", "~", "<", ">", "(", ")",
    "[", "]", ",", "=", ":",
];

/// Splits a block into logical lines of tokens: `(line, tokens, indented)`.
fn logical_lines(text: &str) -> Result<Vec<(usize, Vec<T>, bool)>, SyntaxError> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 0usize;
    let mut cur: Vec<T> = Vec::new();
    let mut cur_line = 0usize;
    let mut depth = 0i32;
    let mut at_line_start = true;
    let mut indented = false;
    let err = |line: usize, m: &str| SyntaxError {
        line,
        message: format!("SyntaxError: {m}"),
    };
    while i < b.len() {
        let c = b[i];
        if at_line_start {
            // Measure indentation of a new logical line.
            let mut j = i;
            while j < b.len() && (b[j] == b' ' || b[j] == b'\t' || b[j] == b'\x0c') {
                j += 1;
            }
            let blank = j >= b.len() || b[j] == b'\n' || b[j] == b'#' || b[j] == b'\r';
            if !blank {
                indented = j > i;
                cur_line = line;
                at_line_start = false;
            }
            i = j;
            if blank {
                // Skip a comment to the end of the line.
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                if i < b.len() {
                    i += 1;
                    line += 1;
                }
                continue;
            }
            continue;
        }
        match c {
            b'\n' => {
                line += 1;
                i += 1;
                if depth == 0 {
                    if !cur.is_empty() {
                        out.push((cur_line, std::mem::take(&mut cur), indented));
                    }
                    at_line_start = true;
                }
            }
            b'\\' if b.get(i + 1) == Some(&b'\n') => {
                i += 2;
                line += 1;
            }
            b'\\' if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') => {
                i += 3;
                line += 1;
            }
            b' ' | b'\t' | b'\r' | b'\x0c' => i += 1,
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b';' if depth == 0 => {
                i += 1;
                if !cur.is_empty() {
                    out.push((cur_line, std::mem::take(&mut cur), indented));
                }
                indented = false;
            }
            b'\'' | b'"' => {
                let q = c;
                let triple = b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q);
                i += if triple { 3 } else { 1 };
                let mut s = String::new();
                loop {
                    let Some(&ch) = b.get(i) else {
                        return Err(err(line, "unterminated string literal"));
                    };
                    if triple {
                        if ch == q && b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q) {
                            i += 3;
                            break;
                        }
                    } else if ch == q {
                        i += 1;
                        break;
                    } else if ch == b'\n' {
                        return Err(err(line, "unterminated string literal"));
                    }
                    if ch == b'\\' {
                        let e = b.get(i + 1).copied().unwrap_or(b'\\');
                        let rep = match e {
                            b'n' => Some('\n'),
                            b't' => Some('\t'),
                            b'\\' => Some('\\'),
                            b'\'' => Some('\''),
                            b'"' => Some('"'),
                            b'\n' => None,
                            // Python keeps an unknown escape as written: the
                            // backslash now, the character (which may be multi-byte)
                            // by the copy below on the next turn.
                            _ => {
                                s.push('\\');
                                i += 1;
                                continue;
                            }
                        };
                        if let Some(r) = rep {
                            s.push(r);
                        }
                        if e == b'\n' {
                            line += 1;
                        }
                        i += 2;
                        continue;
                    }
                    if ch == b'\n' {
                        line += 1;
                    }
                    // Copy one UTF-8 character.
                    let rest = &text[i..];
                    let chr = rest.chars().next().unwrap_or('?');
                    s.push(chr);
                    i += chr.len_utf8();
                }
                // Adjacent string literals concatenate.
                if let Some(T::Str(prev)) = cur.last_mut() {
                    prev.push_str(&s);
                } else {
                    cur.push(T::Str(s));
                }
            }
            b'0'..=b'9' | b'.' if c != b'.' || b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let start = i;
                let radix = if c == b'0' {
                    match b.get(i + 1) {
                        Some(b'x' | b'X') => 16,
                        Some(b'o' | b'O') => 8,
                        Some(b'b' | b'B') => 2,
                        _ => 10,
                    }
                } else {
                    10
                };
                if radix != 10 {
                    i += 2;
                    let ds = i;
                    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                        i += 1;
                    }
                    let digits: String = text[ds..i].chars().filter(|&c| c != '_').collect();
                    let v = i128::from_str_radix(&digits, radix)
                        .map_err(|_| err(line, "invalid number literal"))?;
                    cur.push(T::Int(v));
                    continue;
                }
                let mut float = false;
                while i < b.len() {
                    let d = b[i];
                    if d.is_ascii_digit() || d == b'_' {
                        i += 1;
                    } else if d == b'.' && !float {
                        float = true;
                        i += 1;
                    } else if (d == b'e' || d == b'E')
                        && b.get(i + 1)
                            .is_some_and(|n| n.is_ascii_digit() || *n == b'-')
                    {
                        float = true;
                        i += 2;
                    } else {
                        break;
                    }
                }
                let lit: String = text[start..i].chars().filter(|&c| c != '_').collect();
                if i < b.len() && (b[i].is_ascii_alphabetic() || b[i] == b'_') {
                    return Err(err(line, "invalid decimal literal"));
                }
                if float {
                    let v: f64 = lit
                        .parse()
                        .map_err(|_| err(line, "invalid float literal"))?;
                    cur.push(T::Float(v));
                } else {
                    let v: i128 = lit
                        .parse()
                        .map_err(|_| err(line, "integer literal too large"))?;
                    cur.push(T::Int(v));
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                cur.push(T::Name(text[start..i].to_string()));
            }
            _ => {
                let Some(op) = OPS.iter().find(|op| text[i..].starts_with(**op)) else {
                    let ch = text[i..].chars().next().unwrap_or('?');
                    return Err(err(line, &format!("invalid character '{ch}'")));
                };
                match *op {
                    "(" | "[" => depth += 1,
                    ")" | "]" => depth -= 1,
                    _ => {}
                }
                if depth < 0 {
                    return Err(err(line, "unmatched ')'"));
                }
                i += op.len();
                cur.push(T::Op(op));
            }
        }
    }
    if depth > 0 {
        return Err(err(line, "'(' was never closed"));
    }
    if !cur.is_empty() {
        out.push((cur_line, cur, indented));
    }
    Ok(out)
}

// ----- parsing ---------------------------------------------------------------------------

/// Deepest expression nesting accepted.
const MAX_DEPTH: usize = 64;

struct P {
    toks: Vec<T>,
    pos: usize,
    line: usize,
}

impl P {
    fn err<X>(&self, m: &str) -> Result<X, SyntaxError> {
        Err(SyntaxError {
            line: self.line,
            message: format!("SyntaxError: {m}"),
        })
    }

    fn peek(&self) -> Option<&T> {
        self.toks.get(self.pos)
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(T::Op(o)) if *o == op)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        if self.is_op(op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(T::Name(n)) if n == kw)
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn done(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn statement(&mut self) -> Result<Stmt, SyntaxError> {
        if self.eat_kw("assert") {
            let cond = self.expr(0)?;
            let msg = if self.eat_op(",") {
                Some(self.expr(0)?)
            } else {
                None
            };
            return self.end(Stmt::Assert(cond, msg));
        }
        if self.eat_kw("pass") {
            return self.end(Stmt::Pass);
        }
        for kw in [
            "if", "for", "while", "def", "class", "import", "from", "with", "try", "return",
            "lambda", "global", "del", "raise",
        ] {
            if self.is_kw(kw) {
                return self.err(&format!("'{kw}' is not supported by the runner"));
            }
        }
        // Assignment forms: NAME = ..., NAME op= ...
        if let (Some(T::Name(n)), Some(T::Op(op))) = (self.peek(), self.toks.get(self.pos + 1)) {
            let name = n.clone();
            let aug = match *op {
                "+=" => Some(BinOp::Add),
                "-=" => Some(BinOp::Sub),
                "*=" => Some(BinOp::Mul),
                "/=" => Some(BinOp::Div),
                "//=" => Some(BinOp::FloorDiv),
                "%=" => Some(BinOp::Mod),
                "**=" => Some(BinOp::Pow),
                "&=" => Some(BinOp::BitAnd),
                "|=" => Some(BinOp::BitOr),
                "^=" => Some(BinOp::BitXor),
                "<<=" => Some(BinOp::Shl),
                ">>=" => Some(BinOp::Shr),
                _ => None,
            };
            if let Some(op) = aug {
                self.pos += 2;
                let e = self.expr(0)?;
                return self.end(Stmt::AugAssign(name, op, e));
            }
            if *op == "=" {
                let mut names = vec![name];
                self.pos += 2;
                loop {
                    if let (Some(T::Name(n)), Some(T::Op("="))) =
                        (self.peek(), self.toks.get(self.pos + 1))
                    {
                        names.push(n.clone());
                        self.pos += 2;
                        continue;
                    }
                    break;
                }
                let e = self.expr(0)?;
                return self.end(Stmt::Assign(names, e));
            }
        }
        let e = self.expr(0)?;
        self.end(Stmt::Expr(e))
    }

    fn end(&self, s: Stmt) -> Result<Stmt, SyntaxError> {
        if !self.done() {
            return self.err("invalid syntax");
        }
        Ok(s)
    }

    /// A possibly parenthesis-less tuple at the top of an expression list is not needed:
    /// `expr` parses a single (conditional) expression.
    fn expr(&mut self, depth: usize) -> Result<Expr, SyntaxError> {
        if depth > MAX_DEPTH {
            return self.err("expression nested too deeply");
        }
        let e = self.or_expr(depth)?;
        if self.eat_kw("if") {
            let cond = self.or_expr(depth + 1)?;
            if !self.eat_kw("else") {
                return self.err("expected 'else'");
            }
            let other = self.expr(depth + 1)?;
            return Ok(Expr::IfElse(Box::new(cond), Box::new(e), Box::new(other)));
        }
        Ok(e)
    }

    fn or_expr(&mut self, depth: usize) -> Result<Expr, SyntaxError> {
        let mut l = self.and_expr(depth)?;
        while self.eat_kw("or") {
            let r = self.and_expr(depth)?;
            l = Expr::Or(Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn and_expr(&mut self, depth: usize) -> Result<Expr, SyntaxError> {
        let mut l = self.not_expr(depth)?;
        while self.eat_kw("and") {
            let r = self.not_expr(depth)?;
            l = Expr::And(Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn not_expr(&mut self, depth: usize) -> Result<Expr, SyntaxError> {
        if depth > MAX_DEPTH {
            return self.err("expression nested too deeply");
        }
        if self.eat_kw("not") {
            return Ok(Expr::Not(Box::new(self.not_expr(depth + 1)?)));
        }
        self.comparison(depth)
    }

    fn comparison(&mut self, depth: usize) -> Result<Expr, SyntaxError> {
        let first = self.bin(0, depth)?;
        let mut rest = Vec::new();
        loop {
            let op = match self.peek() {
                Some(T::Op("==")) => CmpOp::Eq,
                Some(T::Op("!=")) => CmpOp::Ne,
                Some(T::Op("<")) => CmpOp::Lt,
                Some(T::Op("<=")) => CmpOp::Le,
                Some(T::Op(">")) => CmpOp::Gt,
                Some(T::Op(">=")) => CmpOp::Ge,
                Some(T::Name(n)) if n == "in" => CmpOp::In,
                Some(T::Name(n))
                    if n == "not"
                        && matches!(self.toks.get(self.pos + 1), Some(T::Name(m)) if m == "in") =>
                {
                    self.pos += 1;
                    CmpOp::NotIn
                }
                _ => break,
            };
            self.pos += 1;
            rest.push((op, self.bin(0, depth)?));
        }
        if rest.is_empty() {
            Ok(first)
        } else {
            Ok(Expr::Cmp(Box::new(first), rest))
        }
    }

    // Precedence, lowest first: | ^ & (<< >>) (+ -) (* / // %)
    fn bin(&mut self, level: usize, depth: usize) -> Result<Expr, SyntaxError> {
        const LEVELS: [&[(&str, BinOp)]; 6] = [
            &[("|", BinOp::BitOr)],
            &[("^", BinOp::BitXor)],
            &[("&", BinOp::BitAnd)],
            &[("<<", BinOp::Shl), (">>", BinOp::Shr)],
            &[("+", BinOp::Add), ("-", BinOp::Sub)],
            &[
                ("*", BinOp::Mul),
                ("/", BinOp::Div),
                ("//", BinOp::FloorDiv),
                ("%", BinOp::Mod),
            ],
        ];
        if level == LEVELS.len() {
            return self.unary(depth);
        }
        let mut l = self.bin(level + 1, depth)?;
        while let Some(T::Op(op)) = self.peek() {
            let Some((_, b)) = LEVELS[level].iter().find(|(s, _)| s == op) else {
                break;
            };
            self.pos += 1;
            let r = self.bin(level + 1, depth)?;
            l = Expr::Bin(*b, Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, SyntaxError> {
        if depth > MAX_DEPTH {
            return self.err("expression nested too deeply");
        }
        if self.eat_op("-") {
            return Ok(Expr::Neg(Box::new(self.unary(depth + 1)?)));
        }
        if self.eat_op("+") {
            return Ok(Expr::Pos(Box::new(self.unary(depth + 1)?)));
        }
        if self.eat_op("~") {
            return Ok(Expr::Invert(Box::new(self.unary(depth + 1)?)));
        }
        let base = self.atom(depth)?;
        if self.eat_op("**") {
            // Right-associative, binds tighter than unary minus on its left.
            let exp = self.unary(depth + 1)?;
            return Ok(Expr::Bin(BinOp::Pow, Box::new(base), Box::new(exp)));
        }
        Ok(base)
    }

    fn atom(&mut self, depth: usize) -> Result<Expr, SyntaxError> {
        let Some(t) = self.peek().cloned() else {
            return self.err("unexpected end of statement");
        };
        self.pos += 1;
        match t {
            T::Int(v) => Ok(Expr::Lit(Value::Int(v))),
            T::Float(v) => Ok(Expr::Lit(Value::Float(v))),
            T::Str(s) => Ok(Expr::Lit(Value::Str(s))),
            T::Name(n) => match n.as_str() {
                "True" => Ok(Expr::Lit(Value::Bool(true))),
                "False" => Ok(Expr::Lit(Value::Bool(false))),
                "None" => Ok(Expr::Lit(Value::None)),
                "and" | "or" | "not" | "in" | "is" | "if" | "else" | "assert" | "pass" => {
                    self.err(&format!("invalid syntax near '{n}'"))
                }
                _ => {
                    if self.eat_op("(") {
                        let mut args = Vec::new();
                        if !self.eat_op(")") {
                            loop {
                                args.push(self.expr(depth + 1)?);
                                if self.eat_op(",") {
                                    if self.eat_op(")") {
                                        break;
                                    }
                                    continue;
                                }
                                if self.eat_op(")") {
                                    break;
                                }
                                return self.err("expected ',' or ')'");
                            }
                        }
                        return Ok(Expr::Call(n, args));
                    }
                    Ok(Expr::Name(n))
                }
            },
            T::Op("(") => {
                if self.eat_op(")") {
                    return Ok(Expr::Tuple(Vec::new()));
                }
                let first = self.expr(depth + 1)?;
                if self.eat_op(")") {
                    return Ok(first);
                }
                let mut items = vec![first];
                while self.eat_op(",") {
                    if self.is_op(")") {
                        break;
                    }
                    items.push(self.expr(depth + 1)?);
                }
                if !self.eat_op(")") {
                    return self.err("expected ')'");
                }
                Ok(Expr::Tuple(items))
            }
            T::Op(op) => self.err(&format!("invalid syntax near '{op}'")),
        }
    }
}

/// Parses a code block's text.
pub fn parse(text: &str) -> Result<Program, SyntaxError> {
    let mut stmts = Vec::new();
    for (line, toks, indented) in logical_lines(text)? {
        if indented {
            return Err(SyntaxError {
                line,
                message: "IndentationError: unexpected indent".into(),
            });
        }
        let mut p = P { toks, pos: 0, line };
        stmts.push((line, p.statement()?));
    }
    Ok(Program { stmts })
}

// ----- evaluation ------------------------------------------------------------------------

/// The global namespace of one script's code, shared by all its blocks.
#[derive(Debug, Default)]
pub struct Interpreter {
    globals: HashMap<String, Lookup>,
    /// What `print` wrote, one entry per call.
    pub printed: Vec<String>,
}

type R<T> = Result<T, PyError>;

fn type_err(m: impl Into<String>) -> PyError {
    PyError::Raise(format!("TypeError: {}", m.into()))
}

fn int_fits(v: i128) -> R<Value> {
    // Python ints are unbounded; the blocks here stay far inside i128.
    Ok(Value::Int(v))
}

impl Interpreter {
    /// A fresh namespace.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets variables (a snapshot's `tcpi_*` fields and constants), as packetdrill's
    /// generated assignments before each block do.
    pub fn assign_all(&mut self, vars: impl IntoIterator<Item = (String, Lookup)>) {
        for (k, v) in vars {
            self.globals.insert(k, v);
        }
    }

    /// Runs a block; `Err((line, error))` names the 0-based line in the block.
    pub fn run(&mut self, prog: &Program) -> Result<(), (usize, PyError)> {
        for (line, s) in &prog.stmts {
            self.stmt(s).map_err(|e| (*line, e))?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt) -> R<()> {
        match s {
            Stmt::Pass => Ok(()),
            Stmt::Expr(e) => self.eval(e).map(|_| ()),
            Stmt::Assign(names, e) => {
                let v = self.eval(e)?;
                for n in names {
                    self.globals.insert(n.clone(), Lookup::Value(v.clone()));
                }
                Ok(())
            }
            Stmt::AugAssign(n, op, e) => {
                let cur = self.name(n)?;
                let r = self.eval(e)?;
                let v = binop(*op, cur, r)?;
                self.globals.insert(n.clone(), Lookup::Value(v));
                Ok(())
            }
            Stmt::Assert(cond, msg) => {
                if self.eval(cond)?.truthy() {
                    return Ok(());
                }
                let m = match msg {
                    Some(m) => self.eval(m)?.to_string(),
                    None => String::new(),
                };
                Err(PyError::Assertion(m))
            }
        }
    }

    fn name(&self, n: &str) -> R<Value> {
        match self.globals.get(n) {
            Some(Lookup::Value(v)) => Ok(v.clone()),
            Some(Lookup::Unknown(why)) => Err(PyError::Unknown(why.clone())),
            None => Err(PyError::Raise(format!(
                "NameError: name '{n}' is not defined"
            ))),
        }
    }

    fn eval(&mut self, e: &Expr) -> R<Value> {
        match e {
            Expr::Lit(v) => Ok(v.clone()),
            Expr::Name(n) => self.name(n),
            Expr::Tuple(items) => Ok(Value::Tuple(
                items.iter().map(|i| self.eval(i)).collect::<R<_>>()?,
            )),
            Expr::Neg(x) => match self.eval(x)?.num() {
                Some(Num::I(v)) => int_fits(-v),
                Some(Num::F(f)) => Ok(Value::Float(-f)),
                None => Err(type_err("bad operand type for unary -")),
            },
            Expr::Pos(x) => match self.eval(x)?.num() {
                Some(Num::I(v)) => Ok(Value::Int(v)),
                Some(Num::F(f)) => Ok(Value::Float(f)),
                None => Err(type_err("bad operand type for unary +")),
            },
            Expr::Invert(x) => match self.eval(x)? {
                Value::Int(v) => Ok(Value::Int(!v)),
                Value::Bool(b) => Ok(Value::Int(!i128::from(b))),
                _ => Err(type_err("bad operand type for unary ~")),
            },
            Expr::Not(x) => Ok(Value::Bool(!self.eval(x)?.truthy())),
            Expr::And(a, b) => {
                let l = self.eval(a)?;
                if !l.truthy() { Ok(l) } else { self.eval(b) }
            }
            Expr::Or(a, b) => {
                let l = self.eval(a)?;
                if l.truthy() { Ok(l) } else { self.eval(b) }
            }
            Expr::IfElse(c, a, b) => {
                if self.eval(c)?.truthy() {
                    self.eval(a)
                } else {
                    self.eval(b)
                }
            }
            Expr::Bin(op, a, b) => {
                let l = self.eval(a)?;
                let r = self.eval(b)?;
                binop(*op, l, r)
            }
            Expr::Cmp(first, rest) => {
                let mut left = self.eval(first)?;
                for (op, e) in rest {
                    let right = self.eval(e)?;
                    if !compare(*op, &left, &right)? {
                        return Ok(Value::Bool(false));
                    }
                    left = right;
                }
                Ok(Value::Bool(true))
            }
            Expr::Call(f, args) => {
                let vals: Vec<Value> = args.iter().map(|a| self.eval(a)).collect::<R<_>>()?;
                self.call(f, vals)
            }
        }
    }

    fn call(&mut self, f: &str, args: Vec<Value>) -> R<Value> {
        let one = |args: &[Value]| -> R<Value> {
            match args {
                [v] => Ok(v.clone()),
                _ => Err(type_err(format!("{f}() takes exactly one argument"))),
            }
        };
        match f {
            "print" => {
                let line: Vec<String> = args.iter().map(|v| v.to_string()).collect();
                self.printed.push(line.join(" "));
                Ok(Value::None)
            }
            "int" => match one(&args)? {
                Value::Int(v) => Ok(Value::Int(v)),
                Value::Bool(b) => Ok(Value::Int(i128::from(b))),
                Value::Float(x) => Ok(Value::Int(x.trunc() as i128)),
                Value::Str(s) => s.trim().parse().map(Value::Int).map_err(|_| {
                    PyError::Raise(format!(
                        "ValueError: invalid literal for int() with base 10: '{s}'"
                    ))
                }),
                v => Err(type_err(format!(
                    "int() argument must be a number, not '{}'",
                    v.type_name()
                ))),
            },
            "float" => match one(&args)?.num() {
                Some(n) => Ok(Value::Float(n.f())),
                None => Err(type_err("float() argument must be a number")),
            },
            "abs" => match one(&args)?.num() {
                Some(Num::I(v)) => Ok(Value::Int(v.abs())),
                Some(Num::F(x)) => Ok(Value::Float(x.abs())),
                None => Err(type_err("bad operand type for abs()")),
            },
            "bool" => Ok(Value::Bool(one(&args)?.truthy())),
            "str" => Ok(Value::Str(one(&args)?.to_string())),
            "hex" => match one(&args)? {
                Value::Int(v) if v < 0 => Ok(Value::Str(format!("-0x{:x}", -v))),
                Value::Int(v) => Ok(Value::Str(format!("0x{v:x}"))),
                v => Err(type_err(format!(
                    "'{}' object cannot be interpreted as an integer",
                    v.type_name()
                ))),
            },
            "len" => match one(&args)? {
                Value::Str(s) => Ok(Value::Int(s.chars().count() as i128)),
                Value::Tuple(t) => Ok(Value::Int(t.len() as i128)),
                v => Err(type_err(format!(
                    "object of type '{}' has no len()",
                    v.type_name()
                ))),
            },
            "min" | "max" => {
                let items = match args.as_slice() {
                    [Value::Tuple(t)] => t.clone(),
                    _ => args,
                };
                let mut best: Option<Value> = None;
                for v in items {
                    best = Some(match best {
                        None => v,
                        Some(b) => {
                            let better = if f == "min" {
                                compare(CmpOp::Lt, &v, &b)?
                            } else {
                                compare(CmpOp::Gt, &v, &b)?
                            };
                            if better { v } else { b }
                        }
                    });
                }
                best.ok_or_else(|| {
                    PyError::Raise(format!("ValueError: {f}() arg is an empty sequence"))
                })
            }
            other => Err(match self.globals.get(other) {
                Some(Lookup::Unknown(why)) => PyError::Unknown(why.clone()),
                Some(_) => type_err(format!("'{other}' object is not callable")),
                None => PyError::Raise(format!("NameError: name '{other}' is not defined")),
            }),
        }
    }
}

fn binop(op: BinOp, l: Value, r: Value) -> R<Value> {
    // String formatting and concatenation first.
    match (&op, &l, &r) {
        (BinOp::Mod, Value::Str(fmt), _) => return format_percent(fmt, &r).map(Value::Str),
        (BinOp::Add, Value::Str(a), Value::Str(b)) => return Ok(Value::Str(format!("{a}{b}"))),
        (BinOp::Add, Value::Tuple(a), Value::Tuple(b)) => {
            let mut t = a.clone();
            t.extend(b.iter().cloned());
            return Ok(Value::Tuple(t));
        }
        (BinOp::Mul, Value::Str(s), Value::Int(n)) | (BinOp::Mul, Value::Int(n), Value::Str(s)) => {
            return Ok(Value::Str(s.repeat((*n).max(0) as usize)));
        }
        _ => {}
    }
    let unsupported = || {
        type_err(format!(
            "unsupported operand type(s) for {}: '{}' and '{}'",
            op_symbol(op),
            l.type_name(),
            r.type_name()
        ))
    };
    let (Some(a), Some(b)) = (l.num(), r.num()) else {
        return Err(unsupported());
    };
    let zero = || PyError::Raise("ZeroDivisionError: division by zero".into());
    match (a, b) {
        (Num::I(x), Num::I(y)) => match op {
            BinOp::Add => x.checked_add(y).map(Value::Int).ok_or_else(overflow),
            BinOp::Sub => x.checked_sub(y).map(Value::Int).ok_or_else(overflow),
            BinOp::Mul => x.checked_mul(y).map(Value::Int).ok_or_else(overflow),
            BinOp::Div => {
                if y == 0 {
                    Err(zero())
                } else {
                    Ok(Value::Float(x as f64 / y as f64))
                }
            }
            BinOp::FloorDiv => {
                if y == 0 {
                    Err(zero())
                } else {
                    Ok(Value::Int(
                        x.div_euclid(y) - i128::from(y < 0 && x.rem_euclid(y) != 0),
                    ))
                }
            }
            BinOp::Mod => {
                if y == 0 {
                    Err(zero())
                } else {
                    let m = x.rem_euclid(y);
                    // Python's result takes the divisor's sign.
                    Ok(Value::Int(if y < 0 && m != 0 { m + y } else { m }))
                }
            }
            BinOp::Pow => {
                if y < 0 {
                    Ok(Value::Float((x as f64).powf(y as f64)))
                } else {
                    u32::try_from(y)
                        .ok()
                        .and_then(|e| x.checked_pow(e))
                        .map(Value::Int)
                        .ok_or_else(overflow)
                }
            }
            BinOp::BitAnd => Ok(Value::Int(x & y)),
            BinOp::BitOr => Ok(Value::Int(x | y)),
            BinOp::BitXor => Ok(Value::Int(x ^ y)),
            BinOp::Shl => {
                if y < 0 {
                    Err(PyError::Raise("ValueError: negative shift count".into()))
                } else {
                    u32::try_from(y)
                        .ok()
                        .filter(|&s| s < 127)
                        .and_then(|s| x.checked_shl(s))
                        .map(Value::Int)
                        .ok_or_else(overflow)
                }
            }
            BinOp::Shr => {
                if y < 0 {
                    Err(PyError::Raise("ValueError: negative shift count".into()))
                } else {
                    Ok(Value::Int(x >> y.min(127)))
                }
            }
        },
        (a, b) => {
            let (x, y) = (a.f(), b.f());
            match op {
                BinOp::Add => Ok(Value::Float(x + y)),
                BinOp::Sub => Ok(Value::Float(x - y)),
                BinOp::Mul => Ok(Value::Float(x * y)),
                BinOp::Div if y == 0.0 => Err(zero()),
                BinOp::Div => Ok(Value::Float(x / y)),
                BinOp::FloorDiv if y == 0.0 => Err(zero()),
                BinOp::FloorDiv => Ok(Value::Float((x / y).floor())),
                BinOp::Mod if y == 0.0 => Err(zero()),
                BinOp::Mod => Ok(Value::Float(x - y * (x / y).floor())),
                BinOp::Pow => Ok(Value::Float(x.powf(y))),
                _ => Err(unsupported()),
            }
        }
    }
}

fn overflow() -> PyError {
    PyError::Unknown("an integer beyond the runner's 128-bit range".into())
}

fn op_symbol(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::FloorDiv => "//",
        BinOp::Mod => "%",
        BinOp::Pow => "** or pow()",
        BinOp::BitAnd => "&",
        BinOp::BitOr => "|",
        BinOp::BitXor => "^",
        BinOp::Shl => "<<",
        BinOp::Shr => ">>",
    }
}

fn compare(op: CmpOp, l: &Value, r: &Value) -> R<bool> {
    use std::cmp::Ordering;
    if matches!(op, CmpOp::In | CmpOp::NotIn) {
        let found = match r {
            Value::Tuple(t) => t.iter().any(|x| eq(l, x)),
            Value::Str(s) => match l {
                Value::Str(sub) => s.contains(sub.as_str()),
                _ => return Err(type_err("'in <string>' requires string as left operand")),
            },
            _ => {
                return Err(type_err(format!(
                    "argument of type '{}' is not iterable",
                    r.type_name()
                )));
            }
        };
        return Ok(found == (op == CmpOp::In));
    }
    if matches!(op, CmpOp::Eq | CmpOp::Ne) {
        return Ok(eq(l, r) == (op == CmpOp::Eq));
    }
    let ord = match (l.num(), r.num(), l, r) {
        (Some(Num::I(a)), Some(Num::I(b)), _, _) => a.cmp(&b),
        (Some(a), Some(b), _, _) => a.f().partial_cmp(&b.f()).unwrap_or(Ordering::Equal),
        (_, _, Value::Str(a), Value::Str(b)) => a.cmp(b),
        _ => {
            return Err(type_err(format!(
                "'<' not supported between instances of '{}' and '{}'",
                l.type_name(),
                r.type_name()
            )));
        }
    };
    Ok(match op {
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
        _ => false,
    })
}

fn eq(l: &Value, r: &Value) -> bool {
    match (l.num(), r.num()) {
        (Some(Num::I(a)), Some(Num::I(b))) => a == b,
        (Some(a), Some(b)) => a.f() == b.f(),
        _ => match (l, r) {
            (Value::Tuple(a), Value::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| eq(x, y))
            }
            _ => l == r,
        },
    }
}

/// `'fmt' % args` with the conversions scripts use (`%d %i %u %s %r %x %X %o %f %e %g %c %%`,
/// flags, width and precision).
fn format_percent(fmt: &str, args: &Value) -> R<String> {
    let items: Vec<Value> = match args {
        Value::Tuple(t) => t.clone(),
        v => vec![v.clone()],
    };
    let mut out = String::new();
    let mut next = items.into_iter();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(&f) = chars.peek() {
            if "-+ 0#".contains(f) {
                flags.push(f);
                chars.next();
            } else {
                break;
            }
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() {
                width.push(d);
                chars.next();
            } else {
                break;
            }
        }
        let mut prec: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek() {
                if d.is_ascii_digit() {
                    p.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            prec = Some(p.parse().unwrap_or(0));
        }
        let Some(conv) = chars.next() else {
            return Err(PyError::Raise("ValueError: incomplete format".into()));
        };
        if conv == '%' {
            out.push('%');
            continue;
        }
        let Some(v) = next.next() else {
            return Err(type_err("not enough arguments for format string"));
        };
        let body = match conv {
            'd' | 'i' | 'u' => match v.num() {
                Some(Num::I(x)) => x.to_string(),
                Some(Num::F(x)) => (x.trunc() as i128).to_string(),
                None => {
                    return Err(type_err(format!(
                        "%{conv} format: a real number is required, not {}",
                        v.type_name()
                    )));
                }
            },
            'x' | 'X' | 'o' => match v.num() {
                Some(Num::I(x)) => {
                    let s = match conv {
                        'x' => format!("{:x}", x.unsigned_abs()),
                        'X' => format!("{:X}", x.unsigned_abs()),
                        _ => format!("{:o}", x.unsigned_abs()),
                    };
                    let pre = if flags.contains('#') {
                        match conv {
                            'x' => "0x",
                            'X' => "0X",
                            _ => "0o",
                        }
                    } else {
                        ""
                    };
                    format!("{}{pre}{s}", if x < 0 { "-" } else { "" })
                }
                _ => {
                    return Err(type_err(format!(
                        "%{conv} format: an integer is required, not {}",
                        v.type_name()
                    )));
                }
            },
            'f' | 'F' | 'e' | 'E' | 'g' | 'G' => match v.num() {
                Some(n) => {
                    let p = prec.unwrap_or(6);
                    match conv {
                        'f' | 'F' => format!("{:.*}", p, n.f()),
                        'e' | 'E' => format!("{:.*e}", p, n.f()),
                        _ => format!("{}", n.f()),
                    }
                }
                None => return Err(type_err("must be real number")),
            },
            's' => v.to_string(),
            'r' => v.repr(),
            'c' => match v {
                Value::Int(x) => char::from_u32(x as u32)
                    .map(String::from)
                    .unwrap_or_default(),
                Value::Str(s) => s,
                _ => return Err(type_err("%c requires int or char")),
            },
            other => {
                return Err(PyError::Raise(format!(
                    "ValueError: unsupported format character '{other}'"
                )));
            }
        };
        let body = match (conv, prec) {
            ('s' | 'r', Some(p)) => body.chars().take(p).collect(),
            _ => body,
        };
        let w: usize = width.parse().unwrap_or(0);
        let pad = w.saturating_sub(body.chars().count());
        if flags.contains('-') {
            out.push_str(&body);
            out.push_str(&" ".repeat(pad));
        } else if flags.contains('0') && !matches!(conv, 's' | 'r' | 'c') {
            let (sign, digits) = body
                .strip_prefix('-')
                .map_or(("", body.as_str()), |d| ("-", d));
            out.push_str(sign);
            out.push_str(&"0".repeat(pad));
            out.push_str(digits);
        } else {
            out.push_str(&" ".repeat(pad));
            out.push_str(&body);
        }
    }
    if next.next().is_some() {
        return Err(type_err(
            "not all arguments converted during string formatting",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(src: &str, vars: &[(&str, i128)]) -> Result<(), (usize, PyError)> {
        let p = parse(src).map_err(|e| (e.line, PyError::Raise(e.message)))?;
        let mut i = Interpreter::new();
        i.assign_all(
            vars.iter()
                .map(|(k, v)| (k.to_string(), Lookup::Value(Value::Int(*v)))),
        );
        i.run(&p)
    }

    #[test]
    fn asserts_comparisons_and_arithmetic() {
        assert!(run("assert 1 < 2 <= 2, 'x'", &[]).is_ok());
        assert_eq!(
            run(
                "assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd",
                &[("tcpi_snd_cwnd", 9)]
            ),
            Err((0, PyError::Assertion("9".into())))
        );
        assert!(run("assert (7 & 2) != 0 and not 0 or 1", &[]).is_ok());
        assert!(run("assert -7 // 2 == -4 and -7 % 3 == 2 and 7 % -3 == -2", &[]).is_ok());
        assert!(
            run(
                "assert 2 ** 10 == 1024 and 1 << 4 == 16 and 0x7fffffff == 2147483647",
                &[]
            )
            .is_ok()
        );
    }

    #[test]
    fn variables_persist_and_formatting_works() {
        let p1 = parse("cwnd = 10").unwrap();
        let p2 = parse("print(tcpi_snd_cwnd); cwnd += 10; assert tcpi_snd_cwnd == cwnd, 'cwnd=%d' % tcpi_snd_cwnd").unwrap();
        let mut i = Interpreter::new();
        i.run(&p1).unwrap();
        i.assign_all([("tcpi_snd_cwnd".to_string(), Lookup::Value(Value::Int(21)))]);
        assert_eq!(i.run(&p2), Err((0, PyError::Assertion("cwnd=21".into()))));
        assert_eq!(i.printed, vec!["21".to_string()]);
    }

    #[test]
    fn an_unknown_escape_before_a_multibyte_character_is_kept_as_written() {
        // Found by the `pkt` fuzz target: the escape used to step into the middle of
        // the character after the backslash.
        let p = parse("x = '\\\u{e9}t'").unwrap();
        let mut i = Interpreter::new();
        i.run(&p).unwrap();
        assert!(run("assert '\\\u{e9}' == '\\\\' + '\u{e9}'", &[]).is_ok());
        assert!(run("assert '\\\u{e9}' == '\u{e9}'", &[]).is_err());
    }

    #[test]
    fn continuation_comments_and_indentation() {
        assert!(run("assert 1 == 1, 'a'; \\\n\t assert 2 == 2;\\\n", &[]).is_ok());
        assert!(
            run(
                "\nassert 1 == 1  # comment\n\n# more\nassert (1 +\n  1) == 2\n",
                &[]
            )
            .is_ok()
        );
        let e = parse("\n   assert 1").unwrap_err();
        assert!(e.message.starts_with("IndentationError"), "{e:?}");
        assert!(parse("if x: pass").is_err());
    }

    #[test]
    fn unknown_and_undefined_names() {
        let p = parse("assert tcpi_lost == 1").unwrap();
        let mut i = Interpreter::new();
        i.assign_all([(
            "tcpi_lost".to_string(),
            Lookup::Unknown("tcpi_lost: core".into()),
        )]);
        assert_eq!(
            i.run(&p),
            Err((0, PyError::Unknown("tcpi_lost: core".into())))
        );
        assert!(
            matches!(run("assert nope == 1", &[]), Err((0, PyError::Raise(m))) if m.starts_with("NameError"))
        );
    }

    #[test]
    fn percent_formats() {
        let v = |s: &str, a: Value| format_percent(s, &a).unwrap();
        assert_eq!(v("srtt=%d us", Value::Int(5)), "srtt=5 us");
        assert_eq!(
            v(
                "%s-%r",
                Value::Tuple(vec![Value::Str("a".into()), Value::Str("b".into())])
            ),
            "a-'b'"
        );
        assert_eq!(
            v(
                "%05d|%-3d|%x|%#x|%.2f",
                Value::Tuple(vec![
                    Value::Int(-42),
                    Value::Int(7),
                    Value::Int(255),
                    Value::Int(255),
                    Value::Float(1.5)
                ])
            ),
            "-0042|7  |ff|0xff|1.50"
        );
    }
}
