//! `HungProcess`: prefixes `hang: <type> | ` for hangs (bug 1826703).

use super::{Rule, RuleError};
use crate::crash_data::CrashData;
use crate::generator::SignatureGenerator;
use crate::result::SignatureResult;

pub(crate) struct HungProcess;

impl Rule for HungProcess {
    fn name(&self) -> &'static str {
        "HungProcess"
    }

    fn predicate(
        &self,
        _: &SignatureGenerator,
        crash: &CrashData,
        _: &SignatureResult,
    ) -> Result<bool, RuleError> {
        Ok(crash.hang.is_some())
    }

    fn action(
        &self,
        _: &SignatureGenerator,
        crash: &CrashData,
        result: &mut SignatureResult,
    ) -> Result<(), RuleError> {
        let hang = crash.hang.as_ref().map(|h| h.py_str()).unwrap_or_default();
        let signature = format!("hang: {hang} | {}", result.signature);
        result.set_signature(self.name(), signature);
        Ok(())
    }
}
