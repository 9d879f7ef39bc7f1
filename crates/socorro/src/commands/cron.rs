//! `socorro cron list|run|reset|log|status` (logic in `crontabber::cli`).

use std::process::ExitCode;

use anyhow::Context;

use super::config::AllConfig;

pub async fn run(args: crontabber::cli::CronArgs) -> anyhow::Result<ExitCode> {
    let cfg = AllConfig::from_env()?;
    let db = cfg.db().await?;
    let backends = crontabber::Backends {
        db: db.clone(),
        storage: cfg.storage()?,
        queue: cfg.queue().await?,
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
