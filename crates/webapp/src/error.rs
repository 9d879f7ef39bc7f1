//! The one place errors become HTTP responses.
//!
//! API errors are Socorro's JSON bodies (`{"error": "..."}`); page handlers
//! turn theirs into HTML with [`ApiError::html`]. 5xx bodies are generic and
//! the details are logged.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, CONTENT_TYPE};
use actix_web::{HttpResponse, ResponseError};

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A parameter is invalid: 400 `{"error": msg}`.
    #[error("{0}")]
    BadRequest(String),
    /// Form validation failed: 400 `{"errors": {field: [msg]}}`.
    #[error("invalid parameters")]
    Form(BTreeMap<String, Vec<String>>),
    /// Authenticated (or not) but not allowed: 403 `{"error": msg}`.
    #[error("{0}")]
    Forbidden(String),
    /// The page needs a logged-in user (pages redirect to the login form).
    #[error("login required")]
    LoginRequired { next: String },
    /// The CSRF token of a form is missing or wrong: 403.
    #[error("CSRF token missing or incorrect")]
    Csrf,
    /// 404 `{"error": msg}`.
    #[error("{0}")]
    NotFound(String),
    /// 405 `{"error": "Method not allowed"}`.
    #[error("Method not allowed")]
    MethodNotAllowed,
    /// 429 with `Retry-After`.
    #[error("Too Many Requests")]
    RateLimited { retry_after_secs: u64 },
    /// A backend is down: 503, details logged.
    #[error("service unavailable")]
    Unavailable(String),
    /// Anything else: 500, details logged.
    #[error("Internal Server Error")]
    Internal(String),
    /// The same error, rendered as an HTML page.
    #[error("{0}")]
    Html(Box<ApiError>),
}

impl ApiError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::BadRequest(msg.into())
    }

    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::NotFound(msg.into())
    }

    pub fn internal(what: &str, error: impl std::fmt::Display) -> Self {
        Self::Internal(format!("{what}: {error}"))
    }

    /// Missing permission, Socorro's message.
    pub fn permission(display_name: &str) -> Self {
        Self::Forbidden(format!(
            "Use of this endpoint requires the '{display_name}' permission"
        ))
    }

    /// Render as an HTML page (page handlers).
    pub fn html(self) -> Self {
        match self {
            Self::Html(_) => self,
            other => Self::Html(Box::new(other)),
        }
    }

    fn inner(&self) -> &ApiError {
        match self {
            Self::Html(e) => e.inner(),
            other => other,
        }
    }

    fn log(&self) {
        match self.inner() {
            Self::Internal(detail) => tracing::error!(error = %detail, "request failed"),
            Self::Unavailable(detail) => {
                tracing::warn!(error = %detail, "backend unavailable")
            }
            _ => {}
        }
    }
}

impl From<db::DbError> for ApiError {
    fn from(e: db::DbError) -> Self {
        if e.is_transient() {
            Self::Unavailable(format!("database: {e}"))
        } else {
            Self::Internal(format!("database: {e}"))
        }
    }
}

impl From<crash_storage::StorageError> for ApiError {
    fn from(e: crash_storage::StorageError) -> Self {
        if e.is_transient() {
            Self::Unavailable(format!("crash storage: {e}"))
        } else {
            Self::Internal(format!("crash storage: {e}"))
        }
    }
}

impl From<crash_queue::QueueError> for ApiError {
    fn from(e: crash_queue::QueueError) -> Self {
        Self::Internal(format!("crash queue: {e}"))
    }
}

impl From<search::SearchError> for ApiError {
    fn from(e: search::SearchError) -> Self {
        if e.is_bad_request() {
            Self::BadRequest(e.to_string())
        } else if e.is_transient() {
            Self::Unavailable(format!("search: {e}"))
        } else {
            Self::Internal(format!("search: {e}"))
        }
    }
}

impl From<askama::Error> for ApiError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(format!("template: {e}"))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self.inner() {
            Self::BadRequest(_) | Self::Form(_) => StatusCode::BAD_REQUEST,
            Self::Forbidden(_) | Self::Csrf => StatusCode::FORBIDDEN,
            Self::LoginRequired { .. } => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) | Self::Html(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        let status = self.status_code();
        let inner = self.inner();
        if let Self::RateLimited { retry_after_secs } = inner {
            // Socorro: plain text for API and AJAX clients, a page otherwise.
            let mut resp = HttpResponse::build(status);
            resp.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            return if matches!(self, Self::Html(_)) {
                resp.content_type("text/html; charset=utf-8")
                    .body(crate::pages::error_page(status, "Too Many Requests", None))
            } else {
                resp.insert_header((CONTENT_TYPE, "text/plain; charset=utf-8"))
                    .body("Too Many Requests")
            };
        }
        let message = match inner {
            Self::Unavailable(_) => "Service Unavailable".to_owned(),
            Self::Internal(_) => "Internal Server Error".to_owned(),
            other => other.to_string(),
        };
        if let Self::Html(_) = self {
            if let Self::LoginRequired { next } = inner {
                return HttpResponse::Found()
                    .insert_header((header::LOCATION, crate::pages::login_url(next)))
                    .finish();
            }
            return HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .body(crate::pages::error_page(status, &message, None));
        }
        let body = match inner {
            Self::Form(errors) => serde_json::json!({ "errors": errors }),
            _ => serde_json::json!({ "error": message }),
        };
        HttpResponse::build(status)
            .content_type("application/json")
            .body(format!("{body}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(resp: HttpResponse) -> String {
        let b = actix_web::body::to_bytes(resp.into_body()).await.unwrap();
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[actix_web::test]
    async fn json_bodies() {
        let e = ApiError::permission("View Raw Dumps");
        assert_eq!(e.status_code(), StatusCode::FORBIDDEN);
        assert_eq!(
            body(e.error_response()).await,
            "{\"error\":\"Use of this endpoint requires the 'View Raw Dumps' permission\"}\n"
        );
        let e = ApiError::internal("db", "password=secret");
        assert!(!body(e.error_response()).await.contains("secret"));
    }

    #[actix_web::test]
    async fn rate_limited_has_retry_after() {
        let resp = ApiError::RateLimited {
            retry_after_secs: 7,
        }
        .error_response();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers().get(header::RETRY_AFTER).unwrap(), "7");
        assert_eq!(body(resp).await, "Too Many Requests");
    }

    #[actix_web::test]
    async fn html_login_redirects() {
        let resp = ApiError::LoginRequired {
            next: "/tokens/".into(),
        }
        .html()
        .error_response();
        assert_eq!(resp.status(), StatusCode::FOUND);
        assert_eq!(
            resp.headers().get(header::LOCATION).unwrap(),
            "/login/?next=%2Ftokens%2F"
        );
    }
}
