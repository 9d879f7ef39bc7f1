//! `ClientAnnotationsRule`: `product`, `version`, `release_channel`,
//! `vendor` (and, through [`resolve`], `process_type`) for crashes whose
//! client does not use Mozilla's annotation names.
//!
//! Three annotation sets are understood:
//!
//! * **Mozilla / Breakpad**: `ProductName`, `Version`, `ReleaseChannel`,
//!   `BuildID`, `ProcessType`, `Vendor` (copied by `CopyFromRawCrashRule`).
//! * **Electron** (`crashReporter`): `_productName`, `_version`,
//!   `_companyName`, `process_type`, `platform`. Electron also sends
//!   `prod=Electron` and `ver=<Electron version>`: those describe the
//!   runtime, not the app, and are never used as the app's product or
//!   version (they stay in the raw crash).
//! * **Crashpad** (Chromium's crash keys): `prod`, `ver`, `channel`, `ptype`,
//!   `plat`, `guid`.
//!
//! Each field takes the first non-empty annotation of its row in
//! [`PRECEDENCE`]; Mozilla names always win, so a Mozilla crash comes out
//! exactly as before and gets no note. A crash without any product name
//! gets `product = "Unknown"` and a note. Values taken from the Electron or
//! Crashpad sets are named in a processor note. The raw crash is only read.

use async_trait::async_trait;
use crash_storage::RawCrash;
use serde_json::Value;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

/// The annotation vocabularies, in precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AnnotationSet {
    /// Breakpad / Mozilla names (`ProductName`, `Version`, ...).
    Mozilla,
    /// Electron's `crashReporter` names (`_productName`, `_version`, ...).
    Electron,
    /// Crashpad / Chromium crash keys (`prod`, `ver`, `ptype`, ...).
    Crashpad,
}

impl AnnotationSet {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mozilla => "mozilla",
            Self::Electron => "electron",
            Self::Crashpad => "crashpad",
        }
    }
}

/// One source of a field: the set and the annotation name.
pub type Source = (AnnotationSet, &'static str);

/// Processed field → its sources, best first. Crashpad's `prod` and `ver`
/// are skipped for Electron crashes (see [`is_electron`]).
pub const PRECEDENCE: &[(&str, &[Source])] = &[
    (
        "product",
        &[
            (AnnotationSet::Mozilla, "ProductName"),
            (AnnotationSet::Electron, "_productName"),
            (AnnotationSet::Crashpad, "prod"),
        ],
    ),
    (
        "version",
        &[
            (AnnotationSet::Mozilla, "Version"),
            (AnnotationSet::Electron, "_version"),
            (AnnotationSet::Crashpad, "ver"),
        ],
    ),
    (
        "release_channel",
        &[
            (AnnotationSet::Mozilla, "ReleaseChannel"),
            (AnnotationSet::Crashpad, "channel"),
        ],
    ),
    (
        "vendor",
        &[
            (AnnotationSet::Mozilla, "Vendor"),
            (AnnotationSet::Electron, "_companyName"),
        ],
    ),
    (
        "process_type",
        &[
            (AnnotationSet::Mozilla, "ProcessType"),
            (AnnotationSet::Electron, "process_type"),
            (AnnotationSet::Crashpad, "ptype"),
        ],
    ),
];

/// Crashpad annotations that, in an Electron crash, describe Electron
/// itself (`prod=Electron`, `ver=<Electron version>`).
const ELECTRON_RUNTIME_KEYS: &[&str] = &["prod", "ver"];

/// `product` when no annotation names one.
pub const UNKNOWN_PRODUCT: &str = "Unknown";

/// A derived value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced {
    pub value: String,
    pub set: AnnotationSet,
    pub annotation: &'static str,
}

/// The product fields a raw crash yields (`None`: no annotation for it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductFields {
    /// Whether the crash comes from Electron's `crashReporter`.
    pub electron: bool,
    pub product: Option<Sourced>,
    pub version: Option<Sourced>,
    pub release_channel: Option<Sourced>,
    pub vendor: Option<Sourced>,
    /// Already mapped to Socorro's names (`parent`, `content`, `gpu`, ...).
    pub process_type: Option<Sourced>,
    /// Electron's own version (raw `ver`) in an Electron crash.
    pub electron_runtime_version: Option<String>,
}

impl ProductFields {
    fn fields(&self) -> [(&'static str, Option<&Sourced>); 5] {
        [
            ("product", self.product.as_ref()),
            ("version", self.version.as_ref()),
            ("release_channel", self.release_channel.as_ref()),
            ("vendor", self.vendor.as_ref()),
            ("process_type", self.process_type.as_ref()),
        ]
    }
}

/// An annotation as trimmed text; `None` when absent, null or blank.
fn text(raw: &RawCrash, key: &str) -> Option<String> {
    let s = match raw.get(key)? {
        Value::Null => return None,
        Value::String(s) => s.trim().to_owned(),
        other => other.to_string(),
    };
    (!s.is_empty()).then_some(s)
}

/// Whether the crash was sent by Electron's `crashReporter`: `prod` is
/// `Electron`, or one of Electron's own `_productName`, `_version`,
/// `_companyName` is set.
pub fn is_electron(raw: &RawCrash) -> bool {
    text(raw, "prod").is_some_and(|p| p.eq_ignore_ascii_case("electron"))
        || ["_productName", "_version", "_companyName"]
            .iter()
            .any(|k| text(raw, k).is_some())
}

/// Socorro's process type for a Crashpad `ptype` or Electron
/// `process_type`: `browser` → `parent`, `renderer` → `content`,
/// `gpu-process` → `gpu`, `ppapi` → `plugin`, `utility` stays; anything
/// else is kept as sent.
pub fn socorro_process_type(ptype: &str) -> String {
    match ptype.to_ascii_lowercase().as_str() {
        "browser" => "parent".to_owned(),
        "renderer" => "content".to_owned(),
        "gpu-process" => "gpu".to_owned(),
        "ppapi" => "plugin".to_owned(),
        "utility" => "utility".to_owned(),
        _ => ptype.to_owned(),
    }
}

/// Socorro's `os_name` (the stackwalker's `system_info.os`) for a Crashpad
/// `plat` or Electron `platform` value; `None` when there is no mapping.
pub fn platform_os_name(plat: &str) -> Option<&'static str> {
    Some(match plat.trim().to_ascii_lowercase().as_str() {
        "win32" | "win64" | "windows" => "Windows NT",
        "os x" | "mac os x" | "macos" | "mac" | "darwin" => "Mac OS X",
        "linux" => "Linux",
        "android" => "Android",
        "ios" => "iOS",
        _ => return None,
    })
}

/// `cpu_arch` implied by Crashpad's Windows `plat` (`Win32` is an x86
/// build, `Win64` an x86-64 one); only Crashpad's exact spelling counts
/// (Electron's `platform=win32` says nothing about the CPU).
pub fn plat_cpu_arch(plat: &str) -> Option<&'static str> {
    match plat.trim() {
        "Win32" => Some("x86"),
        "Win64" => Some("amd64"),
        _ => None,
    }
}

/// The product fields of a raw crash, following [`PRECEDENCE`].
pub fn resolve(raw: &RawCrash) -> ProductFields {
    let electron = is_electron(raw);
    let pick = |field: &str| -> Option<Sourced> {
        let sources = PRECEDENCE
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, s)| *s)
            .unwrap_or_default();
        sources.iter().find_map(|&(set, annotation)| {
            if electron
                && set == AnnotationSet::Crashpad
                && ELECTRON_RUNTIME_KEYS.contains(&annotation)
            {
                return None;
            }
            text(raw, annotation).map(|value| Sourced {
                value,
                set,
                annotation,
            })
        })
    };
    // `ProcessTypeRule` keeps Socorro's exact rule whenever `ProcessType`
    // is a string (even an empty one): `main` → `parent`, else as sent.
    let process_type = match raw.get_str("ProcessType") {
        Some(pt) => Some(Sourced {
            value: if pt == "main" { "parent" } else { pt }.to_owned(),
            set: AnnotationSet::Mozilla,
            annotation: "ProcessType",
        }),
        None => pick("process_type")
            .filter(|s| s.set != AnnotationSet::Mozilla)
            .map(|s| Sourced {
                value: socorro_process_type(&s.value),
                ..s
            }),
    };
    ProductFields {
        electron,
        product: pick("product"),
        version: pick("version"),
        release_channel: pick("release_channel"),
        vendor: pick("vendor"),
        process_type,
        electron_runtime_version: electron.then(|| text(raw, "ver")).flatten(),
    }
}

/// The processor notes for `fields`: one per non-Mozilla set used, the
/// Electron runtime version, and the `Unknown` product.
pub fn notes(fields: &ProductFields) -> Vec<String> {
    let mut notes = Vec::new();
    for set in [AnnotationSet::Electron, AnnotationSet::Crashpad] {
        let used: Vec<&str> = fields
            .fields()
            .iter()
            .filter_map(|(_, s)| s.filter(|s| s.set == set).map(|s| s.annotation))
            .collect();
        if !used.is_empty() {
            notes.push(format!(
                "product fields from {} annotations ({})",
                set.as_str(),
                used.join(", ")
            ));
        }
    }
    if let Some(v) = &fields.electron_runtime_version {
        notes.push(format!(
            "electron runtime version {v} (annotation ver) kept in the raw crash"
        ));
    }
    if fields.product.is_none() {
        notes.push(format!(
            "no product name annotation (ProductName, _productName, prod): product is {UNKNOWN_PRODUCT}"
        ));
    }
    notes
}

/// Sets the product fields that Mozilla annotations did not provide (runs
/// right after `CopyFromRawCrashRule`; `process_type` is set by
/// `ProcessTypeRule`).
pub struct ClientAnnotationsRule;

#[async_trait]
impl Rule for ClientAnnotationsRule {
    fn name(&self) -> &'static str {
        "ClientAnnotationsRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let fields = resolve(&crash.raw);
        for (key, sourced) in fields.fields() {
            if key == "process_type" {
                continue;
            }
            if let Some(s) = sourced
                && s.set != AnnotationSet::Mozilla
            {
                crash.set(key, s.value.clone());
            }
        }
        if fields.product.is_none() {
            crash.set("product", UNKNOWN_PRODUCT);
        }
        let notes = notes(&fields);
        if !notes.is_empty() {
            tracing::debug!(crash_id = %crash.id, electron = fields.electron, "product fields from client annotations");
        }
        for note in notes {
            crash.note(note);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Processed;
    use crate::rules::copy_from_raw::CopyFromRawCrashRule;
    use crate::rules::product_fields::{MajorVersionRule, ProcessTypeRule};
    use crash_storage::{CrashId, DumpSet};
    use serde_json::json;

    fn raw(v: Value) -> RawCrash {
        match v {
            Value::Object(m) => RawCrash(m),
            _ => panic!("object"),
        }
    }

    fn src(value: &str, set: AnnotationSet, annotation: &'static str) -> Option<Sourced> {
        Some(Sourced {
            value: value.to_owned(),
            set,
            annotation,
        })
    }

    use AnnotationSet::{Crashpad, Electron, Mozilla};

    /// Runs the rules that derive the product fields, in ruleset order.
    async fn run(v: Value) -> Crash {
        let id = CrashId::parse("de1bb258-cbbf-4589-a673-34f800160918").unwrap();
        let mut c = Crash::new(id, raw(v), DumpSet::new(), Processed::new());
        CopyFromRawCrashRule.act(&mut c).await.unwrap();
        ClientAnnotationsRule.act(&mut c).await.unwrap();
        MajorVersionRule.act(&mut c).await.unwrap();
        ProcessTypeRule.act(&mut c).await.unwrap();
        c
    }

    #[test]
    fn precedence_table_order() {
        for (field, sources) in PRECEDENCE {
            let sets: Vec<AnnotationSet> = sources.iter().map(|(s, _)| *s).collect();
            let mut sorted = sets.clone();
            sorted.sort();
            assert_eq!(
                sets, sorted,
                "{field}: Mozilla, then Electron, then Crashpad"
            );
            assert_eq!(sets[0], Mozilla, "{field}: Mozilla names come first");
        }
    }

    #[test]
    fn mozilla_names_win() {
        let f = resolve(&raw(json!({
            "ProductName": "Firefox", "Version": "120.0", "ReleaseChannel": "beta",
            "ProcessType": "content", "Vendor": "Mozilla",
            "_productName": "X", "_version": "9", "prod": "Y", "ver": "8",
            "channel": "dev", "ptype": "renderer", "_companyName": "Z",
        })));
        assert_eq!(f.product, src("Firefox", Mozilla, "ProductName"));
        assert_eq!(f.version, src("120.0", Mozilla, "Version"));
        assert_eq!(f.release_channel, src("beta", Mozilla, "ReleaseChannel"));
        assert_eq!(f.vendor, src("Mozilla", Mozilla, "Vendor"));
        assert_eq!(f.process_type, src("content", Mozilla, "ProcessType"));
        // only the Electron runtime note (these keys mark an Electron crash)
        assert!(notes(&f).iter().all(|n| !n.starts_with("product fields")));
    }

    #[test]
    fn crashpad_names() {
        let f = resolve(&raw(json!({
            "prod": "Chrome_Linux", "ver": "120.0.6099.71", "channel": "beta",
            "ptype": "renderer", "plat": "Linux", "guid": "abc",
        })));
        assert!(!f.electron);
        assert_eq!(f.product, src("Chrome_Linux", Crashpad, "prod"));
        assert_eq!(f.version, src("120.0.6099.71", Crashpad, "ver"));
        assert_eq!(f.release_channel, src("beta", Crashpad, "channel"));
        assert_eq!(f.vendor, None);
        assert_eq!(f.process_type, src("content", Crashpad, "ptype"));
        assert_eq!(
            notes(&f),
            ["product fields from crashpad annotations (prod, ver, channel, ptype)"]
        );
    }

    #[test]
    fn electron_names_and_runtime() {
        let f = resolve(&raw(json!({
            "_productName": "Slacky", "_version": "4.36.1", "_companyName": "Acme",
            "prod": "Electron", "ver": "28.1.0", "process_type": "renderer",
            "ptype": "renderer", "platform": "darwin", "plat": "OS X",
        })));
        assert!(f.electron);
        assert_eq!(f.product, src("Slacky", Electron, "_productName"));
        assert_eq!(f.version, src("4.36.1", Electron, "_version"));
        assert_eq!(f.vendor, src("Acme", Electron, "_companyName"));
        assert_eq!(f.process_type, src("content", Electron, "process_type"));
        assert_eq!(f.release_channel, None);
        assert_eq!(f.electron_runtime_version.as_deref(), Some("28.1.0"));
        assert_eq!(
            notes(&f),
            [
                "product fields from electron annotations (_productName, _version, _companyName, process_type)",
                "electron runtime version 28.1.0 (annotation ver) kept in the raw crash",
            ]
        );
    }

    #[test]
    fn electron_runtime_never_becomes_the_app() {
        // prod=Electron alone: Electron's version is not the app's version
        let f = resolve(&raw(json!({"prod": "Electron", "ver": "28.1.0"})));
        assert!(f.electron);
        assert_eq!(f.product, None);
        assert_eq!(f.version, None);
        // an Electron app without _version does not get Electron's version
        let f = resolve(&raw(
            json!({"_productName": "App", "prod": "Electron", "ver": "28.1.0"}),
        ));
        assert_eq!(f.product, src("App", Electron, "_productName"));
        assert_eq!(f.version, None);
        // a lower-case prod=electron is the same
        assert!(is_electron(&raw(json!({"prod": "electron"}))));
    }

    #[test]
    fn electron_global_extra_with_mozilla_names() {
        // globalExtra: { ProductName, ReleaseChannel } win per field
        let f = resolve(&raw(json!({
            "_productName": "app", "_version": "1.2.3", "prod": "Electron", "ver": "30.0.0",
            "ProductName": "MyApp", "ReleaseChannel": "beta", "channel": "",
        })));
        assert_eq!(f.product, src("MyApp", Mozilla, "ProductName"));
        assert_eq!(f.version, src("1.2.3", Electron, "_version"));
        assert_eq!(f.release_channel, src("beta", Mozilla, "ReleaseChannel"));
        assert_eq!(
            notes(&f)[0],
            "product fields from electron annotations (_version)"
        );
    }

    #[test]
    fn blank_values_do_not_count() {
        let f = resolve(&raw(json!({
            "ProductName": "  ", "_productName": "", "prod": "Chrome", "ver": null,
            "channel": " ", "ptype": "",
        })));
        assert_eq!(f.product, src("Chrome", Crashpad, "prod"));
        assert_eq!(f.version, None);
        assert_eq!(f.release_channel, None);
        assert_eq!(f.process_type, None);
        let f = resolve(&raw(json!({"prod": " Chrome \n"})));
        assert_eq!(f.product, src("Chrome", Crashpad, "prod"));
    }

    #[test]
    fn no_product_is_unknown_with_a_note() {
        let f = resolve(&raw(json!({"ptype": "gpu-process"})));
        assert_eq!(f.product, None);
        assert_eq!(
            notes(&f),
            [
                "product fields from crashpad annotations (ptype)",
                "no product name annotation (ProductName, _productName, prod): product is Unknown",
            ]
        );
    }

    #[test]
    fn process_type_mapping() {
        for (from, to) in [
            ("browser", "parent"),
            ("renderer", "content"),
            ("gpu-process", "gpu"),
            ("utility", "utility"),
            ("ppapi", "plugin"),
            ("Renderer", "content"),
            ("node", "node"),
            ("zygote", "zygote"),
            ("crashpad-handler", "crashpad-handler"),
        ] {
            assert_eq!(socorro_process_type(from), to, "{from}");
        }
        // ProcessType keeps Socorro's rule exactly
        let pt = |v: Value| resolve(&raw(v)).process_type.map(|s| s.value);
        assert_eq!(
            pt(json!({"ProcessType": "main"})).as_deref(),
            Some("parent")
        );
        assert_eq!(pt(json!({"ProcessType": ""})).as_deref(), Some(""));
        assert_eq!(
            pt(json!({"ProcessType": "gpu", "ptype": "renderer"})).as_deref(),
            Some("gpu")
        );
        assert_eq!(
            pt(json!({"process_type": "node", "ptype": "browser"})).as_deref(),
            Some("node")
        );
        assert_eq!(pt(json!({})), None);
    }

    #[test]
    fn platform_mapping() {
        for (from, to) in [
            ("Win32", Some("Windows NT")),
            ("Win64", Some("Windows NT")),
            ("win32", Some("Windows NT")),
            ("OS X", Some("Mac OS X")),
            ("darwin", Some("Mac OS X")),
            ("Linux", Some("Linux")),
            ("linux", Some("Linux")),
            ("Android", Some("Android")),
            ("iOS", Some("iOS")),
            ("Fuchsia", None),
        ] {
            assert_eq!(platform_os_name(from), to, "{from}");
        }
        assert_eq!(plat_cpu_arch("Win32"), Some("x86"));
        assert_eq!(plat_cpu_arch("Win64"), Some("amd64"));
        assert_eq!(plat_cpu_arch("win32"), None);
        assert_eq!(plat_cpu_arch("Linux"), None);
    }

    #[tokio::test]
    async fn rule_sets_fields_and_leaves_raw_alone() {
        let input = json!({
            "prod": "Chrome", "ver": "121.0.6167.85", "channel": "stable",
            "ptype": "gpu-process", "plat": "Win64", "guid": "0f4c",
        });
        let c = run(input.clone()).await;
        assert_eq!(Value::Object(c.raw.0.clone()), input);
        assert_eq!(c.processed["product"], "Chrome");
        assert_eq!(c.processed["version"], "121.0.6167.85");
        assert_eq!(c.processed["release_channel"], "stable");
        assert_eq!(c.processed["process_type"], "gpu");
        assert_eq!(c.processed["major_version"], 121);
        assert!(c.processed.get("guid").is_none());
        assert_eq!(
            c.notes,
            ["product fields from crashpad annotations (prod, ver, channel, ptype)"]
        );
    }

    #[tokio::test]
    async fn rule_is_a_no_op_for_mozilla_crashes() {
        let input = json!({
            "ProductName": "Firefox", "Version": "120.0.1", "ReleaseChannel": "release",
            "BuildID": "20231201000000", "ProcessType": "main",
        });
        let c = run(input.clone()).await;
        let mut without = Crash::new(
            c.id.clone(),
            raw(input.clone()),
            DumpSet::new(),
            Processed::new(),
        );
        CopyFromRawCrashRule.act(&mut without).await.unwrap();
        MajorVersionRule.act(&mut without).await.unwrap();
        ProcessTypeRule.act(&mut without).await.unwrap();
        assert_eq!(c.processed, without.processed);
        assert!(c.notes.is_empty(), "{:?}", c.notes);
        assert_eq!(c.processed["process_type"], "parent");
    }

    #[tokio::test]
    async fn rule_sets_unknown_and_default_process_type() {
        let c = run(json!({"guid": "x"})).await;
        assert_eq!(c.processed["product"], "Unknown");
        assert_eq!(c.processed["process_type"], "parent");
        assert_eq!(c.processed["major_version"], 0);
        assert!(c.processed.get("version").is_none());
        assert_eq!(
            c.notes,
            ["no product name annotation (ProductName, _productName, prod): product is Unknown"]
        );
    }

    #[tokio::test]
    async fn blank_mozilla_version_falls_back_consistently() {
        let c = run(json!({"Version": " ", "prod": "Chrome", "ver": "122.0.1"})).await;
        assert_eq!(c.processed["version"], "122.0.1");
        assert_eq!(c.processed["major_version"], 122);
        // a non-string Version is not read, as in Socorro
        let c = run(json!({"ProductName": "Firefox", "Version": 120})).await;
        assert_eq!(c.processed["version"], "120");
        assert_eq!(c.processed["major_version"], 0);
    }

    #[tokio::test]
    async fn rule_on_electron_crash() {
        let c = run(json!({
            "_productName": "Slacky", "_version": "4.36.1", "_companyName": "Acme",
            "prod": "Electron", "ver": "28.1.0", "process_type": "browser",
            "platform": "win32", "appSession": "s-1",
        }))
        .await;
        assert_eq!(c.processed["product"], "Slacky");
        assert_eq!(c.processed["version"], "4.36.1");
        assert_eq!(c.processed["vendor"], "Acme");
        assert_eq!(c.processed["process_type"], "parent");
        assert_eq!(c.processed["major_version"], 4);
        assert!(c.processed.get("release_channel").is_none());
        assert_eq!(c.raw.get_str("ver"), Some("28.1.0"));
        assert_eq!(c.raw.get_str("appSession"), Some("s-1"));
    }
}
