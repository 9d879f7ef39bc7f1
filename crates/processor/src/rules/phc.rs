//! `PHCRule`: probabilistic heap checker fields.

use async_trait::async_trait;
use serde_json::Value;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

pub struct PhcRule;

#[async_trait]
impl Rule for PhcRule {
    fn name(&self) -> &'static str {
        "PHCRule"
    }

    fn predicate(&self, crash: &Crash) -> bool {
        crash.raw.contains_key("PHCKind")
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        if let Some(k) = crash.raw_str("PHCKind").map(str::to_owned) {
            crash.set("phc_kind", k);
        }
        if let Some(b) = crash
            .raw_str("PHCBaseAddress")
            .and_then(|s| s.trim().parse::<u64>().ok())
        {
            crash.set("phc_base_address", format!("{b:#x}"));
        }
        if let Some(n) = crash
            .raw_str("PHCUsableSize")
            .and_then(|s| s.trim().parse::<i64>().ok())
        {
            crash.set("phc_usable_size", n);
        }
        for (key, ann) in [
            ("phc_alloc_stack", "PHCAllocStack"),
            ("phc_free_stack", "PHCFreeStack"),
        ] {
            if let Some(v) = crash.raw_str(ann).map(str::to_owned) {
                crash.set(key, Value::String(v));
            }
        }
        Ok(())
    }
}
