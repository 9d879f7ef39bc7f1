//! `make bench-webapp`: server time of every page on an embedded data set
//! of 100,000 crashes (Tantivy index, FS storage, SQLite).
//!
//! Reads the `Server-Timing: app;dur=<ms>` header the webapp sets, so the
//! numbers are server time, not client or network time. Prints a table with
//! median / p95 / max per page, the ratio to the 100 ms budget and to a
//! baseline measured in the same run (`/__lbheartbeat__`), and exits 1 if
//! any page's p95 is over budget.
//!
//! Settings: BENCH_CRASHES (default 100000), BENCH_RUNS (default 30),
//! BENCH_BUDGET_MS (default 100).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use actix_web::web;
use chrono::Utc;
use crash_storage::DumpSet;
use prometheus::Registry;
use tokio_util::sync::CancellationToken;
use webapp::{Backends, RateLimits, Webapp, WebappSettings};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn server_ms(r: &reqwest::Response) -> f64 {
    r.headers()
        .get("server-timing")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("dur=").nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let total = env_or("BENCH_CRASHES", 100_000);
    let runs = env_or("BENCH_RUNS", 30) as usize;
    let budget = env_or("BENCH_BUDGET_MS", 100) as f64;
    let dir = tempfile::tempdir()?;
    let data = dir.path();
    let storage = crash_storage::config::build(&Default::default(), data)?;
    let queue = crash_queue::config::build(&Default::default(), data).await?;
    let db = db::Db::open(&db::DbConfig::default(), data).await?;
    let search_cfg = search::SearchConfig::default();
    let index = search::build(&search_cfg, data).await?;

    let now = Utc::now();
    let started = Instant::now();
    let mut batch = Vec::with_capacity(5000);
    let mut report_id = None;
    for n in 0..total {
        let when = webapp::sample::when(n, total, 6, now);
        let (id, raw, processed) = webapp::sample::crash(n, when);
        if n < 500 {
            let mut dumps = DumpSet::new();
            dumps.insert("upload_file_minidump", b"MDMP bench".to_vec());
            storage.save_raw_crash(&id, &raw, &dumps).await?;
            storage.save_processed_crash(&id, &processed).await?;
            report_id.get_or_insert(id);
        }
        batch.push(processed);
        if batch.len() == 5000 {
            index.index(&batch).await?;
            batch.clear();
        }
    }
    index.index(&batch).await?;
    index.refresh().await?;
    for (i, sig) in webapp::sample::SIGNATURES.iter().enumerate() {
        db.signatures()
            .record(sig, now - chrono::Duration::days(30), 20231101000000)
            .await?;
        db.bug_associations().add(1_000_000 + i as i64, sig).await?;
    }
    println!(
        "data set: {total} crashes indexed in {:.1} s (Tantivy, {} in crash storage)",
        started.elapsed().as_secs_f64(),
        total.min(500)
    );

    let settings = WebappSettings {
        rate_limits: RateLimits {
            api_anonymous_per_min: 0,
            api_user_per_min: 0,
            search_anonymous_per_min: 0,
            search_user_per_min: 0,
        },
        workers: 2,
        ..Default::default()
    };
    let registry = Registry::new();
    let state = web::Data::new(Webapp::new(
        settings,
        b"bench-secret-bench-secret-bench-secret-0000".to_vec(),
        Backends {
            storage,
            queue,
            db,
            search: index,
            fields: search_cfg.fields()?,
            symbols: processor::symbols::store::SymbolStore::new(&Default::default(), dir.path()),
        },
        &registry,
    )?);
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    let stop = CancellationToken::new();
    let t = stop.clone();
    tokio::spawn(
        async move { webapp::serve_on(listener, state, web::Data::new(registry), t).await },
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while client
        .get(format!("{base}/__lbheartbeat__"))
        .send()
        .await
        .is_err()
    {
        anyhow::ensure!(Instant::now() < deadline, "webapp did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let id = report_id.expect("at least one crash");
    let sig = enc("OOM | small");
    let pages: Vec<(&str, String)> = vec![
        ("baseline /__lbheartbeat__", "/__lbheartbeat__".into()),
        ("product home", "/home/product/Firefox".into()),
        ("search", "/search/?product=%3DFirefox".into()),
        (
            "search + 3 facets",
            "/search/?product=%3DFirefox&_facets=signature&_facets=platform&_facets=version".into(),
        ),
        (
            "search page 10",
            "/search/?product=%3DFirefox&page=10".into(),
        ),
        ("signature report", format!("/signature/?signature={sig}")),
        (
            "top crashers 7 days",
            "/topcrashers/?product=Firefox&days=7".into(),
        ),
        ("report index", format!("/report/index/{id}")),
        ("api docs", "/api/".into()),
        ("login", "/login/".into()),
        (
            "API SuperSearch",
            "/api/SuperSearch/?_facets=signature".into(),
        ),
        (
            "API ProcessedCrash",
            format!("/api/ProcessedCrash/?crash_id={id}"),
        ),
    ];
    println!();
    println!(
        "{:<28} {:>8} {:>8} {:>8} {:>9} {:>10}  verdict",
        "page (server time, ms)", "median", "p95", "max", "p95/100ms", "vs base"
    );
    let mut failed = Vec::new();
    let mut baseline = f64::NAN;
    for (name, path) in &pages {
        let url = format!("{base}{path}");
        // warm up (caches, first searcher)
        for _ in 0..2 {
            let r = client.get(&url).send().await?;
            anyhow::ensure!(r.status() == 200, "{name}: {path} answered {}", r.status());
        }
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let r = client.get(&url).send().await?;
            times.push(server_ms(&r));
            let _ = r.bytes().await?;
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let (med, p95, max) = (
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            times[times.len() - 1],
        );
        if baseline.is_nan() {
            baseline = med.max(0.01);
        }
        let ok = p95 < budget;
        if !ok {
            failed.push(*name);
        }
        println!(
            "{:<28} {:>8.2} {:>8.2} {:>8.2} {:>8.2}x {:>9.1}x  {}",
            name,
            med,
            p95,
            max,
            p95 / budget,
            med / baseline,
            if ok { "ok" } else { "OVER BUDGET" }
        );
    }
    stop.cancel();
    if failed.is_empty() {
        println!("\nevery page under {budget} ms (p95) on {total} crashes");
        Ok(())
    } else {
        anyhow::bail!("over the {budget} ms budget: {failed:?}")
    }
}
