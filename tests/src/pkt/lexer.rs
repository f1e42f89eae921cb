//! Tokenizer for the packetdrill dialect. Whitespace and newlines separate tokens but are
//! otherwise insignificant, as in packetdrill's flex scanner; every token remembers its
//! line and byte span so the parser can report lines and recover verbatim text.

use super::ParseError;

/// Token kinds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    /// `--name` or `--name=value` (value taken verbatim up to whitespace).
    Opt(String, Option<String>),
    /// Decimal integer, possibly with a leading `-`.
    Int(i64),
    /// `0x...`
    Hex(i64),
    /// Decimal number with a fraction (`1.5`, `.1`, `0.`-less forms), verbatim text.
    Float(String),
    /// `[A-Za-z0-9_]+` not starting like a number (or a digit run glued to letters).
    Word(String),
    /// `"..."` contents, escapes kept.
    Str(String),
    /// `` `...` `` contents.
    Backtick(String),
    /// `%{ ... }%` contents, blanks trimmed.
    Code(String),
    /// `...`
    Ellipsis,
    /// Any other single character.
    Punct(char),
}

impl Tok {
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Opt(n, _) => format!("option '--{n}'"),
            Tok::Int(v) => format!("number '{v}'"),
            Tok::Hex(v) => format!("number '{v:#x}'"),
            Tok::Float(s) => format!("number '{s}'"),
            Tok::Word(w) => format!("'{w}'"),
            Tok::Str(_) => "a string".into(),
            Tok::Backtick(_) => "a backtick command".into(),
            Tok::Code(_) => "a %{ }% code block".into(),
            Tok::Ellipsis => "'...'".into(),
            Tok::Punct(c) => format!("'{c}'"),
        }
    }
}

/// A token with position.
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    pub line: usize,
    pub start: usize,
    pub end: usize,
}

fn is_word_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Split `text` into tokens.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, ParseError> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0usize;
    let mut line = 1usize;
    let err = |line: usize, msg: String| ParseError { line, message: msg };
    while i < b.len() {
        let c = b[i];
        let start = i;
        let start_line = line;
        // Whitespace.
        if c == b'\n' {
            line += 1;
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let next = b.get(i + 1).copied();
        // Comments.
        if c == b'/' && next == Some(b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && next == Some(b'*') {
            i += 2;
            loop {
                if i + 1 >= b.len() {
                    return Err(err(start_line, "unterminated /* comment".into()));
                }
                if b[i] == b'*' && b[i + 1] == b'/' {
                    i += 2;
                    break;
                }
                if b[i] == b'\n' {
                    line += 1;
                }
                i += 1;
            }
            continue;
        }
        let tok = if c == b'%' && next == Some(b'{') {
            i += 2;
            let body_start = i;
            loop {
                if i + 1 >= b.len() {
                    return Err(err(
                        start_line,
                        "unterminated %{ code block (missing }%)".into(),
                    ));
                }
                if b[i] == b'}' && b[i + 1] == b'%' {
                    break;
                }
                if b[i] == b'\n' {
                    line += 1;
                }
                i += 1;
            }
            let body = text[body_start..i].trim_matches([' ', '\t']).to_string();
            i += 2;
            Tok::Code(body)
        } else if c == b'`' {
            i += 1;
            let body_start = i;
            loop {
                match b.get(i) {
                    None => return Err(err(start_line, "unterminated backtick command".into())),
                    Some(b'\\') if i + 1 < b.len() => {
                        if b[i + 1] == b'\n' {
                            line += 1;
                        }
                        i += 2;
                    }
                    Some(b'`') => break,
                    Some(b'\n') => {
                        line += 1;
                        i += 1;
                    }
                    Some(_) => i += 1,
                }
            }
            let body = text[body_start..i].to_string();
            i += 1;
            Tok::Backtick(body)
        } else if c == b'"' {
            i += 1;
            let body_start = i;
            loop {
                match b.get(i) {
                    None => return Err(err(start_line, "unterminated string".into())),
                    Some(b'\\') if i + 1 < b.len() => {
                        if b[i + 1] == b'\n' {
                            line += 1;
                        }
                        i += 2;
                    }
                    Some(b'"') => break,
                    Some(b'\n') => {
                        line += 1;
                        i += 1;
                    }
                    Some(_) => i += 1,
                }
            }
            let body = text[body_start..i].to_string();
            i += 1;
            Tok::Str(body)
        } else if c == b'.' && next == Some(b'.') && b.get(i + 2) == Some(&b'.') {
            i += 3;
            Tok::Ellipsis
        } else if c == b'-' && next == Some(b'-') && b.get(i + 2).is_some_and(|&c| is_word_char(c))
        {
            i += 2;
            let name_start = i;
            while i < b.len() && is_word_char(b[i]) {
                i += 1;
            }
            let name = text[name_start..i].to_string();
            let value = if b.get(i) == Some(&b'=') {
                i += 1;
                let v_start = i;
                // Up to whitespace, except inside "..." or `...` (which may hold blanks).
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    let q = b[i];
                    if q == b'"' || q == b'`' {
                        i += 1;
                        while i < b.len() && b[i] != q {
                            if b[i] == b'\n' {
                                line += 1;
                            }
                            i += 1;
                        }
                        if i >= b.len() {
                            return Err(err(
                                start_line,
                                format!("unterminated quote in option --{name}"),
                            ));
                        }
                    }
                    i += 1;
                }
                let v = &text[v_start..i];
                let whole_string = v.len() >= 2
                    && v.starts_with('"')
                    && v.ends_with('"')
                    && !v[1..v.len() - 1].contains('"');
                Some(if whole_string {
                    v[1..v.len() - 1].to_string()
                } else {
                    v.to_string()
                })
            } else {
                None
            };
            Tok::Opt(name, value)
        } else if c == b'0'
            && matches!(next, Some(b'x') | Some(b'X'))
            && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
        {
            i += 2;
            let h_start = i;
            while i < b.len() && b[i].is_ascii_hexdigit() {
                i += 1;
            }
            if i < b.len() && is_word_char(b[i]) {
                while i < b.len() && is_word_char(b[i]) {
                    i += 1;
                }
                Tok::Word(text[start..i].to_string())
            } else {
                let v = i64::from_str_radix(&text[h_start..i], 16).map_err(|_| {
                    err(
                        start_line,
                        format!("hex number '{}' out of range", &text[start..i]),
                    )
                })?;
                Tok::Hex(v)
            }
        } else if c.is_ascii_digit()
            || (c == b'-' && next.is_some_and(|d| d.is_ascii_digit()))
            || (c == b'.' && next.is_some_and(|d| d.is_ascii_digit()))
            || (c == b'-' && next == Some(b'.') && b.get(i + 2).is_some_and(u8::is_ascii_digit))
        {
            if c == b'-' {
                i += 1;
            }
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let mut float = false;
            if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                float = true;
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if !float && c != b'-' && i < b.len() && is_word_char(b[i]) {
                // A digit run glued to letters is a word (e.g. a hex cookie "1a2b").
                while i < b.len() && is_word_char(b[i]) {
                    i += 1;
                }
                Tok::Word(text[start..i].to_string())
            } else if float {
                Tok::Float(text[start..i].to_string())
            } else {
                match text[start..i].parse::<i64>() {
                    Ok(v) => Tok::Int(v),
                    // A digit run too long for a number is a word: NPLab writes Fast Open
                    // cookies as bare hex digits (`FO 0203040506070809101112`); where a
                    // number is expected the parser reports it.
                    Err(_) if c != b'-' => Tok::Word(text[start..i].to_string()),
                    Err(_) => {
                        return Err(err(
                            start_line,
                            format!("number '{}' out of range", &text[start..i]),
                        ));
                    }
                }
            }
        } else if is_word_char(c) {
            while i < b.len() && is_word_char(b[i]) {
                i += 1;
            }
            Tok::Word(text[start..i].to_string())
        } else {
            // Any other character (UTF-8 aware) is punctuation.
            let ch = text[i..].chars().next().unwrap_or('?');
            i += ch.len_utf8();
            Tok::Punct(ch)
        };
        out.push(Token {
            tok,
            line: start_line,
            start,
            end: i,
        });
    }
    Ok(out)
}
