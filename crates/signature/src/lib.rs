#![doc = include_str!("../README.md")]

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
pub use result::{DebugEntry, Extra, NormalizedFrames, SignatureResult};
pub use rules::rule_names;
pub use siglists::{SigListError, SigLists};
