//! search-index-cleanup over a real Tantivy index through
//! `SearchIndexRetention` (feature `search`; run with
//! `cargo nextest run -p crontabber --features search`).

#![cfg(feature = "search")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use common::ctx;
use crontabber::Job;
use crontabber::jobs::search_index_cleanup::SearchIndexCleanup;
use db::testing::TestDb;
use serde_json::Value;

const TESTDATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/socorro"
);

fn historical() -> Vec<Value> {
    let dir = Path::new(TESTDATA).join("historical/processed");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let mut input = std::io::BufReader::new(std::fs::File::open(f).unwrap());
            let mut out = Vec::new();
            lzma_rs::xz_decompress(&mut input, &mut out).unwrap();
            serde_json::from_slice(&out).unwrap()
        })
        .collect()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn search_index_cleanup_on_a_tantivy_index() {
    use search::SearchIndex as _;
    let db = TestDb::sqlite().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tantivy =
        search::tantivy::TantivyIndex::open(dir.path(), search::Fields::builtin()).unwrap();
    let index: Arc<dyn search::SearchIndex> = Arc::new(tantivy);
    // The historical crashes, moved four weeks apart: 2015-11-30 back to 2015-07-13.
    let docs: Vec<Value> = historical()
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            let d =
                utc("2015-11-30T00:00:00+00:00") - TimeDelta::weeks(4 * i64::try_from(i).unwrap());
            c["date_processed"] = d.to_rfc3339().into();
            c
        })
        .collect();
    let stats = index.index(&docs).await.unwrap();
    assert_eq!(stats.indexed, 6, "{:?}", stats.skipped);
    index.refresh().await.unwrap();
    assert_eq!(index.list_partitions().await.unwrap().len(), 6);

    let retention = Arc::new(crontabber::jobs::SearchIndexRetention(index.clone()));
    let job = SearchIndexCleanup::new(retention, 30);
    // Cutoff 2015-11-01, week `%W` 43: partitions up to socorro201543 go.
    let run_for = Utc.with_ymd_and_hms(2015, 12, 1, 6, 0, 0).unwrap();
    job.run(&ctx(db.db(), None, run_for), run_for)
        .await
        .unwrap();
    let left = index.list_partitions().await.unwrap();
    assert_eq!(left.len(), 2, "{left:?}");
    assert_eq!(left, ["socorro201544", "socorro201548"]);
}
