//! The backend-neutral query model both backends translate.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::{Fields, Permissions};

/// How long crashes are kept in the index (Socorro: 26 weeks).
pub const RETENTION_WEEKS: i64 = 26;

/// One operator of Super Search's value syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// Bare value: `match` (analysed for text fields, exact otherwise).
    Match,
    /// `=`: exact (on `.full` when present).
    Exact,
    /// `~`: contains.
    Contains,
    /// `^`: starts with.
    StartsWith,
    /// `$`: ends with.
    EndsWith,
    /// `@`: regular expression (whole value).
    Regex,
    /// `>`.
    Gt,
    /// `>=`.
    Gte,
    /// `<`.
    Lt,
    /// `<=`.
    Lte,
    /// `__null__`: the field is missing.
    IsNull,
    /// `__true__`: the field is true.
    IsTrue,
}

impl Operator {
    /// Whether this is a range operator (AND-ed within a field).
    pub fn is_range(self) -> bool {
        matches!(self, Self::Gt | Self::Gte | Self::Lt | Self::Lte)
    }
}

/// A converted operand.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Operand {
    /// No operand (`__null__`, `__true__`).
    None,
    /// Text.
    Str(String),
    /// Whole number.
    Int(i64),
    /// Float.
    Float(f64),
    /// Boolean.
    Bool(bool),
    /// Timestamp.
    Date(DateTime<Utc>),
}

/// One parsed value of a filter parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    /// Leading `!`.
    pub negated: bool,
    /// The operator.
    pub op: Operator,
    /// The converted value.
    pub value: Operand,
}

/// All conditions on one field. A document matches when every `must`
/// condition holds (ranges and negations) and, if `should` is not empty, at
/// least one `should` condition holds (positive non-range values are OR-ed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldFilter {
    /// Search field name.
    pub field: String,
    /// AND-ed conditions.
    pub must: Vec<Condition>,
    /// OR-ed conditions.
    pub should: Vec<Condition>,
}

/// A date histogram interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DateInterval {
    /// Bucket width in milliseconds.
    pub millis: i64,
}

impl DateInterval {
    /// Elasticsearch `fixed_interval` text (`1d`, `6h`, `30m`, `10s`).
    pub fn es_text(&self) -> String {
        let s = self.millis / 1000;
        if s % 86_400 == 0 {
            format!("{}d", s / 86_400)
        } else if s % 3600 == 0 {
            format!("{}h", s / 3600)
        } else if s % 60 == 0 {
            format!("{}m", s / 60)
        } else {
            format!("{s}s")
        }
    }
}

/// What an aggregation computes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AggKind {
    /// Top terms with counts.
    Terms,
    /// Date histogram.
    DateHistogram(DateInterval),
    /// Numeric histogram.
    Histogram(f64),
    /// Distinct value count.
    Cardinality,
}

/// One aggregation (facet) with its nested sub-aggregations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agg {
    /// What to compute.
    pub kind: AggKind,
    /// Search field name.
    pub field: String,
    /// Sub-aggregations computed per bucket.
    pub subs: Vec<Agg>,
}

impl Agg {
    /// The facet name in results: `<field>`, `histogram_<field>`, `cardinality_<field>`.
    pub fn name(&self) -> String {
        match self.kind {
            AggKind::Terms => self.field.clone(),
            AggKind::DateHistogram(_) | AggKind::Histogram(_) => {
                format!("histogram_{}", self.field)
            }
            AggKind::Cardinality => format!("cardinality_{}", self.field),
        }
    }

    fn retain_allowed(&mut self, fields: &Fields, perms: &Permissions) {
        self.subs.retain(|a| allowed(fields, perms, &a.field));
        for sub in &mut self.subs {
            sub.retain_allowed(fields, perms);
        }
    }
}

/// One sort key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SortKey {
    /// Search field name.
    pub field: String,
    /// `-field`.
    pub descending: bool,
}

/// A validated Super Search query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchQuery {
    /// Lower date bound and whether it is inclusive.
    pub date_from: (DateTime<Utc>, bool),
    /// Upper date bound and whether it is inclusive.
    pub date_to: (DateTime<Utc>, bool),
    /// The time the query was made (retention window reference).
    pub now: DateTime<Utc>,
    /// Filters, AND-ed across fields.
    pub filters: Vec<FieldFilter>,
    /// Columns of each hit.
    pub columns: Vec<String>,
    /// Sort keys; `uuid` ascending always breaks ties.
    pub sort: Vec<SortKey>,
    /// Hits per page (0..=1000).
    pub results_number: usize,
    /// Hits skipped.
    pub results_offset: usize,
    /// Top-level aggregations.
    pub aggs: Vec<Agg>,
    /// Buckets per terms aggregation (0 = no aggregations).
    pub facets_size: usize,
    /// `_return_query`: return the backend query instead of running it.
    pub return_query: bool,
}

fn allowed(fields: &Fields, perms: &Permissions, name: &str) -> bool {
    fields.get(name).is_some_and(|f| f.allowed(perms))
}

impl SearchQuery {
    /// The query with everything that names a field `perms` may not use
    /// silently dropped (Socorro's `SuperSearch`): filters, columns, sort keys
    /// and aggregations.
    pub fn restricted(&self, fields: &Fields, perms: &Permissions) -> SearchQuery {
        let mut q = self.clone();
        q.filters.retain(|f| allowed(fields, perms, &f.field));
        q.columns.retain(|c| allowed(fields, perms, c));
        q.sort.retain(|s| allowed(fields, perms, &s.field));
        q.aggs.retain(|a| allowed(fields, perms, &a.field));
        for agg in &mut q.aggs {
            agg.retain_allowed(fields, perms);
        }
        q
    }

    /// The sort keys actually applied: the requested ones, or `-date` when
    /// none, then `uuid` ascending as a tie-breaker (results are deterministic
    /// and identical across backends).
    pub fn effective_sort(&self) -> Vec<SortKey> {
        let mut keys = if self.sort.is_empty() {
            vec![SortKey {
                field: "date".into(),
                descending: true,
            }]
        } else {
            self.sort.clone()
        };
        if !keys.iter().any(|k| k.field == "uuid") {
            keys.push(SortKey {
                field: "uuid".into(),
                descending: false,
            });
        }
        keys
    }

    /// Names of the weekly indices the date range touches (`socorro%Y%W`,
    /// one per day, de-duplicated), limited to the retention window.
    pub fn index_names(&self, prefix: &str) -> Vec<String> {
        let oldest = week_name(
            prefix,
            (self.now - Duration::weeks(RETENTION_WEEKS)).date_naive(),
        );
        let mut names: Vec<String> = Vec::new();
        let mut day = self.date_from.0.date_naive();
        let last = self.date_to.0.date_naive();
        while day <= last {
            let name = week_name(prefix, day);
            if name >= oldest && !names.contains(&name) {
                names.push(name);
            }
            match day.succ_opt() {
                Some(d) => day = d,
                None => break,
            }
        }
        names
    }
}

/// The weekly index name of a day: `<prefix>%Y%W` (Monday-based week number).
pub fn week_name(prefix: &str, day: NaiveDate) -> String {
    format!("{prefix}{}", day.format("%Y%W"))
}
