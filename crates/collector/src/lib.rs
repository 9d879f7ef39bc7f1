//! The crash collector: an Antenna-compatible `POST /submit` that answers
//! `CrashID=bp-<id>` only once the crash is durable in crash storage and its
//! id is in the `standard` queue.

pub mod client;
pub mod config;
pub mod error;
pub mod extract;
pub mod health;
pub mod metrics;
pub mod submit;
pub mod throttler;

use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use crash_queue::{CrashQueue, QueueError};
use crash_storage::{CrashStorage, StorageError};
use prometheus::Registry;
use tokio_util::sync::CancellationToken;

pub use config::{CollectorSettings, Config};
pub use metrics::CollectorMetrics;
pub use throttler::{Ruleset, Throttler, ThrottlerConfig};

/// Shared state of the collector's handlers.
pub struct Collector {
    pub storage: Arc<dyn CrashStorage>,
    pub queue: Arc<dyn CrashQueue>,
    pub throttler: Throttler,
    pub settings: CollectorSettings,
    pub metrics: CollectorMetrics,
}

impl Collector {
    pub fn new(
        settings: CollectorSettings,
        storage: Arc<dyn CrashStorage>,
        queue: Arc<dyn CrashQueue>,
        registry: &Registry,
    ) -> Result<Self, prometheus::Error> {
        Ok(Self {
            throttler: Throttler::new(&settings.throttler),
            metrics: CollectorMetrics::new(registry)?,
            storage,
            queue,
            settings,
        })
    }
}

/// Register the collector's routes (also used by the all-in-one server and tests).
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<Collector>) {
    cfg.app_data(state)
        // The body is read by the handler itself, with its own cap.
        .app_data(web::PayloadConfig::new(usize::MAX))
        .service(
            web::resource("/submit")
                .route(web::post().to(submit::submit))
                .default_service(web::to(|| async {
                    actix_web::HttpResponse::MethodNotAllowed().finish()
                })),
        )
        .route("/__heartbeat__", web::get().to(health::heartbeat))
        .route("/__lbheartbeat__", web::get().to(health::lbheartbeat))
        .route("/__version__", web::get().to(health::version));
}

/// Starting the collector failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    #[error("crash storage: {0}")]
    Storage(#[from] StorageError),
    #[error("crash queue: {0}")]
    Queue(#[from] QueueError),
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("cannot listen on {addr} (SOCORRO_COLLECTOR__LISTEN): {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("http server: {0}")]
    Server(#[source] std::io::Error),
}

/// Build storage and queue from config, then serve until `shutdown`.
pub async fn run(cfg: Config, shutdown: CancellationToken) -> Result<(), RunError> {
    let storage = crash_storage::config::build(&cfg.storage, &cfg.data_dir)?;
    let queue = crash_queue::config::build(&cfg.queue, &cfg.data_dir).await?;
    let registry = Registry::new();
    let state = web::Data::new(Collector::new(
        cfg.collector.clone(),
        storage,
        queue,
        &registry,
    )?);
    serve(state, web::Data::new(registry), &cfg.collector, shutdown).await
}

/// Serve the collector's routes plus `/metrics` on `settings.listen` until `shutdown`.
pub async fn serve(
    state: web::Data<Collector>,
    registry: web::Data<Registry>,
    settings: &CollectorSettings,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let listener =
        std::net::TcpListener::bind(&settings.listen).map_err(|source| RunError::Bind {
            addr: settings.listen.clone(),
            source,
        })?;
    serve_on(listener, state, registry, settings.workers, shutdown).await
}

/// Serve on an already bound listener (tests bind port 0).
pub async fn serve_on(
    listener: std::net::TcpListener,
    state: web::Data<Collector>,
    registry: web::Data<Registry>,
    workers: usize,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let workers = service::http::worker_count(workers);
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(registry.clone())
            .configure(|c| configure(c, state.clone()))
            .route("/metrics", web::get().to(service::metrics::metrics_handler))
    })
    .workers(workers)
    .backlog(1024)
    .disable_signals()
    .shutdown_timeout(30)
    .listen(listener)
    .map_err(|source| RunError::Bind {
        addr: addr.clone(),
        source,
    })?;
    tracing::info!(listen = %addr, workers, "collector listening");
    service::http::run_until_cancelled(server.run(), "collector", shutdown)
        .await
        .map_err(RunError::Server)
}
