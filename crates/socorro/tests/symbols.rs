//! `socorro symbols add|list` through the binary, then `socorro process` of
//! a real dump symbolicated from the store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_socorro");
const ID: &str = "5A9832E5287241C1838ED98914E9B7FF1";

fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata"
    ))
    .join(rel)
}

fn socorro(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_clear()
        .env("SOCORRO_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn symbols_add_stores_files_zips_and_directories_then_process_uses_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = |p: &Path| p.to_str().unwrap().to_owned();

    // a directory: test_app.sym is found (crash-client.sym.xz is not a .sym)
    let symbols_dir = testdata("rust-minidump/testdata/symbols");
    let out = socorro(&data, &["symbols", "add", &s(&symbols_dir)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("stored test_app.pdb/{ID}/test_app.sym")),
        "{stdout}"
    );
    assert!(stdout.contains("1 symbol file(s) stored"), "{stdout}");

    // a .sym file and a zip (the CRLF variant, placed by its MODULE line)
    let kernel32 = testdata(
        "breakpad/processor-testdata/symbols/kernel32.pdb/BCE8785C57B44245A669896B6A19B9542/kernel32.sym",
    );
    let crlf = std::fs::read(testdata(
        "rust-minidump/breakpad-symbols-testdata/symbols/test_app.pdb/6A9832E5287241C1838ED98914E9B7FF1/test_app.sym",
    ))
    .unwrap();
    let zip_path = dir.path().join("symbols.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    w.start_file(
        "test_app.sym",
        zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated),
    )
    .unwrap();
    w.write_all(&crlf).unwrap();
    w.finish().unwrap();
    let out = socorro(&data, &["symbols", "add", &s(&kernel32), &s(&zip_path)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("stored kernel32.pdb/BCE8785C57B44245A669896B6A19B9542/kernel32.sym"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("replaced test_app.pdb/{ID}/test_app.sym")),
        "{stdout}"
    );
    assert!(stdout.contains("2 symbol file(s) stored"), "{stdout}");

    // an invalid file fails the command, the valid one is still stored
    let bad = dir.path().join("bad.sym");
    std::fs::write(&bad, "this is not a symbol file\n").unwrap();
    let good = dir.path().join("libc.sym");
    std::fs::write(
        &good,
        "MODULE Linux x86_64 0F9C6B3A1E2D4C5B8A7F6E5D4C3B2A190 libc.so.6\nPUBLIC 10 0 f\n",
    )
    .unwrap();
    let out = socorro(&data, &["symbols", "add", &s(&bad), &s(&good)]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("bad.sym: not a Breakpad symbol file"),
        "{stderr}"
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("stored libc.so.6/0F9C6B3A1E2D4C5B8A7F6E5D4C3B2A190/libc.so.6.sym"),
        "{stdout}"
    );
    assert!(stdout.contains("1 symbol file(s) stored"), "{stdout}");
    assert!(stdout.contains("1 failed"), "{stdout}");

    let out = socorro(&data, &["symbols", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).lines().collect::<Vec<_>>(),
        vec![
            "kernel32.pdb/BCE8785C57B44245A669896B6A19B9542/kernel32.sym".to_owned(),
            "libc.so.6/0F9C6B3A1E2D4C5B8A7F6E5D4C3B2A190/libc.so.6.sym".to_owned(),
            format!("test_app.pdb/{ID}/test_app.sym"),
        ]
    );

    // the processor reads the store by default
    let dump = testdata("rust-minidump/testdata/test.dmp");
    let out = socorro(&data, &["process", "--dump", &s(&dump), "--json-dump-only"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let jd: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        jd["crashing_thread"]["frames"][0]["function"],
        "`anonymous namespace'::CrashFunction"
    );
}

#[test]
fn symbols_add_refuses_what_is_not_symbols() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let other = dir.path().join("notes.txt");
    std::fs::write(&other, "x").unwrap();
    let out = socorro(
        &data,
        &[
            "symbols",
            "add",
            other.to_str().unwrap(),
            "/nonexistent/x.sym",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("not a .sym file, a .zip file or a directory"),
        "{stderr}"
    );
    assert!(stderr.contains("/nonexistent/x.sym"), "{stderr}");
    assert!(text(&out.stdout).contains("0 symbol file(s) stored"));
}
