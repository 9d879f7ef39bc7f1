//! Super Search API and the pages built on it (search, signature report,
//! top crashers, product home), on SQLite and PostgreSQL, with the embedded
//! Tantivy index.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Engine, Harness, enc};
use serde_json::json;

async fn with_crashes(engine: Engine, n: u64) -> Harness {
    let h = common::start(engine).await;
    for i in 0..n {
        h.add_crash(100 + i).await;
    }
    h
}

async fn super_search_api(engine: Engine) {
    let h = with_crashes(engine, 20).await;
    let pii = h.user("pii", &["view_pii"]).await;
    let plain = h.user("plain", &[]).await;

    let r = h.get("/api/SuperSearch/?_facets=platform", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(body["total"], 20);
    assert_eq!(body["hits"].as_array().unwrap().len(), 20);
    assert!(
        body["facets"]["platform"]
            .as_array()
            .is_some_and(|b| !b.is_empty())
    );
    let hit = &body["hits"][0];
    for k in ["uuid", "date", "signature", "product", "version"] {
        assert!(hit.get(k).is_some(), "column {k} missing: {hit}");
    }

    // protected columns are silently dropped for the public ...
    let r = h
        .get("/api/SuperSearch/?_columns=uuid&_columns=url", None)
        .await;
    assert_eq!(r.status, 200);
    assert!(!r.text().contains("private.example"), "PII leaked");
    // ... but not for view_pii
    let r = h
        .get(
            "/api/SuperSearchUnredacted/?_columns=uuid&_columns=url",
            Some(&pii),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("private.example"));
    let r = h
        .get("/api/SuperSearchUnredacted/?_columns=uuid", Some(&plain))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json(),
        json!({"error": "Use of this endpoint requires the 'View Personal Identifiable Information' permission"})
    );
    let r = h.get("/api/SuperSearchUnredacted/", None).await;
    assert_eq!(r.status, 403);

    // filters
    let r = h
        .get(
            &format!(
                "/api/SuperSearch/?signature={}&_facets_size=0",
                enc("=OOM | small")
            ),
            None,
        )
        .await;
    let body = r.json();
    let n = body["total"].as_u64().unwrap();
    assert!(n > 0 && n < 20, "{n}");
    assert!(
        body["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["signature"] == "OOM | small")
    );

    // bad parameters
    let r = h.get("/api/SuperSearch/?_results_number=5000", None).await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"].as_str().unwrap().contains("1,000"),
        "{}",
        r.text()
    );
    let r = h.get("/api/SuperSearch/?_columns=nosuchfield", None).await;
    assert_eq!(r.status, 400);
    let r = h.get("/api/SuperSearch/?uptime=abc", None).await;
    assert_eq!(r.status, 400);
    let r = h
        .get(
            "/api/SuperSearch/",
            Some("ffffffffffffffffffffffffffffffff"),
        )
        .await;
    assert_eq!(r.status, 403);

    // fields
    let r = h.get("/api/SuperSearchFields/", None).await;
    assert_eq!(r.status, 200);
    let fields = r.json();
    assert_eq!(
        fields["url"]["webapp_permissions_needed"],
        json!(["crashstats.view_pii"])
    );
    assert_eq!(fields["signature"]["webapp_permissions_needed"], json!([]));
    assert_eq!(fields["date"]["query_type"], "date");

    // CrashVerify sees the index
    let (id, _) = h.add_crash(5000).await;
    let r = h
        .get(&format!("/api/CrashVerify/?crash_id={id}"), None)
        .await;
    assert_eq!(r.json()["elasticsearch_crash"], true);
}
on_both_engines!(super_search_api);

async fn search_pages(engine: Engine) {
    let h = with_crashes(engine, 30).await;
    let r = h
        .get(
            &format!("/search/?product={}&_facets=platform", enc("=Firefox")),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    assert!(html.contains("id=\"search-results\""));
    assert!(html.contains("/report/index/"));
    assert!(html.contains("facet-platform"));

    // the filter-row form redirects to a shareable Super Search URL
    let r = h
        .get(
            "/search/?f=product&op=%3D&v=Firefox&f=signature&op=~&v=&_columns=uuid",
            None,
        )
        .await;
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        "/search/?product=%3DFirefox&_columns=uuid"
    );

    let r = h.get("/search/?uptime=abc", None).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("search-error"));
    assert_eq!(h.get("/search/", None).await.status, 200);

    let r = h
        .get(
            &format!("/signature/?signature={}", enc("OOM | small")),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    for tab in [
        "id=\"summary\"",
        "id=\"reports\"",
        "id=\"aggregations\"",
        "id=\"graphs\"",
        "id=\"bugs\"",
    ] {
        assert!(html.contains(tab), "missing {tab}");
    }
    assert!(!html.contains("id=\"comments\""), "comments need view_pii");
    assert!(html.contains("<svg"));
    assert_eq!(h.get("/signature/", None).await.status, 400);

    let r = h.get("/topcrashers/?product=Firefox&days=7", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    assert!(html.contains("OOM | small"));
    assert!(html.contains("id=\"topcrashers\""));

    // no version: the first featured one
    h.db.db()
        .product_versions()
        .insert(&db::product_versions::NewProductVersion {
            product_name: "Firefox".into(),
            release_channel: "release".into(),
            major_version: 121,
            release_version: "121.0".into(),
            version_string: "121.0".into(),
            build_id: "20231101000000".into(),
            archive_url: None,
        })
        .await
        .unwrap();
    h.db.db()
        .product_versions()
        .set_featured("Firefox", &["121.0"])
        .await
        .unwrap();
    let r = h.get("/topcrashers/?product=Firefox", None).await;
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        "/topcrashers/?product=Firefox&version=121.0"
    );
    let r = h
        .get("/topcrashers/?product=Firefox&version=121.0", None)
        .await;
    assert_eq!(r.status, 200);
    let html = r.text();
    assert!(
        html.contains("/signature/?signature="),
        "no signature for 121.0: {html}"
    );

    let r = h.get("/home/product/Firefox", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("<svg"));
    let r = h.get("/", None).await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), "/home/product/Firefox");

    let (id, _) = h.add_crash(9).await;
    let r = h.get(&format!("/search/quick/?query=bp-{id}"), None).await;
    assert_eq!(r.header("location"), format!("/report/index/{id}"));
    let r = h.get("/search/quick/?query=OOM", None).await;
    assert_eq!(r.header("location"), "/search/?signature=~OOM");
}
on_both_engines!(search_pages);

async fn search_rate_limit(engine: Engine) {
    let limits = webapp::RateLimits {
        search_anonymous_per_min: 2,
        ..common::no_limits()
    };
    let h = common::start_with(engine, limits).await;
    for _ in 0..2 {
        assert_eq!(h.get("/search/?product=%3DFirefox", None).await.status, 200);
    }
    let r = h.get("/search/?product=%3DFirefox", None).await;
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").parse::<u64>().unwrap() >= 1);
    assert!(r.header("content-type").starts_with("text/html"));
}
on_both_engines!(search_rate_limit);
