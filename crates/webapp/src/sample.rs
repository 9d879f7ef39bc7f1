//! Synthetic crashes shaped like Socorro's processed crashes, for tests, the
//! UI test, `make bench-webapp` and demos. Deterministic in `n`.

use chrono::{DateTime, Duration, Utc};
use crash_storage::{CrashId, RawCrash, ThrottleDigit};
use serde_json::{Value, json};

/// Signatures the samples use (a long tail: low indexes are frequent).
pub const SIGNATURES: &[&str] = &[
    "OOM | small",
    "mozilla::dom::Element::GetAttr",
    "js::gc::GCRuntime::collect",
    "nsThread::ProcessNextEvent",
    "IPCError-browser | ShutDownKill",
    "shutdownhang | nsThread::Shutdown",
    "core::panicking::panic | webrender::renderer::Renderer::render",
    "libxul.so@0x1c2f3a4",
    "mozilla::ipc::MessageChannel::Send",
    "nsGlobalWindowInner::Focus",
    "EMPTY: no crashing thread identified; ERROR_NO_MINIDUMP_HEADER",
    "arena_dalloc | free | mozilla::dom::Promise::Resolve",
];

pub const VERSIONS: &[&str] = &["121.0", "121.0b3", "120.0.1", "122.0a1"];
pub const PLATFORMS: &[(&str, &str)] = &[
    ("Windows NT", "10.0.19045"),
    ("Linux", "6.1.0-13-amd64"),
    ("Mac OS X", "14.1.1 23B81"),
];

fn pick<T: Copy>(items: &[T], n: u64, salt: u64) -> T {
    let h = n
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(17)
        .wrapping_add(salt.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    // skew towards the first items
    let idx = usize::try_from((h % 1000) * (h % 1000) / 1000 * items.len() as u64 / 1000)
        .unwrap_or(0)
        .min(items.len() - 1);
    items[idx]
}

/// A crash id for sample `n` submitted on `when`'s date (stable in `n`).
pub fn crash_id(n: u64, when: DateTime<Utc>) -> CrashId {
    let text = format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:05x}{}{}",
        (n.wrapping_mul(2_654_435_761)) & 0xffff_ffff,
        n & 0xffff,
        (n >> 16) & 0xfff,
        (n >> 28) & 0xfff,
        (n >> 40) & 0xfffff,
        ThrottleDigit::Accept.as_char(),
        when.format("%y%m%d"),
    );
    CrashId::parse(&text)
        .unwrap_or_else(|_| CrashId::generate(ThrottleDigit::Accept, when.date_naive()))
}

/// Sample crash `n`, collected at `when`: its id, raw crash and processed crash.
pub fn crash(n: u64, when: DateTime<Utc>) -> (CrashId, RawCrash, Value) {
    let id = crash_id(n, when);
    let signature = pick(SIGNATURES, n, 1);
    let product = if n % 10 == 9 {
        "Thunderbird"
    } else {
        "Firefox"
    };
    let version = pick(VERSIONS, n, 2);
    let (os, os_version) = pick(PLATFORMS, n, 3);
    let channel = if version.contains('b') {
        "beta"
    } else if version.contains('a') {
        "nightly"
    } else {
        "release"
    };
    let build = format!("20231{:03}0{:05}", 100 + (n % 20), n % 100_000);
    let uptime = (n * 37) % 4000;
    let date = when.to_rfc3339_opts(chrono::SecondsFormat::Micros, false);
    let mut raw = RawCrash::new();
    raw.insert("ProductName", product);
    raw.insert("Version", version);
    raw.insert("BuildID", build.clone());
    raw.insert("ReleaseChannel", channel);
    raw.insert("URL", format!("https://private.example/{n}"));
    raw.insert(
        "Comments",
        format!("it crashed again, mail me at user{n}@example.com"),
    );
    raw.insert("uuid", id.as_str());
    raw.insert("submitted_timestamp", date.clone());
    let frame = |i: u64, func: &str, file: &str| {
        json!({
            "frame": i, "module": "xul.dll", "function": func, "file": file,
            "line": 100 + i, "offset": format!("0x{:x}", 0x7ff0_0000u64 + i * 16),
            "module_offset": format!("0x{:x}", 0x1000 + i * 16), "trust": if i == 0 { "context" } else { "cfi" },
            "registers": {"rip": "0x00007ff612345678", "rsp": "0x000000d1e2f3a4b5"},
        })
    };
    let funcs = signature.split(" | ").collect::<Vec<_>>();
    let crashing: Vec<Value> = (0..8u64)
        .map(|i| {
            let f = funcs
                .get(i as usize)
                .copied()
                .unwrap_or("mozilla::RunScriptLoop");
            frame(
                i,
                f,
                "hg:hg.mozilla.org/mozilla-central:dom/base/Element.cpp:abc",
            )
        })
        .collect();
    let other: Vec<Value> = (0..4u64)
        .map(|i| frame(i, "NtWaitForMultipleObjects", "ntdll.c"))
        .collect();
    let mut processed = json!({
        "uuid": id.as_str(),
        "crash_id": id.as_str(),
        "signature": signature,
        "product": product,
        "version": version,
        "release_channel": channel,
        "build": build,
        "date_processed": date,
        "completed_datetime": date,
        "os_name": os,
        "os_version": os_version,
        "os_pretty_version": format!("{os} {os_version}"),
        "cpu_arch": "amd64",
        "cpu_info": "family 6 model 158 stepping 10",
        "reason": if n.is_multiple_of(3) { "EXCEPTION_ACCESS_VIOLATION_READ" } else { "SIGSEGV /SEGV_MAPERR" },
        "address": format!("0x{:x}", n % 4096),
        "uptime": uptime,
        "install_age": uptime * 10,
        "process_type": if n.is_multiple_of(4) { "content" } else { "parent" },
        "startup_crash": uptime < 60,
        "url": format!("https://private.example/{n}"),
        "user_comments": format!("it crashed again, mail me at user{n}@example.com"),
        "processor_notes": "sample crash",
        "json_dump": {
            "crash_info": {"type": "EXCEPTION_ACCESS_VIOLATION_READ", "address": "0x0", "crashing_thread": 0},
            "crashing_thread": {"threads_index": 0, "frames": crashing.clone()},
            "threads": [
                {"thread_name": "MainThread", "frames": crashing},
                {"thread_name": "IPC I/O Parent", "frames": other},
            ],
            "modules": [
                {"filename": "xul.dll", "version": "121.0.0.8674", "debug_file": "xul.pdb",
                 "debug_id": "A1B2C3D4E5F60718293A4B5C6D7E8F901", "base_addr": "0x7ff000000000",
                 "end_addr": "0x7ff004000000", "loaded_symbols": true, "missing_symbols": false},
                {"filename": "ntdll.dll", "version": "10.0.19041.3636", "debug_file": "ntdll.pdb",
                 "debug_id": "0F1E2D3C4B5A69788796A5B4C3D2E1F01", "base_addr": "0x7ffa00000000",
                 "end_addr": "0x7ffa001f8000", "loaded_symbols": false, "missing_symbols": true},
            ],
        },
    });
    if signature.starts_with("shutdownhang") || signature.contains("ShutDownKill") {
        processed["shutdown_progress"] = json!("xpcom-shutdown");
    }
    (id, raw, processed)
}

/// Collection time of sample `n` of `total` spread over the `days` before `end`.
pub fn when(n: u64, total: u64, days: i64, end: DateTime<Utc>) -> DateTime<Utc> {
    let span = days * 86_400;
    let offset = i64::try_from(n % total.max(1)).unwrap_or(0) * span
        / i64::try_from(total.max(1)).unwrap_or(1);
    end - Duration::seconds(span - offset)
}
