//! The Elasticsearch / OpenSearch backend: weekly indices `<prefix>%Y%W`
//! created from an index template with the mapping, `_bulk` indexing, and
//! the query DSL built by [`requests`] from the shared query model.

pub mod requests;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use elasticsearch::cat::CatIndicesParts;
use elasticsearch::http::Url;
use elasticsearch::http::response::Response;
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::indices::{
    IndicesCreateParts, IndicesDeleteParts, IndicesPutIndexTemplateParts, IndicesRefreshParts,
};
use elasticsearch::{BulkParts, DeleteByQueryParts, Elasticsearch, SearchParts};
use serde_json::{Value, json};

use elasticsearch::http::request::JsonBody;

use crate::config::ElasticsearchConfig;
use crate::document::IndexDoc;
use crate::query::week_name;
use crate::results::{facets_from_aggregations, hit_from_source};
use crate::{
    Fields, IndexStats, Permissions, SearchError, SearchIndex, SearchQuery, SearchResults,
    SearchWarning,
};

/// Bulk tries per call (fields refused by the mapping are removed between tries).
const MAX_INDEX_ATTEMPTS: usize = 5;

/// The Elasticsearch backend.
pub struct EsIndex {
    client: Elasticsearch,
    cfg: ElasticsearchConfig,
    fields: Fields,
    created: Mutex<BTreeSet<String>>,
}

fn transport_err(e: elasticsearch::Error) -> SearchError {
    let transient = e.is_timeout() || e.status_code().is_none_or(|s| s.is_server_error());
    let message = e.to_string();
    if transient {
        SearchError::Transient {
            message,
            source: Some(Box::new(e)),
        }
    } else {
        SearchError::Backend {
            message,
            source: Some(Box::new(e)),
        }
    }
}

/// Turn a non-2xx answer into an error (400s name the query, as Socorro does).
async fn check(resp: Response, what: &str) -> Result<Value, SearchError> {
    let status = resp.status_code();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    let kind = body
        .pointer("/error/type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let reason = body
        .pointer("/error/root_cause/0/reason")
        .or_else(|| body.pointer("/error/reason"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let message = format!("{what}: HTTP {} {kind} {reason}", status.as_u16());
    if status.is_server_error() {
        return Err(SearchError::Transient {
            message,
            source: None,
        });
    }
    if status.as_u16() == 400 && what == "search" {
        let text = if body.to_string().contains("too_complex_to_determinize") {
            "Search query is too complex to execute. Simplify the search pattern and try again."
                .to_string()
        } else {
            format!("Malformed supersearch query: {reason}")
        };
        return Err(SearchError::bad_param("query", text));
    }
    Err(SearchError::Backend {
        message,
        source: None,
    })
}

impl EsIndex {
    /// A client for the configured cluster (no request is made).
    pub fn connect(cfg: &ElasticsearchConfig, fields: Fields) -> Result<Self, SearchError> {
        let url = Url::parse(&cfg.url).map_err(|e| SearchError::Config {
            setting: "SOCORRO_SEARCH__ELASTICSEARCH__URL".into(),
            message: e.to_string(),
        })?;
        let transport = TransportBuilder::new(SingleNodeConnectionPool::new(url))
            .timeout(Duration::from_secs(cfg.timeout_secs))
            .disable_proxy()
            .build()
            .map_err(|e| SearchError::Config {
                setting: "SOCORRO_SEARCH__ELASTICSEARCH__URL".into(),
                message: e.to_string(),
            })?;
        Ok(Self {
            client: Elasticsearch::new(transport),
            cfg: cfg.clone(),
            fields,
            created: Mutex::new(BTreeSet::new()),
        })
    }

    /// The field list.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// Install the index template (settings + mapping for `<prefix>*`).
    pub async fn ensure_template(&self) -> Result<(), SearchError> {
        let body = requests::index_template_body(&self.fields, &self.cfg);
        let resp = self
            .client
            .indices()
            .put_index_template(IndicesPutIndexTemplateParts::Name(&self.cfg.index_prefix))
            .body(body)
            .send()
            .await
            .map_err(transport_err)?;
        check(resp, "put index template").await.map(|_| ())
    }

    async fn ensure_index(&self, name: &str) -> Result<(), SearchError> {
        if self
            .created
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(name)
        {
            return Ok(());
        }
        let resp = self
            .client
            .indices()
            .create(IndicesCreateParts::Index(name))
            .body(requests::create_index_body(&self.fields, &self.cfg))
            .send()
            .await
            .map_err(transport_err)?;
        let status = resp.status_code();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let exists = body.pointer("/error/type").and_then(Value::as_str)
            == Some("resource_already_exists_exception");
        if !status.is_success() && !exists {
            return Err(SearchError::backend(format!(
                "create index {name}: HTTP {} {body}",
                status.as_u16()
            )));
        }
        self.created
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string());
        Ok(())
    }

    /// The search field named by a document parsing error, if it is one.
    fn refused_field(&self, error: &Value, doc: &IndexDoc) -> Option<String> {
        let kind = error.get("type").and_then(Value::as_str)?;
        if !matches!(
            kind,
            "document_parsing_exception"
                | "mapper_parsing_exception"
                | "illegal_argument_exception"
        ) {
            return None;
        }
        let reason = error.get("reason").and_then(Value::as_str)?;
        reason
            .split('[')
            .filter_map(|part| part.split_once(']').map(|(inside, _)| inside))
            .filter_map(|key| {
                key.trim_end_matches(".full")
                    .strip_prefix("processed_crash.")
            })
            .find_map(|path| {
                self.fields
                    .iter()
                    .find(|f| f.source_path() == path && doc.values.contains_key(&f.name))
                    .map(|f| f.name.clone())
            })
    }

    fn pattern(&self) -> String {
        format!("{}*", self.cfg.index_prefix)
    }

    fn is_partition_name(&self, name: &str) -> bool {
        name.strip_prefix(&self.cfg.index_prefix)
            .is_some_and(|rest| rest.len() == 6 && rest.bytes().all(|b| b.is_ascii_digit()))
    }
}

#[async_trait]
impl SearchIndex for EsIndex {
    async fn index(&self, crashes: &[Value]) -> Result<IndexStats, SearchError> {
        let mut stats = IndexStats::default();
        let mut docs = Vec::new();
        for crash in crashes {
            match IndexDoc::from_processed(&self.fields, crash) {
                Ok(d) => docs.push(d),
                Err(e) => stats.skipped.push(e.to_string()),
            }
        }
        if docs.is_empty() {
            return Ok(stats);
        }
        let names: BTreeSet<String> = docs
            .iter()
            .map(|d| week_name(&self.cfg.index_prefix, d.date.date_naive()))
            .collect();
        for name in &names {
            self.ensure_index(name).await?;
        }
        // Socorro's behaviour: a document the cluster refuses because of one
        // field loses that field (named in `removed_fields`) and is retried.
        let total = docs.len();
        let mut pending = docs;
        for _attempt in 0..MAX_INDEX_ATTEMPTS {
            let lines = requests::bulk_lines(&self.fields, &self.cfg.index_prefix, &pending);
            let body: Vec<JsonBody<Value>> = lines.into_iter().map(Into::into).collect();
            let resp = self
                .client
                .bulk(BulkParts::None)
                .body(body)
                .send()
                .await
                .map_err(transport_err)?;
            let answer = check(resp, "bulk").await?;
            if answer.get("errors").and_then(Value::as_bool) != Some(true) {
                pending.clear();
                break;
            }
            let items = answer
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut retry = Vec::new();
            for (doc, item) in pending.into_iter().zip(items) {
                let Some(error) = item.pointer("/index/error") else {
                    continue;
                };
                match self.refused_field(error, &doc) {
                    Some(name) => {
                        let mut doc = doc;
                        doc.values.remove(&name);
                        tracing::warn!(crash_id = %doc.crash_id, field = %name, "field refused by the index; removed");
                        doc.removed_fields.push(name);
                        retry.push(doc);
                    }
                    None => {
                        return Err(SearchError::backend(format!(
                            "bulk index of {} failed: {error}",
                            doc.crash_id
                        )));
                    }
                }
            }
            pending = retry;
            if pending.is_empty() {
                break;
            }
        }
        if !pending.is_empty() {
            return Err(SearchError::backend(format!(
                "{} crashes still refused after {MAX_INDEX_ATTEMPTS} tries",
                pending.len()
            )));
        }
        stats.indexed = total;
        Ok(stats)
    }

    async fn refresh(&self) -> Result<(), SearchError> {
        let pattern = self.pattern();
        let resp = self
            .client
            .indices()
            .refresh(IndicesRefreshParts::Index(&[pattern.as_str()]))
            .send()
            .await
            .map_err(transport_err)?;
        check(resp, "refresh").await.map(|_| ())
    }

    async fn search(
        &self,
        query: &SearchQuery,
        perms: &Permissions,
    ) -> Result<SearchResults, SearchError> {
        let q = query.restricted(&self.fields, perms);
        let body = requests::search_body(&self.fields, &q);
        let mut results = SearchResults::empty();
        let wanted = q.index_names(&self.cfg.index_prefix);
        if q.return_query {
            results.query = Some(json!({ "query": body, "indices": wanted }));
            return Ok(results);
        }
        let existing: BTreeSet<String> = self.list_partitions().await?.into_iter().collect();
        let mut names = Vec::new();
        for name in wanted {
            if existing.contains(&name) {
                names.push(name);
            } else {
                results.errors.push(SearchWarning {
                    kind: "missing_index".into(),
                    index: name,
                });
            }
        }
        if names.is_empty() {
            return Ok(results);
        }
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let resp = self
            .client
            .search(SearchParts::Index(&refs))
            .ignore_unavailable(true)
            .body(body)
            .send()
            .await
            .map_err(transport_err)?;
        let answer = check(resp, "search").await?;
        results.total = answer
            .pointer("/hits/total/value")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        for hit in answer
            .pointer("/hits/hits")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let source = requests::flat_source(
                &self.fields,
                &q.columns,
                hit.get("_source").unwrap_or(&Value::Null),
            );
            results.hits.push(hit_from_source(&q, &source));
        }
        if let Some(aggs) = answer.get("aggregations") {
            results.facets = facets_from_aggregations(&self.fields, &q.aggs, aggs);
        }
        Ok(results)
    }

    async fn delete_range(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u64, SearchError> {
        let pattern = self.pattern();
        let resp = self
            .client
            .delete_by_query(DeleteByQueryParts::Index(&[pattern.as_str()]))
            .refresh(true)
            .allow_no_indices(true)
            .body(requests::delete_range_body(&self.fields, &from, &to))
            .send()
            .await
            .map_err(transport_err)?;
        let answer = check(resp, "delete by query").await?;
        Ok(answer.get("deleted").and_then(Value::as_u64).unwrap_or(0))
    }

    async fn list_partitions(&self) -> Result<Vec<String>, SearchError> {
        let pattern = self.pattern();
        let resp = self
            .client
            .cat()
            .indices(CatIndicesParts::Index(&[pattern.as_str()]))
            .format("json")
            .h(&["index"])
            .send()
            .await
            .map_err(transport_err)?;
        if resp.status_code().as_u16() == 404 {
            return Ok(vec![]);
        }
        let answer = check(resp, "list indices").await?;
        let mut names: Vec<String> = answer
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|i| i.get("index").and_then(Value::as_str))
            .filter(|n| self.is_partition_name(n))
            .map(str::to_string)
            .collect();
        names.sort();
        Ok(names)
    }

    async fn drop_partitions_before(&self, date: NaiveDate) -> Result<Vec<String>, SearchError> {
        let cutoff = week_name(&self.cfg.index_prefix, date);
        let mut dropped = Vec::new();
        for name in self
            .list_partitions()
            .await?
            .into_iter()
            .filter(|n| *n <= cutoff)
        {
            let resp = self
                .client
                .indices()
                .delete(IndicesDeleteParts::Index(&[name.as_str()]))
                .send()
                .await
                .map_err(transport_err)?;
            check(resp, "delete index").await?;
            self.created
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&name);
            dropped.push(name);
        }
        Ok(dropped)
    }

    async fn check_health(&self) -> Result<(), SearchError> {
        let resp = self.client.ping().send().await.map_err(transport_err)?;
        check(resp, "ping").await.map(|_| ())
    }

    fn describe(&self) -> String {
        format!("elasticsearch:{}", self.cfg.url)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn refused_field_is_found_from_the_error_reason() {
        let fields = Fields::builtin();
        let es = EsIndex::connect(&ElasticsearchConfig::default(), fields.clone()).unwrap();
        let crash = json!({"uuid": "de1bb258-cbbf-4589-a673-34f800161118", "date_processed": "2026-11-18T00:00:00Z",
            "os_name": "Linux", "memory_measures": {"explicit": 5}});
        let doc = IndexDoc::from_processed(&fields, &crash).unwrap();
        let err = json!({"type": "document_parsing_exception",
            "reason": "[1:120] failed to parse field [processed_crash.memory_measures.explicit] of type [long] in document"});
        assert_eq!(
            es.refused_field(&err, &doc).as_deref(),
            Some("memory_explicit")
        );
        let err = json!({"type": "document_parsing_exception",
            "reason": "Document contains at least one immense term in field=\"x\" [processed_crash.os_name.full]"});
        assert_eq!(es.refused_field(&err, &doc).as_deref(), Some("platform"));
        let err = json!({"type": "version_conflict_engine_exception", "reason": "[x]"});
        assert_eq!(es.refused_field(&err, &doc), None);
        let mut doc = doc;
        doc.removed_fields.push("memory_explicit".into());
        assert_eq!(
            doc.es_source(&fields)["removed_fields"],
            json!("memory_explicit")
        );
    }
}
