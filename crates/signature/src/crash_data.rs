//! The subset of a processed crash that signature generation reads.
//!
//! [`CrashData::from_processed_crash`] mirrors Socorro's
//! `convert_to_crash_data`: it reads a processed crash (`json_dump` from the
//! stackwalker plus the annotation-derived fields) and keeps only what the
//! rules need.

use serde_json::Value;

use crate::py::{self, Scalar};

/// One frame of a thread (or one inline entry of a frame, see
/// [`Frame::inlines`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    /// Module (library) file name, e.g. `xul.dll`.
    pub module: Option<String>,
    /// Symbolicated function name, as the stackwalker printed it.
    pub function: Option<String>,
    /// Source file, possibly a VCS path like `hg:hg.mozilla.org/...:path:rev`.
    pub file: Option<String>,
    /// Source line (a number, sometimes a string in old data).
    pub line: Option<Scalar>,
    /// Absolute instruction address, a hex string like `0x0000000000032ec0`.
    pub offset: Option<Scalar>,
    /// Inlined frames, innermost first; they come before this frame.
    pub inlines: Vec<InlineFrame>,
    /// Modules that were unloaded where this address points.
    pub unloaded_modules: Vec<UnloadedModule>,
}

/// An inlined call inside a [`Frame`]; module and offset come from the frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InlineFrame {
    /// Function name.
    pub function: Option<String>,
    /// Source file.
    pub file: Option<String>,
    /// Source line.
    pub line: Option<Scalar>,
}

/// An entry of a frame's `unloaded_modules`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnloadedModule {
    /// The module name (`str()` of the value; `None` prints as `None`).
    pub module: Option<String>,
}

/// One thread of the stackwalker output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thread {
    /// Frames, innermost first.
    pub frames: Vec<Frame>,
    /// Windows `GetLastError()` name, e.g. `ERROR_NOT_ENOUGH_MEMORY`.
    pub last_error_value: Option<String>,
}

/// Everything signature generation reads from a crash.
///
/// Field names follow Socorro's crash-data schema
/// (`socorro/signature/schema.rst`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CrashData {
    /// `Hang` annotation value (`ui`, `shutdown`, ...): prefixes `hang: <v> | `.
    pub hang: Option<Scalar>,
    /// `OOMAllocationSize`, already converted with Python `int()` semantics.
    pub oom_allocation_size: Option<i128>,
    /// `JSLargeAllocationFailure` (`Reporting`, `Reported`, `Recovered`).
    pub js_large_allocation_failure: Option<Scalar>,
    /// `AbortMessage`.
    pub abort_message: Option<String>,
    /// Stackwalker status (`OK` or an error), appended to `EMPTY` signatures.
    pub mdsw_status_string: Option<Scalar>,
    /// `AsyncShutdownTimeout` annotation: a JSON document in a string.
    pub async_shutdown_timeout: Option<Scalar>,
    /// `ipc_channel_error` annotation.
    pub ipc_channel_error: Option<Scalar>,
    /// `IPCMessageName` annotation.
    pub ipc_message_name: Option<Scalar>,
    /// Names of the extra minidumps (`upload_file_minidump_browser`, ...).
    pub additional_minidumps: Vec<String>,
    /// The signature the crash had before (not used by the rules).
    pub original_signature: String,
    /// `json_dump.crash_info.crashing_thread`, converted with `int()`
    /// semantics; `None` when missing or not a number.
    pub crashing_thread: Option<i64>,
    /// `json_dump.crash_info.type`, e.g. `EXCEPTION_STACK_OVERFLOW`.
    pub reason: Option<String>,
    /// `json_dump.threads`.
    pub threads: Vec<Thread>,
    /// `json_dump.system_info.os`, e.g. `Windows NT`.
    pub os: Option<String>,
    /// Structured `JavaException` annotation (kept as JSON).
    pub java_exception: Option<Value>,
    /// `JavaStackTrace` annotation (a string; other types give an `EMPTY`
    /// signature like Socorro).
    pub java_stack_trace: Option<Scalar>,
}

fn str_field(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_owned)
}

fn scalar_field(v: Option<&Value>) -> Option<Scalar> {
    v.and_then(Scalar::from_json)
}

impl CrashData {
    /// Builds crash data from a processed crash (Socorro's
    /// `convert_to_crash_data`).
    pub fn from_processed_crash(pc: &Value) -> Self {
        let get = |key: &str| pc.get(key);
        let mut data = Self {
            hang: scalar_field(get("hang")),
            oom_allocation_size: scalar_field(get("oom_allocation_size"))
                .as_ref()
                .and_then(py::py_int),
            js_large_allocation_failure: scalar_field(get("js_large_allocation_failure")),
            abort_message: str_field(get("abort_message")),
            mdsw_status_string: scalar_field(get("mdsw_status_string")),
            async_shutdown_timeout: scalar_field(get("async_shutdown_timeout")),
            ipc_channel_error: scalar_field(get("ipc_channel_error")),
            ipc_message_name: scalar_field(get("ipc_message_name")),
            additional_minidumps: minidump_names(get("additional_minidumps")),
            original_signature: str_field(get("signature")).unwrap_or_default(),
            java_exception: get("java_exception").filter(|v| !v.is_null()).cloned(),
            java_stack_trace: scalar_field(get("java_stack_trace")),
            ..Self::default()
        };
        if let Some(dump) = get("json_dump") {
            data.crashing_thread = scalar_field(py::glom(dump, &["crash_info", "crashing_thread"]))
                .as_ref()
                .and_then(py::py_int)
                .and_then(|i| i64::try_from(i).ok());
            data.reason = str_field(py::glom(dump, &["crash_info", "type"]));
            data.os = str_field(py::glom(dump, &["system_info", "os"]));
            data.threads = dump
                .get("threads")
                .and_then(Value::as_array)
                .map(|ts| ts.iter().map(Thread::from_json).collect())
                .unwrap_or_default();
        }
        data
    }

    /// The thread signature generation looks at: `crashing_thread`, Python
    /// style (negative indexes count from the end).
    pub(crate) fn thread(&self, index: i64) -> Option<&Thread> {
        let len = i64::try_from(self.threads.len()).ok()?;
        let idx = if index < 0 { len + index } else { index };
        self.threads.get(usize::try_from(idx).ok()?)
    }
}

fn minidump_names(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        // Python's `in` on a string is a substring test.
        Some(Value::String(s)) if s.contains("upload_file_minidump_browser") => {
            vec!["upload_file_minidump_browser".to_owned()]
        }
        _ => Vec::new(),
    }
}

impl Thread {
    /// Reads one entry of `json_dump.threads`.
    pub fn from_json(v: &Value) -> Self {
        Self {
            frames: v
                .get("frames")
                .and_then(Value::as_array)
                .map(|fs| fs.iter().map(Frame::from_json).collect())
                .unwrap_or_default(),
            last_error_value: str_field(v.get("last_error_value")),
        }
    }
}

impl Frame {
    /// Reads one entry of `threads[].frames`.
    pub fn from_json(v: &Value) -> Self {
        Self {
            module: str_field(v.get("module")),
            function: str_field(v.get("function")),
            file: str_field(v.get("file")),
            line: scalar_field(v.get("line")),
            offset: scalar_field(v.get("offset")),
            inlines: v
                .get("inlines")
                .and_then(Value::as_array)
                .map(|is| {
                    is.iter()
                        .map(|i| InlineFrame {
                            function: str_field(i.get("function")),
                            file: str_field(i.get("file")),
                            line: scalar_field(i.get("line")),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            unloaded_modules: v
                .get("unloaded_modules")
                .and_then(Value::as_array)
                .map(|us| {
                    us.iter()
                        .map(|u| UnloadedModule {
                            module: scalar_field(u.get("module")).map(|s| s.py_str()),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// A frame with just a function name.
    pub fn function(name: &str) -> Self {
        Self {
            function: Some(name.to_owned()),
            ..Self::default()
        }
    }
}
