//! `CollectorMetadataRule` and `ConvertModuleSignatureInfoRule`.

use async_trait::async_trait;
use serde_json::Value;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

/// `collector_metadata` = raw `metadata` (`{}` if absent).
pub struct CollectorMetadataRule;

#[async_trait]
impl Rule for CollectorMetadataRule {
    fn name(&self) -> &'static str {
        "CollectorMetadataRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let md = crash
            .raw
            .get("metadata")
            .cloned()
            .unwrap_or_else(|| Value::Object(Default::default()));
        crash.set("collector_metadata", md);
        Ok(())
    }
}

/// Raw: JSON-encode a non-string `ModuleSignatureInfo`.
pub struct ConvertModuleSignatureInfoRule;

#[async_trait]
impl Rule for ConvertModuleSignatureInfoRule {
    fn name(&self) -> &'static str {
        "ConvertModuleSignatureInfoRule"
    }

    fn predicate(&self, crash: &Crash) -> bool {
        crash
            .raw
            .get("ModuleSignatureInfo")
            .is_some_and(|v| !v.is_string())
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        if let Some(v) = crash.raw.get("ModuleSignatureInfo").cloned() {
            crash
                .raw
                .insert("ModuleSignatureInfo", Value::String(v.to_string()));
        }
        Ok(())
    }
}
