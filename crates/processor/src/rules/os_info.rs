//! `OSInfoRule`, `AndroidOSInfoRule` and `PlatformInfoRule`.

use async_trait::async_trait;
use serde_json::Value;

use super::client_annotations::{AnnotationSet, plat_cpu_arch, platform_os_name};
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

/// Fills cpu/os fields from annotations where the stackwalk left nothing:
/// Mozilla's `CPUArchitecture`, `CPUInfo`, `OS`, `OSVersion`; then, for
/// `os_name`, Electron's `platform` or Crashpad's `plat` mapped to the
/// stackwalker's names (`Win64` → `Windows NT`, `OS X` → `Mac OS X`, ...;
/// unmapped values kept as sent, `unknown` ignored), and for `cpu_arch`
/// Crashpad's `Win32` (`x86`) / `Win64` (`amd64`). A value taken from
/// `platform`/`plat` gets a note.
pub struct PlatformInfoRule;

/// The client platform annotations, best first (Electron's, then
/// Crashpad's, as for the product fields).
const PLATFORM_ANNOTATIONS: [(&str, AnnotationSet); 2] = [
    ("platform", AnnotationSet::Electron),
    ("plat", AnnotationSet::Crashpad),
];

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
        if empty(crash.get_str("os_name"))
            && let Some((annotation, set, value)) =
                PLATFORM_ANNOTATIONS.iter().find_map(|&(a, set)| {
                    let v = crash
                        .raw_str(a)
                        .map(str::trim)
                        .filter(|v| !empty(Some(v)))?;
                    Some((a, set, v.to_owned()))
                })
        {
            let os = platform_os_name(&value).map_or_else(|| value.clone(), str::to_owned);
            crash.set("os_name", os);
            crash.note(format!(
                "os_name from {} annotation {annotation} ({value})",
                set.as_str()
            ));
        }
        if empty(crash.get_str("cpu_arch"))
            && let Some(arch) = crash.raw_str("plat").and_then(plat_cpu_arch)
        {
            crash.set("cpu_arch", arch);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crash_storage::{CrashId, DumpSet, RawCrash};
    use serde_json::json;

    async fn platform(raw: Value, processed: Value) -> Crash {
        let id = CrashId::parse("de1bb258-cbbf-4589-a673-34f800160918").unwrap();
        let (Value::Object(raw), Value::Object(processed)) = (raw, processed) else {
            panic!("objects")
        };
        let mut c = Crash::new(id, RawCrash(raw), DumpSet::new(), processed);
        PlatformInfoRule.act(&mut c).await.unwrap();
        c
    }

    #[tokio::test]
    async fn crashpad_plat_fills_os_and_cpu_when_the_dump_says_nothing() {
        let c = platform(
            json!({"plat": "Win64"}),
            json!({"os_name": "Unknown", "cpu_arch": "unknown"}),
        )
        .await;
        assert_eq!(c.processed["os_name"], "Windows NT");
        assert_eq!(c.processed["cpu_arch"], "amd64");
        assert_eq!(c.notes, ["os_name from crashpad annotation plat (Win64)"]);
    }

    #[tokio::test]
    async fn electron_platform_and_unmapped_values() {
        let c = platform(json!({"platform": "darwin"}), json!({})).await;
        assert_eq!(c.processed["os_name"], "Mac OS X");
        assert!(c.processed.get("cpu_arch").is_none());
        assert_eq!(
            c.notes,
            ["os_name from electron annotation platform (darwin)"]
        );
        let c = platform(json!({"plat": "OS X", "platform": "darwin"}), json!({})).await;
        assert_eq!(c.processed["os_name"], "Mac OS X");
        assert_eq!(
            c.notes,
            ["os_name from electron annotation platform (darwin)"]
        );
        // Electron says `unknown` on other systems: Crashpad's `plat` then
        let c = platform(json!({"plat": "Fuchsia", "platform": "unknown"}), json!({})).await;
        assert_eq!(c.processed["os_name"], "Fuchsia");
        assert_eq!(c.notes, ["os_name from crashpad annotation plat (Fuchsia)"]);
    }

    #[tokio::test]
    async fn dump_and_os_annotation_win_over_plat() {
        let c = platform(
            json!({"plat": "Win32"}),
            json!({"os_name": "Linux", "cpu_arch": "amd64"}),
        )
        .await;
        assert_eq!(c.processed["os_name"], "Linux");
        assert_eq!(c.processed["cpu_arch"], "amd64");
        assert!(c.notes.is_empty());
        let c = platform(json!({"plat": "Win32", "OS": "Windows NT"}), json!({})).await;
        assert_eq!(c.processed["os_name"], "Windows NT");
        assert_eq!(c.processed["cpu_arch"], "x86");
        assert!(c.notes.is_empty());
    }
}
