//! Dockerflow endpoints. `/__heartbeat__` checks the database, crash
//! storage, queue and search index with a round trip each.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::Webapp;

pub async fn heartbeat(state: web::Data<Webapp>) -> HttpResponse {
    let perms = state.db.permissions();
    let (db, storage, queue, search) = tokio::join!(
        perms.list(),
        state.storage.check_health(),
        state.queue.check_health(),
        state.search.check_health()
    );
    let mut errors = Vec::new();
    if let Err(e) = db {
        tracing::warn!(error = %e, "heartbeat: database check failed");
        errors.push(json!({"name": "database", "msg": e.to_string()}));
    }
    if let Err(e) = storage {
        tracing::warn!(error = %e, "heartbeat: storage check failed");
        errors.push(json!({"name": "storage", "msg": e.to_string()}));
    }
    if let Err(e) = queue {
        tracing::warn!(error = %e, "heartbeat: queue check failed");
        errors.push(json!({"name": "queue", "msg": e.to_string()}));
    }
    if let Err(e) = search {
        tracing::warn!(error = %e, "heartbeat: search check failed");
        errors.push(json!({"name": "search", "msg": e.to_string()}));
    }
    if errors.is_empty() {
        HttpResponse::Ok().json(json!({"ok": true}))
    } else {
        HttpResponse::InternalServerError().json(json!({"ok": false, "errors": errors}))
    }
}

pub async fn lbheartbeat() -> HttpResponse {
    HttpResponse::Ok().json(json!({"ok": true}))
}

pub async fn version() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "source": env!("CARGO_PKG_REPOSITORY"),
        "version": env!("CARGO_PKG_VERSION"),
        "commit": option_env!("SOCORRO_GIT_COMMIT").unwrap_or(""),
        "build": option_env!("SOCORRO_BUILD_ID").unwrap_or(""),
    }))
}
