//! Property tests: arbitrary frames and annotations never panic, and the
//! signature is always printable ASCII, trimmed, single-spaced and at most
//! 255 characters.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: panics are failures

mod common;

use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{Value, json};
use signature::{CrashData, SIGNATURE_MAX_LENGTH, SignatureGenerator};

fn generators() -> &'static [SignatureGenerator; 2] {
    static GENERATORS: OnceLock<[SignatureGenerator; 2]> = OnceLock::new();
    GENERATORS.get_or_init(|| {
        [
            common::generator("mozilla"),
            SignatureGenerator::generic().expect("generic lists"),
        ]
    })
}

/// Strings made of the pieces the normaliser cares about, plus arbitrary text.
fn tricky_string() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("<".to_owned()),
        Just(">".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("`".to_owned()),
        Just("'".to_owned()),
        Just(" ".to_owned()),
        Just("::".to_owned()),
        Just(",".to_owned()),
        Just("*".to_owned()),
        Just("&".to_owned()),
        Just("const".to_owned()),
        Just("operator".to_owned()),
        Just("IPC::ParamTraits<".to_owned()),
        Just("::$_12::".to_owned()),
        Just("[clone .cold.1]".to_owned()),
        Just("`anonymous namespace'".to_owned()),
        Just(" as ".to_owned()),
        Just(" in ".to_owned()),
        Just("::h0123abcd".to_owned()),
        Just("RunWatchdog".to_owned()),
        Just("NS_ABORT_OOM".to_owned()),
        Just("memcpy".to_owned()),
        Just("core::panicking::panic".to_owned()),
        Just(".dll".to_owned()),
        Just("\u{1f600}".to_owned()),
        Just("\t\n\u{0}".to_owned()),
        "[a-zA-Z_]{1,12}",
        any::<String>(),
    ];
    prop::collection::vec(token, 0..12).prop_map(|parts| parts.concat())
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        tricky_string().prop_map(Value::String),
        any::<i64>().prop_map(|i| json!(i)),
        any::<bool>().prop_map(|b| json!(b)),
        (-1e20f64..1e20).prop_map(|f| json!(f)),
        Just(json!([1, "x"])),
        Just(json!({"name": "x"})),
    ]
}

fn frame() -> impl Strategy<Value = Value> {
    (
        prop::option::of(tricky_string()),
        prop::option::of(tricky_string()),
        prop::option::of(prop_oneof![
            tricky_string(),
            Just("hg:hg.mozilla.org/a:src/lib.rs:abc".to_owned()),
            Just("/a/b/c.rs".to_owned()),
            Just("c:\\a\\b.cpp".to_owned()),
        ]),
        scalar(),
        prop::option::of(prop_oneof!["0x[0-9a-f]{0,20}", tricky_string()]),
        prop::collection::vec((prop::option::of(tricky_string()), scalar()), 0..3),
        prop::option::of(tricky_string()),
    )
        .prop_map(
            |(module, function, file, line, offset, inlines, unloaded)| {
                let inlines: Vec<Value> = inlines
                    .into_iter()
                    .map(|(f, l)| json!({"function": f, "line": l, "file": "x.rs"}))
                    .collect();
                let mut frame = json!({
                    "module": module, "function": function, "file": file,
                    "line": line, "offset": offset, "inlines": inlines,
                });
                if let Some(u) = unloaded {
                    frame["unloaded_modules"] = json!([{"module": u}]);
                }
                frame
            },
        )
}

fn processed_crash() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(prop::collection::vec(frame(), 0..45), 0..3),
        scalar(),
        prop::option::of(prop_oneof![
            Just("EXCEPTION_STACK_OVERFLOW".to_owned()),
            Just("STATUS_NO_MEMORY".to_owned()),
            Just("X / STATUS_DEVICE_DATA_ERROR".to_owned()),
            tricky_string(),
        ]),
        prop::collection::vec(scalar(), 9),
        prop::option::of(prop_oneof![
            Just(r#"{"phase": "p", "conditions": [{"name": "b"}, "a", 3]}"#.to_owned()),
            tricky_string(),
        ]),
    )
        .prop_map(|(threads, crashing_thread, reason, ann, shutdown)| {
            let threads: Vec<Value> = threads.into_iter().map(|f| json!({"frames": f})).collect();
            json!({
                "json_dump": {
                    "crash_info": {"crashing_thread": crashing_thread, "type": reason},
                    "threads": threads,
                    "system_info": {"os": "Windows NT"},
                },
                "hang": ann[0],
                "oom_allocation_size": ann[1],
                "js_large_allocation_failure": ann[2],
                "abort_message": ann[3],
                "mdsw_status_string": ann[4],
                "ipc_channel_error": ann[5],
                "ipc_message_name": ann[6],
                "java_stack_trace": if ann[7].is_string() && ann[8].is_null() { ann[7].clone() } else { Value::Null },
                "async_shutdown_timeout": shutdown,
                "additional_minidumps": ["upload_file_minidump_browser"],
            })
        })
}

fn check(signature: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        signature.chars().count() <= SIGNATURE_MAX_LENGTH,
        "{signature:?}"
    );
    prop_assert!(
        signature.bytes().all(|b| (b' '..=b'~').contains(&b)),
        "{signature:?}"
    );
    prop_assert_eq!(signature.trim(), signature);
    prop_assert!(!signature.contains("  "), "{:?}", signature);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_crashes_never_panic(pc in processed_crash()) {
        let crash = CrashData::from_processed_crash(&pc);
        for generator in generators() {
            let result = generator.generate(&crash);
            check(&result.signature)?;
            if let Some(frames) = result.extra.normalized_frames() {
                prop_assert!(frames.len() <= signature::MAXIMUM_FRAMES_TO_CONSIDER);
            }
        }
    }

    #[test]
    fn arbitrary_java_never_panics(trace in tricky_string(), exception in scalar()) {
        for pc in [json!({"java_stack_trace": trace}), json!({"java_exception": {"exception": {"values": [{"stacktrace": exception}]}}})] {
            for generator in generators() {
                check(&generator.generate_for_processed_crash(&pc).signature)?;
            }
        }
    }
}

#[test]
fn deeply_nested_templates_do_not_overflow_the_stack() {
    let function = "IPC::ParamTraits<".repeat(1000);
    let pc = json!({"json_dump": {"threads": [{"frames": [{"function": function}]}]}});
    for generator in generators() {
        let result = generator.generate_for_processed_crash(&pc);
        assert!(result.signature.len() <= SIGNATURE_MAX_LENGTH);
        assert!(
            result.notes.iter().any(|n| n.contains("Rule failed")),
            "{:?}",
            result.notes
        );
    }
}
