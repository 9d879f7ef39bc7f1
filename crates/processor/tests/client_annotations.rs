//! Crashpad and Electron clients, unchanged: the real processor (both
//! rulesets, generic signature lists, schema check on) over the real
//! Crashpad dumps of the corpus, with the annotations those clients send.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use common::{read, testdata};
use crash_storage::{CrashId, DumpSet, RawCrash};
use minidump::{Minidump, MinidumpAnnotation, MinidumpCrashpadInfo};
use processor::pipeline::{Crash, Processed, Ruleset};
use processor::rules::RuleDeps;
use processor::schema::Schema;
use processor::{Engine, ProcessorSettings, RulesetName, Symbols};
use serde_json::{Map, Value, json};
use signature::SignatureGenerator;

const ID: &str = "de1bb258-cbbf-4589-a673-34f800160918";

/// The rulesets a Crashpad/Electron crash can meet: `default` (generic) and
/// `mozilla` (the configured default of `SOCORRO_PROCESSOR__RULESET`).
const RULESETS: [&str; 2] = ["generic", "mozilla"];

/// The real Chrome dumps written by Crashpad, with the product, version and
/// process type their Crashpad info stream carries (PROVENANCE.md).
const CHROME_DUMPS: [(&str, &str, &str, &str); 3] = [
    (
        "chrome.20210406.155226.62533.9042.dmp",
        "Chrome_ChromeOS",
        "91.0.4466.0",
        "renderer",
    ),
    (
        "chrome.20210706.000145.15087.8090.dmp",
        "Chrome_ChromeOS",
        "93.0.4563.0",
        "renderer",
    ),
    (
        "chrome.20210929.052823.26188.4743.dmp",
        "Chrome_Lacros",
        "95.0.4637.0",
        "browser",
    ),
];

fn dump_path(name: &str) -> PathBuf {
    testdata(&format!("crashpad/chromeos-tast/{name}"))
}

fn engine() -> Engine {
    let settings = ProcessorSettings {
        ruleset: RulesetName::Default,
        time_budget_secs: 60,
        siglists_dir: None,
        schema_file: Some(testdata("socorro/schemas/processed_crash.schema.json")),
        ..Default::default()
    };
    Engine::with_symbols(&settings, Arc::new(Symbols::local(vec![])), None).unwrap()
}

fn schema() -> Schema {
    Schema::from_file(&testdata("socorro/schemas/processed_crash.schema.json")).unwrap()
}

fn raw(v: Value) -> RawCrash {
    let Value::Object(m) = v else {
        panic!("raw must be an object")
    };
    RawCrash(m)
}

async fn process(engine: &Engine, ruleset: &str, raw_crash: Value, dump: Option<Vec<u8>>) -> Value {
    let mut dumps = DumpSet::new();
    if let Some(d) = dump {
        dumps.insert("upload_file_minidump", d);
    }
    engine
        .process(
            CrashId::parse(ID).unwrap(),
            raw(raw_crash),
            dumps,
            Processed::new(),
            Some(ruleset),
        )
        .await
}

fn notes(pc: &Value) -> &str {
    pc["processor_notes"].as_str().unwrap()
}

/// The string annotations of a dump's Crashpad info stream (process-level
/// simple annotations, then each module's simple annotations and string
/// annotation objects): what `crashpad_handler` uploads as form fields.
fn crashpad_annotations(bytes: &[u8]) -> BTreeMap<String, String> {
    let dump = Minidump::read(bytes).unwrap();
    let info: MinidumpCrashpadInfo = dump.get_stream().unwrap();
    let mut out = info.simple_annotations.clone();
    for module in &info.module_list {
        out.extend(module.simple_annotations.clone());
        for (k, v) in &module.annotation_objects {
            if let MinidumpAnnotation::String(s) = v {
                out.insert(k.clone(), s.clone());
            }
        }
    }
    out
}

/// Checks every processed crash must pass: saved-able, schema-valid, with a
/// real signature.
fn assert_valid(pc: &Value, label: &str) {
    assert_eq!(pc["success"], true, "{label}");
    let errors = schema().check(pc);
    assert!(errors.is_empty(), "{label}: {errors:?}");
    assert!(!notes(pc).contains("schema:"), "{label}: {}", notes(pc));
    let sig = pc["signature"].as_str().unwrap();
    assert!(
        !sig.is_empty() && !sig.starts_with("EMPTY"),
        "{label}: {sig}"
    );
}

fn summary(pc: &Value) -> Value {
    let jd = &pc["json_dump"];
    let ct = pc["crashing_thread"].as_u64().map(|c| c as usize);
    let top: Vec<Value> = ct
        .and_then(|c| jd["threads"][c]["frames"].as_array())
        .map(|f| {
            f.iter()
                .take(5)
                .map(|f| json!([f["module"], f["function"], f["module_offset"]]))
                .collect()
        })
        .unwrap_or_default();
    let client_notes: Vec<&str> = notes(pc)
        .lines()
        .filter(|n| {
            n.starts_with("product fields")
                || n.starts_with("electron runtime")
                || n.starts_with("no product name")
                || n.starts_with("os_name from")
        })
        .collect();
    json!({
        "product": pc["product"],
        "version": pc["version"],
        "major_version": pc["major_version"],
        "release_channel": pc["release_channel"],
        "vendor": pc["vendor"],
        "process_type": pc["process_type"],
        "os_name": pc["os_name"],
        "cpu_arch": pc["cpu_arch"],
        "signature": pc["signature"],
        "crashing_thread": pc["crashing_thread"],
        "reason": pc["reason"],
        "mdsw_status_string": pc["mdsw_status_string"],
        "top_frames": top,
        "client_notes": client_notes,
    })
}

#[test]
fn corpus_dumps_carry_the_chromium_crash_keys() {
    for (name, prod, ver, ptype) in CHROME_DUMPS {
        let a = crashpad_annotations(&read(&dump_path(name)));
        assert_eq!(
            a.get("prod").map(String::as_str),
            Some(prod),
            "{name}: {a:?}"
        );
        assert_eq!(a.get("ver").map(String::as_str), Some(ver), "{name}: {a:?}");
        assert_eq!(
            a.get("ptype").map(String::as_str),
            Some(ptype),
            "{name}: {a:?}"
        );
    }
}

/// Each real Crashpad dump, uploaded as `crashpad_handler` does: the dump's
/// own crash keys plus `plat`, `guid` and `channel`.
#[tokio::test]
async fn crashpad_dumps_with_crashpad_annotations() {
    let engine = engine();
    for (name, prod, ver, ptype) in CHROME_DUMPS {
        let dump = read(&dump_path(name));
        let mut annotations: Map<String, Value> = crashpad_annotations(&dump)
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        annotations.insert("plat".into(), "Linux".into());
        annotations.insert("guid".into(), "4c3d2b1a-0f9e-4d8c-b7a6-958473625140".into());
        annotations.insert("channel".into(), "beta".into());
        let expected_pt = if ptype == "browser" {
            "parent"
        } else {
            "content"
        };
        let short = name.split('.').take(3).collect::<Vec<_>>().join(".");
        for ruleset in RULESETS {
            let label = format!("{name} ({ruleset})");
            let pc = process(
                &engine,
                ruleset,
                Value::Object(annotations.clone()),
                Some(dump.clone()),
            )
            .await;
            assert_valid(&pc, &label);
            assert_eq!(pc["mdsw_status_string"], "OK", "{label}");
            assert_eq!(pc["product"], prod, "{label}");
            assert_eq!(pc["version"], ver, "{label}");
            assert_eq!(
                pc["major_version"],
                ver.split('.').next().unwrap().parse::<i64>().unwrap()
            );
            assert_eq!(pc["release_channel"], "beta", "{label}");
            assert_eq!(pc["process_type"], expected_pt, "{label}");
            // the OS comes from the dump, not from `plat`
            assert_eq!(pc["os_name"], "Linux", "{label}");
            assert!(!notes(&pc).contains("os_name from"), "{label}");
            assert!(
                pc.get("guid").is_none(),
                "{label}: guid stays in the raw crash"
            );
            assert!(
                notes(&pc).contains(
                    "product fields from crashpad annotations (prod, ver, channel, ptype)"
                ),
                "{label}: {}",
                notes(&pc)
            );
            if ruleset == "generic" {
                insta::assert_json_snapshot!(format!("crashpad_{short}"), summary(&pc));
            }
        }
    }
}

/// The truncated Chrome upload is not a minidump: the product fields still
/// come from the annotations, and `os_name`/`cpu_arch` from `plat`.
#[tokio::test]
async fn crashpad_annotations_without_a_usable_dump() {
    let engine = engine();
    let dump = read(&dump_path("chrome_crash_report.dmp"));
    let annotations = json!({
        "prod": "Chrome", "ver": "121.0.6167.85", "plat": "Win64",
        "ptype": "gpu-process", "channel": "", "guid": "0f4c",
    });
    for ruleset in RULESETS {
        let pc = process(&engine, ruleset, annotations.clone(), Some(dump.clone())).await;
        assert_eq!(pc["success"], true);
        assert!(schema().check(&pc).is_empty(), "{:?}", schema().check(&pc));
        assert_eq!(pc["product"], "Chrome");
        assert_eq!(pc["version"], "121.0.6167.85");
        assert!(
            pc.get("release_channel").is_none(),
            "empty channel is no channel"
        );
        assert_eq!(pc["process_type"], "gpu");
        assert_eq!(pc["os_name"], "Windows NT");
        assert_eq!(pc["cpu_arch"], "amd64");
        let n = notes(&pc);
        assert!(
            n.contains("product fields from crashpad annotations (prod, ver, ptype)"),
            "{n}"
        );
        assert!(
            n.contains("os_name from crashpad annotation plat (Win64)"),
            "{n}"
        );
    }
}

/// An Electron app's `crashReporter` upload, fields as Electron sends them,
/// with a real Crashpad dump from the corpus.
fn electron_raw() -> Value {
    json!({
        "_productName": "Hello Electron",
        "_version": "1.4.2",
        "_companyName": "Example Corp",
        "prod": "Electron",
        "ver": "28.2.1",
        "process_type": "renderer",
        "ptype": "renderer",
        "platform": "linux",
        "plat": "Linux",
        "guid": "8d1f4a52-7c3e-4b9a-a1d2-3e4f5a6b7c8d",
        "lsb-release": "Ubuntu 22.04.3 LTS",
        // globalExtra: { ReleaseChannel: 'beta', userTier: 'pro' }
        "ReleaseChannel": "beta",
        "userTier": "pro",
    })
}

#[tokio::test]
async fn electron_crash_with_a_corpus_dump() {
    let engine = engine();
    let dump = read(&dump_path("chrome.20210406.155226.62533.9042.dmp"));
    for ruleset in RULESETS {
        let label = format!("electron ({ruleset})");
        let pc = process(&engine, ruleset, electron_raw(), Some(dump.clone())).await;
        assert_valid(&pc, &label);
        assert_eq!(pc["product"], "Hello Electron", "{label}");
        assert_eq!(
            pc["version"], "1.4.2",
            "{label}: never Electron's own version"
        );
        assert_eq!(pc["major_version"], 1, "{label}");
        assert_eq!(pc["vendor"], "Example Corp", "{label}");
        assert_eq!(pc["release_channel"], "beta", "{label}: from globalExtra");
        assert_eq!(pc["process_type"], "content", "{label}");
        assert_eq!(pc["os_name"], "Linux", "{label}");
        let n = notes(&pc);
        assert!(
            n.contains("product fields from electron annotations (_productName, _version, _companyName, process_type)"),
            "{label}: {n}"
        );
        assert!(
            n.contains("electron runtime version 28.2.1 (annotation ver) kept in the raw crash"),
            "{label}: {n}"
        );
        assert!(!n.contains("crashpad annotations"), "{label}: {n}");
        if ruleset == "generic" {
            insta::assert_json_snapshot!("electron_renderer", summary(&pc));
        }
    }
}

/// Both rulesets read the raw crash and never change it: Electron's
/// `prod`/`ver` and the app's `globalExtra` fields stay as sent.
#[tokio::test]
async fn raw_crash_is_never_modified() {
    let deps = RuleDeps {
        symbols: Arc::new(Symbols::local(vec![])),
        signatures: Arc::new(SignatureGenerator::generic().unwrap()),
        time_budget: std::time::Duration::from_secs(60),
        metrics: None,
        db: None,
    };
    let dump = read(&dump_path("chrome.20210929.052823.26188.4743.dmp"));
    let crashpad = json!({"prod": "Chrome_Lacros", "ver": "95.0.4637.0", "ptype": "browser", "plat": "Linux", "guid": "g"});
    for name in [RulesetName::Default, RulesetName::Mozilla] {
        let rs = processor::rules::build(name, &deps);
        for input in [
            electron_raw(),
            crashpad.clone(),
            json!({"ptype": "utility"}),
        ] {
            let mut dumps = DumpSet::new();
            dumps.insert("upload_file_minidump", dump.clone());
            let mut crash = Crash::new(
                CrashId::parse(ID).unwrap(),
                raw(input.clone()),
                dumps,
                Processed::new(),
            );
            Ruleset::process(Some(&rs), name.as_str(), &mut crash, None).await;
            assert_eq!(Value::Object(crash.raw.0.clone()), input, "{name}");
            assert_eq!(crash.processed["success"], true);
        }
    }
}

#[tokio::test]
async fn crash_without_a_product_is_processed_as_unknown() {
    let engine = engine();
    let dump = read(&dump_path("chrome.20210706.000145.15087.8090.dmp"));
    for ruleset in RULESETS {
        for input in [json!({}), json!({"ptype": "utility", "ProductName": ""})] {
            let label = format!("{input} ({ruleset})");
            let pc = process(&engine, ruleset, input, Some(dump.clone())).await;
            assert_valid(&pc, &label);
            assert_eq!(pc["product"], "Unknown", "{label}");
            assert!(
                notes(&pc).contains(
                    "no product name annotation (ProductName, _productName, prod): product is Unknown"
                ),
                "{label}: {}",
                notes(&pc)
            );
        }
        // no dump either: still processed, never dropped
        let pc = process(&engine, ruleset, json!({}), None).await;
        assert_eq!(pc["success"], true);
        assert_eq!(pc["product"], "Unknown");
        assert_eq!(pc["process_type"], "parent");
    }
}

/// Mozilla annotations: the new rule adds nothing (the pipeline snapshots
/// hold the full output).
#[tokio::test]
async fn mozilla_annotations_get_no_client_notes() {
    let engine = engine();
    let dump = read(&dump_path("chrome.20210406.155226.62533.9042.dmp"));
    for ruleset in RULESETS {
        let pc = process(
            &engine,
            ruleset,
            json!({"ProductName": "Firefox", "Version": "120.0", "ReleaseChannel": "release", "ProcessType": "content"}),
            Some(dump.clone()),
        )
        .await;
        assert_valid(&pc, ruleset);
        assert_eq!(pc["product"], "Firefox");
        assert_eq!(pc["version"], "120.0");
        assert_eq!(pc["process_type"], "content");
        let n = notes(&pc);
        assert!(!n.contains("annotations ("), "{n}");
        assert!(!n.contains("Unknown"), "{n}");
    }
}
