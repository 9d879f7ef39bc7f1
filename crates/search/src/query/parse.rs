//! Super Search parameters → [`SearchQuery`], with Socorro's validation and
//! messages. Unknown and non-exposed filter names are ignored (as Socorro
//! does); meta parameters are validated strictly.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

use super::model::{
    Agg, AggKind, Condition, DateInterval, FieldFilter, Operand, Operator, SearchQuery, SortKey,
};
use crate::fields::{FieldDef, QueryType};
use crate::{Fields, SearchError};

/// Most hits per page.
pub const MAX_RESULTS_NUMBER: i64 = 1000;
/// Deepest page: offset + number.
pub const MAX_RESULTS_WINDOW: i64 = 10_000;
/// Most buckets per terms aggregation.
pub const MAX_FACETS_SIZE: i64 = 10_000;
/// Longest date range.
pub const MAX_DATE_RANGE_DAYS: i64 = 365;
/// Default date range when no lower bound is given.
pub const DEFAULT_DATE_RANGE_DAYS: i64 = 7;
/// Longest accepted value (guards regexes and wildcards).
pub const MAX_VALUE_LEN: usize = 1024;

const DEFAULT_COLUMNS: [&str; 5] = ["uuid", "date", "signature", "product", "version"];

impl SearchQuery {
    /// Parse Super Search parameters (a multimap in request order).
    pub fn parse<K: AsRef<str>, V: AsRef<str>>(
        params: &[(K, V)],
        fields: &Fields,
        now: DateTime<Utc>,
    ) -> Result<SearchQuery, SearchError> {
        parse_params(params, fields, now)
    }
}

fn bad(param: &str, message: impl Into<String>) -> SearchError {
    SearchError::bad_param(param, message)
}

/// Parse Super Search parameters (a multimap in request order).
pub fn parse_params<K: AsRef<str>, V: AsRef<str>>(
    params: &[(K, V)],
    fields: &Fields,
    now: DateTime<Utc>,
) -> Result<SearchQuery, SearchError> {
    let mut grouped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for (k, v) in params {
        let (k, v) = (k.as_ref(), v.as_ref());
        if v.len() > MAX_VALUE_LEN {
            return Err(bad(
                k,
                format!("Bad value for parameter {k}: value too long"),
            ));
        }
        if !grouped.contains_key(k) {
            order.push(k);
        }
        grouped.entry(k).or_default().push(v);
    }
    let single = |name: &str| grouped.get(name).and_then(|v| v.last().copied());

    let results_number = parse_int_param("_results_number", single("_results_number"), 100)?;
    if results_number > MAX_RESULTS_NUMBER {
        return Err(bad(
            "_results_number",
            "_results_number cannot be greater than 1,000",
        ));
    }
    if results_number < 0 {
        return Err(bad("_results_number", "_results_number cannot be negative"));
    }
    let results_offset = parse_int_param("_results_offset", single("_results_offset"), 0)?;
    if results_offset < 0 {
        return Err(bad("_results_offset", "_results_offset cannot be negative"));
    }
    if results_offset + results_number > MAX_RESULTS_WINDOW {
        return Err(bad(
            "_results_offset",
            "_results_offset + _results_number cannot be greater than 10,000",
        ));
    }
    let facets_size = parse_int_param("_facets_size", single("_facets_size"), 50)?;
    if facets_size > MAX_FACETS_SIZE {
        return Err(bad(
            "_facets_size",
            "_facets_size cannot be greater than 10,000",
        ));
    }
    if facets_size < 0 {
        return Err(bad("_facets_size", "_facets_size cannot be negative"));
    }
    let return_query = match single("_return_query") {
        None => false,
        Some(v) => parse_bool(v),
    };

    // Columns.
    let columns: Vec<String> = match grouped.get("_columns") {
        None => DEFAULT_COLUMNS.iter().map(|s| s.to_string()).collect(),
        Some(values) => split_values(values),
    };
    for c in &columns {
        let def = known_field(fields, "_columns", c)?;
        if !def.is_returned {
            return Err(bad(
                "_columns",
                format!("Field '{c}' is not allowed to be returned"),
            ));
        }
    }

    // Sort.
    let mut sort = Vec::new();
    for s in grouped
        .get("_sort")
        .map(|v| split_values(v))
        .unwrap_or_default()
    {
        let (name, descending) = match s.strip_prefix('-') {
            Some(n) => (n.to_string(), true),
            None => (s.clone(), false),
        };
        let def = known_field(fields, "_sort", &name)?;
        if !def.storage.is_aggregatable() {
            return Err(bad("_sort", format!("Field '{name}' cannot be sorted on")));
        }
        sort.push(SortKey {
            field: name,
            descending,
        });
    }

    // Histogram intervals.
    let mut intervals: BTreeMap<&str, &str> = BTreeMap::new();
    for k in &order {
        if let Some(f) = k.strip_prefix("_histogram_interval.")
            && let Some(v) = single(k)
        {
            intervals.insert(f, v);
        }
    }

    // Aggregations.
    let mut aggs: Vec<Agg> = Vec::new();
    let facet_values = match grouped.get("_facets") {
        None => vec!["signature".to_string()],
        Some(values) => split_values(values),
    };
    for v in &facet_values {
        let agg = agg_from_value(fields, "_facets", v, &intervals, Vec::new())?;
        merge_agg(&mut aggs, agg);
    }
    for k in &order {
        let values = grouped.get(k).map(|v| split_values(v)).unwrap_or_default();
        let subs = |param: &str| -> Result<Vec<Agg>, SearchError> {
            let mut subs = Vec::new();
            for v in &values {
                merge_agg(
                    &mut subs,
                    agg_from_value(fields, param, v, &intervals, Vec::new())?,
                );
            }
            Ok(subs)
        };
        if let Some(path) = k.strip_prefix("_aggs.") {
            let names: Vec<&str> = path.split('.').collect();
            let mut agg: Option<Agg> = None;
            for name in names.iter().rev() {
                let def = known_field(fields, k, name)?;
                check_aggregatable(k, def)?;
                let inner = match agg.take() {
                    Some(a) => vec![a],
                    None => subs(k)?,
                };
                agg = Some(Agg {
                    kind: AggKind::Terms,
                    field: name.to_string(),
                    subs: inner,
                });
            }
            if let Some(agg) = agg {
                merge_agg(&mut aggs, agg);
            }
        } else if let Some(name) = k.strip_prefix("_histogram.") {
            let agg = histogram(fields, k, name, &intervals, subs(k)?)?;
            merge_agg(&mut aggs, agg);
        } else if let Some(name) = k.strip_prefix("_cardinality.") {
            let def = known_field(fields, k, name)?;
            check_aggregatable(k, def)?;
            let agg = Agg {
                kind: AggKind::Cardinality,
                field: name.to_string(),
                subs: vec![],
            };
            merge_agg(&mut aggs, agg);
        }
    }
    if facets_size == 0 {
        aggs.clear();
    }

    // Filters.
    let mut filters = Vec::new();
    let mut date_conditions = Vec::new();
    for k in &order {
        if k.starts_with('_') {
            continue;
        }
        let Some(def) = fields.get(k) else { continue };
        if !def.is_exposed {
            continue;
        }
        let values = grouped.get(k).cloned().unwrap_or_default();
        let mut filter = FieldFilter {
            field: def.name.clone(),
            must: vec![],
            should: vec![],
        };
        for raw in values {
            let cond = parse_value(def, raw)?;
            if def.name == "date" {
                date_conditions.push(cond);
                continue;
            }
            if cond.negated || cond.op.is_range() {
                filter.must.push(cond);
            } else {
                filter.should.push(cond);
            }
        }
        if !filter.must.is_empty() || !filter.should.is_empty() {
            filters.push(filter);
        }
    }
    let (date_from, date_to) = date_bounds(&date_conditions, now)?;

    Ok(SearchQuery {
        date_from,
        date_to,
        now,
        filters,
        columns,
        sort,
        results_number: results_number as usize,
        results_offset: results_offset as usize,
        aggs,
        facets_size: facets_size as usize,
        return_query,
    })
}

fn split_values(values: &[&str]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

fn known_field<'a>(
    fields: &'a Fields,
    param: &str,
    name: &str,
) -> Result<&'a FieldDef, SearchError> {
    fields
        .get(name)
        .filter(|f| f.is_exposed)
        .ok_or_else(|| bad(param, format!("Unknown field '{name}'")))
}

fn check_aggregatable(param: &str, def: &FieldDef) -> Result<(), SearchError> {
    if def.storage.is_aggregatable() {
        Ok(())
    } else {
        Err(bad(
            param,
            format!("Field '{}' cannot be aggregated", def.name),
        ))
    }
}

fn parse_int_param(param: &str, value: Option<&str>, default: i64) -> Result<i64, SearchError> {
    match value {
        None => Ok(default),
        Some(v) => v.trim().parse::<i64>().map_err(|_| {
            bad(
                param,
                format!("Bad value for parameter {param}: not a valid int"),
            )
        }),
    }
}

fn parse_bool(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "true" | "t" | "1" | "y" | "yes"
    )
}

/// Add an aggregation, merging the sub-aggregations of one that already exists.
fn merge_agg(aggs: &mut Vec<Agg>, agg: Agg) {
    if let Some(existing) = aggs.iter_mut().find(|a| a.name() == agg.name()) {
        for sub in agg.subs {
            merge_agg(&mut existing.subs, sub);
        }
    } else {
        aggs.push(agg);
    }
}

fn agg_from_value(
    fields: &Fields,
    param: &str,
    value: &str,
    intervals: &BTreeMap<&str, &str>,
    subs: Vec<Agg>,
) -> Result<Agg, SearchError> {
    if let Some(name) = value.strip_prefix("_histogram.") {
        return histogram(fields, param, name, intervals, subs);
    }
    if let Some(name) = value.strip_prefix("_cardinality.") {
        let def = known_field(fields, param, name)?;
        check_aggregatable(param, def)?;
        return Ok(Agg {
            kind: AggKind::Cardinality,
            field: name.to_string(),
            subs,
        });
    }
    let def = known_field(fields, param, value)?;
    check_aggregatable(param, def)?;
    Ok(Agg {
        kind: AggKind::Terms,
        field: value.to_string(),
        subs,
    })
}

fn histogram(
    fields: &Fields,
    param: &str,
    name: &str,
    intervals: &BTreeMap<&str, &str>,
    subs: Vec<Agg>,
) -> Result<Agg, SearchError> {
    let def = known_field(fields, param, name)?;
    let interval_param = format!("_histogram_interval.{name}");
    let interval = intervals.get(name).copied();
    let kind = match def.query_type {
        QueryType::Date => AggKind::DateHistogram(parse_date_interval(
            &interval_param,
            interval.unwrap_or("day"),
        )?),
        QueryType::Integer | QueryType::Float => {
            let v = interval.unwrap_or("1");
            let n: f64 = v.trim().parse().map_err(|_| {
                bad(
                    &interval_param,
                    format!("Bad value for parameter {interval_param}: not a valid number"),
                )
            })?;
            if !(n.is_finite() && n > 0.0) {
                return Err(bad(
                    &interval_param,
                    format!("{interval_param} must be positive"),
                ));
            }
            AggKind::Histogram(n)
        }
        _ => {
            return Err(bad(
                param,
                format!("Field '{name}' is not a date or number field"),
            ));
        }
    };
    Ok(Agg {
        kind,
        field: name.to_string(),
        subs,
    })
}

fn parse_date_interval(param: &str, v: &str) -> Result<DateInterval, SearchError> {
    let v = v.trim();
    let unit_ms = |u: &str| -> Option<i64> {
        Some(match u {
            "d" | "day" | "days" => 86_400_000,
            "h" | "hour" | "hours" => 3_600_000,
            "m" | "minute" | "minutes" => 60_000,
            "s" | "second" | "seconds" => 1000,
            _ => return None,
        })
    };
    let digits = v.chars().take_while(char::is_ascii_digit).count();
    let (num, unit) = v.split_at(digits);
    let n: i64 = if num.is_empty() {
        1
    } else {
        num.parse().unwrap_or(0)
    };
    match unit_ms(unit) {
        Some(ms) if n > 0 && n <= 366 * 24 * 3600 => Ok(DateInterval { millis: n * ms }),
        _ => Err(bad(
            param,
            format!(
                "Bad value for parameter {param}: use day, hour, minute, second or a fixed interval like 6h"
            ),
        )),
    }
}

/// Parse one value: `!`, then the first operator matching the field type,
/// then the operand converted to the field type.
pub fn parse_value(def: &FieldDef, raw: &str) -> Result<Condition, SearchError> {
    let param = def.name.as_str();
    let (negated, rest) = match raw.strip_prefix('!') {
        Some(r) => (true, r),
        None => (false, raw),
    };
    let ops: &[(&str, Operator)] = match def.query_type {
        QueryType::String => &[
            ("__null__", Operator::IsNull),
            ("=", Operator::Exact),
            ("~", Operator::Contains),
            ("$", Operator::EndsWith),
            ("^", Operator::StartsWith),
            ("@", Operator::Regex),
        ],
        QueryType::Integer | QueryType::Float | QueryType::Date => &[
            ("__null__", Operator::IsNull),
            (">=", Operator::Gte),
            ("<=", Operator::Lte),
            ("<", Operator::Lt),
            (">", Operator::Gt),
        ],
        QueryType::Bool => &[
            ("__true__", Operator::IsTrue),
            ("__null__", Operator::IsNull),
        ],
        QueryType::Enum => &[("__null__", Operator::IsNull)],
    };
    let mut op = Operator::Match;
    let mut operand = rest;
    for (prefix, o) in ops {
        if let Some(r) = rest.strip_prefix(prefix) {
            op = *o;
            operand = r;
            break;
        }
    }
    if matches!(op, Operator::IsNull | Operator::IsTrue) {
        return Ok(Condition {
            negated,
            op,
            value: Operand::None,
        });
    }
    if def.name == "date" && !op.is_range() {
        return Err(bad("date", "date must have a prefix operator"));
    }
    if def.name == "date" && negated {
        return Err(bad("date", "date cannot be negated"));
    }
    if def.name == "version" && op == Operator::Match && operand.ends_with('b') {
        op = Operator::StartsWith;
    }
    let not_valid = |ty: &str| {
        bad(
            param,
            format!("Bad value for parameter {param}: not a valid {ty}"),
        )
    };
    let value = match def.query_type {
        QueryType::Integer => Operand::Int(
            operand
                .trim()
                .parse::<i64>()
                .map_err(|_| not_valid("int"))?,
        ),
        QueryType::Float => {
            let f: f64 = operand.trim().parse().map_err(|_| not_valid("float"))?;
            if !f.is_finite() {
                return Err(not_valid("float"));
            }
            Operand::Float(f)
        }
        QueryType::Date => Operand::Date(parse_date(operand).ok_or_else(|| not_valid("date"))?),
        QueryType::Bool => Operand::Bool(parse_bool(operand)),
        QueryType::String | QueryType::Enum => {
            if operand.is_empty() && op != Operator::Match {
                return Err(bad(
                    param,
                    format!("Bad value for parameter {param}: empty value"),
                ));
            }
            if op == Operator::Regex {
                regex::Regex::new(&format!("^(?:{operand})$")).map_err(|_| {
                    bad(
                        param,
                        format!("Bad value for parameter {param}: not a valid regular expression"),
                    )
                })?;
            }
            Operand::Str(operand.to_string())
        }
    };
    Ok(Condition { negated, op, value })
}

/// Parse Socorro's accepted date formats: ISO date or datetime, `T` or space,
/// optional fraction, optional `Z` or offset; naive times are UTC.
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    let t = s.replacen(' ', "T", 1);
    if let Ok(d) = DateTime::parse_from_rfc3339(&t) {
        return Some(d.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M%:z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(&t, fmt) {
            return Some(d.with_timezone(&Utc));
        }
    }
    let naive = t.trim_end_matches('Z');
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(naive, fmt) {
            return Some(d.and_utc());
        }
    }
    NaiveDate::parse_from_str(naive, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

type Bounds = ((DateTime<Utc>, bool), (DateTime<Utc>, bool));

fn date_bounds(conds: &[Condition], now: DateTime<Utc>) -> Result<Bounds, SearchError> {
    let mut lower: Option<(DateTime<Utc>, bool)> = None;
    let mut upper: Option<(DateTime<Utc>, bool)> = None;
    for c in conds {
        let Operand::Date(d) = c.value else { continue };
        match c.op {
            Operator::Gt | Operator::Gte => {
                let inclusive = c.op == Operator::Gte;
                let tighter = match lower {
                    None => true,
                    Some((cur, cur_inc)) => d > cur || (d == cur && cur_inc && !inclusive),
                };
                if tighter {
                    lower = Some((d, inclusive));
                }
            }
            Operator::Lt | Operator::Lte => {
                let inclusive = c.op == Operator::Lte;
                let tighter = match upper {
                    None => true,
                    Some((cur, cur_inc)) => d < cur || (d == cur && cur_inc && !inclusive),
                };
                if tighter {
                    upper = Some((d, inclusive));
                }
            }
            _ => {}
        }
    }
    let upper = upper.unwrap_or((now, true));
    let lower = lower.unwrap_or((upper.0 - Duration::days(DEFAULT_DATE_RANGE_DAYS), true));
    if upper.0 - lower.0 > Duration::days(MAX_DATE_RANGE_DAYS) {
        return Err(bad("date", "Date range is bigger than 365 days"));
    }
    Ok((lower, upper))
}
