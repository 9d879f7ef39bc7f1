//! The whole ruleset over the corpus: real Firefox dumps with their
//! annotations, and every kind of malformed dump.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::{read, symbol_tree, testdata};
use crash_storage::{CrashId, DumpSet, RawCrash};
use processor::pipeline::Processed;
use processor::schema::Schema;
use processor::{Engine, ProcessorSettings, RulesetName, SymbolSettings, Symbols};
use serde_json::{Value, json};

const ID: &str = "de1bb258-cbbf-4589-a673-34f800160918";

/// The real-firefox symbol tree, decompressed once per test binary.
fn firefox_symbols() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        symbol_tree(&testdata("real-firefox/symbols"), dir.path());
        dir
    })
    .path()
    .to_owned()
}

fn settings(paths: Vec<PathBuf>, budget_secs: u64) -> ProcessorSettings {
    ProcessorSettings {
        ruleset: RulesetName::Mozilla,
        time_budget_secs: budget_secs,
        siglists_dir: Some(testdata("socorro/siglists")),
        schema_file: Some(testdata("socorro/schemas/processed_crash.schema.json")),
        symbols: SymbolSettings {
            paths: paths.clone(),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn engine(paths: Vec<PathBuf>, budget_secs: u64) -> Engine {
    let s = settings(paths.clone(), budget_secs);
    Engine::with_symbols(&s, Arc::new(Symbols::local(paths)), None).unwrap()
}

fn schema() -> Schema {
    Schema::from_file(&testdata("socorro/schemas/processed_crash.schema.json")).unwrap()
}

async fn process(engine: &Engine, raw: Value, dump: Option<Vec<u8>>) -> Value {
    let Value::Object(raw) = raw else {
        panic!("raw must be an object")
    };
    let mut dumps = DumpSet::new();
    if let Some(d) = dump {
        dumps.insert("upload_file_minidump", d);
    }
    engine
        .process(
            CrashId::parse(ID).unwrap(),
            RawCrash(raw),
            dumps,
            Processed::new(),
            None,
        )
        .await
}

fn notes(pc: &Value) -> &str {
    pc["processor_notes"].as_str().unwrap()
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
    json!({
        "signature": pc["signature"],
        "proto_signature": pc["proto_signature"],
        "crashing_thread": pc["crashing_thread"],
        "reason": pc["reason"],
        "address": pc["address"],
        "os_name": pc["os_name"],
        "os_version": pc["os_version"],
        "os_pretty_version": pc["os_pretty_version"],
        "cpu_arch": pc["cpu_arch"],
        "cpu_count": pc["cpu_count"],
        "product": pc["product"],
        "version": pc["version"],
        "release_channel": pc["release_channel"],
        "process_type": pc["process_type"],
        "moz_crash_reason": pc["moz_crash_reason"],
        "module_count": jd["modules"].as_array().map(Vec::len),
        "thread_count": pc["thread_count"],
        "mdsw_status_string": pc["mdsw_status_string"],
        "top_frames": top,
    })
}

#[tokio::test]
async fn real_firefox_dumps_process_to_thread_modules_os_and_signature() {
    let manifest: Value =
        serde_json::from_slice(&read(&testdata("real-firefox/manifest.json"))).unwrap();
    let engine = engine(vec![firefox_symbols()], 120);
    let schema = schema();
    for entry in manifest["dumps"].as_array().unwrap() {
        let dump = read(&testdata(&format!(
            "real-firefox/{}",
            entry["dump"].as_str().unwrap()
        )));
        let extra: Value = serde_json::from_slice(&read(&testdata(&format!(
            "real-firefox/{}",
            entry["extra"].as_str().unwrap()
        ))))
        .unwrap();
        let name = entry["dump"]
            .as_str()
            .unwrap()
            .trim_start_matches("minidumps/")
            .trim_end_matches(".dmp.xz")
            .to_owned();
        let pc = process(&engine, extra, Some(dump)).await;
        assert_eq!(pc["success"], true, "{name}");
        assert_eq!(pc["mdsw_status_string"], "OK", "{name}: {}", notes(&pc));
        assert!(pc["crashing_thread"].is_u64(), "{name}: no crashing thread");
        assert_eq!(
            pc["json_dump"]["modules"].as_array().unwrap().len() as u64,
            entry["module_count"].as_u64().unwrap(),
            "{name}"
        );
        assert_ne!(pc["os_name"], "Unknown", "{name}");
        let sig = pc["signature"].as_str().unwrap();
        assert!(
            !sig.is_empty() && !sig.starts_with("EMPTY"),
            "{name}: {sig}"
        );
        assert_eq!(pc["product"], entry["ProductName"], "{name}");
        let errors = schema.check(&pc);
        assert!(errors.is_empty(), "{name}: {errors:?}");
        assert!(!notes(&pc).contains("schema:"), "{name}");
        insta::assert_json_snapshot!(format!("firefox_{name}"), summary(&pc));
    }
}

#[tokio::test]
async fn full_processed_crash_shape_for_test_dmp() {
    let engine = engine(vec![testdata("rust-minidump/testdata/symbols")], 60);
    let raw = json!({
        "ProductName": "Firefox",
        "Version": "120.0.1",
        "ReleaseChannel": "release",
        "BuildID": "20231201000000",
        "CrashTime": "1700000000",
        "StartupTime": "1699999000",
        "InstallTime": "1690000000",
        "submitted_timestamp": "2023-11-14T22:13:25.000000+00:00",
        "Add-ons": "%7B972ce4c6-7e08-4474-a285-3208198ce6fd%7D:120.0.1,ext@x",
        "EMCheckCompatibility": "true",
        "metadata": {"dump_checksums": {"upload_file_minidump": "abc"}},
        "MozCrashReason": "MOZ_CRASH(boom)",
        "Breadcrumbs": "{\"values\":[{\"timestamp\":\"2023-01-01T00:00:00\",\"message\":\"m\"}]}",
        "SafeMode": "maybe",
    });
    let dump = read(&testdata("rust-minidump/testdata/test.dmp"));
    let pc = process(&engine, raw, Some(dump)).await;
    assert!(schema().check(&pc).is_empty(), "{:?}", schema().check(&pc));
    assert_eq!(pc["uuid"], ID);
    assert_eq!(pc["crash_id"], ID);
    assert_eq!(pc["signature"], "(anonymous namespace)::CrashFunction");
    assert_eq!(pc["uptime"], 1000);
    assert_eq!(pc["install_age"], 10000000);
    assert_eq!(pc["major_version"], 120);
    assert_eq!(pc["minidump_sha256_hash"], "abc");
    assert_eq!(
        pc["addons"][0],
        "{972ce4c6-7e08-4474-a285-3208198ce6fd} (default theme):120.0.1"
    );
    assert_eq!(pc["addons"][1], "ext@x:NO_VERSION");
    assert_eq!(pc["os_pretty_version"], "Windows XP");
    assert!(notes(&pc).contains("SafeMode has non-boolean value maybe"));
    insta::assert_json_snapshot!("full_processed_crash_test_dmp", pc, {
        ".started_datetime" => "[ts]",
        ".completed_datetime" => "[ts]",
        ".processor_notes" => "[notes]",
        ".signature_debug" => "[debug]",
    });
}

#[tokio::test]
async fn reprocessing_keeps_history_and_regenerate_signature_skips_the_walk() {
    let engine = engine(vec![testdata("rust-minidump/testdata/symbols")], 60);
    let dump = read(&testdata("rust-minidump/testdata/test.dmp"));
    let first = process(
        &engine,
        json!({"ProductName": "Firefox"}),
        Some(dump.clone()),
    )
    .await;
    let Value::Object(prev) = first.clone() else {
        unreachable!()
    };
    let mut dumps = DumpSet::new();
    dumps.insert("upload_file_minidump", dump);
    let again = engine
        .process(
            CrashId::parse(ID).unwrap(),
            RawCrash(serde_json::Map::new()),
            dumps,
            prev,
            Some("regenerate_signature"),
        )
        .await;
    assert_eq!(again["signature"], first["signature"]);
    assert_eq!(again["json_dump"], first["json_dump"]);
    assert_eq!(again["processor_history"][0], first["processor_notes"]);
    let n = notes(&again);
    assert!(!n.contains("MinidumpStackwalkRule"), "{n}");
}

#[tokio::test]
async fn no_dump_gives_empty_signature_with_annotations_as_platform() {
    let engine = engine(vec![], 60);
    let pc = process(
        &engine,
        json!({"ProductName": "Firefox", "OS": "Linux", "CPUArchitecture": "amd64"}),
        None,
    )
    .await;
    assert_eq!(pc["success"], true);
    assert!(pc.get("json_dump").is_none());
    assert!(
        pc["signature"]
            .as_str()
            .unwrap()
            .starts_with("EMPTY: no frame data available")
    );
    assert_eq!(pc["os_name"], "Linux");
    assert_eq!(pc["cpu_arch"], "amd64");
}

/// Every malformed input yields a saved-able processed crash with notes,
/// quickly, without panicking.
#[tokio::test]
async fn malformed_dumps_become_notes() {
    let engine = engine(vec![], 30);
    let schema = schema();
    let test_dmp = read(&testdata("rust-minidump/testdata/test.dmp"));
    let mut rng_state = 0x2545_f491_4f6c_dd1du64;
    let random: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            rng_state ^= rng_state << 13;
            rng_state ^= rng_state >> 7;
            rng_state ^= rng_state << 17;
            rng_state as u8
        })
        .collect();
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("zero-size".into(), Vec::new()),
        ("random-bytes".into(), random),
        ("header-only".into(), test_dmp[..32].to_vec()),
        (
            "truncated-half".into(),
            test_dmp[..test_dmp.len() / 2].to_vec(),
        ),
        ("truncated-4k".into(), test_dmp[..4096].to_vec()),
    ];
    for f in [
        "invalid-range.dmp",
        "invalid-record-count.dmp",
        "invalid-parameter.dmp",
    ] {
        cases.push((
            f.into(),
            read(&testdata(&format!("rust-minidump/testdata/{f}"))),
        ));
    }
    cases.push((
        "chrome_crash_report.dmp".into(),
        read(&testdata("crashpad/chromeos-tast/chrome_crash_report.dmp")),
    ));
    for f in ["microdump-arm.dmp", "microdump-x86.dmp"] {
        cases.push((
            f.into(),
            read(&testdata(&format!("breakpad/processor-testdata/{f}"))),
        ));
    }
    let mut statuses = Vec::new();
    for (name, bytes) in cases {
        let start = Instant::now();
        let pc = process(&engine, json!({"ProductName": "Firefox"}), Some(bytes)).await;
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{name} took too long"
        );
        assert_eq!(pc["success"], true, "{name}");
        assert!(pc["signature"].is_string(), "{name}");
        assert!(
            schema.check(&pc).is_empty(),
            "{name}: {:?}",
            schema.check(&pc)
        );
        let status = pc["mdsw_status_string"].as_str().unwrap().to_owned();
        if status != "OK" {
            assert!(
                notes(&pc).contains("MinidumpStackwalkRule"),
                "{name}: {}",
                notes(&pc)
            );
        }
        statuses.push(json!([name, status, pc["signature"]]));
    }
    insta::assert_json_snapshot!("malformed_dumps", statuses);
}

#[tokio::test]
async fn stackwalk_time_budget_is_enforced() {
    // a walk that takes far longer than the budget (inlines + a 4 MB .sym)
    let dir = tempfile::tempdir().unwrap();
    symbol_tree(&testdata("rust-minidump/testdata/symbols"), dir.path());
    let symbols = Symbols::local(vec![dir.path().to_owned()]);
    let dump = read(&testdata(
        "rust-minidump/testdata/pipeline-inlines-macos-segv.dmp",
    ));
    let start = Instant::now();
    let out = processor::stackwalk::stackwalk(
        dump.into(),
        None,
        symbols.symbolizer(),
        Duration::from_millis(5),
    )
    .await;
    assert_eq!(out.return_code, -9, "{out:?}");
    assert!(out.json_dump.is_none());
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "returned at the budget"
    );
}

#[tokio::test]
async fn beta_versions_are_looked_up_by_build_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = db::Db::open(&Default::default(), dir.path()).await.unwrap();
    db.product_versions()
        .insert(&db::product_versions::NewProductVersion {
            product_name: "Firefox".into(),
            release_channel: "beta".into(),
            major_version: 120,
            release_version: "120.0".into(),
            version_string: "120.0b4".into(),
            build_id: "20231201000000".into(),
            archive_url: None,
        })
        .await
        .unwrap();
    let s = settings(vec![], 30);
    let engine = Engine::build(&s, Arc::new(Symbols::local(vec![])), None, Some(db)).unwrap();
    let raw = |build: &str| json!({"ProductName": "Firefox", "ReleaseChannel": "beta", "Version": "120.0", "BuildID": build});
    let pc = process(&engine, raw("20231201000000"), None).await;
    assert_eq!(pc["version"], "120.0b4");
    let pc = process(&engine, raw("20231202000000"), None).await;
    assert_eq!(pc["version"], "120.0b0");
    assert!(notes(&pc).contains(
        "release channel is beta but no version data was found - added \"b0\" suffix to version number"
    ));
}
