//! The conformance suite on the Elasticsearch backend: against
//! `SOCORRO_TEST_ELASTICSEARCH_URL` when set (indices `socorrotest<YYYYWW>`,
//! deleted first), else against an `osmem-server` this test starts
//! (`SOCORRO_TEST_OSMEM_BIN`, or the binary of the `osmem_server` Python
//! package; `scripts/search-test.sh` installs it). No server = failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use search::elasticsearch::EsIndex;
use search::{ElasticsearchConfig, Fields, SearchIndex, testsuite};
use tokio::process::{Child, Command};

fn osmem_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("SOCORRO_TEST_OSMEM_BIN") {
        return PathBuf::from(p);
    }
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import osmem_server,os;print(os.path.dirname(osmem_server.__file__))",
        ])
        .output()
        .expect("python3 not runnable: install osmem-server with scripts/search-test.sh");
    assert!(
        out.status.success(),
        "osmem-server is not installed (pip install osmem-server, or run scripts/search-test.sh): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("bin/osmem-server")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_osmem() -> (Child, String) {
    let bin = osmem_bin();
    let port = free_port();
    let child = Command::new(&bin)
        .args(["-addr", &format!("127.0.0.1:{port}"), "-no-stdin-watch"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "osmem-server did not listen on {url} within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (child, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elasticsearch_conforms() {
    let (_server, url, prefix) = match std::env::var("SOCORRO_TEST_ELASTICSEARCH_URL") {
        Ok(url) if !url.is_empty() => (None, url, "socorrotest"),
        _ => {
            let (child, url) = start_osmem().await;
            (Some(child), url, "socorro")
        }
    };
    let cfg = ElasticsearchConfig {
        url: url.clone(),
        index_prefix: prefix.into(),
        number_of_shards: 1,
        number_of_replicas: 0,
        timeout_secs: 30,
    };
    let index = EsIndex::connect(&cfg, Fields::builtin()).unwrap();
    index
        .check_health()
        .await
        .unwrap_or_else(|e| panic!("search server at {url} not healthy: {e}"));
    // Start empty (a real cluster may hold indices of an earlier run).
    index
        .drop_partitions_before(chrono::NaiveDate::from_ymd_opt(2100, 1, 1).unwrap())
        .await
        .unwrap();
    index.ensure_template().await.unwrap();
    let n = testsuite::run_all(&index, prefix).await;
    assert!(n >= 60, "only {n} queries");
}
