//! `SignatureShutdownTimeout`: replaces the signature with
//! `AsyncShutdownTimeout | <phase> | <conditions>`.

use serde_json::Value;

use super::{Rule, RuleError};
use crate::crash_data::CrashData;
use crate::generator::SignatureGenerator;
use crate::py::{self, Scalar};
use crate::result::SignatureResult;

pub(crate) struct SignatureShutdownTimeout;

/// Builds the signature parts from the annotation. `Err` is a Python
/// exception that fails the rule; a parse problem is `Ok` with a note.
fn parts(raw: &Scalar) -> Result<(Vec<String>, Option<String>), RuleError> {
    let mut parts = vec!["AsyncShutdownTimeout".to_owned()];
    let Scalar::Str(text) = raw else {
        return Err(RuleError(format!(
            "the JSON object must be str, bytes or bytearray, not {}",
            raw.type_name()
        )));
    };
    let data: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            parts.push("UNKNOWN".to_owned());
            return Ok((parts, Some(e.to_string())));
        }
    };
    let Value::Object(map) = &data else {
        return Err(RuleError(format!(
            "'{}' object has no attribute 'get'",
            py::json_type_name(&data)
        )));
    };
    match map.get("phase") {
        Some(Value::String(phase)) => parts.push(phase.clone()),
        _ => parts.push("(unknown)".to_owned()),
    }
    let mut conditions = Vec::new();
    match map.get("conditions") {
        Some(Value::Array(items)) => {
            for c in items {
                match c {
                    Value::Object(obj) => match obj.get("name") {
                        Some(name) => conditions.push(py_str(name)),
                        None => {
                            parts.push("UNKNOWN".to_owned());
                            return Ok((parts, Some("'name'".to_owned())));
                        }
                    },
                    other => conditions.push(py_str(other)),
                }
            }
        }
        // Python iterates a string by character and a dict by key.
        Some(Value::String(s)) => conditions.extend(s.chars().map(String::from)),
        Some(Value::Object(obj)) => conditions.extend(obj.keys().cloned()),
        Some(v) if py::json_truthy(v) => {
            return Err(RuleError(format!(
                "'{}' object is not iterable",
                py::json_type_name(v)
            )));
        }
        _ => {}
    }
    if conditions.is_empty() {
        parts.push("(none)".to_owned());
    } else {
        conditions.sort();
        parts.push(conditions.join(","));
    }
    Ok((parts, None))
}

fn py_str(v: &Value) -> String {
    Scalar::from_json(v).map_or_else(|| "None".to_owned(), |s| s.py_str())
}

impl Rule for SignatureShutdownTimeout {
    fn name(&self) -> &'static str {
        "SignatureShutdownTimeout"
    }

    fn predicate(
        &self,
        _: &SignatureGenerator,
        crash: &CrashData,
        _: &SignatureResult,
    ) -> Result<bool, RuleError> {
        Ok(crash
            .async_shutdown_timeout
            .as_ref()
            .is_some_and(Scalar::truthy))
    }

    fn action(
        &self,
        _: &SignatureGenerator,
        crash: &CrashData,
        result: &mut SignatureResult,
    ) -> Result<(), RuleError> {
        let Some(raw) = crash.async_shutdown_timeout.as_ref() else {
            return Ok(());
        };
        let (parts, error) = parts(raw)?;
        if let Some(error) = error {
            result.info(
                self.name(),
                format!("Error parsing AsyncShutdownTimeout: {error}"),
            );
        }
        let note = format!(
            "Signature replaced with a Shutdown Timeout signature, was: \"{}\"",
            result.signature
        );
        result.info(self.name(), note);
        result.set_signature(self.name(), parts.join(" | "));
        Ok(())
    }
}
