//! `socorro-processor`: the processor alone.

use anyhow::Context;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cfg = processor::Config::from_env().context("invalid SOCORRO_* settings")?;
    service::telemetry::init(&cfg.log);
    processor::run(cfg, service::token_on_signal())
        .await
        .context("processor failed")
}
