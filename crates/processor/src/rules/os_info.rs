//! `OSInfoRule`, `AndroidOSInfoRule` and `PlatformInfoRule`.

use async_trait::async_trait;
use serde_json::Value;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

/// `os_name` and `os_version` from `json_dump.system_info`.
pub struct OsInfoRule;

#[async_trait]
impl Rule for OsInfoRule {
    fn name(&self) -> &'static str {
        "OSInfoRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let si = crash.json_dump().and_then(|j| j.get("system_info"));
        let name = si
            .and_then(|s| s.get("os"))
            .and_then(Value::as_str)
            .unwrap_or("Unknown")
            .to_owned();
        let ver = si
            .and_then(|s| s.get("os_ver"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        crash.set("os_name", name);
        crash.set("os_version", ver);
        Ok(())
    }
}

/// Android: `os_name=Android`, version from `Android_Version`.
pub struct AndroidOsInfoRule;

#[async_trait]
impl Rule for AndroidOsInfoRule {
    fn name(&self) -> &'static str {
        "AndroidOSInfoRule"
    }

    fn predicate(&self, crash: &Crash) -> bool {
        let unknown = matches!(
            crash
                .get_str("os_name")
                .map(str::to_ascii_lowercase)
                .as_deref(),
            None | Some("unknown") | Some("android")
        );
        unknown && crash.raw_str("Android_Version").is_some()
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let v = crash.raw_str("Android_Version").unwrap_or("");
        let ver: String = v
            .split_whitespace()
            .next()
            .unwrap_or("")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        crash.set("os_name", "Android");
        crash.set("os_version", ver);
        Ok(())
    }
}

/// Fills cpu/os fields from annotations where the stackwalk left nothing.
pub struct PlatformInfoRule;

fn empty(v: Option<&str>) -> bool {
    matches!(
        v.map(str::to_ascii_lowercase).as_deref(),
        None | Some("") | Some("unknown")
    )
}

#[async_trait]
impl Rule for PlatformInfoRule {
    fn name(&self) -> &'static str {
        "PlatformInfoRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        for (key, ann) in [
            ("cpu_arch", "CPUArchitecture"),
            ("cpu_info", "CPUInfo"),
            ("os_name", "OS"),
            ("os_version", "OSVersion"),
        ] {
            if empty(crash.get_str(key))
                && let Some(v) = crash
                    .raw_str(ann)
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
            {
                crash.set(key, v);
            }
        }
        Ok(())
    }
}
