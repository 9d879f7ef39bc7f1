//! Any JSON document treated as a processed crash must not panic, and the
//! signature must stay within the length cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn generator() -> &'static signature::SignatureGenerator {
    static G: OnceLock<signature::SignatureGenerator> = OnceLock::new();
    G.get_or_init(|| match signature::SignatureGenerator::generic() {
        Ok(g) => g,
        Err(e) => panic!("generic lists: {e}"),
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let result = generator().generate_for_processed_crash(&value);
        assert!(result.signature.chars().count() <= signature::SIGNATURE_MAX_LENGTH);
    }
});
