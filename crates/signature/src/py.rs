//! Small helpers that reproduce the Python string semantics Socorro's signature
//! code relies on (`str.strip()`, `str.splitlines()`, `str()` of JSON values,
//! `int()`, truthiness). Signature parity depends on these details.

use std::fmt::Write as _;

use serde_json::Value;

/// `str.isspace()`: Unicode `White_Space` plus the ASCII separators 0x1c-0x1f.
#[inline]
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `str.strip()` with no argument.
#[inline]
pub(crate) fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// `str.splitlines()` (no `keepends`).
pub(crate) fn splitlines(s: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut iter = s.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\u{0b}'
                | '\u{0c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if !is_break {
            continue;
        }
        lines.push(&s[start..i]);
        let mut next = i + c.len_utf8();
        if c == '\r'
            && let Some(&(j, '\n')) = iter.peek()
        {
            next = j + 1;
            iter.next();
        }
        start = next;
    }
    if start < s.len() {
        lines.push(&s[start..]);
    }
    lines
}

/// Keeps only ASCII 32..=126, like Socorro's `drop_bad_characters`.
pub(crate) fn drop_bad_characters(s: &str) -> String {
    s.chars().filter(|c| (' '..='~').contains(c)).collect()
}

/// First `n` code points of `s` (Python `s[:n]`).
pub(crate) fn prefix_chars(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A JSON scalar (or container) as Python sees it after `json.loads`: enough
/// to reproduce `str(value)` and truthiness.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A string.
    Str(String),
    /// An integer.
    Int(i128),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A JSON array (Python `list`), kept as its Python `repr` and length.
    List {
        /// Python `repr()` of the list.
        repr: String,
        /// Number of elements.
        len: usize,
    },
    /// A JSON object (Python `dict`), kept as its Python `repr` and length.
    Dict {
        /// Python `repr()` of the dict.
        repr: String,
        /// Number of entries.
        len: usize,
    },
}

impl Scalar {
    /// Converts a JSON value; `null` becomes `None` (Python's `.get()` cannot
    /// tell a missing key from `None` either).
    pub fn from_json(value: &Value) -> Option<Self> {
        Some(match value {
            Value::Null => return None,
            Value::Bool(b) => Self::Bool(*b),
            Value::Number(n) => number_scalar(n),
            Value::String(s) => Self::Str(s.clone()),
            Value::Array(items) => Self::List {
                repr: repr(value),
                len: items.len(),
            },
            Value::Object(map) => Self::Dict {
                repr: repr(value),
                len: map.len(),
            },
        })
    }

    /// Python truthiness.
    #[inline]
    pub fn truthy(&self) -> bool {
        match self {
            Self::Str(s) => !s.is_empty(),
            Self::Int(i) => *i != 0,
            Self::Float(f) => *f != 0.0,
            Self::Bool(b) => *b,
            Self::List { len, .. } | Self::Dict { len, .. } => *len > 0,
        }
    }

    /// Python `str(value)`.
    pub fn py_str(&self) -> String {
        match self {
            Self::Str(s) => s.clone(),
            Self::Int(i) => i.to_string(),
            Self::Float(f) => float_repr(*f),
            Self::Bool(true) => "True".to_owned(),
            Self::Bool(false) => "False".to_owned(),
            Self::List { repr, .. } | Self::Dict { repr, .. } => repr.clone(),
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Python's type name, for error notes (`'int' object is not subscriptable`).
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Self::Str(_) => "str",
            Self::Int(_) => "int",
            Self::Float(_) => "float",
            Self::Bool(_) => "bool",
            Self::List { .. } => "list",
            Self::Dict { .. } => "dict",
        }
    }
}

impl From<&str> for Scalar {
    fn from(s: &str) -> Self {
        Self::Str(s.to_owned())
    }
}

impl From<String> for Scalar {
    fn from(s: String) -> Self {
        Self::Str(s)
    }
}

impl From<i64> for Scalar {
    fn from(i: i64) -> Self {
        Self::Int(i128::from(i))
    }
}

fn number_scalar(n: &serde_json::Number) -> Scalar {
    if let Some(i) = n.as_i64() {
        Scalar::Int(i128::from(i))
    } else if let Some(u) = n.as_u64() {
        Scalar::Int(i128::from(u))
    } else {
        Scalar::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Python `repr(float)`: shortest round-trip digits, exponent form outside
/// `1e-4 <= |x| < 1e16`.
pub(crate) fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let plain = format!("{f}");
        if plain.contains('.') {
            plain
        } else {
            plain + ".0"
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// Python `repr()` of a JSON value as loaded by `json.loads`.
pub(crate) fn repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(value, &mut out);
    out
}

fn write_repr(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => out.push_str(&number_scalar(n).py_str()),
        Value::String(s) => write_str_repr(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str_repr(k, out);
                out.push_str(": ");
                write_repr(v, out);
            }
            out.push('}');
        }
    }
}

/// Python `repr(str)` (close enough: quote choice and the common escapes).
pub(crate) fn write_str_repr(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// Python `int(value)` for the values `get_crashing_thread` and
/// `int_or_none` see; `None` where Python raises `TypeError`/`ValueError`.
pub(crate) fn py_int(value: &Scalar) -> Option<i128> {
    match value {
        Scalar::Int(i) => Some(*i),
        Scalar::Bool(b) => Some(i128::from(*b)),
        Scalar::Float(f) if f.is_finite() => {
            // Saturating truncation; finite floats beyond i128 are absurd here.
            #[allow(clippy::cast_possible_truncation)]
            Some(f.trunc() as i128)
        }
        Scalar::Str(s) => parse_py_int(s),
        _ => None,
    }
}

/// `int(str)` in base 10: surrounding whitespace, a sign, digits with single
/// underscores between them. Saturates instead of growing without bound.
fn parse_py_int(s: &str) -> Option<i128> {
    let s = strip(s);
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
        return None;
    }
    let mut value: i128 = 0;
    let mut prev_underscore = false;
    for c in digits.chars() {
        if c == '_' {
            if prev_underscore {
                return None;
            }
            prev_underscore = true;
            continue;
        }
        prev_underscore = false;
        let d = c.to_digit(10)?;
        value = value.saturating_mul(10).saturating_add(i128::from(d));
    }
    Some(if negative { -value } else { value })
}

/// Socorro's `strip_leading_zeros`: `hex(int(text, 16))`, or the text itself
/// when it does not parse as hex.
pub(crate) fn strip_leading_zeros(text: &str, out: &mut String) {
    let s = strip(text);
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let body = rest
        .strip_prefix("0x")
        .or_else(|| rest.strip_prefix("0X"))
        .map(|b| b.strip_prefix('_').unwrap_or(b))
        .unwrap_or(rest);
    let valid = !body.is_empty()
        && !body.starts_with('_')
        && !body.ends_with('_')
        && !body.contains("__")
        && body.bytes().all(|b| b.is_ascii_hexdigit() || b == b'_');
    if !valid {
        out.push_str(text);
        return;
    }
    let digits = body.trim_start_matches(['0', '_']);
    if digits.is_empty() {
        out.push_str("0x0");
        return;
    }
    if negative {
        out.push('-');
    }
    out.push_str("0x");
    out.extend(
        digits
            .chars()
            .filter(|c| *c != '_')
            .map(|c| c.to_ascii_lowercase()),
    );
}

/// Walks `a.b.0.c`-style paths like `glom(..., default=None)`.
pub(crate) fn glom<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = value;
    for part in path {
        cur = match cur {
            Value::Object(map) => map.get(*part)?,
            Value::Array(items) => {
                let idx: i64 = part.parse().ok()?;
                let idx = if idx < 0 {
                    i64::try_from(items.len()).ok()? + idx
                } else {
                    idx
                };
                items.get(usize::try_from(idx).ok()?)?
            }
            _ => return None,
        };
    }
    Some(cur)
}

/// Python truthiness of a JSON value.
pub(crate) fn json_truthy(value: &Value) -> bool {
    Scalar::from_json(value).is_some_and(|s| s.truthy())
}

/// Python type name of a JSON value.
pub(crate) fn json_type_name(value: &Value) -> &'static str {
    Scalar::from_json(value).map_or("NoneType", |s| s.type_name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitlines_like_python() {
        assert_eq!(splitlines("a\nb\r\nc\rd"), ["a", "b", "c", "d"]);
        assert_eq!(splitlines("a\n"), ["a"]);
        assert_eq!(splitlines("\n"), [""]);
        assert!(splitlines("").is_empty());
    }

    #[test]
    fn strip_leading_zeros_cases() {
        for (input, expected) in [
            ("0x32ec0", "0x32ec0"),
            ("0x0000000000032ec0", "0x32ec0"),
            ("40", "0x40"),
            ("0x0", "0x0"),
            ("0xABC", "0xabc"),
            ("zz", "zz"),
            ("", ""),
            ("-0x10", "-0x10"),
        ] {
            let mut out = String::new();
            strip_leading_zeros(input, &mut out);
            assert_eq!(out, expected, "{input}");
        }
    }

    #[test]
    fn py_int_cases() {
        assert_eq!(py_int(&Scalar::from("5")), Some(5));
        assert_eq!(py_int(&Scalar::from(" -5 ")), Some(-5));
        assert_eq!(py_int(&Scalar::from("1_000")), Some(1000));
        assert_eq!(py_int(&Scalar::from("")), None);
        assert_eq!(py_int(&Scalar::from("5.0")), None);
        assert_eq!(py_int(&Scalar::Float(5.9)), Some(5));
        assert_eq!(py_int(&Scalar::Bool(true)), Some(1));
    }

    #[test]
    fn float_repr_cases() {
        assert_eq!(float_repr(1.0), "1.0");
        assert_eq!(float_repr(0.1), "0.1");
        assert_eq!(float_repr(1e16), "1e+16");
        assert_eq!(float_repr(1.5e-5), "1.5e-05");
        assert_eq!(float_repr(123.25), "123.25");
    }

    #[test]
    fn repr_cases() {
        let v: Value = serde_json::json!([1, "a", null, {"k": true}]);
        assert_eq!(repr(&v), "[1, 'a', None, {'k': True}]");
    }
}
