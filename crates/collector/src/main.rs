//! `socorro-collector`: the collector alone.

use anyhow::Context;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cfg = collector::Config::from_env().context("invalid SOCORRO_* settings")?;
    service::telemetry::init(&cfg.log);
    collector::run(cfg, service::token_on_signal())
        .await
        .context("collector failed")
}
