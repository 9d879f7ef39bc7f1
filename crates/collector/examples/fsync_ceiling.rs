//! The disk's own ceiling for the collector benchmark: how many durable
//! 300 KB file writes per second `concurrency` writers achieve, each file
//! made durable on its own the way crash storage does without its journal
//! (temp file written with `O_DIRECT` and fdatasync'd, rename, dir fsync),
//! or with `buffered` as a plain buffered write + fdatasync.
//!
//! `cargo run --release --example fsync_ceiling -- <dir> [seconds] [concurrency] [bytes] [direct|buffered]`
//! prints `writes/s`. The files are left for the caller to remove: deleting
//! them here would tax a measurement that follows (ext4 without a journal
//! skips recently freed inodes on every create).

use std::fs::File;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(
        args.get(1)
            .map(String::as_str)
            .unwrap_or("/tmp/fsync-ceiling"),
    );
    let seconds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let concurrency: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(32);
    let size: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(300_000);
    let direct = args.get(5).map(String::as_str) != Some("buffered");
    std::fs::create_dir_all(&dir)?;
    let data: Arc<Vec<u8>> = Arc::new((0..size).map(|i| (i * 131 % 251) as u8).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for t in 0..concurrency {
        let (dir, data, stop, count) = (dir.clone(), data.clone(), stop.clone(), count.clone());
        threads.push(std::thread::spawn(move || -> std::io::Result<()> {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let tmp = dir.join(format!(".w{t}-{i}.tmp"));
                let dst = dir.join(format!("w{t}-{i}"));
                if direct {
                    crash_storage::fs::write_direct(&tmp, &data)?;
                } else {
                    let mut f = File::create(&tmp)?;
                    f.write_all(&data)?;
                    f.sync_data()?;
                }
                std::fs::rename(&tmp, &dst)?;
                File::open(&dir)?.sync_all()?;
                // Files are kept until the end: deleting them here would make
                // ext4 skip recently freed inodes on every later create.
                count.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
            Ok(())
        }));
    }
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join()
            .map_err(|_| std::io::Error::other("writer panicked"))??;
    }
    let rate = count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    println!("{rate:.0}");
    Ok(())
}
