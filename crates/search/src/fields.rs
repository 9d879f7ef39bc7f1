//! Super Search field definitions: which processed-crash keys are indexed,
//! how they are stored and queried, and who may see them.
//!
//! The project ships its own list (`crates/search/fields.json`, derived from
//! the processed-crash schema and Socorro's list); Socorro's
//! `super_search_fields.json` loads too ([`Fields::load_socorro`]).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::{Permissions, SearchError};

const BUILTIN: &str = include_str!("../fields.json");

/// How values are validated and converted (`data_validation_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Free text.
    Str,
    /// A whole number.
    Int,
    /// A floating point number.
    Float,
    /// A boolean.
    Bool,
    /// A timestamp.
    Datetime,
    /// One of a small set of values; string operators do not apply.
    Enum,
}

/// Which operators a field accepts (`query_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueryType {
    /// `=`, `~`, `^`, `$`, `@`, `__null__`, bare.
    String,
    /// `>=`, `<=`, `<`, `>`, `__null__`, bare.
    Integer,
    /// Like integer.
    Float,
    /// `__true__`, `__null__`, bare.
    Bool,
    /// `>=`, `<=`, `<`, `>`, `__null__`.
    Date,
    /// `__null__`, bare (other prefixes are matched literally).
    Enum,
}

/// How a field is stored in the index (`storage_mapping.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Exact string.
    Keyword,
    /// Analysed text (lower-cased words); `full` adds an exact `.full` subfield.
    Text {
        /// Whether a keyword `.full` subfield exists.
        full: bool,
    },
    /// 32-bit integer.
    Integer,
    /// 16-bit integer.
    Short,
    /// 64-bit integer.
    Long,
    /// 64-bit float.
    Double,
    /// Boolean.
    Boolean,
    /// Timestamp.
    Date,
}

impl Storage {
    fn from_mapping(mapping: &Value) -> Result<Self, String> {
        let ty = mapping
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("keyword");
        Ok(match ty {
            "keyword" => Self::Keyword,
            "text" => Self::Text {
                full: mapping.pointer("/fields/full").is_some(),
            },
            "integer" => Self::Integer,
            "short" => Self::Short,
            "long" => Self::Long,
            "double" | "float" => Self::Double,
            "boolean" => Self::Boolean,
            "date" => Self::Date,
            other => return Err(format!("unknown storage type {other:?}")),
        })
    }

    /// Whether values are strings.
    pub fn is_string(self) -> bool {
        matches!(self, Self::Keyword | Self::Text { .. })
    }

    /// Whether values are whole numbers.
    pub fn is_integer(self) -> bool {
        matches!(self, Self::Integer | Self::Short | Self::Long)
    }

    /// Whether the field (or its `.full` subfield) can be aggregated and sorted.
    pub fn is_aggregatable(self) -> bool {
        !matches!(self, Self::Text { full: false })
    }

    /// Elasticsearch's name of the type.
    pub fn es_type(self) -> &'static str {
        match self {
            Self::Keyword => "keyword",
            Self::Text { .. } => "text",
            Self::Integer => "integer",
            Self::Short => "short",
            Self::Long => "long",
            Self::Double => "double",
            Self::Boolean => "boolean",
            Self::Date => "date",
        }
    }
}

/// One Super Search field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDef {
    /// Search name (`platform`).
    pub name: String,
    /// `processed_crash` or `processed_crash.<sub object>`.
    pub namespace: String,
    /// Key inside the namespace (`os_name`).
    pub in_database_name: String,
    /// Value validation type.
    pub data_validation_type: FieldType,
    /// Operator set.
    pub query_type: QueryType,
    /// Index storage.
    pub storage: Storage,
    /// Whether an exact `.full` subfield exists.
    pub has_full_version: bool,
    /// Whether it may be used in queries.
    pub is_exposed: bool,
    /// Whether it may be returned as a column.
    pub is_returned: bool,
    /// Permissions needed to use or see the field.
    pub permissions_needed: Vec<String>,
}

impl FieldDef {
    /// Dotted path of the value inside the processed crash
    /// (`memory_measures.explicit`, `os_name`).
    pub fn source_path(&self) -> String {
        match self.namespace.strip_prefix("processed_crash") {
            Some(rest) if !rest.is_empty() => {
                format!("{}.{}", rest.trim_start_matches('.'), self.in_database_name)
            }
            _ => self.in_database_name.clone(),
        }
    }

    /// The Elasticsearch document key (`processed_crash.os_name`).
    pub fn es_key(&self) -> String {
        format!("processed_crash.{}", self.source_path())
    }

    /// The Elasticsearch key for exact matching, sorting and aggregations
    /// (`.full` when present).
    pub fn es_exact_key(&self) -> String {
        if self.has_full() {
            format!("{}.full", self.es_key())
        } else {
            self.es_key()
        }
    }

    /// Whether the field has an exact `.full` keyword subfield.
    pub fn has_full(&self) -> bool {
        self.has_full_version && matches!(self.storage, Storage::Text { full: true })
    }

    /// Whether `perms` may use and see this field.
    pub fn allowed(&self, perms: &Permissions) -> bool {
        perms.allows(&self.permissions_needed)
    }

    /// Whether the field is public.
    pub fn is_public(&self) -> bool {
        self.allowed(&Permissions::public())
    }
}

#[derive(Deserialize)]
struct RawField {
    name: String,
    #[serde(default = "default_namespace")]
    namespace: String,
    in_database_name: String,
    data_validation_type: FieldType,
    query_type: QueryType,
    #[serde(default)]
    storage_mapping: Option<Value>,
    #[serde(default)]
    has_full_version: bool,
    #[serde(default = "yes")]
    is_exposed: bool,
    #[serde(default = "yes")]
    is_returned: bool,
    #[serde(default = "default_permissions")]
    permissions_needed: Vec<String>,
}

fn default_namespace() -> String {
    "processed_crash".into()
}
fn yes() -> bool {
    true
}
fn default_permissions() -> Vec<String> {
    vec!["public".into(), "protected".into()]
}

/// The field list.
#[derive(Debug, Clone, PartialEq)]
pub struct Fields {
    by_name: BTreeMap<String, FieldDef>,
    /// (search name, processed-crash path parts), precomputed for indexing.
    paths: Vec<(String, Vec<String>)>,
}

impl Fields {
    /// The project's field list (embedded).
    pub fn builtin() -> Self {
        // The embedded file is checked by a unit test; never fails in practice.
        static BUILTIN_FIELDS: std::sync::OnceLock<Fields> = std::sync::OnceLock::new();
        BUILTIN_FIELDS
            .get_or_init(|| {
                Self::from_json_str(BUILTIN).unwrap_or_else(|_| Self {
                    by_name: BTreeMap::new(),
                    paths: vec![],
                })
            })
            .clone()
    }

    /// Load Socorro's `super_search_fields.json` (an object keyed by name) or
    /// our list format (an array).
    pub fn load_socorro(path: &Path) -> Result<Self, SearchError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SearchError::Fields(format!("{}: {e}", path.display())))?;
        Self::from_json_str(&text)
    }

    /// Parse a field list: an array of definitions or an object keyed by name.
    pub fn from_json_str(text: &str) -> Result<Self, SearchError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| SearchError::Fields(e.to_string()))?;
        let items: Vec<Value> = match value {
            Value::Array(items) => items,
            Value::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
            _ => return Err(SearchError::Fields("expected an array or an object".into())),
        };
        let mut by_name = BTreeMap::new();
        for item in items {
            let raw: RawField =
                serde_json::from_value(item).map_err(|e| SearchError::Fields(e.to_string()))?;
            let storage = match &raw.storage_mapping {
                Some(m) => Storage::from_mapping(m)
                    .map_err(|e| SearchError::Fields(format!("{}: {e}", raw.name)))?,
                None => match raw.query_type {
                    QueryType::Integer => Storage::Long,
                    QueryType::Float => Storage::Double,
                    QueryType::Bool => Storage::Boolean,
                    QueryType::Date => Storage::Date,
                    QueryType::String | QueryType::Enum => Storage::Keyword,
                },
            };
            let def = FieldDef {
                name: raw.name.clone(),
                namespace: raw.namespace,
                in_database_name: raw.in_database_name,
                data_validation_type: raw.data_validation_type,
                query_type: raw.query_type,
                storage,
                has_full_version: raw.has_full_version,
                is_exposed: raw.is_exposed,
                is_returned: raw.is_returned,
                permissions_needed: raw.permissions_needed,
            };
            by_name.insert(raw.name, def);
        }
        if !by_name.contains_key("date") || !by_name.contains_key("uuid") {
            return Err(SearchError::Fields(
                "the `date` and `uuid` fields are required".into(),
            ));
        }
        let paths = by_name
            .values()
            .map(|d| {
                (
                    d.name.clone(),
                    d.source_path().split('.').map(str::to_string).collect(),
                )
            })
            .collect();
        Ok(Self { by_name, paths })
    }

    /// Each field's name and its path inside the processed crash.
    pub fn source_paths(&self) -> impl Iterator<Item = (&FieldDef, &[String])> {
        self.paths
            .iter()
            .filter_map(|(name, path)| self.by_name.get(name).map(|d| (d, path.as_slice())))
    }

    /// One field by search name.
    pub fn get(&self, name: &str) -> Option<&FieldDef> {
        self.by_name.get(name)
    }

    /// All fields, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &FieldDef> {
        self.by_name.values()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn builtin_loads() {
        let f = Fields::from_json_str(BUILTIN).unwrap();
        assert!(f.len() > 100);
        let platform = f.get("platform").unwrap();
        assert_eq!(platform.source_path(), "os_name");
        assert_eq!(platform.es_exact_key(), "processed_crash.os_name.full");
        assert_eq!(
            f.get("memory_explicit").unwrap().source_path(),
            "memory_measures.explicit"
        );
        assert!(!f.get("user_comments").unwrap().is_public());
        assert!(f.get("signature").unwrap().is_public());
    }

    #[test]
    fn socorro_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/testdata/socorro/super_search/super_search_fields.json");
        let f = Fields::load_socorro(&path).unwrap();
        assert_eq!(f.len(), 156);
        assert_eq!(f.get("date").unwrap().storage, Storage::Date);
    }
}
