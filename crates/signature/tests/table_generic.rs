//! The project's generic signature lists (`siglists/`, embedded) on typical
//! C, C++, Rust, Windows, Chromium and Node.js stacks
//! (`tests/data/generic_cases.json`).
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: panics are failures

mod common;

#[test]
fn cases_with_generic_lists() {
    let n = common::run_table("generic_cases.json", 30);
    eprintln!("{n} table cases passed");
}
