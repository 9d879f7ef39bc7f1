//! The HTML pages against a running webapp: report (with redaction and the
//! pending-processing 404), login/logout with CSRF, API tokens; on SQLite
//! and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Utc;
use common::{Engine, csrf_of};
use crash_queue::QueueName;

async fn report_page(engine: Engine) {
    let h = common::start(engine).await;
    let (id, processed) = h.add_crash(11).await;

    let r = h.get(&format!("/report/index/{id}"), None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    assert!(
        html.contains(
            processed["signature"]
                .as_str()
                .unwrap()
                .split(" | ")
                .next()
                .unwrap()
        )
    );
    for tab in [
        "id=\"details\"",
        "id=\"metadata\"",
        "id=\"modules\"",
        "id=\"threads\"",
        "id=\"rawdata\"",
    ] {
        assert!(html.contains(tab), "missing tab {tab}");
    }
    assert!(html.contains("IPC I/O Parent"), "every thread is listed");
    assert!(
        html.contains("Element.cpp:abc:100") || html.contains("Element.cpp"),
        "frames show source"
    );
    assert!(
        !html.contains("private.example"),
        "PII on the public report page"
    );
    assert!(!html.contains("id=\"reprocess\""));
    assert!(!html.contains("dump-links"));
    assert_eq!(r.header("x-frame-options"), "DENY");

    // bp- prefix redirects; invalid id is a 400
    let r = h.get(&format!("/report/index/bp-{id}"), None).await;
    assert!(r.status == 302 || r.status == 200);
    let r = h.get("/report/index/not-a-crash", None).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("Invalid crash ID"));

    // pending: raw crash only -> 404 that says so, and a priority job
    let pending = h.add_raw_only(12).await;
    let r = h.get(&format!("/report/index/{pending}"), None).await;
    assert_eq!(r.status, 404);
    assert!(r.text().contains("pending processing"), "{}", r.text());
    assert_eq!(
        h.queued(QueueName::Priority).await,
        vec![pending.as_str().to_owned()]
    );
    // unknown
    let unknown = webapp::sample::crash_id(12345, Utc::now());
    let r = h.get(&format!("/report/index/{unknown}"), None).await;
    assert_eq!(r.status, 404);
    assert!(!r.text().contains("pending processing"));
    assert!(r.text().contains("No crash with id"));

    // unknown page
    assert_eq!(h.get("/no/such/page", None).await.status, 404);
}
on_both_engines!(report_page);

async fn login_tokens_reprocess(engine: Engine) {
    let h = common::start(engine).await;
    let (id, _) = h.add_crash(13).await;
    h.user("hacker", &["view_pii", "view_rawdump", "reprocess_crashes"])
        .await;

    // tokens page needs a login
    let r = h.browser_get("/tokens/").await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), "/login/?next=%2Ftokens%2F");

    let r = h.browser_get("/login/?next=/tokens/").await;
    assert_eq!(r.status, 200);
    let csrf = csrf_of(&r.text());

    // CSRF is checked
    let r = h
        .browser_post(
            "/login/",
            &[("username", "hacker"), ("password", "password-hacker")],
        )
        .await;
    assert_eq!(r.status, 403);
    // wrong password
    let r = h
        .browser_post(
            "/login/",
            &[
                ("username", "hacker"),
                ("password", "nope-nope-nope"),
                ("csrfmiddlewaretoken", &csrf),
            ],
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("Wrong username or password"));
    // open redirects are refused
    let r = h
        .browser_post(
            "/login/",
            &[
                ("username", "hacker"),
                ("password", "password-hacker"),
                ("next", "//evil.example/"),
                ("csrfmiddlewaretoken", &csrf),
            ],
        )
        .await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), "/");

    // logged in: the report shows PII, dumps and the reprocess button
    let r = h.browser_get(&format!("/report/index/{id}")).await;
    assert_eq!(r.status, 200);
    let html = r.text();
    assert!(html.contains("private.example"));
    assert!(html.contains("dump-links"));
    assert!(html.contains("reprocess-button"));
    let csrf = csrf_of(&html);
    let r = h
        .browser_post(
            &format!("/report/reprocess/{id}/"),
            &[("csrfmiddlewaretoken", &csrf)],
        )
        .await;
    assert_eq!(r.status, 302);
    assert_eq!(
        h.queued(QueueName::Reprocessing).await,
        vec![id.as_str().to_owned()]
    );
    // the dump link works with the session
    let r = h
        .browser_get(&format!(
            "/api/RawCrash/?crash_id={id}&format=raw&name=upload_file_minidump"
        ))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(&r.body[..], common::MINIDUMP);

    // create a token with one permission, use it, delete it
    let r = h.browser_get("/tokens/").await;
    assert_eq!(r.status, 200);
    let csrf = csrf_of(&r.text());
    let r = h
        .browser_post(
            "/tokens/",
            &[
                ("permissions", "view_pii"),
                ("notes", "ci"),
                ("csrfmiddlewaretoken", &csrf),
            ],
        )
        .await;
    assert_eq!(r.status, 200);
    let html = r.text();
    let start = html.find("<code class=\"token\">").unwrap() + "<code class=\"token\">".len();
    let token = &html[start..start + 32];
    let r = h
        .get(&format!("/api/ProcessedCrash/?crash_id={id}"), Some(token))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.json()["url"].is_string(), "token carries view_pii");
    let r = h
        .get(
            &format!("/api/RawCrash/?crash_id={id}&format=raw"),
            Some(token),
        )
        .await;
    assert_eq!(r.status, 403, "token lacks view_rawdump");
    // a permission the user does not hold is refused
    let r = h
        .browser_post(
            "/tokens/",
            &[
                ("permissions", "upload_symbols"),
                ("csrfmiddlewaretoken", &csrf),
            ],
        )
        .await;
    assert_eq!(r.status, 400);
    let tokens = h.db.db().tokens().list().await.unwrap();
    let mine = tokens.iter().find(|t| t.notes == "ci").unwrap();
    let r = h
        .browser_post(
            &format!("/tokens/delete/{}/", mine.id),
            &[("csrfmiddlewaretoken", &csrf)],
        )
        .await;
    assert_eq!(r.status, 302);
    let r = h
        .get(&format!("/api/ProcessedCrash/?crash_id={id}"), Some(token))
        .await;
    assert_eq!(r.status, 403);

    // a session POST to the API needs the CSRF header
    let r = h
        .browser_post("/api/Reprocessing/", &[("crash_ids", id.as_str())])
        .await;
    assert_eq!(r.status, 403);

    // logout
    let r = h
        .browser_post("/logout/", &[("csrfmiddlewaretoken", &csrf)])
        .await;
    assert_eq!(r.status, 302);
    let r = h.browser_get("/tokens/").await;
    assert_eq!(r.status, 302);
}
on_both_engines!(login_tokens_reprocess);

async fn health(engine: Engine) {
    let h = common::start(engine).await;
    let r = h.get("/__heartbeat__", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["ok"], true);
    assert_eq!(h.get("/__lbheartbeat__", None).await.status, 200);
    assert!(h.get("/__version__", None).await.json()["version"].is_string());
    let m = h.get("/metrics", None).await;
    assert!(m.text().contains("socorro_webapp_requests_total"));
}
on_both_engines!(health);
