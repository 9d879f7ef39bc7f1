//! `SignatureGeneratorRule` (through the `signature` crate) and
//! `ShutDownHangCrashingThreadRule`.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use signature::SignatureGenerator;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

pub struct SignatureGeneratorRule {
    pub generator: Arc<SignatureGenerator>,
}

#[async_trait]
impl Rule for SignatureGeneratorRule {
    fn name(&self) -> &'static str {
        "SignatureGeneratorRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        // borrow the processed crash as a Value without copying json_dump
        let view = Value::Object(std::mem::take(&mut crash.processed));
        let result = self.generator.generate_for_processed_crash(&view);
        if let Value::Object(map) = view {
            crash.processed = map;
        }
        crash.set("signature", result.signature.clone());
        if let Some(proto) = result.extra.proto_signature() {
            crash.set("proto_signature", proto);
        }
        crash.set("signature_debug", result.debug_text());
        for note in result.notes {
            crash.note(note);
        }
        Ok(())
    }
}

/// Shutdown hangs are attributed to the main thread: `crashing_thread=0`.
pub struct ShutDownHangCrashingThreadRule;

#[async_trait]
impl Rule for ShutDownHangCrashingThreadRule {
    fn name(&self) -> &'static str {
        "ShutDownHangCrashingThreadRule"
    }

    fn predicate(&self, crash: &Crash) -> bool {
        crash
            .get_str("signature")
            .is_some_and(|s| s.starts_with("shutdownhang"))
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        crash.set("crashing_thread", 0);
        Ok(())
    }
}
