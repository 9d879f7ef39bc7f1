//! `ReportTypeRule`: `hang` or `crash`.

use async_trait::async_trait;
use serde_json::Value;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

pub struct ReportTypeRule;

fn watchdog_in_crashing_thread(crash: &Crash) -> bool {
    let Some(jd) = crash.json_dump() else {
        return false;
    };
    let Some(idx) = jd
        .get("crash_info")
        .and_then(|c| c.get("crashing_thread"))
        .and_then(Value::as_u64)
    else {
        return false;
    };
    jd.get("threads")
        .and_then(|t| t.get(idx as usize))
        .and_then(|t| t.get("frames"))
        .and_then(Value::as_array)
        .is_some_and(|frames| {
            frames.iter().any(|f| {
                f.get("function")
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.contains("RunWatchdog"))
            })
        })
}

#[async_trait]
impl Rule for ReportTypeRule {
    fn name(&self) -> &'static str {
        "ReportTypeRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let set = |k: &str| crash.raw.get(k).is_some_and(|v| !v.is_null() && v != "");
        let hang = set("ipc_channel_error")
            || set("IPCChannelError")
            || set("async_shutdown_timeout")
            || set("AsyncShutdownTimeout")
            || watchdog_in_crashing_thread(crash);
        crash.set("report_type", if hang { "hang" } else { "crash" });
        Ok(())
    }
}
