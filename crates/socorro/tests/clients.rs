//! Crashpad and Electron clients work unchanged, through the running
//! pipeline: the real Crashpad dumps of the corpus posted the way
//! Chromium's Crashpad uploader posts them (its boundary style, form fields
//! then the `upload_file_minidump` part, gzip `Content-Encoding`), with
//! Crashpad's annotation names, and an Electron `crashReporter` submission
//! (Electron's field names, the app's `globalExtra` fields, a corpus dump).
//! Each must end processed with the right product, version and platform
//! and a signature, and be found by product in Super Search.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::time::Duration;

use collector::client::Submission;
use serde_json::Value;

/// POST like Crashpad's HTTPTransport: gzip body, its boundary style.
async fn post_like_crashpad(p: &support::Pipeline, fields: &[(&str, &str)], dump: &Path) -> String {
    let boundary = format!(
        "---MultipartBoundary-{:032x}---",
        rand_u128(dump.to_string_lossy().len() as u128)
    );
    let mut sub = Submission::with_boundary(boundary);
    for (k, v) in fields {
        sub = sub.annotation(*k, *v);
    }
    sub = sub.dump("upload_file_minidump", std::fs::read(dump).unwrap());
    let r = p
        .http
        .post(format!("{}/submit", p.collector))
        .header("Content-Type", sub.content_type())
        .header("Content-Encoding", "gzip")
        .header("User-Agent", "Crashpad/0.8.0")
        .body(sub.gzipped_body())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", dump.display());
    let text = r.text().await.unwrap();
    text.trim()
        .strip_prefix("CrashID=bp-")
        .unwrap_or_else(|| panic!("unexpected answer {text:?}"))
        .to_owned()
}

fn rand_u128(seed: u128) -> u128 {
    // Any 32 hex digits do; vary them per request like Crashpad does.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    now ^ (seed << 64)
}

async fn total(p: &support::Pipeline, product: &str) -> u64 {
    p.api("SuperSearch", &[("product", product), ("_columns", "uuid")])
        .await["total"]
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashpad_and_electron_crashes_are_processed_and_found_by_product() {
    let tmp = tempfile::tempdir().unwrap();
    let p = support::Pipeline::start(tmp.path()).await;

    let mut crashpad_dumps: Vec<_> =
        std::fs::read_dir(Path::new(support::TESTDATA).join("crashpad/chromeos-tast"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "dmp"))
            .collect();
    crashpad_dumps.sort();
    assert!(crashpad_dumps.len() >= 5, "{crashpad_dumps:?}");
    let mut crashpad_ids = Vec::new();
    for dump in &crashpad_dumps {
        let id = post_like_crashpad(
            &p,
            &[
                ("prod", "Chrome_ChromeOS"),
                ("ver", "91.0.4472.0"),
                ("plat", "Linux"),
                ("ptype", "renderer"),
                ("channel", "beta"),
                ("guid", "0123456789abcdef0123456789abcdef"),
            ],
            dump,
        )
        .await;
        crashpad_ids.push(id);
    }

    // Electron's crashReporter (Crashpad underneath): `prod`/`ver` name
    // Electron itself; the app is `_productName`/`_version`.
    let electron_dump = Path::new(support::TESTDATA).join("rust-minidump/testdata/linux-mini.dmp");
    let electron_id = post_like_crashpad(
        &p,
        &[
            ("_productName", "MyElectronApp"),
            ("_version", "1.2.3"),
            ("_companyName", "Example Corp"),
            ("prod", "Electron"),
            ("ver", "28.1.0"),
            ("process_type", "renderer"),
            ("platform", "linux"),
            ("plat", "Linux"),
            ("guid", "fedcba9876543210fedcba9876543210"),
            ("build_flavor", "nightly"),
        ],
        &electron_dump,
    )
    .await;

    for id in crashpad_ids.iter().chain([&electron_id]) {
        p.wait_searchable(id, Duration::from_secs(60)).await;
    }

    for (id, dump) in crashpad_ids.iter().zip(&crashpad_dumps) {
        let c = p.api("ProcessedCrash", &[("crash_id", id)]).await;
        let name = dump.file_name().unwrap().to_string_lossy();
        assert_eq!(c["product"], "Chrome_ChromeOS", "{name}");
        assert_eq!(c["version"], "91.0.4472.0", "{name}");
        assert_eq!(c["release_channel"], "beta", "{name}");
        assert_eq!(c["process_type"], "content", "{name}: ptype renderer");
        assert_eq!(c["os_name"], "Linux", "{name}");
        assert!(
            !c["signature"].as_str().unwrap_or_default().is_empty(),
            "{name}: no signature"
        );
        let notes = c["processor_notes"].to_string();
        assert!(notes.contains("crashpad annotations"), "{name}: {notes}");
    }
    assert_eq!(
        total(&p, "Chrome_ChromeOS").await,
        crashpad_ids.len() as u64
    );

    let e: Value = p.api("ProcessedCrash", &[("crash_id", &electron_id)]).await;
    assert_eq!(e["product"], "MyElectronApp");
    assert_eq!(e["version"], "1.2.3");
    assert_eq!(e["os_name"], "Linux");
    assert_eq!(e["process_type"], "content");
    assert!(!e["signature"].as_str().unwrap_or_default().is_empty());
    assert!(
        e["processor_notes"]
            .to_string()
            .contains("electron annotations"),
        "{}",
        e["processor_notes"]
    );
    assert_eq!(total(&p, "MyElectronApp").await, 1);
    assert_eq!(
        total(&p, "Electron").await,
        0,
        "Electron's own prod must not win"
    );

    // The raw crash keeps every field exactly as sent.
    let day = format!("20{}", &electron_id[30..]);
    let raw_path = tmp
        .path()
        .join(format!("data/crashes/v1/raw_crash/{day}/{electron_id}"));
    let raw: Value = serde_json::from_slice(&std::fs::read(&raw_path).unwrap()).unwrap();
    assert_eq!(raw["prod"], "Electron");
    assert_eq!(raw["ver"], "28.1.0");
    assert_eq!(raw["build_flavor"], "nightly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_without_product_is_kept_as_unknown() {
    let tmp = tempfile::tempdir().unwrap();
    let p = support::Pipeline::start(tmp.path()).await;
    let dump = Path::new(support::TESTDATA).join("rust-minidump/testdata/linux-mini.dmp");
    let id = post_like_crashpad(&p, &[("guid", "00000000000000000000000000000001")], &dump).await;
    p.wait_searchable(&id, Duration::from_secs(60)).await;
    let c = p.api("ProcessedCrash", &[("crash_id", &id)]).await;
    assert_eq!(c["product"], "Unknown");
    assert_eq!(total(&p, "Unknown").await, 1);
}
