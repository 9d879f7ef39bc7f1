//! `socorro cron list|run|reset|log|status` (logic in `crontabber::cli`).

use std::process::ExitCode;

use anyhow::Context;

use super::config::AllConfig;

pub async fn run(args: crontabber::cli::CronArgs) -> anyhow::Result<ExitCode> {
    let cfg = AllConfig::from_env().context("invalid SOCORRO_* settings")?;
    let db = db::Db::open(&cfg.db, &cfg.data_dir)
        .await
        .context("database (SOCORRO_DB__*)")?;
    let backends = crontabber::Backends {
        db: db.clone(),
        storage: crash_storage::config::build(&cfg.storage, &cfg.data_dir)
            .context("crash storage (SOCORRO_STORAGE__*)")?,
        queue: crash_queue::config::build(&cfg.queue, &cfg.data_dir)
            .await
            .context("crash queue (SOCORRO_QUEUE__*)")?,
        index: Some(std::sync::Arc::new(crontabber::jobs::SearchIndexRetention(
            cfg.search_index(None).await?,
        ))),
        metrics: None,
    };
    let tabber = crontabber::Crontabber::from_config(&cfg.cron, &backends)
        .context("crontabber (SOCORRO_CRON__*)")?;
    let result = crontabber::cli::run(&tabber, args, &mut std::io::stdout()).await;
    db.close().await;
    result?;
    Ok(ExitCode::SUCCESS)
}
