//! Turning a `/submit` request into annotations and dumps, exactly as
//! Antenna's `extract_payload` does (SOCORRO-REFERENCE §1.3).

use std::convert::Infallible;

use bytes::Bytes;
use crash_storage::DumpSet;
use crash_storage::keys::{RESERVED_DUMP_NAMES, dump_storage_name};
use serde_json::{Map, Value};

/// Why a submission is malformed; the response body is
/// `Discarded=malformed_<reason>` with status 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    NoContentType,
    WrongContentType,
    NoBoundary,
    NoContentLength,
    BadGzip,
    InvalidJson,
    InvalidJsonValue,
    InvalidDumpName,
    InvalidPayloadStructure,
    NoAnnotations,
    InvalidUuid,
}

impl Malformed {
    pub const ALL: [Malformed; 11] = [
        Self::NoContentType,
        Self::WrongContentType,
        Self::NoBoundary,
        Self::NoContentLength,
        Self::BadGzip,
        Self::InvalidJson,
        Self::InvalidJsonValue,
        Self::InvalidDumpName,
        Self::InvalidPayloadStructure,
        Self::NoAnnotations,
        Self::InvalidUuid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoContentType => "no_content_type",
            Self::WrongContentType => "wrong_content_type",
            Self::NoBoundary => "no_boundary",
            Self::NoContentLength => "no_content_length",
            Self::BadGzip => "bad_gzip",
            Self::InvalidJson => "invalid_json",
            Self::InvalidJsonValue => "invalid_json_value",
            Self::InvalidDumpName => "invalid_dump_name",
            Self::InvalidPayloadStructure => "invalid_payload_structure",
            Self::NoAnnotations => "no_annotations",
            Self::InvalidUuid => "invalid_uuid",
        }
    }
}

/// What a well-formed submission contained.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extracted {
    /// Client annotations (strings from form parts; any JSON from `extra`).
    pub annotations: Map<String, Value>,
    pub dumps: DumpSet,
    /// Collector notes, in the order Antenna adds them.
    pub notes: Vec<String>,
    /// `"json"` if a JSON part was seen, else `"multipart"`.
    pub payload: &'static str,
}

/// Check the `Content-Type` header and return the multipart boundary.
pub fn boundary_from_content_type(content_type: Option<&str>) -> Result<String, Malformed> {
    let ct = content_type.ok_or(Malformed::NoContentType)?;
    let (media, rest) = match ct.split_once(';') {
        Some((m, r)) => (m.trim(), Some(r.trim())),
        None => (ct.trim(), None),
    };
    if media != "multipart/form-data" && media != "multipart/mixed" {
        return Err(Malformed::WrongContentType);
    }
    let rest = rest.ok_or(Malformed::NoBoundary)?;
    let value = rest
        .strip_prefix("boundary=")
        .ok_or(Malformed::NoBoundary)?;
    let value = value.split(';').next().unwrap_or("").trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    if value.is_empty() {
        return Err(Malformed::NoBoundary);
    }
    Ok(value.to_owned())
}

/// Sanitise a dump name as Antenna does: keep ASCII `[A-Za-z0-9_]`, at most
/// 30 characters. Refuses names that collide with other storage keys.
pub fn sanitize_dump_name(name: &str) -> Result<String, Malformed> {
    let clean: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(30)
        .collect();
    if RESERVED_DUMP_NAMES.contains(&clean.as_str()) {
        return Err(Malformed::InvalidDumpName);
    }
    Ok(clean)
}

/// A part's whole data. The body is parsed from one buffer, so a part
/// normally arrives as one chunk, a slice of that buffer: return it as is
/// (multer's `Field::bytes` would copy it, 300 KB for a typical dump).
async fn field_bytes(mut field: multer::Field<'_>) -> multer::Result<Bytes> {
    let Some(first) = field.chunk().await? else {
        return Ok(Bytes::new());
    };
    let Some(second) = field.chunk().await? else {
        return Ok(first);
    };
    let mut data = bytes::BytesMut::with_capacity(first.len() + second.len());
    data.extend_from_slice(&first);
    data.extend_from_slice(&second);
    while let Some(chunk) = field.chunk().await? {
        data.extend_from_slice(&chunk);
    }
    Ok(data.freeze())
}

/// Parse a (decompressed) multipart body.
pub async fn extract_payload(body: Bytes, boundary: &str) -> Result<Extracted, Malformed> {
    let stream = futures_util::stream::once(async move { Ok::<Bytes, Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);

    let mut annotations = Map::new();
    let mut dumps = DumpSet::new();
    let mut notes = Vec::new();
    let mut has_json = false;
    let mut has_kvpairs = false;

    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => return Err(Malformed::InvalidPayloadStructure),
        };
        let Some(name) = field.name().map(str::to_owned) else {
            // Parts with no name are skipped; drain them to move on.
            field_bytes(field)
                .await
                .map_err(|_| Malformed::InvalidPayloadStructure)?;
            continue;
        };
        let content_type = field
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| "text/plain".to_owned());
        let has_filename = field.file_name().is_some();
        let data = field_bytes(field)
            .await
            .map_err(|_| Malformed::InvalidPayloadStructure)?;

        if content_type.starts_with("application/json") {
            let value: Value = serde_json::from_slice(&data).map_err(|_| Malformed::InvalidJson)?;
            let Value::Object(map) = value else {
                return Err(Malformed::InvalidJsonValue);
            };
            // The JSON object replaces every annotation seen so far.
            annotations = map;
            has_json = true;
        } else if content_type.starts_with("text/plain") && !has_filename {
            match String::from_utf8(data.to_vec()) {
                Ok(text) => {
                    annotations.insert(name, Value::String(text));
                    has_kvpairs = true;
                }
                Err(_) => notes.push(
                    "extract payload text part exception: invalid text or charset: utf-8".into(),
                ),
            }
        } else {
            if content_type != "application/octet-stream" {
                notes.push(format!("unknown content type: {name} {content_type}"));
            }
            let clean = sanitize_dump_name(&name)?;
            // `upload_file_minidump`, `dump` and a name sanitised to "" share
            // one storage key (`v1/dump/<id>`): as in Antenna the last one
            // wins, and we say so.
            let key = dump_storage_name(&clean);
            let clash: Vec<String> = dumps
                .names()
                .filter(|other| *other != clean && dump_storage_name(other) == key)
                .map(str::to_owned)
                .collect();
            for other in clash {
                dumps.0.remove(&other);
                notes.push(format!(
                    "dump {clean:?} replaces dump {other:?} (same storage key)"
                ));
            }
            dumps.insert(clean, data);
        }
    }

    if annotations.is_empty() {
        return Err(Malformed::NoAnnotations);
    }
    if has_json && has_kvpairs {
        notes.push("includes annotations in both json-encoded extra and formdata parts".into());
    }
    Ok(Extracted {
        annotations,
        dumps,
        notes,
        payload: if has_json { "json" } else { "multipart" },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_checks() {
        assert_eq!(
            boundary_from_content_type(None),
            Err(Malformed::NoContentType)
        );
        assert_eq!(
            boundary_from_content_type(Some("application/json")),
            Err(Malformed::WrongContentType)
        );
        assert_eq!(
            boundary_from_content_type(Some("multipart/form-data")),
            Err(Malformed::NoBoundary)
        );
        assert_eq!(
            boundary_from_content_type(Some("multipart/form-data; charset=x")),
            Err(Malformed::NoBoundary)
        );
        assert_eq!(
            boundary_from_content_type(Some("multipart/mixed; boundary=abc")).as_deref(),
            Ok("abc")
        );
        assert_eq!(
            boundary_from_content_type(Some("multipart/form-data; boundary=\"q b\"")).as_deref(),
            Ok("q b")
        );
    }

    #[test]
    fn hostile_dump_names() {
        assert_eq!(
            sanitize_dump_name("../../etc/passwd").as_deref(),
            Ok("etcpasswd")
        );
        assert_eq!(
            sanitize_dump_name(&"a".repeat(500)).map(|s| s.len()),
            Ok(30)
        );
        assert_eq!(
            sanitize_dump_name("raw_crash"),
            Err(Malformed::InvalidDumpName)
        );
        assert_eq!(sanitize_dump_name("raw/crash").as_deref(), Ok("rawcrash"));
        assert_eq!(
            sanitize_dump_name("dump_names"),
            Err(Malformed::InvalidDumpName)
        );
        assert_eq!(
            sanitize_dump_name("processed_crash"),
            Err(Malformed::InvalidDumpName)
        );
        assert_eq!(sanitize_dump_name("ü🦀").as_deref(), Ok(""));
    }
}
