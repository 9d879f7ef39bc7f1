//! `OOMSignature`: `OOM | small`, `OOM | large | ...` or
//! `OOM | unknown | ...` for out-of-memory crashes (bug 1007530).

use super::{Rule, RuleError};
use crate::crash_data::CrashData;
use crate::generator::SignatureGenerator;
use crate::py::Scalar;
use crate::result::SignatureResult;

pub(crate) struct OomSignature;

/// Signature fragments that mean an OOM.
const FRAGMENTS: [&str; 5] = [
    "NS_ABORT_OOM",
    "mozalloc_handle_oom",
    "CrashAtUnhandlableOOM",
    "AutoEnterOOMUnsafeRegion",
    "alloc::oom::oom",
];
/// Searchers for [`FRAGMENTS`] (built once, not per signature).
static FRAGMENT_FINDERS: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 5]> =
    std::sync::LazyLock::new(|| FRAGMENTS.map(memchr::memmem::Finder::new));
/// Searchers for `OOM` and `oom`, which every fragment contains.
static OOM_FINDERS: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 2]> =
    std::sync::LazyLock::new(|| ["OOM", "oom"].map(memchr::memmem::Finder::new));
/// Crash reasons that mean an OOM.
const REASONS: [&str; 2] = ["STATUS_FATAL_MEMORY_EXHAUSTION", "STATUS_NO_MEMORY"];
/// Windows last-error values that mean an OOM.
const LAST_ERRORS: [&str; 2] = ["ERROR_COMMITMENT_LIMIT", "ERROR_NOT_ENOUGH_MEMORY"];
/// Allocations up to this size are "small".
const SMALL_MAX: i128 = 262_144;

fn js_reporting(crash: &CrashData) -> bool {
    matches!(&crash.js_large_allocation_failure, Some(Scalar::Str(s)) if s == "Reporting")
}

impl Rule for OomSignature {
    fn name(&self) -> &'static str {
        "OOMSignature"
    }

    fn predicate(
        &self,
        generator: &SignatureGenerator,
        crash: &CrashData,
        result: &SignatureResult,
    ) -> Result<bool, RuleError> {
        if crash.oom_allocation_size.is_some_and(|s| s != 0) {
            return Ok(true);
        }
        let signature = &result.signature;
        if signature.is_empty() {
            return Ok(false);
        }
        // Every fragment contains `OOM` or `oom`: most signatures are ruled
        // out by those two searches.
        let maybe = OOM_FINDERS
            .iter()
            .any(|f| f.find(signature.as_bytes()).is_some());
        if maybe
            && FRAGMENT_FINDERS
                .iter()
                .any(|f| f.find(signature.as_bytes()).is_some())
        {
            return Ok(true);
        }
        let last_error = generator
            .crashing_thread(crash)
            .and_then(|n| crash.thread(n))
            .and_then(|t| t.last_error_value.as_deref());
        if last_error.is_some_and(|e| LAST_ERRORS.contains(&e)) {
            return Ok(true);
        }
        if crash
            .reason
            .as_deref()
            .is_some_and(|r| REASONS.contains(&r))
        {
            return Ok(true);
        }
        Ok(js_reporting(crash))
    }

    fn action(
        &self,
        _: &SignatureGenerator,
        crash: &CrashData,
        result: &mut SignatureResult,
    ) -> Result<(), RuleError> {
        let signature = if js_reporting(crash) {
            format!("OOM | large | {}", result.signature)
        } else {
            match crash.oom_allocation_size {
                None => format!("OOM | unknown | {}", result.signature),
                Some(size) if size <= SMALL_MAX => "OOM | small".to_owned(),
                Some(_) => format!("OOM | large | {}", result.signature),
            }
        };
        result.set_signature(self.name(), signature);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fragment_contains_oom() {
        for fragment in FRAGMENTS {
            assert!(
                fragment.contains("OOM") || fragment.contains("oom"),
                "{fragment}"
            );
        }
    }
}
