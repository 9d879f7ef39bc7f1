//! Headless Chromium drives the UI: log in, run a search, open a facet, open
//! a report and a signature report, create a token. Every page must answer
//! 200 and log no JavaScript error; a screenshot of each is saved to
//! `docs/src/img/` for the docs.
//!
//! Needs `chromium` and `chromedriver` (scripts/ui-test.sh installs them and
//! exports SOCORRO_UI_CHROMIUM / SOCORRO_UI_CHROMEDRIVER). Missing either is
//! a failure, never a skip. WebDriver is spoken directly over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod webdriver;

use serde_json::json;
use webdriver::{Browser, start_driver};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browse_the_ui() {
    let h = common::start(common::Engine::Sqlite).await;
    let now = chrono::Utc::now();
    for i in 0..120 {
        h.add_crash_at(i, webapp::sample::when(i, 120, 6, now))
            .await;
    }
    h.db.db()
        .bug_associations()
        .add(1_234_567, "OOM | small")
        .await
        .unwrap();
    h.user("hacker", &["view_pii", "view_rawdump", "reprocess_crashes"])
        .await;
    let driver = start_driver().await;
    let b = Browser::new(&driver, &h.url).await;

    // log in
    b.goto("/login/").await;
    b.check_and_shoot("login").await;
    b.type_into("#username", "hacker").await;
    b.type_into("#password", "password-hacker").await;
    b.click("#login-submit").await;
    b.find(".username").await;
    b.check_and_shoot("home").await;

    // run a search, open a facet
    b.goto("/search/").await;
    b.find("#search-button").await;
    b.click("#search-button").await;
    b.find("#search-results").await;
    b.check_and_shoot("search").await;
    b.click("#facet-signature h3").await;
    let visible = b
        .script("return !document.querySelector('#facet-signature .facet-body').classList.contains('hidden')")
        .await;
    assert_eq!(visible, json!(true), "facet did not open");
    b.check_and_shoot("search-facet").await;

    // open a report, its threads tab, then its signature report
    b.click("#search-results a[href^='/report/index/']").await;
    b.find("#report-signature").await;
    b.check_and_shoot("report").await;
    b.click("nav.tabs a[href='#threads']").await;
    let shown = b
        .script("return !document.getElementById('threads').classList.contains('hidden')")
        .await;
    assert_eq!(shown, json!(true), "threads tab did not open");
    b.check_and_shoot("report-threads").await;
    b.click("a[href^='/signature/']").await;
    b.find("#signature-title").await;
    b.check_and_shoot("signature").await;

    b.goto("/topcrashers/?product=Firefox").await;
    b.find("#topcrashers").await;
    b.check_and_shoot("topcrashers").await;

    // create a token
    b.goto("/tokens/").await;
    b.click("input[name='permissions'][value='view_pii']").await;
    b.type_into("#token-notes", "docs screenshot").await;
    b.click("#create-token").await;
    b.find("#new-token").await;
    b.check_and_shoot("tokens").await;

    b.goto("/api/").await;
    b.check_and_shoot("api").await;
    b.close().await;
}
