//! `POST /submit`: Antenna's `on_post` (SOCORRO-REFERENCE §1.5), except that
//! the client gets its `CrashID` only once the crash is durable AND queued.

use std::time::{Duration, Instant};

use actix_web::http::header::{
    AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING, USER_AGENT,
};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use crash_queue::{QueueItem, QueueName};
use crash_storage::{CrashId, RawCrash};
use serde_json::{Map, Value, json};
use service::limits::{DecompressError, ReadError, gunzip_capped, read_capped};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::Collector;
use crate::error::{SubmitError, crash_id_response, discarded_response};
use crate::extract::{Malformed, boundary_from_content_type, extract_payload};
use crate::throttler::ThrottleResult;

/// Annotations Antenna removes before saving (privacy).
const REMOVED_FIELDS: [&str; 4] = [
    "Email",
    "TelemetryClientId",
    "TelemetryServerURL",
    "TelemetrySessionId",
];

fn header(req: &HttpRequest, name: actix_web::http::header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The actix handler.
pub async fn submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<Collector>,
) -> Result<HttpResponse, SubmitError> {
    let started = Instant::now();
    let result = handle(&req, payload, &state).await;
    state
        .metrics
        .request_seconds
        .observe(started.elapsed().as_secs_f64());
    if let Err(e) = &result {
        state
            .metrics
            .rejected_total
            .with_label_values(&[&e.metric_reason()])
            .inc();
    }
    result
}

async fn handle(
    req: &HttpRequest,
    payload: web::Payload,
    state: &Collector,
) -> Result<HttpResponse, SubmitError> {
    let now = Utc::now();
    let settings = &state.settings;

    // Headers first, before reading anything (§1.3 steps 1-3).
    let boundary =
        boundary_from_content_type(header(req, CONTENT_TYPE)).map_err(SubmitError::Malformed)?;
    // Crashpad's socket transport sends `Transfer-Encoding: chunked` without a
    // Content-Length; Antenna accepts those because nginx de-chunks them in
    // front of it. Without either, or with an empty body, it is
    // `no_content_length`.
    let chunked =
        header(req, TRANSFER_ENCODING).is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let content_length = header(req, CONTENT_LENGTH).and_then(|v| v.trim().parse::<u64>().ok());
    if !chunked && content_length.unwrap_or(0) == 0 {
        return Err(SubmitError::Malformed(Malformed::NoContentLength));
    }
    if content_length.unwrap_or(0) > settings.max_body_bytes as u64 {
        return Err(SubmitError::TooLarge);
    }
    let size_hint = content_length.and_then(|n| usize::try_from(n).ok());
    let body = tokio::time::timeout(
        Duration::from_secs(settings.body_timeout_secs),
        read_capped(payload, settings.max_body_bytes, size_hint),
    )
    .await
    .map_err(|_| SubmitError::BodyTimeout)?
    .map_err(|e| match e {
        ReadError::TooLarge { .. } => SubmitError::TooLarge,
        // The client went away or sent a broken body.
        _ => SubmitError::Malformed(Malformed::InvalidPayloadStructure),
    })?;
    state.metrics.received_bytes_total.inc_by(body.len() as u64);
    if body.is_empty() {
        return Err(SubmitError::Malformed(Malformed::NoContentLength));
    }
    let payload_size = body.len();

    // Only exactly `gzip` is decompressed, as in Antenna.
    let compressed = header(req, CONTENT_ENCODING) == Some("gzip");
    let body = if compressed {
        state.metrics.gzipped_total.inc();
        let max = settings.max_decompressed_bytes;
        let data = body.clone();
        let inflated = tokio::task::spawn_blocking(move || gunzip_capped(&data, max))
            .await
            .map_err(|_| SubmitError::Malformed(Malformed::BadGzip))?;
        match inflated {
            Ok(v) => Bytes::from(v),
            Err(DecompressError::TooLarge { .. }) => return Err(SubmitError::TooLarge),
            Err(_) => return Err(SubmitError::Malformed(Malformed::BadGzip)),
        }
    } else {
        body
    };
    state.metrics.crash_size_bytes.observe(body.len() as f64);

    let extracted = extract_payload(body, &boundary)
        .await
        .map_err(SubmitError::Malformed)?;
    state.metrics.incoming_total.inc();

    // Raw crash: the annotations plus the collector's keys (§1.5 step 3).
    let mut notes = extracted.notes;
    let mut raw = extracted.annotations;
    let checksums: Map<String, Value> = extracted
        .dumps
        .iter()
        .map(|(name, data)| {
            (
                name.to_owned(),
                Value::String(hex::encode(Sha256::digest(data))),
            )
        })
        .collect();
    raw.insert("submitted_timestamp".into(), Value::String(isoformat(now)));
    raw.insert("version".into(), json!(2));

    let (result, rule, _pct) = state.throttler.throttle(&raw, now);

    // Crash id (§1.5 step 5): a client-sent uuid needs the stage submitter token.
    let crash_id = match raw.get("uuid") {
        Some(uuid) => {
            if !state.is_authenticated(header(req, AUTHORIZATION)) {
                return Err(SubmitError::UnauthorizedUuid);
            }
            let text = uuid.as_str().unwrap_or_default();
            CrashId::parse_strict(text)
                .map_err(|_| SubmitError::Malformed(Malformed::InvalidUuid))?
        }
        None => {
            let id = CrashId::generate(result.digit(), now.date_naive());
            raw.insert("uuid".into(), Value::String(id.to_string()));
            id
        }
    };
    tracing::info!(crash_id = %crash_id, rule, result = result.as_str(), "throttled");
    state
        .metrics
        .throttle_total
        .with_label_values(&[result.as_str(), rule])
        .inc();

    match result {
        ThrottleResult::Reject => {
            state
                .metrics
                .rejected_total
                .with_label_values(&[&format!("rule_{rule}")])
                .inc();
            return Ok(discarded_response(rule));
        }
        ThrottleResult::FakeAccept => {
            state
                .metrics
                .rejected_total
                .with_label_values(&["fakeaccept"])
                .inc();
            return Ok(crash_id_response(&crash_id));
        }
        ThrottleResult::Accept | ThrottleResult::Defer => {}
    }

    for field in REMOVED_FIELDS {
        if raw.remove(field).is_some() {
            notes.push(format!("Removed {field} from raw crash."));
        }
    }
    let user_agent = header(req, USER_AGENT).unwrap_or("None").to_owned();
    raw.insert(
        "metadata".into(),
        json!({
            "payload": extracted.payload,
            "payload_compressed": if compressed { "1" } else { "0" },
            "payload_size": payload_size,
            "collector_notes": notes,
            "dump_checksums": checksums,
            "user_agent": user_agent,
            "throttle_rule": rule,
        }),
    );

    let raw = RawCrash(raw);
    let save_timeout = Duration::from_secs(settings.save_timeout_secs);
    match tokio::time::timeout(
        save_timeout,
        state.save_and_queue(&crash_id, &raw, &extracted.dumps),
    )
    .await
    {
        Ok(Ok(())) => {
            state.metrics.accepted_total.inc();
            Ok(crash_id_response(&crash_id))
        }
        Ok(Err(())) | Err(_) => Err(SubmitError::Unavailable {
            retry_after_secs: settings.retry_after_secs,
        }),
    }
}

impl Collector {
    fn is_authenticated(&self, authorization: Option<&str>) -> bool {
        let (Some(token), Some(auth)) = (
            self.settings.stage_submitter_token.as_deref(),
            authorization,
        ) else {
            return false;
        };
        let Some(sent) = auth.strip_prefix("Bearer ") else {
            return false;
        };
        bool::from(sent.trim().as_bytes().ct_eq(token.as_bytes()))
    }

    /// Save durably, then queue. On a queue failure the saved raw crash is
    /// deleted again (best effort) so a client retry does not leave a
    /// duplicate behind; either way the client gets a 503 and keeps the crash.
    async fn save_and_queue(
        &self,
        id: &CrashId,
        raw: &RawCrash,
        dumps: &crash_storage::DumpSet,
    ) -> Result<(), ()> {
        let t = Instant::now();
        if let Err(error) = self.storage.save_raw_crash(id, raw, dumps).await {
            self.metrics
                .failures_total
                .with_label_values(&["save"])
                .inc();
            tracing::error!(crash_id = %id, %error, "saving crash failed; client told to retry");
            return Err(());
        }
        self.metrics
            .stage_seconds
            .with_label_values(&["save"])
            .observe(t.elapsed().as_secs_f64());

        let t = Instant::now();
        if let Err(error) = self
            .queue
            .publish(QueueName::Standard, &[QueueItem::new(id.clone())])
            .await
        {
            self.metrics
                .failures_total
                .with_label_values(&["publish"])
                .inc();
            tracing::error!(crash_id = %id, %error, "queueing crash failed; client told to retry");
            if let Err(error) = self.storage.delete_crash(id).await {
                tracing::warn!(crash_id = %id, %error, "removing unqueued crash failed; verify-processed will queue it");
            }
            return Err(());
        }
        self.metrics
            .stage_seconds
            .with_label_values(&["publish"])
            .observe(t.elapsed().as_secs_f64());
        tracing::debug!(crash_id = %id, "crash saved and queued");
        Ok(())
    }
}

/// Python's `datetime.isoformat()` for an aware UTC time:
/// `2026-08-21T15:30:24.123456+00:00`.
pub fn isoformat(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, false)
}
