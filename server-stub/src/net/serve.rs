//! `serve`: the server on a listener, with the background tasks that go
//! with any server (`jobs`), until the caller's shutdown.

use std::future::Future;

use crate::jobs;
use crate::net::{connections, tls};
use crate::state::app::AppState;

/// Serves the HTTP API on `listener` (over TLS when given an acceptor)
/// until `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<tls::Acceptor>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    jobs::notify::start(&state);
    let flusher = tokio::spawn(jobs::last_seen::flush_last_seen(state.clone()));
    connections::run(listener, tls, state.clone(), shutdown).await;
    flusher.abort();
    if let Err(e) = state.flush_last_seen().await {
        tracing::error!(error = %e, "cannot write the last-seen times at shutdown");
    }
    Ok(())
}
