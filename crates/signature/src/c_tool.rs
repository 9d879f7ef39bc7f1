//! The second half of Socorro's `CSignatureTool`: turning the normalised
//! frame list into a signature with the sentinel, irrelevant and prefix
//! lists.

use crate::result::{DebugEntry, NormalizedFrames, concat};
use crate::siglists::SigLists;

/// Socorro's conditional sentinel: it should apply only when the paired
/// frame is present. Socorro never applies it (keying bug); see
/// [`crate::Quirks::apply_conditional_sentinel`].
const CONDITIONAL_SENTINEL: (&str, &str) = (
    "mozilla::ipc::RPCChannel::Call(IPC::Message*, IPC::Message*)",
    "CrashReporter::CreatePairedMinidumps(void*, unsigned long, nsAString_internal*, nsILocalFile**, nsILocalFile**)",
);

/// What [`generate`] produced (its trace lines go straight to the log).
pub(crate) struct CSignature {
    pub signature: String,
    pub notes: Vec<String>,
}

/// Walks the normalised frames (Socorro's `CSignatureTool.generate`).
/// `crashed_thread` is `None` when no crashing thread is known. Trace lines
/// are appended to `log` under `rule`.
pub(crate) fn generate(
    lists: &SigLists,
    frames: &NormalizedFrames,
    crashed_thread: Option<i64>,
    conditional_sentinel: bool,
    rule: &'static str,
    log: &mut Vec<DebugEntry>,
) -> CSignature {
    let mut notes = Vec::new();
    let mut debug = |message: String| log.push(DebugEntry { rule, message });
    debug(concat(&["using ", lists.source()]));

    // The lowest index of any sentinel is the first frame that is one.
    let mut start = frames.iter().position(|f| lists.is_sentinel(f));
    if conditional_sentinel && frames.iter().any(|f| f == CONDITIONAL_SENTINEL.1) {
        let pos = frames.iter().position(|f| f == CONDITIONAL_SENTINEL.0);
        start = match (start, pos) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let skip = match start.and_then(|i| Some((i, frames.get(i)?))) {
        Some((i, frame)) => {
            let index = i.to_string();
            debug(concat(&[
                "sentinel; starting at \"",
                frame,
                "\" index ",
                &index,
            ]));
            i
        }
        None => 0,
    };
    let source = frames.iter().skip(skip);

    // The kept frames joined with ` | ` (none is empty, so the signature is
    // empty exactly when nothing was kept).
    let mut signature = String::with_capacity(128);
    let mut last_kept: Option<&str> = None;
    for frame in source {
        if frame.is_empty() {
            debug("empty string; ignoring: \"\"".to_owned());
            continue;
        }
        if lists.irrelevant.matches(frame) {
            debug(concat(&["irrelevant; ignoring: \"", frame, "\""]));
            continue;
        }
        if !frame.starts_with("(unloaded") && is_mergeable(frame) && last_kept == Some(frame) {
            continue;
        }
        if last_kept.is_some() {
            signature.push_str(" | ");
        }
        signature.push_str(frame);
        last_kept = Some(frame);
        if !lists.prefix.matches(frame) {
            debug(concat(&["not a prefix; stop: \"", frame, "\""]));
            break;
        }
        debug(concat(&["prefix; continue iterating: \"", frame, "\""]));
    }

    if signature.is_empty() {
        match crashed_thread {
            None => {
                notes.push("CSignatureTool: no crashing thread identified".to_owned());
                signature = "EMPTY: no crashing thread identified".to_owned();
            }
            Some(n) => {
                notes.push(format!(
                    "CSignatureTool: no frame data for crashing thread ({n})"
                ));
                signature = match frames.get(skip) {
                    Some(first) => first.to_owned(),
                    None => "EMPTY: no frame data available".to_owned(),
                };
            }
        }
    }
    CSignature { signature, notes }
}

/// Frames that repeat for every frame of a library without symbols; a run
/// of them counts once.
fn is_mergeable(frame: &str) -> bool {
    let b = frame.as_bytes();
    let ends_with_ci = |suffix: &[u8]| {
        b.len() >= suffix.len() && b[b.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
    };
    ends_with_ci(b".dll")
        || ends_with_ci(b".so")
        || frame == "XUL"
        || frame == "<name omitted>"
        || frame.starts_with("<unknown in")
}
