//! The one place collector outcomes become HTTP responses. Bodies are
//! Antenna's plain text (`Discarded=...`, `CrashID=bp-...`).

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};

use crate::extract::Malformed;

/// Why a submission was not stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    #[error("Discarded=malformed_{}", .0.as_str())]
    Malformed(Malformed),
    #[error("Discarded=unauthorized_uuid")]
    UnauthorizedUuid,
    #[error("Discarded=too_large")]
    TooLarge,
    #[error("Discarded=timeout")]
    BodyTimeout,
    /// Storage or queue failed after retries: the client keeps the crash and
    /// retries later; nothing is lost.
    #[error("crash storage or queue unavailable; retry later")]
    Unavailable { retry_after_secs: u64 },
}

impl SubmitError {
    /// Label for `socorro_collector_crashes_rejected_total{reason}`.
    pub fn metric_reason(&self) -> String {
        match self {
            Self::Malformed(m) => format!("malformed_{}", m.as_str()),
            Self::UnauthorizedUuid => "unauthorized_uuid".into(),
            Self::TooLarge => "too_large".into(),
            Self::BodyTimeout => "timeout".into(),
            Self::Unavailable { .. } => "unavailable".into(),
        }
    }
}

impl ResponseError for SubmitError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::UnauthorizedUuid => StatusCode::UNAUTHORIZED,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status_code());
        resp.insert_header((CONTENT_TYPE, "text/plain"));
        if let Self::Unavailable { retry_after_secs } = self {
            resp.insert_header((RETRY_AFTER, retry_after_secs.to_string()));
        }
        resp.body(self.to_string())
    }
}

/// `200 CrashID=bp-<id>\n`.
pub fn crash_id_response(id: &crash_storage::CrashId) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/plain"))
        .body(format!("CrashID={}\n", id.with_prefix()))
}

/// `200 Discarded=rule_<name>` (throttled: the client must not retry).
pub fn discarded_response(rule: &str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/plain"))
        .body(format!("Discarded=rule_{rule}"))
}
