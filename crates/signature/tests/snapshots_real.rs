//! Signatures of the real crashes in `shared/testdata`, snapshot-tested.
//!
//! Inputs: the six historical Socorro processed crashes
//! (`socorro/historical/processed/*.json.xz`, 2015 stackwalker output), the
//! sample processed crash, and rust-minidump's expected `minidump-stackwalk`
//! JSON outputs (`rust-minidump/expected/*json*.snap`), each wrapped as a
//! processed crash's `json_dump`. Each snapshot holds the signature, notes,
//! proto signature and rule trace with Mozilla's lists and with the generic
//! lists. The Mozilla-list signatures are also checked against the values
//! Socorro itself generates for these crashes.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: panics are failures

mod common;

use std::path::Path;

use serde_json::{Value, json};
use signature::SignatureGenerator;

fn read_xz_json(path: &Path) -> Value {
    let compressed = std::fs::read(path).expect("readable");
    let mut out = Vec::new();
    lzma_rs::xz_decompress(&mut compressed.as_slice(), &mut out).expect("valid xz");
    serde_json::from_slice(&out).expect("JSON")
}

/// The JSON body of an insta `.snap` file (after the second `---` line).
fn read_snap_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("readable");
    let body = text.splitn(3, "---\n").nth(2).expect("snap body");
    serde_json::from_str(body).expect("JSON body")
}

fn inputs() -> Vec<(String, Value)> {
    let td = common::testdata();
    let mut out = Vec::new();
    let hist = td.join("socorro/historical/processed");
    let mut files: Vec<_> = std::fs::read_dir(&hist)
        .expect("historical dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let id = name.trim_end_matches(".json.xz");
        out.push((format!("historical-{id}"), read_xz_json(&path)));
    }
    let sample = std::fs::read(td.join("socorro/historical/processed_crash.json")).expect("sample");
    out.push((
        "historical-sample".to_owned(),
        serde_json::from_slice(&sample).expect("JSON"),
    ));
    let expected = td.join("rust-minidump/expected");
    let mut snaps: Vec<_> = std::fs::read_dir(&expected)
        .expect("expected dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains("json") && n.ends_with(".snap"))
        })
        .collect();
    snaps.sort();
    for path in snaps {
        let stem = path.file_stem().and_then(|n| n.to_str()).expect("stem");
        let name = stem.trim_start_matches("test_minidump_stackwalk__");
        out.push((
            format!("rust-minidump-{name}"),
            json!({ "json_dump": read_snap_json(&path) }),
        ));
    }
    out
}

/// What Socorro (its own code, Mozilla's lists) generates for these crashes.
const SOCORRO: &[(&str, &str)] = &[
    (
        "historical-31576563-8052-48b4-b58a-74a892151130",
        "shutdownhang | memset | arena_dalloc | mozilla::net::CacheFileChunk::~CacheFileChunk",
    ),
    (
        "historical-51011379-0517-47ff-940f-e7b272151130",
        "libflashplayer.so",
    ),
    (
        "historical-66c85e0e-8947-48bb-b3c1-a73a62151130",
        "libc.so | js_compare_strings",
    ),
    (
        "historical-6a677f32-6b3a-4038-a4ae-12e582151130",
        "shutdownhang | _PR_MD_WAIT_CV | _PR_WaitCondVar | PR_Wait | mozilla::ReentrantMonitor::Wait",
    ),
    (
        "historical-7ca49cf6-c01c-4c76-8b0c-60bf72151130",
        "BaseThreadInitThunk",
    ),
    (
        "historical-b8540676-ae18-4751-ab3b-7229d2151130",
        "shutdownhang | KiIntSystemCall",
    ),
    ("historical-sample", "EMPTY: no frame data available"),
    (
        "rust-minidump-json-pretty-evil-symbols",
        "(anonymous namespace)::CrashFunction",
    ),
    (
        "rust-minidump-json-pretty-symbols",
        "(anonymous namespace)::CrashFunction",
    ),
    ("rust-minidump-json-pretty-unloaded", "(unloaded many.dll)"),
    ("rust-minidump-json-pretty", "test_app.exe"),
    ("rust-minidump-json-stable-all", "test_app.exe"),
    ("rust-minidump-json-unstable-all", "test_app.exe"),
    ("rust-minidump-json", "test_app.exe"),
    ("rust-minidump-linux_json_pretty", "crash"),
    (
        "rust-minidump-macos_inlines_json_pretty",
        "sadness_generator::raise_segfault",
    ),
];

#[test]
fn real_crash_signatures() {
    let mozilla = common::generator("mozilla");
    let generic = SignatureGenerator::generic().expect("generic lists");
    let inputs = inputs();
    assert_eq!(
        inputs.len(),
        SOCORRO.len(),
        "every input has a Socorro signature"
    );
    for (name, processed) in &inputs {
        let m = mozilla.generate_for_processed_crash(processed);
        let g = generic.generate_for_processed_crash(processed);
        let expected = SOCORRO
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| *s)
            .unwrap_or_else(|| panic!("no Socorro signature for {name}"));
        assert_eq!(m.signature, expected, "{name}");
        insta::assert_json_snapshot!(
            name.as_str(),
            json!({
                "stored_signature": processed.get("signature"),
                "mozilla_lists": m,
                "generic_lists": g,
            })
        );
    }
}
