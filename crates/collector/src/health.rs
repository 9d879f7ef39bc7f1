//! Dockerflow endpoints. Unlike Antenna's, `/__heartbeat__` really checks
//! storage and queue with a round trip to each.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::Collector;

pub async fn heartbeat(state: web::Data<Collector>) -> HttpResponse {
    let (storage, queue) = tokio::join!(state.storage.check_health(), state.queue.check_health());
    let mut errors = Vec::new();
    if let Err(e) = storage {
        tracing::warn!(error = %e, "heartbeat: storage check failed");
        errors.push(json!({"name": "storage", "msg": e.to_string()}));
    }
    if let Err(e) = queue {
        tracing::warn!(error = %e, "heartbeat: queue check failed");
        errors.push(json!({"name": "queue", "msg": e.to_string()}));
    }
    let mut resp = if errors.is_empty() {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    resp.json(json!({ "errors": errors }))
}

pub async fn lbheartbeat() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json; charset=utf-8"))
        .finish()
}

pub async fn version() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "source": env!("CARGO_PKG_REPOSITORY"),
        "version": env!("CARGO_PKG_VERSION"),
        "commit": option_env!("SOCORRO_GIT_COMMIT").unwrap_or(""),
        "build": option_env!("SOCORRO_BUILD_ID").unwrap_or(""),
    }))
}
