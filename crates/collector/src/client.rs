//! Building Breakpad-style submissions (used by `socorro submit`, tests and
//! benchmarks). Produces exactly what Breakpad and Crashpad clients send: a
//! `multipart/form-data` body with text annotation parts and
//! `application/octet-stream` dump parts, optionally gzipped.

use bytes::Bytes;

/// One part of a submission.
#[derive(Debug, Clone)]
enum Part {
    Text {
        name: String,
        value: String,
    },
    Json {
        name: String,
        value: String,
    },
    File {
        name: String,
        filename: String,
        content_type: String,
        data: Bytes,
    },
}

/// A submission body under construction.
#[derive(Debug, Clone)]
pub struct Submission {
    boundary: String,
    parts: Vec<Part>,
}

impl Default for Submission {
    fn default() -> Self {
        Self::new()
    }
}

impl Submission {
    pub fn new() -> Self {
        let boundary = format!("------------------------{:016x}", rand::random::<u64>());
        Self {
            boundary,
            parts: Vec::new(),
        }
    }

    pub fn with_boundary(boundary: impl Into<String>) -> Self {
        Self {
            boundary: boundary.into(),
            parts: Vec::new(),
        }
    }

    /// A `text/plain` annotation part (Breakpad's form fields).
    pub fn annotation(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.parts.push(Part::Text {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    /// An `extra` part with `application/json` annotations (Firefox's form).
    pub fn json_extra(mut self, json: impl Into<String>) -> Self {
        self.parts.push(Part::Json {
            name: "extra".into(),
            value: json.into(),
        });
        self
    }

    /// A dump part (`application/octet-stream`).
    pub fn dump(mut self, name: impl Into<String>, data: impl Into<Bytes>) -> Self {
        self.parts.push(Part::File {
            name: name.into(),
            filename: "file.dmp".into(),
            content_type: "application/octet-stream".into(),
            data: data.into(),
        });
        self
    }

    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// The encoded body (CRLF line endings).
    pub fn body(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for part in &self.parts {
            out.extend_from_slice(format!("--{}\r\n", self.boundary).as_bytes());
            match part {
                Part::Text { name, value } => {
                    out.extend_from_slice(
                        format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                            .as_bytes(),
                    );
                    out.extend_from_slice(value.as_bytes());
                }
                Part::Json { name, value } => {
                    out.extend_from_slice(
                        format!(
                            "Content-Disposition: form-data; name=\"{name}\"\r\nContent-Type: application/json\r\n\r\n"
                        )
                        .as_bytes(),
                    );
                    out.extend_from_slice(value.as_bytes());
                }
                Part::File {
                    name,
                    filename,
                    content_type,
                    data,
                } => {
                    out.extend_from_slice(
                        format!(
                            "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
                        )
                        .as_bytes(),
                    );
                    out.extend_from_slice(data);
                }
            }
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        out
    }

    /// The body gzipped (send with `Content-Encoding: gzip`).
    pub fn gzipped_body(&self) -> Vec<u8> {
        service::limits::gzip(&self.body())
    }
}
