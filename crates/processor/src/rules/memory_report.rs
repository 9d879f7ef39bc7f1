//! `OutOfMemoryBinaryRule`: the gzipped `memory_report` dump decoded into
//! `memory_report` (at most 20 MiB decompressed).

use async_trait::async_trait;
use serde_json::Value;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

pub struct OutOfMemoryBinaryRule;

const MAX_DECOMPRESSED: usize = 20 * 1024 * 1024;

#[async_trait]
impl Rule for OutOfMemoryBinaryRule {
    fn name(&self) -> &'static str {
        "OutOfMemoryBinaryRule"
    }

    fn predicate(&self, crash: &Crash) -> bool {
        crash.dumps.get("memory_report").is_some()
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let Some(data) = crash.dumps.get("memory_report").cloned() else {
            return Ok(());
        };
        let decoded = service::limits::gunzip_capped(&data, MAX_DECOMPRESSED)
            .map_err(|e| format!("error in gzip for memory_report: {e}"))
            .and_then(|bytes| {
                serde_json::from_slice::<Value>(&bytes)
                    .map_err(|e| format!("error in json for memory_report: {e}"))
            });
        match decoded {
            Ok(report) => crash.set("memory_report", report),
            Err(error) => {
                crash.note(format!("memory_report: {error}"));
                crash.set("memory_report_error", error);
            }
        }
        Ok(())
    }
}
