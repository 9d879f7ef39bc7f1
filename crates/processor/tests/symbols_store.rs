//! The local symbol store is the processor's first symbol path, and adding
//! to it while the processor runs is seen by the next crash (the in-memory
//! negative cache is dropped when the store's generation changes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{read, testdata};
use processor::stackwalk::stackwalk;
use processor::symbols::store::{StoreConfig, SymbolStore};
use processor::{SymbolSettings, Symbols};

const SYM: &str =
    "rust-minidump/testdata/symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym";

async fn first_function(symbols: &Symbols, dump: &bytes::Bytes) -> serde_json::Value {
    let out = stackwalk(
        dump.clone(),
        None,
        symbols.symbolizer(),
        Duration::from_secs(60),
    )
    .await;
    out.json_dump.unwrap()["crashing_thread"]["frames"][0]["function"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symbols_added_to_the_store_are_used_by_the_next_crash() {
    let dir = tempfile::tempdir().unwrap();
    let dump = bytes::Bytes::from(read(&testdata("rust-minidump/testdata/test.dmp")));
    // the default store: <data dir>/symbols
    let symbols = Symbols::new(&SymbolSettings::default(), dir.path()).unwrap();
    assert_eq!(
        symbols.store_dir(),
        Some(dir.path().join("symbols").as_path())
    );
    assert!(
        symbols.symbolizer().is_none(),
        "no store and no sources: no lookups"
    );

    // the store exists but lacks test_app: the miss is remembered...
    let store = SymbolStore::new(&StoreConfig::default(), dir.path());
    let other = "MODULE windows x86 0F9C6B3A1E2D4C5B8A7F6E5D4C3B2A190 other.pdb\n";
    store.add_sym("other.sym", other.as_bytes()).unwrap();
    assert!(first_function(&symbols, &dump).await.is_null());
    let cached = symbols.symbolizer().unwrap();
    assert!(
        cached.stats().values().any(|s| !s.loaded_symbols),
        "the miss is in the in-memory cache"
    );
    assert!(std::sync::Arc::ptr_eq(
        &cached,
        &symbols.symbolizer().unwrap()
    ));

    // ...until the store changes
    store
        .add_sym("test_app.sym", std::fs::File::open(testdata(SYM)).unwrap())
        .unwrap();
    assert_eq!(
        first_function(&symbols, &dump).await,
        "`anonymous namespace'::CrashFunction"
    );
    let out = stackwalk(dump, None, symbols.symbolizer(), Duration::from_secs(60)).await;
    let jd = out.json_dump.unwrap();
    let module = jd["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["filename"] == "test_app.exe")
        .unwrap();
    assert_eq!(module["loaded_symbols"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_store_dir_comes_before_the_configured_paths() {
    let dir = tempfile::tempdir().unwrap();
    let dump = bytes::Bytes::from(read(&testdata("rust-minidump/testdata/test.dmp")));
    let store_dir = dir.path().join("elsewhere");
    let store = SymbolStore::at(&store_dir, StoreConfig::default());
    store
        .add_sym("test_app.sym", std::fs::File::open(testdata(SYM)).unwrap())
        .unwrap();
    let settings = SymbolSettings {
        store_dir: Some(store_dir.clone()),
        paths: vec![dir.path().join("empty")],
        ..Default::default()
    };
    let symbols = Symbols::new(&settings, dir.path()).unwrap();
    assert_eq!(
        first_function(&symbols, &dump).await,
        "`anonymous namespace'::CrashFunction"
    );
}
