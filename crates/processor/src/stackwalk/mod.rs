//! The stackwalk: `minidump-processor` in-process, bounded by a time
//! budget, producing Socorro's `json_dump` (the same JSON as
//! `minidump-stackwalk --json`).

mod walk;

pub use walk::{STACKWALK_VERSION, WalkOutput, stackwalk, walk_blocking};
