//! `socorro symbols add|list`: fill and inspect the local symbol store
//! (`SOCORRO_SYMBOLS__DIR`, default `<data dir>/symbols`), which the
//! processor searches first and the webapp serves at the Tecken path.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::config::AllConfig;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: SymbolsCommand,
}

#[derive(clap::Subcommand)]
enum SymbolsCommand {
    /// Store Breakpad .sym files: files, zips of them, or directories
    /// (searched recursively for *.sym). Each file is placed by its MODULE
    /// line; valid files are stored even when others fail (a zip is all or
    /// nothing), and the exit status is 1 if anything failed.
    Add {
        /// `.sym` files, `.zip` files or directories.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Print every stored file (`<debug file>/<debug id>/<name>.sym`).
    List,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let cfg = AllConfig::from_env()?;
    let store = cfg.symbol_store();
    match args.command {
        SymbolsCommand::Add { paths } => {
            let outcomes = tokio::task::spawn_blocking(move || store.add_paths(&paths))
                .await
                .context("symbols add task")?;
            let mut out = std::io::stdout().lock();
            let (mut files, mut bytes, mut failed) = (0usize, 0u64, 0usize);
            for outcome in outcomes {
                match outcome.result {
                    Ok(added) => {
                        for f in &added.stored {
                            let verb = if f.replaced { "replaced" } else { "stored" };
                            writeln!(out, "{verb} {}", f.path)?;
                            files += 1;
                            bytes += f.size;
                        }
                        for name in &added.ignored {
                            writeln!(
                                out,
                                "ignored {name} in {} (not a .sym file)",
                                outcome.source.display()
                            )?;
                        }
                    }
                    Err(e) => {
                        failed += 1;
                        eprintln!("error: {e}");
                    }
                }
            }
            writeln!(
                out,
                "{files} symbol file(s) stored ({bytes} bytes), {failed} failed"
            )?;
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        SymbolsCommand::List => {
            let files = tokio::task::spawn_blocking(move || store.list())
                .await
                .context("symbols list task")??;
            let mut out = std::io::stdout().lock();
            for f in &files {
                writeln!(out, "{f}")?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
