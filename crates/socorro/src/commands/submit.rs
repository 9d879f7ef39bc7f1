//! `socorro submit`: post a crash like a Breakpad client.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use collector::client::Submission;

#[derive(clap::Args)]
pub struct Args {
    /// Collector URL, e.g. http://localhost:8800/submit
    #[arg(long, default_value = "http://localhost:8800/submit")]
    url: String,
    /// The minidump (sent as `upload_file_minidump`).
    #[arg(long)]
    dump: Option<PathBuf>,
    /// Extra dumps as NAME=FILE (e.g. upload_file_minidump_browser=b.dmp).
    #[arg(long = "extra-dump", value_name = "NAME=FILE")]
    extra_dumps: Vec<String>,
    /// A JSON file of annotations, sent as the `extra` part (Firefox style).
    #[arg(long)]
    extra: Option<PathBuf>,
    /// An annotation as KEY=VALUE (repeatable).
    #[arg(long = "annotation", short = 'a', value_name = "KEY=VALUE")]
    annotations: Vec<String>,
    /// Gzip the body (Content-Encoding: gzip), as Breakpad and Crashpad do.
    #[arg(long)]
    gzip: bool,
}

fn split_pair(s: &str, what: &str) -> anyhow::Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => bail!("{what} {s:?} must look like NAME=VALUE"),
    }
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut sub = Submission::new();
    if let Some(path) = &args.extra {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading --extra {}", path.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("--extra {} is not JSON", path.display()))?;
        anyhow::ensure!(
            value.is_object(),
            "--extra {} must hold a JSON object",
            path.display()
        );
        sub = sub.json_extra(text);
    }
    for a in &args.annotations {
        let (k, v) = split_pair(a, "--annotation")?;
        sub = sub.annotation(k, v);
    }
    if let Some(path) = &args.dump {
        let data =
            std::fs::read(path).with_context(|| format!("reading --dump {}", path.display()))?;
        sub = sub.dump("upload_file_minidump", data);
    }
    for d in &args.extra_dumps {
        let (name, file) = split_pair(d, "--extra-dump")?;
        let data = std::fs::read(&file).with_context(|| format!("reading --extra-dump {file}"))?;
        sub = sub.dump(name, data);
    }

    let body = if args.gzip {
        sub.gzipped_body()
    } else {
        sub.body()
    };
    let client = reqwest::Client::new();
    let mut req = client
        .post(&args.url)
        .header("Content-Type", sub.content_type())
        .header(
            "User-Agent",
            concat!("socorro-submit/", env!("CARGO_PKG_VERSION")),
        );
    if args.gzip {
        req = req.header("Content-Encoding", "gzip");
    }
    let resp = req
        .body(body)
        .send()
        .await
        .with_context(|| format!("posting to {}", args.url))?;
    let status = resp.status();
    let text = resp
        .text()
        .await
        .context("reading the collector's answer")?;
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    if status.is_success() && text.starts_with("CrashID=") {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("collector answered {status}");
        Ok(ExitCode::FAILURE)
    }
}
