//! Super Search results in Socorro's JSON shape, and the shared conversion of
//! Elasticsearch-style aggregation responses (both backends produce them)
//! into facets.

use std::collections::BTreeMap;

use chrono::DateTime;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::fields::{FieldType, QueryType};
use crate::query::{Agg, AggKind};
use crate::{Fields, SearchQuery};

/// One facet: buckets, or a cardinality.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Facet {
    /// Terms or histogram buckets.
    Buckets(Vec<Bucket>),
    /// Distinct values.
    Cardinality {
        /// The count.
        value: u64,
    },
}

/// One bucket: `{term, count[, facets]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    /// The key (`"T"`/`"F"` for booleans, ISO text for dates).
    pub term: Value,
    /// Documents in the bucket.
    pub count: u64,
    /// Sub-aggregations.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub facets: BTreeMap<String, Facet>,
}

/// A search problem reported beside the results (`missing_index`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchWarning {
    /// `missing_index`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The index concerned.
    pub index: String,
}

/// A Super Search answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    /// One object per hit, keyed by column.
    pub hits: Vec<Map<String, Value>>,
    /// Matching documents.
    pub total: u64,
    /// Aggregations by name.
    pub facets: BTreeMap<String, Facet>,
    /// Problems met (missing weekly indices).
    pub errors: Vec<SearchWarning>,
    /// With `_return_query`: the backend query that would run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<Value>,
}

impl SearchResults {
    /// No hits, no facets.
    pub fn empty() -> Self {
        Self {
            hits: vec![],
            total: 0,
            facets: BTreeMap::new(),
            errors: vec![],
            query: None,
        }
    }

    /// The JSON body Socorro returns.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| json!({}))
    }
}

/// Flatten a column value: `[]` → null, `[x]` → x.
pub fn flatten(v: Option<&Value>) -> Value {
    match v {
        None => Value::Null,
        Some(Value::Array(items)) if items.is_empty() => Value::Null,
        Some(Value::Array(items)) if items.len() == 1 => items[0].clone(),
        Some(v) => v.clone(),
    }
}

/// Build one hit from a flat source (search field name → value).
pub fn hit_from_source(query: &SearchQuery, source: &Map<String, Value>) -> Map<String, Value> {
    query
        .columns
        .iter()
        .map(|c| (c.clone(), flatten(source.get(c))))
        .collect()
}

/// Render a date bucket key (epoch ms).
pub fn date_term(ms: i64) -> Value {
    match DateTime::from_timestamp_millis(ms) {
        Some(d) => Value::String(d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
        None => Value::from(ms),
    }
}

fn bucket_key(fields: &Fields, agg: &Agg, bucket: &Value) -> Value {
    let key = bucket.get("key").cloned().unwrap_or(Value::Null);
    let def = fields.get(&agg.field);
    let is = |t: QueryType| def.is_some_and(|d| d.query_type == t);
    if matches!(agg.kind, AggKind::DateHistogram(_)) || is(QueryType::Date) {
        if let Some(ms) = key.as_f64() {
            return date_term(ms as i64);
        }
        return bucket.get("key_as_string").cloned().unwrap_or(key);
    }
    if def.is_some_and(|d| d.storage == crate::fields::Storage::Boolean) {
        let truthy = match &key {
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64() == Some(1.0),
            Value::String(s) => s == "true" || s == "1" || s == "T",
            _ => false,
        };
        return Value::String(if truthy { "T" } else { "F" }.into());
    }
    let integral =
        def.is_some_and(|d| d.storage.is_integer() || d.data_validation_type == FieldType::Int);
    if integral && let Some(f) = key.as_f64() {
        return Value::from(f as i64);
    }
    if let Some(f) = key.as_f64()
        && key.is_number()
    {
        return Value::from(f);
    }
    key
}

fn compare_terms(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => a
            .as_str()
            .unwrap_or_default()
            .cmp(b.as_str().unwrap_or_default()),
    }
}

/// Convert an Elasticsearch-style `aggregations` object into facets.
/// Terms buckets are ordered by count descending, then term ascending;
/// histogram buckets by key.
pub fn facets_from_aggregations(
    fields: &Fields,
    aggs: &[Agg],
    response: &Value,
) -> BTreeMap<String, Facet> {
    let mut out = BTreeMap::new();
    for agg in aggs {
        let name = agg.name();
        let Some(node) = response.get(&name) else {
            continue;
        };
        let facet = match agg.kind {
            AggKind::Cardinality => Facet::Cardinality {
                value: node.get("value").and_then(Value::as_f64).unwrap_or(0.0) as u64,
            },
            _ => {
                let mut buckets: Vec<Bucket> = node
                    .get("buckets")
                    .and_then(Value::as_array)
                    .map(|bs| bs.as_slice())
                    .unwrap_or_default()
                    .iter()
                    .map(|b| Bucket {
                        term: bucket_key(fields, agg, b),
                        count: b.get("doc_count").and_then(Value::as_f64).unwrap_or(0.0) as u64,
                        facets: facets_from_aggregations(fields, &agg.subs, b),
                    })
                    .filter(|b| b.count > 0)
                    .collect();
                if agg.kind == AggKind::Terms {
                    buckets.sort_by(|a, b| {
                        b.count
                            .cmp(&a.count)
                            .then_with(|| compare_terms(&a.term, &b.term))
                    });
                } else {
                    buckets.sort_by(|a, b| compare_terms(&a.term, &b.term));
                }
                Facet::Buckets(buckets)
            }
        };
        out.insert(name, facet);
    }
    out
}

/// The Elasticsearch-style aggregation request for `aggs`; `key` maps a
/// search field to the backend's field name (exact/keyword version).
pub fn aggregations_request(aggs: &[Agg], size: usize, key: &dyn Fn(&str) -> String) -> Value {
    let mut out = Map::new();
    for agg in aggs {
        let field = key(&agg.field);
        let mut body = match &agg.kind {
            AggKind::Terms => json!({ "terms": { "field": field, "size": size } }),
            AggKind::Cardinality => json!({ "cardinality": { "field": field } }),
            AggKind::DateHistogram(i) => json!({ "date_histogram": {
                "field": field, "fixed_interval": i.es_text(), "min_doc_count": 1 } }),
            AggKind::Histogram(i) => json!({ "histogram": {
                "field": field, "interval": i, "min_doc_count": 1 } }),
        };
        if !agg.subs.is_empty()
            && let Value::Object(m) = &mut body
        {
            m.insert("aggs".into(), aggregations_request(&agg.subs, size, key));
        }
        out.insert(agg.name(), body);
    }
    Value::Object(out)
}
