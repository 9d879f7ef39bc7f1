//! Raw crashes (annotations + collector metadata) and dump sets.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A raw crash as Antenna stores it: a flat JSON object of client annotations
/// plus the keys the collector adds (`metadata`, `submitted_timestamp`,
/// `uuid`, `version`). Every field is kept, known or not, so a crash written
/// by Antenna round-trips unchanged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawCrash(pub Map<String, Value>);

impl RawCrash {
    /// An empty raw crash.
    pub fn new() -> Self {
        Self::default()
    }

    /// A string annotation, if present and a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }

    /// A field, whatever its JSON type.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// Set a field, returning its previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        self.0.insert(key.into(), value.into())
    }

    /// Remove a field, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.0.remove(key)
    }

    /// Whether the field is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// The `metadata` object the collector adds, if any.
    pub fn metadata(&self) -> Option<&Map<String, Value>> {
        self.0.get("metadata").and_then(Value::as_object)
    }

    /// JSON bytes with keys sorted, like Antenna's `json.dumps(sort_keys=True)`
    /// (independent of serde_json's `preserve_order` feature).
    pub fn to_sorted_json(&self) -> Vec<u8> {
        // Serialising borrowed JSON into memory cannot fail.
        serde_json::to_vec(&SortedMap(&self.0)).unwrap_or_default()
    }
}

/// Serialise any JSON value with object keys sorted at every level.
///
/// Keys are ordered while writing, so nothing is copied: with serde_json's
/// default `BTreeMap` maps they are already in order, and should a dependency
/// ever turn on `preserve_order` the stored bytes stay the same.
pub fn sorted_json(value: &Value) -> Vec<u8> {
    // Serialising borrowed JSON into memory cannot fail.
    serde_json::to_vec(&Sorted(value)).unwrap_or_default()
}

struct Sorted<'a>(&'a Value);
struct SortedMap<'a>(&'a Map<String, Value>);

impl Serialize for Sorted<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        match self.0 {
            Value::Object(map) => SortedMap(map).serialize(s),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Sorted(item))?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
}

impl Serialize for SortedMap<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut entries: Vec<(&String, &Value)> = self.0.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut map = s.serialize_map(Some(entries.len()))?;
        for (k, v) in entries {
            map.serialize_entry(k, &Sorted(v))?;
        }
        map.end()
    }
}

/// The dumps of one crash, by name as sent (sanitised), e.g.
/// `upload_file_minidump`, `upload_file_minidump_browser`, `memory_report`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DumpSet(pub BTreeMap<String, Bytes>);

impl DumpSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add or replace a dump (a later dump with the same name wins, as in Antenna).
    pub fn insert(&mut self, name: impl Into<String>, data: impl Into<Bytes>) {
        self.0.insert(name.into(), data.into());
    }

    /// A dump by name.
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.0.get(name)
    }

    /// Dump names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// `(name, bytes)` pairs, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Bytes)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of dumps.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no dumps.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Total size of all dumps in bytes.
    pub fn total_bytes(&self) -> usize {
        self.0.values().map(Bytes::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_at_every_level() {
        let v = serde_json::json!({"b": 1, "a": [{"z": 1, "y": {"d": 0, "c": null}}], "c": "x"});
        assert_eq!(
            String::from_utf8(sorted_json(&v)).unwrap(),
            r#"{"a":[{"y":{"c":null,"d":0},"z":1}],"b":1,"c":"x"}"#
        );
        let raw: RawCrash = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(raw.to_sorted_json(), sorted_json(&v));
    }
}
