//! `socorro-crontabber`: runs due jobs every `SOCORRO_CRON__TICK_SECS`
//! until SIGINT/SIGTERM.

use anyhow::Context;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cfg: crontabber::CrontabberConfig =
        service::load_config().context("invalid SOCORRO_* settings")?;
    service::telemetry::init(&cfg.log);
    cfg.cron
        .validate()
        .context("invalid SOCORRO_CRON__* settings")?;
    crontabber::run(cfg, service::token_on_signal()).await?;
    Ok(())
}
