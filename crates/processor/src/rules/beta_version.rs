//! `BetaVersionRule`: Firefox/Thunderbird beta and aurora crashes report
//! `63.0` where the build is really `63.0b4`; look the real version up by
//! build id in the product versions table (what Socorro's
//! `/api/VersionString/` serves), else append `b0` with a note.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

const CACHE_ENTRIES: usize = 5000;
const HIT_TTL: Duration = Duration::from_secs(24 * 3600);
const MISS_TTL: Duration = Duration::from_secs(30 * 60);

type Key = (String, String, String);

pub struct BetaVersionRule {
    pub db: db::Db,
    cache: Mutex<HashMap<Key, (Instant, Option<String>)>>,
}

impl BetaVersionRule {
    pub fn new(db: db::Db) -> Self {
        Self {
            db,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, key: &Key) -> Option<Option<String>> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let (at, value) = cache.get(key)?;
        let ttl = if value.is_some() { HIT_TTL } else { MISS_TTL };
        (at.elapsed() < ttl).then(|| value.clone())
    }

    fn remember(&self, key: Key, value: Option<String>) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, (Instant::now(), value));
    }

    async fn real_version(&self, key: Key) -> Result<Option<String>, RuleError> {
        if let Some(v) = self.cached(&key) {
            return Ok(v);
        }
        let found = self
            .db
            .product_versions()
            .version_strings(&key.0, &key.1, &key.2)
            .await
            .map_err(|e| RuleError::new("VersionLookupError", e.to_string()))?
            .into_iter()
            .next();
        self.remember(key, found.clone());
        Ok(found)
    }
}

#[async_trait]
impl Rule for BetaVersionRule {
    fn name(&self) -> &'static str {
        "BetaVersionRule"
    }

    fn predicate(&self, crash: &Crash) -> bool {
        let product = crash
            .get_str("product")
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let channel = crash
            .get_str("release_channel")
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        matches!(product.as_str(), "firefox" | "thunderbird")
            && matches!(channel.as_str(), "beta" | "aurora")
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let mut product = crash.get_str("product").unwrap_or("").trim().to_owned();
        let channel = crash
            .get_str("release_channel")
            .unwrap_or("")
            .trim()
            .to_owned();
        let build_id = crash
            .get_str("build")
            .and_then(|b| b.trim().parse::<u64>().ok());
        if product == "Firefox"
            && channel == "aurora"
            && build_id.is_some_and(|b| b > 20170601000000)
        {
            product = "DevEdition".to_owned();
        }
        if let Some(build) = build_id
            && let Some(version) = self
                .real_version((product, channel.to_ascii_lowercase(), build.to_string()))
                .await?
        {
            crash.set("version", version);
            return Ok(());
        }
        let version = crash.get_str("version").unwrap_or("").to_owned();
        crash.set("version", format!("{version}b0"));
        crash.note(format!(
            "release channel is {channel} but no version data was found - added \"b0\" suffix to version number"
        ));
        Ok(())
    }
}
