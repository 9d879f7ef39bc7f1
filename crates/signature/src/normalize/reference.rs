//! The normaliser as it was before the single-pass rewrite, kept verbatim
//! (test builds only) as the reference the fast code is checked against.
//! Helpers the rewrite did not change (and that call nothing it changed)
//! are the parent module's own.

use std::borrow::Cow;
use std::sync::LazyLock;

use memchr::memmem;

// What the rewrite left as it was is shared with the fast code, so this
// file holds only the parts it replaced.
use super::{
    DELIMITER_CLASS, FrameView, LAMBDA_NUMBER, M_BRACKET, M_DOLLAR, M_LT, M_PAREN, M_SPACE, M_TICK,
    MAX_NESTING, NormalizeError, byte_mask, frame_views, function_key, maybe_line_number,
    memchr_iter, normalize_frame_without_function, strip_outer, strip_rust_hash, truthy,
};
use crate::py::{self, Scalar};
use crate::siglists::SigLists;

/// Finds `::operator` (built once).
static OPERATOR: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new("::operator"));
/// Finds `` `anonymous namespace' `` (built once).
static ANONYMOUS_NAMESPACE: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new("`anonymous namespace'"));
/// Finds `clone .cold` (built once).
static CLONE_COLD: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new("clone .cold"));

/// Byte ranges `[start, end)` of top-level `open ... close` slices; an
/// unterminated slice runs to the end (Socorro's `find_enclosed_slices`).
fn enclosed_slices(s: &str, open: u8, close: u8, mut f: impl FnMut(usize, usize)) {
    let mut level = 0usize;
    let mut start = 0;
    let bytes = s.as_bytes();
    for i in memchr::memchr2_iter(open, close, bytes) {
        if bytes[i] == open {
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
    }
    if level > 0 {
        f(start, s.len());
    }
}

/// Socorro's `replace_enclosed_slices`: `replace(before, inside, out)` writes
/// the replacement of each slice; `before` is the text since the last slice.
fn replace_enclosed<E>(
    s: &str,
    open: u8,
    close: u8,
    out: &mut String,
    mut replace: impl FnMut(&str, &str, &mut String) -> Result<(), E>,
) -> Result<(), E> {
    let mut prev = 0;
    let mut result = Ok(());
    enclosed_slices(s, open, close, |start, end| {
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

/// Socorro's `collapse_types` for C++: `<...>` becomes `<T>` except for
/// `<name omitted>`, ` as `/` in ` contents, text after `operator`, and
/// `IPC::ParamTraits<...>` (collapsed recursively).
fn collapse_types_cpp(s: &str, out: &mut String, depth: usize) -> Result<(), NormalizeError> {
    if depth > MAX_NESTING {
        return Err(NormalizeError::TooDeep);
    }
    if memchr::memchr(b'<', s.as_bytes()).is_none() {
        out.push_str(s);
        return Ok(());
    }
    replace_enclosed(s, b'<', b'>', out, |before, inside, out| {
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
    memchr_iter(b' ', bytes).any(|i| bytes.get(i + 1..i + 4) == Some(b"as "))
}

/// `s.contains(" as ") || s.contains(" in ")` in one pass over the spaces
/// (no substring searcher to build for these short slices).
fn contains_as_or_in(s: &str) -> bool {
    let bytes = s.as_bytes();
    memchr_iter(b' ', bytes).any(|i| {
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
    let _ = replace_enclosed::<()>(s, b'(', b')', out, |before, inside, out| {
        if inside == "(anonymous namespace)" || before.ends_with("operator") {
            out.push_str(inside);
        }
        Ok(())
    });
}

fn drop_all_enclosed(s: &str, open: u8, close: u8, out: &mut String) {
    let _ = replace_enclosed::<()>(s, open, close, out, |_, _, _| Ok(()));
}

/// Socorro's `drop_prefix_and_return_type`: splits on spaces outside
/// `()`, `{}`, `[]`, `<>` and `` `' `` and keeps the last token (joined with
/// a following `(...)` or `[clone ...]` token). `None` for an empty string.
pub(super) fn drop_prefix_and_return_type(function: &str) -> Option<&str> {
    drop_prefix_and_return_type_with(function, &mut Vec::new(), &mut Vec::new())
}

/// [`drop_prefix_and_return_type`] with reusable buffers.
fn drop_prefix_and_return_type_with<'a>(
    function: &'a str,
    tokens: &mut Vec<(usize, usize)>,
    levels: &mut Vec<u8>,
) -> Option<&'a str> {
    if function.is_empty() {
        return None;
    }
    let bytes = function.as_bytes();
    if memchr::memchr(b' ', bytes).is_none() {
        return Some(function);
    }
    tokens.clear();
    levels.clear();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Skip ordinary bytes quickly.
        match bytes[i..]
            .iter()
            .position(|b| DELIMITER_CLASS[usize::from(*b)] != 0)
        {
            Some(skip) => i += skip,
            None => break,
        }
        let b = bytes[i];
        let here = i;
        i += 1;
        match DELIMITER_CLASS[usize::from(b)] {
            1 => levels.push(b),
            2 => {
                let opener = match b {
                    b')' => b'(',
                    b'}' => b'{',
                    b']' => b'[',
                    b'>' => b'<',
                    _ => b'`',
                };
                if levels.last() == Some(&opener) {
                    levels.pop();
                }
            }
            _ => {
                if levels.is_empty() {
                    tokens.push((start, here));
                    start = here + 1;
                }
            }
        }
    }
    if start < bytes.len() {
        tokens.push((start, bytes.len()));
    }
    let mut last = tokens.pop()?;
    while let Some(&prev) = tokens.last() {
        let text = &function[last.0..last.1];
        if !(text.starts_with('(') || text.starts_with("[clone")) {
            break;
        }
        tokens.pop();
        last = (prev.0, last.1);
    }
    Some(&function[last.0..last.1])
}

/// Remove spaces before `*`, `&`, `,`; then make sure every comma is
/// followed by a space (Socorro's `fixup_space` and `fixup_comma`), in one
/// pass: a comma needs a space unless the next character left after the
/// first step is already one.
fn fixup_spaces_and_commas(s: &str, out: &mut String) {
    let bytes = s.as_bytes();
    let removable = |i: usize| matches!(bytes.get(i), Some(b'*' | b'&' | b','));
    let mut last = 0;
    for i in memchr::memchr2_iter(b' ', b',', bytes) {
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
    }
    out.push_str(&s[last..]);
}

/// Reusable buffers so normalising a frame allocates only its result.
pub(super) struct Scratch {
    a: String,
    b: String,
    tokens: Vec<(usize, usize)>,
    levels: Vec<u8>,
    /// Whether the last normalised function got a line number appended.
    pub(super) line_used: bool,
}

impl Scratch {
    /// Buffers big enough for typical frames, so they rarely grow.
    pub(super) fn new() -> Self {
        Self {
            a: String::with_capacity(256),
            b: String::with_capacity(256),
            tokens: Vec::with_capacity(16),
            levels: Vec::with_capacity(16),
            line_used: false,
        }
    }
}

/// Socorro's `normalize_rust_function`.
pub(super) fn normalize_rust_function(
    lists: &SigLists,
    function: &str,
    line: Option<&Scalar>,
    scratch: &mut Scratch,
) -> String {
    let Scratch {
        a,
        b,
        tokens,
        levels,
        line_used,
    } = scratch;
    let function = drop_prefix_and_return_type_with(function, tokens, levels).unwrap_or("");
    a.clear();
    if function.contains('<') {
        let _ = replace_enclosed::<()>(function, b'<', b'>', a, |_, inside, out| {
            out.push_str(if contains_as(inside) { inside } else { "<T>" });
            Ok(())
        });
    } else {
        a.push_str(function);
    }
    b.clear();
    if a.contains('(') {
        drop_all_enclosed(a, b'(', b')', b);
    } else {
        b.push_str(a);
    }
    *line_used = maybe_line_number(lists, b, line);
    let mut out = String::with_capacity(b.len() + 4);
    fixup_spaces_and_commas(b, &mut out);
    strip_rust_hash(&mut out);
    out
}

/// Socorro's `normalize_cpp_function`.
pub(super) fn normalize_cpp_function(
    lists: &SigLists,
    function: &str,
    line: Option<&Scalar>,
    scratch: &mut Scratch,
) -> Result<String, NormalizeError> {
    let mut function = function;
    for qualifier in ["const", "const&", "const &", "&&", "&"] {
        if let Some(rest) = function.strip_suffix(qualifier) {
            function = py::strip(rest);
        }
    }
    let Scratch {
        a,
        b,
        tokens,
        levels,
        line_used,
    } = scratch;
    // Which special bytes occur at all (later steps work on substrings, so
    // absence here means absence there).
    let mut mask = byte_mask(function.as_bytes());
    if function.is_empty() {
        return Err(NormalizeError::EmptyFunction);
    }
    if mask & M_SPACE != 0 && OPERATOR.find(function.as_bytes()).is_none() {
        function = drop_prefix_and_return_type_with(function, tokens, levels)
            .ok_or(NormalizeError::EmptyFunction)?;
    }
    let mut function: Cow<'_, str> = Cow::Borrowed(function);
    if mask & M_TICK != 0 && ANONYMOUS_NAMESPACE.find(function.as_bytes()).is_some() {
        function = Cow::Owned(function.replace("`anonymous namespace'", "(anonymous namespace)"));
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
    if mask & M_BRACKET != 0 && CLONE_COLD.find(b.as_bytes()).is_some() {
        a.clear();
        drop_all_enclosed(b, b'[', b']', a);
        std::mem::swap(a, b);
    }
    *line_used = maybe_line_number(lists, b, line);
    let mut out = String::with_capacity(b.len() + 4);
    fixup_spaces_and_commas(b, &mut out);
    Ok(out)
}

// ---- HEAD's frame-list code, verbatim apart from visibility (for whole-stack differential tests) ----

use super::MAXIMUM_FRAMES_TO_CONSIDER;
use crate::crash_data::Thread;

/// The function branch of [`normalize_frame`]; sets `scratch.line_used`.
fn normalize_function_frame(
    lists: &SigLists,
    function: &str,
    is_rust: bool,
    line: Option<&Scalar>,
    scratch: &mut Scratch,
) -> Result<String, NormalizeError> {
    if is_rust {
        Ok(normalize_rust_function(lists, function, line, scratch))
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
    let file = truthy(frame.file);
    if let Some(function) = truthy(frame.function) {
        let (function, is_rust) = function_key(function, file);
        return normalize_function_frame(lists, function, is_rust, frame.line, scratch);
    }
    Ok(normalize_frame_without_function(frame, lowercase_module))
}

/// Socorro's `create_frame_list`: normalised frames of a thread, inlines
/// first, at most [`MAXIMUM_FRAMES_TO_CONSIDER`] entries.
pub(super) fn create_frame_list(
    lists: &SigLists,
    thread: Option<&Thread>,
    lowercase_modules: bool,
) -> Result<Vec<String>, NormalizeError> {
    let Some(thread) = thread else {
        return Ok(Vec::new());
    };
    let mut scratch = Scratch::new();
    let mut out: Vec<String> =
        Vec::with_capacity(MAXIMUM_FRAMES_TO_CONSIDER.min(thread.frames.len() + 4));
    // Function frames already normalised in this stack whose result does
    // not depend on the line: (function, is_rust, index in `out`). Recursion
    // and event loops repeat functions; a repeat is a copy.
    let mut seen: Vec<(&str, bool, usize)> = Vec::new();
    for view in frame_views(&thread.frames).take(MAXIMUM_FRAMES_TO_CONSIDER) {
        let Some(function) = truthy(view.function) else {
            out.push(normalize_frame(
                lists,
                &view,
                lowercase_modules,
                &mut scratch,
            )?);
            continue;
        };
        let (function, is_rust) = function_key(function, truthy(view.file));
        if let Some(&(_, _, i)) = seen
            .iter()
            .find(|(f, r, _)| *r == is_rust && *f == function)
        {
            let again = out[i].clone();
            out.push(again);
            continue;
        }
        let normalized =
            normalize_function_frame(lists, function, is_rust, view.line, &mut scratch)?;
        if !scratch.line_used {
            seen.push((function, is_rust, out.len()));
        }
        out.push(normalized);
    }
    Ok(out)
}
