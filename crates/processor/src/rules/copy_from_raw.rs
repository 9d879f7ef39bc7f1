//! `CopyFromRawCrashRule`: copy every annotation the schema maps to a
//! processed field, coerced by the field's first non-null type.

use async_trait::async_trait;
use serde_json::Value;

use super::annotation_table::{COPIED, Copied, Kind};
use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

pub struct CopyFromRawCrashRule;

/// Coerces one annotation; `Err` is the note.
fn coerce(entry: &Copied, value: &Value) -> Result<Value, String> {
    let a = entry.annotation;
    match entry.kind {
        Kind::Boolean => match value {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::Number(n) if n.as_i64() == Some(1) => Ok(Value::Bool(true)),
            Value::Number(n) if n.as_i64() == Some(0) => Ok(Value::Bool(false)),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "1" | "true" => Ok(Value::Bool(true)),
                "0" | "false" => Ok(Value::Bool(false)),
                _ => Err(format!("{a} has non-boolean value {s}")),
            },
            other => Err(format!("{a} has non-boolean value {other}")),
        },
        Kind::Integer => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(value.clone()),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| format!("{a} has a non-int value")),
            _ => Err(format!("{a} has a non-int value")),
        },
        Kind::Number => match value {
            Value::Number(_) => Ok(value.clone()),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| format!("{a} has a non-float value")),
            _ => Err(format!("{a} has a non-float value")),
        },
        Kind::String => match value {
            Value::String(s) => Ok(Value::String(s.trim_end().to_owned())),
            other => Ok(Value::String(other.to_string())),
        },
        Kind::Object => match value {
            Value::String(s) => serde_json::from_str::<Value>(s)
                .ok()
                .filter(|v| v.is_object() || v.is_array())
                .ok_or_else(|| format!("{a} value is malformed json")),
            Value::Object(_) | Value::Array(_) => Ok(value.clone()),
            _ => Err(format!("{a} value is malformed json")),
        },
    }
}

#[async_trait]
impl Rule for CopyFromRawCrashRule {
    fn name(&self) -> &'static str {
        "CopyFromRawCrashRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        for entry in COPIED {
            match crash.raw.get(entry.annotation).filter(|v| !v.is_null()) {
                Some(value) => match coerce(entry, value) {
                    Ok(v) => crash.set(entry.key, v),
                    Err(note) => crash.note(note),
                },
                None => {
                    if let Some(default) = entry.default
                        && let Ok(v) = serde_json::from_str::<Value>(default)
                    {
                        crash.set(entry.key, v);
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: Kind) -> Copied {
        Copied {
            key: "k",
            annotation: "A",
            kind,
            default: None,
        }
    }

    #[test]
    fn coercions() {
        assert_eq!(
            coerce(&entry(Kind::Boolean), &"TRUE".into()),
            Ok(true.into())
        );
        assert_eq!(coerce(&entry(Kind::Boolean), &"0".into()), Ok(false.into()));
        assert_eq!(
            coerce(&entry(Kind::Boolean), &"yes".into()),
            Err("A has non-boolean value yes".into())
        );
        assert_eq!(coerce(&entry(Kind::Integer), &" 42 ".into()), Ok(42.into()));
        assert_eq!(
            coerce(&entry(Kind::Integer), &"4.2".into()),
            Err("A has a non-int value".into())
        );
        assert_eq!(coerce(&entry(Kind::Number), &"4.5".into()), Ok(4.5.into()));
        assert_eq!(
            coerce(&entry(Kind::String), &"x  \n".into()),
            Ok("x".into())
        );
        assert_eq!(
            coerce(&entry(Kind::Object), &"{\"a\":1}".into()),
            Ok(serde_json::json!({"a":1}))
        );
        assert!(coerce(&entry(Kind::Object), &"{".into()).is_err());
    }

    #[test]
    fn table_has_socorro_renames() {
        let find = |k: &str| COPIED.iter().find(|c| c.key == k).map(|c| c.annotation);
        assert_eq!(find("build"), Some("BuildID"));
        assert_eq!(find("product"), Some("ProductName"));
        assert_eq!(find("version"), Some("Version"));
        assert_eq!(find("user_comments"), Some("Comments"));
    }
}
