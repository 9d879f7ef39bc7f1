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

/// Extra outputs of the stack-based rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Extra {
    /// All normalised frames joined with ` | ` (indexed and searchable in
    /// Socorro as `proto_signature`). Only for C/C++/Rust stacks with frames.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proto_signature: Option<String>,
    /// The normalised frames (at most 40, inlines included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalized_frames: Option<Vec<String>>,
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
