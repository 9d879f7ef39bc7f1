//! `socorro-webapp`: the crash-stats UI and API alone.

use anyhow::Context;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cfg = webapp::Config::from_env().context("invalid SOCORRO_* settings")?;
    service::telemetry::init(&cfg.log);
    webapp::run(cfg, service::token_on_signal())
        .await
        .context("webapp failed")
}
