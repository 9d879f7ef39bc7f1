//! One dump through `minidump-processor`.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use minidump::Minidump;
use minidump_processor::ProcessorOptions;
use minidump_unwind::{MultiSymbolProvider, Symbolizer};
use serde_json::Value;

/// What `stackwalk_version` says (Socorro stores the stackwalker's `--version`).
pub const STACKWALK_VERSION: &str = "minidump-processor 0.27 (in-process, socorro-rs)";

/// Outcome of walking one dump, shaped like Socorro's stackwalker output.
#[derive(Debug, Clone, PartialEq)]
pub struct WalkOutput {
    /// `json_dump` (absent when the dump could not be processed at all).
    pub json_dump: Option<Value>,
    /// `mdsw_return_code`: 0 ok, 1 error, -9 timeout, -6 crash of the walker.
    pub return_code: i32,
    /// `mdsw_status_string`: `OK` or the error name.
    pub status: String,
    /// `mdsw_stderr`: what went wrong, if anything.
    pub stderr: String,
}

impl WalkOutput {
    fn failed(return_code: i32, status: &str, stderr: impl Into<String>) -> Self {
        Self {
            json_dump: None,
            return_code,
            status: status.to_owned(),
            stderr: stderr.into(),
        }
    }
}

/// Walks `dump` on a blocking thread within `budget`. A walk that outlives
/// the budget is abandoned (return code -9, like Socorro's SIGKILL) and a
/// panic inside the walker is caught (-6): neither reaches the worker.
pub async fn stackwalk(
    dump: bytes::Bytes,
    evil_json: Option<Vec<u8>>,
    symbolizer: Option<Arc<Symbolizer>>,
    budget: Duration,
) -> WalkOutput {
    let handle = tokio::runtime::Handle::current();
    let task = tokio::task::spawn_blocking(move || {
        handle.block_on(walk_blocking(
            &dump,
            evil_json.as_deref(),
            symbolizer.as_deref(),
        ))
    });
    match tokio::time::timeout(budget, task).await {
        Ok(Ok(out)) => out,
        Ok(Err(join)) => {
            tracing::error!(error = %join, "stackwalker panicked");
            WalkOutput::failed(-6, "unknown error", "stackwalker panicked")
        }
        Err(_) => {
            tracing::warn!(budget_secs = budget.as_secs(), "stackwalk timed out");
            WalkOutput::failed(
                -9,
                "unknown error",
                format!(
                    "stackwalk exceeded the time budget of {}s",
                    budget.as_secs()
                ),
            )
        }
    }
}

/// The walk itself (async because symbol downloads are); CPU-bound, so run
/// it off the executor as [`stackwalk`] does. `evil_json` is the raw crash
/// (Socorro passes it as `--evil-json`). Without a symbolizer no symbol
/// lookups happen at all (`minidump-stackwalk` without symbol sources).
pub async fn walk_blocking(
    dump: &[u8],
    evil_json: Option<&[u8]>,
    symbolizer: Option<&Symbolizer>,
) -> WalkOutput {
    let minidump = match Minidump::read(dump) {
        Ok(m) => m,
        Err(e) => {
            return WalkOutput::failed(
                1,
                "ERROR_MINIDUMP_READ",
                format!("failed to read minidump: {e}"),
            );
        }
    };
    // evil JSON is read from a file by minidump-processor
    let evil_file = match evil_json.map(write_temp).transpose() {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "could not write the raw crash for the stackwalker; walking without it");
            None
        }
    };
    let mut options = ProcessorOptions::default();
    options.evil_json = evil_file.as_ref().map(|f| f.path());
    let processed = match symbolizer {
        Some(s) => minidump_processor::process_minidump_with_options(&minidump, s, options).await,
        None => {
            let none = MultiSymbolProvider::new();
            minidump_processor::process_minidump_with_options(&minidump, &none, options).await
        }
    };
    match processed {
        Ok(state) => {
            let mut buf = Vec::new();
            if let Err(e) = state.print_json(&mut buf, false) {
                return WalkOutput::failed(1, "ERROR_JSON", format!("json output failed: {e}"));
            }
            match serde_json::from_slice::<Value>(&buf) {
                Ok(json) => {
                    let status = json
                        .get("status")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown error")
                        .to_owned();
                    WalkOutput {
                        json_dump: Some(json),
                        return_code: 0,
                        status,
                        stderr: String::new(),
                    }
                }
                Err(e) => WalkOutput::failed(1, "ERROR_JSON", format!("non-json output: {e}")),
            }
        }
        Err(e) => WalkOutput::failed(
            1,
            &format!("ERROR_{}", screaming(e.name())),
            format!("error processing dump: {e}"),
        ),
    }
}

fn write_temp(bytes: &[u8]) -> std::io::Result<tempfile::NamedTempFile> {
    let mut f = tempfile::NamedTempFile::new()?;
    f.write_all(bytes)?;
    f.flush()?;
    Ok(f)
}

/// `MinidumpReadError` -> `MINIDUMP_READ_ERROR`.
fn screaming(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screaming_names() {
        assert_eq!(screaming("MissingThreadList"), "MISSING_THREAD_LIST");
    }

    #[tokio::test]
    async fn garbage_is_an_error_not_a_panic() {
        let out = stackwalk(
            bytes::Bytes::from_static(b"MDMP\x93\xa7garbage"),
            None,
            None,
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(out.return_code, 1);
        assert!(out.json_dump.is_none());
        assert!(out.status.starts_with("ERROR_"), "{}", out.status);
    }
}
