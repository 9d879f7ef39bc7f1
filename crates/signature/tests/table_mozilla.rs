//! Socorro's own signature test cases, restated as a table
//! (`tests/data/mozilla_cases.json`: processed crash in, signature, notes
//! and proto signature out), run with Mozilla's production signature lists
//! from `shared/testdata/socorro/siglists` (and, for the CSignatureTool
//! cases, the small lists Socorro's tests configure, in `tests/data/`).
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: panics are failures

mod common;

#[test]
fn socorro_cases_with_mozilla_lists() {
    let n = common::run_table("mozilla_cases.json", 80);
    eprintln!("{n} table cases passed");
}
