//! Shape check of a processed crash against Socorro's processed-crash
//! JSON schema (the subset the schema uses: `type`, `properties`, `items`,
//! `$ref` to `#/definitions/...`). Like Socorro's `SocorroDataReducer`, keys
//! the schema does not describe are allowed. Unlike it, `null` is accepted
//! for every type: the stackwalker writes `null` for absent optional values
//! even where the schema leaves `null` out (e.g. `json_dump.mac_boot_args`,
//! which Socorro never type-checks because it is protected).

use serde_json::Value;

/// At most this many problems are reported.
const MAX_ERRORS: usize = 20;

/// A loaded schema.
#[derive(Debug, Clone)]
pub struct Schema {
    root: Value,
}

impl Schema {
    pub fn new(root: Value) -> Self {
        Self { root }
    }

    /// Reads a JSON schema file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read(path).map_err(|e| e.to_string())?;
        let root: Value = serde_json::from_slice(&text).map_err(|e| e.to_string())?;
        if !root.is_object() {
            return Err("not a JSON object".into());
        }
        Ok(Self::new(root))
    }

    /// Problems found in `doc`, as `path: message` (empty = valid).
    pub fn check(&self, doc: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.walk(&self.root, doc, "", &mut errors, 0);
        errors
    }

    fn resolve<'a>(&'a self, node: &'a Value) -> &'a Value {
        let mut node = node;
        for _ in 0..8 {
            match node.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    let Some(name) = r.strip_prefix("#/definitions/") else {
                        return node;
                    };
                    match self.root.get("definitions").and_then(|d| d.get(name)) {
                        Some(target) => node = target,
                        None => return node,
                    }
                }
                None => return node,
            }
        }
        node
    }

    fn walk(&self, node: &Value, doc: &Value, path: &str, errors: &mut Vec<String>, depth: usize) {
        if errors.len() >= MAX_ERRORS || depth > 64 {
            return;
        }
        let node = self.resolve(node);
        if let Some(t) = node.get("type")
            && !doc.is_null()
            && !type_matches(t, doc)
        {
            errors.push(format!("{}: expected {t}, got {}", show(path), kind(doc)));
            return;
        }
        match doc {
            Value::Object(map) => {
                if let Some(props) = node.get("properties").and_then(Value::as_object) {
                    for (k, v) in map {
                        if let Some(sub) = props.get(k) {
                            self.walk(sub, v, &format!("{path}.{k}"), errors, depth + 1);
                        }
                    }
                }
            }
            Value::Array(items) => {
                if let Some(sub) = node.get("items").filter(|i| i.is_object()) {
                    for (i, v) in items.iter().enumerate() {
                        self.walk(sub, v, &format!("{path}[{i}]"), errors, depth + 1);
                    }
                }
            }
            _ => {}
        }
    }
}

fn show(path: &str) -> &str {
    if path.is_empty() { "." } else { path }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn one_matches(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => v.is_number(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => true,
    }
}

fn type_matches(t: &Value, v: &Value) -> bool {
    match t {
        Value::String(s) => one_matches(s, v),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .any(|s| one_matches(s, v)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_refs_items() {
        let s = Schema::new(json!({
            "definitions": {"f": {"type": "object", "properties": {"n": {"type": ["integer", "null"]}}}},
            "type": "object",
            "properties": {
                "a": {"type": "string"},
                "fs": {"type": "array", "items": {"$ref": "#/definitions/f"}}
            }
        }));
        assert!(
            s.check(&json!({"a": "x", "fs": [{"n": 1}, {"n": null}], "extra": 1}))
                .is_empty()
        );
        assert!(s.check(&json!({"a": null})).is_empty());
        let errs = s.check(&json!({"a": 1, "fs": [{"n": "x"}]}));
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].starts_with(".a: expected"), "{errs:?}");
        assert!(errs[1].starts_with(".fs[0].n"), "{errs:?}");
    }
}
