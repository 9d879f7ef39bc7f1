//! `PossibleBitFlipsRule`, `CrashInconsistenciesRule`, `HasGuardPageAccessRule`:
//! three flags read from `json_dump.crash_info`.

use async_trait::async_trait;
use serde_json::Value;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

fn crash_info(crash: &Crash) -> Option<&Value> {
    crash.json_dump().and_then(|j| j.get("crash_info"))
}

/// `possible_bit_flips_max_confidence` = int(max confidence x 100).
pub struct PossibleBitFlipsRule;

#[async_trait]
impl Rule for PossibleBitFlipsRule {
    fn name(&self) -> &'static str {
        "PossibleBitFlipsRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let max = crash_info(crash)
            .and_then(|c| c.get("possible_bit_flips"))
            .and_then(Value::as_array)
            .and_then(|flips| {
                flips
                    .iter()
                    .filter_map(|f| f.get("confidence").and_then(Value::as_f64))
                    .reduce(f64::max)
            });
        if let Some(max) = max {
            crash.set("possible_bit_flips_max_confidence", (max * 100.0) as i64);
        }
        Ok(())
    }
}

/// `crash_inconsistencies`.
pub struct CrashInconsistenciesRule;

#[async_trait]
impl Rule for CrashInconsistenciesRule {
    fn name(&self) -> &'static str {
        "CrashInconsistenciesRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        if let Some(v) = crash_info(crash)
            .and_then(|c| c.get("crash_inconsistencies"))
            .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
            .cloned()
        {
            crash.set("crash_inconsistencies", v);
        }
        Ok(())
    }
}

/// `has_guard_page_access` when a memory access is likely a guard page.
pub struct HasGuardPageAccessRule;

#[async_trait]
impl Rule for HasGuardPageAccessRule {
    fn name(&self) -> &'static str {
        "HasGuardPageAccessRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let guard = crash_info(crash)
            .and_then(|c| c.get("memory_accesses"))
            .and_then(Value::as_array)
            .is_some_and(|a| {
                a.iter()
                    .any(|m| m.get("is_likely_guard_page").and_then(Value::as_bool) == Some(true))
            });
        if guard {
            crash.set("has_guard_page_access", true);
        }
        Ok(())
    }
}
