//! `SignatureIPCMessageName`: appends ` | IPC_Message_Name=<name>`.

use super::{Rule, RuleError};
use crate::crash_data::CrashData;
use crate::generator::SignatureGenerator;
use crate::py::Scalar;
use crate::result::SignatureResult;

pub(crate) struct SignatureIpcMessageName;

impl Rule for SignatureIpcMessageName {
    fn name(&self) -> &'static str {
        "SignatureIPCMessageName"
    }

    fn predicate(
        &self,
        _: &SignatureGenerator,
        crash: &CrashData,
        _: &SignatureResult,
    ) -> Result<bool, RuleError> {
        Ok(crash.ipc_message_name.as_ref().is_some_and(Scalar::truthy))
    }

    fn action(
        &self,
        _: &SignatureGenerator,
        crash: &CrashData,
        result: &mut SignatureResult,
    ) -> Result<(), RuleError> {
        let name = crash
            .ipc_message_name
            .as_ref()
            .map(Scalar::py_str)
            .unwrap_or_default();
        let signature = format!("{} | IPC_Message_Name={name}", result.signature);
        result.set_signature(self.name(), signature);
        Ok(())
    }
}
