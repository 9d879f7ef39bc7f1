//! End to end, the way a new user meets it: `socorro run` on an empty data
//! directory, every real dump of the corpus posted with `curl -F` (not our
//! own client), each one waited for until Super Search finds it through
//! `/api/SuperSearch/`, then its report page `/report/index/<id>` opened in
//! headless Chromium and checked against the processed crash: signature,
//! product and crashing thread.
//!
//! Crashes are sent one at a time, each once the previous one is
//! searchable, so the printed submit→searchable latencies (p50/p99) are the
//! pipeline's own, not a backlog's. `make bench-e2e` runs this in release
//! mode against the target p50 < 1 s.
//!
//! Needs curl, chromium and chromedriver (scripts/ui-test.sh); feature
//! `ui-test`. A missing tool is a failure, never a skip.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../webapp/tests/webdriver/mod.rs"]
mod webdriver;

mod support;

use std::io::Read;
use std::process::Command;
use std::time::Duration;

use support::{Sample, corpus};

/// `curl -F` the sample to the collector; the crash id it answers.
fn curl_submit(url: &str, sample: &Sample) -> String {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--fail-with-body", "--max-time", "60"]);
    for (k, v) in &sample.fields {
        // --form-string: values are literal (no `@file` or `;type=` parsing).
        cmd.arg("--form-string").arg(format!("{k}={v}"));
    }
    cmd.arg("-F")
        .arg(format!("upload_file_minidump=@{}", sample.dump.display()))
        .arg(url);
    let out = cmd.output().expect("curl is installed");
    let body = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}: curl failed: {body} {}",
        sample.name,
        String::from_utf8_lossy(&out.stderr)
    );
    body.trim()
        .strip_prefix("CrashID=bp-")
        .unwrap_or_else(|| panic!("{}: unexpected answer {body:?}", sample.name))
        .to_owned()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_through_curl_is_searchable_and_rendered() {
    let tmp = tempfile::tempdir().unwrap();
    let samples = corpus(tmp.path());
    assert!(
        samples.len() >= 70,
        "corpus has only {} dumps",
        samples.len()
    );
    let p = support::Pipeline::start(tmp.path()).await;
    let (collector, webapp) = (&p.collector, &p.webapp);

    let mut latencies = Vec::new();
    let mut crashes = Vec::new();
    for sample in &samples {
        let id = curl_submit(&format!("{collector}/submit"), sample);
        latencies.push(p.wait_searchable(&id, Duration::from_secs(60)).await);
        crashes.push((sample, id));
    }
    latencies.sort();
    eprintln!(
        "e2e: {} crashes, submit->searchable p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (target p50 < 1000 ms)",
        latencies.len(),
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );

    let driver = webdriver::start_driver().await;
    let browser = webdriver::Browser::new(&driver, webapp).await;
    let mut with_thread = 0;
    for (sample, id) in &crashes {
        let processed = p.api("ProcessedCrash", &[("crash_id", id.as_str())]).await;
        let signature = processed["signature"].as_str().unwrap_or_default();
        let product = processed["product"].as_str().unwrap_or_default();
        assert!(!signature.is_empty(), "{}: no signature", sample.name);
        assert!(!product.is_empty(), "{}: no product", sample.name);
        if let Some(p) = sample
            .fields
            .iter()
            .find(|(k, _)| k == "ProductName" || k == "_productName" || k == "prod")
        {
            assert_eq!(product, p.1, "{}: product", sample.name);
        }

        browser.goto(&format!("/report/index/{id}")).await;
        let page = browser
            .script(
                "const t = s => (document.querySelector(s) || {}).textContent || '';
                 return {signature: t('#report-signature'), details: t('#details'),
                         title: document.title};",
            )
            .await;
        assert_eq!(
            page["signature"].as_str().unwrap().trim(),
            signature,
            "{}: signature on /report/index/{id}",
            sample.name
        );
        let details = page["details"].as_str().unwrap();
        assert!(
            details.contains(product),
            "{}: product {product} not on the report page",
            sample.name
        );
        if let Some(thread) = processed["crashing_thread"].as_u64() {
            assert!(
                details.contains(&format!("Crashing thread ({thread})")),
                "{}: crashing thread {thread} not on the report page",
                sample.name
            );
            with_thread += 1;
        }
        // One report per kind of client for the docs' client pages
        // (`make screenshots` writes them to docs/src/img).
        let shot = match sample.name.as_str() {
            "crashpad/chromeos-tast/chrome.20210406.155226.62533.9042.dmp" => {
                Some("client-crashpad")
            }
            "electron/linux-mini" => Some("client-electron"),
            "real-firefox/linux-x86_64" => Some("client-breakpad"),
            _ => None,
        };
        if let Some(name) = shot {
            browser.check_and_shoot(name).await;
        }
    }
    browser.close().await;
    eprintln!(
        "e2e: {} report pages checked in Chromium ({with_thread} with a crashing thread)",
        crashes.len()
    );
    assert!(
        with_thread * 2 > crashes.len(),
        "most corpus crashes should have a crashing thread, only {with_thread} do"
    );
    // Keep the reader honest about what was read.
    let mut buf = String::new();
    let _ = std::fs::File::open(&p.log).and_then(|mut f| f.read_to_string(&mut buf));
    assert!(!buf.contains("panicked"), "socorro run panicked:\n{buf}");
}
