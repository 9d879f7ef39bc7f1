//! A processed crash → the document both backends index: one normalized
//! value per search field (Socorro's per-type value fixes applied).

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::Fields;
use crate::fields::{FieldDef, Storage};
use crate::query::parse_date;

/// Longest keyword value kept (characters).
pub const MAX_KEYWORD_CHARS: usize = 10_000;
/// Longest text value kept (UTF-8 bytes).
pub const MAX_TEXT_BYTES: usize = 32_766;
/// What a non-string in a string field becomes.
pub const BAD_DATA: &str = "BAD DATA";

/// One crash, ready to index.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDoc {
    /// The crash id (`uuid`).
    pub crash_id: String,
    /// `date_processed`, which picks the weekly index.
    pub date: DateTime<Utc>,
    /// Normalized values by search field name; missing, null, empty values
    /// and empty lists are absent.
    pub values: BTreeMap<String, Value>,
    /// Fields the backend refused and that were dropped (Socorro's
    /// `removed_fields`).
    pub removed_fields: Vec<String>,
}

/// Why a processed crash cannot be indexed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocError {
    /// No `uuid`.
    #[error("processed crash has no uuid")]
    NoUuid,
    /// No parseable `date_processed`.
    #[error("processed crash {0} has no valid date_processed")]
    NoDate(String),
}

/// Canonical text of a timestamp in documents (Socorro's `date_processed` shape).
pub fn format_date(d: &DateTime<Utc>) -> String {
    d.to_rfc3339_opts(SecondsFormat::Micros, false)
}

fn lookup<'a>(doc: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = doc;
    for part in path {
        cur = cur.get(part)?;
    }
    Some(cur)
}

impl IndexDoc {
    /// Build the document of a processed crash.
    pub fn from_processed(fields: &Fields, crash: &Value) -> Result<Self, DocError> {
        let crash_id = crash
            .get("uuid")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(DocError::NoUuid)?
            .to_string();
        let date = crash
            .get("date_processed")
            .and_then(Value::as_str)
            .and_then(parse_date)
            .ok_or_else(|| DocError::NoDate(crash_id.clone()))?;
        let mut values = BTreeMap::new();
        for (def, path) in fields.source_paths() {
            let Some(raw) = lookup(crash, path) else {
                continue;
            };
            if let Some(v) = normalize(def, raw) {
                values.insert(def.name.clone(), v);
            }
        }
        Ok(Self {
            crash_id,
            date,
            values,
            removed_fields: Vec::new(),
        })
    }

    /// The flat `_source` we store: search field name → value.
    pub fn source(&self) -> Value {
        Value::Object(
            self.values
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }

    /// The Elasticsearch document: `{"crash_id", "processed_crash": {…}}` with
    /// values at their processed-crash paths.
    pub fn es_source(&self, fields: &Fields) -> Value {
        let mut pc = Map::new();
        for (name, value) in &self.values {
            let Some(def) = fields.get(name) else {
                continue;
            };
            let path = def.source_path();
            let parts: Vec<&str> = path.split('.').collect();
            insert_path(&mut pc, &parts, value.clone());
        }
        let mut doc = serde_json::json!({ "crash_id": self.crash_id, "processed_crash": pc });
        if !self.removed_fields.is_empty() {
            doc["removed_fields"] = Value::from(self.removed_fields.join(" "));
        }
        doc
    }
}

fn insert_path(map: &mut Map<String, Value>, parts: &[&str], value: Value) {
    match parts {
        [] => {}
        [last] => {
            map.insert((*last).to_string(), value);
        }
        [first, rest @ ..] => {
            let entry = map
                .entry((*first).to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(m) = entry {
                insert_path(m, rest, value);
            }
        }
    }
}

/// Normalize one value (or each item of a list) for the field's storage.
pub fn normalize(def: &FieldDef, raw: &Value) -> Option<Value> {
    match raw {
        Value::Null => None,
        Value::Array(items) => {
            let out: Vec<Value> = items.iter().filter_map(|v| normalize_one(def, v)).collect();
            if out.is_empty() {
                None
            } else {
                Some(Value::Array(out))
            }
        }
        v => normalize_one(def, v),
    }
}

fn normalize_one(def: &FieldDef, raw: &Value) -> Option<Value> {
    match def.storage {
        Storage::Keyword => match raw {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(Value::String(s.chars().take(MAX_KEYWORD_CHARS).collect())),
            Value::Null | Value::Array(_) => None,
            _ => Some(Value::String(BAD_DATA.into())),
        },
        Storage::Text { .. } => match raw {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => {
                let mut end = s.len().min(MAX_TEXT_BYTES);
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                Some(Value::String(s[..end].to_string()))
            }
            Value::Null | Value::Array(_) => None,
            _ => Some(Value::String(BAD_DATA.into())),
        },
        Storage::Integer | Storage::Short | Storage::Long => {
            let n = match raw {
                Value::Number(n) => n.as_i64().or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                        .map(|f| f as i64)
                })?,
                Value::String(s) => s.trim().parse::<i64>().ok()?,
                Value::Bool(b) => i64::from(*b),
                _ => return None,
            };
            let fits = match def.storage {
                Storage::Short => i16::try_from(n).is_ok(),
                Storage::Integer => i32::try_from(n).is_ok(),
                _ => true,
            };
            fits.then(|| Value::from(n))
        }
        Storage::Double => {
            let f = match raw {
                Value::Number(n) => n.as_f64()?,
                Value::String(s) => s.trim().parse::<f64>().ok()?,
                _ => return None,
            };
            f.is_finite().then(|| Value::from(f))
        }
        Storage::Boolean => Some(Value::Bool(match raw {
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_i64() == Some(1),
            Value::String(s) => s == "1" || s.eq_ignore_ascii_case("true"),
            _ => false,
        })),
        Storage::Date => {
            let d = match raw {
                Value::String(s) => parse_date(s)?,
                _ => return None,
            };
            Some(Value::String(format_date(&d)))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn fixes_values_by_type() {
        let fields = Fields::builtin();
        let crash = json!({
            "uuid": "de1bb258-cbbf-4589-a673-34f800160918",
            "date_processed": "2026-11-20 10:00:00",
            "os_name": "Linux",
            "uptime": "12",
            "accessibility": "1",
            "signature": 42,
            "addons": ["a", "", null],
            "memory_measures": {"explicit": 5},
            "cpu_count": 100000,
            "address": ""
        });
        let doc = IndexDoc::from_processed(&fields, &crash).unwrap();
        assert_eq!(doc.values["platform"], json!("Linux"));
        assert_eq!(doc.values["uptime"], json!(12));
        assert_eq!(doc.values["accessibility"], json!(true));
        assert_eq!(doc.values["signature"], json!("BAD DATA"));
        assert_eq!(doc.values["addons"], json!(["a"]));
        assert_eq!(doc.values["memory_explicit"], json!(5));
        assert_eq!(
            doc.values["date"],
            json!("2026-11-20T10:00:00.000000+00:00")
        );
        assert!(!doc.values.contains_key("cpu_count"));
        assert!(!doc.values.contains_key("address"));
        let es = doc.es_source(&fields);
        assert_eq!(
            es["processed_crash"]["memory_measures"]["explicit"],
            json!(5)
        );
        assert_eq!(es["processed_crash"]["os_name"], json!("Linux"));
    }
}
