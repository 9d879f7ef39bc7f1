//! A minimal WebDriver client (chromedriver over HTTP) for the UI tests:
//! start the driver, open a headless Chromium session, navigate, find and
//! click elements, run scripts, check a page and save its screenshot.
//! Shared by crates/webapp/tests/ui.rs and crates/socorro/tests/e2e.rs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub struct Driver {
    child: Child,
    pub base: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn which(env: &str, candidates: &[&str]) -> PathBuf {
    if let Ok(p) = std::env::var(env) {
        return PathBuf::from(p);
    }
    for c in candidates {
        let p = Path::new(c);
        if p.is_file() {
            return p.to_path_buf();
        }
    }
    panic!(
        "{env} is unset and none of {candidates:?} exists: install chromium and \
         chromium-driver with `eval \"$(scripts/ui-test.sh)\"`"
    );
}

pub async fn start_driver() -> Driver {
    let bin = which("SOCORRO_UI_CHROMEDRIVER", &["/usr/bin/chromedriver"]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let d = Driver {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = reqwest::get(format!("{}/status", d.base)).await
            && r.status() == 200
        {
            return d;
        }
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub struct Browser {
    http: reqwest::Client,
    session: String,
    base: String,
    app: String,
    shots: PathBuf,
}

impl Browser {
    pub async fn new(driver: &Driver, app: &str) -> Browser {
        let chromium = which(
            "SOCORRO_UI_CHROMIUM",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        );
        let profile = tempfile::tempdir().unwrap().keep();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--window-size=1280,1000",
                         format!("--user-data-dir={}", profile.display())],
            },
        }}});
        let http = reqwest::Client::new();
        let r: Value = http
            .post(format!("{}/session", driver.base))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"))
            .to_owned();
        // `make screenshots` points this at docs/src/img; test runs keep
        // them out of the source tree.
        let shots = std::env::var_os("SOCORRO_UI_SCREENSHOTS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots"));
        std::fs::create_dir_all(&shots).unwrap();
        Browser {
            http,
            base: format!("{}/session/{session}", driver.base),
            session,
            app: app.to_owned(),
            shots,
        }
    }

    pub async fn cmd(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let rb = self.http.request(method.clone(), &url);
        let rb = if method == reqwest::Method::GET {
            rb
        } else {
            rb.json(&body)
        };
        let r: Value = rb.send().await.unwrap().json().await.unwrap();
        if r["value"].get("error").is_some() {
            panic!("WebDriver {path} failed: {}", r["value"]);
        }
        r["value"].clone()
    }

    pub async fn goto(&self, path: &str) {
        self.cmd(
            reqwest::Method::POST,
            "/url",
            json!({"url": format!("{}{path}", self.app)}),
        )
        .await;
    }

    pub async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = format!("{}/element", self.base);
            let r: Value = self
                .http
                .post(&url)
                .json(&json!({"using": "css selector", "value": css}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if let Some(obj) = r["value"].as_object()
                && let Some(id) = obj.values().next().and_then(Value::as_str)
                && obj.get("error").is_none()
            {
                return id.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no element {css} on {}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/click"),
            json!({}),
        )
        .await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/clear"),
            json!({}),
        )
        .await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            json!({"text": text}),
        )
        .await;
    }

    pub async fn script(&self, js: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": js, "args": []}),
        )
        .await
    }

    pub async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", json!({}))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The page answered 200 and logged no error; save its screenshot.
    pub async fn check_and_shoot(&self, name: &str) {
        // wait for the document to be complete
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.script("return document.readyState").await != "complete" {
            assert!(
                Instant::now() < deadline,
                "{name}: page never finished loading"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let status = self
            .script("const n = performance.getEntriesByType('navigation')[0]; return n ? n.responseStatus : 0")
            .await;
        assert_eq!(
            status,
            json!(200),
            "{name}: {} answered {status}",
            self.url().await
        );
        let logs = self
            .cmd(reqwest::Method::POST, "/se/log", json!({"type": "browser"}))
            .await;
        let errors: Vec<&Value> = logs
            .as_array()
            .map(|a| a.iter().filter(|e| e["level"] == "SEVERE").collect())
            .unwrap_or_default();
        assert!(
            errors.is_empty(),
            "{name}: JavaScript/console errors: {errors:?}"
        );
        let png = self
            .cmd(reqwest::Method::GET, "/screenshot", json!({}))
            .await;
        let bytes = base64_decode(png.as_str().unwrap());
        assert!(bytes.starts_with(b"\x89PNG"), "{name}: not a PNG");
        std::fs::write(self.shots.join(format!("webapp-{name}.png")), bytes).unwrap();
    }

    pub async fn close(&self) {
        let _ = self.http.delete(&self.base).send().await;
        let _ = &self.session;
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter_map(val) {
        acc = (acc << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}
