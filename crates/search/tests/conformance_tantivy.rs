//! The conformance suite on the embedded Tantivy backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use search::tantivy::TantivyIndex;
use search::{Fields, testsuite};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tantivy_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let index = TantivyIndex::open(&dir.path().join("search"), Fields::builtin()).unwrap();
    let n = testsuite::run_all(&index, "socorro").await;
    assert!(n >= 60, "only {n} queries");
}
