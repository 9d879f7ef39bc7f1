//! Running an actix-web server under the process's shutdown token.

use tokio_util::sync::CancellationToken;

/// HTTP worker threads for a `workers` setting: 0 means one per core.
pub fn worker_count(workers: usize) -> usize {
    if workers == 0 {
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(2)
    } else {
        workers
    }
}

/// Run `server` until `shutdown` is cancelled, then stop accepting
/// connections and let in-flight requests finish (up to the server's
/// `shutdown_timeout`). Build the server with `disable_signals()`: the token
/// is the one place signals are handled.
pub async fn run_until_cancelled(
    server: actix_web::dev::Server,
    name: &'static str,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let handle = server.handle();
    tokio::spawn(async move {
        shutdown.cancelled().await;
        tracing::info!(service = name, "stopping: finishing in-flight requests");
        handle.stop(true).await;
    });
    server.await
}
