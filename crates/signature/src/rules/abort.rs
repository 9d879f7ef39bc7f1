//! `AbortSignature`: prefixes `Abort | <cleaned message> | ` when the crash
//! has an abort message (bug 803779).

use super::{Rule, RuleError};
use crate::crash_data::CrashData;
use crate::generator::SignatureGenerator;
use crate::py;
use crate::result::SignatureResult;

pub(crate) struct AbortSignature;

/// Longest abort message kept whole.
const MAX_MESSAGE: usize = 80;

/// Cleans an abort message: keeps the text after `###!!! ABORT:`, drops the
/// `: file ...` location, the localised font list of bug 1385966 and
/// non-printable characters, and shortens it to 80 characters.
pub(crate) fn clean_abort_message(message: &str) -> String {
    let mut msg = message;
    if let Some((_, rest)) = msg.split_once("###!!! ABORT:") {
        msg = rest;
    }
    if let Some((head, _)) = msg.split_once(": file ") {
        msg = head;
    }
    let without_font;
    if msg.contains("unable to find a usable font")
        && let Some(open) = msg.find('(')
        && let Some(close) = msg.rfind(')')
    {
        without_font = format!("{}{}", &msg[..open], &msg[close + 1..]);
        msg = &without_font;
    }
    shorten(py::strip(&py::drop_bad_characters(msg)))
}

fn shorten(msg: &str) -> String {
    // Only ASCII is left, so bytes are characters.
    if msg.len() > MAX_MESSAGE {
        format!("{}...", &msg[..MAX_MESSAGE - 3])
    } else {
        msg.to_owned()
    }
}

impl Rule for AbortSignature {
    fn name(&self) -> &'static str {
        "AbortSignature"
    }

    fn predicate(
        &self,
        _: &SignatureGenerator,
        crash: &CrashData,
        _: &SignatureResult,
    ) -> Result<bool, RuleError> {
        Ok(crash
            .abort_message
            .as_deref()
            .is_some_and(|m| !m.is_empty()))
    }

    fn action(
        &self,
        _: &SignatureGenerator,
        crash: &CrashData,
        result: &mut SignatureResult,
    ) -> Result<(), RuleError> {
        let message = crash.abort_message.as_deref().unwrap_or_default();
        let signature = if message.contains("###!!! ABORT: file ") {
            // Only a location, nothing worth keeping.
            format!("Abort | {}", result.signature)
        } else {
            format!(
                "Abort | {} | {}",
                clean_abort_message(message),
                result.signature
            )
        };
        result.set_signature(self.name(), signature);
        Ok(())
    }
}
