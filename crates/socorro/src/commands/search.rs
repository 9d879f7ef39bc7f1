//! `socorro search reindex|query`.

use std::process::ExitCode;

use chrono::NaiveDate;

use super::config::AllConfig;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: SearchCommand,
}

#[derive(clap::Subcommand)]
enum SearchCommand {
    /// Rebuild the index from crash storage for submission days FROM..=TO.
    /// Run it while no other process writes the (Tantivy) index.
    Reindex {
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        from: NaiveDate,
        /// Last day, YYYY-MM-DD (default: FROM).
        #[arg(long)]
        to: Option<NaiveDate>,
    },
    /// Run a Super Search query given as Socorro parameters and print the
    /// JSON result (all fields, as for a user with every permission).
    Query {
        /// Parameters as `name=value`, e.g. `product=Firefox _facets=signature`.
        params: Vec<String>,
    },
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let cfg = AllConfig::from_env()?;
    let index = cfg.search_index(None).await?;
    match args.command {
        SearchCommand::Reindex { from, to } => {
            let to = to.unwrap_or(from);
            anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
            let storage = cfg.storage()?;
            let mut last_percent = None;
            let stats = search::reindex(&*storage, &*index, from, to, |done, total| {
                let percent = (done * 100).checked_div(total).unwrap_or(100);
                if last_percent != Some(percent) {
                    last_percent = Some(percent);
                    eprint!("\rreindexing: {done}/{total} crashes ({percent}%)");
                }
            })
            .await?;
            eprintln!();
            println!(
                "listed {}, indexed {}, not processed {}, skipped {}",
                stats.listed, stats.indexed, stats.not_processed, stats.skipped
            );
        }
        SearchCommand::Query { params } => {
            let pairs: Vec<(String, String)> = params
                .iter()
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => Ok((k.to_owned(), v.to_owned())),
                    None => Err(anyhow::anyhow!("{p:?} must look like name=value")),
                })
                .collect::<anyhow::Result<_>>()?;
            let fields = cfg.search.fields()?;
            let query = search::SearchQuery::parse(&pairs, &fields, chrono::Utc::now())?;
            let result = index
                .search(&query, &search::Permissions::with_pii())
                .await?;
            println!("{}", serde_json::to_string_pretty(&result.to_json())?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
