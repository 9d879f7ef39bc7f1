//! `socorro`: the all-in-one command. `socorro run` starts the pipeline on
//! embedded defaults; the other subcommands are admin and developer tools.

mod commands;

/// mimalloc keeps freed memory for reuse instead of handing it back to the
/// kernel at once: the collector allocates a few hundred KB per crash, and
/// re-faulting those pages cost more CPU than the allocations themselves.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "socorro",
    version,
    about = "Crash ingestion pipeline compatible with Mozilla Socorro"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the pipeline: collector, processor and crontabber in one process.
    Run(commands::run::Args),
    /// Settings: `keys` lists every variable, `check` validates the environment.
    Config(commands::config::Args),
    /// Submit a crash to a collector like a Breakpad client.
    Submit(commands::submit::Args),
    /// Prepare the backends of a deployment: bucket, queue check, migrations, index template.
    Setup(commands::setup::Args),
    /// Send the real crashes of the test corpus to a running collector.
    Demo(commands::demo::Args),
    /// Inspect stored crashes.
    Crash(commands::crash::Args),
    /// Process one crash (by id, or a dump file) and print the processed crash.
    Process(processor::cli::ProcessArgs),
    /// Queue crashes for reprocessing (`<id>` or `<id>:<ruleset>`).
    Reprocess(processor::cli::ReprocessArgs),
    /// Scheduled jobs: `list`, `run`, `reset`, `log`, `status`.
    Cron(crontabber::cli::CronArgs),
    /// Super Search index: `reindex`, `query`.
    Search(commands::search::Args),
    /// Compute crash signatures from processed crashes (files, stdin or crash ids).
    Signature(commands::signature::Args),
    /// Relational database: `migrate`, `status`.
    Db(db::cli::DbArgs),
    /// Accounts: `create`, `list`, `set-password`, `grant`, ...
    Users(db::cli::UsersArgs),
    /// API tokens: `create`, `list`, `revoke`.
    Tokens(db::cli::TokensArgs),
    /// The local symbol store: `add` (.sym files, zips, directories), `list`.
    Symbols(commands::symbols::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => commands::run::run(args).await,
            Command::Config(args) => commands::config::run(args),
            Command::Submit(args) => commands::submit::run(args).await,
            Command::Setup(args) => commands::setup::run(args).await,
            Command::Demo(args) => commands::demo::run(args).await,
            Command::Crash(args) => commands::crash::run(args).await,
            Command::Process(args) => commands::process::process(args).await,
            Command::Reprocess(args) => commands::process::reprocess(args).await,
            Command::Cron(args) => commands::cron::run(args).await,
            Command::Search(args) => commands::search::run(args).await,
            Command::Signature(args) => commands::signature::run(args).await,
            Command::Db(args) => commands::db::run_db(args).await,
            Command::Users(args) => commands::db::run_users(args).await,
            Command::Tokens(args) => commands::db::run_tokens(args).await,
            Command::Symbols(args) => commands::symbols::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
