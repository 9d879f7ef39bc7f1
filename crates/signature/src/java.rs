//! Java signatures: Socorro's `JavaSignatureTool` (from the unstructured
//! `JavaStackTrace` annotation) and `JavaExceptionSignatureTool` (from the
//! structured `JavaException` annotation).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::py::{self, Scalar};

/// Longest Java signature that keeps the exception description.
const DESCRIPTION_MAX_LENGTH: usize = 255;

/// `.java:<digits>)` at the end of the method line.
static JAVA_LINE_NUMBER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\.java:\d+\)$").ok());

/// Output of a Java tool.
pub(crate) struct JavaSignature {
    pub signature: String,
    pub notes: Vec<String>,
}

/// An error Socorro's Python code would raise (the rule then fails).
#[derive(Debug)]
pub(crate) struct PyError(pub String);

/// `@` followed by 8 lowercase hex digits becomes `@<addr>`.
fn replace_hex_addresses(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut last = 0;
    while i < bytes.len() {
        if bytes[i] == b'@'
            && bytes.len() >= i + 9
            && bytes[i + 1..i + 9]
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        {
            out.push_str(&s[last..i]);
            out.push_str("@<addr>");
            i += 9;
            last = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&s[last..]);
    out
}

fn join_ignore_empty(delimiter: &str, parts: &[&str]) -> String {
    let mut out = String::new();
    for p in parts.iter().filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push_str(delimiter);
        }
        out.push_str(p);
    }
    out
}

/// Socorro's `JavaSignatureTool.generate` with the `": "` delimiter.
pub(crate) fn java_stack_trace_signature(source: &Scalar) -> JavaSignature {
    const DELIMITER: &str = ": ";
    let bad = || JavaSignature {
        signature: "EMPTY: Java stack trace not in expected format".to_owned(),
        notes: vec!["JavaSignatureTool: stack trace not in expected format".to_owned()],
    };
    let Scalar::Str(source) = source else {
        return bad();
    };
    let lines: Vec<&str> = py::splitlines(source).into_iter().map(py::strip).collect();
    let Some(first) = lines.first() else {
        return bad();
    };
    let mut notes = Vec::new();
    let (class, description) = match first.split_once(':') {
        Some((class, description)) => (
            py::strip(class).to_owned(),
            py::strip(&replace_hex_addresses(description)).to_owned(),
        ),
        None => {
            notes.push(
                "JavaSignatureTool: stack trace line 1 is not in the expected format".to_owned(),
            );
            ((*first).to_owned(), String::new())
        }
    };
    let method = match lines.get(1) {
        Some(line) => {
            let method = match JAVA_LINE_NUMBER.as_ref() {
                Some(re) => re.replace(line, ".java)").into_owned(),
                None => (*line).to_owned(),
            };
            if method.is_empty() {
                notes.push("JavaSignatureTool: stack trace line 2 is empty".to_owned());
            }
            method
        }
        None => {
            notes.push("JavaSignatureTool: stack trace line 2 is missing".to_owned());
            String::new()
        }
    };
    // Bug 865142: the colon between description and method is only there
    // when the description ends with an address.
    let mut signature = if description.ends_with("<addr>") {
        join_ignore_empty(DELIMITER, &[&class, &description, &method])
    } else {
        let phrase = join_ignore_empty(" ", &[&description, &method]);
        join_ignore_empty(DELIMITER, &[&class, &phrase])
    };
    if signature.chars().count() > DESCRIPTION_MAX_LENGTH {
        signature = format!("{class}{DELIMITER}{method}");
        notes
            .push("JavaSignatureTool: dropped Java exception description due to length".to_owned());
    }
    JavaSignature { signature, notes }
}

fn py_get_str(obj: &serde_json::Map<String, Value>, key: &str, default: &str) -> (String, bool) {
    match obj.get(key) {
        None => (default.to_owned(), !default.is_empty()),
        Some(v) => match Scalar::from_json(v) {
            None => ("None".to_owned(), false),
            Some(s) => (s.py_str(), s.truthy()),
        },
    }
}

fn normalize_exception_frame(frame: &Value) -> Result<String, PyError> {
    let Value::Object(frame) = frame else {
        return Err(PyError(format!(
            "'{}' object has no attribute 'get'",
            py::json_type_name(frame)
        )));
    };
    let (module, has_module) = py_get_str(frame, "module", "");
    let (function, has_function) = py_get_str(frame, "function", "");
    let name = match (has_module, has_function) {
        (true, true) => format!("{module}.{function}"),
        (true, false) => module,
        (false, true) => function,
        (false, false) => String::new(),
    };
    let (filename, has_filename) = py_get_str(frame, "filename", "");
    Ok(if !name.is_empty() && has_filename {
        format!("{name}({filename})")
    } else if !name.is_empty() {
        name
    } else {
        "unknown".to_owned()
    })
}

/// Socorro's `JavaExceptionSignatureTool.generate`.
pub(crate) fn java_exception_signature(source: &Value) -> Result<JavaSignature, PyError> {
    let bad = || JavaSignature {
        signature: "EMPTY: Java exception not in expected format".to_owned(),
        notes: vec!["JavaExceptionSignatureTool: value not in expected format".to_owned()],
    };
    if !source.is_object() {
        return Ok(bad());
    }
    let Some(stacktrace) = py::glom(source, &["exception", "values", "0", "stacktrace"])
        .filter(|v| py::json_truthy(v))
    else {
        return Ok(bad());
    };
    let Value::Object(st) = stacktrace else {
        return Err(PyError(format!(
            "'{}' object has no attribute 'get'",
            py::json_type_name(stacktrace)
        )));
    };
    let (module, has_module) = py_get_str(st, "module", "");
    let (exc_type, has_type) = py_get_str(st, "type", "Unknown");
    let class = if has_module && has_type {
        format!("{module}.{exc_type}")
    } else {
        exc_type
    };
    let frames: &[Value] = match st.get("frames") {
        Some(Value::Array(f)) => f,
        _ => &[],
    };
    let signature = if frames.is_empty() {
        class
    } else {
        let normalized = frames
            .iter()
            .map(normalize_exception_frame)
            .collect::<Result<Vec<_>, _>>()?;
        format!("{class}: at {}", normalized[0])
    };
    Ok(JavaSignature {
        signature,
        notes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_addresses() {
        assert_eq!(replace_hex_addresses("a@4054b560 b"), "a@<addr> b");
        assert_eq!(replace_hex_addresses("a@4054b56"), "a@4054b56");
        assert_eq!(replace_hex_addresses("@123456789"), "@<addr>9");
    }
}
