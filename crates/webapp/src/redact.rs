//! Socorro's redaction of protected data: a user without `view_pii` sees a
//! processed or raw crash reduced to the schema nodes marked `public`
//! (`transform_schema` with a permissions predicate, then
//! `SocorroDataReducer.traverse`): keys absent from the reduced schema are
//! dropped, including keys the schema does not know. Users with `view_pii`
//! get the document unchanged.
//!
//! The schemas' public views are embedded from `public_schema.json`, which
//! is derived from Socorro's processed and raw crash schemas (kept outside
//! the repository, in the shared test data): the `public_schema_is_current`
//! test rebuilds it from them and fails when it drifts; run it with
//! `UPDATE_PUBLIC_SCHEMA=1` to rewrite the file.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::{Map, Value};

/// `{"processed_crash": <schema>, "raw_crash": <schema>}`: only the nodes a
/// user without permissions may see (see the module docs).
const PUBLIC_SCHEMA: &str = include_str!("../public_schema.json");

/// The document does not match the schema's types (Socorro's
/// `InvalidDocumentError`; the report page shows "malformed").
#[derive(Debug, thiserror::Error)]
#[error("invalid: {path}: {message}")]
pub struct InvalidDocument {
    pub path: String,
    pub message: String,
}

/// A loaded schema is not a socorro-data schema.
#[derive(Debug, thiserror::Error)]
#[error("invalid schema: {0}")]
pub struct InvalidSchema(String);

/// One node of a reduced schema.
#[derive(Debug)]
struct Node {
    types: Vec<String>,
    properties: BTreeMap<String, Node>,
    patterns: Vec<(String, Regex, Node)>,
    items: Option<Box<Node>>,
}

/// The public views of the processed and raw crash schemas.
#[derive(Debug)]
pub struct Redactor {
    processed: Node,
    raw: Node,
}

impl Redactor {
    /// Build from the embedded public views of Socorro's schemas.
    pub fn public() -> Result<Self, InvalidSchema> {
        let root: Value =
            serde_json::from_str(PUBLIC_SCHEMA).map_err(|e| InvalidSchema(e.to_string()))?;
        let part = |name: &str| {
            let node = root
                .get(name)
                .ok_or_else(|| InvalidSchema(format!("{name} missing")))?;
            build(node, &Map::new(), &["public"], 0)?
                .ok_or_else(|| InvalidSchema("nothing is public".into()))
        };
        Ok(Self {
            processed: part("processed_crash")?,
            raw: part("raw_crash")?,
        })
    }

    /// The public views of Socorro's full schemas (`processed_crash.schema.json`
    /// and `raw_crash.schema.json` texts), as the JSON embedded by [`Self::public`].
    pub fn public_views_json(processed: &str, raw: &str) -> Result<Value, InvalidSchema> {
        let have = ["public"];
        Ok(serde_json::json!({
            "processed_crash": to_json(&reduce_schema(processed, &have)?),
            "raw_crash": to_json(&reduce_schema(raw, &have)?),
        }))
    }

    /// The processed crash as a user without `view_pii` may see it.
    pub fn processed(&self, doc: &Value) -> Result<Value, InvalidDocument> {
        traverse(&self.processed, doc, "")
    }

    /// The raw crash as a user without `view_pii` may see it.
    pub fn raw(&self, doc: &Value) -> Result<Value, InvalidDocument> {
        traverse(&self.raw, doc, "")
    }

    /// Top-level processed crash keys a public user may see.
    pub fn public_processed_keys(&self) -> impl Iterator<Item = &str> {
        self.processed.properties.keys().map(String::as_str)
    }
}

fn reduce_schema(text: &str, have: &[&str]) -> Result<Node, InvalidSchema> {
    let root: Value = serde_json::from_str(text).map_err(|e| InvalidSchema(e.to_string()))?;
    let defs = root
        .get("definitions")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    build(&root, &defs, have, 0)?.ok_or_else(|| InvalidSchema("nothing is public".into()))
}

fn types_of(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Resolve `$ref` (keys beside it win), drop what `have` may not see.
fn build(
    node: &Value,
    defs: &Map<String, Value>,
    have: &[&str],
    depth: usize,
) -> Result<Option<Node>, InvalidSchema> {
    if depth > 64 {
        return Err(InvalidSchema("schema nested too deep (cycle?)".into()));
    }
    let mut obj = node
        .as_object()
        .cloned()
        .ok_or_else(|| InvalidSchema("schema node is not an object".into()))?;
    if let Some(r) = obj.remove("$ref") {
        let name = r
            .as_str()
            .and_then(|s| s.strip_prefix("#/definitions/"))
            .ok_or_else(|| InvalidSchema(format!("unsupported $ref {r}")))?;
        let mut base = defs
            .get(name)
            .and_then(Value::as_object)
            .cloned()
            .ok_or_else(|| InvalidSchema(format!("unknown definition {name}")))?;
        for (k, v) in obj {
            base.insert(k, v);
        }
        obj = base;
    }
    let needed: Vec<&str> = obj
        .get("permissions")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if needed.iter().any(|p| !have.contains(p)) {
        return Ok(None);
    }
    let types = obj.get("type").map(types_of).unwrap_or_default();
    let mut out = Node {
        types,
        properties: BTreeMap::new(),
        patterns: Vec::new(),
        items: None,
    };
    if out.types.iter().any(|t| t == "object") {
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                if let Some(n) = build(v, defs, have, depth + 1)? {
                    out.properties.insert(k.clone(), n);
                }
            }
        }
        if let Some(props) = obj.get("pattern_properties").and_then(Value::as_object) {
            for (k, v) in props {
                if let Some(n) = build(v, defs, have, depth + 1)? {
                    let re = Regex::new(&format!("^(?:{k})"))
                        .map_err(|e| InvalidSchema(format!("pattern {k}: {e}")))?;
                    out.patterns.push((k.clone(), re, n));
                }
            }
        }
        if out.properties.is_empty() && out.patterns.is_empty() {
            return Ok(None);
        }
    } else if out.types.iter().any(|t| t == "array") {
        let Some(items) = obj.get("items") else {
            return Ok(None);
        };
        match build(items, defs, have, depth + 1)? {
            Some(n) => out.items = Some(Box::new(n)),
            None => return Ok(None),
        }
    }
    Ok(Some(out))
}

/// A reduced node as a schema that [`build`] reads back to the same node.
fn to_json(node: &Node) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), serde_json::json!(node.types));
    out.insert("permissions".into(), serde_json::json!(["public"]));
    if !node.properties.is_empty() {
        let props: Map<String, Value> = node
            .properties
            .iter()
            .map(|(k, n)| (k.clone(), to_json(n)))
            .collect();
        out.insert("properties".into(), Value::Object(props));
    }
    if !node.patterns.is_empty() {
        let props: Map<String, Value> = node
            .patterns
            .iter()
            .map(|(k, _, n)| (k.clone(), to_json(n)))
            .collect();
        out.insert("pattern_properties".into(), Value::Object(props));
    }
    if let Some(items) = &node.items {
        out.insert("items".into(), to_json(items));
    }
    Value::Object(out)
}

fn has_type(node: &Node, t: &str) -> bool {
    node.types.iter().any(|x| x == t)
}

fn traverse(node: &Node, doc: &Value, path: &str) -> Result<Value, InvalidDocument> {
    let bad = |found: &str| InvalidDocument {
        path: path.to_owned(),
        message: format!("type {found} not in {:?}", node.types),
    };
    match doc {
        Value::Null => has_type(node, "null")
            .then(|| doc.clone())
            .ok_or(bad("null")),
        Value::Bool(_) => has_type(node, "boolean")
            .then(|| doc.clone())
            .ok_or(bad("boolean")),
        Value::String(_) => has_type(node, "string")
            .then(|| doc.clone())
            .ok_or(bad("string")),
        Value::Number(n) => {
            // JSON Schema: every integer is also a number.
            let ok = if n.is_f64() {
                has_type(node, "number")
            } else {
                has_type(node, "integer") || has_type(node, "number")
            };
            ok.then(|| doc.clone())
                .ok_or(bad(if n.is_f64() { "number" } else { "integer" }))
        }
        Value::Array(items) => {
            let Some(item) = node.items.as_deref().filter(|_| has_type(node, "array")) else {
                return Err(bad("array"));
            };
            items
                .iter()
                .enumerate()
                .map(|(i, v)| traverse(item, v, &format!("{path}.[{i}]")))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        Value::Object(map) => {
            if !has_type(node, "object") {
                return Err(bad("object"));
            }
            let mut out = Map::new();
            for (k, v) in map {
                let child = node.properties.get(k).or_else(|| {
                    node.patterns
                        .iter()
                        .find(|(_, re, _)| re.is_match(k))
                        .map(|(_, _, n)| n)
                });
                if let Some(child) = child {
                    out.insert(k.clone(), traverse(child, v, &format!("{path}.{k}"))?);
                }
            }
            Ok(Value::Object(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `public_schema.json` is exactly the public view of Socorro's schemas
    /// in the shared test data; `UPDATE_PUBLIC_SCHEMA=1` rewrites it.
    #[test]
    fn public_schema_is_current() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/testdata/socorro/schemas"
        );
        let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).unwrap();
        let want = Redactor::public_views_json(
            &read("processed_crash.schema.json"),
            &read("raw_crash.schema.json"),
        )
        .unwrap();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/public_schema.json");
        if std::env::var_os("UPDATE_PUBLIC_SCHEMA").is_some() {
            std::fs::write(path, serde_json::to_string_pretty(&want).unwrap() + "\n").unwrap();
        }
        let have: Value = serde_json::from_str(PUBLIC_SCHEMA).unwrap();
        assert!(
            have == want,
            "public_schema.json is stale: run with UPDATE_PUBLIC_SCHEMA=1"
        );
        // Reading the view back gives the same public tree.
        let back = Redactor::public().unwrap();
        assert_eq!(to_json(&back.processed), want["processed_crash"]);
        assert_eq!(to_json(&back.raw), want["raw_crash"]);
    }

    #[test]
    fn protected_processed_fields_are_dropped() {
        let r = Redactor::public().unwrap();
        let doc = json!({
            "uuid": "de1bb258-cbbf-4589-a673-34f800160918",
            "signature": "OOM | small",
            "product": "Firefox",
            "url": "https://secret.example/",
            "user_comments": "my email is a@b.c",
            "memory_report": {"x": 1},
            "unknown_key_not_in_schema": 1,
            "json_dump": {
                "crashing_thread": {"frames": [{"frame": 0, "function": "f", "registers": {"rip": "0x1"}}]},
                "threads": [{"frames": [{"frame": 0, "module": "m", "registers": {"rip": "0x1"}}]}],
            },
        });
        let out = r.processed(&doc).unwrap();
        assert_eq!(out["signature"], "OOM | small");
        for gone in [
            "url",
            "user_comments",
            "memory_report",
            "unknown_key_not_in_schema",
        ] {
            assert!(out.get(gone).is_none(), "{gone} leaked");
        }
        let frame = &out["json_dump"]["crashing_thread"]["frames"][0];
        assert_eq!(frame["function"], "f");
        assert!(frame.get("registers").is_none());
        assert!(
            out["json_dump"]["threads"][0]["frames"][0]
                .get("registers")
                .is_none()
        );
    }

    #[test]
    fn protected_annotations_are_dropped() {
        let r = Redactor::public().unwrap();
        let doc = json!({"ProductName": "Firefox", "URL": "https://x/", "Comments": "hi",
                         "Version": "1.0", "NotInSchema": "x"});
        let out = r.raw(&doc).unwrap();
        assert_eq!(out["ProductName"], "Firefox");
        assert!(out.get("URL").is_none());
        assert!(out.get("Comments").is_none());
        assert!(out.get("NotInSchema").is_none());
    }

    #[test]
    fn wrong_types_are_invalid() {
        let r = Redactor::public().unwrap();
        assert!(r.processed(&json!({"signature": 5})).is_err());
        assert!(r.processed(&json!({"uptime": 5})).is_ok());
    }
}
