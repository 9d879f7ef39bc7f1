//! Frame normalisation for C, C++ and Rust frames (the first half of
//! Socorro's `CSignatureTool`).
//!
//! Every helper here works on byte offsets of ASCII delimiters, so slicing
//! never splits a UTF-8 character.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use crate::crash_data::{Frame, InlineFrame, Thread};
use crate::py::{self, Scalar};
use crate::result::NormalizedFrames;
use crate::siglists::SigLists;

/// HEAD's normaliser, kept verbatim for differential tests.
#[cfg(test)]
mod reference;

/// Socorro's `MAXIMUM_FRAMES_TO_CONSIDER`: frames (inlines included) looked at.
pub const MAXIMUM_FRAMES_TO_CONSIDER: usize = 40;

/// Python's default recursion limit, hit by absurdly nested `IPC::ParamTraits<`.
const MAX_NESTING: usize = 900;

/// Normalisation failed the way Socorro's Python code raises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NormalizeError {
    /// `IndexError` from `drop_prefix_and_return_type("")`.
    EmptyFunction,
    /// `RecursionError` from deeply nested `IPC::ParamTraits<...>`.
    TooDeep,
}

impl NormalizeError {
    pub(crate) fn python_message(&self) -> &'static str {
        match self {
            Self::EmptyFunction => "list index out of range",
            Self::TooDeep => "maximum recursion depth exceeded while calling a Python object",
        }
    }
}

/// `::$_<digits>::` (lambda numbers; `\d` is Unicode like Python's).
static LAMBDA_NUMBER: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"::\$_\d+::").ok());

/// `::operator`, found by its `p` (a rare byte in names).
const OPERATOR: (&[u8], usize) = (b"::operator", 3);
/// `` `anonymous namespace' ``, found by its backtick.
const ANONYMOUS_NAMESPACE: (&[u8], usize) = (b"`anonymous namespace'", 0);
/// `clone .cold`, found by its `.` (a rare byte in names).
const CLONE_COLD: (&[u8], usize) = (b"clone .cold", 6);

/// The first position at or after `from` where `needle` occurs in `hay`,
/// given that `needle[offset] == RARE`: only the (few) `RARE` bytes are
/// checked, which for short names beats a general substring searcher.
fn find_by<const RARE: u8>(
    hay: &[u8],
    (needle, offset): (&[u8], usize),
    from: usize,
) -> Option<usize> {
    let rest = hay.get(from + offset..)?;
    let mut found = None;
    find_each2::<RARE, RARE>(rest, |i| {
        let at = from + i;
        let hit = hay[at..].starts_with(needle);
        if hit {
            found = Some(at);
        }
        hit
    });
    found
}

const M_SPACE: u8 = 1;
const M_TICK: u8 = 2;
const M_DOLLAR: u8 = 4;
const M_LT: u8 = 8;
const M_PAREN: u8 = 16;
const M_BRACKET: u8 = 32;

/// Flags of the bytes that trigger C++ normalisation steps (branch-free so
/// the compiler vectorises it).
fn byte_mask(bytes: &[u8]) -> u8 {
    bytes
        .iter()
        .fold(0u8, |m, &b| m | BYTE_MASK[usize::from(b)])
}

static BYTE_MASK: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b' ' as usize] = M_SPACE;
    t[b'`' as usize] = M_TICK;
    t[b'$' as usize] = M_DOLLAR;
    t[b'<' as usize] = M_LT;
    t[b'(' as usize] = M_PAREN;
    t[b'[' as usize] = M_BRACKET;
    t
};

/// Byte classes for [`drop_prefix_and_return_type_with`]: 0 ordinary,
/// 1 opener, 2 closer, 3 space.
static DELIMITER_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'(' as usize] = 1;
    t[b'{' as usize] = 1;
    t[b'[' as usize] = 1;
    t[b'<' as usize] = 1;
    t[b'`' as usize] = 1;
    t[b')' as usize] = 2;
    t[b'}' as usize] = 2;
    t[b']' as usize] = 2;
    t[b'>' as usize] = 2;
    t[b'\'' as usize] = 2;
    t[b' ' as usize] = 3;
    t
};

/// The opener each closer of [`DELIMITER_CLASS`] matches.
static MATCHING_OPENER: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b')' as usize] = b'(';
    t[b'}' as usize] = b'{';
    t[b']' as usize] = b'[';
    t[b'>' as usize] = b'<';
    t[b'\'' as usize] = b'`';
    t
};

/// Socorro's `parse_source_file`: the path part of a VCS-style source file.
pub fn parse_source_file(file: &str) -> Option<&str> {
    if file.is_empty() {
        return None;
    }
    let mut colons = [0usize; 4];
    let mut count = 0;
    for i in memchr_iter(b':', file.as_bytes()) {
        if count == 4 {
            count += 1;
            break;
        }
        colons[count] = i;
        count += 1;
    }
    match count {
        3 => Some(&file[colons[1] + 1..colons[2]]),
        1 => Some(&file[colons[0] + 1..]),
        _ if file.starts_with('/') => Some(file),
        _ => None,
    }
}

/// Bug 1544246: Rust 1.34 panic symbols lack their module path. The source
/// file is parsed only for the few function names concerned.
fn fix_missing_module<'a>(file: Option<&str>, function: &'a str) -> &'a str {
    let (path, fixed) = match function {
        "capacity_overflow" => (
            "src/liballoc/raw_vec.rs",
            "alloc::raw_vec::capacity_overflow",
        ),
        "expect_failed" => ("src/libcore/option.rs", "core::option::expect_failed"),
        "panic_bounds_check" => (
            "src/libcore/panicking.rs",
            "core::panicking::panic_bounds_check",
        ),
        "panic_fmt" => ("src/libcore/panicking.rs", "core::panicking::panic_fmt"),
        "panic" => ("src/libcore/panicking.rs", "core::panicking::panic"),
        "slice_index_order_fail" => (
            "src/libcore/slice/mod.rs",
            "core::slice::slice_index_order_fail",
        ),
        "begin_panic_fmt" => ("src/libstd/panicking.rs", "std::panicking::begin_panic_fmt"),
        "continue_panic_fmt" => (
            "src/libstd/panicking.rs",
            "std::panicking::continue_panic_fmt",
        ),
        "rust_panic_with_hook" => (
            "src/libstd/panicking.rs",
            "std::panicking::rust_panic_with_hook",
        ),
        _ => return function,
    };
    if file.and_then(parse_source_file) == Some(path) {
        fixed
    } else {
        function
    }
}

/// Whether [`parse_source_file`] gives a path ending in `.rs`. The path is
/// either a suffix of `file` or ends just before its last `:` (the
/// `vcs:repo:path:revision` form), so most files are ruled out without
/// parsing them.
fn is_rust_source(file: &str) -> bool {
    let maybe = file.ends_with(".rs")
        || memchr::memrchr(b':', file.as_bytes()).is_some_and(|c| file[..c].ends_with(".rs"));
    maybe && parse_source_file(file).is_some_and(|p| p.ends_with(".rs"))
}

/// Byte ranges `[start, end)` of top-level `OPEN ... CLOSE` slices; an
/// unterminated slice runs to the end (Socorro's `find_enclosed_slices`).
/// The delimiters are constants so that [`find_each2`] can look for both
/// 16 bytes at a time.
fn enclosed_slices<const OPEN: u8, const CLOSE: u8>(s: &str, mut f: impl FnMut(usize, usize)) {
    let bytes = s.as_bytes();
    let mut level = 0usize;
    let mut start = 0;
    find_each2::<OPEN, CLOSE>(bytes, |i| {
        if bytes[i] == OPEN {
            if level == 0 {
                start = i;
            }
            level += 1;
        } else if level > 0 {
            level -= 1;
            if level == 0 {
                f(start, i + 1);
            }
        }
        false
    });
    if level > 0 {
        f(start, bytes.len());
    }
}

/// Socorro's `replace_enclosed_slices`: `replace(before, inside, out)` writes
/// the replacement of each slice; `before` is the text since the last slice.
fn replace_enclosed<const OPEN: u8, const CLOSE: u8, E>(
    s: &str,
    out: &mut String,
    mut replace: impl FnMut(&str, &str, &mut String) -> Result<(), E>,
) -> Result<(), E> {
    let mut prev = 0;
    let mut result = Ok(());
    enclosed_slices::<OPEN, CLOSE>(s, |start, end| {
        if result.is_err() {
            return;
        }
        let before = &s[prev..start];
        out.push_str(before);
        result = replace(before, &s[start..end], out);
        prev = end;
    });
    result?;
    out.push_str(&s[prev..]);
    Ok(())
}

/// `s[1:-1]` on an enclosed slice (drops the opener and the last code point).
fn strip_outer(inside: &str) -> &str {
    let body = &inside[1..];
    match body.char_indices().last() {
        Some((i, _)) => &body[..i],
        None => "",
    }
}

/// Socorro's `collapse_types` for C++: `<...>` becomes `<T>` except for
/// `<name omitted>`, ` as `/` in ` contents, text after `operator`, and
/// `IPC::ParamTraits<...>` (collapsed recursively).
fn collapse_types_cpp(s: &str, out: &mut String, depth: usize) -> Result<(), NormalizeError> {
    if depth > MAX_NESTING {
        return Err(NormalizeError::TooDeep);
    }
    // At the top level the caller has checked for `<` (and without one the
    // replacement below only copies).
    if depth > 0 && memchr::memchr(b'<', s.as_bytes()).is_none() {
        out.push_str(s);
        return Ok(());
    }
    replace_enclosed::<b'<', b'>', _>(s, out, |before, inside, out| {
        if inside == "<name omitted>" || contains_as_or_in(inside) || before.ends_with("operator") {
            out.push_str(inside);
        } else if before.ends_with("IPC::ParamTraits") {
            out.push('<');
            collapse_types_cpp(strip_outer(inside), out, depth + 1)?;
            out.push('>');
        } else {
            out.push_str("<T>");
        }
        Ok(())
    })
}

/// `s.contains(" as ")` (no substring searcher to build for a short slice).
fn contains_as(s: &str) -> bool {
    let bytes = s.as_bytes();
    find_each2::<b' ', b' '>(bytes, |i| bytes.get(i + 1..i + 4) == Some(b"as "))
}

/// `s.contains(" as ") || s.contains(" in ")` in one pass over the spaces
/// (no substring searcher to build for these short slices).
fn contains_as_or_in(s: &str) -> bool {
    let bytes = s.as_bytes();
    find_each2::<b' ', b' '>(bytes, |i| {
        matches!(
            bytes.get(i + 1..i + 4),
            Some([b'a', b's', b' '] | [b'i', b'n', b' '])
        )
    })
}

/// Socorro's `collapse_arguments`: drops `(...)` except `(anonymous
/// namespace)` and text after `operator`.
fn collapse_arguments_cpp(s: &str, out: &mut String) {
    if memchr::memchr(b'(', s.as_bytes()).is_none() {
        out.push_str(s);
        return;
    }
    let _ = replace_enclosed::<b'(', b')', ()>(s, out, |before, inside, out| {
        if inside == "(anonymous namespace)" || before.ends_with("operator") {
            out.push_str(inside);
        }
        Ok(())
    });
}

fn drop_all_enclosed<const OPEN: u8, const CLOSE: u8>(s: &str, out: &mut String) {
    let _ = replace_enclosed::<OPEN, CLOSE, ()>(s, out, |_, _, _| Ok(()));
}

/// Socorro's `drop_prefix_and_return_type`: splits on spaces outside
/// `()`, `{}`, `[]`, `<>` and `` `' `` and keeps the last token (joined with
/// a following `(...)` or `[clone ...]` token). `None` for an empty string.
#[cfg(test)]
pub(crate) fn drop_prefix_and_return_type(function: &str) -> Option<&str> {
    drop_prefix_and_return_type_with(function, &mut Vec::new())
}

/// Bit `j` set when byte `j` of `chunk` is one of the delimiters of
/// [`DELIMITER_CLASS`] (compiled to a handful of SIMD compares).
#[inline]
fn delimiter_bits(chunk: &[u8; 16]) -> u32 {
    let mut flags = [0u8; 16];
    for (flag, &b) in flags.iter_mut().zip(chunk) {
        // `(`/`)`, `<`/`>`, `[`/`{`, `]`/`}`, backtick, quote, space.
        let d = ((b & 0xFE) == b'(')
            | ((b & 0xFD) == b'<')
            | ((b & 0xDF) == b'[')
            | ((b & 0xDF) == b']')
            | (b == b'`')
            | (b == b'\'')
            | (b == b' ');
        *flag = u8::from(d);
    }
    gather_flags(flags)
}

/// Bit `j` set when `flags[j]` is 1 (each flag is 0 or 1): the multiply
/// gathers the low bit of each of 8 bytes into the top byte (the partial
/// products are distinct powers of two, so nothing carries into it).
/// `black_box` keeps the compiler from fusing this with the compares that
/// made the flags, which it otherwise does badly.
#[inline]
fn gather_flags(flags: [u8; 16]) -> u32 {
    const GATHER: u64 = 0x0102_0408_1020_4080;
    let all = u128::from_le_bytes(std::hint::black_box(flags));
    let (lo, hi) = (all as u64, (all >> 64) as u64);
    let lo = (lo.wrapping_mul(GATHER) >> 56) as u32;
    let hi = (hi.wrapping_mul(GATHER) >> 56) as u32;
    lo | (hi << 8)
}

/// The 16 bytes to test for positions `base..` of `bytes` (`base` below
/// its length), as `(block, shift, valid)`: bit `j` of
/// `(bits(block) >> shift) & valid` stands for byte `base + j`. The last
/// block overlaps the one before it instead of being copied, unless
/// `bytes` is shorter than 16 (then it is copied into `padded`).
#[inline]
fn block<'b>(bytes: &'b [u8], base: usize, padded: &'b mut [u8; 16]) -> (&'b [u8; 16], u32, u32) {
    let rest = &bytes[base..];
    if let Some(chunk) = rest.first_chunk::<16>() {
        return (chunk, 0, u32::MAX);
    }
    if let Some(chunk) = bytes.last_chunk::<16>() {
        // `rest.len() < 16`, so the shift is 1 to 15.
        return (chunk, (16 - rest.len()) as u32, u32::MAX);
    }
    padded[..rest.len()].copy_from_slice(rest);
    (padded, 0, (1u32 << rest.len()) - 1)
}

/// Calls `f` with the index of each byte of `bytes` that is `X` or `Y`, in
/// order, until `f` returns `true`; says whether it did. Names are short, so
/// 16-byte blocks of SIMD compares beat a `memchr2` call per hit.
#[inline]
fn find_each2<const X: u8, const Y: u8>(bytes: &[u8], mut f: impl FnMut(usize) -> bool) -> bool {
    let mut base = 0;
    while base < bytes.len() {
        let mut padded = [0u8; 16];
        let (chunk, shift, valid) = block(bytes, base, &mut padded);
        let mut flags = [0u8; 16];
        for (flag, &b) in flags.iter_mut().zip(chunk) {
            *flag = u8::from(b == X) | u8::from(b == Y);
        }
        let mut bits = (gather_flags(flags) >> shift) & valid;
        while bits != 0 {
            let i = base + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if f(i) {
                return true;
            }
        }
        base += 16;
    }
    false
}

/// [`drop_prefix_and_return_type`] with a reusable level stack, in one
/// pass and without a token list: the result starts at the start of the
/// last top-level token, or of the token before it when that one starts
/// with `(` or `[clone` (and so on back), which is known when each token
/// starts. Delimiters are found 16 bytes at a time.
fn drop_prefix_and_return_type_with<'a>(
    function: &'a str,
    levels: &mut Vec<u8>,
) -> Option<&'a str> {
    if function.is_empty() {
        return None;
    }
    // Without a space the loop below finds nothing to drop (callers skip it
    // then).
    let bytes = function.as_bytes();
    levels.clear();
    // Start of the current token, and where the result starts if the
    // current token is the last one.
    let mut start = 0;
    let mut merged = 0;
    // The result if the current token turns out to be empty: the last
    // completed top-level token (merged).
    let mut last = (0, 0);
    let mut base = 0;
    while base < bytes.len() {
        let mut padded = [0u8; 16];
        let (chunk, shift, valid) = block(bytes, base, &mut padded);
        let mut bits = (delimiter_bits(chunk) >> shift) & valid;
        while bits != 0 {
            let i = base + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let b = bytes[i];
            match DELIMITER_CLASS[usize::from(b)] {
                1 => levels.push(b),
                2 => {
                    if levels.last() == Some(&MATCHING_OPENER[usize::from(b)]) {
                        levels.pop();
                    }
                }
                _ => {
                    if levels.is_empty() {
                        // Token `start..i` ends here; the next starts at `i + 1`.
                        last = (merged, i);
                        start = i + 1;
                        let rest = &bytes[start..];
                        if !(rest.first() == Some(&b'(') || rest.starts_with(b"[clone")) {
                            merged = start;
                        }
                    }
                }
            }
        }
        base += 16;
    }
    let (from, to) = if start < bytes.len() {
        (merged, bytes.len())
    } else {
        last
    };
    Some(&function[from..to])
}

/// Remove spaces before `*`, `&`, `,`; then make sure every comma is
/// followed by a space (Socorro's `fixup_space` and `fixup_comma`), in one
/// pass: a comma needs a space unless the next character left after the
/// first step is already one.
fn fixup_spaces_and_commas(s: &str, out: &mut String) {
    let bytes = s.as_bytes();
    let removable = |i: usize| matches!(bytes.get(i), Some(b'*' | b'&' | b','));
    let mut last = 0;
    find_each2::<b' ', b','>(bytes, |i| {
        if bytes[i] == b' ' {
            if removable(i + 1) {
                out.push_str(&s[last..i]);
                last = i + 1;
            }
        } else if bytes.get(i + 1) != Some(&b' ') || removable(i + 2) {
            out.push_str(&s[last..=i]);
            out.push(' ');
            last = i + 1;
        }
        false
    });
    out.push_str(&s[last..]);
}

fn memchr_iter(needle: u8, hay: &[u8]) -> memchr::Memchr<'_> {
    memchr::memchr_iter(needle, hay)
}

/// Appends `:<line>` when the function matches the line-number list, and
/// says whether it did (then the result depends on the line).
fn maybe_line_number(lists: &SigLists, function: &mut String, line: Option<&Scalar>) -> bool {
    if lists.line_numbers.matches(function) {
        function.push(':');
        match line {
            Some(l) => function.push_str(&l.py_str()),
            None => function.push_str("None"),
        }
        true
    } else {
        false
    }
}

/// Strips a trailing Rust symbol hash `::h<hex>` (Python `$` also allows a
/// final newline).
fn strip_rust_hash(s: &mut String) {
    let (body_len, newline) = match s.strip_suffix('\n') {
        Some(b) => (b.len(), true),
        None => (s.len(), false),
    };
    let body = &s[..body_len];
    // `rfind("::h")`: the last `h` preceded by `::`.
    let found = memchr::memrchr_iter(b'h', body.as_bytes())
        .find(|&h| h >= 2 && body.as_bytes()[h - 2..h] == *b"::")
        .map(|h| h - 2);
    if let Some(pos) = found {
        let hex = &body[pos + 3..];
        if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            s.replace_range(pos..body_len, "");
            if newline {
                debug_assert!(s.ends_with('\n'));
            }
        }
    }
}

/// Reusable buffers so normalising a frame allocates only its result.
pub(crate) struct Scratch {
    a: String,
    b: String,
    levels: Vec<u8>,
    /// The last normalised function.
    out: String,
    /// Whether the last normalised function got a line number appended.
    line_used: bool,
}

impl Scratch {
    /// Buffers big enough for typical frames, so they rarely grow.
    pub(crate) fn new() -> Self {
        Self {
            a: String::with_capacity(256),
            b: String::with_capacity(256),
            levels: Vec::with_capacity(16),
            out: String::with_capacity(256),
            line_used: false,
        }
    }
}

/// Socorro's `normalize_rust_function`, into `scratch.out`.
fn normalize_rust_function(
    lists: &SigLists,
    function: &str,
    line: Option<&Scalar>,
    scratch: &mut Scratch,
) {
    let Scratch {
        a,
        b,
        levels,
        out,
        line_used,
    } = scratch;
    // Which special bytes occur at all (later steps work on substrings, so
    // absence here means absence there; presence only costs a copy).
    let mask = byte_mask(function.as_bytes());
    let function = if mask & M_SPACE != 0 {
        drop_prefix_and_return_type_with(function, levels).unwrap_or("")
    } else {
        function
    };
    a.clear();
    if mask & M_LT != 0 {
        let _ = replace_enclosed::<b'<', b'>', ()>(function, a, |_, inside, out| {
            out.push_str(if contains_as(inside) { inside } else { "<T>" });
            Ok(())
        });
    } else {
        a.push_str(function);
    }
    b.clear();
    if mask & M_PAREN != 0 {
        drop_all_enclosed::<b'(', b')'>(a, b);
    } else {
        b.push_str(a);
    }
    *line_used = maybe_line_number(lists, b, line);
    out.clear();
    fixup_spaces_and_commas(b, out);
    strip_rust_hash(out);
}

/// Socorro's `normalize_cpp_function`, into `scratch.out`.
fn normalize_cpp_function(
    lists: &SigLists,
    function: &str,
    line: Option<&Scalar>,
    scratch: &mut Scratch,
) -> Result<(), NormalizeError> {
    let mut function = function;
    // Every qualifier ends in `t` or `&`: other names skip the loop (and
    // when nothing is stripped, no later qualifier can match either).
    if matches!(function.as_bytes().last(), Some(b't' | b'&')) {
        for qualifier in ["const", "const&", "const &", "&&", "&"] {
            if let Some(rest) = function.strip_suffix(qualifier) {
                function = py::strip(rest);
            }
        }
    }
    let Scratch {
        a,
        b,
        levels,
        out,
        line_used,
    } = scratch;
    // Which special bytes occur at all (later steps work on substrings, so
    // absence here means absence there).
    let mut mask = byte_mask(function.as_bytes());
    if function.is_empty() {
        return Err(NormalizeError::EmptyFunction);
    }
    if mask & M_SPACE != 0 {
        // Socorro skips this step for `::operator` names; the search for it
        // matters only when the step would drop something.
        let dropped = drop_prefix_and_return_type_with(function, levels)
            .ok_or(NormalizeError::EmptyFunction)?;
        if dropped.len() != function.len()
            && find_by::<b'p'>(function.as_bytes(), OPERATOR, 0).is_none()
        {
            function = dropped;
        }
    }
    let mut function: Cow<'_, str> = Cow::Borrowed(function);
    if mask & M_TICK != 0
        && let Some(first) = find_by::<b'`'>(function.as_bytes(), ANONYMOUS_NAMESPACE, 0)
    {
        // `str::replace` (leftmost, non-overlapping matches) without
        // building a substring searcher.
        let mut replaced = String::with_capacity(function.len());
        let mut last = 0;
        let mut next = Some(first);
        while let Some(at) = next {
            replaced.push_str(&function[last..at]);
            replaced.push_str("(anonymous namespace)");
            last = at + ANONYMOUS_NAMESPACE.0.len();
            next = find_by::<b'`'>(function.as_bytes(), ANONYMOUS_NAMESPACE, last);
        }
        replaced.push_str(&function[last..]);
        function = Cow::Owned(replaced);
        mask |= M_PAREN;
    }
    if mask & M_DOLLAR != 0
        && function.contains("::$_")
        && let Some(re) = LAMBDA_NUMBER.as_ref()
        && let Cow::Owned(replaced) = re.replace_all(&function, "::$$::")
    {
        function = Cow::Owned(replaced);
    }
    a.clear();
    if mask & M_LT != 0 {
        collapse_types_cpp(&function, a, 0)?;
    } else {
        a.push_str(&function);
    }
    b.clear();
    if mask & M_PAREN != 0 {
        collapse_arguments_cpp(a, b);
    } else {
        b.push_str(a);
    }
    // Without `[` there is nothing to drop, whatever the text says.
    if mask & M_BRACKET != 0 && find_by::<b'.'>(b.as_bytes(), CLONE_COLD, 0).is_some() {
        a.clear();
        drop_all_enclosed::<b'[', b']'>(b, a);
        std::mem::swap(a, b);
    }
    *line_used = maybe_line_number(lists, b, line);
    out.clear();
    fixup_spaces_and_commas(b, out);
    Ok(())
}

/// The inputs of Socorro's `normalize_frame` for one (possibly inline) frame.
struct FrameView<'a> {
    module: Option<&'a str>,
    function: Option<&'a str>,
    file: Option<&'a str>,
    line: Option<&'a Scalar>,
    offset: Option<&'a Scalar>,
    unloaded: Option<&'a str>,
    has_unloaded: bool,
}

impl<'a> FrameView<'a> {
    /// One of `frame`'s inline frames (its module and offset are the frame's).
    fn inline(frame: &'a Frame, inline: &'a InlineFrame) -> Self {
        Self {
            module: frame.module.as_deref(),
            function: inline.function.as_deref(),
            file: inline.file.as_deref(),
            line: inline.line.as_ref(),
            offset: frame.offset.as_ref(),
            unloaded: None,
            has_unloaded: false,
        }
    }

    /// The frame itself.
    fn outer(frame: &'a Frame) -> Self {
        Self {
            module: frame.module.as_deref(),
            function: frame.function.as_deref(),
            file: frame.file.as_deref(),
            line: frame.line.as_ref(),
            offset: frame.offset.as_ref(),
            unloaded: frame
                .unloaded_modules
                .first()
                .and_then(|u| u.module.as_deref()),
            has_unloaded: !frame.unloaded_modules.is_empty(),
        }
    }
}

fn truthy(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// The function as normalised (after the missing-module fix) and whether
/// the Rust rules apply: with the line (when the line-number list matches),
/// all a function frame's result depends on.
fn function_key<'a>(function: &'a str, file: Option<&str>) -> (&'a str, bool) {
    (
        fix_missing_module(file, function),
        file.is_some_and(is_rust_source),
    )
}

/// The function branch of [`normalize_frame`], into `scratch.out`; sets
/// `scratch.line_used`.
fn normalize_function_frame(
    lists: &SigLists,
    function: &str,
    is_rust: bool,
    line: Option<&Scalar>,
    scratch: &mut Scratch,
) -> Result<(), NormalizeError> {
    if is_rust {
        normalize_rust_function(lists, function, line, scratch);
        Ok(())
    } else {
        normalize_cpp_function(lists, function, line, scratch)
    }
}

/// Socorro's `normalize_frame`: function, else `file#line`, else module,
/// else `(unloaded <module>)`, else `@<offset>`, else `""`.
fn normalize_frame(
    lists: &SigLists,
    frame: &FrameView<'_>,
    lowercase_module: bool,
    scratch: &mut Scratch,
) -> Result<String, NormalizeError> {
    if let Some(function) = truthy(frame.function) {
        let (function, is_rust) = function_key(function, truthy(frame.file));
        normalize_function_frame(lists, function, is_rust, frame.line, scratch)?;
        return Ok(scratch.out.clone());
    }
    Ok(normalize_frame_without_function(frame, lowercase_module))
}

/// [`normalize_frame`] for a frame without a function: `file#line`, else
/// module, else `(unloaded <module>)`, else `@<offset>`, else `""`.
fn normalize_frame_without_function(frame: &FrameView<'_>, lowercase_module: bool) -> String {
    let file = truthy(frame.file);
    if let (Some(file), Some(line)) = (file, frame.line.filter(|l| l.truthy())) {
        let trimmed = file.trim_end_matches(['/', '\\']);
        let base = if trimmed.contains('\\') {
            trimmed.rsplit('\\').next()
        } else {
            trimmed.rsplit('/').next()
        }
        .unwrap_or(trimmed);
        return format!("{base}#{}", line.py_str());
    }
    if let Some(module) = truthy(frame.module) {
        let module = module.trim_matches(['[', ']']);
        return if lowercase_module {
            if module.is_ascii() {
                module.to_ascii_lowercase()
            } else {
                module.to_lowercase()
            }
        } else {
            module.to_owned()
        };
    }
    if frame.has_unloaded {
        return format!("(unloaded {})", frame.unloaded.unwrap_or("None"));
    }
    if let Some(offset) = frame.offset.filter(|o| o.truthy()) {
        let mut out = String::from("@");
        match offset {
            Scalar::Str(s) => py::strip_leading_zeros(s, &mut out),
            other => out.push_str(&other.py_str()),
        }
        return out;
    }
    String::new()
}

/// Socorro's `create_frame_list`: normalised frames of a thread, inlines
/// first, at most [`MAXIMUM_FRAMES_TO_CONSIDER`] entries.
pub(crate) fn create_frame_list(
    lists: &SigLists,
    thread: Option<&Thread>,
    lowercase_modules: bool,
) -> Result<NormalizedFrames, NormalizeError> {
    let Some(thread) = thread else {
        return Ok(NormalizedFrames::default());
    };
    let mut list = FrameList {
        lists,
        lowercase_modules,
        scratch: Scratch::new(),
        out: NormalizedFrames::with_capacity(
            MAXIMUM_FRAMES_TO_CONSIDER.min(thread.frames.len() + 4),
        ),
        seen: Memo::new(("", None, 0)),
        seen_modules: Memo::new(("", 0)),
        rust_files: Memo::new(("", false)),
    };
    'frames: for frame in &thread.frames {
        for inline in &frame.inlines {
            if list.out.len() == MAXIMUM_FRAMES_TO_CONSIDER {
                break 'frames;
            }
            list.push(&FrameView::inline(frame, inline))?;
        }
        if list.out.len() == MAXIMUM_FRAMES_TO_CONSIDER {
            break;
        }
        list.push(&FrameView::outer(frame))?;
    }
    Ok(list.out)
}

/// The state of [`create_frame_list`].
struct FrameList<'a> {
    lists: &'a SigLists,
    lowercase_modules: bool,
    scratch: Scratch,
    out: NormalizedFrames,
    /// Function frames already normalised in this stack whose result does
    /// not depend on the line: (function, file, index in `out`). Recursion
    /// and event loops repeat functions; a repeat is a copy.
    seen: Memo<(&'a str, Option<&'a str>, usize), MAXIMUM_FRAMES_TO_CONSIDER>,
    /// Module-only frames already normalised: (module, index in `out`).
    seen_modules: Memo<(&'a str, usize), 8>,
    /// Files already classified by [`is_rust_source`].
    rust_files: Memo<(&'a str, bool), 8>,
}

/// A small list on the stack (no allocation); pushes beyond `N` are
/// dropped, which only costs a repeat its shortcut.
struct Memo<T: Copy, const N: usize> {
    items: [T; N],
    len: usize,
}

impl<T: Copy, const N: usize> Memo<T, N> {
    fn new(empty: T) -> Self {
        Self {
            items: [empty; N],
            len: 0,
        }
    }

    fn push(&mut self, item: T) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = item;
            self.len += 1;
        }
    }

    fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items[..self.len].iter()
    }
}

impl<'a> FrameList<'a> {
    fn push(&mut self, view: &FrameView<'a>) -> Result<(), NormalizeError> {
        let file = truthy(view.file);
        let Some(function) = truthy(view.function) else {
            // Without a function or a file, the result is the module's.
            let module = match (file, truthy(view.module)) {
                (None, Some(module)) => Some(module),
                _ => None,
            };
            if let Some(module) = module
                && let Some(&(_, i)) = self.seen_modules.iter().find(|(m, _)| *m == module)
            {
                self.out.push_again(i);
                return Ok(());
            }
            let normalized = normalize_frame_without_function(view, self.lowercase_modules);
            if let Some(module) = module {
                self.seen_modules.push((module, self.out.len()));
            }
            self.out.push(&normalized);
            return Ok(());
        };
        if let Some(&(_, _, i)) = self
            .seen
            .iter()
            .find(|(f, fl, _)| *f == function && *fl == file)
        {
            self.out.push_again(i);
            return Ok(());
        }
        let is_rust = match file {
            None => false,
            Some(file) => match self.rust_files.iter().find(|(f, _)| *f == file) {
                Some(&(_, is_rust)) => is_rust,
                None => {
                    let is_rust = is_rust_source(file);
                    self.rust_files.push((file, is_rust));
                    is_rust
                }
            },
        };
        let key = fix_missing_module(file, function);
        normalize_function_frame(self.lists, key, is_rust, view.line, &mut self.scratch)?;
        if !self.scratch.line_used {
            self.seen.push((function, file, self.out.len()));
        }
        self.out.push(&self.scratch.out);
        Ok(())
    }
}

#[cfg(test)]
fn frame_views(frames: &[Frame]) -> impl Iterator<Item = FrameView<'_>> {
    frames.iter().flat_map(|frame| {
        let inlines = frame
            .inlines
            .iter()
            .map(move |inline| FrameView::inline(frame, inline));
        inlines.chain(std::iter::once(FrameView::outer(frame)))
    })
}

/// Normalises a single function name the way Socorro does for a frame with
/// that function and `file` (Rust rules when the file ends in `.rs`).
/// Exposed for tests and tools.
pub fn normalize_function(
    lists: &SigLists,
    function: &str,
    file: Option<&str>,
    line: Option<&Scalar>,
) -> String {
    let view = FrameView {
        module: None,
        function: Some(function),
        file,
        line,
        offset: None,
        unloaded: None,
        has_unloaded: false,
    };
    normalize_frame(lists, &view, false, &mut Scratch::new()).unwrap_or_default()
}

/// Normalises one frame (without its inlines) like Socorro's
/// `normalize_frame`. Exposed for tests and tools.
pub fn normalize_single_frame(lists: &SigLists, frame: &Frame) -> String {
    normalize_frame(lists, &FrameView::outer(frame), false, &mut Scratch::new()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_prefix_cases() {
        for (input, expected) in [
            (
                "`anonymous namespace'::xClose",
                "`anonymous namespace'::xClose",
            ),
            ("static unsigned int pr_root(void *)", "pr_root(void *)"),
            (
                "nsXPConnect::InitStatics() [clone .cold.638]",
                "nsXPConnect::InitStatics() [clone .cold.638]",
            ),
            (
                "[thunk]:CShellItem::QueryInterface`adjustor{12}' (_GUID const&, void**)",
                "[thunk]:CShellItem::QueryInterface`adjustor{12}' (_GUID const&, void**)",
            ),
            ("f  (x)", " (x)"),
            ("foo bar ", "bar"),
            (" ", ""),
        ] {
            assert_eq!(
                drop_prefix_and_return_type(input),
                Some(expected),
                "{input}"
            );
        }
        assert_eq!(drop_prefix_and_return_type(""), None);
    }

    #[test]
    fn deep_nesting_drops_like_the_reference() {
        for depth in [19, 20, 21, 22, 23, 40] {
            for (open, close) in [("<", ">"), ("(", ")"), ("`", "'"), ("[", ")")] {
                let nested = format!("{}x y{}", open.repeat(depth), close.repeat(depth));
                for function in [
                    format!("void f{nested} g"),
                    format!("f {nested} (a b)"),
                    format!("{nested} [clone .cold] h"),
                    format!("a {}b c", open.repeat(depth)),
                ] {
                    assert_eq!(
                        drop_prefix_and_return_type(&function),
                        reference::drop_prefix_and_return_type(&function),
                        "{function}"
                    );
                }
            }
        }
    }

    #[test]
    fn enclosed_slices_cases() {
        let mut v = Vec::new();
        enclosed_slices::<b'(', b')'>("operator()(s,t,u)", |a, b| v.push((a, b)));
        assert_eq!(v, [(8, 10), (10, 17)]);
        let mut v = Vec::new();
        enclosed_slices::<b'<', b'>'>("Foo<bar<baz>", |a, b| v.push((a, b)));
        assert_eq!(v, [(3, 12)]);
        let mut v = Vec::new();
        enclosed_slices::<b'<', b'>'>(
            "IPC::ParamTraits<nsTSubstring<char> >::Write(IPC::Message *,nsTSubstring<char> const &)",
            |a, b| v.push((a, b)),
        );
        assert_eq!(v, [(16, 37), (72, 78)]);
    }

    #[test]
    fn collapse_types_cases() {
        for (input, expected) in [
            ("Foo<bar", "Foo<T>"),
            ("<bar>Foo", "<T>Foo"),
            (
                "IPC::ParamTraits<nsTSubstring<char> >::Write(IPC::Message *,nsTSubstring<char> const &)",
                "IPC::ParamTraits<nsTSubstring<T> >::Write(IPC::Message *,nsTSubstring<T> const &)",
            ),
            ("<unknown in ntdll.pdb>", "<unknown in ntdll.pdb>"),
        ] {
            let mut out = String::new();
            collapse_types_cpp(input, &mut out, 0).unwrap();
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn rust_hash() {
        let mut s = "expect_failed::h7f635057bfba806a".to_owned();
        strip_rust_hash(&mut s);
        assert_eq!(s, "expect_failed");
        let mut s = "expect_failed::h7f6350::blah".to_owned();
        strip_rust_hash(&mut s);
        assert_eq!(s, "expect_failed::h7f6350::blah");
    }

    #[test]
    fn parse_source_file_cases() {
        assert_eq!(
            parse_source_file(
                "hg:hg.mozilla.org/releases/mozilla-release:js/src/vm/JSFunction.cpp:7d28"
            ),
            Some("js/src/vm/JSFunction.cpp")
        );
        assert_eq!(
            parse_source_file("f:\\dd\\vctools\\crt\\mbsnbico.c"),
            Some("\\dd\\vctools\\crt\\mbsnbico.c")
        );
        assert_eq!(parse_source_file("/build/x.c"), Some("/build/x.c"));
        assert_eq!(parse_source_file("x.c"), None);
    }

    /// The pieces the normaliser reacts to, for the differential tests below.
    fn tricky() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let token = prop_oneof![
            Just("<".to_owned()),
            Just(">".to_owned()),
            Just("(".to_owned()),
            Just(")".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just(" ".to_owned()),
            Just(",".to_owned()),
            Just("*".to_owned()),
            Just("&".to_owned()),
            Just(":".to_owned()),
            Just("::".to_owned()),
            Just("::h".to_owned()),
            Just("0a9f".to_owned()),
            Just("\n".to_owned()),
            Just(" as ".to_owned()),
            Just(" in ".to_owned()),
            Just("as".to_owned()),
            Just("in".to_owned()),
            Just(".rs".to_owned()),
            Just("/".to_owned()),
            Just("panic".to_owned()),
            Just("src/libcore/panicking.rs".to_owned()),
            Just("hg:hg.mozilla.org/a".to_owned()),
            "[a-z]{1,4}",
            any::<String>(),
        ];
        proptest::collection::vec(token, 0..10).prop_map(|parts| parts.concat())
    }

    /// [`tricky`] plus the C++ constructs the normaliser special-cases.
    fn tricky_cpp() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let token = prop_oneof![
            4 => tricky(),
            1 => prop_oneof![
                Just("{".to_owned()),
                Just("}".to_owned()),
                Just("`".to_owned()),
                Just("'".to_owned()),
                Just("$".to_owned()),
                Just("::$_12::".to_owned()),
                Just("`anonymous namespace'".to_owned()),
                Just("(anonymous namespace)".to_owned()),
                Just("operator".to_owned()),
                Just("::operator".to_owned()),
                Just("IPC::ParamTraits".to_owned()),
                Just("<name omitted>".to_owned()),
                Just("[clone .cold.1]".to_owned()),
                Just("clone .cold".to_owned()),
                Just("[clone".to_owned()),
                Just(" const".to_owned()),
                Just("const &".to_owned()),
                Just("&&".to_owned()),
                Just(" , ".to_owned()),
                Just(" *".to_owned()),
                Just("\u{3000}".to_owned()),
                Just("é".to_owned()),
            ],
        ];
        proptest::collection::vec(token, 0..8).prop_map(|parts| parts.concat())
    }

    fn test_lists() -> Vec<SigLists> {
        vec![
            SigLists::generic().unwrap(),
            SigLists::from_entries(
                "t",
                &[],
                &[],
                &[],
                &["a", "[a-z]+::h", "panic", "<", "f, ?"],
            )
            .unwrap(),
        ]
    }

    /// A frame drawn from tricky pieces, for the whole-stack test.
    fn tricky_frame() -> impl proptest::strategy::Strategy<Value = Frame> {
        use proptest::prelude::*;
        let file = prop_oneof![
            Just(None),
            Just(Some(String::new())),
            Just(Some("hg:h:src/libcore/panicking.rs:1".to_owned())),
            Just(Some(
                "git:github.com/rust-lang/rust:library/core/src/ptr/mod.rs:abc".to_owned()
            )),
            Just(Some("a.cpp".to_owned())),
            Just(Some("/x.rs".to_owned())),
            Just(Some("c:\\src\\x.rs".to_owned())),
            proptest::option::of(tricky()),
        ];
        let line = prop_oneof![
            Just(None),
            (0i64..3).prop_map(|l| Some(Scalar::Int(i128::from(l)))),
            Just(Some(Scalar::Str("7".to_owned()))),
        ];
        let function = prop_oneof![
            Just(None),
            Just(Some(String::new())),
            Just(Some("panic".to_owned())),
            Just(Some("a::f(int)".to_owned())),
            proptest::option::of(tricky_cpp()),
        ];
        let module = prop_oneof![
            Just(None),
            Just(Some("Xul.DLL".to_owned())),
            Just(Some("[x]".to_owned())),
            Just(Some("É.so".to_owned())),
        ];
        let offset = prop_oneof![
            Just(None),
            Just(Some(Scalar::Str("0x00001a".to_owned()))),
            Just(Some(Scalar::Int(0))),
        ];
        let inline =
            (function.clone(), file.clone(), line.clone()).prop_map(|(function, file, line)| {
                crate::crash_data::InlineFrame {
                    function,
                    file,
                    line,
                }
            });
        (
            function,
            file,
            line,
            module,
            offset,
            proptest::collection::vec(inline, 0..3),
            proptest::collection::vec(proptest::option::of(Just("gone.dll".to_owned())), 0..2),
        )
            .prop_map(
                |(function, file, line, module, offset, inlines, unloaded)| Frame {
                    function,
                    file,
                    line,
                    module,
                    offset,
                    inlines,
                    unloaded_modules: unloaded
                        .into_iter()
                        .map(|module| crate::crash_data::UnloadedModule { module })
                        .collect(),
                },
            )
    }

    /// The two-pass `fixup_space` + `fixup_comma` the one-pass version
    /// replaced.
    fn fixup_reference(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut spaced = String::new();
        let mut last = 0;
        for i in memchr_iter(b' ', bytes) {
            if matches!(bytes.get(i + 1), Some(b'*' | b'&' | b',')) {
                spaced.push_str(&s[last..i]);
                last = i + 1;
            }
        }
        spaced.push_str(&s[last..]);
        let bytes = spaced.as_bytes();
        let mut out = String::new();
        let mut last = 0;
        for i in memchr_iter(b',', bytes) {
            if bytes.get(i + 1) != Some(&b' ') {
                out.push_str(&spaced[last..=i]);
                out.push(' ');
                last = i + 1;
            }
        }
        out.push_str(&spaced[last..]);
        out
    }

    fn strip_rust_hash_reference(s: &mut String) {
        let body_len = s.strip_suffix('\n').map_or(s.len(), str::len);
        let body = &s[..body_len];
        if let Some(pos) = body.rfind("::h") {
            let hex = &body[pos + 3..];
            if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                s.replace_range(pos..body_len, "");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_helpers_match_the_plain_versions(s in tricky(), file in tricky()) {
            let mut out = String::new();
            fixup_spaces_and_commas(&s, &mut out);
            proptest::prop_assert_eq!(out, fixup_reference(&s));
            proptest::prop_assert_eq!(
                contains_as_or_in(&s),
                s.contains(" as ") || s.contains(" in ")
            );
            proptest::prop_assert_eq!(contains_as(&s), s.contains(" as "));
            let (mut fast, mut plain) = (s.clone(), s.clone());
            strip_rust_hash(&mut fast);
            strip_rust_hash_reference(&mut plain);
            proptest::prop_assert_eq!(fast, plain);
            proptest::prop_assert_eq!(
                is_rust_source(&file),
                parse_source_file(&file).is_some_and(|p| p.ends_with(".rs"))
            );
        }

        #[test]
        fn functions_normalise_like_the_reference(
            function in tricky_cpp(),
            line in proptest::option::of(0i64..3),
        ) {
            let line = line.map(|l| Scalar::Int(i128::from(l)));
            for lists in test_lists() {
                let (mut fast, mut old) = (Scratch::new(), reference::Scratch::new());
                proptest::prop_assert_eq!(
                    normalize_cpp_function(&lists, &function, line.as_ref(), &mut fast)
                        .map(|()| fast.out.clone()),
                    reference::normalize_cpp_function(&lists, &function, line.as_ref(), &mut old)
                );
                proptest::prop_assert_eq!(fast.line_used, old.line_used);
                normalize_rust_function(&lists, &function, line.as_ref(), &mut fast);
                proptest::prop_assert_eq!(
                    &fast.out,
                    &reference::normalize_rust_function(&lists, &function, line.as_ref(), &mut old)
                );
                proptest::prop_assert_eq!(fast.line_used, old.line_used);
                proptest::prop_assert_eq!(
                    drop_prefix_and_return_type(&function),
                    reference::drop_prefix_and_return_type(&function)
                );
            }
        }

        #[test]
        fn stacks_normalise_like_the_reference(
            frames in proptest::collection::vec(tricky_frame(), 0..12),
            picks in proptest::collection::vec(0usize..12, 0..50),
            lowercase in proptest::bool::ANY,
        ) {
            // Repeat frames so the per-stack repeat handling is exercised.
            let frames: Vec<Frame> = if frames.is_empty() {
                frames
            } else {
                picks.iter().map(|&p| frames[p % frames.len()].clone()).collect()
            };
            let thread = Thread { frames, ..Thread::default() };
            for lists in test_lists() {
                proptest::prop_assert_eq!(
                    create_frame_list(&lists, Some(&thread), lowercase).map(|f| f.to_vec()),
                    reference::create_frame_list(&lists, Some(&thread), lowercase)
                );
            }
        }

        #[test]
        fn repeated_functions_normalise_like_fresh_ones(
            functions in proptest::collection::vec(tricky(), 1..5),
            picks in proptest::collection::vec((0usize..5, 0usize..4, 0i64..3), 0..45),
        ) {
            // A stack drawn from a few functions, files and lines, so that
            // repeats (served from the per-stack cache) are common.
            let files = [None, Some("hg:h:src/libcore/panicking.rs:1"), Some("a.cpp"), Some("/x.rs")];
            let frames: Vec<Frame> = picks
                .iter()
                .map(|&(f, file, line)| Frame {
                    function: Some(functions[f % functions.len()].clone()),
                    file: files[file].map(str::to_owned),
                    line: Some(Scalar::Int(i128::from(line))),
                    module: Some("Xul.DLL".to_owned()),
                    ..Frame::default()
                })
                .collect();
            let thread = Thread { frames, ..Thread::default() };
            for lists in [
                SigLists::generic().map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?,
                SigLists::from_entries("t", &[], &[], &[], &["a", "[a-z]+::h", "panic"])
                    .map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?,
            ] {
                let cached = create_frame_list(&lists, Some(&thread), true).map(|f| f.to_vec());
                let fresh: Result<Vec<String>, NormalizeError> = frame_views(&thread.frames)
                    .take(MAXIMUM_FRAMES_TO_CONSIDER)
                    .map(|view| normalize_frame(&lists, &view, true, &mut Scratch::new()))
                    .collect();
                proptest::prop_assert_eq!(cached, fresh);
            }
        }
    }
}
