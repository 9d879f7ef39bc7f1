//! The second half of Socorro's `CSignatureTool`: turning the normalised
//! frame list into a signature with the sentinel, irrelevant and prefix
//! lists.

use crate::siglists::SigLists;

/// Socorro's conditional sentinel: it should apply only when the paired
/// frame is present. Socorro never applies it (keying bug); see
/// [`crate::Quirks::apply_conditional_sentinel`].
const CONDITIONAL_SENTINEL: (&str, &str) = (
    "mozilla::ipc::RPCChannel::Call(IPC::Message*, IPC::Message*)",
    "CrashReporter::CreatePairedMinidumps(void*, unsigned long, nsAString_internal*, nsILocalFile**, nsILocalFile**)",
);

/// What [`generate`] produced.
pub(crate) struct CSignature {
    pub signature: String,
    pub notes: Vec<String>,
    pub debug: Vec<String>,
}

/// Walks the normalised frames (Socorro's `CSignatureTool.generate`).
/// `crashed_thread` is `None` when no crashing thread is known.
pub(crate) fn generate(
    lists: &SigLists,
    frames: &[String],
    crashed_thread: Option<i64>,
    conditional_sentinel: bool,
) -> CSignature {
    let mut notes = Vec::new();
    let mut debug = Vec::with_capacity(16);
    debug.push(["using ", lists.source()].concat());

    // The lowest index of any sentinel is the first frame that is one.
    let mut start = frames.iter().position(|f| lists.is_sentinel(f));
    if conditional_sentinel && frames.iter().any(|f| f == CONDITIONAL_SENTINEL.1) {
        let pos = frames.iter().position(|f| f == CONDITIONAL_SENTINEL.0);
        start = match (start, pos) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let source = match start {
        Some(i) => {
            let index = i.to_string();
            debug.push(["sentinel; starting at \"", &frames[i], "\" index ", &index].concat());
            &frames[i..]
        }
        None => frames,
    };

    let mut kept: Vec<&str> = Vec::with_capacity(8);
    for frame in source {
        let frame = frame.as_str();
        if frame.is_empty() {
            debug.push("empty string; ignoring: \"\"".to_owned());
            continue;
        }
        if lists.irrelevant.matches(frame) {
            debug.push(["irrelevant; ignoring: \"", frame, "\""].concat());
            continue;
        }
        if !frame.starts_with("(unloaded") && is_mergeable(frame) && kept.last() == Some(&frame) {
            continue;
        }
        kept.push(frame);
        if !lists.prefix.matches(frame) {
            debug.push(["not a prefix; stop: \"", frame, "\""].concat());
            break;
        }
        debug.push(["prefix; continue iterating: \"", frame, "\""].concat());
    }

    let mut signature = kept.join(" | ");
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
                signature = match source.first() {
                    Some(first) => first.clone(),
                    None => "EMPTY: no frame data available".to_owned(),
                };
            }
        }
    }
    CSignature {
        signature,
        notes,
        debug,
    }
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
