//! `BadHardware`: prefixes `bad hardware | ` when the crash reason says the
//! device returned a data error (bug 1733904).

use super::{Rule, RuleError};
use crate::crash_data::CrashData;
use crate::generator::SignatureGenerator;
use crate::result::SignatureResult;

pub(crate) struct BadHardware;

impl Rule for BadHardware {
    fn name(&self) -> &'static str {
        "BadHardware"
    }

    fn predicate(
        &self,
        _: &SignatureGenerator,
        crash: &CrashData,
        _: &SignatureResult,
    ) -> Result<bool, RuleError> {
        Ok(crash
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("STATUS_DEVICE_DATA_ERROR")))
    }

    fn action(
        &self,
        _: &SignatureGenerator,
        _: &CrashData,
        result: &mut SignatureResult,
    ) -> Result<(), RuleError> {
        let signature = format!("bad hardware | {}", result.signature);
        result.set_signature(self.name(), signature);
        Ok(())
    }
}
