#![no_main]
//! Arbitrary bytes as a submission body: the parser must never panic or hang.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (ct, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (String::from_utf8_lossy(&data[..i]).into_owned(), data[i + 1..].to_vec()),
        None => (String::new(), data.to_vec()),
    };
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    if let Ok(boundary) = collector::extract::boundary_from_content_type(Some(&ct)) {
        let _ = rt.block_on(collector::extract::extract_payload(body.into(), &boundary));
    }
});
