//! Shared helpers for the signature integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;
use signature::{SigLists, SignatureGenerator, SignatureResult};

/// `shared/testdata` beside the repository.
pub fn testdata() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata"
    ))
}

/// Mozilla's production signature lists.
pub fn mozilla_dir() -> PathBuf {
    testdata().join("socorro/siglists")
}

/// This crate's test data.
pub fn data() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data"))
}

/// A generator for a table's `lists` name.
pub fn generator(lists: &str) -> SignatureGenerator {
    let sig_lists = match lists {
        "mozilla" => SigLists::load_dir(mozilla_dir())
            .map(|l| l.named("signature lists from shared/testdata/socorro/siglists")),
        "generic" => SigLists::generic(),
        "test" => SigLists::load_dir(data().join("test-siglists")),
        "walk" => SigLists::load_dir(data().join("walk-siglists")),
        "walk2" => SigLists::load_dir(data().join("walk-siglists-2")),
        other => panic!("unknown lists {other}"),
    };
    SignatureGenerator::new(sig_lists.expect("signature lists load"))
}

/// One row of a table: processed crash in, signature (and optionally notes
/// and proto signature) out.
pub struct Case {
    pub name: String,
    pub group: String,
    pub lists: String,
    pub crash: Value,
    pub signature: String,
    pub notes: Option<Vec<String>>,
    pub proto_signature: Option<String>,
}

pub fn load_table(file: &str) -> Vec<Case> {
    let text = std::fs::read_to_string(data().join(file)).expect("table readable");
    let rows: Vec<Value> = serde_json::from_str(&text).expect("table is JSON");
    rows.into_iter()
        .map(|row| Case {
            name: row["name"].as_str().expect("name").to_owned(),
            group: row["group"].as_str().unwrap_or_default().to_owned(),
            lists: row["lists"].as_str().expect("lists").to_owned(),
            crash: row["crash"].clone(),
            signature: row["signature"].as_str().expect("signature").to_owned(),
            notes: row.get("notes").map(|n| {
                n.as_array()
                    .expect("notes array")
                    .iter()
                    .map(|s| s.as_str().expect("note").to_owned())
                    .collect()
            }),
            proto_signature: row
                .get("proto_signature")
                .map(|p| p.as_str().expect("proto").to_owned()),
        })
        .collect()
}

/// Runs every row, collecting all failures, and panics listing them.
pub fn run_table(file: &str, min_cases: usize) -> usize {
    let cases = load_table(file);
    assert!(
        cases.len() >= min_cases,
        "{file}: only {} cases",
        cases.len()
    );
    let mut generators = std::collections::HashMap::new();
    let mut failures = Vec::new();
    for case in &cases {
        let generator = generators
            .entry(case.lists.clone())
            .or_insert_with(|| generator(&case.lists));
        let result: SignatureResult = generator.generate_for_processed_crash(&case.crash);
        let label = format!("[{}] {}", case.group, case.name);
        if result.signature != case.signature {
            failures.push(format!(
                "{label}: signature\n    expected {:?}\n    got      {:?}",
                case.signature, result.signature
            ));
        }
        if let Some(notes) = &case.notes
            && &result.notes != notes
        {
            failures.push(format!(
                "{label}: notes\n    expected {notes:?}\n    got      {:?}",
                result.notes
            ));
        }
        if let Some(proto) = &case.proto_signature
            && result.extra.proto_signature() != Some(proto.as_str())
        {
            failures.push(format!(
                "{label}: proto_signature\n    expected {proto:?}\n    got      {:?}",
                result.extra.proto_signature()
            ));
        }
        assert!(result.signature.len() <= signature::SIGNATURE_MAX_LENGTH);
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    cases.len()
}
