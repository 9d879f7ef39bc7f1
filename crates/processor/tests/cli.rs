//! `socorro process` / `socorro reprocess` entry points.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use clap::Parser;
use common::testdata;
use crash_queue::QueueName;
use processor::cli::{ProcessArgs, ReprocessArgs, run_process, run_reprocess};
use processor::{Config, RulesetName};
use serde_json::Value;

#[derive(Parser)]
struct ProcessCmd {
    #[command(flatten)]
    args: ProcessArgs,
}

#[derive(Parser)]
struct ReprocessCmd {
    #[command(flatten)]
    args: ReprocessArgs,
}

fn config(dir: &std::path::Path) -> Config {
    let mut cfg = Config {
        data_dir: dir.to_owned(),
        ..Config::default()
    };
    cfg.processor.ruleset = RulesetName::Mozilla;
    cfg
}

#[tokio::test]
async fn process_a_dump_file_prints_the_processed_crash() {
    let dir = tempfile::tempdir().unwrap();
    let extra = dir.path().join("x.extra");
    std::fs::write(&extra, r#"{"ProductName":"Firefox","Version":"100.0"}"#).unwrap();
    let dump = testdata("rust-minidump/testdata/test.dmp");
    let symbols = testdata("rust-minidump/testdata/symbols");
    let cmd = ProcessCmd::try_parse_from([
        "process",
        "--dump",
        dump.to_str().unwrap(),
        "--extra",
        extra.to_str().unwrap(),
        "--symbols-path",
        symbols.to_str().unwrap(),
    ])
    .unwrap();
    let mut out = Vec::new();
    run_process(config(dir.path()), cmd.args, &mut out)
        .await
        .unwrap();
    let pc: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(pc["product"], "Firefox");
    assert_eq!(pc["major_version"], 100);
    assert_eq!(pc["signature"], "(anonymous namespace)::CrashFunction");
    assert_eq!(pc["crashing_thread"], 0);
}

#[tokio::test]
async fn process_args_need_an_id_or_a_dump() {
    assert!(ProcessCmd::try_parse_from(["process"]).is_err());
    assert!(ProcessCmd::try_parse_from(["process", "--extra", "x"]).is_err());
    assert!(
        ProcessCmd::try_parse_from(["process", "de1bb258-cbbf-4589-a673-34f800160918"]).is_ok()
    );
    let dir = tempfile::tempdir().unwrap();
    let cmd =
        ProcessCmd::try_parse_from(["process", "de1bb258-cbbf-4589-a673-34f800160918"]).unwrap();
    let err = run_process(config(dir.path()), cmd.args, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("not found"), "{err:#}");
}

#[tokio::test]
async fn reprocess_publishes_to_the_reprocessing_queue() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = ReprocessCmd::try_parse_from([
        "reprocess",
        "de1bb258-cbbf-4589-a673-34f800160918",
        "bp-de1bb258-cbbf-4589-a673-34f800160919:regenerate_signature",
    ])
    .unwrap();
    let mut out = Vec::new();
    run_reprocess(config(dir.path()), cmd.args, &mut out)
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap().trim(),
        "published 2 crash id(s) to reprocessing"
    );
    let queue = crash_queue::config::build(&Default::default(), dir.path())
        .await
        .unwrap();
    let got = queue
        .pull(
            QueueName::Reprocessing,
            10,
            std::time::Duration::from_secs(5),
        )
        .await
        .unwrap();
    let mut data: Vec<String> = got.into_iter().map(|m| m.data).collect();
    data.sort();
    assert_eq!(
        data,
        [
            "de1bb258-cbbf-4589-a673-34f800160918",
            "de1bb258-cbbf-4589-a673-34f800160919:regenerate_signature"
        ]
    );
}
