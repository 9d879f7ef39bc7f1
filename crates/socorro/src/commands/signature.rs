//! `socorro signature`: signatures of processed crashes given as JSON files,
//! on stdin, or as crash ids read from crash storage.

use std::process::ExitCode;

use anyhow::Context;
use crash_storage::CrashId;

use super::config::AllConfig;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    inner: signature::cli::SignatureArgs,
    /// Crash ids whose stored processed crash to read (repeatable).
    #[arg(long = "crash-id", value_name = "ID")]
    crash_ids: Vec<String>,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout();
    if args.crash_ids.is_empty() {
        let code = signature::cli::run(&args.inner, &mut std::io::stdin(), &mut stdout)?;
        return Ok(exit_code(code));
    }
    let ids = args
        .crash_ids
        .iter()
        .map(|s| CrashId::parse(s).with_context(|| format!("{s:?} is not a crash id")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let cfg = AllConfig::from_env()?;
    let storage = cfg.storage_for_reading()?;
    let generator = signature::cli::generator(&args.inner)?;
    let mut failed = false;
    for id in ids {
        match storage.load_processed_crash(&id).await {
            Ok(processed) => signature::cli::report(
                &generator,
                &processed,
                id.as_str(),
                &args.inner,
                &mut stdout,
            )?,
            Err(e) => {
                eprintln!("{id}: {e}");
                failed = true;
            }
        }
    }
    // Files given as well are reported after the stored crashes.
    if !args.inner.inputs.is_empty() {
        let files = signature::cli::SignatureArgs {
            inputs: args.inner.inputs.clone(),
            ..args.inner.clone()
        };
        let code = signature::cli::run(&files, &mut std::io::empty(), &mut stdout)?;
        failed |= code != 0;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
