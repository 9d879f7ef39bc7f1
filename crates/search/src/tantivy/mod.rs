//! The embedded backend: one Tantivy index per week under
//! `<root>/socorro<YYYYWW>` (Socorro's `socorro%Y%W` naming).

pub mod query;
pub mod schema;
pub mod sort;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::intermediate_agg_result::IntermediateAggregationResults;
use tantivy::aggregation::{AggContextParams, DistributedAggregationCollector};
use tantivy::collector::Count;
use tantivy::directory::MmapDirectory;
use tantivy::schema::{Schema, Value as _};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use self::schema::{SOURCE, build_schema, exact_name};
use self::sort::{SortCollector, SortSpec, SortedHit};
use crate::document::IndexDoc;
use crate::query::week_name;
use crate::results::{aggregations_request, facets_from_aggregations, hit_from_source};
use crate::{
    Fields, IndexStats, Permissions, SearchError, SearchIndex, SearchQuery, SearchResults,
    SearchWarning,
};

/// Index writer memory budget per weekly index.
const WRITER_BUDGET: usize = 64 * 1024 * 1024;

struct Week {
    index: Index,
    reader: IndexReader,
    writer: Mutex<Option<IndexWriter>>,
}

struct Inner {
    root: PathBuf,
    prefix: String,
    fields: Fields,
    schema: Schema,
    weeks: Mutex<BTreeMap<String, Arc<Week>>>,
}

/// The Tantivy backend.
#[derive(Clone)]
pub struct TantivyIndex {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn join_err(e: tokio::task::JoinError) -> SearchError {
    SearchError::backend(format!("search task failed: {e}"))
}

impl TantivyIndex {
    /// Open (creating the directory) the weekly indices under `root`.
    pub fn open(root: &Path, fields: Fields) -> Result<Self, SearchError> {
        std::fs::create_dir_all(root)?;
        let schema = build_schema(&fields);
        Ok(Self {
            inner: Arc::new(Inner {
                root: root.to_path_buf(),
                prefix: "socorro".into(),
                fields,
                schema,
                weeks: Mutex::new(BTreeMap::new()),
            }),
        })
    }

    /// The field list.
    pub fn fields(&self) -> &Fields {
        &self.inner.fields
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, SearchError> + Send + 'static,
    ) -> Result<T, SearchError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(join_err)?
    }
}

impl Inner {
    fn is_partition_name(&self, name: &str) -> bool {
        name.strip_prefix(&self.prefix)
            .is_some_and(|rest| rest.len() == 6 && rest.bytes().all(|b| b.is_ascii_digit()))
    }

    /// The week, opened if it exists on disk, created if `create`.
    fn week(&self, name: &str, create: bool) -> Result<Option<Arc<Week>>, SearchError> {
        let mut weeks = lock(&self.weeks);
        if let Some(w) = weeks.get(name) {
            return Ok(Some(w.clone()));
        }
        let dir = self.root.join(name);
        let exists = match std::fs::metadata(dir.join("meta.json")) {
            Ok(_) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(e.into()),
        };
        if !exists && !create {
            return Ok(None);
        }
        std::fs::create_dir_all(&dir)?;
        let directory = MmapDirectory::open(&dir)
            .map_err(|e| SearchError::backend(format!("open {}: {e}", dir.display())))?;
        let index = Index::open_or_create(directory, self.schema.clone())?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()?;
        let week = Arc::new(Week {
            index,
            reader,
            writer: Mutex::new(None),
        });
        weeks.insert(name.to_string(), week.clone());
        Ok(Some(week))
    }

    fn index_docs(&self, crashes: &[Value]) -> Result<IndexStats, SearchError> {
        let mut stats = IndexStats::default();
        let mut by_week: BTreeMap<String, Vec<IndexDoc>> = BTreeMap::new();
        for crash in crashes {
            match IndexDoc::from_processed(&self.fields, crash) {
                Ok(doc) => by_week
                    .entry(week_name(&self.prefix, doc.date.date_naive()))
                    .or_default()
                    .push(doc),
                Err(e) => stats.skipped.push(e.to_string()),
            }
        }
        for (name, docs) in by_week {
            let Some(week) = self.week(&name, true)? else {
                continue;
            };
            let schema = week.index.schema();
            let uuid = schema.get_field("uuid")?;
            let mut guard = lock(&week.writer);
            if guard.is_none() {
                *guard = Some(week.index.writer_with_num_threads(1, WRITER_BUDGET)?);
            }
            let Some(writer) = guard.as_mut() else {
                continue;
            };
            for doc in &docs {
                writer.delete_term(Term::from_field_text(uuid, &doc.crash_id));
                writer.add_document(self.to_tantivy(&schema, doc)?)?;
                stats.indexed += 1;
            }
            writer.commit()?;
            drop(guard);
            week.reader.reload()?;
        }
        Ok(stats)
    }

    fn to_tantivy(&self, schema: &Schema, doc: &IndexDoc) -> Result<TantivyDocument, SearchError> {
        let mut out = TantivyDocument::default();
        for (name, value) in &doc.values {
            let Some(def) = self.fields.get(name) else {
                continue;
            };
            let Ok(field) = schema.get_field(name) else {
                continue;
            };
            let exact = schema.get_field(&exact_name(def)).unwrap_or(field);
            let items: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                v => vec![v],
            };
            for item in items {
                match (def.storage, item) {
                    (crate::Storage::Keyword, Value::String(s)) => out.add_text(field, s),
                    (crate::Storage::Text { .. }, Value::String(s)) => {
                        out.add_text(field, s);
                        out.add_text(exact, s);
                    }
                    (crate::Storage::Integer | crate::Storage::Short | crate::Storage::Long, v) => {
                        if let Some(n) = v.as_i64() {
                            out.add_i64(field, n);
                        }
                    }
                    (crate::Storage::Double, v) => {
                        if let Some(f) = v.as_f64() {
                            out.add_f64(field, f);
                        }
                    }
                    (crate::Storage::Boolean, Value::Bool(b)) => out.add_bool(field, *b),
                    (crate::Storage::Date, Value::String(s)) => {
                        if let Some(d) = crate::query::parse_date(s) {
                            out.add_date(field, query::tdate(&d));
                        }
                    }
                    _ => {}
                }
            }
        }
        let source =
            serde_json::to_vec(&doc.source()).map_err(|e| SearchError::backend(e.to_string()))?;
        out.add_bytes(schema.get_field(SOURCE)?, &source);
        Ok(out)
    }

    fn sort_specs(&self, q: &SearchQuery, schema: &Schema) -> Vec<SortSpec> {
        q.effective_sort()
            .into_iter()
            .filter_map(|k| {
                let def = self.fields.get(&k.field)?;
                let field = exact_name(def);
                schema.get_field(&field).ok()?;
                Some(SortSpec {
                    field,
                    storage: def.storage,
                    descending: k.descending,
                })
            })
            .collect()
    }

    fn search(&self, q: &SearchQuery) -> Result<SearchResults, SearchError> {
        let mut results = SearchResults::empty();
        let agg_req_json = tantivy_aggs(aggregations_request(&q.aggs, q.facets_size, &|name| {
            self.fields
                .get(name)
                .map(exact_name)
                .unwrap_or_else(|| name.to_string())
        }));
        if q.return_query {
            results.query = Some(serde_json::json!({
                "filters": q.filters, "aggs": agg_req_json, "sort": q.effective_sort(),
                "indices": q.index_names(&self.prefix),
            }));
            return Ok(results);
        }
        let agg_req: Aggregations = serde_json::from_value(agg_req_json)
            .map_err(|e| SearchError::backend(format!("aggregation request: {e}")))?;
        let limit = q.results_offset + q.results_number;
        let mut all_hits: Vec<(usize, SortedHit)> = Vec::new();
        let mut aggs: Option<IntermediateAggregationResults> = None;
        let mut weeks = Vec::new();
        let mut specs = Vec::new();
        for name in q.index_names(&self.prefix) {
            let Some(week) = self.week(&name, false)? else {
                results.errors.push(SearchWarning {
                    kind: "missing_index".into(),
                    index: name,
                });
                continue;
            };
            let searcher = week.reader.searcher();
            let schema = week.index.schema();
            let tq = query::build_query(&week.index, &self.fields, q)?;
            specs = self.sort_specs(q, &schema);
            let sorter = SortCollector {
                specs: specs.clone(),
                limit,
            };
            let agg_collector = DistributedAggregationCollector::from_aggs(
                agg_req.clone(),
                AggContextParams::default(),
            );
            let (count, hits, week_aggs) = searcher.search(&tq, &(Count, sorter, agg_collector))?;
            results.total += count as u64;
            let w = weeks.len();
            all_hits.extend(hits.into_iter().map(|h| (w, h)));
            match aggs.as_mut() {
                None => aggs = Some(week_aggs),
                Some(a) => a.merge_fruits(week_aggs)?,
            }
            weeks.push((week, searcher));
        }
        // Merge hits across weeks, then read the page.
        all_hits.sort_by(|(wa, a), (wb, b)| {
            sort::cmp_sort_values(&specs, &a.0, &b.0)
                .then(wa.cmp(wb))
                .then(a.1.cmp(&b.1))
        });
        for (w, (_, addr)) in all_hits
            .into_iter()
            .skip(q.results_offset)
            .take(q.results_number)
        {
            let Some((week, searcher)) = weeks.get(w) else {
                continue;
            };
            let doc: TantivyDocument = searcher.doc(addr)?;
            let source_field = week.index.schema().get_field(SOURCE)?;
            let source: Map<String, Value> = doc
                .get_first(source_field)
                .and_then(|v| v.as_bytes())
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or_default();
            results.hits.push(hit_from_source(q, &source));
        }
        if let Some(a) = aggs {
            let final_aggs = a.into_final_result(agg_req, AggContextParams::default().limits)?;
            let json = serde_json::to_value(&final_aggs)
                .map_err(|e| SearchError::backend(e.to_string()))?;
            results.facets = facets_from_aggregations(&self.fields, &q.aggs, &json);
        }
        Ok(results)
    }
}

/// Tantivy-specific tweaks of the shared aggregation request: exact terms
/// counts (segment_size large enough to see every term).
fn tantivy_aggs(mut req: Value) -> Value {
    if let Value::Object(map) = &mut req {
        for (_, agg) in map.iter_mut() {
            if let Some(terms) = agg.get_mut("terms").and_then(Value::as_object_mut) {
                terms.insert("segment_size".into(), Value::from(65_000));
            }
            if let Some(sub) = agg.get_mut("aggs") {
                let s = std::mem::take(sub);
                *sub = tantivy_aggs(s);
            }
        }
    }
    req
}

#[async_trait]
impl SearchIndex for TantivyIndex {
    async fn index(&self, crashes: &[Value]) -> Result<IndexStats, SearchError> {
        let crashes = crashes.to_vec();
        self.blocking(move |inner| inner.index_docs(&crashes)).await
    }

    async fn refresh(&self) -> Result<(), SearchError> {
        self.blocking(|inner| {
            let weeks: Vec<Arc<Week>> = lock(&inner.weeks).values().cloned().collect();
            for w in weeks {
                w.reader.reload()?;
            }
            Ok(())
        })
        .await
    }

    async fn search(
        &self,
        query: &SearchQuery,
        perms: &Permissions,
    ) -> Result<SearchResults, SearchError> {
        let q = query.restricted(&self.inner.fields, perms);
        self.blocking(move |inner| inner.search(&q)).await
    }

    async fn delete_range(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u64, SearchError> {
        self.blocking(move |inner| {
            let mut deleted = 0u64;
            let mut names: Vec<String> = Vec::new();
            let mut day = from.date_naive();
            while day <= to.date_naive() {
                let n = week_name(&inner.prefix, day);
                if !names.contains(&n) {
                    names.push(n);
                }
                let Some(next) = day.succ_opt() else { break };
                day = next;
            }
            for name in names {
                let Some(week) = inner.week(&name, false)? else {
                    continue;
                };
                let schema = week.index.schema();
                let range = query::date_range(&schema, "date", (from, true), (to, false))?;
                deleted += week.reader.searcher().search(&range, &Count)? as u64;
                let mut guard = lock(&week.writer);
                if guard.is_none() {
                    *guard = Some(week.index.writer_with_num_threads(1, WRITER_BUDGET)?);
                }
                if let Some(writer) = guard.as_mut() {
                    writer.delete_query(range)?;
                    writer.commit()?;
                }
                drop(guard);
                week.reader.reload()?;
            }
            Ok(deleted)
        })
        .await
    }

    async fn list_partitions(&self) -> Result<Vec<String>, SearchError> {
        self.blocking(|inner| {
            let mut names = Vec::new();
            for entry in std::fs::read_dir(&inner.root)? {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().to_string();
                if inner.is_partition_name(&name) && entry.file_type()?.is_dir() {
                    names.push(name);
                }
            }
            names.sort();
            Ok(names)
        })
        .await
    }

    async fn drop_partitions_before(&self, date: NaiveDate) -> Result<Vec<String>, SearchError> {
        let cutoff = week_name(&self.inner.prefix, date);
        let names = self.list_partitions().await?;
        self.blocking(move |inner| {
            let mut dropped = Vec::new();
            for name in names.into_iter().filter(|n| *n <= cutoff) {
                let week = lock(&inner.weeks).remove(&name);
                if let Some(writer) = week.and_then(|w| lock(&w.writer).take()) {
                    drop(writer.wait_merging_threads());
                }
                std::fs::remove_dir_all(inner.root.join(&name))?;
                dropped.push(name);
            }
            Ok(dropped)
        })
        .await
    }

    async fn check_health(&self) -> Result<(), SearchError> {
        self.blocking(|inner| {
            std::fs::read_dir(&inner.root)?;
            Ok(())
        })
        .await
    }

    fn describe(&self) -> String {
        format!("tantivy:{}", self.inner.root.display())
    }
}
