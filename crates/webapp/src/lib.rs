#![doc = include_str!("../README.md")]

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod health;
pub mod metrics;
pub mod pages;
pub mod ratelimit;
pub mod redact;
pub mod sample;
pub mod symbols;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::Service;
use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpServer, web};
use crash_queue::{CrashQueue, QueueError, QueueItem, QueueName};
use crash_storage::{CrashId, CrashStorage, StorageError};
use processor::symbols::store::SymbolStore;
use prometheus::Registry;
use tokio_util::sync::CancellationToken;

pub use config::{Config, RateLimits, WebappSettings};
pub use metrics::WebappMetrics;

/// Shared state of the webapp's handlers.
pub struct Webapp {
    pub storage: Arc<dyn CrashStorage>,
    pub queue: Arc<dyn CrashQueue>,
    pub db: db::Db,
    pub search: Arc<dyn search::SearchIndex>,
    /// Super Search field definitions (the same the index uses).
    pub fields: search::Fields,
    pub settings: WebappSettings,
    pub signer: auth::Signer,
    pub limiter: ratelimit::RateLimiter,
    pub redactor: redact::Redactor,
    pub metrics: WebappMetrics,
    /// The local symbol store (uploads, Tecken-style downloads).
    pub symbols: SymbolStore,
    /// Crash ids recently sent to the priority queue (at most once a minute).
    priority_sent: Mutex<HashMap<String, Instant>>,
}

/// The backends the webapp reads (built once, shareable with other services).
pub struct Backends {
    pub storage: Arc<dyn CrashStorage>,
    pub queue: Arc<dyn CrashQueue>,
    pub db: db::Db,
    pub search: Arc<dyn search::SearchIndex>,
    /// `SearchConfig::fields()`: the field list the index was built with.
    pub fields: search::Fields,
    /// The local symbol store (`SOCORRO_SYMBOLS__*`).
    pub symbols: SymbolStore,
}

/// Building the webapp's state failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    #[error("crash storage: {0}")]
    Storage(#[from] StorageError),
    #[error("crash queue: {0}")]
    Queue(#[from] QueueError),
    #[error("database: {0}")]
    Db(#[from] db::DbError),
    #[error("search: {0}")]
    Search(#[from] search::SearchError),
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("schema: {0}")]
    Schema(#[from] redact::InvalidSchema),
    #[error("secret key (SOCORRO_WEBAPP__SECRET_KEY or <data dir>/webapp-secret-key): {0}")]
    Secret(#[source] std::io::Error),
    #[error("cannot listen on {addr} (SOCORRO_WEBAPP__LISTEN): {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("http server: {0}")]
    Server(#[source] std::io::Error),
}

impl Webapp {
    /// State from already built backends (the all-in-one server shares them).
    pub fn new(
        settings: WebappSettings,
        secret_key: Vec<u8>,
        backends: Backends,
        registry: &Registry,
    ) -> Result<Self, RunError> {
        let Backends {
            storage,
            queue,
            db,
            search,
            fields,
            symbols,
        } = backends;
        Ok(Self {
            storage,
            queue,
            db,
            search,
            fields,
            symbols,
            signer: auth::Signer::new(secret_key),
            limiter: ratelimit::RateLimiter::new(),
            redactor: redact::Redactor::public()?,
            metrics: WebappMetrics::new(registry)?,
            settings,
            priority_sent: Mutex::new(HashMap::new()),
        })
    }

    /// Publish a crash to the priority queue unless done in the last minute
    /// (Socorro's `priority_job:<id>` cache key). True when published.
    pub async fn request_priority(&self, id: &CrashId) -> Result<bool, QueueError> {
        {
            let mut sent = match self.priority_sent.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            let now = Instant::now();
            if sent.len() > 10_000 {
                sent.retain(|_, t| now.duration_since(*t) < Duration::from_secs(60));
            }
            if let Some(t) = sent.get(id.as_str())
                && now.duration_since(*t) < Duration::from_secs(60)
            {
                return Ok(false);
            }
            sent.insert(id.as_str().to_owned(), now);
        }
        self.queue
            .publish(QueueName::Priority, &[QueueItem::new(id.clone())])
            .await?;
        tracing::info!(crash_id = %id, "sent to the priority queue");
        Ok(true)
    }
}

/// Content-Security-Policy: no inline script or style, nothing from elsewhere.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
    script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
    form-action 'self'";

/// Security headers sent with every response.
pub fn security_headers(settings: &WebappSettings) -> DefaultHeaders {
    let mut h = DefaultHeaders::new()
        .add(("Content-Security-Policy", CSP))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "same-origin"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=()",
        ));
    if settings.secure_cookies {
        h = h.add(("Strict-Transport-Security", "max-age=31536000"));
    }
    h
}

/// Register the webapp's routes (also used by the all-in-one server and tests).
/// The app must also be wrapped with [`security_headers`]; [`serve_on`] does it.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<Webapp>) {
    cfg.app_data(state)
        .app_data(web::PayloadConfig::new(1024 * 1024))
        .app_data(web::FormConfig::default().limit(1024 * 1024))
        .route("/__heartbeat__", web::get().to(health::heartbeat))
        .route("/__lbheartbeat__", web::get().to(health::lbheartbeat))
        .route("/__version__", web::get().to(health::version))
        .configure(api::configure)
        .configure(symbols::configure)
        .configure(pages::configure)
        // last: `/{debug file}/{debug id}/{name}.sym`
        .configure(symbols::configure_download);
}

/// Build storage, queue and database from config, then serve until `shutdown`.
pub async fn run(cfg: Config, shutdown: CancellationToken) -> Result<(), RunError> {
    let storage = crash_storage::config::build(&cfg.storage, &cfg.data_dir)?;
    let queue = crash_queue::config::build(&cfg.queue, &cfg.data_dir).await?;
    let db = db::Db::open(&cfg.db, &cfg.data_dir).await?;
    let fields = cfg.search.fields()?;
    let search = search::build(&cfg.search, &cfg.data_dir).await?;
    let secret = cfg
        .webapp
        .resolve_secret(&cfg.data_dir)
        .map_err(RunError::Secret)?;
    let registry = Registry::new();
    let backends = Backends {
        storage,
        queue,
        db,
        search,
        fields,
        symbols: SymbolStore::new(&cfg.symbols, &cfg.data_dir),
    };
    let state = web::Data::new(Webapp::new(
        cfg.webapp.clone(),
        secret,
        backends,
        &registry,
    )?);
    serve(state, web::Data::new(registry), shutdown).await
}

/// Serve on `settings.listen` until `shutdown`.
pub async fn serve(
    state: web::Data<Webapp>,
    registry: web::Data<Registry>,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let listen = state.settings.listen.clone();
    let listener = std::net::TcpListener::bind(&listen).map_err(|source| RunError::Bind {
        addr: listen.clone(),
        source,
    })?;
    serve_on(listener, state, registry, shutdown).await
}

/// Serve on an already bound listener (tests bind port 0) until `shutdown`.
pub async fn serve_on(
    listener: std::net::TcpListener,
    state: web::Data<Webapp>,
    registry: web::Data<Registry>,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let workers = service::http::worker_count(state.settings.workers);
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let server = HttpServer::new(move || {
        let m = state.clone();
        App::new()
            .app_data(registry.clone())
            .wrap(security_headers(&state.settings))
            .wrap_fn(move |req, srv| {
                let kind = metrics::route_kind(req.path());
                let started = Instant::now();
                let fut = srv.call(req);
                let m = m.clone();
                async move {
                    let mut res = fut.await;
                    let took = started.elapsed();
                    let status = res.as_ref().map(|r| r.status().as_u16()).unwrap_or(500);
                    m.metrics.observe(kind, status, took);
                    if let Ok(r) = res.as_mut()
                        && let Ok(v) = actix_web::http::header::HeaderValue::from_str(&format!(
                            "app;dur={:.3}",
                            took.as_secs_f64() * 1000.0
                        ))
                    {
                        r.headers_mut().insert(
                            actix_web::http::header::HeaderName::from_static("server-timing"),
                            v,
                        );
                    }
                    res
                }
            })
            .configure(|c| configure(c, state.clone()))
            .route("/metrics", web::get().to(service::metrics::metrics_handler))
    })
    .workers(workers)
    .disable_signals()
    .shutdown_timeout(30)
    .listen(listener)
    .map_err(|source| RunError::Bind {
        addr: addr.clone(),
        source,
    })?;
    tracing::info!(listen = %addr, workers, "webapp listening");
    service::http::run_until_cancelled(server.run(), "webapp", shutdown)
        .await
        .map_err(RunError::Server)
}
