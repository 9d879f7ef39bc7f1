//! `socorro crash show <id>`: print a stored crash.

use std::process::ExitCode;

use anyhow::Context;
use crash_storage::CrashId;
use serde_json::{Map, Value, json};

use super::config::AllConfig;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: CrashCommand,
}

#[derive(clap::Subcommand)]
enum CrashCommand {
    /// Print the raw crash, its dumps (name and size) and the processed crash if any.
    Show {
        /// Crash id (with or without `bp-`).
        id: String,
    },
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let CrashCommand::Show { id } = args.command;
    let id = CrashId::parse(&id).with_context(|| format!("{id:?} is not a crash id"))?;
    let cfg = AllConfig::from_env()?;
    let storage = cfg.storage_for_reading()?;
    let raw = match storage.load_raw_crash(&id).await {
        Ok(raw) => raw,
        Err(e) if e.is_not_found() => {
            eprintln!("crash {id} not found in {}", storage.describe());
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e).context("loading raw crash"),
    };
    let mut dumps = Map::new();
    for (name, data) in storage
        .load_dumps(&id)
        .await
        .context("loading dumps")?
        .iter()
    {
        dumps.insert(name.to_owned(), json!({ "size": data.len() }));
    }
    let processed = match storage.load_processed_crash(&id).await {
        Ok(p) => p,
        Err(e) if e.is_not_found() => Value::Null,
        Err(e) => return Err(e).context("loading processed crash"),
    };
    let out = json!({
        "crash_id": id.to_string(),
        "raw_crash": raw.0,
        "dumps": dumps,
        "processed_crash": processed,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}
