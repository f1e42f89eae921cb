//! The `%{ ... }%` block: split into statements and parse the common
//! `assert <int expr> <cmp> <int expr>[, message]` form. Anything else is kept verbatim.

use super::ast::{ArithOp, Assertion, CmpOp, CodeBlock, CodeExpr, CodeStatement};

/// Deepest parenthesis nesting accepted.
const MAX_DEPTH: usize = 64;

/// Split a block's text into statements and parse each one it can.
pub(crate) fn parse_code_block(text: &str) -> CodeBlock {
    let mut statements = Vec::new();
    // Join backslash-continued lines (Python's explicit line joining).
    let joined = text.replace("\\\r\n", " ").replace("\\\n", " ");
    for line in joined.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        // Indented continuation lines, strings and comments belong to Python proper.
        let pieces: Vec<&str> = if trimmed.contains(['"', '\'', '#']) {
            vec![trimmed]
        } else {
            trimmed.split(';').collect()
        };
        for piece in pieces {
            let piece = piece.trim();
            if piece.is_empty() {
                continue;
            }
            statements.push(match parse_assert(piece) {
                Some(a) => CodeStatement::Assert(a),
                None => CodeStatement::Unparsed(piece.to_string()),
            });
        }
    }
    CodeBlock {
        text: text.to_string(),
        statements,
    }
}

#[derive(Clone, Debug, PartialEq)]
enum T {
    Int(i64),
    Name(String),
    Op(&'static str),
}

fn lex(s: &str) -> Option<Vec<T>> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            let v = if c == b'0' && matches!(b.get(i + 1), Some(b'x') | Some(b'X')) {
                i += 2;
                let h = i;
                while i < b.len() && b[i].is_ascii_hexdigit() {
                    i += 1;
                }
                i64::from_str_radix(&s[h..i], 16).ok()?
            } else {
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                s[start..i].parse().ok()?
            };
            if i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
                return None; // floats, suffixes: not ours
            }
            out.push(T::Int(v));
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(T::Name(s[start..i].to_string()));
            continue;
        }
        let two = s.get(i..i + 2).unwrap_or("");
        let op: &'static str = match two {
            "==" => "==",
            "!=" => "!=",
            "<=" => "<=",
            ">=" => ">=",
            "//" => "//",
            _ => match c {
                b'<' => "<",
                b'>' => ">",
                b'+' => "+",
                b'-' => "-",
                b'*' => "*",
                b'/' => "/",
                b'%' => "%",
                b'&' => "&",
                b'|' => "|",
                b'(' => "(",
                b')' => ")",
                b',' => ",",
                _ => return None,
            },
        };
        i += op.len();
        out.push(T::Op(op));
    }
    Some(out)
}

/// `assert a OP b [OP c ...][, message]`, or `None` if the statement is anything else.
fn parse_assert(stmt: &str) -> Option<Assertion> {
    let rest = stmt.strip_prefix("assert")?;
    if !rest.starts_with([' ', '\t', '(']) {
        return None;
    }
    // Split off the message at the first top-level comma.
    let mut depth = 0i32;
    let mut split = None;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                split = Some(i);
                break;
            }
            _ => {}
        }
    }
    let (cond, message) = match split {
        Some(i) => (&rest[..i], Some(rest[i + 1..].trim().to_string())),
        None => (rest, None),
    };
    let toks = lex(cond)?;
    let mut p = P { toks, pos: 0 };
    let first = p.expr(0)?;
    let mut chain = Vec::new();
    while let Some(T::Op(op)) = p.toks.get(p.pos) {
        let op = match *op {
            "==" => CmpOp::Eq,
            "!=" => CmpOp::Ne,
            "<" => CmpOp::Lt,
            "<=" => CmpOp::Le,
            ">" => CmpOp::Gt,
            ">=" => CmpOp::Ge,
            _ => return None,
        };
        p.pos += 1;
        chain.push((op, p.expr(0)?));
    }
    if chain.is_empty() || p.pos != p.toks.len() {
        return None;
    }
    Some(Assertion {
        first,
        rest: chain,
        message,
    })
}

struct P {
    toks: Vec<T>,
    pos: usize,
}

impl P {
    fn op(&self) -> Option<&'static str> {
        match self.toks.get(self.pos) {
            Some(T::Op(o)) => Some(o),
            _ => None,
        }
    }

    // Python precedence, lowest first: |, &, + -, * / // %, unary -.
    fn expr(&mut self, depth: usize) -> Option<CodeExpr> {
        self.binary(0, depth)
    }

    fn binary(&mut self, level: usize, depth: usize) -> Option<CodeExpr> {
        const LEVELS: [&[(&str, ArithOp)]; 4] = [
            &[("|", ArithOp::Or)],
            &[("&", ArithOp::And)],
            &[("+", ArithOp::Add), ("-", ArithOp::Sub)],
            &[
                ("*", ArithOp::Mul),
                ("/", ArithOp::Div),
                ("//", ArithOp::Div),
                ("%", ArithOp::Rem),
            ],
        ];
        if level == LEVELS.len() {
            return self.unary(depth);
        }
        let mut lhs = self.binary(level + 1, depth)?;
        while let Some(op) = self.op() {
            let Some((_, a)) = LEVELS[level].iter().find(|(s, _)| *s == op) else {
                break;
            };
            self.pos += 1;
            let rhs = self.binary(level + 1, depth)?;
            lhs = CodeExpr::Binary(*a, Box::new(lhs), Box::new(rhs));
        }
        Some(lhs)
    }

    fn unary(&mut self, depth: usize) -> Option<CodeExpr> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.toks.get(self.pos)?.clone() {
            T::Int(v) => {
                self.pos += 1;
                Some(CodeExpr::Int(v))
            }
            T::Name(n) => {
                if matches!(n.as_str(), "and" | "or" | "not" | "in" | "is") {
                    return None;
                }
                self.pos += 1;
                if self.op() == Some("(") {
                    return None; // function calls are Python, not ours
                }
                Some(CodeExpr::Name(n))
            }
            T::Op("-") => {
                self.pos += 1;
                Some(CodeExpr::Neg(Box::new(self.unary(depth + 1)?)))
            }
            T::Op("+") => {
                self.pos += 1;
                self.unary(depth + 1)
            }
            T::Op("(") => {
                self.pos += 1;
                let e = self.binary(0, depth + 1)?;
                if self.op() != Some(")") {
                    return None;
                }
                self.pos += 1;
                Some(e)
            }
            T::Op(_) => None,
        }
    }
}
