//! Translates Python `re` patterns (the syntax signature lists are written
//! in) into `regex` crate syntax with the same meaning.
//!
//! Differences that matter for real lists, and how they are handled:
//! * `\<` and `\>` are literal `<`/`>` in Python but word boundaries in
//!   `regex`: emitted as literals.
//! * `{` that does not start a valid `{m,n}` quantifier is a literal in
//!   Python (`{{closure}}`, `{virtual override thunk}`): escaped.
//! * `{,n}` means `{0,n}` in Python.
//! * `$` also matches before a final `\n` in Python: emitted as `(?:\n?\z)`.
//! * `\Z` is `\z`.
//! * inside `[...]`, `[`, `&&`, `--` and `~~` are literals in Python but set
//!   syntax in `regex`: every punctuation character in a class is escaped.
//!
//! Constructs `regex` cannot express (backreferences, look-around,
//! possessive quantifiers, the `a`/`L` flags) are reported as errors.

use std::iter::Peekable;
use std::str::Chars;

/// Translates one Python pattern. The error is a human-readable reason.
pub(crate) fn translate(py: &str) -> Result<String, String> {
    let multiline = leading_flags(py).contains('m');
    let mut out = String::with_capacity(py.len() + 8);
    let mut it = py.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' => emit(escape(&mut it, false)?, &mut out),
            '[' => class(&mut it, &mut out)?,
            '{' => brace(&mut it, &mut out)?,
            '}' => out.push_str("\\}"),
            ']' => out.push_str("\\]"),
            '$' if !multiline => out.push_str("(?:\\n?\\z)"),
            '(' if it.peek() == Some(&'?') => group(&mut it, &mut out)?,
            '+' if last_was_quantifier(&out) => {
                return Err("possessive quantifiers are not supported".to_owned());
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

fn leading_flags(py: &str) -> &str {
    py.strip_prefix("(?")
        .and_then(|rest| {
            let end = rest.find([')', ':', '-'])?;
            let flags = &rest[..end];
            flags
                .chars()
                .all(|c| "aiLmsux".contains(c))
                .then_some(flags)
        })
        .unwrap_or("")
}

fn last_was_quantifier(out: &str) -> bool {
    // `a*+`, `a++`, `a?+` and `a{2}+` are possessive in Python 3.11.
    let bytes = out.as_bytes();
    match bytes.last() {
        Some(b'*' | b'+' | b'?') => !ends_escaped(out),
        Some(b'}') => !ends_escaped(out),
        _ => false,
    }
}

fn ends_escaped(out: &str) -> bool {
    let bytes = out.as_bytes();
    let mut n = 0;
    let mut i = bytes.len().saturating_sub(1);
    while i > 0 && bytes[i - 1] == b'\\' {
        n += 1;
        i -= 1;
    }
    n % 2 == 1
}

fn push_literal(c: char, out: &mut String) {
    // Escape exactly the characters `regex` treats specially (in or out of
    // classes); `\<` and `\>` would be word boundaries, so never escape others.
    if "\\.+*?()|[]{}^$#&-~".contains(c) {
        out.push('\\');
        out.push(c);
    } else if c.is_control() {
        out.push_str(&format!("\\x{{{:x}}}", c as u32));
    } else {
        out.push(c);
    }
}

fn hex_digits(it: &mut Peekable<Chars<'_>>, n: usize, what: char) -> Result<char, String> {
    let mut v: u32 = 0;
    for _ in 0..n {
        let d = it
            .next()
            .and_then(|c| c.to_digit(16))
            .ok_or_else(|| format!("incomplete escape \\{what}"))?;
        v = v * 16 + d;
    }
    char::from_u32(v).ok_or_else(|| format!("bad escape \\{what}: invalid code point"))
}

fn octal(first: u32, it: &mut Peekable<Chars<'_>>, max_more: usize) -> Result<char, String> {
    let mut v = first;
    for _ in 0..max_more {
        match it.peek().and_then(|c| c.to_digit(8)) {
            Some(d) => {
                v = v * 8 + d;
                it.next();
            }
            None => break,
        }
    }
    if v > 0o377 {
        return Err("octal escape value outside of range 0-0o377".to_owned());
    }
    char::from_u32(v).ok_or_else(|| "bad octal escape".to_owned())
}

enum Esc {
    /// A single literal character.
    Char(char),
    /// Already-translated `regex` syntax (`\\d`, `\\b`, ...).
    Raw(&'static str),
}

fn emit(esc: Esc, out: &mut String) {
    match esc {
        Esc::Char(c) => push_literal(c, out),
        Esc::Raw(r) => out.push_str(r),
    }
}

/// Handles the character after a backslash. In a class, `\b` is backspace.
fn escape(it: &mut Peekable<Chars<'_>>, in_class: bool) -> Result<Esc, String> {
    let c = it
        .next()
        .ok_or_else(|| "bad escape (end of pattern)".to_owned())?;
    Ok(match c {
        'd' => Esc::Raw("\\d"),
        'D' => Esc::Raw("\\D"),
        'w' => Esc::Raw("\\w"),
        'W' => Esc::Raw("\\W"),
        's' => Esc::Raw("\\s"),
        'S' => Esc::Raw("\\S"),
        'n' => Esc::Char('\n'),
        't' => Esc::Char('\t'),
        'r' => Esc::Char('\r'),
        'f' => Esc::Char('\u{c}'),
        'v' => Esc::Char('\u{b}'),
        'a' => Esc::Char('\u{7}'),
        'b' if in_class => Esc::Char('\u{8}'),
        'b' => Esc::Raw("\\b"),
        'B' if !in_class => Esc::Raw("\\B"),
        'A' if !in_class => Esc::Raw("\\A"),
        'Z' if !in_class => Esc::Raw("\\z"),
        'x' => Esc::Char(hex_digits(it, 2, 'x')?),
        'u' => Esc::Char(hex_digits(it, 4, 'u')?),
        'U' => Esc::Char(hex_digits(it, 8, 'U')?),
        '0' => Esc::Char(octal(0, it, 2)?),
        '1'..='9' => {
            let d = c.to_digit(10).unwrap_or(0);
            // Three octal digits make an octal escape; anything else is a
            // backreference (outside classes) or an error (inside).
            let mut probe = it.clone();
            let second = probe.next().and_then(|c| c.to_digit(8));
            let third = probe.next().and_then(|c| c.to_digit(8));
            if d < 8 && (in_class || (second.is_some() && third.is_some())) {
                Esc::Char(octal(d, it, 2)?)
            } else if in_class {
                return Err(format!("bad escape \\{c}"));
            } else {
                return Err("backreferences are not supported".to_owned());
            }
        }
        c if c.is_ascii_alphabetic() => return Err(format!("bad escape \\{c}")),
        c => Esc::Char(c),
    })
}

/// After `[`: copies a character class, escaping punctuation.
fn class(it: &mut Peekable<Chars<'_>>, out: &mut String) -> Result<(), String> {
    const UNTERMINATED: &str = "unterminated character set";
    out.push('[');
    if it.peek() == Some(&'^') {
        it.next();
        out.push('^');
    }
    let mut first = true;
    loop {
        let c = it.next().ok_or_else(|| UNTERMINATED.to_owned())?;
        if c == ']' && !first {
            break;
        }
        first = false;
        let atom = if c == '\\' {
            escape(it, true)?
        } else {
            Esc::Char(c)
        };
        let is_range = {
            let mut probe = it.clone();
            probe.next() == Some('-') && probe.peek().is_some_and(|n| *n != ']')
        };
        match atom {
            Esc::Char(start) if is_range => {
                it.next(); // '-'
                let e = it.next().ok_or_else(|| UNTERMINATED.to_owned())?;
                let end = if e == '\\' {
                    escape(it, true)?
                } else {
                    Esc::Char(e)
                };
                let Esc::Char(end) = end else {
                    return Err("bad character range".to_owned());
                };
                if end < start {
                    return Err("bad character range".to_owned());
                }
                push_literal(start, out);
                out.push('-');
                push_literal(end, out);
            }
            atom => emit(atom, out),
        }
    }
    out.push(']');
    Ok(())
}

/// After `{`: a quantifier `{m}`, `{m,}`, `{,n}`, `{m,n}` or a literal `{`.
fn brace(it: &mut Peekable<Chars<'_>>, out: &mut String) -> Result<(), String> {
    let mut probe = it.clone();
    let mut lo = String::new();
    while let Some(c) = probe.peek().copied().filter(char::is_ascii_digit) {
        lo.push(c);
        probe.next();
    }
    let mut hi = None;
    if probe.peek() == Some(&',') {
        probe.next();
        let mut h = String::new();
        while let Some(c) = probe.peek().copied().filter(char::is_ascii_digit) {
            h.push(c);
            probe.next();
        }
        hi = Some(h);
    }
    let is_quantifier = probe.peek() == Some(&'}') && (!lo.is_empty() || hi.is_some());
    if !is_quantifier {
        out.push_str("\\{");
        return Ok(());
    }
    probe.next();
    *it = probe;
    let lo = if lo.is_empty() { "0".to_owned() } else { lo };
    match hi {
        None => out.push_str(&format!("{{{lo}}}")),
        Some(h) if h.is_empty() => out.push_str(&format!("{{{lo},}}")),
        Some(h) => out.push_str(&format!("{{{lo},{h}}}")),
    }
    Ok(())
}

/// After `(` when the next char is `?`.
fn group(it: &mut Peekable<Chars<'_>>, out: &mut String) -> Result<(), String> {
    it.next(); // '?'
    match it.peek().copied() {
        Some(':') => {
            it.next();
            out.push_str("(?:");
        }
        Some('P') => {
            let mut probe = it.clone();
            probe.next();
            if probe.peek() == Some(&'=') {
                return Err("backreferences are not supported".to_owned());
            }
            it.next();
            out.push_str("(?P");
        }
        Some('<') => {
            let mut probe = it.clone();
            probe.next();
            if matches!(probe.peek(), Some('=' | '!')) {
                return Err("look-behind is not supported".to_owned());
            }
            it.next();
            out.push_str("(?<");
        }
        Some('=' | '!') => return Err("look-ahead is not supported".to_owned()),
        Some('(') => return Err("conditional groups are not supported".to_owned()),
        Some('#') => {
            for c in it.by_ref() {
                if c == ')' {
                    return Ok(());
                }
            }
            return Err("missing ), unterminated comment".to_owned());
        }
        _ => {
            out.push_str("(?");
            while let Some(&c) = it.peek() {
                match c {
                    'i' | 'm' | 's' | 'x' | '-' => out.push(c),
                    'u' => {}
                    'a' | 'L' => return Err(format!("the '{c}' flag is not supported")),
                    ')' | ':' => {
                        out.push(c);
                        it.next();
                        return Ok(());
                    }
                    c => return Err(format!("unknown extension ?{c}")),
                }
                it.next();
            }
            return Err("missing ), unterminated subpattern".to_owned());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::translate;

    fn matches(py: &str, text: &str) -> bool {
        let rs = translate(py).unwrap();
        regex::Regex::new(&format!("^(?:{rs})"))
            .unwrap()
            .is_match(text)
    }

    #[test]
    fn python_isms() {
        assert!(matches(r"\<name omitted\>", "<name omitted>"));
        assert!(matches(
            r"{virtual override thunk}",
            "{virtual override thunk}"
        ));
        assert!(matches(
            r"<env_logger::Logger as log::Log>::log::{{closure}}",
            "<env_logger::Logger as log::Log>::log::{{closure}}"
        ));
        assert!(matches(r"a{,2}b", "aab"));
        assert!(matches(r"handle_error$", "handle_error"));
        assert!(matches(r"handle_error$", "handle_error\n"));
        assert!(!matches(r"handle_error$", "handle_errorf"));
        assert!(matches(r"[[x]", "["));
        assert!(matches(r"[a&&b]", "&"));
        assert!(matches(
            r"<core::ops::range::Range<usize> as core::slice::index::SliceIndex<\[T\]>>::index",
            "<core::ops::range::Range<usize> as core::slice::index::SliceIndex<[T]>>::index"
        ));
        assert!(matches(
            r"[-+]\[NSException raise(:format:(arguments:)?)?\]",
            "+[NSException raise:format:]"
        ));
        assert!(matches(
            r"(Nt|Zw)?WaitForSingleObject(Ex)?",
            "ZwWaitForSingleObjectEx"
        ));
        assert!(matches(r"[]a]", "]"));
        assert!(matches(r"[a-c]", "b"));
        assert!(matches(r"[a-]", "-"));
        assert!(matches(r"\x41", "A"));
        assert!(matches(r"\101", "A"));
    }

    #[test]
    fn errors() {
        assert!(translate(r"lol[wut\]").is_err());
        assert!(translate(r"(a)\1").is_err());
        assert!(translate(r"(?=a)").is_err());
        assert!(translate(r"\q").is_err());
        assert!(translate("a\\").is_err());
    }
}
