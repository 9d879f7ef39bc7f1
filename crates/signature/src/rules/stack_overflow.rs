//! `StackOverflowSignature`: prefixes `stackoverflow | ` (bug 1796389).

use super::{Rule, RuleError};
use crate::crash_data::CrashData;
use crate::generator::SignatureGenerator;
use crate::result::SignatureResult;

pub(crate) struct StackOverflowSignature;

impl Rule for StackOverflowSignature {
    fn name(&self) -> &'static str {
        "StackOverflowSignature"
    }

    fn predicate(
        &self,
        _: &SignatureGenerator,
        crash: &CrashData,
        _: &SignatureResult,
    ) -> Result<bool, RuleError> {
        Ok(crash.reason.as_deref() == Some("EXCEPTION_STACK_OVERFLOW"))
    }

    fn action(
        &self,
        _: &SignatureGenerator,
        _: &CrashData,
        result: &mut SignatureResult,
    ) -> Result<(), RuleError> {
        let signature = format!("stackoverflow | {}", result.signature);
        result.set_signature(self.name(), signature);
        Ok(())
    }
}
