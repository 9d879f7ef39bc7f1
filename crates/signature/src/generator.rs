//! The signature generator: Socorro's rule pipeline over [`CrashData`].

use std::path::Path;

use crate::crash_data::CrashData;
use crate::result::SignatureResult;
use crate::rules::PIPELINE;
use crate::siglists::{SigListError, SigLists};

/// Longest signature; longer ones are cut to 252 characters plus `...`.
pub const SIGNATURE_MAX_LENGTH: usize = 255;

/// Socorro behaviours that look like bugs but change signatures, so they are
/// reproduced by default for parity. Turn them off to get the intended
/// behaviour instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Quirks {
    /// Socorro reads a missing or non-numeric crashing thread as thread 0,
    /// so `EMPTY: no crashing thread identified` never happens. `false`
    /// gives that signature (and note) instead. Default `true`.
    pub missing_crashing_thread_is_thread_zero: bool,
    /// Socorro's one conditional sentinel
    /// (`mozilla::ipc::RPCChannel::Call(...)` when
    /// `CrashReporter::CreatePairedMinidumps(...)` is on the stack) is never
    /// applied because of a keying bug. `true` applies it. Default `false`.
    pub apply_conditional_sentinel: bool,
    /// A frame function that is empty once C++ qualifiers are stripped
    /// (e.g. `const`, `&`) makes Socorro's stack rule fail: its error path
    /// calls a method that does not exist, so the note is
    /// `SignatureGenerationRule: Rule failed: 'Result' object has no
    /// attribute 'note'` and the signature stays empty. `false` gives the
    /// intended note (`No crashing frames found because of ...`) and an
    /// `EMPTY: no frame data available` signature. Default `true`.
    pub empty_function_fails_rule: bool,
}

impl Default for Quirks {
    fn default() -> Self {
        Self::SOCORRO
    }
}

impl Quirks {
    /// Exactly what Socorro does (the default).
    pub const SOCORRO: Self = Self {
        missing_crashing_thread_is_thread_zero: true,
        apply_conditional_sentinel: false,
        empty_function_fails_rule: true,
    };
    /// The behaviour Socorro's code intends.
    pub const FIXED: Self = Self {
        missing_crashing_thread_is_thread_zero: false,
        apply_conditional_sentinel: true,
        empty_function_fails_rule: false,
    };
}

/// Generates Socorro-compatible signatures. Build once, share freely (it is
/// `Send + Sync`); [`SignatureGenerator::generate`] is pure.
#[derive(Debug, Clone)]
pub struct SignatureGenerator {
    lists: SigLists,
    quirks: Quirks,
}

impl SignatureGenerator {
    /// A generator with the given lists and Socorro's quirks.
    pub fn new(lists: SigLists) -> Self {
        Self::with_quirks(lists, Quirks::default())
    }

    /// A generator with explicit quirk settings.
    pub fn with_quirks(lists: SigLists, quirks: Quirks) -> Self {
        Self { lists, quirks }
    }

    /// A generator with the lists in `dir` (e.g. Mozilla's production lists).
    pub fn mozilla_default(dir: impl AsRef<Path>) -> Result<Self, SigListError> {
        Ok(Self::new(SigLists::load_dir(dir)?))
    }

    /// A generator with the project's embedded generic lists.
    pub fn generic() -> Result<Self, SigListError> {
        Ok(Self::new(SigLists::generic()?))
    }

    /// The lists in use.
    #[inline]
    pub fn lists(&self) -> &SigLists {
        &self.lists
    }

    /// The quirk settings in use.
    #[inline]
    pub fn quirks(&self) -> Quirks {
        self.quirks
    }

    /// The crashing thread rules look at (see
    /// [`Quirks::missing_crashing_thread_is_thread_zero`]).
    #[inline]
    pub(crate) fn crashing_thread(&self, crash: &CrashData) -> Option<i64> {
        match crash.crashing_thread {
            Some(n) => Some(n),
            None if self.quirks.missing_crashing_thread_is_thread_zero => Some(0),
            None => None,
        }
    }

    /// Runs the pipeline. A rule that fails adds the note
    /// `<rule>: Rule failed: <reason>` and the pipeline goes on, like
    /// Socorro.
    pub fn generate(&self, crash: &CrashData) -> SignatureResult {
        let mut result = SignatureResult {
            // Room for a typical trace, so it does not grow step by step.
            debug_log: Vec::with_capacity(16),
            ..SignatureResult::default()
        };
        for rule in PIPELINE {
            let outcome = match rule.predicate(self, crash, &result) {
                Ok(true) => rule.action(self, crash, &mut result),
                Ok(false) => Ok(()),
                Err(e) => Err(e),
            };
            if let Err(e) = outcome {
                result.info(rule.name(), format!("Rule failed: {}", e.0));
            }
        }
        result
    }

    /// Convenience: [`CrashData::from_processed_crash`] then
    /// [`Self::generate`].
    pub fn generate_for_processed_crash(
        &self,
        processed_crash: &serde_json::Value,
    ) -> SignatureResult {
        self.generate(&CrashData::from_processed_crash(processed_crash))
    }
}
