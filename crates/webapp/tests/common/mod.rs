//! A webapp on a real port with FS storage, the SQLite queue and a fresh
//! database (SQLite or PostgreSQL), plus helpers to add crashes and users.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use chrono::Utc;
use crash_queue::{CrashQueue, QueueName};
use crash_storage::{CrashId, CrashStorage, DumpSet};
use db::testing::TestDb;
use db::tokens::{DEFAULT_LIFETIME, NewToken};
use db::users::NewUser;
use processor::symbols::store::{StoreConfig, SymbolStore};
use prometheus::Registry;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use webapp::{Backends, RateLimits, Webapp, WebappSettings};

#[derive(Clone, Copy, Debug)]
pub enum Engine {
    Sqlite,
    Postgres,
}

pub struct Harness {
    pub url: String,
    pub storage: Arc<dyn CrashStorage>,
    pub queue: Arc<dyn CrashQueue>,
    pub db: TestDb,
    pub search: Arc<dyn search::SearchIndex>,
    pub state: web::Data<Webapp>,
    pub client: reqwest::Client,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub const MINIDUMP: &[u8] = b"MDMP\x93\xa7\x00\x00fake minidump body";

/// Generous limits so tests are not throttled (the rate-limit test sets its own).
pub fn no_limits() -> RateLimits {
    RateLimits {
        api_anonymous_per_min: 0,
        api_user_per_min: 0,
        search_anonymous_per_min: 0,
        search_user_per_min: 0,
    }
}

pub async fn start(engine: Engine) -> Harness {
    start_with(engine, no_limits()).await
}

pub async fn start_with(engine: Engine, limits: RateLimits) -> Harness {
    start_full(engine, limits, StoreConfig::default()).await
}

/// With symbol store limits (the store is `<temp dir>/symbols`).
pub async fn start_full(engine: Engine, limits: RateLimits, symbols: StoreConfig) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let storage =
        crash_storage::config::build(&crash_storage::StorageConfig::default(), dir.path()).unwrap();
    let queue = crash_queue::config::build(&crash_queue::QueueConfig::default(), dir.path())
        .await
        .unwrap();
    let db = match engine {
        Engine::Sqlite => TestDb::sqlite().await,
        Engine::Postgres => TestDb::postgres().await,
    }
    .unwrap_or_else(|e| panic!("{engine:?} test database: {e}"));
    let search_cfg = search::SearchConfig::default();
    let search = search::build(&search_cfg, dir.path()).await.unwrap();
    let settings = WebappSettings {
        rate_limits: limits,
        workers: 2,
        ..Default::default()
    };
    let registry = Registry::new();
    let state = web::Data::new(
        Webapp::new(
            settings,
            b"test-secret-key-test-secret-key-0123456789".to_vec(),
            Backends {
                storage: storage.clone(),
                queue: queue.clone(),
                db: db.db().clone(),
                search: search.clone(),
                fields: search_cfg.fields().unwrap(),
                symbols: SymbolStore::new(&symbols, dir.path()),
            },
            &registry,
        )
        .unwrap(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let (s, t) = (state.clone(), stop.clone());
    tokio::spawn(async move { webapp::serve_on(listener, s, web::Data::new(registry), t).await });
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let h = Harness {
        url,
        storage,
        queue,
        db,
        search,
        state,
        client,
        stop,
        _dir: dir,
    };
    // wait until it answers
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(r) = h.client.get(h.at("/__lbheartbeat__")).send().await
            && r.status() == 200
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "webapp did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    h
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: bytes::Bytes,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }
}

impl Harness {
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    async fn resp(r: reqwest::Response) -> Resp {
        Resp {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: r.bytes().await.unwrap(),
        }
    }

    /// GET with an optional `Auth-Token` (fresh client: no cookies).
    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        let mut rb = fresh_client().get(self.at(path));
        if let Some(t) = token {
            rb = rb.header("Auth-Token", t);
        }
        Self::resp(rb.send().await.unwrap()).await
    }

    /// POST a form with an optional `Auth-Token` (fresh client: no cookies).
    pub async fn post(&self, path: &str, form: &[(&str, &str)], token: Option<&str>) -> Resp {
        let mut rb = fresh_client()
            .post(self.at(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded(form));
        if let Some(t) = token {
            rb = rb.header("Auth-Token", t);
        }
        Self::resp(rb.send().await.unwrap()).await
    }

    /// GET with this harness' cookie-keeping client (browser-like).
    pub async fn browser_get(&self, path: &str) -> Resp {
        Self::resp(self.client.get(self.at(path)).send().await.unwrap()).await
    }

    pub async fn browser_post(&self, path: &str, form: &[(&str, &str)]) -> Resp {
        Self::resp(
            self.client
                .post(self.at(path))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(serde_urlencoded(form))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Save sample crash `n` (raw, dump and processed), collected now.
    pub async fn add_crash(&self, n: u64) -> (CrashId, Value) {
        self.add_crash_at(n, Utc::now()).await
    }

    /// Save sample crash `n`, collected at `when`.
    pub async fn add_crash_at(&self, n: u64, when: chrono::DateTime<Utc>) -> (CrashId, Value) {
        let (id, raw, processed) = webapp::sample::crash(n, when);
        let mut dumps = DumpSet::new();
        dumps.insert("upload_file_minidump", MINIDUMP.to_vec());
        dumps.insert("memory_report", b"\x1f\x8bgz".to_vec());
        self.storage
            .save_raw_crash(&id, &raw, &dumps)
            .await
            .unwrap();
        self.storage
            .save_processed_crash(&id, &processed)
            .await
            .unwrap();
        self.search
            .index(std::slice::from_ref(&processed))
            .await
            .unwrap();
        self.search.refresh().await.unwrap();
        (id, processed)
    }

    /// Save only the raw crash of sample `n` (not processed yet).
    pub async fn add_raw_only(&self, n: u64) -> CrashId {
        let (id, raw, _) = webapp::sample::crash(n, Utc::now());
        let mut dumps = DumpSet::new();
        dumps.insert("upload_file_minidump", MINIDUMP.to_vec());
        self.storage
            .save_raw_crash(&id, &raw, &dumps)
            .await
            .unwrap();
        id
    }

    /// A user with password `password-<name>` holding `perms`, and a token with them.
    pub async fn user(&self, name: &str, perms: &[&str]) -> String {
        let now = Utc::now();
        let password = format!("password-{name}");
        let user = self
            .db
            .db()
            .users()
            .create(
                &NewUser {
                    username: name,
                    email: "",
                    password: Some(&password),
                    is_superuser: false,
                    is_active: true,
                },
                now,
            )
            .await
            .unwrap();
        for p in perms {
            self.db
                .db()
                .users()
                .grant_permission(name, p)
                .await
                .unwrap();
        }
        let perms: Vec<String> = perms.iter().map(|p| (*p).to_owned()).collect();
        self.db
            .db()
            .tokens()
            .create(
                &NewToken {
                    user_id: user.id,
                    permissions: &perms,
                    notes: "test",
                    expires: now + DEFAULT_LIFETIME,
                },
                now,
            )
            .await
            .unwrap()
            .token
    }

    /// Crash ids (message data) waiting in a queue.
    pub async fn queued(&self, q: QueueName) -> Vec<String> {
        let msgs = self
            .queue
            .pull(q, 1000, Duration::from_millis(1))
            .await
            .unwrap();
        let mut out: Vec<String> = msgs.into_iter().map(|m| m.data).collect();
        out.sort();
        out
    }
}

pub fn serde_urlencoded(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The CSRF token in a page's forms.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrfmiddlewaretoken\" value=\"";
    let start = html.find(marker).expect("page has a CSRF field") + marker.len();
    html[start..start + 64].to_owned()
}

/// Run a test body on both engines.
#[macro_export]
macro_rules! on_both_engines {
    ($name:ident) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(common::Engine::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(common::Engine::Postgres).await
            }
        }
    };
}

/// A client without cookies that does not follow redirects.
pub fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
