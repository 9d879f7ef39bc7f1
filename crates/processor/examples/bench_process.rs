//! CPU cost of the full pipeline per crash (used by `scripts/bench-processor.sh`).
//!
//! `bench_process [--symbols-path DIR]... [--repeat N] [--cold] DUMP...`
//! processes every dump (with `<dump minus .dmp>.extra` as annotations when
//! present) through the mozilla ruleset once to warm the symbols, then N
//! times measured, and prints `crashes=<n> cpu_seconds=<s> cpu_per_crash=<s>`
//! (process CPU time from /proc/self/stat). `--cold` drops parsed symbols
//! before every crash, like a fresh `minidump-stackwalk` process.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use crash_storage::{CrashId, DumpSet, RawCrash};
use processor::{Engine, ProcessorSettings, RulesetName, SymbolSettings, Symbols};
use serde_json::Value;

fn cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let after = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("stat format")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // fields after the command: state is [0]; utime is [11], stime [12] (ticks)
    let utime: f64 = fields.get(11).context("utime")?.parse()?;
    let stime: f64 = fields.get(12).context("stime")?.parse()?;
    Ok((utime + stime) / 100.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut paths = Vec::new();
    let mut dumps = Vec::new();
    let mut repeat = 3usize;
    let mut cold = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--symbols-path" => {
                paths.push(PathBuf::from(args.next().context("--symbols-path DIR")?))
            }
            "--repeat" => repeat = args.next().context("--repeat N")?.parse()?,
            "--cold" => cold = true,
            _ => dumps.push(PathBuf::from(a)),
        }
    }
    let settings = ProcessorSettings {
        ruleset: RulesetName::Mozilla,
        time_budget_secs: 600,
        symbols: SymbolSettings {
            paths: paths.clone(),
            max_cached_modules: if cold { 1 } else { 100_000 },
            ..Default::default()
        },
        ..Default::default()
    };
    let symbols = Arc::new(Symbols::new(&settings.symbols, &std::env::temp_dir())?);
    let engine = Engine::with_symbols(&settings, symbols, None)?;
    let mut inputs = Vec::new();
    for d in &dumps {
        let bytes = std::fs::read(d).with_context(|| d.display().to_string())?;
        let extra = d.with_extension("extra");
        let raw = match std::fs::read(&extra) {
            Ok(b) => match serde_json::from_slice::<Value>(&b)? {
                Value::Object(m) => RawCrash(m),
                _ => RawCrash::new(),
            },
            Err(_) => RawCrash::new(),
        };
        inputs.push((raw, bytes));
    }
    let id = CrashId::parse("de1bb258-cbbf-4589-a673-34f800160918")?;
    let run = |raw: RawCrash, bytes: Vec<u8>| {
        let mut set = DumpSet::new();
        set.insert("upload_file_minidump", bytes);
        engine.process(id.clone(), raw, set, Default::default(), None)
    };
    for (raw, bytes) in &inputs {
        let pc = run(raw.clone(), bytes.clone()).await;
        if pc["mdsw_status_string"] != "OK" {
            eprintln!("warning: {} did not walk cleanly", pc["mdsw_status_string"]);
        }
    }
    let start = cpu_seconds()?;
    let mut n = 0usize;
    for _ in 0..repeat {
        for (raw, bytes) in &inputs {
            std::hint::black_box(run(raw.clone(), bytes.clone()).await);
            n += 1;
        }
    }
    let cpu = cpu_seconds()? - start;
    println!(
        "crashes={n} cpu_seconds={cpu:.3} cpu_per_crash={:.4}",
        cpu / n.max(1) as f64
    );
    Ok(())
}
