#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Symbol upload (`POST /symbols/upload`, Tecken's `/upload/`) and download
//! (`GET /<debug file>/<debug id>/<name>.sym`), and a processor that uses
//! this webapp as its symbol server.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{Engine, Harness, Resp, no_limits, start, start_full};
use db::permissions::{UPLOAD_SYMBOLS, VIEW_PII};
use processor::symbols::store::StoreConfig;

const ID: &str = "5A9832E5287241C1838ED98914E9B7FF1";

fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata"
    ))
    .join(rel)
}

fn test_app_sym() -> Vec<u8> {
    std::fs::read(testdata(&format!(
        "rust-minidump/testdata/symbols/test_app.pdb/{ID}/test_app.sym"
    )))
    .unwrap()
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn resp(r: reqwest::Response) -> Resp {
    Resp {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.bytes().await.unwrap(),
    }
}

/// POST a zip as the body.
async fn post_zip(h: &Harness, path: &str, body: Vec<u8>, token: Option<&str>) -> Resp {
    let mut rb = client()
        .post(h.at(path))
        .header("Content-Type", "application/zip")
        .body(body);
    if let Some(t) = token {
        rb = rb.header("Auth-Token", t);
    }
    resp(rb.send().await.unwrap()).await
}

/// POST a zip as one file part of a multipart form (like Tecken's clients).
async fn post_multipart(h: &Harness, body: Vec<u8>, token: &str) -> Resp {
    let form = reqwest::multipart::Form::new().text("try", "").part(
        "symbols.zip",
        reqwest::multipart::Part::bytes(body)
            .file_name("symbols.zip")
            .mime_str("application/zip")
            .unwrap(),
    );
    resp(
        client()
            .post(h.at("/upload/"))
            .header("Auth-Token", token)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn error_of(r: &Resp) -> String {
    r.json()["error"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploaded_symbols_are_served_at_the_tecken_path() {
    let h = start(Engine::Sqlite).await;
    let token = h.user("uploader", &[UPLOAD_SYMBOLS]).await;
    let sym = test_app_sym();
    let path = format!("test_app.pdb/{ID}/test_app.sym");

    let r = post_zip(
        &h,
        "/symbols/upload",
        zip_of(&[(&path, &sym), ("test_app-symbols.txt", b"x")]),
        Some(&token),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let body = r.json();
    assert_eq!(body["files"][0]["path"], path);
    assert_eq!(body["files"][0]["size"], sym.len());
    assert_eq!(body["ignored"][0], "test_app-symbols.txt");

    let r = h.get(&format!("/{path}"), None).await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type").starts_with("text/plain"),
        "{:?}",
        r.headers
    );
    assert_eq!(r.body.as_ref(), sym.as_slice());
    // the debug id is matched as the stackwalker writes it, any case
    let lower = format!("/test_app.pdb/{}/test_app.sym", ID.to_lowercase());
    assert_eq!(h.get(&lower, None).await.status, 200);

    let head = client()
        .head(h.at(&format!("/{path}")))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-length"].to_str().unwrap(),
        sym.len().to_string()
    );
    assert!(head.bytes().await.unwrap().is_empty());

    for missing in [
        format!("/test_app.pdb/{ID}/other.sym"),
        format!("/other.pdb/{ID}/other.sym"),
        "/test_app.pdb/not-an-id/test_app.sym".to_owned(),
        // not a .sym name: the route does not match at all
        format!("/test_app.pdb/{ID}/test_app.pdb"),
    ] {
        assert_eq!(h.get(&missing, None).await.status, 404, "{missing}");
    }

    // the same file from a multipart form replaces it
    let r = post_multipart(&h, zip_of(&[("test_app.sym", &sym)]), &token).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["files"][0]["replaced"], true);
    assert_eq!(h.state.symbols.list().unwrap(), vec![path]);

    let metrics = h.get("/metrics", None).await.text();
    for line in [
        "socorro_webapp_symbol_uploads_total{outcome=\"stored\"} 2",
        "socorro_webapp_symbol_files_stored_total 2",
        "socorro_webapp_symbol_downloads_total{outcome=\"hit\"} 3",
        "socorro_webapp_symbol_downloads_total{outcome=\"miss\"} 3",
        "socorro_webapp_requests_total{kind=\"symbols\",status=\"2xx\"}",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploading_needs_a_token_with_upload_symbols() {
    let h = start(Engine::Sqlite).await;
    let reader = h.user("reader", &[VIEW_PII]).await;
    let z = zip_of(&[("test_app.sym", &test_app_sym())]);

    let r = post_zip(&h, "/symbols/upload", z.clone(), None).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        error_of(&r),
        "This requires an Auth-Token to authenticate the request"
    );
    let r = post_zip(&h, "/symbols/upload", z.clone(), Some("nope")).await;
    assert_eq!(r.status, 403);
    assert_eq!(error_of(&r), "API Token not matched");
    let r = post_zip(&h, "/symbols/upload", z, Some(&reader)).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        error_of(&r),
        "Use of this endpoint requires the 'Upload Symbols Files' permission"
    );
    // GET is not an upload
    assert_eq!(h.get("/symbols/upload", None).await.status, 404);
    assert!(h.state.symbols.list().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_are_refused_and_nothing_is_stored() {
    let limits = StoreConfig {
        max_file_bytes: 1024 * 1024,
        max_upload_bytes: 128 * 1024,
        ..Default::default()
    };
    let h = start_full(Engine::Sqlite, no_limits(), limits).await;
    let token = h.user("uploader", &[UPLOAD_SYMBOLS]).await;
    let sym = format!("MODULE windows x86 {ID} test_app.pdb\nPUBLIC 1000 0 main\n").into_bytes();
    let good_name = format!("test_app.pdb/{ID}/test_app.sym");

    // a zip bomb: 64 MiB of zeros behind a valid MODULE line, ~64 KiB zipped
    let mut bomb = sym.clone();
    bomb.resize(64 * 1024 * 1024, b'0');
    let z = zip_of(&[(&good_name, &bomb)]);
    drop(bomb);
    assert!(z.len() < 128 * 1024, "{}", z.len());
    let started = Instant::now();
    let r = post_zip(&h, "/symbols/upload", z, Some(&token)).await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(error_of(&r).contains("MAX_FILE_BYTES"), "{}", r.text());
    assert!(started.elapsed() < Duration::from_secs(5));

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not a zip", b"hello".to_vec(), "not a zip file"),
        (
            "traversal in an entry name",
            zip_of(&[("../../evil.sym", &sym)]),
            "unsafe name",
        ),
        (
            "traversal in the MODULE line",
            zip_of(&[(
                "evil.sym",
                format!("MODULE windows x86 {ID} ../x\n").as_bytes(),
            )]),
            "bad debug file",
        ),
        (
            "not a symbol file",
            zip_of(&[("a.sym", b"hello\n")]),
            "not a Breakpad symbol file",
        ),
        (
            "path and MODULE line disagree",
            zip_of(&[(&format!("other.pdb/{ID}/other.sym"), &sym)]),
            "MODULE line places it",
        ),
        ("no .sym in it", zip_of(&[("README", b"x")]), "no .sym file"),
    ];
    for (what, body, want) in cases {
        let r = post_zip(&h, "/symbols/upload", body, Some(&token)).await;
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        assert!(error_of(&r).contains(want), "{what}: {}", r.text());
    }

    // over SOCORRO_SYMBOLS__MAX_UPLOAD_BYTES: with and without Content-Length
    let big: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let r = post_zip(&h, "/symbols/upload", big.clone(), Some(&token)).await;
    assert_eq!(r.status, 413, "{}", r.text());
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(16 * 1024).map(|c| Ok(c.to_vec())).collect();
    let r = client()
        .post(h.at("/symbols/upload"))
        .header("Auth-Token", &token)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    // multipart without a file part, and an empty body
    let form = reqwest::multipart::Form::new().text("try", "1");
    let r = resp(
        client()
            .post(h.at("/symbols/upload"))
            .header("Auth-Token", &token)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        error_of(&r),
        "Must be multipart form data with at least one file"
    );
    let r = post_zip(&h, "/symbols/upload", Vec::new(), Some(&token)).await;
    assert_eq!(r.status, 400, "{}", r.text());

    assert!(h.state.symbols.list().unwrap().is_empty());
    let tmp = h.state.symbols.dir().join(".tmp");
    assert_eq!(
        std::fs::read_dir(tmp).unwrap().count(),
        0,
        "staging cleaned"
    );
    let metrics = h.get("/metrics", None).await.text();
    assert!(
        metrics.contains("socorro_webapp_symbol_uploads_total{outcome=\"rejected\"} 11"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_three_segment_routes_still_work() {
    let h = start(Engine::Sqlite).await;
    let (id, _) = h.add_crash(1).await;
    let r = h.get(&format!("/report/index/{id}"), None).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains(id.as_str()));
    // the report route answers (bad crash id), not the symbol route
    let r = h.get("/report/index/nope.sym", None).await;
    assert_ne!(r.status, 200);
    assert!(!r.text().contains("Symbol Not Found"), "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_processor_fetches_symbols_from_the_webapp() {
    let h = start(Engine::Sqlite).await;
    let token = h.user("uploader", &[UPLOAD_SYMBOLS]).await;
    let r = post_zip(
        &h,
        "/symbols/upload",
        zip_of(&[("test_app.sym", &test_app_sym())]),
        Some(&token),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());

    // another processor: its own data dir, this webapp as its symbol server
    let dir = tempfile::tempdir().unwrap();
    let settings = processor::SymbolSettings {
        urls: vec![format!("{}/", h.url)],
        download_timeout_secs: 10,
        ..Default::default()
    };
    let symbols = processor::Symbols::new(&settings, dir.path()).unwrap();
    let dump =
        bytes::Bytes::from(std::fs::read(testdata("rust-minidump/testdata/test.dmp")).unwrap());
    let out =
        processor::stackwalk::stackwalk(dump, None, symbols.symbolizer(), Duration::from_secs(60))
            .await;
    let jd = out.json_dump.unwrap();
    assert_eq!(
        jd["crashing_thread"]["frames"][0]["function"],
        "`anonymous namespace'::CrashFunction"
    );
    let module = jd["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["filename"] == "test_app.exe")
        .unwrap();
    assert!(
        module["symbol_url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/test_app.pdb/{ID}/test_app.sym", h.url)),
        "{module}"
    );
    // downloaded into that processor's cache
    assert!(
        dir.path()
            .join(format!("symbols-cache/test_app.pdb/{ID}/test_app.sym"))
            .is_file()
    );
}
