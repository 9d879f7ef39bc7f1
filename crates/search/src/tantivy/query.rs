//! [`SearchQuery`] filters → a Tantivy query.

use std::ops::Bound;

use chrono::{DateTime, Utc};
use tantivy::Index;
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, ExistsQuery, Occur, Query, RangeQuery, RegexQuery,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Schema};
use tantivy::tokenizer::TokenStream;
use tantivy::{DateTime as TDate, Term};

use super::schema::exact_name;
use crate::fields::{FieldDef, Storage};
use crate::query::{Condition, Operand, Operator};
use crate::{Fields, SearchError, SearchQuery};

/// Tantivy date of a chrono timestamp.
pub fn tdate(d: &DateTime<Utc>) -> TDate {
    TDate::from_timestamp_micros(d.timestamp_micros())
}

fn field(schema: &Schema, name: &str) -> Result<Field, SearchError> {
    schema
        .get_field(name)
        .map_err(|_| SearchError::backend(format!("field {name} is not in this index")))
}

/// The date range of a query as a Tantivy query on `field`.
pub fn date_range(
    schema: &Schema,
    name: &str,
    from: (DateTime<Utc>, bool),
    to: (DateTime<Utc>, bool),
) -> Result<Box<dyn Query>, SearchError> {
    let f = field(schema, name)?;
    let t = |d: &DateTime<Utc>| Term::from_field_date(f, tdate(d));
    let lower = if from.1 {
        Bound::Included(t(&from.0))
    } else {
        Bound::Excluded(t(&from.0))
    };
    let upper = if to.1 {
        Bound::Included(t(&to.0))
    } else {
        Bound::Excluded(t(&to.0))
    };
    Ok(Box::new(RangeQuery::new(lower, upper)))
}

/// Build the whole query (date range AND filters).
pub fn build_query(
    index: &Index,
    fields: &Fields,
    q: &SearchQuery,
) -> Result<Box<dyn Query>, SearchError> {
    let schema = index.schema();
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(
        Occur::Must,
        date_range(&schema, "date", q.date_from, q.date_to)?,
    )];
    for filter in &q.filters {
        let Some(def) = fields.get(&filter.field) else {
            continue;
        };
        if schema.get_field(&def.name).is_err() {
            // Field unknown to this (older) index: like a missing value.
            let all_missing = filter
                .must
                .iter()
                .all(|c| c.op == Operator::IsNull && !c.negated)
                && filter.should.iter().all(|c| c.op == Operator::IsNull);
            if !all_missing {
                return Ok(Box::new(EmptyQuery));
            }
            continue;
        }
        for c in &filter.must {
            let occur = if c.negated {
                Occur::MustNot
            } else {
                Occur::Must
            };
            clauses.push((occur, condition(index, &schema, def, c)?));
        }
        if !filter.should.is_empty() {
            let mut should = Vec::new();
            for c in &filter.should {
                should.push((Occur::Should, condition(index, &schema, def, c)?));
            }
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(should))));
        }
    }
    Ok(Box::new(BooleanQuery::new(clauses)))
}

fn escape_regex(s: &str) -> String {
    regex::escape(s)
}

fn term_for(schema_field: Field, def: &FieldDef, value: &Operand) -> Option<Term> {
    Some(match (def.storage, value) {
        (Storage::Integer | Storage::Short | Storage::Long, Operand::Int(n)) => {
            Term::from_field_i64(schema_field, *n)
        }
        (Storage::Integer | Storage::Short | Storage::Long, Operand::Float(f)) => {
            if f.fract() != 0.0 {
                return None;
            }
            Term::from_field_i64(schema_field, *f as i64)
        }
        (Storage::Double, Operand::Float(f)) => Term::from_field_f64(schema_field, *f),
        (Storage::Double, Operand::Int(n)) => Term::from_field_f64(schema_field, *n as f64),
        (Storage::Boolean, Operand::Bool(b)) => Term::from_field_bool(schema_field, *b),
        (Storage::Date, Operand::Date(d)) => Term::from_field_date(schema_field, tdate(d)),
        (Storage::Keyword | Storage::Text { .. }, Operand::Str(s)) => {
            Term::from_field_text(schema_field, s)
        }
        _ => return None,
    })
}

/// The positive query of one condition (negation is the caller's `Occur`).
fn condition(
    index: &Index,
    schema: &Schema,
    def: &FieldDef,
    c: &Condition,
) -> Result<Box<dyn Query>, SearchError> {
    let exact = field(schema, &exact_name(def))?;
    let q: Box<dyn Query> = match c.op {
        Operator::IsNull => Box::new(BooleanQuery::new(vec![
            (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
            (
                Occur::MustNot,
                Box::new(ExistsQuery::new(exact_name(def), false)),
            ),
        ])),
        Operator::IsTrue => match def.storage {
            Storage::Boolean => Box::new(TermQuery::new(
                Term::from_field_bool(exact, true),
                IndexRecordOption::Basic,
            )),
            _ => Box::new(EmptyQuery),
        },
        Operator::Match => match (def.storage, &c.value) {
            (Storage::Text { .. }, Operand::Str(s)) => {
                let text = field(schema, &def.name)?;
                let mut tokenizer = index
                    .tokenizer_for_field(text)
                    .map_err(|e| SearchError::backend(format!("tokenizer: {e}")))?;
                let mut stream = tokenizer.token_stream(s);
                let mut terms: Vec<(Occur, Box<dyn Query>)> = Vec::new();
                while stream.advance() {
                    let term = Term::from_field_text(text, &stream.token().text);
                    terms.push((
                        Occur::Should,
                        Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
                    ));
                }
                if terms.is_empty() {
                    Box::new(EmptyQuery)
                } else {
                    Box::new(BooleanQuery::new(terms))
                }
            }
            _ => match term_for(exact, def, &c.value) {
                Some(t) => Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
                None => Box::new(EmptyQuery),
            },
        },
        Operator::Exact => match term_for(exact, def, &c.value) {
            Some(t) => Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
            None => Box::new(EmptyQuery),
        },
        Operator::Contains | Operator::StartsWith | Operator::EndsWith | Operator::Regex => {
            let Operand::Str(s) = &c.value else {
                return Ok(Box::new(EmptyQuery));
            };
            if !def.storage.is_string() {
                return Ok(Box::new(EmptyQuery));
            }
            let e = escape_regex(s);
            let pattern = match c.op {
                Operator::Contains => format!("(?s).*{e}.*"),
                Operator::StartsWith => format!("(?s){e}.*"),
                Operator::EndsWith => format!("(?s).*{e}"),
                _ => s.clone(),
            };
            Box::new(RegexQuery::from_pattern(&pattern, exact).map_err(|_| {
                SearchError::bad_param(
                    &def.name,
                    format!(
                        "Bad value for parameter {}: not a valid regular expression",
                        def.name
                    ),
                )
            })?)
        }
        Operator::Gt | Operator::Gte | Operator::Lt | Operator::Lte => {
            let Some(t) = term_for(exact, def, &c.value) else {
                return Ok(Box::new(EmptyQuery));
            };
            let (lower, upper) = match c.op {
                Operator::Gt => (Bound::Excluded(t), Bound::Unbounded),
                Operator::Gte => (Bound::Included(t), Bound::Unbounded),
                Operator::Lt => (Bound::Unbounded, Bound::Excluded(t)),
                _ => (Bound::Unbounded, Bound::Included(t)),
            };
            Box::new(RangeQuery::new(lower, upper))
        }
    };
    Ok(q)
}
