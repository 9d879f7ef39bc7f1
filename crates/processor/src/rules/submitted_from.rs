//! `SubmittedFromRule`: `submitted_from` and `submitted_from_infobar`.

use async_trait::async_trait;
use serde_json::Value;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

pub struct SubmittedFromRule;

#[async_trait]
impl Rule for SubmittedFromRule {
    fn name(&self) -> &'static str {
        "SubmittedFromRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        if let Some(v) = crash.raw.get("SubmittedFromInfobar").cloned() {
            let infobar = match v {
                Value::Bool(b) => b,
                Value::String(s) => s == "1" || s == "true",
                _ => false,
            };
            crash.set("submitted_from_infobar", infobar);
            crash.set(
                "submitted_from",
                if infobar { "Infobar" } else { "Unknown" },
            );
        } else {
            let from = crash
                .raw_str("SubmittedFrom")
                .unwrap_or("Unknown")
                .to_owned();
            crash.set("submitted_from_infobar", from == "Infobar");
            crash.set("submitted_from", from);
        }
        Ok(())
    }
}
