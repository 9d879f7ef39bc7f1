//! The webapp's Prometheus metrics.

use std::time::Duration;

use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry};

/// Every metric the webapp exports.
pub struct WebappMetrics {
    /// `socorro_webapp_requests_total{kind, status}`; kind: api, page, static,
    /// health, symbols; status: 2xx..5xx.
    pub requests_total: IntCounterVec,
    /// `socorro_webapp_request_seconds{kind}`.
    pub request_seconds: HistogramVec,
    /// `socorro_webapp_rate_limited_total{scope}`; scope: api, search.
    pub rate_limited_total: IntCounterVec,
    /// `socorro_webapp_symbol_uploads_total{outcome}`; outcome: stored,
    /// rejected (4xx), failed (5xx).
    pub symbol_uploads_total: IntCounterVec,
    /// `socorro_webapp_symbol_files_stored_total`: `.sym` files written by uploads.
    pub symbol_files_stored_total: IntCounter,
    /// `socorro_webapp_symbol_bytes_stored_total`: their uncompressed bytes.
    pub symbol_bytes_stored_total: IntCounter,
    /// `socorro_webapp_symbol_downloads_total{outcome}`; outcome: hit, miss.
    pub symbol_downloads_total: IntCounterVec,
}

impl WebappMetrics {
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let requests_total = IntCounterVec::new(
            Opts::new("socorro_webapp_requests_total", "HTTP requests served"),
            &["kind", "status"],
        )?;
        let request_seconds = HistogramVec::new(
            HistogramOpts::new("socorro_webapp_request_seconds", "Time to answer a request")
                .buckets(service::metrics::LATENCY_BUCKETS.to_vec()),
            &["kind"],
        )?;
        let rate_limited_total = IntCounterVec::new(
            Opts::new(
                "socorro_webapp_rate_limited_total",
                "Requests refused with 429",
            ),
            &["scope"],
        )?;
        let symbol_uploads_total = IntCounterVec::new(
            Opts::new(
                "socorro_webapp_symbol_uploads_total",
                "Symbol uploads by outcome",
            ),
            &["outcome"],
        )?;
        let symbol_files_stored_total = IntCounter::new(
            "socorro_webapp_symbol_files_stored_total",
            "Symbol files stored by uploads",
        )?;
        let symbol_bytes_stored_total = IntCounter::new(
            "socorro_webapp_symbol_bytes_stored_total",
            "Uncompressed bytes of the symbol files stored by uploads",
        )?;
        let symbol_downloads_total = IntCounterVec::new(
            Opts::new(
                "socorro_webapp_symbol_downloads_total",
                "Symbol file downloads (hit) and 404s (miss)",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(requests_total.clone()))?;
        registry.register(Box::new(request_seconds.clone()))?;
        registry.register(Box::new(rate_limited_total.clone()))?;
        registry.register(Box::new(symbol_uploads_total.clone()))?;
        registry.register(Box::new(symbol_files_stored_total.clone()))?;
        registry.register(Box::new(symbol_bytes_stored_total.clone()))?;
        registry.register(Box::new(symbol_downloads_total.clone()))?;
        Ok(Self {
            requests_total,
            request_seconds,
            rate_limited_total,
            symbol_uploads_total,
            symbol_files_stored_total,
            symbol_bytes_stored_total,
            symbol_downloads_total,
        })
    }

    pub fn observe(&self, kind: &str, status: u16, took: Duration) {
        let class = match status {
            100..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.requests_total.with_label_values(&[kind, class]).inc();
        self.request_seconds
            .with_label_values(&[kind])
            .observe(took.as_secs_f64());
    }
}

/// Fixed label for a path.
pub fn route_kind(path: &str) -> &'static str {
    if path.starts_with("/api/") {
        "api"
    } else if path.starts_with("/symbols/") || path == "/upload/" || path.ends_with(".sym") {
        "symbols"
    } else if path.starts_with("/static/") {
        "static"
    } else if path.starts_with("/__") || path == "/metrics" {
        "health"
    } else {
        "page"
    }
}
