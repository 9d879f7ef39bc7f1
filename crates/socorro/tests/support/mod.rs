//! What the `socorro` binary's integration tests share: the corpus as
//! `socorro demo --dry-run` lists it, a `socorro run` child process on free
//! ports, and the waits on its health and on Super Search.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata");

/// One crash to send: the dump file and the form fields next to it.
#[derive(serde::Deserialize)]
pub struct Sample {
    pub name: String,
    pub dump: PathBuf,
    pub fields: Vec<(String, String)>,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Every real dump of the corpus, as `socorro demo --dry-run` lists them:
/// the `.dmp` files (Breakpad, Crashpad, rust-minidump, symbolic fixtures)
/// and the xz-compressed Firefox dumps, unpacked, with their annotations.
pub fn corpus(tmp: &Path) -> Vec<Sample> {
    let out = Command::new(env!("CARGO_BIN_EXE_socorro"))
        .args(["demo", "--dry-run", "--corpus", TESTDATA, "--unpack-to"])
        .arg(tmp.join("unpacked"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "socorro demo --dry-run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_socorro(data: &Path, collector: u16, webapp: u16) -> Server {
    let log = std::fs::File::create(data.with_extension("log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_socorro"))
        .arg("run")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SOCORRO_DATA_DIR", data)
        .env(
            "SOCORRO_COLLECTOR__LISTEN",
            format!("127.0.0.1:{collector}"),
        )
        .env("SOCORRO_WEBAPP__LISTEN", format!("127.0.0.1:{webapp}"))
        .env(
            "SOCORRO_WEBAPP__RATE_LIMITS__API_ANONYMOUS_PER_MIN",
            "1000000",
        )
        .env("SOCORRO_LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    Server { child }
}

pub async fn wait_healthy(http: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = http.get(url).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(Instant::now() < deadline, "{url} never became healthy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn searchable(http: &reqwest::Client, webapp: &str, id: &str) -> bool {
    let r = http
        .get(format!("{webapp}/api/SuperSearch/"))
        .query(&[("uuid", id), ("_columns", "uuid")])
        .send()
        .await
        .unwrap();
    if r.status() != 200 {
        return false;
    }
    let v: Value = r.json().await.unwrap();
    v["total"].as_u64() == Some(1)
}

/// `socorro run` on `dir/data`, healthy, with its URLs.
pub struct Pipeline {
    _server: Server,
    pub collector: String,
    pub webapp: String,
    pub log: PathBuf,
    pub http: reqwest::Client,
}

impl Pipeline {
    pub async fn start(dir: &Path) -> Pipeline {
        let (cport, wport) = (free_port(), free_port());
        let data = dir.join("data");
        let server = start_socorro(&data, cport, wport);
        let p = Pipeline {
            _server: server,
            collector: format!("http://127.0.0.1:{cport}"),
            webapp: format!("http://127.0.0.1:{wport}"),
            log: data.with_extension("log"),
            http: reqwest::Client::new(),
        };
        wait_healthy(&p.http, &format!("{}/__heartbeat__", p.collector)).await;
        wait_healthy(&p.http, &format!("{}/__heartbeat__", p.webapp)).await;
        p
    }

    /// Wait until Super Search finds crash `id`; how long that took.
    pub async fn wait_searchable(&self, id: &str, within: Duration) -> Duration {
        let start = Instant::now();
        while !searchable(&self.http, &self.webapp, id).await {
            assert!(
                start.elapsed() < within,
                "crash {id} not searchable after {within:?} (log: {})",
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        start.elapsed()
    }

    /// `GET /api/<model>/?<query>` as JSON.
    pub async fn api(&self, model: &str, query: &[(&str, &str)]) -> Value {
        let r = self
            .http
            .get(format!("{}/api/{model}/", self.webapp))
            .query(query)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "/api/{model}/ {query:?}");
        r.json().await.unwrap()
    }
}
