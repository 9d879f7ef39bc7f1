//! `ESRVersionRewrite`: `version += "esr"` on the esr channel.

use async_trait::async_trait;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

pub struct EsrVersionRewrite;

#[async_trait]
impl Rule for EsrVersionRewrite {
    fn name(&self) -> &'static str {
        "ESRVersionRewrite"
    }

    fn predicate(&self, crash: &Crash) -> bool {
        crash.raw_str("ReleaseChannel") == Some("esr")
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        match crash.get_str("version").map(str::to_owned) {
            Some(v) => crash.set("version", format!("{v}esr")),
            None => crash.note("'version' missing from esr release processed_crash"),
        }
        Ok(())
    }
}
