#![no_main]
//! Arbitrary query strings as Super Search parameters: parsing must never
//! panic, and every rejection must be a 400-style `BadParam`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let params: Vec<(String, String)> = text
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.to_string(), String::new()),
        })
        .collect();
    let fields = search::Fields::builtin();
    if let Err(e) = search::SearchQuery::parse(&params, &fields, chrono::Utc::now()) {
        assert!(e.is_bad_request(), "{e:?}");
    }
});
