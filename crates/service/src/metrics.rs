//! Prometheus metrics: one registry per process, served on `/metrics`.

use actix_web::{HttpResponse, web};
use prometheus::{Encoder, Registry, TextEncoder};

/// Render a registry in the Prometheus text format.
pub fn render(registry: &Registry) -> Vec<u8> {
    let mut buf = Vec::new();
    let encoder = TextEncoder::new();
    if let Err(error) = encoder.encode(&registry.gather(), &mut buf) {
        tracing::warn!(%error, "encoding metrics failed");
    }
    buf
}

/// actix handler for `GET /metrics`; needs `web::Data<Registry>` in the app.
pub async fn metrics_handler(registry: web::Data<Registry>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(render(&registry))
}

/// Default latency buckets (seconds) for request and save timings.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
