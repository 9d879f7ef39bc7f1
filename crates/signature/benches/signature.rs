//! Signatures per second for a 40-frame C++/Rust stack
//! (`cargo bench -p signature`). Target: at least 200,000/s on one core.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use signature::{CrashData, SigLists, SignatureGenerator};

#[path = "common/forty_frames.rs"]
mod forty_frames;
use forty_frames::forty_frames;

fn bench(c: &mut Criterion) {
    let crash = CrashData::from_processed_crash(&forty_frames());
    let mozilla_dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/socorro/siglists"
    );
    let mut generators = vec![(
        "generic lists",
        SignatureGenerator::generic().unwrap_or_else(|e| panic!("{e}")),
    )];
    if let Ok(lists) = SigLists::load_dir(mozilla_dir) {
        generators.push(("mozilla lists", SignatureGenerator::new(lists)));
    }
    let mut group = c.benchmark_group("signature/40 frames");
    group.throughput(Throughput::Elements(1));
    for (name, generator) in &generators {
        group.bench_function(*name, |b| {
            b.iter(|| generator.generate(std::hint::black_box(&crash)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
