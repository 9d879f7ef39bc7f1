//! Elasticsearch request bodies as pure functions (golden tests pin them).

use serde_json::{Map, Value, json};

use crate::config::ElasticsearchConfig;
use crate::document::{IndexDoc, format_date};
use crate::fields::{FieldDef, Storage};
use crate::query::{Condition, Operand, Operator, week_name};
use crate::results::aggregations_request;
use crate::{Fields, SearchQuery};

fn field_mapping(def: &FieldDef) -> Value {
    match def.storage {
        Storage::Text { full: true } => {
            json!({ "type": "text", "fields": { "full": { "type": "keyword" } } })
        }
        s => json!({ "type": s.es_type() }),
    }
}

/// The index mapping generated from the field list.
pub fn mapping(fields: &Fields) -> Value {
    let mut pc = Map::new();
    for def in fields.iter() {
        let path = def.source_path();
        let parts: Vec<&str> = path.split('.').collect();
        insert_mapping(&mut pc, &parts, field_mapping(def));
    }
    json!({
        "dynamic": false,
        "properties": {
            "crash_id": { "type": "keyword" },
            "removed_fields": { "type": "keyword" },
            "processed_crash": { "type": "object", "dynamic": false, "properties": pc },
        }
    })
}

fn insert_mapping(props: &mut Map<String, Value>, parts: &[&str], mapping: Value) {
    match parts {
        [] => {}
        [last] => {
            props.insert((*last).to_string(), mapping);
        }
        [first, rest @ ..] => {
            let entry = props
                .entry((*first).to_string())
                .or_insert_with(|| json!({ "type": "object", "dynamic": false, "properties": {} }));
            if let Some(Value::Object(inner)) = entry.get_mut("properties") {
                insert_mapping(inner, rest, mapping);
            }
        }
    }
}

/// Settings of a weekly index.
pub fn settings(cfg: &ElasticsearchConfig) -> Value {
    json!({
        "number_of_shards": cfg.number_of_shards,
        "number_of_replicas": cfg.number_of_replicas,
        "max_result_window": 10_000,
    })
}

/// Body of `PUT /<weekly index>`.
pub fn create_index_body(fields: &Fields, cfg: &ElasticsearchConfig) -> Value {
    json!({ "settings": settings(cfg), "mappings": mapping(fields) })
}

/// Body of `PUT /_index_template/<prefix>`: every `<prefix>*` index gets
/// the settings and mapping.
pub fn index_template_body(fields: &Fields, cfg: &ElasticsearchConfig) -> Value {
    json!({
        "index_patterns": [format!("{}*", cfg.index_prefix)],
        "template": { "settings": settings(cfg), "mappings": mapping(fields) },
    })
}

/// `_bulk` lines: an `index` action (`_id` = crash id) then the document.
pub fn bulk_lines(fields: &Fields, prefix: &str, docs: &[IndexDoc]) -> Vec<Value> {
    let mut lines = Vec::with_capacity(docs.len() * 2);
    for doc in docs {
        let index = week_name(prefix, doc.date.date_naive());
        lines.push(json!({ "index": { "_index": index, "_id": doc.crash_id } }));
        lines.push(doc.es_source(fields));
    }
    lines
}

fn operand(v: &Operand) -> Value {
    match v {
        Operand::None => Value::Null,
        Operand::Str(s) => Value::from(s.clone()),
        Operand::Int(n) => Value::from(*n),
        Operand::Float(f) => Value::from(*f),
        Operand::Bool(b) => Value::from(*b),
        Operand::Date(d) => Value::from(format_date(d)),
    }
}

fn escape_wildcard(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The positive query of one condition.
pub fn condition(def: &FieldDef, c: &Condition) -> Value {
    let key = def.es_key();
    let exact = def.es_exact_key();
    match c.op {
        Operator::IsNull => json!({ "bool": { "must_not": [ { "exists": { "field": key } } ] } }),
        Operator::IsTrue => json!({ "term": { key: true } }),
        Operator::Match => match def.storage {
            Storage::Text { .. } => json!({ "match": { key: operand(&c.value) } }),
            _ => json!({ "term": { exact: operand(&c.value) } }),
        },
        Operator::Exact => json!({ "term": { exact: operand(&c.value) } }),
        Operator::Contains | Operator::StartsWith | Operator::EndsWith => {
            let s = match &c.value {
                Operand::Str(s) => escape_wildcard(s),
                _ => String::new(),
            };
            let pattern = match c.op {
                Operator::Contains => format!("*{s}*"),
                Operator::StartsWith => format!("{s}*"),
                _ => format!("*{s}"),
            };
            json!({ "wildcard": { exact: { "value": pattern } } })
        }
        Operator::Regex => json!({ "regexp": { exact: { "value": operand(&c.value) } } }),
        Operator::Gt | Operator::Gte | Operator::Lt | Operator::Lte => {
            let op = match c.op {
                Operator::Gt => "gt",
                Operator::Gte => "gte",
                Operator::Lt => "lt",
                _ => "lte",
            };
            json!({ "range": { key: { op: operand(&c.value) } } })
        }
    }
}

/// The filter part: date range AND every field's conditions.
pub fn query_dsl(fields: &Fields, q: &SearchQuery) -> Value {
    let date_key = fields
        .get("date")
        .map(FieldDef::es_key)
        .unwrap_or_else(|| "processed_crash.date_processed".into());
    let lower = if q.date_from.1 { "gte" } else { "gt" };
    let upper = if q.date_to.1 { "lte" } else { "lt" };
    let mut filter = vec![json!({ "range": { date_key: {
        lower: format_date(&q.date_from.0), upper: format_date(&q.date_to.0) } } })];
    let mut must_not = Vec::new();
    for f in &q.filters {
        let Some(def) = fields.get(&f.field) else {
            continue;
        };
        for c in &f.must {
            if c.negated {
                must_not.push(condition(def, c));
            } else {
                filter.push(condition(def, c));
            }
        }
        if !f.should.is_empty() {
            let should: Vec<Value> = f.should.iter().map(|c| condition(def, c)).collect();
            filter.push(json!({ "bool": { "should": should, "minimum_should_match": 1 } }));
        }
    }
    let mut b = json!({ "filter": filter });
    if !must_not.is_empty() {
        b["must_not"] = Value::Array(must_not);
    }
    json!({ "bool": b })
}

/// The `_search` body of a query.
pub fn search_body(fields: &Fields, q: &SearchQuery) -> Value {
    let sort: Vec<Value> = q
        .effective_sort()
        .iter()
        .filter_map(|k| {
            let def = fields.get(&k.field)?;
            Some(json!({ def.es_exact_key(): { "order": if k.descending { "desc" } else { "asc" } } }))
        })
        .collect();
    let source: Vec<String> = q
        .columns
        .iter()
        .filter_map(|c| fields.get(c))
        .map(FieldDef::es_key)
        .collect();
    let mut body = json!({
        "query": query_dsl(fields, q),
        "from": q.results_offset,
        "size": q.results_number,
        "sort": sort,
        "_source": source,
        "track_total_hits": true,
    });
    if !q.aggs.is_empty() {
        body["aggs"] = aggregations_request(&q.aggs, q.facets_size, &|name| {
            fields
                .get(name)
                .map(FieldDef::es_exact_key)
                .unwrap_or_else(|| name.to_string())
        });
    }
    body
}

/// The `_delete_by_query` body for `[from, to)`.
pub fn delete_range_body(
    fields: &Fields,
    from: &chrono::DateTime<chrono::Utc>,
    to: &chrono::DateTime<chrono::Utc>,
) -> Value {
    let date_key = fields
        .get("date")
        .map(FieldDef::es_key)
        .unwrap_or_else(|| "processed_crash.date_processed".into());
    json!({ "query": { "range": { date_key: { "gte": format_date(from), "lt": format_date(to) } } } })
}

/// A hit's flat source (search name → value) from an Elasticsearch `_source`.
pub fn flat_source(fields: &Fields, columns: &[String], source: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(pc) = source.get("processed_crash") else {
        return out;
    };
    for c in columns {
        let Some(def) = fields.get(c) else { continue };
        let mut cur = Some(pc);
        for part in def.source_path().split('.') {
            cur = cur.and_then(|v| v.get(part));
        }
        if let Some(v) = cur {
            out.insert(c.clone(), v.clone());
        }
    }
    out
}
