//! `socorro run`: every service in one process on one shared config.

use std::process::ExitCode;

use actix_web::web;
use anyhow::Context;
use prometheus::Registry;

use super::config::AllConfig;

#[derive(clap::Args)]
pub struct Args {
    /// Run only these services (comma-separated). Available: collector.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

const SERVICES: [&str; 1] = ["collector"];

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    for name in &args.only {
        anyhow::ensure!(
            SERVICES.contains(&name.as_str()),
            "unknown service {name:?} in --only (available: {})",
            SERVICES.join(", ")
        );
    }
    let wanted = |s: &str| args.only.is_empty() || args.only.iter().any(|o| o == s);
    let cfg = AllConfig::from_env().context("invalid SOCORRO_* settings")?;
    service::telemetry::init(&cfg.log);
    tracing::info!(data_dir = %cfg.data_dir.display(), "starting socorro");

    let shutdown = service::token_on_signal();
    let registry = Registry::new();
    let storage = crash_storage::config::build(&cfg.storage, &cfg.data_dir)
        .context("crash storage (SOCORRO_STORAGE__*)")?;
    let queue = crash_queue::config::build(&cfg.queue, &cfg.data_dir)
        .await
        .context("crash queue (SOCORRO_QUEUE__*)")?;
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
    // The first service to fail stops the others.
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                shutdown.cancel();
                return Err(e);
            }
            Err(e) => {
                shutdown.cancel();
                return Err(e).context("service task panicked");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
