//! `socorro process` and `socorro reprocess` (the lead wires these clap
//! `Args` into the `socorro` binary).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use crash_queue::{QueueItem, QueueName};
use crash_storage::{CrashId, DumpSet, RawCrash, ThrottleDigit};
use serde_json::Value;

use crate::config::Config;
use crate::pipeline::Processed;
use crate::processor::Engine;
use crate::symbols::Symbols;

/// `socorro process`: run the pipeline once and print the processed crash.
#[derive(Debug, Clone, clap::Args)]
pub struct ProcessArgs {
    /// Crash id in storage (`bp-` prefix allowed), optionally `:<ruleset>`.
    #[arg(required_unless_present = "dump", conflicts_with = "dump")]
    pub crash_id: Option<String>,
    /// A minidump file to process instead of a stored crash.
    #[arg(long, value_name = "FILE")]
    pub dump: Option<PathBuf>,
    /// The annotations (`.extra` JSON) for `--dump`.
    #[arg(long, value_name = "FILE", requires = "dump")]
    pub extra: Option<PathBuf>,
    /// Extra local symbol directory (repeatable), searched before the configured ones.
    #[arg(long = "symbols-path", value_name = "DIR")]
    pub symbols_paths: Vec<PathBuf>,
    /// Save the processed crash of a stored crash (default: print only).
    #[arg(long, conflicts_with = "dump")]
    pub save: bool,
    /// Print only `json_dump` (the stackwalker output).
    #[arg(long)]
    pub json_dump_only: bool,
}

/// `socorro reprocess`: publish crash ids to the `reprocessing` queue.
#[derive(Debug, Clone, clap::Args)]
pub struct ReprocessArgs {
    /// Crash ids, each optionally `:<ruleset>` (`default`, `regenerate_signature`).
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// Runs `socorro process`.
pub async fn run_process(
    cfg: Config,
    args: ProcessArgs,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    cfg.validate()
        .context("invalid SOCORRO_PROCESSOR__* settings")?;
    let mut settings = cfg.processor_settings();
    let mut paths = args.symbols_paths.clone();
    paths.append(&mut settings.symbols.paths);
    settings.symbols.paths = paths;
    let symbols = Arc::new(Symbols::new(&settings.symbols, &cfg.data_dir).context("symbol cache")?);

    let processed = if let Some(dump) = &args.dump {
        let bytes = std::fs::read(dump).with_context(|| format!("reading {}", dump.display()))?;
        let raw = match &args.extra {
            Some(p) => {
                let text = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
                match serde_json::from_slice::<Value>(&text)
                    .with_context(|| format!("{} is not JSON", p.display()))?
                {
                    Value::Object(map) => RawCrash(map),
                    _ => anyhow::bail!("{} is not a JSON object", p.display()),
                }
            }
            None => RawCrash::new(),
        };
        let mut dumps = DumpSet::new();
        dumps.insert("upload_file_minidump", bytes);
        let id = CrashId::generate(ThrottleDigit::Accept, Utc::now().date_naive());
        let engine =
            Engine::build(&settings, symbols, None, None).context("building the rulesets")?;
        engine.process(id, raw, dumps, Processed::new(), None).await
    } else {
        let text = args.crash_id.as_deref().unwrap_or_default();
        let item: QueueItem = text
            .trim_start_matches("bp-")
            .parse()
            .with_context(|| format!("{text:?} is not a crash id"))?;
        let storage = crash_storage::config::build(&cfg.storage, &cfg.data_dir)
            .context("crash storage (SOCORRO_STORAGE__*)")?;
        let db = db::Db::open(&cfg.db, &cfg.data_dir)
            .await
            .context("database (SOCORRO_DB__*)")?;
        let engine =
            Engine::build(&settings, symbols, None, Some(db)).context("building the rulesets")?;
        let id = &item.crash_id;
        let raw = storage
            .load_raw_crash(id)
            .await
            .context("loading raw crash")?;
        let dumps = match storage.load_dumps(id).await {
            Ok(d) => d,
            Err(e) if e.is_not_found() => DumpSet::new(),
            Err(e) => return Err(e).context("loading dumps"),
        };
        let previous = match storage.load_processed_crash(id).await {
            Ok(Value::Object(m)) => m,
            Ok(_) => Processed::new(),
            Err(e) if e.is_not_found() => Processed::new(),
            Err(e) => return Err(e).context("loading processed crash"),
        };
        let processed = engine
            .process(id.clone(), raw, dumps, previous, item.ruleset.as_deref())
            .await;
        if args.save {
            storage
                .save_processed_crash(id, &processed)
                .await
                .context("saving processed crash")?;
        }
        processed
    };
    let shown = if args.json_dump_only {
        processed.get("json_dump").cloned().unwrap_or(Value::Null)
    } else {
        processed
    };
    serde_json::to_writer_pretty(&mut *out, &shown)?;
    writeln!(out)?;
    Ok(())
}

/// Validates `id[:ruleset]` items for the reprocessing queue (the webapp's messages).
pub fn parse_reprocess_ids(ids: &[String]) -> anyhow::Result<Vec<QueueItem>> {
    ids.iter()
        .map(|text| {
            let item: QueueItem = text
                .trim()
                .trim_start_matches("bp-")
                .parse()
                .map_err(|_| anyhow::anyhow!("Crash id '{text}' is not valid."))?;
            match item.ruleset.as_deref() {
                None | Some("default") | Some("regenerate_signature") => Ok(item),
                Some(r) => anyhow::bail!("Ruleset '{r}' is not valid."),
            }
        })
        .collect()
}

/// Runs `socorro reprocess`.
pub async fn run_reprocess(
    cfg: Config,
    args: ReprocessArgs,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let items = parse_reprocess_ids(&args.ids)?;
    let queue = crash_queue::config::build(&cfg.queue, &cfg.data_dir)
        .await
        .context("queue (SOCORRO_QUEUE__*)")?;
    queue
        .publish(QueueName::Reprocessing, &items)
        .await
        .context("publishing to the reprocessing queue")?;
    writeln!(out, "published {} crash id(s) to reprocessing", items.len())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reprocess_ids_are_validated() {
        let ok = parse_reprocess_ids(&[
            "de1bb258-cbbf-4589-a673-34f800160918".into(),
            "bp-de1bb258-cbbf-4589-a673-34f800160918:regenerate_signature".into(),
        ])
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].ruleset.as_deref(), Some("regenerate_signature"));
        let e = parse_reprocess_ids(&["nope".into()])
            .unwrap_err()
            .to_string();
        assert_eq!(e, "Crash id 'nope' is not valid.");
        let e = parse_reprocess_ids(&["de1bb258-cbbf-4589-a673-34f800160918:x".into()])
            .unwrap_err()
            .to_string();
        assert_eq!(e, "Ruleset 'x' is not valid.");
    }
}
