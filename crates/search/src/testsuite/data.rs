//! The generated data set: a few thousand crashes with known values.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// Signatures, most frequent first (Zipf-like weights give distinct counts).
pub const SIGNATURES: [&str; 24] = [
    "OOM | small",
    "shutdownhang | nsThread::Shutdown",
    "IPCError-browser | ShutDownKill",
    "OOM | large",
    "mozilla::dom::ContentParent::KillHard",
    "js::GCMarker::processMarkStackTop",
    "EMPTY: no crashing thread identified",
    "AsyncShutdownTimeout | profile-before-change",
    "RtlUserThreadStart",
    "nsCycleCollector::Collect",
    "@0x0 | libxul::Unknown",
    "mozalloc_abort | abort",
    "PLDHashTable::Search",
    "gfx::DrawTarget::Flush",
    "webrender::renderer::Render",
    "libc::malloc | OOM | unknown",
    "core::option::expect_failed",
    "std::panicking::rust_panic",
    "mozilla::ipc::MessageChannel::Send",
    "nsGlobalWindowInner::Close",
    "AudioIPC Client RPC | audioipc::Server",
    "CrashReporter::Dummy",
    "BaseThreadInitThunk",
    "xul::Unrelated::Tail",
];
const PRODUCTS: [(&str, u32); 4] = [
    ("Firefox", 50),
    ("Fenix", 25),
    ("Thunderbird", 15),
    ("Focus", 10),
];
const PLATFORMS: [(&str, &str, u32); 4] = [
    ("Windows NT", "10.0.19045", 55),
    ("Linux", "6.1.0", 20),
    ("Mac OS X", "14.2.1", 15),
    ("Android", "14", 10),
];
const ARCHES: [(&str, u32); 3] = [("amd64", 70), ("x86", 10), ("arm64", 20)];
const VERSIONS: [&str; 6] = ["120.0", "120.0.1", "121.0b3", "121.0b7", "122.0a1", "119.0"];
const CHANNELS: [&str; 4] = ["release", "beta", "nightly", "esr"];
const ADDONS: [&str; 5] = [
    "uBlock0@raymondhill.net:1.54.0",
    "@testpilot-containers:8.1.3",
    "formautofill@mozilla.org:1.0.1",
    "webcompat@mozilla.org:122.5.0",
    "screenshots@mozilla.org:39.0.1",
];

/// The reference time of the suite (queries' "now").
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

/// How many crashes the suite indexes.
pub const DATASET_SIZE: usize = 3000;

/// One generated crash.
#[derive(Debug, Clone, PartialEq)]
pub struct Crash {
    /// Crash id.
    pub uuid: String,
    /// `date_processed`.
    pub date: DateTime<Utc>,
    /// Product.
    pub product: &'static str,
    /// Version.
    pub version: &'static str,
    /// Signature.
    pub signature: &'static str,
    /// `os_name`.
    pub platform: &'static str,
    /// `os_version`.
    pub platform_version: &'static str,
    /// CPU architecture.
    pub cpu_arch: &'static str,
    /// `build`.
    pub build_id: i64,
    /// Seconds since start; missing for ~10%.
    pub uptime: Option<i64>,
    /// Accessibility on; missing for ~30%.
    pub accessibility: Option<bool>,
    /// Crash address.
    pub address: String,
    /// MOZ_CRASH reason; ~20% have one.
    pub moz_crash_reason: Option<String>,
    /// Protected: user comments (~15%).
    pub user_comments: Option<String>,
    /// Protected: URL (~25%).
    pub url: Option<String>,
    /// Add-ons (0–3).
    pub addons: Vec<&'static str>,
    /// `memory_measures.explicit`; ~30% have it.
    pub memory_explicit: Option<i64>,
    /// Release channel.
    pub release_channel: &'static str,
    /// `cpu_count`.
    pub cpu_count: i64,
}

fn weighted<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|i| i.1).sum();
    let mut r = rng.random_range(0..total);
    for (item, w) in items {
        if r < *w {
            return *item;
        }
        r -= w;
    }
    items[items.len() - 1].0
}

/// The data set of the suite (deterministic): [`DATASET_SIZE`] crashes over
/// the 20 days before [`now`].
pub fn dataset() -> Vec<Crash> {
    Generator::new(0x050c_0220, DATASET_SIZE, now() - Duration::days(20), 20).collect()
}

/// A deterministic stream of synthetic crashes (the bench uses millions).
pub struct Generator {
    rng: StdRng,
    sig_weights: Vec<(&'static str, u32)>,
    start: DateTime<Utc>,
    seconds: i64,
    i: usize,
    n: usize,
}

impl Generator {
    /// `n` crashes spread over `days` days from `start`.
    pub fn new(seed: u64, n: usize, start: DateTime<Utc>, days: i64) -> Self {
        let sig_weights = SIGNATURES
            .iter()
            .enumerate()
            .map(|(i, s)| (*s, 10_000 / (i as u32 + 2) + i as u32))
            .collect();
        Self {
            rng: StdRng::seed_from_u64(seed),
            sig_weights,
            start,
            seconds: days * 86_400 - 60,
            i: 0,
            n,
        }
    }
}

impl Iterator for Generator {
    type Item = Crash;

    fn next(&mut self) -> Option<Crash> {
        if self.i >= self.n {
            return None;
        }
        let i = self.i;
        self.i += 1;
        let rng = &mut self.rng;
        let start = self.start;
        let sig_weights = &self.sig_weights;
        let date = start + Duration::seconds(rng.random_range(0..self.seconds));
        let uuid = format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:05x}0{}",
            rng.random::<u32>(),
            rng.random::<u16>(),
            rng.random_range(0..0x1000u32),
            0x8000 | rng.random_range(0..0x4000u32),
            i,
            date.format("%y%m%d")
        );
        let (platform, platform_version) = {
            let p = weighted(rng, &PLATFORMS.map(|(a, b, w)| ((a, b), w)));
            (p.0, p.1)
        };
        let n_addons = rng.random_range(0..4usize);
        let mut addons: Vec<&'static str> = Vec::new();
        for _ in 0..n_addons {
            let a = ADDONS[rng.random_range(0..ADDONS.len())];
            if !addons.contains(&a) {
                addons.push(a);
            }
        }
        Some(Crash {
            uuid,
            date,
            product: weighted(rng, &PRODUCTS),
            version: VERSIONS[rng.random_range(0..VERSIONS.len())],
            signature: weighted(rng, sig_weights),
            platform,
            platform_version,
            cpu_arch: weighted(rng, &ARCHES),
            build_id: 20_261_101_000_000 + rng.random_range(0..20i64) * 1_000_000,
            uptime: (rng.random_range(0..10) != 0).then(|| rng.random_range(0..5000)),
            accessibility: (rng.random_range(0..10) >= 3).then(|| rng.random_bool(0.4)),
            address: format!("0x{:x}", rng.random_range(0..64u32) * 0x10),
            moz_crash_reason: (rng.random_range(0..5) == 0).then(|| {
                [
                    "MOZ_RELEASE_ASSERT(aIndex < Length())",
                    "MOZ_CRASH(unexpected state)",
                    "out of memory",
                ][rng.random_range(0..3)]
                .to_string()
            }),
            user_comments: (rng.random_range(0..100) < 15)
                .then(|| format!("secret comment {}", rng.random_range(0..1000))),
            url: (rng.random_range(0..4) == 0)
                .then(|| format!("https://private.example/{}", rng.random_range(0..50))),
            addons,
            memory_explicit: (rng.random_range(0..10) < 3)
                .then(|| rng.random_range(0..4_000_000_000i64)),
            release_channel: CHANNELS[rng.random_range(0..CHANNELS.len())],
            cpu_count: [1, 2, 4, 8, 16][rng.random_range(0..5)],
        })
    }
}

impl Crash {
    /// The processed crash JSON (Socorro's names).
    pub fn processed(&self) -> Value {
        let mut v = json!({
            "uuid": self.uuid,
            "date_processed": self.date.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string(),
            "product": self.product,
            "version": self.version,
            "signature": self.signature,
            "os_name": self.platform,
            "os_version": self.platform_version,
            "cpu_arch": self.cpu_arch,
            "build": self.build_id,
            "address": self.address,
            "addons": self.addons,
            "release_channel": self.release_channel,
            "cpu_count": self.cpu_count,
            "json_dump": { "system_info": { "os": self.platform } },
        });
        let set = |v: &mut Value, k: &str, x: Value| {
            if let Some(m) = v.as_object_mut() {
                m.insert(k.into(), x);
            }
        };
        if let Some(u) = self.uptime {
            set(&mut v, "uptime", json!(u));
        }
        if let Some(a) = self.accessibility {
            set(&mut v, "accessibility", json!(a));
        }
        if let Some(r) = &self.moz_crash_reason {
            set(&mut v, "moz_crash_reason", json!(r));
        }
        if let Some(c) = &self.user_comments {
            set(&mut v, "user_comments", json!(c));
        }
        if let Some(u) = &self.url {
            set(&mut v, "url", json!(u));
        }
        if let Some(m) = self.memory_explicit {
            set(&mut v, "memory_measures", json!({ "explicit": m }));
        }
        v
    }
}
