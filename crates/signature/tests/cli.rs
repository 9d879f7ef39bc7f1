//! The `socorro signature` command logic (`signature::cli`).
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: panics are failures

mod common;

use signature::cli::{self, OutputFormat, SignatureArgs};

const CRASH: &str = r#"{"uuid": "0b794045-87ec-4649-9ce1-73ec10191120", "signature": "old",
  "json_dump": {"crash_info": {"crashing_thread": 0},
  "threads": [{"frames": [{"function": "raise"}, {"function": "abort"}, {"function": "app::run(int)"}]}]}}"#;

fn run(args: &SignatureArgs, stdin: &str) -> String {
    let mut out = Vec::new();
    let code = cli::run(args, &mut stdin.as_bytes(), &mut out).expect("runs");
    assert_eq!(code, 0);
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn text_from_stdin_with_generic_lists() {
    let out = run(&SignatureArgs::default(), CRASH);
    assert!(
        out.starts_with("<stdin> (0b794045-87ec-4649-9ce1-73ec10191120)\n"),
        "{out}"
    );
    assert!(out.contains("  signature: abort | app::run\n"), "{out}");
    assert!(out.contains("  original:  old  (changed)\n"), "{out}");
    assert!(!out.contains("debug:"), "{out}");
}

#[test]
fn json_lines_with_debug_and_several_documents() {
    let args = SignatureArgs {
        format: OutputFormat::Json,
        debug: true,
        signature_list_dir: Some(common::mozilla_dir()),
        ..SignatureArgs::default()
    };
    let out = run(&args, &format!("{CRASH}\n{CRASH}\n"));
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["source"], "<stdin>#2");
    // Mozilla's lists: raise and abort are prefixes.
    assert_eq!(lines[0]["signature"], "raise | abort | app::run");
    assert_eq!(lines[0]["changed"], true);
    let debug = lines[0]["debug_log"].as_array().expect("debug log");
    assert!(debug.iter().any(|d| {
        d.as_str()
            .unwrap()
            .starts_with("SignatureGenerationRule: prefix; continue iterating")
    }));
}

#[test]
fn files_and_different_only() {
    let dir = std::env::temp_dir().join(format!("sig-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let same = dir.join("same.json");
    let changed = dir.join("changed.json");
    std::fs::write(&same, CRASH.replace(r#""old""#, r#""abort | app::run""#)).unwrap();
    std::fs::write(&changed, CRASH).unwrap();
    let args = SignatureArgs {
        inputs: vec![same.clone(), changed.clone()],
        different_only: true,
        ..SignatureArgs::default()
    };
    let out = run(&args, "");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!out.contains("same.json"), "{out}");
    assert!(out.contains("changed.json"), "{out}");
}

#[test]
fn errors_name_the_input() {
    let mut out = Vec::new();
    let err = cli::run(
        &SignatureArgs::default(),
        &mut "{not json".as_bytes(),
        &mut out,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("<stdin> is not valid JSON"),
        "{err}"
    );
    let args = SignatureArgs {
        inputs: vec!["/nonexistent/crash.json".into()],
        ..SignatureArgs::default()
    };
    let err = cli::run(&args, &mut "".as_bytes(), &mut out).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/crash.json"), "{err}");
    let args = SignatureArgs {
        signature_list_dir: Some("/nonexistent/lists".into()),
        ..SignatureArgs::default()
    };
    let err = cli::run(&args, &mut "{}".as_bytes(), &mut out).unwrap_err();
    assert!(
        err.to_string().contains("irrelevant_signature_re.txt"),
        "{err}"
    );
}
