//! `reindex` rebuilds the index from crash storage.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use crash_storage::{
    CrashId, CrashStorage, DumpSet, FsObjectStore, KeyedCrashStorage, RawCrash, ThrottleDigit,
};
use search::tantivy::TantivyIndex;
use search::{Fields, Permissions, SearchIndex, SearchQuery, reindex};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reindex_loads_processed_crashes_of_each_day() {
    let dir = tempfile::tempdir().unwrap();
    let storage = KeyedCrashStorage::new(Arc::new(
        FsObjectStore::open(dir.path().join("crashes")).unwrap(),
    ));
    let index = TantivyIndex::open(&dir.path().join("search"), Fields::builtin()).unwrap();
    let day1 = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
    let day2 = NaiveDate::from_ymd_opt(2026, 11, 17).unwrap();
    let mut processed = 0;
    for (n, day) in [(5, day1), (3, day2)] {
        for i in 0..n {
            let id = CrashId::generate(ThrottleDigit::Accept, day);
            let mut raw = RawCrash::new();
            raw.insert("ProductName", "Firefox");
            storage
                .save_raw_crash(&id, &raw, &DumpSet::new())
                .await
                .unwrap();
            if i == 0 {
                continue; // not processed yet
            }
            let date = Utc.from_utc_datetime(&day.and_hms_opt(10, i, 0).unwrap());
            let pc = json!({
                "uuid": id.as_str(),
                "date_processed": date.to_rfc3339(),
                "product": "Firefox",
                "signature": format!("sig {i}"),
            });
            storage.save_processed_crash(&id, &pc).await.unwrap();
            processed += 1;
        }
    }
    let mut calls = Vec::new();
    let stats = reindex(&storage, &index, day1, day2, |done, total| {
        calls.push((done, total))
    })
    .await
    .unwrap();
    assert_eq!(stats.listed, 8);
    assert_eq!(stats.indexed, processed);
    assert_eq!(stats.not_processed, 2);
    assert_eq!(calls.last(), Some(&(8, 8)));

    let now = Utc.with_ymd_and_hms(2026, 11, 18, 0, 0, 0).unwrap();
    let q = SearchQuery::parse(&[("product", "Firefox")], &Fields::builtin(), now).unwrap();
    let r = index.search(&q, &Permissions::public()).await.unwrap();
    assert_eq!(r.total, processed as u64);
    assert!(q.date_from.0 <= now - Duration::days(2));
}
