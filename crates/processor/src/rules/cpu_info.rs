//! `CPUInfoRule` and `AndroidCPUInfoRule`.

use async_trait::async_trait;
use serde_json::Value;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

/// `cpu_info`, `cpu_count`, `cpu_arch`, `cpu_microcode_version` from
/// `json_dump.system_info`.
pub struct CpuInfoRule;

#[async_trait]
impl Rule for CpuInfoRule {
    fn name(&self) -> &'static str {
        "CPUInfoRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let si = crash
            .json_dump()
            .and_then(|j| j.get("system_info"))
            .cloned()
            .unwrap_or(Value::Null);
        let s = |k: &str, d: &str| si.get(k).and_then(Value::as_str).unwrap_or(d).to_owned();
        crash.set("cpu_info", s("cpu_info", "unknown"));
        crash.set("cpu_arch", s("cpu_arch", "unknown"));
        crash.set(
            "cpu_count",
            si.get("cpu_count").and_then(Value::as_i64).unwrap_or(0),
        );
        if let Some(mc) = si.get("cpu_microcode_version").filter(|v| !v.is_null()) {
            crash.set("cpu_microcode_version", mc.clone());
        }
        Ok(())
    }
}

/// Unknown `cpu_arch` derived from `Android_CPU_ABI`.
pub struct AndroidCpuInfoRule;

#[async_trait]
impl Rule for AndroidCpuInfoRule {
    fn name(&self) -> &'static str {
        "AndroidCPUInfoRule"
    }

    fn predicate(&self, crash: &Crash) -> bool {
        crash.raw_str("Android_CPU_ABI").is_some()
            && matches!(crash.get_str("cpu_arch"), None | Some("unknown"))
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let abi = crash.raw_str("Android_CPU_ABI").unwrap_or("").to_owned();
        let arch = match abi.as_str() {
            "armeabi-v7a" => "arm".to_owned(),
            "arm64-v8a" => "arm64".to_owned(),
            "x86_64" => "amd64".to_owned(),
            other => other.to_owned(),
        };
        crash.set("cpu_arch", arch);
        Ok(())
    }
}
