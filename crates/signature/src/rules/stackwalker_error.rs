//! `StackwalkerErrorSignatureRule`: appends the stackwalker status to
//! `EMPTY` signatures.

use super::{Rule, RuleError};
use crate::crash_data::CrashData;
use crate::generator::SignatureGenerator;
use crate::result::SignatureResult;

pub(crate) struct StackwalkerErrorSignatureRule;

impl Rule for StackwalkerErrorSignatureRule {
    fn name(&self) -> &'static str {
        "StackwalkerErrorSignatureRule"
    }

    fn predicate(
        &self,
        _: &SignatureGenerator,
        crash: &CrashData,
        result: &SignatureResult,
    ) -> Result<bool, RuleError> {
        Ok(result.signature.starts_with("EMPTY")
            && crash
                .mdsw_status_string
                .as_ref()
                .is_some_and(|s| s.truthy()))
    }

    fn action(
        &self,
        _: &SignatureGenerator,
        crash: &CrashData,
        result: &mut SignatureResult,
    ) -> Result<(), RuleError> {
        let status = crash
            .mdsw_status_string
            .as_ref()
            .map(|s| s.py_str())
            .unwrap_or_default();
        let signature = format!("{}; {status}", result.signature);
        result.set_signature(self.name(), signature);
        Ok(())
    }
}
