//! `socorro db|users|tokens`: the relational store's admin commands
//! (logic in `db::cli`).

use std::process::ExitCode;

use super::config::AllConfig;

/// `db migrate|status` connect without migrating, so they report the truth.
pub async fn run_db(args: db::cli::DbArgs) -> anyhow::Result<ExitCode> {
    let cfg = AllConfig::from_env()?;
    let db = db::Db::connect(&cfg.db, &cfg.data_dir).await?;
    let mut out = std::io::stdout();
    db::cli::run_db(&db, args, &mut out).await?;
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn run_users(args: db::cli::UsersArgs) -> anyhow::Result<ExitCode> {
    let cfg = AllConfig::from_env()?;
    let db = cfg.db().await?;
    let mut out = std::io::stdout();
    db::cli::run_users(&db, args, &mut out).await?;
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn run_tokens(args: db::cli::TokensArgs) -> anyhow::Result<ExitCode> {
    let cfg = AllConfig::from_env()?;
    let db = cfg.db().await?;
    let mut out = std::io::stdout();
    db::cli::run_tokens(&db, args, &mut out).await?;
    db.close().await;
    Ok(ExitCode::SUCCESS)
}
