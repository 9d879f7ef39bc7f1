//! Single-core throughput check without criterion: prints signatures per
//! CPU-second for the 40-frame benchmark stack.
use signature::{CrashData, SigLists, SignatureGenerator};

#[path = "../benches/common/forty_frames.rs"]
mod forty_frames;
use forty_frames::forty_frames;

fn main() {
    let crash = CrashData::from_processed_crash(&forty_frames());
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/socorro/siglists"
    );
    let generator =
        SignatureGenerator::new(SigLists::load_dir(dir).unwrap_or_else(|e| panic!("{e}")));
    let n = 200_000;
    let start = std::time::Instant::now();
    let mut total = 0;
    for _ in 0..n {
        total += generator
            .generate(std::hint::black_box(&crash))
            .signature
            .len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} signatures in {secs:.3}s wall: {:.0}/s (checksum {total})",
        f64::from(n) / secs
    );
    let mut one = forty_frames();
    if let Some(frames) = one["json_dump"]["threads"][0]["frames"].as_array_mut() {
        frames.truncate(
            std::env::args()
                .nth(1)
                .and_then(|a| a.parse().ok())
                .unwrap_or(6),
        );
    }
    let crash = CrashData::from_processed_crash(&one);
    let start = std::time::Instant::now();
    for _ in 0..n {
        total += generator
            .generate(std::hint::black_box(&crash))
            .signature
            .len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "short stack: {:.0}/s (checksum {total})",
        f64::from(n) / secs
    );
}
