//! Property tests: the submission parser never panics on arbitrary bytes, and
//! round-trips what a well-behaved client sends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use collector::client::Submission;
use collector::extract::{boundary_from_content_type, extract_payload, sanitize_dump_name};
use proptest::prelude::*;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..4096), boundary in "[ -~]{1,70}") {
        let _ = block_on(extract_payload(body.into(), &boundary));
    }

    #[test]
    fn mutated_submissions_never_panic(
        cut in 0usize..2000,
        flip in proptest::collection::vec((0usize..2000, any::<u8>()), 0..8),
    ) {
        let sub = Submission::with_boundary("xyz")
            .annotation("ProductName", "Test")
            .json_extra(r#"{"a": 1}"#)
            .dump("upload_file_minidump", vec![1u8; 500]);
        let mut body = sub.body();
        for (i, b) in flip {
            let n = body.len();
            body[i % n] = b;
        }
        body.truncate(cut.min(body.len()));
        let _ = block_on(extract_payload(body.into(), "xyz"));
    }

    #[test]
    fn arbitrary_content_types_never_panic(ct in ".{0,200}") {
        let _ = boundary_from_content_type(Some(&ct));
    }

    #[test]
    fn sanitised_names_are_safe(name in ".{0,300}") {
        if let Ok(clean) = sanitize_dump_name(&name) {
            prop_assert!(clean.len() <= 30);
            prop_assert!(clean.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        }
    }

    #[test]
    fn well_formed_submissions_round_trip(
        annotations in proptest::collection::btree_map("[A-Za-z][A-Za-z0-9_]{0,20}", "[ -~]{0,50}", 1..10),
        dump in proptest::collection::vec(any::<u8>(), 0..2000),
    ) {
        let mut sub = Submission::new();
        for (k, v) in &annotations {
            sub = sub.annotation(k.clone(), v.clone());
        }
        sub = sub.dump("upload_file_minidump", dump.clone());
        let ct = sub.content_type();
        let boundary = boundary_from_content_type(Some(&ct)).unwrap();
        let got = block_on(extract_payload(sub.body().into(), &boundary)).unwrap();
        prop_assert_eq!(got.annotations.len(), annotations.len());
        for (k, v) in &annotations {
            prop_assert_eq!(got.annotations[k].as_str(), Some(v.as_str()));
        }
        prop_assert_eq!(got.dumps.get("upload_file_minidump").map(|d| d.to_vec()), Some(dump));
        prop_assert!(got.notes.is_empty());
    }
}
