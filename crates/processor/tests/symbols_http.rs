//! Symbols from an HTTP symbol server (Tecken layout): downloads land in
//! the on-disk cache shared by workers; misses are remembered in memory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{read, testdata};
use processor::stackwalk::stackwalk;
use processor::{SymbolSettings, Symbols};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A stand-in for Tecken: serves `<debug file>/<debug id>/<name>.sym` from
/// a directory, 404 otherwise; counts requests.
async fn symbol_server(root: PathBuf, hits: Arc<AtomicUsize>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let root = root.clone();
            let hits = Arc::clone(&hits);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                hits.fetch_add(1, Ordering::SeqCst);
                let head = String::from_utf8_lossy(&buf).into_owned();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let path = path
                    .split('?')
                    .next()
                    .unwrap_or("")
                    .trim_start_matches('/')
                    .to_owned();
                let file = root.join(&path);
                let response = match (path.contains(".."), std::fs::read(&file)) {
                    (false, Ok(body)) => {
                        let mut r = format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        r.extend(body);
                        r
                    }
                    _ => {
                        b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                            .to_vec()
                    }
                };
                let _ = sock.write_all(&response).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}/")
}

fn settings(url: &str, cache: &std::path::Path) -> SymbolSettings {
    SymbolSettings {
        urls: vec![url.to_owned()],
        cache_dir: Some(cache.to_owned()),
        download_timeout_secs: 10,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_are_cached_on_disk_and_misses_in_memory() {
    let hits = Arc::new(AtomicUsize::new(0));
    let url = symbol_server(
        testdata("rust-minidump/testdata/symbols"),
        Arc::clone(&hits),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let dump = bytes::Bytes::from(read(&testdata("rust-minidump/testdata/test.dmp")));

    let symbols = Symbols::new(&settings(&url, &cache), dir.path()).unwrap();
    let out = stackwalk(
        dump.clone(),
        None,
        symbols.symbolizer(),
        Duration::from_secs(60),
    )
    .await;
    let jd = out.json_dump.unwrap();
    assert_eq!(
        jd["crashing_thread"]["frames"][0]["function"],
        "`anonymous namespace'::CrashFunction"
    );
    let module = jd["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["filename"] == "test_app.exe")
        .unwrap();
    assert_eq!(module["loaded_symbols"], true);
    assert!(
        module["symbol_url"].as_str().unwrap().starts_with(&url),
        "{module}"
    );
    let cached = cache.join("test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym");
    assert!(
        std::fs::metadata(&cached).is_ok(),
        "download cached on disk"
    );
    let first = hits.load(Ordering::SeqCst);
    assert!(
        first >= 2,
        "the server was asked for the misses too ({first})"
    );

    // same symbolizer: hits and misses are both remembered, no requests
    let again = stackwalk(
        dump.clone(),
        None,
        symbols.symbolizer(),
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(
        again.json_dump.unwrap()["crashing_thread"],
        jd["crashing_thread"]
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        first,
        "negative/positive in-memory cache"
    );

    // a new process (fresh symbolizer) on the same cache dir: the hit comes from disk
    let fresh = Symbols::new(&settings(&url, &cache), dir.path()).unwrap();
    let out = stackwalk(dump, None, fresh.symbolizer(), Duration::from_secs(60)).await;
    assert_eq!(
        out.json_dump.unwrap()["crashing_thread"]["frames"][0]["function"],
        "`anonymous namespace'::CrashFunction"
    );
    let third = hits.load(Ordering::SeqCst) - first;
    assert!(
        third < first,
        "test_app.sym not downloaded again ({third} vs {first})"
    );
}
