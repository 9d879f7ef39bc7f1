#![doc = include_str!("../README.md")]

pub mod config;
pub mod error;
pub mod hooks;
pub mod metrics;
pub mod pipeline;
pub mod processor;
pub mod rules;
pub mod schema;
pub mod stackwalk;
pub mod symbols;

pub use config::{Config, ProcessorSettings, SymbolSettings};
pub use error::{BuildError, HookError, ProcessError, RuleError, RunError};
pub use hooks::AfterSave;
pub use metrics::ProcessorMetrics;
pub use pipeline::{Crash, Rule, Ruleset, RulesetName};
pub use processor::{Engine, Processor};
pub use symbols::Symbols;
pub mod cli;
pub mod worker;

use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use prometheus::Registry;
use tokio_util::sync::CancellationToken;

/// Builds storage, queue, database and search index from `cfg` and
/// processes until `shutdown`, indexing every processed crash into Super
/// Search; serves `/metrics` when `processor.metrics_listen` is set.
pub async fn run(cfg: Config, shutdown: CancellationToken) -> Result<(), RunError> {
    let storage = crash_storage::config::build(&cfg.storage, &cfg.data_dir)?;
    let queue = crash_queue::config::build(&cfg.queue, &cfg.data_dir).await?;
    let db = db::Db::open(&cfg.db, &cfg.data_dir).await?;
    let index = search::build(&cfg.search, &cfg.data_dir).await?;
    let registry = Registry::new();
    let processor = Processor::new(
        cfg.processor_settings(),
        &cfg.data_dir,
        storage,
        queue,
        db,
        &registry,
    )?;
    let (processor, indexer) = with_search_indexer(processor, index);
    let server = match &cfg.processor.metrics_listen {
        Some(addr) => Some(serve_metrics(addr, registry, shutdown.clone())?),
        None => None,
    };
    Arc::new(processor).run_workers(shutdown).await;
    // The processor (and its hook) is gone: let the indexer flush.
    indexer.await.ok();
    if let Some(server) = server {
        server.await.ok();
    }
    Ok(())
}

/// Attach a [`hooks::SearchIndexer`] feeding `index` (batches of up to 500
/// crashes or 200 ms). Await the handle once the processor is dropped to
/// flush the last batch.
pub fn with_search_indexer(
    processor: Processor,
    index: Arc<dyn search::SearchIndex>,
) -> (Processor, tokio::task::JoinHandle<()>) {
    let (hook, handle) =
        hooks::SearchIndexer::spawn(index, std::time::Duration::from_millis(200), 500);
    (processor.with_hook(Arc::new(hook)), handle)
}

/// Serves `/metrics` from `registry` on `addr` until `shutdown`.
pub fn serve_metrics(
    addr: &str,
    registry: Registry,
    shutdown: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, RunError> {
    let data = web::Data::new(registry);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/metrics", web::get().to(service::metrics::metrics_handler))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(5)
    .bind(addr)
    .map_err(|source| RunError::Metrics {
        addr: addr.to_owned(),
        source,
    })?
    .run();
    let handle = server.handle();
    tokio::spawn(async move {
        shutdown.cancelled().await;
        handle.stop(true).await;
    });
    Ok(tokio::spawn(async move {
        if let Err(error) = server.await {
            tracing::error!(%error, "metrics server failed");
        }
    }))
}
