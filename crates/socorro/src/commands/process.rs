//! `socorro process`, `socorro reprocess` (logic in `processor::cli`).

use std::process::ExitCode;

use super::config::AllConfig;

pub async fn process(args: processor::cli::ProcessArgs) -> anyhow::Result<ExitCode> {
    let cfg = AllConfig::from_env()?;
    processor::cli::run_process(cfg.processor_config(), args, &mut std::io::stdout()).await?;
    Ok(ExitCode::SUCCESS)
}

pub async fn reprocess(args: processor::cli::ReprocessArgs) -> anyhow::Result<ExitCode> {
    let cfg = AllConfig::from_env()?;
    processor::cli::run_reprocess(cfg.processor_config(), args, &mut std::io::stdout()).await?;
    Ok(ExitCode::SUCCESS)
}
