//! What signature generation returns.

use std::fmt;

use serde::{Serialize, Serializer};

/// One line of the rule trace: which rule did what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebugEntry {
    /// Rule name (Socorro's class name, e.g. `SignatureGenerationRule`).
    pub rule: &'static str,
    /// What happened.
    pub message: String,
}

impl fmt::Display for DebugEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule, self.message)
    }
}

/// Serialised as Socorro's `"<rule>: <message>"` string.
impl Serialize for DebugEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The normalised frames of a stack, stored once: their ` | `-joined text
/// (Socorro's `proto_signature`) and where each frame lies in it. One
/// string instead of one per frame: building and dropping them is a large
/// share of a signature's cost otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NormalizedFrames {
    joined: String,
    spans: Vec<(usize, usize)>,
}

impl NormalizedFrames {
    pub(crate) fn with_capacity(frames: usize) -> Self {
        Self {
            joined: String::with_capacity(frames * 32),
            spans: Vec::with_capacity(frames),
        }
    }

    /// Appends a frame.
    #[inline]
    pub(crate) fn push(&mut self, frame: &str) {
        if !self.spans.is_empty() {
            self.joined.push_str(" | ");
        }
        let start = self.joined.len();
        self.joined.push_str(frame);
        self.spans.push((start, self.joined.len()));
    }

    /// Appends frame `i` again.
    #[inline]
    pub(crate) fn push_again(&mut self, i: usize) {
        let Some(&(start, end)) = self.spans.get(i) else {
            return;
        };
        if !self.spans.is_empty() {
            self.joined.push_str(" | ");
        }
        let at = self.joined.len();
        self.joined.extend_from_within(start..end);
        self.spans.push((at, at + end - start));
    }

    /// How many frames.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are no frames.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Frame `i`.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&str> {
        self.spans
            .get(i)
            .map(|&(start, end)| &self.joined[start..end])
    }

    /// The frames in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        self.spans
            .iter()
            .map(|&(start, end)| &self.joined[start..end])
    }

    /// The frames joined with ` | ` (Socorro's `proto_signature`).
    pub fn joined(&self) -> &str {
        &self.joined
    }

    /// The frames as owned strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

/// Serialised as a list of strings.
impl Serialize for NormalizedFrames {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// Extra outputs of the stack-based rule: the normalised frames of C/C++/Rust
/// stacks with frames. Serialises as `proto_signature` (the frames joined
/// with ` | `, indexed and searchable in Socorro) and `normalized_frames`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extra {
    frames: Option<NormalizedFrames>,
}

impl Extra {
    /// All normalised frames joined with ` | ` (Socorro's `proto_signature`).
    pub fn proto_signature(&self) -> Option<&str> {
        self.frames.as_ref().map(NormalizedFrames::joined)
    }

    /// The normalised frames (at most 40, inlines included).
    pub fn normalized_frames(&self) -> Option<&NormalizedFrames> {
        self.frames.as_ref()
    }

    pub(crate) fn set_frames(&mut self, frames: NormalizedFrames) {
        self.frames = Some(frames);
    }
}

impl Serialize for Extra {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let n = if self.frames.is_some() { 2 } else { 0 };
        let mut st = s.serialize_struct("Extra", n)?;
        if let Some(frames) = &self.frames {
            st.serialize_field("proto_signature", frames.joined())?;
            st.serialize_field("normalized_frames", frames)?;
        }
        st.end()
    }
}

/// The generated signature, the notes for the processed crash and the rule
/// trace. Serialises like Socorro's `Result.to_dict()`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SignatureResult {
    /// The signature.
    pub signature: String,
    /// Notes for `processor_notes`, each `"<rule>: <message>"`.
    pub notes: Vec<String>,
    /// Rule trace.
    pub debug_log: Vec<DebugEntry>,
    /// Extra outputs.
    pub extra: Extra,
}

impl SignatureResult {
    /// The rule trace as one string, one entry per line: the processed
    /// crash's `signature_debug` field.
    pub fn debug_text(&self) -> String {
        let mut out = String::new();
        for (i, entry) in self.debug_log.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(entry.rule);
            out.push_str(": ");
            out.push_str(&entry.message);
        }
        out
    }

    /// Replaces the signature and logs the change.
    pub(crate) fn set_signature(&mut self, rule: &'static str, signature: String) {
        let message = concat(&[
            "change signature: \"",
            &self.signature,
            "\" -> \"",
            &signature,
            "\"",
        ]);
        self.debug(rule, message);
        self.signature = signature;
    }

    /// Adds a note.
    pub(crate) fn info(&mut self, rule: &'static str, message: impl fmt::Display) {
        self.notes.push(format!("{rule}: {message}"));
    }

    /// Adds a trace line.
    pub(crate) fn debug(&mut self, rule: &'static str, message: impl Into<String>) {
        self.debug_log.push(DebugEntry {
            rule,
            message: message.into(),
        });
    }
}

/// `parts` concatenated with one exact-size allocation (cheaper than
/// `format!` in the per-crash path).
#[inline]
pub(crate) fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}
