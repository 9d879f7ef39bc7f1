//! `MozCrashReasonRule`: `moz_crash_reason_raw` and a sanitized copy.

use async_trait::async_trait;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

pub struct MozCrashReasonRule;

const SANITIZE_PREFIXES: [&str; 3] = [
    "Failed to load module",
    "byte index",
    "do not use eval with system privileges",
];

#[async_trait]
impl Rule for MozCrashReasonRule {
    fn name(&self) -> &'static str {
        "MozCrashReasonRule"
    }

    fn predicate(&self, crash: &Crash) -> bool {
        crash.raw_str("MozCrashReason").is_some()
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let raw = crash.raw_str("MozCrashReason").unwrap_or("").to_owned();
        let public = if SANITIZE_PREFIXES.iter().any(|p| raw.starts_with(p)) {
            "sanitized--see moz_crash_reason_raw".to_owned()
        } else {
            raw.clone()
        };
        crash.set("moz_crash_reason_raw", raw);
        crash.set("moz_crash_reason", public);
        Ok(())
    }
}
