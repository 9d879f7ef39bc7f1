//! Shared plumbing for every service: typed configuration from the
//! environment, tracing initialisation, Prometheus metrics, graceful shutdown
//! and bounded reading/decompression of untrusted input.

pub mod config;
pub mod config_keys;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod shutdown;
pub mod telemetry;

pub use config::{ConfigError, load_config};
pub use shutdown::token_on_signal;
pub use tokio_util::sync::CancellationToken;
