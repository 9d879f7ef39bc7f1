//! `bug-associations` (Socorro's `bugassociations`): asks Bugzilla for the
//! bugs created or whose `cf_crash_signature` changed since the last success
//! (or the last day), and makes each bug's `[@ signature]` list its exact set
//! of bug associations. The whole response is parsed before anything is
//! written, so a malformed answer changes nothing and fails the run.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::config::BugzillaConfig;
use crate::job::{Job, JobContext, JobError};

/// Largest response body read.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// The signatures in a `cf_crash_signature` value: the text between each
/// `[@` and the last `]` after it, trimmed; parts without `]` are ignored.
pub fn find_signatures(content: &str) -> BTreeSet<String> {
    content
        .split("[@")
        .skip(1)
        .filter_map(|part| part.rfind(']').map(|end| part[..end].trim().to_owned()))
        .collect()
}

#[derive(Deserialize)]
struct BugList {
    bugs: Vec<Bug>,
}

#[derive(Deserialize)]
struct Bug {
    id: Value,
    #[serde(default)]
    cf_crash_signature: Option<String>,
}

/// `(bug id, signatures)` of each bug in a Bugzilla `/bug` response.
pub fn parse_response(body: &[u8]) -> Result<Vec<(i64, BTreeSet<String>)>, String> {
    let list: BugList = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    list.bugs
        .into_iter()
        .map(|bug| {
            let id = match &bug.id {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
            .filter(|id| *id > 0)
            .ok_or_else(|| format!("bug id {} is not a positive integer", bug.id))?;
            let sigs = find_signatures(bug.cf_crash_signature.as_deref().unwrap_or(""));
            Ok((id, sigs))
        })
        .collect()
}

/// The job.
pub struct BugAssociations {
    client: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
}

impl BugAssociations {
    /// A job talking to `cfg.base_url`.
    pub fn new(cfg: &BugzillaConfig) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(cfg.timeout_secs.max(1)))
            .user_agent(concat!("socorro-crontabber/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            base_url: cfg.base_url.trim().trim_end_matches('/').to_owned(),
            api_key: cfg.api_key.clone().filter(|k| !k.is_empty()),
        })
    }

    fn url(&self, since: &str) -> Result<reqwest::Url, JobError> {
        let mut url = reqwest::Url::parse(&format!("{}/bug", self.base_url))
            .map_err(|e| JobError::Invalid(format!("bugzilla base URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("chfieldfrom", since)
            .append_pair("chfieldto", "Now")
            .append_pair("chfield", "[Bug creation]")
            .append_pair("chfield", "cf_crash_signature")
            .append_pair("include_fields", "id")
            .append_pair("include_fields", "cf_crash_signature");
        Ok(url)
    }

    async fn fetch(&self, url: &reqwest::Url) -> Result<Vec<u8>, JobError> {
        let shown = url.to_string();
        let mut request = self.client.get(url.clone());
        if let Some(key) = &self.api_key {
            request = request.header("X-BUGZILLA-API-KEY", key);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| JobError::http(&shown, e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(JobError::BadResponse {
                url: shown,
                message: format!("HTTP status {status}"),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| JobError::http(&shown, e))?
        {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(JobError::BadResponse {
                    url: shown,
                    message: format!("response larger than {MAX_RESPONSE_BYTES} bytes"),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

#[async_trait]
impl Job for BugAssociations {
    fn name(&self) -> &str {
        "bug-associations"
    }

    async fn run(&self, ctx: &JobContext, run_for: DateTime<Utc>) -> Result<(), JobError> {
        let since = ctx
            .last_success
            .unwrap_or(run_for - TimeDelta::days(1))
            .format("%Y-%m-%d")
            .to_string();
        let url = self.url(&since)?;
        let body = self.fetch(&url).await?;
        let bugs = parse_response(&body).map_err(|message| JobError::BadResponse {
            url: url.to_string(),
            message,
        })?;
        let (mut added, mut removed) = (0u64, 0u64);
        for (bug_id, signatures) in &bugs {
            let sigs: Vec<&str> = signatures.iter().map(String::as_str).collect();
            let outcome = ctx
                .db
                .bug_associations()
                .set_signatures(*bug_id, &sigs)
                .await?;
            added += outcome.added;
            removed += outcome.removed;
        }
        tracing::info!(%since, bugs = bugs.len(), added, removed, "bug associations synced");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_signatures_like_socorro() {
        let got = find_signatures("some [@ signature] [@ another] and [@ even::this[] ]");
        let want: BTreeSet<String> = ["signature", "another", "even::this[]"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(got, want);
        assert_eq!(
            find_signatures("[@ OOM | small ]\r\n[@ js::GC]"),
            ["OOM | small", "js::GC"]
                .into_iter()
                .map(String::from)
                .collect()
        );
        assert!(find_signatures("").is_empty());
        assert!(find_signatures("[@ no closing bracket").is_empty());
    }

    #[test]
    fn parses_responses() {
        let ok = br#"{"bugs":[{"id":1,"cf_crash_signature":"[@ a]"},{"id":"2"},{"id":3,"cf_crash_signature":null}]}"#;
        let got = parse_response(ok).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[1], (2, BTreeSet::new()));
        assert!(parse_response(b"{\"bugs\":[{\"id\":\"x\"}]}").is_err());
        assert!(parse_response(b"{\"error\":true}").is_err());
        assert!(parse_response(b"<html>").is_err());
    }
}
