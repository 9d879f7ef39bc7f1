//! The project's generic signature lists (`siglists/`, embedded) on
//! Chrome, Electron, V8 and Node.js stacks as Crashpad clients report them
//! (`tests/data/chromium_electron_cases.json`): CHECK/LOG(FATAL) plumbing,
//! DumpWithoutCrashing, PartitionAlloc and V8 out-of-memory, Node.js fatal
//! errors, and platform abort paths.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: panics are failures

mod common;

#[test]
fn chromium_and_electron_stacks_with_generic_lists() {
    let n = common::run_table("chromium_electron_cases.json", 20);
    eprintln!("{n} table cases passed");
}
