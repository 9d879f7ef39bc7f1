//! Hook point after a processed crash was saved (search indexing plugs in
//! here). A hook failure is logged and counted; the crash stays saved and
//! the message is acked.

use async_trait::async_trait;
use crash_storage::CrashId;
use serde_json::Value;

pub use crate::error::HookError;

/// Called after every successful save.
#[async_trait]
pub trait AfterSave: Send + Sync + 'static {
    /// Short name for logs.
    fn name(&self) -> &'static str;

    async fn after_save(&self, id: &CrashId, processed: &Value) -> Result<(), HookError>;
}
