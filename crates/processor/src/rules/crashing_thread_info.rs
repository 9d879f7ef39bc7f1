//! `CrashingThreadInfoRule`: `crashing_thread`, `crashing_thread_name`,
//! `reason`, `address`, `last_error_value` from `json_dump`.

use async_trait::async_trait;
use serde_json::Value;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

pub struct CrashingThreadInfoRule;

/// Socorro's address adjustment (`adjusted_address`).
pub fn adjusted_address(crash_info: &Value) -> Value {
    let address = crash_info.get("address").cloned().unwrap_or(Value::Null);
    let Some(adjusted) = crash_info.get("adjusted_address").filter(|v| v.is_object()) else {
        return address;
    };
    match adjusted.get("kind").and_then(Value::as_str) {
        Some("null-pointer") => {
            let long = address.as_str().is_some_and(|a| a.len() == 18);
            Value::String(
                if long {
                    "0x0000000000000000"
                } else {
                    "0x00000000"
                }
                .to_owned(),
            )
        }
        Some("non-canonical") => match adjusted.get("address") {
            Some(a) if !a.is_null() => a.clone(),
            _ => address,
        },
        _ => address,
    }
}

#[async_trait]
impl Rule for CrashingThreadInfoRule {
    fn name(&self) -> &'static str {
        "CrashingThreadInfoRule"
    }

    fn predicate(&self, crash: &Crash) -> bool {
        crash.json_dump().is_some()
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let Some(jd) = crash.json_dump() else {
            return Ok(());
        };
        let null = Value::Null;
        let crash_info = jd.get("crash_info").unwrap_or(&null);
        let crashing = crash_info
            .get("crashing_thread")
            .cloned()
            .unwrap_or(Value::Null);
        let thread = jd.get("crashing_thread").unwrap_or(&null);
        let name = thread.get("thread_name").cloned().unwrap_or(Value::Null);
        let last_error = thread
            .get("last_error_value")
            .cloned()
            .unwrap_or(Value::Null);
        let reason = crash_info
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let address = adjusted_address(crash_info);
        if crashing.is_null() {
            crash.note("mdsw did not identify the crashing thread");
        }
        crash.set("crashing_thread", crashing);
        crash.set("crashing_thread_name", name);
        crash.set("reason", reason);
        crash.set("address", address);
        if last_error.is_string() {
            crash.set("last_error_value", last_error);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn address_adjustments() {
        assert_eq!(
            adjusted_address(
                &json!({"address":"0x0000000000000010","adjusted_address":{"kind":"null-pointer","offset":"0x10"}})
            ),
            json!("0x0000000000000000")
        );
        assert_eq!(
            adjusted_address(
                &json!({"address":"0x00000010","adjusted_address":{"kind":"null-pointer"}})
            ),
            json!("0x00000000")
        );
        assert_eq!(
            adjusted_address(
                &json!({"address":"0xffff800000000000","adjusted_address":{"kind":"non-canonical","address":"0x10"}})
            ),
            json!("0x10")
        );
        assert_eq!(
            adjusted_address(&json!({"address":"0x45","adjusted_address":null})),
            json!("0x45")
        );
    }
}
