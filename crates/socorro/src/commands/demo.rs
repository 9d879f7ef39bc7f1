//! `socorro demo`: send the real crashes of the test corpus
//! (`../shared/testdata`) to a running collector, so a new install shows a
//! populated crash-stats: Firefox crashes with their real annotations,
//! Chrome OS Crashpad crashes with Crashpad's field names, and Breakpad's
//! and rust-minidump's test dumps.
//!
//! `--dry-run --unpack-to DIR` prints each crash as a JSON line (name, dump
//! file, form fields) without sending anything; the end-to-end test posts
//! them with curl.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use collector::client::Submission;
use serde::Serialize;
use serde_json::Value;

#[derive(clap::Args)]
pub struct Args {
    /// Collector URL.
    #[arg(long, default_value = "http://localhost:8800/submit")]
    url: String,
    /// The corpus directory (the shared test data).
    #[arg(
        long,
        env = "SOCORRO_DEMO_CORPUS",
        default_value = "../shared/testdata"
    )]
    corpus: PathBuf,
    /// Send at most this many crashes.
    #[arg(long)]
    limit: Option<usize>,
    /// Print the crashes as JSON lines instead of sending them.
    #[arg(long)]
    dry_run: bool,
    /// Where compressed dumps are unpacked (default: a temporary directory).
    #[arg(long)]
    unpack_to: Option<PathBuf>,
}

/// One crash of the corpus.
#[derive(Debug, Serialize)]
pub struct Sample {
    /// Path in the corpus.
    pub name: String,
    /// The minidump file (unpacked if it was compressed).
    pub dump: PathBuf,
    /// Form fields, in order.
    pub fields: Vec<(String, String)>,
}

fn find_files(dir: &Path, suffix: &str, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            find_files(&path, suffix, out)?;
        } else if path.to_string_lossy().ends_with(suffix) {
            out.push(path);
        }
    }
    Ok(())
}

fn unxz(path: &Path) -> anyhow::Result<Vec<u8>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut out = Vec::new();
    lzma_rs::xz_decompress(&mut std::io::BufReader::new(file), &mut out)
        .map_err(|e| anyhow::anyhow!("{}: not xz: {e}", path.display()))?;
    Ok(out)
}

fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Every real dump of the corpus with the fields its kind of client sends.
pub fn corpus(root: &Path, unpack_to: &Path) -> anyhow::Result<Vec<Sample>> {
    if !root.is_dir() {
        bail!(
            "corpus {} not found: pass --corpus <dir> (the shared test data, with real-firefox/, crashpad/, breakpad/ ...)",
            root.display()
        );
    }
    let mut dumps = Vec::new();
    find_files(root, ".dmp", &mut dumps)?;
    dumps.sort();
    let mut samples = Vec::new();
    for dump in dumps {
        let name = dump
            .strip_prefix(root)
            .unwrap_or(&dump)
            .display()
            .to_string();
        let top = name.split('/').next().unwrap_or_default();
        let fields = match top {
            // What Chrome OS's Crashpad handler sends.
            "crashpad" => pairs(&[
                ("prod", "Chrome_ChromeOS"),
                ("ver", "91.0.4472.0"),
                ("plat", "Linux"),
                ("ptype", "browser"),
                ("guid", "0123456789abcdef0123456789abcdef"),
            ]),
            "breakpad" => pairs(&[("ProductName", "BreakpadTests"), ("Version", "1.0")]),
            "rust-minidump" => pairs(&[("ProductName", "RustMinidump"), ("Version", "0.27")]),
            _ => pairs(&[("ProductName", "CorpusApp"), ("Version", "1.0")]),
        };
        samples.push(Sample { name, dump, fields });
    }
    // An Electron app's crashReporter (Crashpad underneath): `prod`/`ver`
    // name Electron itself, the app is `_productName`/`_version`.
    let electron_dump = root.join("rust-minidump/testdata/linux-mini.dmp");
    if electron_dump.is_file() {
        samples.push(Sample {
            name: "electron/linux-mini".into(),
            dump: electron_dump,
            fields: pairs(&[
                ("_productName", "MyElectronApp"),
                ("_version", "1.2.3"),
                ("_companyName", "Example Corp"),
                ("prod", "Electron"),
                ("ver", "28.1.0"),
                ("process_type", "browser"),
                ("platform", "linux"),
                ("guid", "fedcba9876543210fedcba9876543210"),
            ]),
        });
    }
    let firefox = root.join("real-firefox/minidumps");
    if firefox.is_dir() {
        let mut xz = Vec::new();
        find_files(&firefox, ".dmp.xz", &mut xz)?;
        xz.sort();
        std::fs::create_dir_all(unpack_to)
            .with_context(|| format!("creating {}", unpack_to.display()))?;
        for path in xz {
            let stem = path
                .file_name()
                .map(|n| n.to_string_lossy().replace(".dmp.xz", ""))
                .unwrap_or_default();
            let dump = unpack_to.join(format!("{stem}.dmp"));
            std::fs::write(&dump, unxz(&path)?)
                .with_context(|| format!("writing {}", dump.display()))?;
            let extra_path = path.with_file_name(format!("{stem}.extra.xz"));
            let extra: BTreeMap<String, Value> = serde_json::from_slice(&unxz(&extra_path)?)
                .with_context(|| format!("{} is not a JSON object", extra_path.display()))?;
            let fields = extra
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => (k, s),
                    other => (k, other.to_string()),
                })
                .collect();
            samples.push(Sample {
                name: format!("real-firefox/{stem}"),
                dump,
                fields,
            });
        }
    }
    Ok(samples)
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let tmp;
    let unpack_to = match &args.unpack_to {
        Some(dir) => dir.clone(),
        None => {
            tmp = tempfile::tempdir().context("creating a temporary directory")?;
            tmp.path().to_path_buf()
        }
    };
    let mut samples = corpus(&args.corpus, &unpack_to)?;
    if let Some(limit) = args.limit {
        samples.truncate(limit);
    }
    if args.dry_run {
        for s in &samples {
            println!("{}", serde_json::to_string(s)?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let client = reqwest::Client::new();
    let (mut sent, mut failed) = (0, 0);
    for s in &samples {
        let data =
            std::fs::read(&s.dump).with_context(|| format!("reading {}", s.dump.display()))?;
        let mut sub = Submission::new();
        for (k, v) in &s.fields {
            sub = sub.annotation(k.clone(), v.clone());
        }
        sub = sub.dump("upload_file_minidump", data);
        let resp = client
            .post(&args.url)
            .header("Content-Type", sub.content_type())
            .header("Content-Encoding", "gzip")
            .body(sub.gzipped_body())
            .send()
            .await
            .with_context(|| format!("posting to {} (is `socorro run` running?)", args.url))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        match text.trim().strip_prefix("CrashID=") {
            Some(id) if status.is_success() => {
                println!("{id}  {}", s.name);
                sent += 1;
            }
            _ => {
                eprintln!("{}: collector answered {status}: {}", s.name, text.trim());
                failed += 1;
            }
        }
    }
    eprintln!("demo: sent {sent} crashes, {failed} refused; open http://localhost:8000");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
