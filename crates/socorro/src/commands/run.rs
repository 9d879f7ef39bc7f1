//! `socorro run`: every service in one process on one shared config, one set
//! of backends and one Prometheus registry.

use std::process::ExitCode;
use std::sync::Arc;

use actix_web::web;
use anyhow::Context;
use prometheus::Registry;

use super::config::AllConfig;

#[derive(clap::Args)]
pub struct Args {
    /// Run only these services (comma-separated): collector, processor, crontabber, webapp.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

const SERVICES: [&str; 4] = ["collector", "processor", "crontabber", "webapp"];

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    for name in &args.only {
        anyhow::ensure!(
            SERVICES.contains(&name.as_str()),
            "unknown service {name:?} in --only (available: {})",
            SERVICES.join(", ")
        );
    }
    let wanted = |s: &str| args.only.is_empty() || args.only.iter().any(|o| o == s);
    let cfg = AllConfig::from_env()?;
    service::telemetry::init(&cfg.log);
    tracing::info!(data_dir = %cfg.data_dir.display(), "starting socorro");
    for var in AllConfig::unknown_env_vars() {
        tracing::warn!(%var, "unknown setting ignored (see `socorro config keys`)");
    }

    let shutdown = service::token_on_signal();
    let registry = Registry::new();
    let storage = cfg.storage()?;
    let queue = cfg.queue().await?;
    let needs_db = wanted("processor") || wanted("crontabber") || wanted("webapp");
    let db = if needs_db {
        Some(cfg.db().await?)
    } else {
        None
    };
    let index = if needs_db {
        Some(cfg.search_index(Some(&registry)).await?)
    } else {
        None
    };
    tracing::info!(storage = %storage.describe(), queue = %queue.describe(), "backends ready");

    let registry = web::Data::new(registry);
    let mut tasks = tokio::task::JoinSet::new();
    if wanted("collector") {
        let state = web::Data::new(
            collector::Collector::new(
                cfg.collector.clone(),
                storage.clone(),
                queue.clone(),
                &registry,
            )
            .context("collector metrics")?,
        );
        let settings = cfg.collector.clone();
        let (registry, shutdown) = (registry.clone(), shutdown.clone());
        tasks.spawn(async move {
            collector::serve(state, registry, &settings, shutdown)
                .await
                .context("collector")
        });
    }
    if let (true, Some(db)) = (wanted("processor"), &db) {
        let processor = processor::Processor::new(
            cfg.processor.clone(),
            &cfg.data_dir,
            storage.clone(),
            queue.clone(),
            db.clone(),
            &registry,
        )
        .context("processor (SOCORRO_PROCESSOR__*)")?;
        let (processor, indexer) = match &index {
            Some(index) => {
                let (processor, handle) = processor::with_search_indexer(processor, index.clone());
                (processor, Some(handle))
            }
            None => (processor, None),
        };
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            Arc::new(processor).run_workers(shutdown).await;
            // The processor (and its hook) is gone: let the indexer flush.
            if let Some(indexer) = indexer {
                let _ = indexer.await;
            }
            Ok(())
        });
    }
    if let (true, Some(db)) = (wanted("crontabber"), &db) {
        let backends = crontabber::Backends {
            db: db.clone(),
            storage: storage.clone(),
            queue: queue.clone(),
            index: None,
            metrics: Some(
                crontabber::CronMetrics::registered(&registry).context("crontabber metrics")?,
            ),
        };
        let tabber = crontabber::Crontabber::from_config(&cfg.cron, &backends)
            .context("crontabber (SOCORRO_CRON__*)")?;
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            tabber.run_loop(shutdown).await;
            Ok(())
        });
    }
    if let (true, Some(db), Some(index)) = (wanted("webapp"), &db, &index) {
        let secret = cfg
            .webapp
            .resolve_secret(&cfg.data_dir)
            .context("webapp secret key (SOCORRO_WEBAPP__SECRET_KEY)")?;
        let backends = webapp::Backends {
            storage: storage.clone(),
            queue: queue.clone(),
            db: db.clone(),
            search: index.clone(),
            fields: cfg
                .search
                .fields()
                .context("search fields (SOCORRO_SEARCH__FIELDS_PATH)")?,
            symbols: cfg.symbol_store(),
        };
        let state = web::Data::new(
            webapp::Webapp::new(cfg.webapp.clone(), secret, backends, &registry)
                .context("webapp")?,
        );
        let listener = std::net::TcpListener::bind(&cfg.webapp.listen).with_context(|| {
            format!(
                "cannot listen on {} (SOCORRO_WEBAPP__LISTEN)",
                cfg.webapp.listen
            )
        })?;
        let (registry, shutdown) = (registry.clone(), shutdown.clone());
        tasks.spawn(async move {
            webapp::serve_on(listener, state, registry, shutdown)
                .await
                .context("webapp")
        });
    }
    // The first service to fail stops the others; a clean stop waits for all.
    let mut result = Ok(ExitCode::SUCCESS);
    while let Some(done) = tasks.join_next().await {
        let failure = match done {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e,
            Err(e) => anyhow::Error::new(e).context("service task panicked"),
        };
        tracing::error!(error = %format!("{failure:#}"), "service failed; stopping the others");
        shutdown.cancel();
        if result.is_ok() {
            result = Err(failure);
        }
    }
    if let Some(db) = db {
        db.close().await;
    }
    result
}
