//! `IdentifierRule` and `MinidumpSha256HashRule`.

use async_trait::async_trait;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

/// `crash_id` and `uuid`.
pub struct IdentifierRule;

#[async_trait]
impl Rule for IdentifierRule {
    fn name(&self) -> &'static str {
        "IdentifierRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let id = crash.id.to_string();
        crash.set("crash_id", id.clone());
        crash.set("uuid", id);
        Ok(())
    }
}

/// `minidump_sha256_hash` = `metadata.dump_checksums.upload_file_minidump`
/// (older collectors: top-level `dump_checksums`), else `""`.
pub struct MinidumpSha256HashRule;

#[async_trait]
impl Rule for MinidumpSha256HashRule {
    fn name(&self) -> &'static str {
        "MinidumpSha256HashRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let checksums = crash
            .raw
            .metadata()
            .and_then(|m| m.get("dump_checksums"))
            .or_else(|| crash.raw.get("dump_checksums"));
        let hash = checksums
            .and_then(|c| c.get("upload_file_minidump"))
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned();
        crash.set("minidump_sha256_hash", hash);
        Ok(())
    }
}
