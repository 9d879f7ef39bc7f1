//! Every setting a config struct accepts, read off its `Deserialize` impl.
//!
//! [`config_keys`] lists the dotted keys (`storage.fs.root`) of a config type
//! without needing `Serialize` or a hand-kept list: it drives the type's
//! derived `Deserialize` with a probing deserializer that records the field
//! names serde asks for (`deserialize_struct` receives them all) and walks
//! into each field to tell nested sections from leaf values. Every config
//! struct is `#[serde(default)]`, so a pass that supplies one field at a time
//! succeeds or fails without affecting what was recorded.
//!
//! The docs' configuration reference, the docker-compose check and the
//! unknown-variable warning of `socorro run` all use it, so none can drift
//! from the structs.

use std::cell::RefCell;
use std::collections::BTreeSet;

use serde::de::value::{BorrowedStrDeserializer, Error as ValueError};
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, Visitor};

use crate::config::{ENV_PREFIX, env_var_name};

/// One setting of a config type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ConfigKey {
    /// Dotted path, e.g. `storage.fs.root`.
    pub path: String,
    /// Whether this is a map whose sub-keys are free (`SOCORRO_X__<ANY>`).
    pub is_map: bool,
}

impl ConfigKey {
    /// The environment variable, e.g. `SOCORRO_STORAGE__FS__ROOT`
    /// (`SOCORRO_X__*` for a map).
    pub fn env_var(&self) -> String {
        let name = env_var_name(&self.path);
        if self.is_map {
            format!("{name}__*")
        } else {
            name
        }
    }
}

#[derive(Default)]
struct Log {
    /// Fields of the struct found at the selected path, if it is a struct.
    fields: Option<Vec<&'static str>>,
    /// The selected path is a map.
    map: bool,
}

/// Every leaf setting of `T`, sorted by path.
pub fn config_keys<T: DeserializeOwned>() -> Vec<ConfigKey> {
    let mut keys = BTreeSet::new();
    let mut pending: Vec<Vec<&'static str>> = vec![Vec::new()];
    while let Some(path) = pending.pop() {
        let log = RefCell::new(Log::default());
        // The result is irrelevant: leaves end the pass with an error on purpose.
        let _ = T::deserialize(Probe {
            select: &path,
            log: &log,
        });
        let log = log.into_inner();
        match log.fields {
            Some(fields) => {
                for f in fields {
                    let mut child = path.clone();
                    child.push(f);
                    pending.push(child);
                }
            }
            None if !path.is_empty() => {
                keys.insert(ConfigKey {
                    path: path.join("."),
                    is_map: log.map,
                });
            }
            None => {}
        }
    }
    keys.into_iter().collect()
}

/// The `SOCORRO_*` variables among `vars` that set nothing in `T` (typos,
/// settings of another version). `SOCORRO_TEST_*` (test harness variables)
/// are never reported.
pub fn unknown_vars<T: DeserializeOwned>(vars: impl IntoIterator<Item = String>) -> Vec<String> {
    let keys = config_keys::<T>();
    let prefix = format!("{ENV_PREFIX}_");
    let mut unknown: Vec<String> = vars
        .into_iter()
        .filter(|v| v.starts_with(&prefix) && !v.starts_with(&format!("{prefix}TEST_")))
        .filter(|v| {
            let path = v[prefix.len()..].to_lowercase().replace("__", ".");
            !keys.iter().any(|k| {
                (!k.is_map && path == k.path)
                    || (k.is_map
                        && path
                            .strip_prefix(k.path.as_str())
                            .is_some_and(|rest| rest.starts_with('.') && rest.len() > 1))
            })
        })
        .collect();
    unknown.sort();
    unknown.dedup();
    unknown
}

/// Deserializer that records what serde asks of the value at `select`.
struct Probe<'a> {
    /// Remaining path to descend before recording.
    select: &'a [&'static str],
    log: &'a RefCell<Log>,
}

fn leaf() -> ValueError {
    de::Error::custom("probe: leaf value")
}

impl<'de> de::Deserializer<'de> for Probe<'_> {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ValueError> {
        Err(leaf())
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self.select.split_first() {
            None => {
                self.log.borrow_mut().fields = Some(fields.to_vec());
                visitor.visit_map(OneField {
                    next: None,
                    log: self.log,
                })
            }
            Some((first, rest)) => visitor.visit_map(OneField {
                next: Some((first, rest)),
                log: self.log,
            }),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ValueError> {
        if self.select.is_empty() {
            self.log.borrow_mut().map = true;
        }
        Err(leaf())
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct enum identifier
        ignored_any
    }
}

/// A map that yields at most one field: the next one on the selected path.
struct OneField<'a> {
    next: Option<(&'a &'static str, &'a [&'static str])>,
    log: &'a RefCell<Log>,
}

impl<'de> MapAccess<'de> for OneField<'_> {
    type Error = ValueError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ValueError> {
        match self.next {
            Some((key, _)) => seed
                .deserialize(BorrowedStrDeserializer::<ValueError>::new(key))
                .map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ValueError> {
        let (_, rest) = self.next.take().ok_or_else(leaf)?;
        seed.deserialize(Probe {
            select: rest,
            log: self.log,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, Default)]
    #[serde(default)]
    #[allow(dead_code)]
    struct Inner {
        port: u16,
        root: Option<PathBuf>,
        mode: Mode,
        #[serde(deserialize_with = "any_list")]
        list: Vec<String>,
    }

    #[derive(Debug, Deserialize, Default)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        #[default]
        A,
    }

    #[derive(Debug, Deserialize, Default)]
    #[serde(default)]
    #[allow(dead_code)]
    struct Outer {
        data_dir: PathBuf,
        server: Inner,
        maybe: Option<Inner>,
        labels: HashMap<String, String>,
        secret: Secret,
    }

    #[derive(Debug, Deserialize, Default)]
    struct Secret(#[allow(dead_code)] String);

    fn any_list<'de, D: de::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        })
    }

    #[test]
    fn lists_nested_optional_map_and_newtype_keys() {
        let keys: Vec<String> = config_keys::<Outer>()
            .iter()
            .map(ConfigKey::env_var)
            .collect();
        assert_eq!(
            keys,
            [
                "SOCORRO_DATA_DIR",
                "SOCORRO_LABELS__*",
                "SOCORRO_MAYBE__LIST",
                "SOCORRO_MAYBE__MODE",
                "SOCORRO_MAYBE__PORT",
                "SOCORRO_MAYBE__ROOT",
                "SOCORRO_SECRET",
                "SOCORRO_SERVER__LIST",
                "SOCORRO_SERVER__MODE",
                "SOCORRO_SERVER__PORT",
                "SOCORRO_SERVER__ROOT",
            ]
        );
    }

    #[test]
    fn reports_unknown_variables_only() {
        let vars = [
            "SOCORRO_SERVER__PORT",
            "SOCORRO_SERVER__PROT",
            "SOCORRO_LABELS__TEAM",
            "SOCORRO_LABELS",
            "SOCORRO_SERVER",
            "SOCORRO_TEST_POSTGRES_URL",
            "PATH",
            "SOCORRO_DATADIR",
        ]
        .map(String::from);
        assert_eq!(
            unknown_vars::<Outer>(vars),
            [
                "SOCORRO_DATADIR",
                "SOCORRO_LABELS",
                "SOCORRO_SERVER",
                "SOCORRO_SERVER__PROT"
            ]
        );
    }
}
