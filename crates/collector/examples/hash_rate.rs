//! This machine's CPU speed, for the collector benchmark: how fast one core
//! computes the SHA-256 of a 300 KB dump with the code the collector uses
//! for `dump_checksums` (the largest single CPU cost of a crash). Cloud
//! machines of one kind differ from one to the next; this figure tells a
//! slow run on a slow CPU from a slower collector.
//!
//! `cargo run --release --example hash_rate -- [seconds] [bytes]` prints
//! `MB/s` (decimal megabytes of dump hashed per second).

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let size: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(300_000);
    let data: Vec<u8> = (0..size).map(|i| (i * 131 % 251) as u8).collect();
    let budget = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut hashed = 0usize;
    while started.elapsed() < budget {
        std::hint::black_box(Sha256::digest(std::hint::black_box(&data)));
        hashed += data.len();
    }
    let rate = hashed as f64 / started.elapsed().as_secs_f64() / 1e6;
    println!("{}", rate.round());
}
