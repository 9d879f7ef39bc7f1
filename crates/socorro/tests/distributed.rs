//! The scale-out pipeline as it is deployed: the collector, the processor and
//! the webapp as three separate `socorro run --only <service>` processes on
//! S3 (Ceph RGW), Google Pub/Sub (its emulator), PostgreSQL and Elasticsearch
//! (osmem-server, or a real cluster), prepared by `socorro setup` — and how
//! that pipeline survives its backends failing:
//!
//! - `distributed_pipeline_processes_and_indexes_the_corpus`: every real
//!   dump of the corpus goes through the three processes and ends processed
//!   (`/api/ProcessedCrash/`) and searchable (`/api/SuperSearch/`).
//! - `s3_down_while_submitting`: the collector's S3 endpoint goes away and
//!   comes back; no crash is acknowledged that is not completely in S3.
//! - `pubsub_emulator_restarted_mid_stream`: the Pub/Sub emulator dies and
//!   restarts (losing its messages); no crash is acknowledged that was not
//!   published, and `verify-processed` recovers what the restart lost.
//! - `processor_killed_holding_messages`: a processor is SIGKILLed while it
//!   holds leased messages; they are redelivered after the ack deadline.
//!
//! Servers, each FAILING the test (never skipping it) when missing, naming
//! the script that provides it:
//! - S3: `SOCORRO_TEST_S3_*` (`scripts/s3-test.sh start`); every test works
//!   in a bucket of its own, created by `socorro setup`, emptied and deleted
//!   at the end;
//! - Pub/Sub: `SOCORRO_TEST_PUBSUB_EMULATOR_BIN` or
//!   `target/pubsub-emulator/pubsub-emulator` (`scripts/pubsub-test.sh`);
//!   every test starts its own on a free port with fresh topic names;
//! - PostgreSQL: `SOCORRO_TEST_POSTGRES_URL` (`scripts/pg-test.sh`); a fresh
//!   database per test (`db::testing::TestDb`), dropped at the end;
//! - search: `SOCORRO_TEST_ELASTICSEARCH_URL` (a unique index prefix per
//!   test, its indices deleted at the end), else an `osmem-server` per test
//!   (`SOCORRO_TEST_OSMEM_BIN`, `scripts/search-test.sh`). Never Tantivy: the
//!   processor writes the index and the webapp reads it from another process.
//!
//! The processes' logs are kept (and their path printed) when a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeDelta, Utc};
use crash_storage::{
    CrashId, CrashStorage, S3Config, StorageBackend, StorageConfig, ThrottleDigit,
};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;
use tokio::net::{TcpListener, TcpStream};

/// `Retry-After` the collectors of the fault tests send with a 503.
const RETRY_AFTER_SECS: &str = "7";
/// Bearer token that lets the test send its own crash ids (Antenna's stage submitter).
const STAGE_TOKEN: &str = "distributed-test-stage-submitter-token";

// ---------------------------------------------------------------------------
// The servers the tests need.

/// The S3 test server, from the environment `scripts/s3-test.sh start` prints.
struct S3Server {
    endpoint: String,
    access_key: String,
    secret_key: String,
    region: String,
}

fn s3_server() -> S3Server {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let hint = "start the test S3 server (Ceph RGW) with `eval \"$(scripts/s3-test.sh start)\"`, \
                or `bash scripts/setup.sh` then `source scripts/test-env.sh`";
    let need = |name: &str| var(name).unwrap_or_else(|| panic!("{name} is not set: {hint}"));
    let server = S3Server {
        endpoint: need("SOCORRO_TEST_S3_ENDPOINT"),
        access_key: need("SOCORRO_TEST_S3_ACCESS_KEY"),
        secret_key: need("SOCORRO_TEST_S3_SECRET_KEY"),
        region: var("SOCORRO_TEST_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
    };
    let addr = host_port(&server.endpoint);
    assert!(
        std::net::TcpStream::connect(&addr).is_ok(),
        "the S3 test server at {} does not answer: {hint}",
        server.endpoint
    );
    server
}

/// `host:port` of an `http://host:port[/...]` URL.
fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    }
}

fn osmem_bin() -> PathBuf {
    let hint = "install osmem-server with `eval \"$(scripts/search-test.sh)\"` \
                (or set SOCORRO_TEST_ELASTICSEARCH_URL to a cluster)";
    if let Some(p) = std::env::var_os("SOCORRO_TEST_OSMEM_BIN") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "SOCORRO_TEST_OSMEM_BIN={} does not exist: {hint}",
            p.display()
        );
        return p;
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import osmem_server,os;print(os.path.dirname(osmem_server.__file__))",
        ])
        .output()
        .unwrap_or_else(|e| panic!("python3 not runnable ({e}): {hint}"));
    assert!(
        out.status.success(),
        "osmem-server is not installed: {hint}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("bin/osmem-server");
    assert!(p.is_file(), "{} does not exist: {hint}", p.display());
    p
}

/// 12 random hex digits (from a fresh v4 UUID), for bucket, topic and index names.
fn random_tag() -> String {
    let id = CrashId::generate(ThrottleDigit::Accept, Utc::now().date_naive());
    let s = id.as_str();
    format!("{}{}", &s[..8], &s[9..13])
}

/// The last `n` lines of a log file, for failure messages.
fn tail(path: &Path, n: usize) -> String {
    let mut text = String::new();
    let _ = std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut text));
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    format!(
        "---- last lines of {}:\n{}",
        path.display(),
        lines[start..].join("\n")
    )
}

/// One Pub/Sub emulator process (Google's `pstest` fake, in memory), on a
/// fixed port so that it can be restarted where its clients expect it.
struct Emulator {
    child: tokio::process::Child,
    // Kept open: the emulator writes nothing more, but must not get SIGPIPE.
    _stdout: tokio::io::BufReader<tokio::process::ChildStdout>,
    port: u16,
    topics: String,
    ack_deadline_secs: u64,
    log: PathBuf,
}

impl Emulator {
    /// Starts on `port` (0: a free one) with `topics` (`topic:subscription,...`).
    async fn start(port: u16, topics: &str, ack_deadline_secs: u64, log: &Path) -> Self {
        let bin = crash_queue::conformance::pubsub_emulator_bin();
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let mut child = tokio::process::Command::new(&bin)
            .args([
                "-port",
                &port.to_string(),
                "-project",
                "test",
                "-topics",
                topics,
                "-ack-deadline",
                &ack_deadline_secs.to_string(),
                // Exits when our end of its stdin closes (should this test die).
                "-stdin-watch",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(10), stdout.read_line(&mut line))
            .await
            .expect("the Pub/Sub emulator did not print READY within 10 s")
            .unwrap();
        let addr = line
            .strip_prefix("READY ")
            .unwrap_or_else(|| {
                panic!(
                    "the Pub/Sub emulator did not start (output {line:?})\n{}",
                    tail(log, 20)
                )
            })
            .trim()
            .to_owned();
        let port = addr.rsplit_once(':').unwrap().1.parse().unwrap();
        Self {
            child,
            _stdout: stdout,
            port,
            topics: topics.to_owned(),
            ack_deadline_secs,
            log: log.to_owned(),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGKILL: everything it held in memory is gone.
    async fn kill(&mut self) {
        self.child.kill().await.unwrap();
    }

    /// A new, empty emulator on the same port with the same topics.
    async fn restart(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // The port was just released; retry should another bind race us.
            let port_free = std::net::TcpListener::bind(("127.0.0.1", self.port)).is_ok();
            if port_free {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "port {} of the Pub/Sub emulator stayed taken",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        *self = Self::start(self.port, &self.topics, self.ack_deadline_secs, &self.log).await;
    }
}

/// The search server: an osmem-server of this test, or the external cluster.
struct SearchServer {
    child: Option<Child>,
    url: String,
    prefix: String,
}

impl SearchServer {
    async fn start(log: &Path) -> Self {
        let prefix = format!("socorrodist{}", random_tag());
        if let Some(url) = std::env::var("SOCORRO_TEST_ELASTICSEARCH_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            return Self {
                child: None,
                url: url.trim_end_matches('/').to_owned(),
                prefix,
            };
        }
        let bin = osmem_bin();
        let port = support::free_port();
        let child = Command::new(&bin)
            .args(["-addr", &format!("127.0.0.1:{port}"), "-no-stdin-watch"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let server = Self {
            child: Some(child),
            url: format!("http://127.0.0.1:{port}"),
            prefix,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(
                Instant::now() < deadline,
                "osmem-server did not listen on {} within 20 s\n{}",
                server.url,
                tail(log, 20)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server
    }
}

impl Drop for SearchServer {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------------------
// A TCP proxy: the "S3 server" the collector sees, which can be stopped.

/// Forwards every connection to `upstream`, both ways. [`Proxy::stop`]
/// closes the listener and every open connection (the port refuses
/// connections, as a stopped server's would); [`Proxy::restart`] listens on
/// the same port again.
struct Proxy {
    port: u16,
    upstream: String,
    running: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    )>,
}

impl Proxy {
    async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut proxy = Self {
            port,
            upstream: upstream.to_owned(),
            running: None,
        };
        proxy.serve(listener);
        proxy
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn serve(&mut self, listener: TcpListener) {
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let upstream = self.upstream.clone();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    _ = &mut stop_rx => break,
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { continue };
                        let upstream = upstream.clone();
                        conns.spawn(async move {
                            if let Ok(mut outbound) = TcpStream::connect(&upstream).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            }
                        });
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
            drop(listener);
            // Every forwarded connection is closed before stop() returns.
            conns.shutdown().await;
        });
        self.running = Some((stop_tx, task));
    }

    async fn stop(&mut self) {
        let (stop, task) = self.running.take().expect("proxy is running");
        let _ = stop.send(());
        task.await.unwrap();
        assert!(
            TcpStream::connect(("127.0.0.1", self.port)).await.is_err(),
            "the stopped proxy still accepts connections"
        );
    }

    async fn restart(&mut self) {
        assert!(self.running.is_none(), "proxy is running");
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(e) => {
                    assert!(
                        Instant::now() < deadline,
                        "cannot listen on proxy port {} again: {e}",
                        self.port
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        self.serve(listener);
    }
}

// ---------------------------------------------------------------------------
// The stack: backends, `socorro setup`, the services as child processes.

/// A `socorro` child process, SIGKILLed when dropped.
struct Service {
    child: Child,
    log: PathBuf,
}

impl Service {
    /// SIGKILL (no shutdown of any kind) and reap.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

#[derive(Clone, Copy)]
struct StackOptions {
    /// `SOCORRO_QUEUE__PUBSUB__ACK_DEADLINE_SECS` and the emulator's subscriptions' deadline.
    ack_deadline_secs: u64,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            ack_deadline_secs: 60,
        }
    }
}

struct Stack {
    // Dropped first: the services (killed), then the servers.
    services: BTreeMap<String, Service>,
    emulator: Emulator,
    search: SearchServer,
    s3: S3Server,
    bucket: String,
    /// Direct access to the bucket (not through any proxy), for checks.
    storage: Arc<dyn CrashStorage>,
    // Keeps the database alive (dropped with the stack).
    _db: db::testing::TestDb,
    /// Settings every process gets (as docker-compose's `x-socorro-env`).
    env: Vec<(String, String)>,
    http: reqwest::Client,
    collector_port: u16,
    webapp_port: u16,
    tmp: Option<tempfile::TempDir>,
}

impl Stack {
    /// Every backend of this test, and `socorro setup` run against them.
    async fn new(opts: StackOptions) -> Self {
        let tmp = tempfile::Builder::new()
            .prefix("socorro-distributed-")
            .tempdir()
            .unwrap();
        let dir = tmp.path().to_owned();
        let s3 = s3_server();
        let db = db::testing::TestDb::postgres_empty()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "no throwaway PostgreSQL database: {e}; start the server with \
                     `eval \"$(scripts/pg-test.sh)\"`"
                )
            });
        let tag = random_tag();
        let names = [
            ("STANDARD", "std"),
            ("PRIORITY", "prio"),
            ("REPROCESSING", "re"),
        ]
        .map(|(queue, short)| {
            (
                queue,
                format!("dist-{short}-{tag}"),
                format!("dist-{short}-sub-{tag}"),
            )
        });
        let topics = names
            .iter()
            .map(|(_, t, s)| format!("{t}:{s}"))
            .collect::<Vec<_>>()
            .join(",");
        let emulator =
            Emulator::start(0, &topics, opts.ack_deadline_secs, &dir.join("pubsub.log")).await;
        let search = SearchServer::start(&dir.join("osmem.log")).await;
        let bucket = format!("socorro-dist-{tag}");

        let mut env: Vec<(String, String)> = vec![
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            (
                "SOCORRO_LOG__LEVEL".into(),
                "info,aws_smithy_runtime=warn,aws_config=warn,sqlx=warn".into(),
            ),
            ("SOCORRO_STORAGE__BACKEND".into(), "s3".into()),
            ("SOCORRO_STORAGE__S3__BUCKET".into(), bucket.clone()),
            ("SOCORRO_STORAGE__S3__REGION".into(), s3.region.clone()),
            (
                "SOCORRO_STORAGE__S3__ENDPOINT_URL".into(),
                s3.endpoint.clone(),
            ),
            (
                "SOCORRO_STORAGE__S3__FORCE_PATH_STYLE".into(),
                "true".into(),
            ),
            (
                "SOCORRO_STORAGE__S3__ACCESS_KEY_ID".into(),
                s3.access_key.clone(),
            ),
            (
                "SOCORRO_STORAGE__S3__SECRET_ACCESS_KEY".into(),
                s3.secret_key.clone(),
            ),
            ("SOCORRO_QUEUE__BACKEND".into(), "pubsub".into()),
            ("SOCORRO_QUEUE__PUBSUB__PROJECT_ID".into(), "test".into()),
            ("SOCORRO_QUEUE__PUBSUB__ENDPOINT".into(), emulator.url()),
            (
                "SOCORRO_QUEUE__PUBSUB__ACK_DEADLINE_SECS".into(),
                opts.ack_deadline_secs.to_string(),
            ),
            ("SOCORRO_DB__URL".into(), db.url().to_owned()),
            // `socorro setup` migrates; the services must not need to.
            ("SOCORRO_DB__MIGRATE_ON_START".into(), "false".into()),
            ("SOCORRO_SEARCH__BACKEND".into(), "elasticsearch".into()),
            (
                "SOCORRO_SEARCH__ELASTICSEARCH__URL".into(),
                search.url.clone(),
            ),
            (
                "SOCORRO_SEARCH__ELASTICSEARCH__INDEX_PREFIX".into(),
                search.prefix.clone(),
            ),
            (
                "SOCORRO_SEARCH__ELASTICSEARCH__NUMBER_OF_SHARDS".into(),
                "1".into(),
            ),
            (
                "SOCORRO_SEARCH__ELASTICSEARCH__NUMBER_OF_REPLICAS".into(),
                "0".into(),
            ),
            (
                "SOCORRO_WEBAPP__SECRET_KEY".into(),
                "distributed-test-secret-key-0123456789abcdef".into(),
            ),
            (
                "SOCORRO_WEBAPP__RATE_LIMITS__API_ANONYMOUS_PER_MIN".into(),
                "1000000".into(),
            ),
            ("SOCORRO_PROCESSOR__RETRY_DELAY_SECS".into(), "1".into()),
        ];
        for (queue, topic, sub) in &names {
            env.push((
                format!("SOCORRO_QUEUE__PUBSUB__{queue}_TOPIC"),
                topic.clone(),
            ));
            env.push((
                format!("SOCORRO_QUEUE__PUBSUB__{queue}_SUBSCRIPTION"),
                sub.clone(),
            ));
        }

        let storage = crash_storage::config::build(
            &StorageConfig {
                backend: StorageBackend::S3,
                s3: S3Config {
                    bucket: bucket.clone(),
                    region: s3.region.clone(),
                    endpoint_url: Some(s3.endpoint.clone()),
                    force_path_style: Some(true),
                    access_key_id: Some(s3.access_key.clone()),
                    secret_access_key: Some(s3.secret_key.clone()),
                    ..S3Config::default()
                },
                ..StorageConfig::default()
            },
            &dir,
        )
        .unwrap();

        let stack = Self {
            services: BTreeMap::new(),
            emulator,
            search,
            s3,
            bucket,
            storage,
            _db: db,
            env,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            collector_port: support::free_port(),
            webapp_port: support::free_port(),
            tmp: Some(tmp),
        };
        stack.setup();
        stack
    }

    fn dir(&self) -> &Path {
        self.tmp.as_ref().unwrap().path()
    }

    fn collector(&self) -> String {
        format!("http://127.0.0.1:{}", self.collector_port)
    }

    fn webapp(&self) -> String {
        format!("http://127.0.0.1:{}", self.webapp_port)
    }

    fn log(&self, name: &str) -> PathBuf {
        self.dir().join(format!("{name}.log"))
    }

    /// A `socorro <args>` command with only the stack's settings (plus `extra`).
    fn command(&self, name: &str, args: &[&str], extra: &[(&str, String)]) -> Command {
        let data = self.dir().join(name);
        std::fs::create_dir_all(&data).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_socorro"));
        cmd.args(args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("SOCORRO_DATA_DIR", &data)
            .env(
                "SOCORRO_COLLECTOR__LISTEN",
                format!("127.0.0.1:{}", self.collector_port),
            )
            .env(
                "SOCORRO_WEBAPP__LISTEN",
                format!("127.0.0.1:{}", self.webapp_port),
            );
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd
    }

    /// `socorro setup`: creates the bucket, checks the queue, migrates the
    /// database, installs the index template.
    fn setup(&self) {
        let t = Instant::now();
        let out = self
            .command("setup", &["setup", "--wait-secs", "10"], &[])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "socorro setup failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("bucket {} created", self.bucket)),
            "socorro setup did not create the bucket:\n{stdout}"
        );
        eprintln!(
            "setup ({:.1} s): {}",
            t.elapsed().as_secs_f64(),
            stdout.trim().replace('\n', "; ")
        );
    }

    /// Starts `socorro run --only <only>` as service `name` (its log is `<name>.log`).
    fn start(&mut self, name: &str, only: &str, extra: &[(&str, String)]) {
        let log = self.log(name);
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = self
            .command(name, &["run", "--only", only], extra)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let old = self
            .services
            .insert(name.to_owned(), Service { child, log });
        assert!(old.is_none(), "service {name} started twice");
    }

    /// SIGKILLs service `name`.
    fn kill(&mut self, name: &str) {
        let mut service = self.services.remove(name).expect("service is running");
        service.kill();
    }

    /// Log tails of every service, for failure messages.
    fn logs(&self) -> String {
        let mut out = String::new();
        for service in self.services.values() {
            out.push_str(&tail(&service.log, 15));
            out.push('\n');
        }
        for name in ["pubsub", "osmem"] {
            let log = self.log(name);
            if log.exists() {
                out.push_str(&tail(&log, 5));
                out.push('\n');
            }
        }
        out
    }

    async fn wait_healthy(&mut self, url: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = self.http.get(url).send().await
                && r.status() == 200
            {
                return;
            }
            for (name, service) in &mut self.services {
                if let Ok(Some(status)) = service.child.try_wait() {
                    panic!(
                        "service {name} exited ({status}) before {url} was healthy\n{}",
                        tail(&service.log, 30)
                    );
                }
            }
            assert!(
                Instant::now() < deadline,
                "{url} not healthy within 60 s\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_collector(&mut self) {
        let url = format!("{}/__heartbeat__", self.collector());
        self.wait_healthy(&url).await;
    }

    async fn wait_webapp(&mut self) {
        let url = format!("{}/__heartbeat__", self.webapp());
        self.wait_healthy(&url).await;
    }

    /// Which of `ids` have a processed crash in the bucket.
    async fn processed(&self, ids: &BTreeSet<CrashId>) -> BTreeSet<CrashId> {
        let mut done = BTreeSet::new();
        for id in ids {
            if self.storage.processed_crash_exists(id).await.unwrap() {
                done.insert(id.clone());
            }
        }
        done
    }

    /// Waits until every one of `ids` has a processed crash; how long it took.
    async fn wait_processed(&self, ids: &BTreeSet<CrashId>, within: Duration) -> Duration {
        let start = Instant::now();
        let mut pending = ids.clone();
        loop {
            let done = self.processed(&pending).await;
            pending.retain(|id| !done.contains(id));
            if pending.is_empty() {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < within,
                "{} of {} crashes not processed within {within:?}: {:?}\n{}",
                pending.len(),
                ids.len(),
                pending.iter().take(10).collect::<Vec<_>>(),
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `/api/ProcessedCrash/?crash_id=<id>` answers the processed crash.
    async fn api_processed_crash(&self, id: &CrashId) -> Value {
        let r = self
            .http
            .get(format!("{}/api/ProcessedCrash/", self.webapp()))
            .query(&[("crash_id", id.as_str())])
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        assert_eq!(status, 200, "/api/ProcessedCrash/?crash_id={id:?}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v["uuid"].as_str(),
            Some(id.as_str()),
            "/api/ProcessedCrash/ answered another crash"
        );
        v
    }

    async fn searchable(&self, id: &CrashId) -> bool {
        let r = self
            .http
            .get(format!("{}/api/SuperSearch/", self.webapp()))
            .query(&[("uuid", id.as_str()), ("_columns", "uuid")])
            .send()
            .await
            .unwrap();
        if r.status() != 200 {
            return false;
        }
        let v: Value = r.json().await.unwrap();
        v["total"].as_u64() == Some(1)
    }

    /// `/api/MissingProcessedCrash/`: what verify-processed recorded.
    async fn missing_processed(&self) -> BTreeSet<CrashId> {
        let v: Value = self
            .http
            .get(format!("{}/api/MissingProcessedCrash/", self.webapp()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["results"]
            .as_array()
            .unwrap_or_else(|| panic!("unexpected MissingProcessedCrash answer {v}"))
            .iter()
            .map(|r| CrashId::parse(r["crash_id"].as_str().unwrap()).unwrap())
            .collect()
    }

    /// The crash is complete in the bucket: raw crash with the submitted
    /// annotations, and the dump byte for byte.
    async fn assert_stored(&self, id: &CrashId, sample: &Sample) {
        let raw = self.storage.load_raw_crash(id).await.unwrap_or_else(|e| {
            panic!(
                "crash {id:?} ({}) acknowledged but its raw crash is not in S3: {e}",
                sample.name
            )
        });
        // The collector drops these (Antenna's REMOVED_FIELDS).
        let removed = [
            "Email",
            "TelemetryClientId",
            "TelemetryServerURL",
            "TelemetrySessionId",
        ];
        for (k, v) in sample
            .fields
            .iter()
            .filter(|(k, _)| !removed.contains(&k.as_str()))
        {
            assert_eq!(
                raw.0.get(k).and_then(Value::as_str),
                Some(v.as_str()),
                "crash {id:?}: annotation {k} in S3"
            );
        }
        let names = self.storage.load_dump_names(id).await.unwrap();
        assert_eq!(names.len(), 1, "crash {id:?}: dump names {names:?}");
        let dump = self
            .storage
            .load_dump(id, &names[0])
            .await
            .unwrap_or_else(|e| panic!("crash {id:?} acknowledged but its dump is not in S3: {e}"));
        assert!(
            dump[..] == sample.dump[..],
            "crash {id:?} ({}): the dump in S3 ({} bytes) is not the one sent ({} bytes)",
            sample.name,
            dump.len(),
            sample.dump.len()
        );
    }

    /// Empties and deletes the bucket, deletes the search indices of an
    /// external cluster (osmem dies with the test).
    async fn clean_up(&self) {
        let store = crash_storage::S3ObjectStore::new(&S3Config {
            bucket: self.bucket.clone(),
            region: self.s3.region.clone(),
            endpoint_url: Some(self.s3.endpoint.clone()),
            force_path_style: Some(true),
            access_key_id: Some(self.s3.access_key.clone()),
            secret_access_key: Some(self.s3.secret_key.clone()),
            ..S3Config::default()
        })
        .unwrap();
        let client = store.client();
        let mut keys = Vec::new();
        let mut pages = client
            .list_objects_v2()
            .bucket(&self.bucket)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let Ok(page) = page else { break };
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        for key in keys {
            let _ = client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await;
        }
        if let Err(e) = client.delete_bucket().bucket(&self.bucket).send().await {
            eprintln!("warning: could not delete bucket {}: {e:?}", self.bucket);
        }
        if self.search.child.is_none() {
            let url = format!(
                "{}/_cat/indices/{}*?format=json",
                self.search.url, self.search.prefix
            );
            if let Ok(r) = self.http.get(url).send().await
                && let Ok(Value::Array(indices)) = r.json::<Value>().await
            {
                for index in indices {
                    if let Some(name) = index["index"].as_str() {
                        let _ = self
                            .http
                            .delete(format!("{}/{name}", self.search.url))
                            .send()
                            .await;
                    }
                }
            }
        }
    }

    /// Kills the services, cleans up (also after a failure: a thread with
    /// its own runtime, as Drop cannot await).
    fn finish(&mut self) {
        for service in self.services.values_mut() {
            service.kill();
        }
        let panicking = std::thread::panicking();
        std::thread::scope(|s| {
            s.spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(self.clean_up());
            });
        });
        if panicking && let Some(tmp) = self.tmp.take() {
            eprintln!("logs of the failed test kept in {}", tmp.keep().display());
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.finish();
    }
}

// ---------------------------------------------------------------------------
// Crashes and their submission.

/// One crash to send: its form fields and dump bytes.
struct Sample {
    name: String,
    fields: Vec<(String, String)>,
    dump: Vec<u8>,
}

/// Every real dump of the corpus, as `socorro demo --dry-run` lists them
/// (the xz-compressed Firefox dumps unpacked into `tmp`), read into memory.
fn corpus(tmp: &Path) -> Vec<Sample> {
    support::corpus(tmp)
        .into_iter()
        .map(|listed| Sample {
            dump: std::fs::read(&listed.dump).unwrap(),
            name: listed.name,
            fields: listed.fields,
        })
        .collect()
}

/// The `n` smallest dumps of the corpus (quick to store and to process), for
/// the fault tests.
fn small_corpus(tmp: &Path, n: usize) -> Vec<Sample> {
    let mut samples = corpus(tmp);
    samples.sort_by_key(|s| s.dump.len());
    samples.truncate(n);
    assert_eq!(samples.len(), n, "corpus too small");
    samples
}

/// What the collector answered to one submission.
#[derive(Clone, Debug)]
struct Answer {
    status: u16,
    retry_after: Option<String>,
    /// From `CrashID=bp-<id>` (200 only).
    crash_id: Option<CrashId>,
    body: String,
}

/// POSTs `sample` as a Breakpad client does; with `uuid`, as the stage
/// submitter does (the collector keeps that id).
async fn submit(
    http: &reqwest::Client,
    collector: &str,
    sample: &Sample,
    uuid: Option<&CrashId>,
) -> Answer {
    let mut form = collector::client::Submission::new();
    for (k, v) in &sample.fields {
        form = form.annotation(k, v);
    }
    if let Some(id) = uuid {
        form = form.annotation("uuid", id.as_str());
    }
    form = form.dump("upload_file_minidump", sample.dump.clone());
    let mut req = http
        .post(format!("{collector}/submit"))
        .header("Content-Type", form.content_type())
        .body(form.body());
    if uuid.is_some() {
        req = req.bearer_auth(STAGE_TOKEN);
    }
    let r = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}: the collector did not answer: {e}", sample.name));
    let status = r.status().as_u16();
    let retry_after = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let body = r.text().await.unwrap_or_default();
    let crash_id = (status == 200).then(|| {
        let text = body
            .trim()
            .strip_prefix("CrashID=")
            .unwrap_or_else(|| panic!("{}: unexpected 200 answer {body:?}", sample.name));
        CrashId::parse(text).unwrap()
    });
    if let (Some(sent), Some(got)) = (uuid, &crash_id) {
        assert_eq!(
            sent, got,
            "the collector did not keep the stage submitter's id"
        );
    }
    Answer {
        status,
        retry_after,
        crash_id,
        body,
    }
}

/// One submission of a [`Stream`].
#[derive(Clone, Debug)]
struct Attempt {
    sample: usize,
    started: Instant,
    finished: Instant,
    answer: Answer,
}

/// Clients submitting crashes continuously (`workers` at once, cycling
/// through the samples) until [`Stream::finish`].
struct Stream {
    attempts: Arc<Mutex<Vec<Attempt>>>,
    /// Submissions sent and not answered yet: sample and start, per worker.
    in_flight: Arc<Mutex<BTreeMap<usize, (usize, Instant)>>>,
    stop: Arc<AtomicBool>,
    tasks: tokio::task::JoinSet<()>,
}

impl Stream {
    /// With `id_date`, every crash gets an id of that day (stage submitter).
    fn start(
        http: &reqwest::Client,
        collector: &str,
        samples: &Arc<Vec<Sample>>,
        workers: usize,
        id_date: Option<NaiveDate>,
    ) -> Self {
        let attempts = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(Mutex::new(BTreeMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let next = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..workers {
            let (http, collector, samples) =
                (http.clone(), collector.to_owned(), Arc::clone(samples));
            let (attempts, stop, next) = (attempts.clone(), stop.clone(), next.clone());
            let in_flight = in_flight.clone();
            tasks.spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let sample = next.fetch_add(1, Ordering::SeqCst) % samples.len();
                    let uuid = id_date.map(|d| CrashId::generate(ThrottleDigit::Accept, d));
                    let started = Instant::now();
                    in_flight.lock().unwrap().insert(worker, (sample, started));
                    let answer = submit(&http, &collector, &samples[sample], uuid.as_ref()).await;
                    in_flight.lock().unwrap().remove(&worker);
                    let attempt = Attempt {
                        sample,
                        started,
                        finished: Instant::now(),
                        answer,
                    };
                    attempts.lock().unwrap().push(attempt);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            });
        }
        Self {
            attempts,
            in_flight,
            stop,
            tasks,
        }
    }

    /// Samples being submitted right now, and for how long.
    fn in_flight(&self) -> Vec<(usize, Duration)> {
        self.in_flight
            .lock()
            .unwrap()
            .values()
            .map(|&(sample, started)| (sample, started.elapsed()))
            .collect()
    }

    fn snapshot(&self) -> Vec<Attempt> {
        self.attempts.lock().unwrap().clone()
    }

    /// Waits until `pred` holds for the attempts so far.
    async fn wait_for(&self, what: &str, within: Duration, pred: impl Fn(&[Attempt]) -> bool) {
        let start = Instant::now();
        loop {
            if pred(&self.snapshot()) {
                return;
            }
            assert!(
                start.elapsed() < within,
                "not within {within:?}: {what}; answers so far: {:?}",
                self.snapshot()
                    .iter()
                    .map(|a| a.answer.status)
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn finish(mut self) -> Vec<Attempt> {
        self.stop.store(true, Ordering::SeqCst);
        while let Some(done) = self.tasks.join_next().await {
            done.unwrap();
        }
        self.snapshot()
    }
}

/// Every answer is a 200 with a crash id, or a 503 with `Retry-After`:
/// never another error, never an id without a 200.
fn assert_answers_are_200_or_503(attempts: &[Attempt], samples: &[Sample]) {
    for a in attempts {
        match a.answer.status {
            200 => assert!(a.answer.crash_id.is_some()),
            503 => assert_eq!(
                a.answer.retry_after.as_deref(),
                Some(RETRY_AFTER_SECS),
                "{}: 503 without the configured Retry-After",
                samples[a.sample].name
            ),
            other => panic!(
                "{}: the collector answered {other}: {}",
                samples[a.sample].name, a.answer.body
            ),
        }
    }
}

fn count_status(attempts: &[Attempt], status: u16) -> usize {
    attempts
        .iter()
        .filter(|a| a.answer.status == status)
        .count()
}

fn accepted(attempts: &[Attempt]) -> BTreeMap<CrashId, usize> {
    attempts
        .iter()
        .filter_map(|a| a.answer.crash_id.clone().map(|id| (id, a.sample)))
        .collect()
}

// ---------------------------------------------------------------------------
// The tests.

/// The whole corpus through collector, processor and webapp in three
/// processes: every crash acknowledged, processed and searchable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_pipeline_processes_and_indexes_the_corpus() {
    let t0 = Instant::now();
    let mut stack = Stack::new(StackOptions::default()).await;
    let samples = corpus(stack.dir());
    assert!(
        samples.len() >= 70,
        "corpus has only {} dumps",
        samples.len()
    );
    stack.start("collector", "collector", &[]);
    stack.start("processor", "processor", &[]);
    stack.start("webapp", "webapp", &[]);
    stack.wait_collector().await;
    stack.wait_webapp().await;
    let ready = t0.elapsed();

    let t_submit = Instant::now();
    let mut ids = BTreeMap::new();
    for (i, sample) in samples.iter().enumerate() {
        let answer = submit(&stack.http, &stack.collector(), sample, None).await;
        assert_eq!(answer.status, 200, "{}: {}", sample.name, answer.body);
        ids.insert(answer.crash_id.unwrap(), i);
    }
    let submitted = t_submit.elapsed();
    assert_eq!(ids.len(), samples.len(), "crash ids are not unique");
    let all: BTreeSet<CrashId> = ids.keys().cloned().collect();

    let processed_in = stack.wait_processed(&all, Duration::from_secs(120)).await + submitted;
    let t_search = Instant::now();
    let mut pending = all.clone();
    while !pending.is_empty() {
        let mut still = BTreeSet::new();
        for id in &pending {
            if !stack.searchable(id).await {
                still.insert(id.clone());
            }
        }
        pending = still;
        assert!(
            pending.is_empty() || t_search.elapsed() < Duration::from_secs(30),
            "{} processed crashes not searchable 30 s later: {:?}\n{}",
            pending.len(),
            pending.iter().take(10).collect::<Vec<_>>(),
            stack.logs()
        );
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let searchable_in = t_submit.elapsed();
    let mut with_signature = 0;
    for (id, &i) in &ids {
        stack.assert_stored(id, &samples[i]).await;
        let processed = stack.api_processed_crash(id).await;
        if processed["signature"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
        {
            with_signature += 1;
        }
    }
    eprintln!(
        "distributed: {} crashes ({:.1} MB) submitted in {:.1} s, all processed after {:.1} s, \
         all searchable after {:.1} s ({with_signature} with a signature); stack ready in {:.1} s, \
         test took {:.1} s",
        ids.len(),
        samples.iter().map(|s| s.dump.len()).sum::<usize>() as f64 / 1e6,
        submitted.as_secs_f64(),
        processed_in.as_secs_f64(),
        searchable_in.as_secs_f64(),
        ready.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(
        with_signature,
        ids.len(),
        "processed crashes without a signature"
    );
}

/// S3 goes away under the collector and comes back on the same address.
/// The shared RGW cannot be stopped, so the collector reaches it through an
/// in-test TCP proxy whose stop closes its listener and every connection
/// (the processor and webapp use RGW directly). Two clients submit all the
/// time, the stop comes while a large crash (multipart upload) is in flight
/// if one comes within 10 s, and lasts at least 2 s. Every answer must be a
/// 200 or a 503 with `Retry-After`; those made entirely while stopped must
/// be 503; after the restart 200s come back; and every crash answered 200 —
/// including any that straddled the stop — must be complete in S3 (raw
/// crash with its annotations, the dump byte for byte) and get processed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_down_while_submitting() {
    let t0 = Instant::now();
    let mut stack = Stack::new(StackOptions::default()).await;
    // Small dumps, and the two largest (one of them above the 8 MiB
    // multipart threshold), so that the stop may cut uploads in flight.
    let mut samples = corpus(stack.dir());
    samples.sort_by_key(|s| s.dump.len());
    let largest = samples.split_off(samples.len() - 2);
    samples.truncate(10);
    samples.extend(largest);
    let big = |i: usize| i >= 10;
    let samples = Arc::new(samples);
    let mut proxy = Proxy::start(&host_port(&stack.s3.endpoint)).await;
    stack.start(
        "collector",
        "collector",
        &[
            ("SOCORRO_STORAGE__S3__ENDPOINT_URL", proxy.url()),
            ("SOCORRO_STORAGE__RETRY__MAX_ATTEMPTS", "2".into()),
            ("SOCORRO_STORAGE__RETRY__INITIAL_BACKOFF_MS", "50".into()),
            ("SOCORRO_STORAGE__RETRY__MAX_BACKOFF_MS", "100".into()),
            ("SOCORRO_STORAGE__S3__REQUEST_TIMEOUT_MS", "2000".into()),
            ("SOCORRO_STORAGE__S3__CONNECT_TIMEOUT_MS", "300".into()),
            ("SOCORRO_COLLECTOR__SAVE_TIMEOUT_SECS", "3".into()),
            (
                "SOCORRO_COLLECTOR__RETRY_AFTER_SECS",
                RETRY_AFTER_SECS.into(),
            ),
        ],
    );
    stack.start("processor", "processor", &[]);
    stack.start("webapp", "webapp", &[]);
    stack.wait_collector().await;
    stack.wait_webapp().await;

    let stream = Stream::start(&stack.http, &stack.collector(), &samples, 2, None);
    stream
        .wait_for(
            "4 crashes accepted before S3 stops",
            Duration::from_secs(30),
            |a| count_status(a, 200) >= 4,
        )
        .await;
    // Stop S3 while a large crash is being sent, if one comes within 10 s.
    let wait_big = Instant::now();
    while wait_big.elapsed() < Duration::from_secs(10)
        && !stream
            .in_flight()
            .iter()
            .any(|&(i, t)| big(i) && t > Duration::from_millis(5))
    {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    proxy.stop().await;
    let down = Instant::now();
    stream
        .wait_for(
            "4 submissions made entirely while S3 is stopped, and 2 s",
            Duration::from_secs(30),
            |a| {
                down.elapsed() > Duration::from_secs(2)
                    && a.iter().filter(|a| a.started > down).count() >= 4
            },
        )
        .await;
    proxy.restart().await;
    let up = Instant::now();
    stream
        .wait_for(
            "4 crashes accepted after S3 is back",
            Duration::from_secs(30),
            |a| {
                a.iter()
                    .filter(|a| a.started > up && a.answer.status == 200)
                    .count()
                    >= 4
            },
        )
        .await;
    let attempts = stream.finish().await;
    assert_answers_are_200_or_503(&attempts, &samples);

    // While stopped: 503 + Retry-After, never 200.
    let while_down: Vec<&Attempt> = attempts
        .iter()
        .filter(|a| a.started > down && a.finished < up)
        .collect();
    assert!(
        while_down.len() >= 4,
        "only {} submissions while S3 was stopped",
        while_down.len()
    );
    for a in &while_down {
        assert_eq!(
            a.answer.status, 503,
            "{}: answered {} while S3 was stopped: {}",
            samples[a.sample].name, a.answer.status, a.answer.body
        );
    }
    let first_200_after = attempts
        .iter()
        .filter(|a| a.started > up && a.answer.status == 200)
        .map(|a| a.finished.duration_since(up))
        .min()
        .unwrap();

    // Every 200 is a crash completely in S3, and it gets processed.
    let ok = accepted(&attempts);
    assert_eq!(
        ok.len(),
        count_status(&attempts, 200),
        "crash ids are not unique"
    );
    for (id, &i) in &ok {
        stack.assert_stored(id, &samples[i]).await;
    }
    let all: BTreeSet<CrashId> = ok.keys().cloned().collect();
    stack.wait_processed(&all, Duration::from_secs(60)).await;
    for id in &all {
        stack.api_processed_crash(id).await;
    }
    let around = attempts
        .iter()
        .filter(|a| {
            (a.started <= down && a.finished >= down) || (a.started <= up && a.finished >= up)
        })
        .collect::<Vec<_>>();
    eprintln!(
        "s3 outage: {} submissions: {} accepted (all complete in S3 and processed), {} refused \
         with 503 + Retry-After ({} of them made entirely while S3 was stopped for {:.1} s); \
         {} straddled the stop or the restart ({} of those accepted); first 200 {:.2} s after \
         the restart; test took {:.1} s",
        attempts.len(),
        ok.len(),
        count_status(&attempts, 503),
        while_down.len(),
        up.duration_since(down).as_secs_f64(),
        around.len(),
        around.iter().filter(|a| a.answer.status == 200).count(),
        first_200_after.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
}

/// The Pub/Sub emulator is SIGKILLed and restarted on the same port in the
/// middle of a stream of submissions (2 clients at once). While it is down
/// the collector must answer 503 + `Retry-After` (it cannot publish); every
/// crash it answered 200 must end processed.
///
/// Which mechanism processes which acknowledged crash (counts printed):
///
/// 1. **the queue** (normal path): published, delivered to the processor,
///    processed, acked — before the kill, or after the restart. The crashes
///    processed when the test stops waiting for this path (all processed,
///    or nothing new for 15 s) are the "processed through the queue" count.
///    Messages the processor had received before the kill and processes
///    after it count here too (their acks go nowhere; nothing is lost).
/// 2. **verify-processed** (the crontabber job, Socorro's recovery of lost
///    queue messages) for the crashes the restart lost, all of them because
///    the fake keeps everything in memory (real Pub/Sub is durable):
///    (a) published to the old emulator and not yet delivered when it died
///    (it pushes to a subscriber every 10 ms; the kill comes within a few ms
///    of an acknowledgement, so usually at least that one); (b) delivered
///    before the kill but given back after it (buffer TTL, nack): the new
///    emulator does not know them; (c) an artefact of the fake: message and
///    ack ids are a counter restarting at `m0`, so the acks the processor
///    sends after the restart for old-emulator messages it just processed
///    ack the new emulator's first messages, before they are delivered (seen
///    in some runs: "lost ... acknowledged after it"). The job lists the raw
///    crashes of the day before its run time that have no processed crash,
///    records them (`/api/MissingProcessedCrash/`) and publishes them to the
///    reprocessing queue, which the processor pulls: the "recovered by
///    verify-processed" count. The test checks that the job found every
///    acknowledged crash still unprocessed, no processed one, and that what
///    else it found is a refused (503) crash of the same day left in storage.
///
/// The stream sends its crashes as yesterday's (client-chosen ids with the
/// stage submitter token, as Mozilla's stage submitter does), so that
/// running the job now is its next daily run. (A run within seconds of
/// midnight UTC could see the day change under it.) Before the job, one
/// more crash must go through the new emulator's queue: the processor
/// consumes it again, so what is missing was lost, not stuck.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_emulator_restarted_mid_stream() {
    let t0 = Instant::now();
    let mut stack = Stack::new(StackOptions::default()).await;
    let samples = Arc::new(small_corpus(stack.dir(), 12));
    stack.start(
        "collector",
        "collector",
        &[
            ("SOCORRO_QUEUE__PUBSUB__PUBLISH_TIMEOUT_SECS", "1".into()),
            ("SOCORRO_QUEUE__RETRY__MAX_ATTEMPTS", "2".into()),
            ("SOCORRO_QUEUE__RETRY__INITIAL_BACKOFF_MS", "50".into()),
            ("SOCORRO_QUEUE__RETRY__MAX_BACKOFF_MS", "100".into()),
            // Longer than the publish can take, so that a refused crash is
            // removed from storage by the collector, not left behind.
            ("SOCORRO_COLLECTOR__SAVE_TIMEOUT_SECS", "10".into()),
            (
                "SOCORRO_COLLECTOR__RETRY_AFTER_SECS",
                RETRY_AFTER_SECS.into(),
            ),
            (
                "SOCORRO_COLLECTOR__STAGE_SUBMITTER_TOKEN",
                STAGE_TOKEN.into(),
            ),
        ],
    );
    stack.start(
        "processor",
        "processor",
        &[
            ("SOCORRO_LOG__FORMAT", "json".into()),
            (
                "SOCORRO_LOG__LEVEL",
                "info,processor::worker=debug,crash_queue=debug,aws_smithy_runtime=warn,aws_config=warn".into(),
            ),
        ],
    );
    stack.start("webapp", "webapp", &[]);
    stack.wait_collector().await;
    stack.wait_webapp().await;

    let yesterday = (Utc::now() - TimeDelta::days(1)).date_naive();
    let stream = Stream::start(
        &stack.http,
        &stack.collector(),
        &samples,
        2,
        Some(yesterday),
    );
    stream
        .wait_for(
            "5 crashes accepted before the restart",
            Duration::from_secs(30),
            |a| count_status(a, 200) >= 5,
        )
        .await;
    // Killed within a few ms of an acknowledgement: that crash was published
    // just now, and the emulator pushes to a subscriber only every 10 ms, so
    // it is often still undelivered (lost), whatever else the restart loses.
    let accepted_so_far = count_status(&stream.snapshot(), 200);
    while count_status(&stream.snapshot(), 200) == accepted_so_far {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    stack.emulator.kill().await;
    let down = Instant::now();
    stream
        .wait_for(
            "2 submissions made entirely while the emulator is down",
            Duration::from_secs(30),
            |a| a.iter().filter(|a| a.started > down).count() >= 2,
        )
        .await;
    stack.emulator.restart().await;
    let up = Instant::now();
    stream
        .wait_for(
            "5 crashes accepted after the restart",
            Duration::from_secs(60),
            |a| {
                a.iter()
                    .filter(|a| a.started > up && a.answer.status == 200)
                    .count()
                    >= 5
            },
        )
        .await;
    let attempts = stream.finish().await;
    let stream_done = Instant::now();
    assert_answers_are_200_or_503(&attempts, &samples);
    let while_down: Vec<&Attempt> = attempts
        .iter()
        .filter(|a| a.started > down && a.finished < up)
        .collect();
    assert!(
        !while_down.is_empty(),
        "no submission made entirely while the emulator was down"
    );
    for a in &while_down {
        assert_eq!(
            a.answer.status, 503,
            "{}: answered {} while the emulator was down: {}",
            samples[a.sample].name, a.answer.status, a.answer.body
        );
    }
    let ok = accepted(&attempts);
    let all: BTreeSet<CrashId> = ok.keys().cloned().collect();
    for (id, &i) in &ok {
        stack.assert_stored(id, &samples[i]).await;
    }

    // The normal path settles: everything processed, or nothing new for 15 s
    // (longer than a buffered message's 10 s TTL in the processor).
    let mut before = stack.processed(&all).await;
    let mut changed = Instant::now();
    while before.len() < all.len() && changed.elapsed() < Duration::from_secs(15) {
        assert!(
            stream_done.elapsed() < Duration::from_secs(90),
            "the processor never settled\n{}",
            stack.logs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = stack.processed(&all).await;
        if now.len() != before.len() {
            changed = Instant::now();
        }
        before = now;
    }
    let lost: BTreeSet<CrashId> = all.difference(&before).cloned().collect();
    // When the lost crashes were acknowledged: before the kill (mechanisms
    // a and b), or around and after the restart (mechanism c).
    let acked_before_kill: BTreeSet<CrashId> = attempts
        .iter()
        .filter(|a| a.finished < down)
        .filter_map(|a| a.answer.crash_id.clone())
        .collect();
    let lost_before_kill = lost.intersection(&acked_before_kill).count();
    // Old-emulator messages the processor settled (acked) after the restart:
    // the stale acks of mechanism c.
    let restarted_at = Utc::now() - TimeDelta::from_std(up.elapsed()).unwrap();
    let handled_after_restart = handled(&stack.log("processor"))
        .iter()
        .filter(|h| {
            h.at > restarted_at && acked_before_kill.iter().any(|id| id.as_str() == h.crash_id)
        })
        .count();

    // The processor consumes the standard queue of the new emulator: a crash
    // sent now is processed through it (so what is still missing was lost,
    // not stuck).
    let canary = submit(
        &stack.http,
        &stack.collector(),
        &samples[0],
        Some(&CrashId::generate(ThrottleDigit::Accept, yesterday)),
    )
    .await;
    assert_eq!(canary.status, 200, "{}", canary.body);
    let canary: BTreeSet<CrashId> = canary.crash_id.into_iter().collect();
    stack.wait_processed(&canary, Duration::from_secs(30)).await;

    // verify-processed, as the crontabber runs it the next day.
    let out = stack
        .command("cron", &["cron", "run", "verify-processed", "--force"], &[])
        .output()
        .unwrap();
    let cron_out = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "socorro cron run verify-processed failed:\n{cron_out}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let missing = stack.missing_processed().await;
    // It found every acknowledged crash the queue lost (one it did not find
    // can only have been processed after all, between the count and the job).
    let not_found: BTreeSet<CrashId> = lost.difference(&missing).cloned().collect();
    let processed_late = stack.processed(&not_found).await;
    assert_eq!(
        processed_late, not_found,
        "verify-processed did not find unprocessed crashes\n{cron_out}"
    );
    // ... and nothing processed already (it checks storage).
    let needless: Vec<&CrashId> = missing.intersection(&before).collect();
    assert!(
        needless.is_empty(),
        "verify-processed re-queued processed crashes {needless:?}"
    );
    // Anything else it found was stored but answered 503 (the client keeps
    // it and sends it again): the collector failed to remove it.
    let refused_but_stored: BTreeSet<CrashId> = missing.difference(&all).cloned().collect();
    for id in &refused_but_stored {
        assert_eq!(
            id.date(),
            yesterday,
            "verify-processed found a crash of another day"
        );
    }
    let recovered_in = stack
        .wait_processed(&missing, Duration::from_secs(60))
        .await;
    for id in &all {
        stack.api_processed_crash(id).await;
    }
    eprintln!(
        "pubsub restart: {} submissions: {} accepted, {} refused with 503 + Retry-After ({} made \
         entirely during the {:.1} s the emulator was down). Of the {} accepted: {} processed \
         through the queue (normal path), {} lost with the emulator's memory and recovered by \
         verify-processed -> reprocessing queue ({:.1} s after the job ran), {} processed late \
         through the queue; verify-processed also re-queued {} refused crashes left in \
         storage. Lost: {} acknowledged before the kill, {} after it (the processor settled {} \
         old-emulator messages after the restart). cron: {}; test took {:.1} s",
        attempts.len(),
        ok.len(),
        count_status(&attempts, 503),
        while_down.len(),
        up.duration_since(down).as_secs_f64(),
        all.len(),
        before.len(),
        lost.len() - processed_late.len(),
        recovered_in.as_secs_f64(),
        processed_late.len(),
        refused_but_stored.len(),
        lost_before_kill,
        lost.len() - lost_before_kill,
        handled_after_restart,
        cron_out.trim(),
        t0.elapsed().as_secs_f64()
    );
}

/// A processor is SIGKILLed while it holds leased messages: once their ack
/// deadline (10 s, the minimum) passes, Pub/Sub redelivers them to a new
/// processor. At-least-once: a crash processed but not yet acked when the
/// processor died (acks are flushed every 200 ms) is processed again
/// (counted, not an error).
///
/// Which process handled what, and when, comes from the processors' JSON
/// logs (`message handled`, debug level of `processor::worker`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processor_killed_holding_messages() {
    let t0 = Instant::now();
    let mut stack = Stack::new(StackOptions {
        ack_deadline_secs: 10,
    })
    .await;
    let samples = small_corpus(stack.dir(), 16);
    stack.start("collector", "collector", &[]);
    stack.start("webapp", "webapp", &[]);
    stack.wait_collector().await;
    stack.wait_webapp().await;

    // A backlog waits in the subscription before the processor starts; with
    // one worker it takes one crash at a time while its streaming pull
    // receives (and leases) the next ones.
    let mut ids = BTreeMap::new();
    for round in 0..3 {
        for (i, sample) in samples.iter().enumerate() {
            let answer = submit(&stack.http, &stack.collector(), sample, None).await;
            assert_eq!(
                answer.status, 200,
                "{} (round {round}): {}",
                sample.name, answer.body
            );
            ids.insert(answer.crash_id.unwrap(), i);
        }
    }
    let all: BTreeSet<CrashId> = ids.keys().cloned().collect();
    let processor_env = |workers: &str| {
        [
            ("SOCORRO_PROCESSOR__WORKERS", workers.to_owned()),
            ("SOCORRO_LOG__FORMAT", "json".to_owned()),
            (
                "SOCORRO_LOG__LEVEL",
                "info,processor::worker=debug,aws_smithy_runtime=warn,aws_config=warn".to_owned(),
            ),
        ]
    };
    stack.start("processor-1", "processor", &processor_env("1"));
    let started = Instant::now();
    // Killed right after its second crash (polling its log every 5 ms).
    while handled(&stack.log("processor-1")).len() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "processor-1 did not process 2 crashes in 60 s\n{}",
            stack.logs()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stack.kill("processor-1");
    let killed = Instant::now();
    let killed_at = Utc::now();
    let by_first: BTreeSet<String> = handled(&stack.log("processor-1"))
        .into_iter()
        .map(|h| h.crash_id)
        .collect();
    let before = stack.processed(&all).await;
    assert!(
        before.len() < all.len(),
        "processor-1 processed all {} crashes before it was killed: make the backlog bigger",
        all.len()
    );

    stack.start("processor-2", "processor", &processor_env("2"));
    let remaining: BTreeSet<CrashId> = all.difference(&before).cloned().collect();
    stack
        .wait_processed(&remaining, Duration::from_secs(75))
        .await;
    let all_done = killed.elapsed();
    // Let redeliveries of crashes processed but not acked by processor-1 land.
    let settle = Duration::from_secs(13).saturating_sub(killed.elapsed());
    tokio::time::sleep(settle).await;
    let by_second = handled(&stack.log("processor-2"));

    // Crashes processor-2 got at once were still in the subscription at the
    // kill; those it got only seconds later were leased to processor-1 and
    // redelivered when their ack deadline expired (the client renews the
    // deadline every few seconds, so it expires 10 s after the last renewal
    // at most, a few seconds at least).
    let threshold = TimeDelta::seconds(3);
    let (late, early): (Vec<&Handled>, Vec<&Handled>) = by_second
        .iter()
        .partition(|h| h.at - killed_at >= threshold);
    let redelivered: BTreeSet<&str> = late.iter().map(|h| h.crash_id.as_str()).collect();
    let twice = redelivered
        .iter()
        .filter(|id| by_first.contains(**id))
        .count();
    for h in by_second.iter().chain(&handled(&stack.log("processor-1"))) {
        assert_eq!(
            h.outcome, "Processed",
            "crash {} not processed: {h:?}",
            h.crash_id
        );
    }
    assert!(
        !redelivered.is_empty(),
        "no crash was redelivered after processor-1's ack deadline: it held no lease when killed?\n{}",
        stack.logs()
    );
    let first_late = late.iter().map(|h| h.at - killed_at).min().unwrap();
    for id in &all {
        stack.api_processed_crash(id).await;
    }
    eprintln!(
        "processor kill: {} crashes; processor-1 handled {} in {:.2} s and was SIGKILLed with {} \
         unprocessed; processor-2 handled {} within 3 s of the kill (never delivered to \
         processor-1) and {} from {:.1} s after it (leased by processor-1, redelivered after the \
         10 s ack deadline), {} of those processed twice (processed, ack not yet sent at the \
         kill); all processed {:.1} s after the kill; test took {:.1} s",
        all.len(),
        by_first.len(),
        killed.duration_since(started).as_secs_f64(),
        remaining.len(),
        early.len(),
        late.len(),
        first_late.as_seconds_f64(),
        twice,
        all_done.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
}

/// A `message handled` line of a processor's JSON log.
#[derive(Debug)]
struct Handled {
    at: chrono::DateTime<Utc>,
    crash_id: String,
    outcome: String,
}

fn handled(log: &Path) -> Vec<Handled> {
    let mut text = String::new();
    let _ = std::fs::File::open(log).and_then(|mut f| f.read_to_string(&mut text));
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["message"] == "message handled")
        .map(|v| Handled {
            at: v["timestamp"].as_str().unwrap().parse().unwrap(),
            crash_id: v["data"].as_str().unwrap().to_owned(),
            outcome: v["outcome"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}
