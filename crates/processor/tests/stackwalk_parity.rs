//! Our in-process stackwalk against the expected outputs in the corpus:
//! rust-minidump's `minidump-stackwalk` JSON snapshots and Breakpad's
//! machine-readable stackwalker output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::{expected_snap, first_difference, read, symbol_tree, testdata};
use minidump_unwind::Symbolizer;
use processor::stackwalk::walk_blocking;
use serde_json::Value;

fn symbolizer(paths: Vec<PathBuf>) -> Option<Symbolizer> {
    (!paths.is_empty()).then(|| Symbolizer::new(minidump_unwind::simple_symbol_supplier(paths)))
}

async fn walk(dump: &str, evil: Option<&str>, paths: Vec<PathBuf>) -> Value {
    let bytes = read(&testdata(dump));
    let evil = evil.map(|e| read(&testdata(e)));
    let out = walk_blocking(&bytes, evil.as_deref(), symbolizer(paths).as_ref()).await;
    assert_eq!(out.return_code, 0, "{out:?}");
    assert_eq!(out.status, "OK");
    out.json_dump.unwrap()
}

fn assert_same(ours: &Value, expected: &Value) {
    if let Some(diff) = first_difference(ours, expected, "") {
        panic!("json_dump differs from minidump-stackwalk at {diff}");
    }
}

#[tokio::test]
async fn test_dmp_without_symbols_matches_minidump_stackwalk() {
    let ours = walk("rust-minidump/testdata/test.dmp", None, vec![]).await;
    assert_same(&ours, &expected_snap("json-pretty"));
    insta::assert_json_snapshot!("test_dmp_json_dump", ours);
}

#[tokio::test]
async fn test_dmp_with_symbols_matches_minidump_stackwalk() {
    let ours = walk(
        "rust-minidump/testdata/test.dmp",
        None,
        vec![testdata("rust-minidump/testdata/symbols")],
    )
    .await;
    assert_same(&ours, &expected_snap("json-pretty-symbols"));
    assert_eq!(
        ours["crashing_thread"]["frames"][0]["function"],
        "`anonymous namespace'::CrashFunction"
    );
    insta::assert_json_snapshot!("test_dmp_symbols_json_dump", ours);
}

#[tokio::test]
async fn test_dmp_with_evil_json_matches_minidump_stackwalk() {
    let ours = walk(
        "rust-minidump/testdata/test.dmp",
        Some("rust-minidump/testdata/evil.json"),
        vec![testdata("rust-minidump/testdata/symbols")],
    )
    .await;
    assert_same(&ours, &expected_snap("json-pretty-evil-symbols"));
    insta::assert_json_snapshot!("test_dmp_evil_json_dump", ours);
}

#[tokio::test]
async fn linux_mini_matches_minidump_stackwalk() {
    let ours = walk("rust-minidump/testdata/linux-mini.dmp", None, vec![]).await;
    assert_same(&ours, &expected_snap("linux_json_pretty"));
    insta::assert_json_snapshot!("linux_mini_json_dump", ours);
}

#[tokio::test]
async fn macos_inlines_match_minidump_stackwalk() {
    let dir = tempfile::tempdir().unwrap();
    symbol_tree(&testdata("rust-minidump/testdata/symbols"), dir.path());
    let ours = walk(
        "rust-minidump/testdata/pipeline-inlines-macos-segv.dmp",
        None,
        vec![dir.path().to_owned()],
    )
    .await;
    assert_same(&ours, &expected_snap("macos_inlines_json_pretty"));
    insta::assert_json_snapshot!("macos_inlines_json_dump", ours);
}

/// Breakpad's `minidump_stackwalk -m` lines rebuilt from our json_dump.
fn machine_readable(jd: &Value) -> Vec<String> {
    let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let hex = |v: &Value| {
        v.as_str()
            .and_then(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).ok())
            .map(|n| format!("{n:#x}"))
            .unwrap_or_default()
    };
    let si = &jd["system_info"];
    let ci = &jd["crash_info"];
    let mut lines = vec![
        format!("OS|{}|{}", s(&si["os"]), s(&si["os_ver"])),
        format!(
            "CPU|{}|{}|{}",
            s(&si["cpu_arch"]),
            s(&si["cpu_info"]),
            si["cpu_count"]
        ),
        format!(
            "Crash|{}|{}|{}",
            s(&ci["type"]),
            hex(&ci["address"]),
            ci["crashing_thread"]
        ),
    ];
    let main = jd["main_module"].as_u64().unwrap_or(0) as usize;
    let mut modules: Vec<(u64, String)> = jd["modules"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let base =
                u64::from_str_radix(s(&m["base_addr"]).trim_start_matches("0x"), 16).unwrap();
            let end = u64::from_str_radix(s(&m["end_addr"]).trim_start_matches("0x"), 16).unwrap();
            (
                base,
                format!(
                    "Module|{}|{}|{}|{}|{:#010x}|{:#010x}|{}",
                    s(&m["filename"]),
                    s(&m["version"]),
                    s(&m["debug_file"]),
                    s(&m["debug_id"]),
                    base,
                    end - 1,
                    u8::from(i == main)
                ),
            )
        })
        .collect();
    modules.sort();
    lines.extend(modules.into_iter().map(|(_, l)| l));
    lines.push(String::new());
    for (t, thread) in jd["threads"].as_array().unwrap().iter().enumerate() {
        for f in thread["frames"].as_array().unwrap() {
            let offset = if !f["function"].is_null() {
                hex(&f["function_offset"])
            } else if !f["module"].is_null() {
                hex(&f["module_offset"])
            } else {
                hex(&f["offset"])
            };
            let line = if f["line"].is_null() {
                String::new()
            } else {
                f["line"].to_string()
            };
            lines.push(format!(
                "{t}|{}|{}|{}|{}|{}|{}",
                f["frame"],
                s(&f["module"]),
                s(&f["function"]),
                s(&f["file"]),
                line,
                offset
            ));
        }
    }
    lines
}

#[tokio::test]
async fn breakpad_minidump2_matches_machine_readable_output() {
    let ours = walk(
        "breakpad/processor-testdata/minidump2.dmp",
        None,
        vec![testdata("breakpad/processor-testdata/symbols")],
    )
    .await;
    let expected = String::from_utf8(read(&testdata(
        "breakpad/processor-testdata/minidump2.stackwalk.machine_readable.out",
    )))
    .unwrap();
    // Known, explained difference: Breakpad prints a `GPU|||` line that
    // rust-minidump has no data for.
    let expected: Vec<String> = expected
        .lines()
        .filter(|l| !l.starts_with("GPU|"))
        .map(str::to_owned)
        .collect();
    let ours = machine_readable(&ours);
    assert_eq!(ours.len(), expected.len(), "{ours:#?}");
    for (o, e) in ours.iter().zip(&expected) {
        let (o_cols, e_cols): (Vec<&str>, Vec<&str>) =
            (o.split('|').collect(), e.split('|').collect());
        let is_frame = o_cols.len() == 7 && o_cols[0].parse::<u32>().is_ok();
        if !is_frame {
            assert_eq!(o, e);
            continue;
        }
        // module, function, file, line agree
        assert_eq!(o_cols[..6], e_cols[..6], "{o} vs {e}");
        // Explained difference in the last column: with a source line
        // Breakpad prints the offset from the *line* start (rust-minidump's
        // JSON has no line base); without one, Breakpad's caller frames are
        // relative to the return address, rust-minidump's to the call
        // instruction (return address - 1).
        if o_cols[4].is_empty() {
            let p = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
            assert_eq!(p(o_cols[6]) + 1, p(e_cols[6]), "{o} vs {e}");
        }
    }
}

#[tokio::test]
async fn breakpad_microdumps_are_not_minidumps() {
    // rust-minidump does not read Breakpad's Android *microdump* text format:
    // these come out as a read error (a note in the processed crash), not a
    // stack. Explained difference from Breakpad's microdump_stackwalk.
    for name in ["microdump-arm.dmp", "microdump-arm64.dmp"] {
        let bytes = read(&testdata(&format!("breakpad/processor-testdata/{name}")));
        let out = walk_blocking(&bytes, None, None).await;
        assert_eq!(out.return_code, 1, "{name}");
        assert!(out.json_dump.is_none());
        assert_eq!(out.status, "ERROR_MINIDUMP_READ");
    }
}
