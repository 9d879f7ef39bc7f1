//! Profiling driver: generates the 40-frame benchmark signature N times.
//!
//! `profile_driver <generic|mozilla> <N> [unique]`; run under
//! `valgrind --tool=callgrind` with two values of N and divide the
//! difference in instructions by the difference in N for a per-signature
//! cost that excludes list loading and regex warm-up.
use signature::{CrashData, SigLists, SignatureGenerator};

#[path = "../benches/common/forty_frames.rs"]
mod forty_frames;
use forty_frames::forty_frames;

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "mozilla".to_owned());
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let generator = if which == "generic" {
        SignatureGenerator::generic().unwrap_or_else(|e| panic!("{e}"))
    } else {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/testdata/socorro/siglists"
        );
        SignatureGenerator::new(SigLists::load_dir(dir).unwrap_or_else(|e| panic!("{e}")))
    };
    let mut pc = forty_frames();
    // `unique`: give every frame its own function (no repeats in the stack).
    if args.next().as_deref() == Some("unique")
        && let Some(frames) = pc["json_dump"]["threads"][0]["frames"].as_array_mut()
    {
        for (i, frame) in frames.iter_mut().enumerate() {
            if let Some(f) = frame["function"].as_str() {
                frame["function"] = format!("u{i}{f}").into();
            }
        }
    }
    let crash = CrashData::from_processed_crash(&pc);
    // Warm up the regex caches so the measured loop is steady-state.
    let first = generator.generate(&crash);
    let mut total = 0usize;
    for _ in 0..n {
        total += generator
            .generate(std::hint::black_box(&crash))
            .signature
            .len();
    }
    println!(
        "{which} n={n} signature={:?} checksum={total}",
        first.signature
    );
}
