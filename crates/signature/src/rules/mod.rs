//! The rules of Socorro's default signature pipeline, one per file, in
//! pipeline order (see [`PIPELINE`]).

mod abort;
mod bad_hardware;
mod generation;
mod hung_process;
mod ipc_channel_error;
mod ipc_message_name;
mod oom;
mod printable;
mod run_watchdog;
mod shutdown_timeout;
mod stack_overflow;
mod stackwalker_error;
mod truncate;
mod whitespace;

use crate::crash_data::CrashData;
use crate::generator::SignatureGenerator;
use crate::result::SignatureResult;

pub(crate) use generation::generate_from_stack;

/// A rule failed the way a Python exception makes a Socorro rule fail; the
/// pipeline notes `<rule>: Rule failed: <message>` and goes on.
#[derive(Debug)]
pub(crate) struct RuleError(pub String);

/// One signature rule: `action` runs when `predicate` holds.
pub(crate) trait Rule: Sync {
    /// Socorro's class name, used in notes and the trace.
    fn name(&self) -> &'static str;

    /// Whether the rule applies.
    fn predicate(
        &self,
        _generator: &SignatureGenerator,
        _crash: &CrashData,
        _result: &SignatureResult,
    ) -> Result<bool, RuleError> {
        Ok(true)
    }

    /// Changes the result.
    fn action(
        &self,
        generator: &SignatureGenerator,
        crash: &CrashData,
        result: &mut SignatureResult,
    ) -> Result<(), RuleError>;
}

/// Socorro's `DEFAULT_RULESET`, in order. The last three must stay last.
pub(crate) static PIPELINE: &[&dyn Rule] = &[
    &generation::SignatureGenerationRule,
    &stackwalker_error::StackwalkerErrorSignatureRule,
    &bad_hardware::BadHardware,
    &oom::OomSignature,
    &abort::AbortSignature,
    &shutdown_timeout::SignatureShutdownTimeout,
    &run_watchdog::SignatureRunWatchDog,
    &ipc_channel_error::SignatureIpcChannelError,
    &ipc_message_name::SignatureIpcMessageName,
    &stack_overflow::StackOverflowSignature,
    &hung_process::HungProcess,
    &printable::SigPrintableCharsOnly,
    &whitespace::SigFixWhitespace,
    &truncate::SigTruncate,
];

/// Names of the pipeline rules, in order.
pub fn rule_names() -> impl Iterator<Item = &'static str> {
    PIPELINE.iter().map(|r| r.name())
}
