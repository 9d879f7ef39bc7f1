//! `SignatureRunWatchDog`: shutdown hangs crash on purpose in the watchdog
//! thread; the signature comes from thread 0 instead, prefixed with
//! `shutdownhang | `.

use super::{Rule, RuleError, generate_from_stack};
use crate::crash_data::CrashData;
use crate::generator::SignatureGenerator;
use crate::result::SignatureResult;

pub(crate) struct SignatureRunWatchDog;

impl Rule for SignatureRunWatchDog {
    fn name(&self) -> &'static str {
        "SignatureRunWatchDog"
    }

    fn predicate(
        &self,
        _: &SignatureGenerator,
        _: &CrashData,
        result: &SignatureResult,
    ) -> Result<bool, RuleError> {
        Ok(result.signature.contains("RunWatchdog"))
    }

    fn action(
        &self,
        generator: &SignatureGenerator,
        crash: &CrashData,
        result: &mut SignatureResult,
    ) -> Result<(), RuleError> {
        generate_from_stack(generator, crash, Some(0), result)?;
        let signature = format!("shutdownhang | {}", result.signature);
        result.set_signature(self.name(), signature);
        Ok(())
    }
}
