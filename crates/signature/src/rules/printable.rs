//! `SigPrintableCharsOnly`: keeps only printable ASCII.

use super::{Rule, RuleError};
use crate::crash_data::CrashData;
use crate::generator::SignatureGenerator;
use crate::py;
use crate::result::SignatureResult;

pub(crate) struct SigPrintableCharsOnly;

impl Rule for SigPrintableCharsOnly {
    fn name(&self) -> &'static str {
        "SigPrintableCharsOnly"
    }

    fn action(
        &self,
        _: &SignatureGenerator,
        _: &CrashData,
        result: &mut SignatureResult,
    ) -> Result<(), RuleError> {
        let stripped = py::strip(&result.signature);
        // Branch-free over all bytes (so it vectorises), not `all()`.
        if stripped.len() == result.signature.len()
            && stripped
                .bytes()
                .fold(true, |ok, b| ok & (b' '..=b'~').contains(&b))
        {
            return Ok(());
        }
        let cleaned = py::drop_bad_characters(stripped);
        if cleaned != result.signature {
            result.set_signature(self.name(), cleaned);
            result.info(self.name(), "unprintable characters removed");
        }
        Ok(())
    }
}
