//! Crash signature generation, compatible with Socorro's
//! `socorro/signature/` (the rules, their order, the signature lists and
//! their Python regex syntax).
//!
//! The crate is pure: [`SignatureGenerator::generate`] takes a
//! [`CrashData`] and returns a [`SignatureResult`] (signature, notes, rule
//! trace, proto signature). The only IO is [`SigLists::load_dir`].
//!
//! ```
//! use signature::{CrashData, SignatureGenerator};
//!
//! let generator = SignatureGenerator::generic()?;
//! let processed: serde_json::Value = serde_json::json!({
//!     "json_dump": {
//!         "crash_info": {"crashing_thread": 0, "type": "SIGSEGV"},
//!         "threads": [{"frames": [
//!             {"function": "raise", "module": "libc.so.6"},
//!             {"function": "my_app::do_work(int)", "module": "app"},
//!         ]}],
//!     },
//! });
//! let result = generator.generate(&CrashData::from_processed_crash(&processed));
//! assert_eq!(result.signature, "my_app::do_work");
//! # Ok::<(), signature::SigListError>(())
//! ```

mod c_tool;
pub mod cli;
mod crash_data;
mod generator;
mod java;
mod normalize;
mod py;
mod pyre;
mod result;
mod rules;
mod siglists;

pub use crash_data::{CrashData, Frame, InlineFrame, Thread, UnloadedModule};
pub use generator::{Quirks, SIGNATURE_MAX_LENGTH, SignatureGenerator};
pub use normalize::{
    MAXIMUM_FRAMES_TO_CONSIDER, normalize_function, normalize_single_frame, parse_source_file,
};
pub use py::Scalar;
pub use result::{DebugEntry, Extra, SignatureResult};
pub use rules::rule_names;
pub use siglists::{SigListError, SigLists};
