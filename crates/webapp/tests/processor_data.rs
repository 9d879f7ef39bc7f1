//! The API over crashes the real processor made from corpus minidumps (not
//! generated documents): Super Search finds them, ProcessedCrash and
//! RawCrash redact them, dumps need `view_rawdump`, reprocessing queues
//! them, the report page shows them; on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Utc;
use common::{Engine, Harness};
use crash_queue::{QueueItem, QueueName};
use crash_storage::{CrashId, DumpSet, RawCrash, ThrottleDigit};
use serde_json::{Value, json};

fn testdata(rel: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata"
    ))
    .join(rel)
}

/// Store a raw crash the way the collector does, then run the real processor.
async fn processed_by_processor(h: &Harness, dump_rel: &str) -> (CrashId, Value, Vec<u8>) {
    let now = Utc::now();
    let id = CrashId::generate(ThrottleDigit::Accept, now.date_naive());
    let dump = std::fs::read(testdata(dump_rel)).unwrap();
    let raw: RawCrash = serde_json::from_value(json!({
        "ProductName": "MyApp",
        "Version": "2.0",
        "ReleaseChannel": "beta",
        "BuildID": "20261120000000",
        "URL": "https://private.example/secret-page",
        "Comments": "it crashed while I was typing my password",
        "uuid": id.to_string(),
        "submitted_timestamp": now.to_rfc3339(),
        "version": 2,
        "metadata": {"payload": "multipart", "collector_notes": []}
    }))
    .unwrap();
    let mut dumps = DumpSet::new();
    dumps.insert("upload_file_minidump", dump.clone());
    h.storage.save_raw_crash(&id, &raw, &dumps).await.unwrap();

    let symbols = tempfile::tempdir().unwrap();
    let processor = processor::Processor::new(
        processor::ProcessorSettings::default(),
        symbols.path(),
        h.storage.clone(),
        h.queue.clone(),
        h.db.db().clone(),
        &prometheus::Registry::new(),
    )
    .unwrap();
    let processed = processor
        .process_crash(&QueueItem::new(id.clone()))
        .await
        .unwrap();
    assert!(
        h.storage.processed_crash_exists(&id).await.unwrap(),
        "the processor saved it"
    );
    h.search
        .index(std::slice::from_ref(&processed))
        .await
        .unwrap();
    h.search.refresh().await.unwrap();
    (id, processed, dump)
}

async fn api_over_processor_output(engine: Engine) {
    let h = common::start(engine).await;
    let (id, processed, dump) =
        processed_by_processor(&h, "rust-minidump/testdata/linux-mini.dmp").await;
    let signature = processed["signature"].as_str().unwrap().to_owned();
    assert!(!signature.is_empty() && processed["json_dump"]["threads"].is_array());
    let pii = h.user("pii", &["view_pii"]).await;
    let dumper = h.user("dumper", &["view_rawdump"]).await;
    let reprocessor = h.user("reprocessor", &["reprocess_crashes"]).await;

    // Super Search finds it by product and returns the processor's signature.
    let r = h
        .get(
            "/api/SuperSearch/?product=MyApp&_columns=uuid&_columns=signature&_facets=signature",
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let found = r.json();
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["hits"][0]["uuid"], id.as_str());
    assert_eq!(found["hits"][0]["signature"], signature.as_str());
    assert_eq!(found["facets"]["signature"][0]["term"], signature.as_str());

    // ProcessedCrash: the stackwalk is public, the URL and comments are not.
    let path = format!("/api/ProcessedCrash/?crash_id={id}");
    let public = h.get(&path, None).await.json();
    assert_eq!(public["signature"], signature.as_str());
    // Every thread and frame stays public; fields the public schema does not
    // list (e.g. `thread_id`) are dropped, as in Socorro.
    let (pt, ft) = (
        &public["json_dump"]["threads"],
        &processed["json_dump"]["threads"],
    );
    assert_eq!(pt.as_array().map(Vec::len), ft.as_array().map(Vec::len));
    assert_eq!(pt[0]["frames"], ft[0]["frames"]);
    assert!(pt[0].get("thread_id").is_none() && ft[0].get("thread_id").is_some());
    for gone in ["url", "user_comments"] {
        assert!(
            public.get(gone).is_none(),
            "{gone} leaked: {}",
            public[gone]
        );
    }
    let full = h.get(&path, Some(&pii)).await.json();
    assert_eq!(full["url"], "https://private.example/secret-page");

    // RawCrash: redacted JSON, and the dump only with view_rawdump.
    let path = format!("/api/RawCrash/?crash_id={id}");
    let raw = h.get(&path, None).await.json();
    assert_eq!(raw["ProductName"], "MyApp");
    assert!(
        raw.get("URL").is_none() && raw.get("Comments").is_none(),
        "{raw}"
    );
    let denied = h.get(&format!("{path}&format=raw"), Some(&pii)).await;
    assert_eq!(denied.status, 403);
    let got = h.get(&format!("{path}&format=raw"), Some(&dumper)).await;
    assert_eq!(got.status, 200);
    assert_eq!(&got.body[..], &dump[..]);

    // The report page shows the signature; reprocessing queues the crash.
    let page = h.get(&format!("/report/index/{id}"), None).await;
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains(&signature),
        "signature not on the report page"
    );
    let r = h
        .post(
            "/api/Reprocessing/",
            &[("crash_ids", id.as_str())],
            Some(&reprocessor),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        h.queued(QueueName::Reprocessing).await,
        vec![id.to_string()]
    );

    // CrashVerify sees it in storage and in the index.
    let v = h
        .get(&format!("/api/CrashVerify/?crash_id={id}"), None)
        .await
        .json();
    assert_eq!(v["raw_crash"], true, "{v}");
    assert_eq!(v["processed_crash"], true, "{v}");
    assert_eq!(v["elasticsearch_crash"], true, "{v}");
}
on_both_engines!(api_over_processor_output);
