//! Replays every Antenna request body in ../shared/testdata/antenna and checks
//! Antenna's expected answer, and for accepted crashes what was stored.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::test;
use collector::{CollectorSettings, Ruleset};
use common::{Harness, crash_id_from_body, testdata};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn load_cases() -> Vec<Value> {
    let text = std::fs::read_to_string(testdata("antenna/multipart/cases/cases.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["cases"].as_array().unwrap().clone()
}

/// Settings that let every case through the throttler unless it asks for Mozilla's rules.
fn settings_for(case: &Value) -> CollectorSettings {
    let mut s = CollectorSettings {
        stage_submitter_token: Some("123".into()),
        ..Default::default()
    };
    if case["expected"]["result"] == "accepted" {
        s.throttler.ruleset = Ruleset::Mozilla;
    }
    s
}

async fn replay(case: &Value) -> Result<(), String> {
    let name = case["name"].as_str().unwrap();
    let harness = Harness::new(settings_for(case)).await;
    let app = test::init_service(
        actix_web::App::new().configure(|c| collector::configure(c, harness.state.clone())),
    )
    .await;
    let body = std::fs::read(testdata(&format!(
        "antenna/multipart/cases/{}",
        case["body_file"].as_str().unwrap()
    )))
    .unwrap();
    let body_bytes = body.clone();
    let mut req = test::TestRequest::post().uri("/submit").set_payload(body);
    for (k, v) in case["request_headers"].as_object().unwrap() {
        req = req.insert_header((k.as_str(), v.as_str().unwrap()));
    }

    let resp = test::call_service(&app, req.to_request()).await;
    let status = resp.status().as_u16();
    let text = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    let exp = &case["expected"];
    let fail = |what: String| Err(format!("{name}: {what}"));

    match exp["result"].as_str().unwrap() {
        "malformed" | "rejected" => {
            if status != exp["http_status"].as_u64().unwrap() as u16 || text != exp["http_body"] {
                return fail(format!(
                    "got {status} {text:?}, want {} {}",
                    exp["http_status"], exp["http_body"]
                ));
            }
            if !harness.queued_ids().await.is_empty() {
                return fail("a rejected submission was queued".into());
            }
            let stored = walk(&harness.crashes_root());
            if !stored.is_empty() {
                return fail(format!("a rejected submission stored files: {stored:?}"));
            }
        }
        "extracted" => {
            check_extraction(case, &body_bytes)
                .await
                .map_err(|e| format!("{name}: {e}"))?;
            if exp["annotations"].get("uuid").is_some() {
                // Over HTTP, a client uuid without the stage submitter's token is refused.
                if (status, text.as_str()) != (401, "Discarded=unauthorized_uuid") {
                    return fail(format!("got {status} {text:?}, want 401"));
                }
                return Ok(());
            }
            if status != 200 {
                return fail(format!("got {status} {text:?}, want 200"));
            }
            let id = crash_id_from_body(&text);
            let raw = harness
                .storage
                .load_raw_crash(&id)
                .await
                .map_err(|e| format!("{name}: {e}"))?;
            for (k, v) in exp["annotations"].as_object().unwrap() {
                if raw.get(k) != Some(v) {
                    return fail(format!("annotation {k}: got {:?}, want {v}", raw.get(k)));
                }
            }
            let meta = raw.metadata().unwrap();
            if meta["collector_notes"] != exp["notes"] {
                return fail(format!(
                    "notes {} != {}",
                    meta["collector_notes"], exp["notes"]
                ));
            }
            for key in ["payload", "payload_compressed", "payload_size"] {
                if !exp[key].is_null() && meta[key] != exp[key] {
                    return fail(format!("metadata.{key} {} != {}", meta[key], exp[key]));
                }
            }
            let dumps = harness.storage.load_dumps(&id).await.unwrap();
            let want = exp["dumps"].as_object().unwrap();
            if dumps.len() != want.len() {
                return fail(format!("{} dumps stored, want {}", dumps.len(), want.len()));
            }
            for (dname, d) in want {
                let data = dumps
                    .get(dname)
                    .ok_or_else(|| format!("{name}: dump {dname} missing"))?;
                let sha = hex::encode(Sha256::digest(data));
                if data.len() as u64 != d["len"].as_u64().unwrap() || sha != d["sha256"] {
                    return fail(format!("dump {dname} differs"));
                }
                if meta["dump_checksums"][dname] != sha {
                    return fail(format!("dump_checksums[{dname}] wrong"));
                }
            }
            if harness.queued_ids().await != vec![id.to_string()] {
                return fail("crash id not queued".into());
            }
        }
        "accepted" => {
            if status != 200 {
                return fail(format!("got {status} {text:?}"));
            }
            if let Some(want) = exp["http_body"].as_str()
                && text != want
            {
                return fail(format!("body {text:?} != {want:?}"));
            }
            if let Some(re) = exp["http_body_regex"].as_str()
                && !regex::Regex::new(re).unwrap().is_match(&text)
            {
                return fail(format!("body {text:?} !~ {re}"));
            }
            let id = crash_id_from_body(&text);
            let raw = harness
                .storage
                .load_raw_crash(&id)
                .await
                .map_err(|e| format!("{name}: {e}"))?;
            if let Some(subset) = exp["raw_crash_subset"].as_object() {
                check_subset(
                    &Value::Object(raw.0.clone()),
                    &Value::Object(subset.clone()),
                    "",
                )
                .map_err(|e| format!("{name}: {e}"))?;
            }
            if harness.queued_ids().await != vec![id.to_string()] {
                return fail("crash id not queued".into());
            }
        }
        other => return fail(format!("unknown expected result {other}")),
    }
    Ok(())
}

/// Antenna's `extract_payload` expectations, checked on the parser directly.
async fn check_extraction(case: &Value, body: &[u8]) -> Result<(), String> {
    let exp = &case["expected"];
    let headers = &case["request_headers"];
    let boundary = collector::extract::boundary_from_content_type(headers["Content-Type"].as_str())
        .map_err(|e| format!("{e:?}"))?;
    let body = if headers["Content-Encoding"] == "gzip" {
        service::limits::gunzip_capped(body, 1 << 20).map_err(|e| e.to_string())?
    } else {
        body.to_vec()
    };
    let got = collector::extract::extract_payload(body.into(), &boundary)
        .await
        .map_err(|e| format!("{e:?}"))?;
    if Value::Object(got.annotations.clone()) != exp["annotations"] {
        return Err(format!(
            "annotations {:?} != {}",
            got.annotations, exp["annotations"]
        ));
    }
    if serde_json::json!(got.notes) != exp["notes"] || got.payload != exp["payload"] {
        return Err(format!(
            "notes/payload {:?} {} differ",
            got.notes, got.payload
        ));
    }
    let want = exp["dumps"].as_object().unwrap();
    if got.dumps.len() != want.len() {
        return Err(format!("{} dumps, want {}", got.dumps.len(), want.len()));
    }
    for (name, d) in want {
        let data = got
            .dumps
            .get(name)
            .ok_or_else(|| format!("dump {name} missing"))?;
        if hex::encode(Sha256::digest(data)) != d["sha256"] {
            return Err(format!("dump {name} differs"));
        }
    }
    Ok(())
}

fn check_subset(got: &Value, want: &Value, path: &str) -> Result<(), String> {
    match want {
        Value::Object(map) => {
            for (k, v) in map {
                check_subset(&got[k], v, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        _ if got == want => Ok(()),
        _ => Err(format!("{path}: got {got}, want {want}")),
    }
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

#[actix_web::test]
async fn every_antenna_case_replays_with_antennas_answer() {
    let cases = load_cases();
    assert!(cases.len() >= 27, "only {} cases found", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(e) = replay(case).await {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The historical LF-only bodies Antenna kept from 2016: after the CRLF
/// conversion its old test helper did they parse; the LF-only bytes are not
/// multipart and get a clean `invalid_payload_structure`.
#[actix_web::test]
async fn historical_raw_bodies() {
    for file in [
        "socorrofake1.raw",
        "socorrofake1_withuuid.raw",
        "socorrofake2.raw",
    ] {
        let raw = std::fs::read(testdata(&format!("antenna/multipart/historical/{file}"))).unwrap();
        let text = String::from_utf8(raw.clone()).unwrap();
        let boundary = text
            .lines()
            .next()
            .unwrap()
            .trim()
            .strip_prefix("--")
            .unwrap()
            .to_owned();
        let crlf = text.replace('\n', "\r\n");
        let extracted = collector::extract::extract_payload(crlf.into_bytes().into(), &boundary)
            .await
            .unwrap_or_else(|e| panic!("{file}: {e:?}"));
        assert_eq!(extracted.annotations["ProductName"], "Test", "{file}");
        let main = extracted
            .dumps
            .get("upload_file_minidump")
            .unwrap_or_else(|| panic!("{file}: no dump"));
        assert!(
            main.as_ref() == b"abcd1234" || main.as_ref() == b"deadbeef",
            "{file}: {main:?}"
        );
        let lf_only = collector::extract::extract_payload(raw.into(), &boundary).await;
        assert_eq!(
            lf_only.err(),
            Some(collector::extract::Malformed::InvalidPayloadStructure),
            "{file}: LF-only body"
        );
    }
}
