//! `make bench-search`: index N synthetic processed crashes (default
//! 1,000,000) and time a mixed Super Search query set.
//!
//! ```text
//! cargo run --release -p search --features testsuite --example bench_search -- \
//!     [--docs N] [--queries N] [--path DIR] [--elasticsearch URL]
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use chrono::Duration as Days;
use search::elasticsearch::EsIndex;
use search::tantivy::TantivyIndex;
use search::testsuite::data::{Crash, Generator, now};
use search::{ElasticsearchConfig, Fields, Permissions, SearchIndex, SearchQuery};

struct Args {
    docs: usize,
    queries: usize,
    path: Option<std::path::PathBuf>,
    es: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        docs: 1_000_000,
        queries: 300,
        path: None,
        es: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--docs" => a.docs = v.parse().expect("--docs N"),
            "--queries" => a.queries = v.parse().expect("--queries N"),
            "--path" => a.path = Some(v.into()),
            "--elasticsearch" => a.es = Some(v),
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let a = args();
    let fields = Fields::builtin();
    let _tmp;
    let index: Box<dyn SearchIndex> = match &a.es {
        Some(url) => {
            let cfg = ElasticsearchConfig {
                url: url.clone(),
                index_prefix: "socorrobench".into(),
                number_of_shards: 1,
                number_of_replicas: 0,
                ..ElasticsearchConfig::default()
            };
            let es = EsIndex::connect(&cfg, fields.clone()).unwrap();
            es.drop_partitions_before(chrono::NaiveDate::from_ymd_opt(2100, 1, 1).unwrap())
                .await
                .unwrap();
            es.ensure_template().await.unwrap();
            Box::new(es)
        }
        None => {
            let path = match &a.path {
                Some(p) => p.clone(),
                None => {
                    _tmp = tempfile::tempdir().unwrap();
                    _tmp.path().join("search")
                }
            };
            Box::new(TantivyIndex::open(&path, fields.clone()).unwrap())
        }
    };
    println!("backend: {}", index.describe());

    // Index: 28 days of crashes, in bulk batches.
    let days = 28;
    let gen_ = Generator::new(7, a.docs, now() - Days::days(days), days);
    let start = Instant::now();
    let mut batch = Vec::with_capacity(10_000);
    let mut done = 0usize;
    for crash in gen_ {
        batch.push(Crash::processed(&crash));
        if batch.len() == 10_000 {
            done += index.index(&batch).await.unwrap().indexed;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        done += index.index(&batch).await.unwrap().indexed;
    }
    index.refresh().await.unwrap();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "indexed {done} crashes in {secs:.1} s: {:.0} docs/s",
        done as f64 / secs
    );

    // Mixed query set.
    let products = ["Firefox", "Fenix", "Thunderbird", "Focus"];
    let words = ["Shutdown", "OOM", "mozilla", "Kill", "abort", "Render"];
    let mut kinds: Vec<(&str, Vec<Duration>)> = vec![
        ("filter+3 facets+date histogram", vec![]),
        ("text contains", vec![]),
        ("sort+page", vec![]),
    ];
    let perms = Permissions::public();
    for i in 0..a.queries {
        let k = i % 3;
        let product = products[i % products.len()];
        let word = format!("~{}", words[i % words.len()]);
        let offset = ((i * 37) % 50 * 20).to_string();
        let params: Vec<(&str, &str)> = match k {
            0 => vec![
                ("product", product),
                ("_facets", "signature"),
                ("_facets", "platform"),
                ("_facets", "version"),
                ("_histogram.date", ""),
                ("_results_number", "0"),
            ],
            1 => vec![("signature", word.as_str()), ("_facets", "product")],
            _ => vec![
                ("product", product),
                ("_sort", "-date"),
                ("_results_offset", offset.as_str()),
                ("_results_number", "50"),
                ("_facets_size", "0"),
            ],
        };
        let q = SearchQuery::parse(&params, &fields, now()).unwrap();
        let t = Instant::now();
        let r = index.search(&q, &perms).await.unwrap();
        kinds[k].1.push(t.elapsed());
        assert!(r.total > 0, "query {params:?} matched nothing");
        if k == 0 {
            assert_eq!(r.facets.len(), 4, "facets of {params:?}");
        }
    }
    let mut all: Vec<Duration> = Vec::new();
    for (name, times) in &mut kinds {
        times.sort();
        all.extend(times.iter().copied());
        println!(
            "{name:>32}: n={} p50={:.1} ms p99={:.1} ms",
            times.len(),
            ms(pct(times, 0.5)),
            ms(pct(times, 0.99))
        );
    }
    all.sort();
    let (p50, p99) = (pct(&all, 0.5), pct(&all, 0.99));
    println!(
        "{:>32}: n={} p50={:.1} ms p99={:.1} ms (target p50 < 50 ms, p99 < 200 ms)",
        "all",
        all.len(),
        ms(p50),
        ms(p99)
    );
}
