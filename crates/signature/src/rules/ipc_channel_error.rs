//! `SignatureIPCChannelError`: replaces the signature with
//! `IPCError-browser | <error>` or `IPCError-content | <error>`.

use super::{Rule, RuleError};
use crate::crash_data::CrashData;
use crate::generator::SignatureGenerator;
use crate::py::{self, Scalar};
use crate::result::SignatureResult;

pub(crate) struct SignatureIpcChannelError;

/// Longest channel error kept (in characters).
const MAX_ERROR: usize = 100;

impl Rule for SignatureIpcChannelError {
    fn name(&self) -> &'static str {
        "SignatureIPCChannelError"
    }

    fn predicate(
        &self,
        _: &SignatureGenerator,
        crash: &CrashData,
        _: &SignatureResult,
    ) -> Result<bool, RuleError> {
        Ok(crash.ipc_channel_error.as_ref().is_some_and(Scalar::truthy))
    }

    fn action(
        &self,
        _: &SignatureGenerator,
        crash: &CrashData,
        result: &mut SignatureResult,
    ) -> Result<(), RuleError> {
        let error = match crash.ipc_channel_error.as_ref() {
            Some(Scalar::Str(s)) => py::prefix_chars(s, MAX_ERROR),
            Some(other) => {
                return Err(RuleError(format!(
                    "'{}' object is not subscriptable",
                    other.type_name()
                )));
            }
            None => return Ok(()),
        };
        let process = if crash
            .additional_minidumps
            .iter()
            .any(|m| m == "upload_file_minidump_browser")
        {
            "browser"
        } else {
            "content"
        };
        let signature = format!("IPCError-{process} | {error}");
        result.info(self.name(), "IPC Channel Error stomped on signature");
        result.set_signature(self.name(), signature);
        Ok(())
    }
}
