//! Search configuration (`SOCORRO_SEARCH__*`) and [`build`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crash_storage::RetryPolicy;
use crash_storage::retry::retry;
use serde::Deserialize;

use crate::elasticsearch::EsIndex;
use crate::tantivy::TantivyIndex;
use crate::{Fields, Retrying, SearchError, SearchIndex};

/// Which backend serves search.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchBackend {
    /// Embedded Tantivy indices (default).
    #[default]
    Tantivy,
    /// An Elasticsearch / OpenSearch cluster.
    Elasticsearch,
}

/// Tantivy settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TantivyConfig {
    /// Index root (`SOCORRO_SEARCH__TANTIVY__PATH`); default `<data_dir>/search`.
    pub path: Option<PathBuf>,
}

/// Elasticsearch settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ElasticsearchConfig {
    /// Cluster URL (`SOCORRO_SEARCH__ELASTICSEARCH__URL`).
    pub url: String,
    /// Index name prefix; indices are `<prefix>%Y%W` (default `socorro`).
    pub index_prefix: String,
    /// Shards per weekly index (Socorro: 10).
    pub number_of_shards: u32,
    /// Replicas per weekly index.
    pub number_of_replicas: u32,
    /// Request timeout in seconds (Socorro: 30).
    pub timeout_secs: u64,
}

impl Default for ElasticsearchConfig {
    fn default() -> Self {
        Self {
            url: "http://localhost:9200".into(),
            index_prefix: "socorro".into(),
            number_of_shards: 10,
            number_of_replicas: 1,
            timeout_secs: 30,
        }
    }
}

/// `SOCORRO_SEARCH__*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SearchConfig {
    /// `tantivy` (default) or `elasticsearch`.
    pub backend: SearchBackend,
    /// Field list file (Socorro's `super_search_fields.json` format); default: the built-in list.
    pub fields_path: Option<PathBuf>,
    /// Tantivy settings.
    pub tantivy: TantivyConfig,
    /// Elasticsearch settings.
    pub elasticsearch: ElasticsearchConfig,
    /// Retry of transient backend errors (`SOCORRO_SEARCH__RETRY__MAX_ATTEMPTS`,
    /// `__INITIAL_BACKOFF_MS`, `__MAX_BACKOFF_MS`).
    pub retry: RetryPolicy,
}

impl SearchConfig {
    /// Check settings; names the bad variable.
    pub fn validate(&self) -> Result<(), SearchError> {
        if let Err(message) = self.retry.validate("SOCORRO_SEARCH__RETRY") {
            return Err(SearchError::Config {
                setting: "SOCORRO_SEARCH__RETRY".into(),
                message,
            });
        }
        if self.backend == SearchBackend::Elasticsearch {
            let url = &self.elasticsearch.url;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(SearchError::Config {
                    setting: "SOCORRO_SEARCH__ELASTICSEARCH__URL".into(),
                    message: format!("not an http(s) URL: {url:?}"),
                });
            }
            let p = &self.elasticsearch.index_prefix;
            if p.is_empty()
                || !p
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
            {
                return Err(SearchError::Config {
                    setting: "SOCORRO_SEARCH__ELASTICSEARCH__INDEX_PREFIX".into(),
                    message: "use lower-case letters, digits, _ and -".into(),
                });
            }
        }
        Ok(())
    }

    /// The field list the configuration selects.
    pub fn fields(&self) -> Result<Fields, SearchError> {
        match &self.fields_path {
            Some(p) => Fields::load_socorro(p),
            None => Ok(Fields::builtin()),
        }
    }
}

async fn es_template(es: &Retrying<EsIndex>) -> Result<(), SearchError> {
    es.inner().ensure_template().await
}

/// Build the configured backend (no fallback: a bad setting or an
/// unreachable cluster is an error).
pub async fn build(
    cfg: &SearchConfig,
    data_dir: &Path,
) -> Result<Arc<dyn SearchIndex>, SearchError> {
    cfg.validate()?;
    let fields = cfg.fields()?;
    Ok(match cfg.backend {
        SearchBackend::Tantivy => {
            let root = cfg
                .tantivy
                .path
                .clone()
                .unwrap_or_else(|| data_dir.join("search"));
            Arc::new(Retrying::new(TantivyIndex::open(&root, fields)?, cfg.retry))
        }
        SearchBackend::Elasticsearch => {
            let es = EsIndex::connect(&cfg.elasticsearch, fields)?;
            let es = Retrying::new(es, cfg.retry);
            retry(&cfg.retry, SearchError::is_transient, || es_template(&es)).await?;
            Arc::new(es)
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[tokio::test]
    async fn default_builds_tantivy_under_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let index = build(&SearchConfig::default(), dir.path()).await.unwrap();
        assert_eq!(
            index.describe(),
            format!("tantivy:{}", dir.path().join("search").display())
        );
        index.check_health().await.unwrap();
        assert!(index.list_partitions().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn bad_settings_name_the_variable() {
        let mut cfg = SearchConfig {
            backend: SearchBackend::Elasticsearch,
            ..SearchConfig::default()
        };
        cfg.elasticsearch.url = "localhost:9200".into();
        let Err(SearchError::Config { setting, .. }) = build(&cfg, Path::new(".")).await else {
            panic!("expected a config error");
        };
        assert_eq!(setting, "SOCORRO_SEARCH__ELASTICSEARCH__URL");
        cfg.elasticsearch.url = "http://127.0.0.1:9".into();
        cfg.retry = RetryPolicy::no_retry();
        assert!(
            build(&cfg, Path::new(".")).await.is_err(),
            "an unreachable cluster fails loudly"
        );
    }

    #[test]
    fn deserializes_from_nested_settings() {
        let cfg: SearchConfig = serde_json::from_value(serde_json::json!({
            "backend": "elasticsearch",
            "elasticsearch": { "url": "http://es:9200", "index_prefix": "crashes" },
            "retry": { "max_attempts": 2 }
        }))
        .unwrap();
        assert_eq!(cfg.backend, SearchBackend::Elasticsearch);
        assert_eq!(cfg.elasticsearch.index_prefix, "crashes");
        assert_eq!(cfg.elasticsearch.number_of_shards, 10);
        assert_eq!(cfg.retry.max_attempts, 2);
        assert_eq!(cfg.tantivy.path, None);
    }
}
