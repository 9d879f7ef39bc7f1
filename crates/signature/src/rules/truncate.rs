//! `SigTruncate`: caps signatures at 255 characters.

use super::{Rule, RuleError};
use crate::crash_data::CrashData;
use crate::generator::{SIGNATURE_MAX_LENGTH, SignatureGenerator};
use crate::py;
use crate::result::SignatureResult;

pub(crate) struct SigTruncate;

impl Rule for SigTruncate {
    fn name(&self) -> &'static str {
        "SigTruncate"
    }

    fn predicate(
        &self,
        _: &SignatureGenerator,
        _: &CrashData,
        result: &SignatureResult,
    ) -> Result<bool, RuleError> {
        // A string has at most as many characters as bytes.
        Ok(result.signature.len() > SIGNATURE_MAX_LENGTH
            && result.signature.chars().count() > SIGNATURE_MAX_LENGTH)
    }

    fn action(
        &self,
        _: &SignatureGenerator,
        _: &CrashData,
        result: &mut SignatureResult,
    ) -> Result<(), RuleError> {
        let signature = format!(
            "{}...",
            py::prefix_chars(&result.signature, SIGNATURE_MAX_LENGTH - 3)
        );
        result.set_signature(self.name(), signature);
        result.info(self.name(), "SigTrunc: signature truncated due to length");
        Ok(())
    }
}
