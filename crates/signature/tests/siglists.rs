//! Loading signature lists (Socorro's `test_siglists.py`, restated).
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: panics are failures

mod common;

use signature::{SigListError, SigLists};

#[test]
fn mozilla_lists_load_without_comments() {
    let lists = SigLists::load_dir(common::mozilla_dir()).expect("loads");
    for entries in [
        lists.irrelevant_entries(),
        lists.prefix_entries(),
        lists.sentinels(),
        lists.line_number_entries(),
    ] {
        assert!(!entries.is_empty());
        for e in entries {
            assert!(!e.is_empty() && !e.starts_with('#'), "{e:?}");
        }
    }
    assert!(lists.sentinels().iter().any(|s| s == "_purecall"));
    assert_eq!(lists.line_number_entries(), ["js_Interpret"]);
}

#[test]
fn generic_lists_load_and_are_documented() {
    let lists = SigLists::generic().expect("generic lists compile");
    assert!(lists.irrelevant_entries().len() > 50);
    assert!(lists.prefix_entries().len() > 50);
    // Every entry has a comment somewhere above it in its file (the files are
    // grouped: a comment line heads each group of entries).
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../siglists");
    for name in [
        "irrelevant_signature_re",
        "prefix_signature_re",
        "signature_sentinels",
        "signatures_with_line_numbers_re",
    ] {
        let text = std::fs::read_to_string(format!("{dir}/{name}.txt")).expect("readable");
        let mut previous_blank = true;
        for line in text.lines() {
            let t = line.trim();
            if t.is_empty() {
                previous_blank = true;
                continue;
            }
            assert!(
                !previous_blank || t.starts_with('#'),
                "{name}: entry {t:?} starts a group without a comment"
            );
            previous_blank = false;
        }
    }
    // The directory loads the same way as the embedded copy.
    let from_dir = SigLists::load_dir(dir).expect("loads from disk");
    assert_eq!(from_dir.prefix_entries(), lists.prefix_entries());
}

#[test]
fn valid_entries() {
    let dir = common::testdata().join("socorro/siglists/tests");
    let text = std::fs::read_to_string(dir.join("test-valid-sig-list.txt")).expect("readable");
    let lists = SigLists::from_texts("fixture", [&text, "x", "x", "x"]).expect("valid");
    assert_eq!(
        lists.irrelevant_entries(),
        ["fooBarStuff", "moz::.*", "@0x[0-9a-fA-F]{2,}"]
    );
}

#[test]
fn invalid_entry_names_file_and_line() {
    let src = common::testdata().join("socorro/siglists/tests");
    let tmp = std::env::temp_dir().join(format!("siglists-invalid-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp dir");
    for name in [
        "prefix_signature_re",
        "signature_sentinels",
        "signatures_with_line_numbers_re",
    ] {
        std::fs::write(tmp.join(format!("{name}.txt")), "ok\n").expect("write");
    }
    std::fs::copy(
        src.join("test-invalid-sig-list.txt"),
        tmp.join("irrelevant_signature_re.txt"),
    )
    .expect("copy");
    let err = SigLists::load_dir(&tmp).expect_err("bad regex");
    let _ = std::fs::remove_dir_all(&tmp);
    let msg = err.to_string();
    assert!(
        matches!(err, SigListError::BadRegex { line_index: 3, .. }),
        "{err:?}"
    );
    assert!(msg.starts_with("Regex error: "), "{msg}");
    assert!(msg.ends_with("at line 3"), "{msg}");
    assert!(msg.contains("irrelevant_signature_re.txt"), "{msg}");
}

#[test]
fn unsupported_python_syntax_is_an_error() {
    for bad in [r"(?=look)ahead", r"(a)\1", r"a++"] {
        let err = SigLists::from_entries("mem", &[bad], &["p"], &["s"], &["l"]).expect_err(bad);
        assert!(
            err.to_string().contains("mem/irrelevant_signature_re.txt"),
            "{err}"
        );
    }
}

#[test]
fn missing_directory_is_an_io_error() {
    let err = SigLists::load_dir("/nonexistent/siglists").expect_err("missing");
    assert!(matches!(err, SigListError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("irrelevant_signature_re.txt"));
}

#[test]
fn empty_list_matches_everything_like_socorro() {
    // Socorro compiles "" for an empty list, which matches every frame: with
    // an empty irrelevant list every frame is skipped and the first frame is
    // used.
    let lists = SigLists::from_entries("mem", &[], &["p"], &["s"], &["l"]).expect("compiles");
    let generator = signature::SignatureGenerator::new(lists);
    let crash = serde_json::json!({"json_dump": {"threads": [{"frames": [
        {"function": "first"}, {"function": "second"}
    ]}]}});
    assert_eq!(
        generator.generate_for_processed_crash(&crash).signature,
        "first"
    );
}
