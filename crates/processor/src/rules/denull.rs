//! `DeNullRule`: strip `\0` from raw keys and string values.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

pub struct DeNullRule;

#[async_trait]
impl Rule for DeNullRule {
    fn name(&self) -> &'static str {
        "DeNullRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let old = std::mem::take(&mut crash.raw.0);
        let mut clean = Map::with_capacity(old.len());
        for (k, v) in old {
            let k = if k.contains('\0') {
                k.replace('\0', "")
            } else {
                k
            };
            let v = match v {
                Value::String(s) if s.contains('\0') => Value::String(s.replace('\0', "")),
                other => other,
            };
            clean.insert(k, v);
        }
        crash.raw.0 = clean;
        Ok(())
    }
}

/// `DeNoneRule`: drop raw keys whose value is null.
pub struct DeNoneRule;

#[async_trait]
impl Rule for DeNoneRule {
    fn name(&self) -> &'static str {
        "DeNoneRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        crash.raw.0.retain(|_, v| !v.is_null());
        Ok(())
    }
}
