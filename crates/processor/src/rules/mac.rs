//! `MacBootArgsRule` and `MacCrashInfoRule`.

use async_trait::async_trait;
use serde_json::Value;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

/// `mac_boot_args` (+ `has_mac_boot_args`) from `json_dump.mac_boot_args`.
pub struct MacBootArgsRule;

#[async_trait]
impl Rule for MacBootArgsRule {
    fn name(&self) -> &'static str {
        "MacBootArgsRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let args = crash
            .json_dump()
            .and_then(|j| j.get("mac_boot_args"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(args) = args {
            crash.set("has_mac_boot_args", !args.is_empty());
            crash.set("mac_boot_args", args);
        }
        Ok(())
    }
}

/// `mac_crash_info` = sorted JSON text of `json_dump.mac_crash_info` when
/// it has records.
pub struct MacCrashInfoRule;

#[async_trait]
impl Rule for MacCrashInfoRule {
    fn name(&self) -> &'static str {
        "MacCrashInfoRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let info = crash
            .json_dump()
            .and_then(|j| j.get("mac_crash_info"))
            .filter(|i| i.get("num_records").and_then(Value::as_i64).unwrap_or(0) > 0)
            .cloned();
        if let Some(info) = info {
            // serde_json maps are sorted (no preserve_order): sort_keys for free
            crash.set("mac_crash_info", info.to_string());
        }
        Ok(())
    }
}
