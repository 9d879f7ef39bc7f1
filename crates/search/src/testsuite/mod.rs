//! The conformance suite every `SearchIndex` backend runs (feature
//! `testsuite`): a generated data set of a few thousand crashes, ~90 queries
//! whose expected totals, hits, facets and errors are computed
//! independently from the data, PII checks, and partition management.

pub mod cases;
pub mod data;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

pub use self::cases::{Case, cases};
pub use self::data::{Crash, DATASET_SIZE, dataset, now};
use crate::document::IndexDoc;
use crate::query::{Agg, AggKind, week_name};
use crate::results::{Bucket, Facet, date_term, flatten};
use crate::{Fields, Permissions, SearchIndex, SearchQuery, SearchResults, SearchWarning};

/// Parse the parameters of a case.
pub fn parse_case(case: &Case, fields: &Fields) -> SearchQuery {
    match SearchQuery::parse(case.params, fields, now()) {
        Ok(q) => q,
        Err(e) => panic!("case {}: parse failed: {e}", case.name),
    }
}

/// Index the data set (in batches) and refresh.
pub async fn load(index: &dyn SearchIndex) -> Vec<Crash> {
    let crashes = dataset();
    let docs: Vec<Value> = crashes.iter().map(Crash::processed).collect();
    for chunk in docs.chunks(1000) {
        match index.index(chunk).await {
            Ok(stats) => assert_eq!(
                stats.indexed,
                chunk.len(),
                "indexed count, skipped: {:?}",
                stats.skipped
            ),
            Err(e) => panic!("indexing failed: {e}"),
        }
    }
    if let Err(e) = index.refresh().await {
        panic!("refresh failed: {e}");
    }
    crashes
}

fn in_range(q: &SearchQuery, d: &DateTime<Utc>) -> bool {
    let lower = if q.date_from.1 {
        *d >= q.date_from.0
    } else {
        *d > q.date_from.0
    };
    let upper = if q.date_to.1 {
        *d <= q.date_to.0
    } else {
        *d < q.date_to.0
    };
    lower && upper
}

/// A flat document source.
type Source = Map<String, Value>;

fn values_of(src: &Map<String, Value>, field: &str) -> Vec<Value> {
    match src.get(field) {
        None => vec![],
        Some(Value::Array(items)) => items.clone(),
        Some(v) => vec![v.clone()],
    }
}

fn term_of(fields: &Fields, field: &str, v: &Value) -> Value {
    let is_bool = fields
        .get(field)
        .is_some_and(|d| d.storage == crate::Storage::Boolean);
    match v {
        Value::Bool(b) if is_bool => Value::from(if *b { "T" } else { "F" }),
        v => v.clone(),
    }
}

fn date_ms(v: &Value) -> Option<i64> {
    v.as_str()
        .and_then(crate::query::parse_date)
        .map(|d| d.timestamp_millis())
}

/// Expected facets computed by brute force over normalized sources.
pub fn expected_facets(
    fields: &Fields,
    aggs: &[Agg],
    size: usize,
    docs: &[&Map<String, Value>],
) -> BTreeMap<String, Facet> {
    let mut out = BTreeMap::new();
    for agg in aggs {
        let facet = match &agg.kind {
            AggKind::Cardinality => {
                let set: BTreeSet<String> = docs
                    .iter()
                    .flat_map(|d| values_of(d, &agg.field))
                    .map(|v| v.to_string())
                    .collect();
                Facet::Cardinality {
                    value: set.len() as u64,
                }
            }
            kind => {
                let mut groups: BTreeMap<String, (Value, Vec<&Source>)> = BTreeMap::new();
                for d in docs {
                    let mut seen = BTreeSet::new();
                    for v in values_of(d, &agg.field) {
                        let term = match kind {
                            AggKind::DateHistogram(i) => match date_ms(&v) {
                                Some(ms) => date_term(ms.div_euclid(i.millis) * i.millis),
                                None => continue,
                            },
                            AggKind::Histogram(i) => match v.as_f64() {
                                Some(x) => {
                                    let k = (x / i).floor() * i;
                                    if fields
                                        .get(&agg.field)
                                        .is_some_and(|f| f.storage.is_integer())
                                    {
                                        Value::from(k as i64)
                                    } else {
                                        Value::from(k)
                                    }
                                }
                                None => continue,
                            },
                            _ => term_of(fields, &agg.field, &v),
                        };
                        let key = term.to_string();
                        if seen.insert(key.clone()) {
                            groups
                                .entry(key)
                                .or_insert_with(|| (term, vec![]))
                                .1
                                .push(d);
                        }
                    }
                }
                let mut buckets: Vec<Bucket> = groups
                    .into_values()
                    .map(|(term, members)| Bucket {
                        term,
                        count: members.len() as u64,
                        facets: expected_facets(fields, &agg.subs, size, &members),
                    })
                    .collect();
                let cmp_terms = |a: &Value, b: &Value| match (a.as_f64(), b.as_f64()) {
                    (Some(x), Some(y)) => x.total_cmp(&y),
                    _ => a
                        .as_str()
                        .unwrap_or_default()
                        .cmp(b.as_str().unwrap_or_default()),
                };
                if agg.kind == AggKind::Terms {
                    buckets.sort_by(|a, b| {
                        b.count
                            .cmp(&a.count)
                            .then_with(|| cmp_terms(&a.term, &b.term))
                    });
                    buckets.truncate(size);
                } else {
                    buckets.sort_by(|a, b| cmp_terms(&a.term, &b.term));
                }
                Facet::Buckets(buckets)
            }
        };
        out.insert(agg.name(), facet);
    }
    out
}

fn sort_value(src: &Map<String, Value>, field: &str, descending: bool) -> Option<Value> {
    let vals = values_of(src, field);
    let cmp = |a: &&Value, b: &&Value| cmp_json(a, b);
    if descending {
        vals.iter().max_by(cmp).cloned()
    } else {
        vals.iter().min_by(cmp).cloned()
    }
}

fn cmp_json(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => a
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&b.as_f64().unwrap_or(0.0)),
    }
}

/// Compare facets; buckets tied at the `size` cut may differ in which term got in.
fn facets_match(
    expected: &BTreeMap<String, Facet>,
    actual: &BTreeMap<String, Facet>,
    path: &str,
    errs: &mut Vec<String>,
) {
    let ek: Vec<&String> = expected.keys().collect();
    let ak: Vec<&String> = actual.keys().collect();
    if ek != ak {
        errs.push(format!("{path}: facet names {ek:?} != {ak:?}"));
        return;
    }
    for (name, e) in expected {
        let Some(a) = actual.get(name) else { continue };
        let p = format!("{path}.{name}");
        match (e, a) {
            (Facet::Cardinality { value: x }, Facet::Cardinality { value: y }) => {
                if x != y {
                    errs.push(format!("{p}: cardinality {x} != {y}"));
                }
            }
            (Facet::Buckets(eb), Facet::Buckets(ab)) => {
                let ec: Vec<u64> = eb.iter().map(|b| b.count).collect();
                let ac: Vec<u64> = ab.iter().map(|b| b.count).collect();
                if ec != ac {
                    errs.push(format!(
                        "{p}: counts {ec:?} != {ac:?}; terms {:?} vs {:?}",
                        eb.iter().map(|b| &b.term).collect::<Vec<_>>(),
                        ab.iter().map(|b| &b.term).collect::<Vec<_>>()
                    ));
                    continue;
                }
                let last = ec.last().copied().unwrap_or(0);
                let cut_tie = eb.len() > 1 && ec.iter().filter(|c| **c == last).count() > 1;
                for (x, y) in eb.iter().zip(ab) {
                    if cut_tie && x.count == last {
                        continue;
                    }
                    if x.term != y.term {
                        errs.push(format!(
                            "{p}: term {} != {} (count {})",
                            x.term, y.term, x.count
                        ));
                        break;
                    }
                    facets_match(&x.facets, &y.facets, &format!("{p}[{}]", x.term), errs);
                }
            }
            _ => errs.push(format!("{p}: facet kinds differ")),
        }
    }
}

/// Check one case; returns what differs.
pub fn check_case(
    case: &Case,
    fields: &Fields,
    prefix: &str,
    crashes: &[Crash],
    sources: &[Map<String, Value>],
    got: &SearchResults,
) -> Vec<String> {
    let mut errs = Vec::new();
    let perms = if case.pii {
        Permissions::with_pii()
    } else {
        Permissions::public()
    };
    let q = parse_case(case, fields).restricted(fields, &perms);
    let matched: Vec<usize> = (0..crashes.len())
        .filter(|&i| in_range(&q, &crashes[i].date) && (case.filter)(&crashes[i]))
        .filter(|&i| {
            // Retention: crashes outside every searched index are not found.
            let names = q.index_names(prefix);
            names.contains(&week_name(prefix, crashes[i].date.date_naive()))
        })
        .collect();
    if got.total != matched.len() as u64 {
        errs.push(format!("total {} != expected {}", got.total, matched.len()));
    }
    // Hits.
    let keys = q.effective_sort();
    let mut order = matched.clone();
    order.sort_by(|&a, &b| {
        for k in &keys {
            let va = sort_value(&sources[a], &k.field, k.descending);
            let vb = sort_value(&sources[b], &k.field, k.descending);
            let o = match (va, vb) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(_), None) => std::cmp::Ordering::Less,
                (Some(x), Some(y)) => {
                    let o = cmp_json(&x, &y);
                    if k.descending { o.reverse() } else { o }
                }
            };
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
    let expected_hits: Vec<Map<String, Value>> = order
        .iter()
        .skip(q.results_offset)
        .take(q.results_number)
        .map(|&i| {
            q.columns
                .iter()
                .map(|c| (c.clone(), flatten(sources[i].get(c))))
                .collect()
        })
        .collect();
    if expected_hits.len() != got.hits.len() {
        errs.push(format!(
            "{} hits != expected {}",
            got.hits.len(),
            expected_hits.len()
        ));
    } else if let Some((n, (e, a))) = expected_hits
        .iter()
        .zip(&got.hits)
        .enumerate()
        .find(|(_, (e, a))| e != a)
    {
        errs.push(format!(
            "hit {n}: {} != expected {}",
            Value::Object(a.clone()),
            Value::Object(e.clone())
        ));
    }
    // Facets.
    let docs: Vec<&Map<String, Value>> = matched.iter().map(|&i| &sources[i]).collect();
    let expected = if got.total == 0 && got.facets.is_empty() {
        BTreeMap::new()
    } else {
        expected_facets(fields, &q.aggs, q.facets_size, &docs)
    };
    facets_match(&expected, &got.facets, "facets", &mut errs);
    // Errors: weekly indices with no data.
    let existing: BTreeSet<String> = crashes
        .iter()
        .map(|c| week_name(prefix, c.date.date_naive()))
        .collect();
    let expected_errors: Vec<SearchWarning> = q
        .index_names(prefix)
        .into_iter()
        .filter(|n| !existing.contains(n))
        .map(|index| SearchWarning {
            kind: "missing_index".into(),
            index,
        })
        .collect();
    if expected_errors != got.errors {
        errs.push(format!(
            "errors {:?} != expected {:?}",
            got.errors, expected_errors
        ));
    }
    // PII never leaks without the permission.
    if !case.pii {
        let json = got.to_json().to_string();
        for c in crashes {
            if let Some(u) = &c.user_comments
                && json.contains(u.as_str())
            {
                errs.push("user_comments leaked".into());
                break;
            }
        }
        if json.contains("private.example") {
            errs.push("url leaked".into());
        }
    }
    errs
}

/// Run every case against `index` (already loaded with [`load`]); panics
/// with every failing case listed. Returns the number of cases run.
pub async fn run_queries(index: &dyn SearchIndex, prefix: &str, crashes: &[Crash]) -> usize {
    let fields = Fields::builtin();
    let sources: Vec<Map<String, Value>> = crashes
        .iter()
        .map(
            |c| match IndexDoc::from_processed(&fields, &c.processed()) {
                Ok(d) => d.values.into_iter().collect(),
                Err(e) => panic!("generated crash not indexable: {e}"),
            },
        )
        .collect();
    let mut failures = Vec::new();
    let all = cases();
    for case in &all {
        let perms = if case.pii {
            Permissions::with_pii()
        } else {
            Permissions::public()
        };
        let q = parse_case(case, &fields);
        match index.search(&q, &perms).await {
            Ok(got) => {
                if std::env::var_os("SEARCH_SUITE_DEBUG").is_some() {
                    eprintln!(
                        "{}: total={} hits={} facets={}",
                        case.name,
                        got.total,
                        got.hits.len(),
                        serde_json::to_string(&got.facets)
                            .unwrap_or_default()
                            .chars()
                            .take(300)
                            .collect::<String>()
                    );
                }
                let errs = check_case(case, &fields, prefix, crashes, &sources, &got);
                if !errs.is_empty() {
                    failures.push(format!("{}: {}", case.name, errs.join("; ")));
                }
            }
            Err(e) => failures.push(format!("{}: search failed: {e}", case.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} conformance queries failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
    all.len()
}

/// PII: protected values come back only with the permission.
pub async fn check_pii(index: &dyn SearchIndex, crashes: &[Crash]) {
    let fields = Fields::builtin();
    let params = [
        ("_columns", "uuid,user_comments,url"),
        ("user_comments", "!__null__"),
        ("_facets", "user_comments"),
    ];
    let q = match SearchQuery::parse(&params, &fields, now()) {
        Ok(q) => q,
        Err(e) => panic!("parse: {e}"),
    };
    let with_comment = crashes
        .iter()
        .filter(|c| in_range(&q, &c.date) && c.user_comments.is_some())
        .count() as u64;
    let public = match index.search(&q, &Permissions::public()).await {
        Ok(r) => r,
        Err(e) => panic!("public search: {e}"),
    };
    assert!(
        public.total > with_comment,
        "public: the protected filter must be ignored"
    );
    assert!(
        public.facets.is_empty(),
        "public: no facet on a protected field"
    );
    for hit in &public.hits {
        assert_eq!(
            hit.keys().collect::<Vec<_>>(),
            vec!["uuid"],
            "public hit has protected columns"
        );
    }
    let text = public.to_json().to_string();
    assert!(
        !text.contains("secret comment") && !text.contains("private.example"),
        "PII leaked"
    );

    let pii = match index.search(&q, &Permissions::with_pii()).await {
        Ok(r) => r,
        Err(e) => panic!("pii search: {e}"),
    };
    assert_eq!(pii.total, with_comment);
    assert!(
        pii.hits
            .iter()
            .all(|h| h.get("user_comments").is_some_and(Value::is_string))
    );
    assert!(pii.facets.contains_key("user_comments"));
}

/// Partitions: names, range deletion, dropping old weeks. Mutates the index.
pub async fn check_partitions(index: &dyn SearchIndex, prefix: &str, crashes: &[Crash]) {
    let mut expected: Vec<String> = crashes
        .iter()
        .map(|c| week_name(prefix, c.date.date_naive()))
        .collect();
    expected.sort();
    expected.dedup();
    let names = match index.list_partitions().await {
        Ok(n) => n,
        Err(e) => panic!("list_partitions: {e}"),
    };
    assert_eq!(names, expected);

    // Delete one day.
    let from = now() - Duration::days(3);
    let to = now() - Duration::days(2);
    let in_day = crashes
        .iter()
        .filter(|c| c.date >= from && c.date < to)
        .count() as u64;
    match index.delete_range(from, to).await {
        Ok(n) => assert_eq!(n, in_day, "deleted count"),
        Err(e) => panic!("delete_range: {e}"),
    }
    if let Err(e) = index.refresh().await {
        panic!("refresh: {e}");
    }
    let fields = Fields::builtin();
    let (f, t) = (from.to_rfc3339(), to.to_rfc3339());
    let params = [("date", format!(">={f}")), ("date", format!("<{t}"))];
    let q = match SearchQuery::parse(&params, &fields, now()) {
        Ok(q) => q,
        Err(e) => panic!("parse: {e}"),
    };
    match index.search(&q, &Permissions::public()).await {
        Ok(r) => assert_eq!(r.total, 0, "crashes left after delete_range"),
        Err(e) => panic!("search: {e}"),
    }

    // Drop the oldest week.
    let oldest = crashes.iter().map(|c| c.date).min().unwrap_or_else(now);
    let dropped = match index.drop_partitions_before(oldest.date_naive()).await {
        Ok(d) => d,
        Err(e) => panic!("drop_partitions_before: {e}"),
    };
    assert_eq!(dropped, vec![expected[0].clone()]);
    match index.list_partitions().await {
        Ok(n) => assert_eq!(n, expected[1..].to_vec()),
        Err(e) => panic!("list_partitions: {e}"),
    }
    if let Err(e) = index.check_health().await {
        panic!("check_health: {e}");
    }
}

/// The whole suite on an empty index whose weekly partitions are named
/// `<prefix>%Y%W`. Returns the number of queries run.
pub async fn run_all(index: &dyn SearchIndex, prefix: &str) -> usize {
    let crashes = load(index).await;
    let n = run_queries(index, prefix, &crashes).await;
    check_pii(index, &crashes).await;
    // Re-indexing the same crashes replaces them (ids are document ids).
    let again: Vec<Value> = crashes.iter().take(100).map(Crash::processed).collect();
    if let Err(e) = index.index(&again).await {
        panic!("re-index: {e}");
    }
    if let Err(e) = index.refresh().await {
        panic!("refresh: {e}");
    }
    let fields = Fields::builtin();
    let all = [
        ("date", ">=2026-10-31T00:00:00"),
        ("date", "<2026-11-21T00:00:00"),
        ("_results_number", "0"),
    ];
    match SearchQuery::parse(&all, &fields, now()) {
        Ok(q) => match index.search(&q, &Permissions::public()).await {
            Ok(r) => assert_eq!(
                r.total,
                crashes.len() as u64,
                "re-indexing duplicated crashes"
            ),
            Err(e) => panic!("search: {e}"),
        },
        Err(e) => panic!("parse: {e}"),
    }
    check_partitions(index, prefix, &crashes).await;
    n
}
