//! Every `/api/` endpoint against a running webapp: happy path, bad
//! parameters, missing or insufficient token, redaction; on SQLite and on
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Utc;
use common::{Engine, Harness};
use crash_queue::QueueName;
use db::product_versions::NewProductVersion;
use serde_json::json;

const PII: &str = "view_pii";
const RAWDUMP: &str = "view_rawdump";
const REPROCESS: &str = "reprocess_crashes";

async fn processed_crash(engine: Engine) {
    let h = common::start(engine).await;
    let (id, full) = h.add_crash(1).await;
    let pii = h.user("pii", &[PII]).await;
    let dumper = h.user("dumper", &[RAWDUMP]).await;
    let path = format!("/api/ProcessedCrash/?crash_id={id}");

    // anonymous: public fields only
    let r = h.get(&path, None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let doc = r.json();
    assert_eq!(doc["signature"], full["signature"]);
    assert_eq!(doc["uuid"], id.as_str());
    for gone in ["url", "user_comments"] {
        assert!(doc.get(gone).is_none(), "{gone} leaked: {doc}");
    }
    let frame = &doc["json_dump"]["threads"][0]["frames"][0];
    assert_eq!(
        frame["function"],
        full["json_dump"]["threads"][0]["frames"][0]["function"]
    );
    assert!(frame.get("registers").is_none(), "registers leaked");
    assert!(!r.text().contains("private.example"));
    assert_eq!(r.header("access-control-allow-origin"), "*");

    // view_pii: everything, including the bp- form of the id
    let r = h
        .get(
            &format!("/api/ProcessedCrash/?crash_id=bp-{id}"),
            Some(&pii),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), full);
    let r = h
        .get(&format!("{path}&datatype=unredacted"), Some(&pii))
        .await;
    assert_eq!(r.json(), full);

    // unredacted without the permission
    let r = h
        .get(&format!("{path}&datatype=unredacted"), Some(&dumper))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json(),
        json!({"error": "Use of this endpoint requires the 'View Personal Identifiable Information' permission"})
    );

    // raw dump
    let r = h.get(&format!("{path}&datatype=raw"), None).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json(),
        json!({"error": "Binary response requires permissions: View Raw Dumps"})
    );
    let r = h.get(&format!("{path}&datatype=raw"), Some(&dumper)).await;
    assert_eq!(r.status, 200);
    assert_eq!(&r.body[..], common::MINIDUMP);
    assert_eq!(r.header("content-type"), "application/octet-stream");

    // bad parameters
    let r = h.get("/api/ProcessedCrash/", None).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({"errors": {"crash_id": ["This field is required."]}})
    );
    let r = h.get("/api/ProcessedCrash/?crash_id=nope", None).await;
    assert_eq!(r.status, 400);
    assert!(r.json()["errors"]["crash_id"].is_array());
    let r = h.get(&format!("{path}&datatype=bogus"), None).await;
    assert_eq!(r.status, 400);
    let unknown = webapp::sample::crash_id(999, Utc::now());
    let r = h
        .get(&format!("/api/ProcessedCrash/?crash_id={unknown}"), None)
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        json!({"error": format!("Not found: CrashIDNotFound {unknown}")})
    );

    // bad token
    let r = h.get(&path, Some("0123456789abcdef0123456789abcdef")).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json(), json!({"error": "API Token not matched"}));
}
on_both_engines!(processed_crash);

async fn raw_crash(engine: Engine) {
    let h = common::start(engine).await;
    let (id, _) = h.add_crash(2).await;
    let pii = h.user("pii", &[PII]).await;
    let dumper = h.user("dumper", &[RAWDUMP]).await;
    let path = format!("/api/RawCrash/?crash_id={id}");

    let r = h.get(&path, None).await;
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert!(doc["ProductName"].is_string());
    for gone in ["URL", "Comments"] {
        assert!(doc.get(gone).is_none(), "{gone} leaked: {doc}");
    }
    assert!(doc.get("Version").is_some());

    let r = h.get(&format!("{path}&format=meta"), Some(&pii)).await;
    assert_eq!(r.status, 200);
    assert!(
        r.json()["URL"]
            .as_str()
            .unwrap()
            .contains("private.example")
    );

    let r = h.get(&format!("{path}&format=raw"), Some(&pii)).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json(),
        json!({"error": "Binary response requires permissions: View Raw Dumps"})
    );
    let r = h.get(&format!("{path}&format=raw"), Some(&dumper)).await;
    assert_eq!(r.status, 200);
    assert_eq!(&r.body[..], common::MINIDUMP);
    assert_eq!(
        r.header("content-disposition"),
        format!("attachment; filename=\"{id}.dmp\"")
    );
    let r = h
        .get(
            &format!("{path}&format=raw&name=memory_report"),
            Some(&dumper),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-disposition")
            .contains("memory_report.json.gz")
    );
    let r = h
        .get(&format!("{path}&format=raw&name=nosuchdump"), Some(&dumper))
        .await;
    assert_eq!(r.status, 404);
    let r = h
        .get(&format!("{path}&format=raw&name=../../etc"), Some(&dumper))
        .await;
    assert!(r.status == 400 || r.status == 404, "{}", r.status);
    let r = h.get(&format!("{path}&format=xml"), None).await;
    assert_eq!(r.status, 400);
    let r = h.get("/api/RawCrash/", None).await;
    assert_eq!(r.status, 400);
}
on_both_engines!(raw_crash);

async fn reprocessing(engine: Engine) {
    let h = common::start(engine).await;
    let (id, _) = h.add_crash(3).await;
    let (id2, _) = h.add_crash(4).await;
    let allowed = h.user("reprocessor", &[REPROCESS]).await;
    let other = h.user("other", &[PII]).await;

    let r = h
        .get(
            &format!("/api/Reprocessing/?crash_ids={id}"),
            Some(&allowed),
        )
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.json(), json!({"error": "Method not allowed"}));

    let form = [("crash_ids", id.as_str())];
    let r = h.post("/api/Reprocessing/", &form, None).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json(),
        json!({"error": "Use of this endpoint requires the 'Reprocess Crashes' permission"})
    );
    let r = h.post("/api/Reprocessing/", &form, Some(&other)).await;
    assert_eq!(r.status, 403);

    let rs = format!("{id2}:regenerate_signature");
    let r = h
        .post(
            "/api/Reprocessing/",
            &[("crash_ids", id.as_str()), ("crash_ids", &rs)],
            Some(&allowed),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!(true));
    let mut want = vec![id.as_str().to_owned(), rs.clone()];
    want.sort();
    assert_eq!(h.queued(QueueName::Reprocessing).await, want);

    let r = h
        .post(
            "/api/Reprocessing/",
            &[("crash_ids", "garbage")],
            Some(&allowed),
        )
        .await;
    assert_eq!(r.status, 400);
    let bad_rs = format!("{id}:nosuchruleset");
    let r = h
        .post(
            "/api/Reprocessing/",
            &[("crash_ids", &bad_rs)],
            Some(&allowed),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = h.post("/api/Reprocessing/", &[], Some(&allowed)).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({"errors": {"crash_ids": ["This field is required."]}})
    );
}
on_both_engines!(reprocessing);

async fn version_string(engine: Engine) {
    let h = common::start(engine).await;
    let pv = h.db.db().product_versions();
    for (channel, vs) in [
        ("beta", "63.0b4"),
        ("beta", "63.0rc1"),
        ("release", "62.0.3"),
    ] {
        pv.insert(&NewProductVersion {
            product_name: "Firefox".into(),
            release_channel: channel.into(),
            major_version: 63,
            release_version: vs.split(['b', 'r']).next().unwrap().into(),
            version_string: vs.into(),
            build_id: "20181015153410".into(),
            archive_url: None,
        })
        .await
        .unwrap();
    }
    let r = h
        .get(
            "/api/VersionString/?product=Firefox&channel=beta&build_id=20181015153410",
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"hits": [{"version_string": "63.0b4"}], "total": 1})
    );
    let r = h
        .get(
            "/api/VersionString/?product=Firefox&channel=release&build_id=20181015153410",
            None,
        )
        .await;
    assert_eq!(r.json()["hits"][0]["version_string"], "62.0.3");
    let r = h
        .get(
            "/api/VersionString/?product=Firefox&channel=beta&build_id=1",
            None,
        )
        .await;
    assert_eq!(r.json(), json!({"hits": [], "total": 0}));
    let r = h.get("/api/VersionString/?product=Firefox", None).await;
    assert_eq!(r.status, 400);
    let errors = r.json()["errors"].clone();
    assert!(errors.get("channel").is_some() && errors.get("build_id").is_some());
}
on_both_engines!(version_string);

async fn bugs_and_signatures(engine: Engine) {
    let h = common::start(engine).await;
    let ba = h.db.db().bug_associations();
    ba.add(100, "OOM | small").await.unwrap();
    ba.add(100, "OOM | large").await.unwrap();
    ba.add(200, "js::gc::GCRuntime::collect").await.unwrap();
    let r = h.get("/api/Bugs/?signatures=OOM%20%7C%20small", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"hits": [{"id": 100, "signature": "OOM | large"}, {"id": 100, "signature": "OOM | small"}], "total": 2})
    );
    let r = h
        .post(
            "/api/Bugs/",
            &[("signatures", "js::gc::GCRuntime::collect")],
            None,
        )
        .await;
    assert_eq!(r.json()["total"], 1);
    let r = h.get("/api/Bugs/", None).await;
    assert_eq!(r.status, 400);

    let r = h
        .get("/api/SignaturesByBugs/?bug_ids=100&bug_ids=200", None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["total"], 3);
    let r = h.get("/api/SignaturesByBugs/?bug_ids=abc", None).await;
    assert_eq!(r.status, 400);
    assert!(r.json()["errors"]["bug_ids"].is_array());
    let r = h.get("/api/SignaturesByBugs/", None).await;
    assert_eq!(r.status, 400);

    let sigs = h.db.db().signatures();
    let first = "2024-01-02T03:04:05Z"
        .parse::<chrono::DateTime<Utc>>()
        .unwrap();
    sigs.record("OOM | small", first, 20240101000000)
        .await
        .unwrap();
    let r = h
        .get(
            "/api/SignatureFirstDate/?signatures=OOM%20%7C%20small&signatures=unknown",
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let hits = r.json();
    assert_eq!(hits["total"], 1);
    assert_eq!(hits["hits"][0]["signature"], "OOM | small");
    assert_eq!(hits["hits"][0]["first_build"], "20240101000000");
    assert!(
        hits["hits"][0]["first_date"]
            .as_str()
            .unwrap()
            .starts_with("2024-01-02T03:04:05")
    );
    let r = h.get("/api/SignatureFirstDate/", None).await;
    assert_eq!(r.status, 400);
}
on_both_engines!(bugs_and_signatures);

async fn missing_and_verify(engine: Engine) {
    let h = common::start(engine).await;
    let (id, _) = h.add_crash(5).await;
    let pending = h.add_raw_only(6).await;
    h.db.db()
        .missing_processed()
        .insert(pending.as_str(), Utc::now())
        .await
        .unwrap();
    let r = h.get("/api/MissingProcessedCrash/", None).await;
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body["count"], 1);
    assert_eq!(body["results"][0]["crash_id"], pending.as_str());
    assert_eq!(body["results"][0]["is_processed"], false);
    assert!(body["next"].is_null() && body["previous"].is_null());
    for bad in ["0", "-1", "x"] {
        let r = h
            .get(&format!("/api/MissingProcessedCrash/?page={bad}"), None)
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json(), json!({"error": "invalid page number"}));
    }

    let r = h
        .get(&format!("/api/CrashVerify/?crash_id={id}"), None)
        .await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["uuid"], id.as_str());
    assert_eq!(v["raw_crash"], true);
    assert_eq!(v["processed_crash"], true);
    let r = h
        .get(&format!("/api/CrashVerify/?crash_id={pending}"), None)
        .await;
    assert_eq!(r.json()["processed_crash"], false);
    let r = h.get("/api/CrashVerify/?crash_id=junk", None).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json(), json!({"error": "unknown crash id"}));
}
on_both_engines!(missing_and_verify);

async fn tokens_and_unknown_models(engine: Engine) {
    let h = common::start(engine).await;
    let (id, _) = h.add_crash(7).await;
    let token = h.user("inactive", &[PII]).await;
    h.db.db()
        .users()
        .set_active("inactive", false)
        .await
        .unwrap();
    let r = h
        .get(&format!("/api/ProcessedCrash/?crash_id={id}"), Some(&token))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json(), json!({"error": "User of API token not active"}));

    // expired token
    let user = h.db.db().users().get("inactive").await.unwrap().unwrap();
    h.db.db()
        .users()
        .set_active("inactive", true)
        .await
        .unwrap();
    let now = Utc::now();
    let short =
        h.db.db()
            .tokens()
            .create(
                &db::tokens::NewToken {
                    user_id: user.id,
                    permissions: &[],
                    notes: "",
                    expires: now + chrono::TimeDelta::milliseconds(300),
                },
                now,
            )
            .await
            .unwrap()
            .token;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let r = h
        .get(&format!("/api/ProcessedCrash/?crash_id={id}"), Some(&short))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json(), json!({"error": "API Token found but expired"}));

    let r = h.get("/api/Nope/", None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json(), json!({"error": "No service called 'Nope'"}));
    let r = h.get("/api/TelemetryCrash/", None).await;
    assert_eq!(r.status, 404);

    // docs are generated from the endpoint table
    let r = h.get("/api/", None).await;
    assert_eq!(r.status, 200);
    let html = r.text();
    for ep in webapp::api::ENDPOINTS {
        assert!(
            html.contains(&format!("id=\"{}\"", ep.name)),
            "{} undocumented",
            ep.name
        );
        for p in ep.params {
            let name = p
                .name
                .trim_start_matches('<')
                .replace("<f>", "")
                .replace('>', "");
            assert!(html.contains(&name), "{name}");
        }
    }
    // pretty printing and security headers
    let r = h
        .get("/api/CrashVerify/?crash_id=junk&pretty=print", None)
        .await;
    assert_eq!(r.status, 400);
    let r = h
        .get(
            &format!("/api/CrashVerify/?crash_id={id}&pretty=print"),
            None,
        )
        .await;
    assert!(r.text().contains("\n  \"processed_crash\""));
    assert_eq!(r.header("x-content-type-options"), "nosniff");
    assert!(
        r.header("content-security-policy")
            .contains("default-src 'self'")
    );
}
on_both_engines!(tokens_and_unknown_models);

async fn rate_limits(engine: Engine) {
    let limits = webapp::RateLimits {
        api_anonymous_per_min: 3,
        api_user_per_min: 5,
        ..common::no_limits()
    };
    let h = common::start_with(engine, limits).await;
    let token = h.user("busy", &[]).await;
    for _ in 0..3 {
        assert_eq!(
            h.get("/api/CrashVerify/?crash_id=x", None).await.status,
            400
        );
    }
    let r = h.get("/api/CrashVerify/?crash_id=x", None).await;
    assert_eq!(r.status, 429);
    let wait: u64 = r.header("retry-after").parse().unwrap();
    assert!((1..=60).contains(&wait));
    assert_eq!(r.text(), "Too Many Requests");
    // a token has its own, larger bucket
    for _ in 0..5 {
        assert_eq!(
            h.get("/api/CrashVerify/?crash_id=x", Some(&token))
                .await
                .status,
            400
        );
    }
    assert_eq!(
        h.get("/api/CrashVerify/?crash_id=x", Some(&token))
            .await
            .status,
        429
    );
}
on_both_engines!(rate_limits);

#[allow(dead_code)]
fn _unused(_: &Harness) {}
