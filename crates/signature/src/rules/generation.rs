//! `SignatureGenerationRule`: the signature from the stack (C/C++/Rust) or
//! from the Java annotations.

use super::{Rule, RuleError};
use crate::crash_data::CrashData;
use crate::generator::SignatureGenerator;
use crate::normalize::{self, NormalizeError};
use crate::result::{NormalizedFrames, SignatureResult};
use crate::{c_tool, java};

pub(crate) struct SignatureGenerationRule;

const NAME: &str = "SignatureGenerationRule";

impl Rule for SignatureGenerationRule {
    fn name(&self) -> &'static str {
        NAME
    }

    fn action(
        &self,
        generator: &SignatureGenerator,
        crash: &CrashData,
        result: &mut SignatureResult,
    ) -> Result<(), RuleError> {
        generate_from_stack(generator, crash, None, result)
    }
}

/// The rule's action; `thread_override` replaces the crashing thread
/// (`SignatureRunWatchDog` uses thread 0).
pub(crate) fn generate_from_stack(
    generator: &SignatureGenerator,
    crash: &CrashData,
    thread_override: Option<i64>,
    result: &mut SignatureResult,
) -> Result<(), RuleError> {
    if let Some(trace) = crash.java_stack_trace.as_ref().filter(|t| t.truthy()) {
        result.debug(NAME, "using JavaSignatureTool");
        let java = java::java_stack_trace_signature(trace);
        for note in java.notes {
            result.info(NAME, note);
        }
        result.set_signature(NAME, java.signature);
        return Ok(());
    }
    if let Some(exception) = crash
        .java_exception
        .as_ref()
        .filter(|e| crate::py::json_truthy(e))
    {
        result.debug(NAME, "using JavaExceptionSignatureTool");
        let java = java::java_exception_signature(exception).map_err(|e| RuleError(e.0))?;
        for note in java.notes {
            result.info(NAME, note);
        }
        result.set_signature(NAME, java.signature);
        return Ok(());
    }

    result.debug(NAME, "using CSignatureTool");
    let crashing_thread = thread_override.or_else(|| generator.crashing_thread(crash));
    let lists = generator.lists();
    let frames = match crashing_thread {
        Some(n) => {
            let windows = crash.os.as_deref() == Some("Windows NT");
            match normalize::create_frame_list(lists, crash.thread(n), windows) {
                Ok(frames) => frames,
                Err(NormalizeError::EmptyFunction)
                    if generator.quirks().empty_function_fails_rule =>
                {
                    // Socorro means to note this, but calls a method that
                    // does not exist and fails the rule instead.
                    return Err(RuleError(
                        "'Result' object has no attribute 'note'".to_owned(),
                    ));
                }
                Err(NormalizeError::EmptyFunction) => {
                    result.info(
                        NAME,
                        format!(
                            "No crashing frames found because of {}",
                            NormalizeError::EmptyFunction.python_message()
                        ),
                    );
                    NormalizedFrames::default()
                }
                Err(e @ NormalizeError::TooDeep) => {
                    return Err(RuleError(e.python_message().to_owned()));
                }
            }
        }
        None => NormalizedFrames::default(),
    };
    let c = c_tool::generate(
        lists,
        &frames,
        crashing_thread,
        generator.quirks().apply_conditional_sentinel,
        NAME,
        &mut result.debug_log,
    );
    if !frames.is_empty() {
        result.extra.set_frames(frames);
    }
    for note in c.notes {
        result.info(NAME, note);
    }
    if !c.signature.is_empty() {
        result.set_signature(NAME, c.signature);
    }
    Ok(())
}
