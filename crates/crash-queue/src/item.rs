//! Queue names and message payloads.

use std::fmt;
use std::str::FromStr;

use crash_storage::{CrashId, CrashIdError};
use serde::{Deserialize, Serialize};

/// One of Socorro's three queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueName {
    /// New crashes, published by the collector.
    Standard,
    /// Crashes someone is waiting for (a report page opened before processing).
    Priority,
    /// Crashes to process again (API, cron, CLI), optionally with a ruleset.
    Reprocessing,
}

impl QueueName {
    /// Every queue, in Socorro's polling order.
    pub const ALL: [QueueName; 3] = [Self::Standard, Self::Priority, Self::Reprocessing];

    /// The order a processor drains them in: priority first.
    pub const PROCESSING_ORDER: [QueueName; 3] =
        [Self::Priority, Self::Standard, Self::Reprocessing];

    /// The queue's name in configuration and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Priority => "priority",
            Self::Reprocessing => "reprocessing",
        }
    }
}

impl fmt::Display for QueueName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for QueueName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "standard" => Ok(Self::Standard),
            "priority" => Ok(Self::Priority),
            "reprocessing" => Ok(Self::Reprocessing),
            other => Err(format!(
                "unknown queue {other:?} (expected standard, priority or reprocessing)"
            )),
        }
    }
}

/// A message payload: a crash id, optionally with a ruleset for reprocessing
/// (`<id>:<ruleset>`, e.g. `...:regenerate_signature`), as Socorro encodes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueueItem {
    /// The crash to process.
    pub crash_id: CrashId,
    /// The ruleset to run (`default` when `None`).
    pub ruleset: Option<String>,
}

impl QueueItem {
    /// An item with the default ruleset.
    pub fn new(crash_id: CrashId) -> Self {
        Self {
            crash_id,
            ruleset: None,
        }
    }

    /// An item naming a ruleset (`regenerate_signature`, ...).
    pub fn with_ruleset(crash_id: CrashId, ruleset: impl Into<String>) -> Self {
        Self {
            crash_id,
            ruleset: Some(ruleset.into()),
        }
    }
}

impl fmt::Display for QueueItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.ruleset {
            Some(r) => write!(f, "{}:{}", self.crash_id, r),
            None => write!(f, "{}", self.crash_id),
        }
    }
}

impl FromStr for QueueItem {
    type Err = CrashIdError;
    /// Splits on the first `:`; the part before must be a crash id.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (id, ruleset) = match s.split_once(':') {
            Some((id, r)) => (id, Some(r.to_owned()).filter(|r| !r.is_empty())),
            None => (s, None),
        };
        Ok(Self {
            crash_id: CrashId::parse(id)?,
            ruleset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_roundtrip() {
        let item: QueueItem = "de1bb258-cbbf-4589-a673-34f800160918:regenerate_signature"
            .parse()
            .unwrap();
        assert_eq!(item.ruleset.as_deref(), Some("regenerate_signature"));
        assert_eq!(
            item.to_string(),
            "de1bb258-cbbf-4589-a673-34f800160918:regenerate_signature"
        );
        let plain: QueueItem = "de1bb258-cbbf-4589-a673-34f800160918".parse().unwrap();
        assert_eq!(plain.ruleset, None);
        assert!("test".parse::<QueueItem>().is_err());
    }
}
