//! `socorro setup`: prepare the configured backends for a deployment, once,
//! before the services start (the `setup` service of docker-compose.yml):
//! create the S3 bucket if it is missing, check the crash queue (the
//! Pub/Sub topics and subscriptions must exist: the emulator creates them,
//! on Google Cloud your infrastructure code does), run the database
//! migrations and install the Elasticsearch index template. Each step is
//! retried for `--wait-secs` while its server is still starting; running it
//! again changes nothing.

use std::future::Future;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::config::AllConfig;

#[derive(clap::Args)]
pub struct Args {
    /// How long to keep retrying a step whose server is not up yet.
    #[arg(long, default_value_t = 120)]
    wait_secs: u64,
}

async fn step<T, F, Fut>(name: &str, wait: Duration, mut f: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let deadline = Instant::now() + wait;
    loop {
        match f().await {
            Ok(v) => {
                tracing::info!(step = name, "setup step done");
                return Ok(v);
            }
            Err(e) if Instant::now() < deadline => {
                tracing::warn!(step = name, error = %format!("{e:#}"), "setup step failed; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(e) => return Err(e.context(format!("setup step {name}"))),
        }
    }
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let cfg = AllConfig::from_env()?;
    service::telemetry::init(&cfg.log);
    let wait = Duration::from_secs(args.wait_secs);

    if cfg.storage.backend == crash_storage::StorageBackend::S3 {
        let created = step("s3 bucket", wait, || async {
            let store = crash_storage::s3::S3ObjectStore::new(&cfg.storage.s3)?;
            Ok(store.ensure_bucket().await?)
        })
        .await?;
        println!(
            "storage: bucket {} {}",
            cfg.storage.s3.bucket,
            if created { "created" } else { "exists" }
        );
    }
    let storage = cfg.storage()?;
    step("storage", wait, || async {
        Ok(storage.check_health().await?)
    })
    .await?;
    println!("storage: {} ok", storage.describe());

    let queue = step("queue", wait, || async {
        let queue = cfg.queue().await?;
        queue.check_health().await.context("queue health check")?;
        Ok(queue)
    })
    .await?;
    println!("queue: {} ok", queue.describe());

    let applied = step("database migrations", wait, || async {
        let db = db::Db::connect(&cfg.db, &cfg.data_dir).await?;
        let applied = db.migrate().await?;
        db.close().await;
        Ok(applied)
    })
    .await?;
    println!("database: {} migrations applied", applied.len());

    let index = step("search index", wait, || cfg.search_index(None)).await?;
    println!("search: {} ok", index.describe());
    Ok(ExitCode::SUCCESS)
}
